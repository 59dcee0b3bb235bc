package schedule

import (
	"math/rand/v2"
	"testing"
	"time"
)

func mustLoc(t testing.TB, name string) *time.Location {
	t.Helper()
	loc, err := time.LoadLocation(name)
	if err != nil {
		t.Fatal(err)
	}
	return loc
}

func mustParse(t testing.TB, spec Spec) Schedule {
	t.Helper()
	s, err := Parse(spec)
	if err != nil {
		t.Fatalf("Parse(%+v): %v", spec, err)
	}
	return s
}

func utc(s string) time.Time {
	t, err := time.Parse(time.RFC3339, s)
	if err != nil {
		panic(err)
	}
	return t
}

// occ is an expected occurrence in UTC ("" start = closed).
type occ struct{ start, end string }

func check(t *testing.T, what string, got Occurrence, open bool, want occ) {
	t.Helper()
	if want.start == "" {
		if open {
			t.Errorf("%s: open %v–%v, want closed", what, got.Start.UTC(), got.End.UTC())
		}
		return
	}
	if !open {
		t.Errorf("%s: closed, want %s–%s", what, want.start, want.end)
		return
	}
	if !got.Start.Equal(utc(want.start)) || !got.End.Equal(utc(want.end)) {
		t.Errorf("%s: %s–%s, want %s–%s", what, got.Start.UTC().Format(time.RFC3339), got.End.UTC().Format(time.RFC3339), want.start, want.end)
	}
}

// Europe/Berlin switches on Sun 2026-03-29 (02:00 CET → 03:00 CEST) and
// Sun 2026-10-25 (03:00 CEST → 02:00 CET). A Monday 08:00 lesson stays at
// 08:00 local, so its UTC instant moves by an hour.
func TestAtBerlinDST(t *testing.T) {
	s := mustParse(t, Spec{Timezone: "Europe/Berlin", Weekly: "mon 08:00-08:45"})
	tests := []struct {
		at   string
		want occ
	}{
		// Week before spring forward: CET, UTC+1.
		{"2026-03-23T07:00:00Z", occ{"2026-03-23T07:00:00Z", "2026-03-23T07:45:00Z"}},
		{"2026-03-23T06:59:59Z", occ{}},
		{"2026-03-23T07:44:59Z", occ{"2026-03-23T07:00:00Z", "2026-03-23T07:45:00Z"}},
		{"2026-03-23T07:45:00Z", occ{}}, // end is exclusive
		// Week after spring forward: CEST, UTC+2.
		{"2026-03-30T06:00:00Z", occ{"2026-03-30T06:00:00Z", "2026-03-30T06:45:00Z"}},
		{"2026-03-30T07:00:00Z", occ{}}, // 09:00 local: the CET instant is wrong now
		{"2026-03-30T05:59:00Z", occ{}},
		// Week before fall back: CEST.
		{"2026-10-19T06:30:00Z", occ{"2026-10-19T06:00:00Z", "2026-10-19T06:45:00Z"}},
		// Week after fall back: CET again.
		{"2026-10-26T07:30:00Z", occ{"2026-10-26T07:00:00Z", "2026-10-26T07:45:00Z"}},
		{"2026-10-26T06:30:00Z", occ{}},
		// Not Monday.
		{"2026-03-24T07:00:00Z", occ{}},
	}
	for _, tt := range tests {
		o, open := s.At(utc(tt.at))
		check(t, "At("+tt.at+")", o, open, tt.want)
		if open && o.Start.Location().String() != "Europe/Berlin" {
			t.Errorf("At(%s): occurrence in %v, want Europe/Berlin", tt.at, o.Start.Location())
		}
	}
}

// Slots on the switch nights themselves: a skipped local time moves
// forward by the gap, a repeated one means its first occurrence.
func TestResolveGapsAndRepeats(t *testing.T) {
	berlin, ny := mustLoc(t, "Europe/Berlin"), mustLoc(t, "America/New_York")
	tests := []struct {
		loc  *time.Location
		date Date
		c    string
		want string
	}{
		{berlin, Date{2026, 3, 29}, "01:59", "2026-03-29T00:59:00Z"},
		{berlin, Date{2026, 3, 29}, "02:00", "2026-03-29T01:00:00Z"}, // = 03:00 CEST
		{berlin, Date{2026, 3, 29}, "02:30", "2026-03-29T01:30:00Z"}, // = 03:30 CEST
		{berlin, Date{2026, 3, 29}, "03:00", "2026-03-29T01:00:00Z"},
		{berlin, Date{2026, 10, 25}, "02:30", "2026-10-25T00:30:00Z"}, // first 02:30 (CEST)
		{berlin, Date{2026, 10, 25}, "03:00", "2026-10-25T02:00:00Z"},
		{berlin, Date{2026, 10, 25}, "01:59", "2026-10-24T23:59:00Z"},
		{berlin, Date{2026, 10, 25}, "24:00", "2026-10-25T23:00:00Z"},
		// West of UTC time.Date resolves gaps the other way; the result
		// must still be the RFC 5545 one.
		{ny, Date{2026, 3, 8}, "02:30", "2026-03-08T07:30:00Z"}, // = 03:30 EDT
		{ny, Date{2026, 3, 8}, "03:00", "2026-03-08T07:00:00Z"},
		{ny, Date{2026, 11, 1}, "01:30", "2026-11-01T05:30:00Z"}, // first 01:30 (EDT)
		{ny, Date{2026, 11, 1}, "02:00", "2026-11-01T07:00:00Z"},
		{time.UTC, Date{2026, 3, 29}, "02:30", "2026-03-29T02:30:00Z"},
	}
	for _, tt := range tests {
		c, err := ParseClock(tt.c)
		if err != nil {
			t.Fatal(err)
		}
		got := resolve(tt.loc, tt.date, c)
		if !got.Equal(utc(tt.want)) {
			t.Errorf("resolve(%s, %s, %s) = %s, want %s", tt.loc, tt.date, tt.c, got.UTC().Format(time.RFC3339), tt.want)
		}
	}
}

func TestSlotsOnSwitchNights(t *testing.T) {
	s := mustParse(t, Spec{Timezone: "Europe/Berlin", Weekly: "sun 01:30-03:30"})
	// Spring: 01:30 CET to 03:30 CEST is one real hour.
	o, open := s.At(utc("2026-03-29T01:00:00Z"))
	check(t, "spring", o, open, occ{"2026-03-29T00:30:00Z", "2026-03-29T01:30:00Z"})
	// Autumn: 01:30 CEST to 03:30 CET is three real hours.
	o, open = s.At(utc("2026-10-25T02:00:00Z"))
	check(t, "autumn", o, open, occ{"2026-10-24T23:30:00Z", "2026-10-25T02:30:00Z"})
	// A slot entirely inside the skipped hour does not happen that night
	// but does the week after.
	s = mustParse(t, Spec{Timezone: "Europe/Berlin", Weekly: "sun 02:00-03:00"})
	if o, open := s.At(utc("2026-03-29T01:00:00Z")); open {
		t.Errorf("skipped hour: open %v", o)
	}
	o, ok := s.Next(utc("2026-03-28T12:00:00Z"))
	check(t, "next after skipped hour", o, ok, occ{"2026-04-05T00:00:00Z", "2026-04-05T01:00:00Z"})
}

func TestTermBoundaries(t *testing.T) {
	// 2026-09-01 is a Tuesday, 2026-09-14 a Monday.
	s := mustParse(t, Spec{Timezone: "Europe/Berlin", Weekly: "mon 08:00-08:45,tue 00:00-00:30",
		ValidFrom: "2026-09-01", ValidUntil: "2026-09-14"})
	tests := []struct {
		at   string
		want occ
	}{
		{"2026-08-31T06:10:00Z", occ{}},                                               // Monday before the term
		{"2026-08-31T22:00:00Z", occ{"2026-08-31T22:00:00Z", "2026-08-31T22:30:00Z"}}, // Tue 00:00 local, first day
		{"2026-08-31T21:59:59Z", occ{}},
		{"2026-09-07T06:10:00Z", occ{"2026-09-07T06:00:00Z", "2026-09-07T06:45:00Z"}},
		{"2026-09-14T06:44:59Z", occ{"2026-09-14T06:00:00Z", "2026-09-14T06:45:00Z"}}, // last day counts
		{"2026-09-14T22:10:00Z", occ{}},                                               // Tue after the term
		{"2026-09-21T06:10:00Z", occ{}},
	}
	for _, tt := range tests {
		o, open := s.At(utc(tt.at))
		check(t, "At("+tt.at+")", o, open, tt.want)
	}
	for _, tt := range []struct {
		after string
		want  occ
	}{
		{"2026-01-01T00:00:00Z", occ{"2026-08-31T22:00:00Z", "2026-08-31T22:30:00Z"}},
		{"2026-09-01T00:00:00Z", occ{"2026-09-07T06:00:00Z", "2026-09-07T06:45:00Z"}},
		{"2026-09-07T06:00:00Z", occ{"2026-09-07T22:00:00Z", "2026-09-07T22:30:00Z"}}, // strictly after
		{"2026-09-14T06:00:00Z", occ{}},                                               // nothing left
		{"2024-06-01T00:00:00Z", occ{}},                                               // beyond the horizon
	} {
		o, ok := s.Next(utc(tt.after))
		check(t, "Next("+tt.after+")", o, ok, tt.want)
	}
}

func TestOpenEarly(t *testing.T) {
	s := mustParse(t, Spec{Timezone: "Europe/Berlin", Weekly: "mon 08:00-08:45,mon 08:50-09:35", OpenEarly: 10 * time.Minute})
	first := occ{"2026-09-07T06:00:00Z", "2026-09-07T06:45:00Z"}
	second := occ{"2026-09-07T06:50:00Z", "2026-09-07T07:35:00Z"}
	tests := []struct {
		at             string
		user, organize occ
	}{
		{"2026-09-07T05:49:59Z", occ{}, occ{}},
		{"2026-09-07T05:50:00Z", occ{}, first},
		{"2026-09-07T05:59:59Z", occ{}, first},
		{"2026-09-07T06:00:00Z", first, first},
		{"2026-09-07T06:44:59Z", first, first},
		{"2026-09-07T06:45:00Z", occ{}, second}, // the break: organizers may enter the next lesson
		{"2026-09-07T07:35:00Z", occ{}, occ{}},
	}
	for _, tt := range tests {
		o, open := s.At(utc(tt.at))
		check(t, "At("+tt.at+")", o, open, tt.user)
		o, open = s.AtOrganizer(utc(tt.at))
		check(t, "AtOrganizer("+tt.at+")", o, open, tt.organize)
	}
}

func TestMergedOccurrences(t *testing.T) {
	tests := []struct {
		name string
		spec Spec
		at   string
		want occ
	}{
		{"double lesson", Spec{Timezone: "Europe/Berlin", Weekly: "mon 08:00-08:45,mon 08:45-09:30"},
			"2026-09-07T06:10:00Z", occ{"2026-09-07T06:00:00Z", "2026-09-07T07:30:00Z"}},
		{"across midnight", Spec{Timezone: "Europe/Berlin", Weekly: "sun 22:00-24:00,mon 00:00-01:00"},
			"2026-09-06T22:30:00Z", occ{"2026-09-06T20:00:00Z", "2026-09-06T23:00:00Z"}},
		{"window extends a slot", Spec{Timezone: "Europe/Berlin", Weekly: "mon 08:00-08:45",
			Windows: []WindowSpec{{"2026-09-07T08:30:00+02:00", "2026-09-07T10:00:00+02:00"}}},
			"2026-09-07T06:10:00Z", occ{"2026-09-07T06:00:00Z", "2026-09-07T08:00:00Z"}},
		{"window over a weekend", Spec{Timezone: "Europe/Berlin", Weekly: "mon 08:00-08:45",
			Windows: []WindowSpec{{"2026-09-04T18:00:00+02:00", "2026-09-07T08:00:00+02:00"}}},
			"2026-09-05T12:00:00Z", occ{"2026-09-04T16:00:00Z", "2026-09-07T06:45:00Z"}},
		{"window outside the term still counts", Spec{Timezone: "Europe/Berlin", Weekly: "mon 08:00-08:45",
			ValidFrom: "2026-09-01", ValidUntil: "2027-07-31",
			Windows: []WindowSpec{{"2026-08-20T10:00:00+02:00", "2026-08-20T11:00:00+02:00"}}},
			"2026-08-20T08:30:00Z", occ{"2026-08-20T08:00:00Z", "2026-08-20T09:00:00Z"}},
		{"every day, all day, one week term", Spec{Timezone: "Europe/Berlin",
			Weekly:    "mon 00:00-24:00,tue 00:00-24:00,wed 00:00-24:00,thu 00:00-24:00,fri 00:00-24:00,sat 00:00-24:00,sun 00:00-24:00",
			ValidFrom: "2026-09-01", ValidUntil: "2026-09-07"},
			"2026-09-04T12:00:00Z", occ{"2026-08-31T22:00:00Z", "2026-09-07T22:00:00Z"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := mustParse(t, tt.spec)
			o, open := s.At(utc(tt.at))
			check(t, "At", o, open, tt.want)
		})
	}
}

func TestAlwaysOpenWeekHasBoundedAnswer(t *testing.T) {
	s := mustParse(t, Spec{Timezone: "UTC",
		Weekly: "mon 00:00-24:00,tue 00:00-24:00,wed 00:00-24:00,thu 00:00-24:00,fri 00:00-24:00,sat 00:00-24:00,sun 00:00-24:00"})
	at := utc("2026-09-04T12:00:00Z")
	o, open := s.At(at)
	if !open || o.Start.After(at.Add(-Horizon)) || o.End.Before(at.Add(Horizon)) {
		t.Fatalf("At = %v–%v, %v; want an occurrence reaching a Horizon either way", o.Start, o.End, open)
	}
}

func TestOccurrences(t *testing.T) {
	s := mustParse(t, Spec{Timezone: "Europe/Berlin", Weekly: "mon 08:00-08:45,thu 10:00-10:45,thu 10:45-11:30",
		Windows: []WindowSpec{{"2026-09-09T18:00:00+02:00", "2026-09-09T19:00:00+02:00"}}})
	got := s.Occurrences(utc("2026-09-07T06:30:00Z"), utc("2026-09-14T06:00:00Z"))
	want := []occ{
		{"2026-09-07T06:00:00Z", "2026-09-07T06:45:00Z"}, // started before from: whole
		{"2026-09-09T16:00:00Z", "2026-09-09T17:00:00Z"},
		{"2026-09-10T08:00:00Z", "2026-09-10T09:30:00Z"}, // merged
	}
	if len(got) != len(want) {
		t.Fatalf("Occurrences = %v, want %v", got, want)
	}
	for i := range want {
		check(t, "occurrence", got[i], true, want[i])
	}
	// A dashboard's "today" in Berlin.
	berlin := mustLoc(t, "Europe/Berlin")
	today := s.Occurrences(time.Date(2026, 9, 10, 0, 0, 0, 0, berlin), time.Date(2026, 9, 11, 0, 0, 0, 0, berlin))
	if len(today) != 1 || today[0].Start.Hour() != 10 || today[0].End.Hour() != 11 || today[0].End.Minute() != 30 {
		t.Fatalf("today = %v", today)
	}
	// 53 weeks of Mondays and Thursdays over a year, across both switches.
	year := s.Occurrences(utc("2026-01-01T00:00:00Z"), utc("2027-01-01T00:00:00Z"))
	mondays, thursdays := 0, 0
	for _, o := range year {
		switch {
		case o.Start.Weekday() == time.Monday && o.Start.Hour() == 8 && o.Start.Minute() == 0:
			mondays++
		case o.Start.Weekday() == time.Thursday && o.Start.Hour() == 10 && o.End.Sub(o.Start) == 90*time.Minute:
			thursdays++
		}
	}
	if mondays != 52 || thursdays != 53 {
		t.Fatalf("2026: %d Monday and %d Thursday occurrences at local 08:00/10:00, want 52 and 53", mondays, thursdays)
	}
	if n := len(s.Occurrences(utc("2026-01-01T00:00:00Z"), utc("2036-01-01T00:00:00Z"))); n > 2*53*2+1 {
		t.Fatalf("a ten-year range returned %d occurrences; want it cut at the horizon", n)
	}
	if got := s.Occurrences(utc("2026-09-08T00:00:00Z"), utc("2026-09-08T00:00:00Z")); got != nil {
		t.Fatalf("empty range: %v", got)
	}
}

func TestUnrestricted(t *testing.T) {
	var s Schedule
	if !s.Unrestricted() {
		t.Fatal("zero Schedule is not Unrestricted")
	}
	now := utc("2026-09-07T06:10:00Z")
	if o, open := s.At(now); !open || !o.IsZero() {
		t.Fatalf("At = %v, %v; want open with no occurrence", o, open)
	}
	if o, open := s.AtOrganizer(now); !open || !o.IsZero() {
		t.Fatalf("AtOrganizer = %v, %v", o, open)
	}
	if o, ok := s.Next(now); ok {
		t.Fatalf("Next = %v", o)
	}
	if got := s.Occurrences(now, now.Add(time.Hour)); got != nil {
		t.Fatalf("Occurrences = %v", got)
	}
	if s.Validate() != nil {
		t.Fatal(s.Validate())
	}
	restricted := mustParse(t, Spec{Windows: []WindowSpec{{"2026-09-01T08:00:00Z", "2026-09-01T09:00:00Z"}}})
	if restricted.Unrestricted() {
		t.Fatal("a schedule with a window is Unrestricted")
	}
	if _, open := restricted.At(now); open {
		t.Fatal("a past window is open")
	}
	if _, ok := restricted.Next(now); ok {
		t.Fatal("a past window has a next occurrence")
	}
}

// randomSchedule builds a valid schedule from r: a few non-overlapping
// slots (some touching, some at midnight, some in switch-night hours),
// maybe a term, maybe a few windows.
func randomSchedule(r *rand.Rand, loc *time.Location) Schedule {
	s := Schedule{Location: loc, OpenEarly: time.Duration(r.IntN(4)) * 5 * time.Minute}
	for day := time.Sunday; day <= time.Saturday; day++ {
		at := Clock(r.IntN(4) * 30)
		for at < EndOfDay && r.IntN(3) > 0 {
			length := Clock(1 + r.IntN(240))
			end := min(at+length, EndOfDay)
			s.Weekly = append(s.Weekly, Slot{Day: day, Start: at, End: end})
			at = end + Clock(r.IntN(3)*r.IntN(120)) // sometimes touching
		}
	}
	if r.IntN(2) == 0 && len(s.Weekly) > 0 {
		from := time.Date(2026, time.Month(1+r.IntN(12)), 1+r.IntN(28), 0, 0, 0, 0, time.UTC)
		s.ValidFrom = dateOf(from)
		s.ValidUntil = dateOf(from.AddDate(0, 0, r.IntN(300)))
	}
	start := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC).Add(time.Duration(r.IntN(500*24)) * time.Hour)
	for range r.IntN(3) {
		end := start.Add(time.Duration(1+r.IntN(72*60)) * time.Minute)
		s.Windows = append(s.Windows, Window{Start: start, End: end})
		start = end.Add(time.Duration(r.IntN(30*24)) * time.Hour)
	}
	return s
}

// TestProperties checks, on random schedules and instants, that the
// queries agree with each other.
func TestProperties(t *testing.T) {
	locs := []*time.Location{mustLoc(t, "Europe/Berlin"), mustLoc(t, "America/New_York"), mustLoc(t, "Australia/Lord_Howe"), time.UTC}
	r := rand.New(rand.NewPCG(1, 2))
	n := 400
	if testing.Short() {
		n = 50
	}
	for i := range n {
		s := randomSchedule(r, locs[i%len(locs)])
		if err := s.Validate(); err != nil {
			t.Fatalf("random schedule invalid: %v", err)
		}
		for range 5 {
			at := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC).Add(time.Duration(r.Int64N(int64(500 * 24 * time.Hour))))
			checkProperties(t, s, at)
		}
	}
}

func checkProperties(t *testing.T, s Schedule, at time.Time) {
	t.Helper()
	cur, open := s.At(at)
	if s.Unrestricted() {
		if _, ok := s.Next(at); !open || ok {
			t.Fatalf("unrestricted: At open=%v, Next ok=%v", open, ok)
		}
		return
	}
	if open && (at.Before(cur.Start) || !at.Before(cur.End)) {
		t.Fatalf("%+v\nAt(%v) = %v–%v does not contain it", s, at, cur.Start, cur.End)
	}
	if org, orgOpen := s.AtOrganizer(at); open && (!orgOpen || !org.Start.Equal(cur.Start)) {
		t.Fatalf("%+v\nAt(%v) open but AtOrganizer = %v, %v", s, at, org, orgOpen)
	}
	week := s.Occurrences(at.Add(-7*24*time.Hour), at.Add(7*24*time.Hour))
	inWeek := false
	for i, o := range week {
		if !o.End.After(o.Start) {
			t.Fatalf("empty occurrence %v", o)
		}
		if i > 0 && !o.Start.After(week[i-1].End) {
			t.Fatalf("%+v\noccurrences touch or overlap: %v then %v", s, week[i-1], o)
		}
		if !at.Before(o.Start) && at.Before(o.End) {
			inWeek = true
			if !o.Start.Equal(cur.Start) || !o.End.Equal(cur.End) {
				t.Fatalf("%+v\nOccurrences has %v–%v around %v, At has %v–%v", s, o.Start, o.End, at, cur.Start, cur.End)
			}
		}
	}
	if inWeek != open {
		t.Fatalf("%+v\nAt(%v) open=%v but Occurrences says %v", s, at, open, inWeek)
	}
	next, ok := s.Next(at)
	if !ok {
		return
	}
	if !next.Start.After(at) {
		t.Fatalf("%+v\nNext(%v).Start = %v is not after it", s, at, next.Start)
	}
	o, open := s.At(next.Start)
	if !open || !o.Start.Equal(next.Start) || !o.End.Equal(next.End) {
		t.Fatalf("%+v\nAt(Next(%v).Start=%v) = %v, %v", s, at, next.Start, o, open)
	}
	if before, ok := s.At(next.Start.Add(-time.Nanosecond)); ok {
		t.Fatalf("%+v\nopen just before Next(%v).Start: %v", s, at, before)
	}
	for _, o := range s.Occurrences(at, next.Start) {
		if o.Start.After(at) && o.Start.Before(next.Start) {
			t.Fatalf("%+v\n%v starts between %v and Next = %v", s, o, at, next.Start)
		}
	}
}

// FuzzNext drives the same properties from fuzzed seeds and instants.
func FuzzNext(f *testing.F) {
	f.Add(uint64(1), uint64(2), int64(0))
	f.Add(uint64(7), uint64(99), int64(3600*24*87))  // end of March
	f.Add(uint64(42), uint64(3), int64(3600*24*297)) // end of October
	locs := []*time.Location{mustLoc(f, "Europe/Berlin"), mustLoc(f, "America/New_York")}
	f.Fuzz(func(t *testing.T, seed1, seed2 uint64, offset int64) {
		r := rand.New(rand.NewPCG(seed1, seed2))
		s := randomSchedule(r, locs[seed1%2])
		at := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC).Add(time.Duration(offset%(3600*24*600)) * time.Second)
		checkProperties(t, s, at)
	})
}

func BenchmarkAt(b *testing.B) {
	s := mustParse(b, Spec{Timezone: "Europe/Berlin", Weekly: "mon 08:00-08:45,mon 08:50-09:35,tue 10:00-10:45,thu 10:00-10:45,fri 12:00-13:30",
		ValidFrom: "2026-09-01", ValidUntil: "2027-07-31", OpenEarly: 10 * time.Minute})
	at := utc("2026-09-07T06:10:00Z")
	for b.Loop() {
		if _, ok := s.AtOrganizer(at); !ok {
			b.Fatal("closed")
		}
	}
}
