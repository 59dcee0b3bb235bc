package schedule

import (
	"errors"
	"strings"
	"testing"
	"time"
)

func TestParseWeekly(t *testing.T) {
	tests := []struct {
		spec string
		want []Slot
	}{
		{"", nil},
		{"   ", nil},
		{"mon 08:00-08:45", []Slot{{time.Monday, 480, 525}}},
		{"mon 08:00-08:45,thu 10:00-10:45", []Slot{{time.Monday, 480, 525}, {time.Thursday, 600, 645}}},
		{"MON 8:00-8:45, Thursday 10:00 - 10:45", []Slot{{time.Monday, 480, 525}, {time.Thursday, 600, 645}}},
		{"sunday 00:00-24:00", []Slot{{time.Sunday, 0, 1440}}},
		{"Sat 23:59-24:00", []Slot{{time.Saturday, 1439, 1440}}},
		{"tue 07:30-08:15,wed 13:00-14:30,fri 09:00-09:01", []Slot{{time.Tuesday, 450, 495}, {time.Wednesday, 780, 870}, {time.Friday, 540, 541}}},
	}
	for _, tt := range tests {
		got, err := ParseWeekly(tt.spec)
		if err != nil {
			t.Errorf("ParseWeekly(%q): %v", tt.spec, err)
			continue
		}
		if len(got) != len(tt.want) {
			t.Errorf("ParseWeekly(%q) = %v, want %v", tt.spec, got, tt.want)
			continue
		}
		for i := range got {
			if got[i] != tt.want[i] {
				t.Errorf("ParseWeekly(%q)[%d] = %v, want %v", tt.spec, i, got[i], tt.want[i])
			}
		}
	}
}

func TestParseWeeklyErrors(t *testing.T) {
	tests := []struct {
		spec string
		want []string // every substring must appear
	}{
		{"xyz 08:00-08:45", []string{`slot 1`, `unknown day "xyz"`}},
		{"mon 08:00-08:45,funday 10:00-11:00", []string{`slot 2`, `unknown day "funday"`}},
		{"mon 08:00", []string{`want a time range with '-'`}},
		{"mon", []string{`want a day and a time range`}},
		{"mon 8-9", []string{`invalid time "8"`}},
		{"mon 08:00-08:60", []string{`end`, `invalid time "08:60"`}},
		{"mon 25:00-26:00", []string{`start`, `invalid time "25:00"`}},
		{"mon 24:00-24:00", []string{`cannot start at 24:00`}},
		{"mon 09:00-09:00", []string{`"mon 09:00-09:00": the end must be after the start`}},
		{"mon 22:00-01:00", []string{`crosses midnight`, `"mon 22:00-24:00,tue 00:00-01:00"`}},
		{"sun 23:00-00:30", []string{`crosses midnight`, `"sun 23:00-24:00,mon 00:00-00:30"`}},
		{"mon 08:00-08:45,", []string{`slot 2 is empty`}},
		{"mon 8:00:00-9:00", []string{`invalid time`}},
		// Every bad slot is reported, not just the first.
		{"xyz 08:00-09:00,mon 10:00-09:00", []string{`slot 1`, `unknown day "xyz"`, `slot 2`, `crosses midnight`}},
	}
	for _, tt := range tests {
		_, err := ParseWeekly(tt.spec)
		if err == nil {
			t.Errorf("ParseWeekly(%q) = nil error", tt.spec)
			continue
		}
		for _, w := range tt.want {
			if !strings.Contains(err.Error(), w) {
				t.Errorf("ParseWeekly(%q) = %q, want it to contain %q", tt.spec, err, w)
			}
		}
		var e *Error
		if !errors.As(err, &e) || e.Field != "weekly" {
			t.Errorf("ParseWeekly(%q): error %v is not a weekly *Error", tt.spec, err)
		}
	}
}

func TestFormatWeeklyRoundTrip(t *testing.T) {
	slots, err := ParseWeekly("sun 10:00-11:00,thu 10:00-10:45,Monday 8:00-8:45")
	if err != nil {
		t.Fatal(err)
	}
	got := FormatWeekly(slots)
	if want := "mon 08:00-08:45,thu 10:00-10:45,sun 10:00-11:00"; got != want {
		t.Fatalf("FormatWeekly = %q, want %q", got, want)
	}
	again, err := ParseWeekly(got)
	if err != nil || FormatWeekly(again) != got {
		t.Fatalf("round trip: %q, %v", FormatWeekly(again), err)
	}
}

func TestParseDateAndInstant(t *testing.T) {
	d, err := ParseDate("2026-09-01")
	if err != nil || d != (Date{2026, time.September, 1}) || d.String() != "2026-09-01" {
		t.Fatalf("ParseDate = %v, %v", d, err)
	}
	for _, bad := range []string{"2026-13-01", "2026-02-30", "01.09.2026", "2026-9-1", ""} {
		if _, err := ParseDate(bad); err == nil || !strings.Contains(err.Error(), "YYYY-MM-DD") {
			t.Errorf("ParseDate(%q) = %v, want a YYYY-MM-DD error", bad, err)
		}
	}
	w, err := ParseWindow("2026-09-01T08:00:00+02:00", "2026-09-01T06:45:00Z")
	if err != nil || !w.Start.Equal(time.Date(2026, 9, 1, 6, 0, 0, 0, time.UTC)) || w.End.Sub(w.Start) != 45*time.Minute {
		t.Fatalf("ParseWindow = %v, %v", w, err)
	}
	for _, tt := range []struct{ start, end, want string }{
		{"2026-09-01 08:00", "2026-09-01T09:00:00Z", "window start: invalid time"},
		{"2026-09-01T08:00:00", "2026-09-01T09:00:00Z", "window start: invalid time"}, // no offset
		{"2026-09-01T08:00:00Z", "tomorrow", "window end: invalid time"},
		{"2026-09-01T08:00:00Z", "2026-09-01T08:00:00Z", "the end must be after the start"},
		{"2026-09-01T09:00:00+02:00", "2026-09-01T08:00:00+02:00", "the end must be after the start"},
	} {
		if _, err := ParseWindow(tt.start, tt.end); err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("ParseWindow(%q, %q) = %v, want %q", tt.start, tt.end, err, tt.want)
		}
	}
}

func TestLoadLocation(t *testing.T) {
	if loc, err := LoadLocation("Europe/Berlin"); err != nil || loc.String() != "Europe/Berlin" {
		t.Fatalf("LoadLocation(Europe/Berlin) = %v, %v", loc, err)
	}
	for _, tt := range []struct{ name, want string }{
		{"Europe/Berln", `unknown timezone "Europe/Berln"`},
		{"", "no timezone given"},
		{"Local", "depends on the server"},
		{"../../etc/passwd", "unknown timezone"},
	} {
		if _, err := LoadLocation(tt.name); err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("LoadLocation(%q) = %v, want %q", tt.name, err, tt.want)
		}
	}
}

func TestParseSpec(t *testing.T) {
	s, err := Parse(Spec{
		Timezone:   "Europe/Berlin",
		Weekly:     "mon 08:00-08:45,thu 10:00-10:45",
		ValidFrom:  "2026-09-01",
		ValidUntil: "2027-07-31",
		OpenEarly:  10 * time.Minute,
		Windows:    []WindowSpec{{"2026-12-21T18:00:00+01:00", "2026-12-21T20:00:00+01:00"}},
	})
	if err != nil {
		t.Fatal(err)
	}
	if s.Location.String() != "Europe/Berlin" || len(s.Weekly) != 2 || len(s.Windows) != 1 ||
		s.ValidFrom.String() != "2026-09-01" || s.ValidUntil.String() != "2027-07-31" || s.OpenEarly != 10*time.Minute {
		t.Fatalf("Parse = %+v", s)
	}
	// Only absolute windows: no timezone needed.
	if s, err := Parse(Spec{Windows: []WindowSpec{{"2026-09-01T08:00:00Z", "2026-09-01T09:00:00Z"}}}); err != nil || s.Location != time.UTC {
		t.Fatalf("windows only: %+v, %v", s, err)
	}
}

func TestParseSpecErrors(t *testing.T) {
	tests := []struct {
		name  string
		spec  Spec
		field string
		want  []string
	}{
		{"unknown timezone", Spec{Timezone: "Mars/Olympus", Weekly: "mon 08:00-09:00"}, "timezone", []string{`unknown timezone "Mars/Olympus"`}},
		{"weekly without timezone", Spec{Weekly: "mon 08:00-09:00"}, "timezone", []string{"no timezone given"}},
		{"unknown day", Spec{Timezone: "UTC", Weekly: "mox 08:00-09:00"}, "weekly", []string{`unknown day "mox"`}},
		{"overlapping slots", Spec{Timezone: "UTC", Weekly: "mon 08:00-08:45,tue 08:00-09:00,mon 08:30-09:15"}, "weekly",
			[]string{`slot "mon 08:30-09:15" overlaps slot "mon 08:00-08:45"`}},
		{"slot inside a longer slot", Spec{Timezone: "UTC", Weekly: "mon 08:00-12:00,mon 09:00-09:30,mon 10:00-10:30"}, "weekly",
			[]string{`"mon 09:00-09:30" overlaps slot "mon 08:00-12:00"`, `"mon 10:00-10:30" overlaps slot "mon 08:00-12:00"`}},
		{"overlapping windows", Spec{Windows: []WindowSpec{
			{"2026-09-01T08:00:00Z", "2026-09-01T12:00:00Z"},
			{"2026-09-01T09:00:00Z", "2026-09-01T09:30:00Z"},
			{"2026-09-01T11:00:00Z", "2026-09-01T13:00:00Z"},
		}}, "windows", []string{"window 2026-09-01T09:00:00Z/2026-09-01T09:30:00Z overlaps window 2026-09-01T08:00:00Z/2026-09-01T12:00:00Z",
			"window 2026-09-01T11:00:00Z/2026-09-01T13:00:00Z overlaps"}},
		{"window end before start", Spec{Windows: []WindowSpec{{"2026-09-01T09:00:00Z", "2026-09-01T08:00:00Z"}}}, "windows",
			[]string{"window 1", "the end must be after the start"}},
		{"term reversed", Spec{Timezone: "UTC", Weekly: "mon 08:00-09:00", ValidFrom: "2027-07-31", ValidUntil: "2026-09-01"}, "valid_until",
			[]string{"the term ends (2026-09-01) before it starts (2027-07-31)"}},
		{"term without slots", Spec{Timezone: "UTC", ValidFrom: "2026-09-01"}, "valid_from", []string{"there are none"}},
		{"bad date", Spec{Timezone: "UTC", Weekly: "mon 08:00-09:00", ValidUntil: "31.07.2027"}, "valid_until", []string{`invalid date "31.07.2027"`}},
		{"negative open early", Spec{Timezone: "UTC", Weekly: "mon 08:00-09:00", OpenEarly: -time.Minute}, "open_early", []string{"-1m0s is negative"}},
		{"huge open early", Spec{Timezone: "UTC", Weekly: "mon 08:00-09:00", OpenEarly: 48 * time.Hour}, "open_early", []string{"longer than 24h"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Parse(tt.spec)
			if err == nil {
				t.Fatal("Parse succeeded")
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not contain %q", err, w)
				}
			}
			var e *Error
			if !errors.As(err, &e) || e.Field != tt.field {
				t.Errorf("error %v: want field %q, got %+v", err, tt.field, e)
			}
		})
	}
}

func TestParseSpecReportsEveryProblem(t *testing.T) {
	_, err := Parse(Spec{Timezone: "Nowhere/City", Weekly: "mon 10:00-09:00", ValidFrom: "soon",
		Windows: []WindowSpec{{"x", "y"}}})
	if err == nil {
		t.Fatal("Parse succeeded")
	}
	for _, w := range []string{"timezone:", "weekly:", "valid_from:", "windows:"} {
		if !strings.Contains(err.Error(), w) {
			t.Errorf("error %q misses %q", err, w)
		}
	}
}
