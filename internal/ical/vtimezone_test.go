package ical

import (
	"strings"
	"testing"
	"time"

	ics "github.com/arran4/golang-ical"

	"github.com/jitsi-gate/jitsi-gate/internal/schedule"
)

// TestVTimezoneAgreesWithGo renders a weekly room in each zone, reads the
// VTIMEZONE back with the library and checks, hour by hour over the span
// the feed covers, that its offsets and names are Go's.
func TestVTimezoneAgreesWithGo(t *testing.T) {
	const (
		yearly = "yearly rules"
		fixed  = "fixed offset"
		listed = "listed transitions"
		any    = ""
	)
	date := func(y int, m time.Month, d int) schedule.Date { return schedule.Date{Year: y, Month: m, Day: d} }
	schoolYears := [2]schedule.Date{date(2026, time.September, 1), date(2028, time.July, 31)}
	openEnded := [2]schedule.Date{date(2026, time.September, 1), {}}
	for _, tc := range []struct {
		name   string
		zone   string
		term   [2]schedule.Date // ValidFrom, ValidUntil (zero: open-ended, the feed covers schedule.Horizon)
		form   string
		rrules []string // RRULE of each observance, for the yearly form
	}{
		{"Berlin", "Europe/Berlin", schoolYears, yearly, []string{"FREQ=YEARLY;BYDAY=-1SU;BYMONTH=3", "FREQ=YEARLY;BYDAY=-1SU;BYMONTH=10"}},
		{"Berlin open-ended", "Europe/Berlin", openEnded, yearly, nil},
		// Lessons from January on need the observance in force before
		// that year's first switch.
		{"Berlin from January", "Europe/Berlin", [2]schedule.Date{date(2027, time.January, 4), date(2027, time.March, 31)}, yearly, nil},
		{"New York", "America/New_York", schoolYears, yearly, []string{"FREQ=YEARLY;BYDAY=2SU;BYMONTH=3", "FREQ=YEARLY;BYDAY=1SU;BYMONTH=11"}},
		// The US moved its switches in 2007: no single yearly rule.
		{"New York 2006-2008", "America/New_York", [2]schedule.Date{date(2006, time.January, 2), date(2008, time.December, 31)}, listed, nil},
		{"Sydney", "Australia/Sydney", schoolYears, yearly, []string{"FREQ=YEARLY;BYDAY=1SU;BYMONTH=10", "FREQ=YEARLY;BYDAY=1SU;BYMONTH=4"}},
		{"Chatham (+1245/+1345)", "Pacific/Chatham", schoolYears, yearly, nil},
		{"Kolkata", "Asia/Kolkata", schoolYears, fixed, nil},
		{"Sao Paulo (no DST since 2019)", "America/Sao_Paulo", schoolYears, fixed, nil},
		{"Casablanca", "Africa/Casablanca", schoolYears, listed, nil},
		{"Casablanca open-ended", "Africa/Casablanca", openEnded, listed, nil},
		{"Santiago", "America/Santiago", schoolYears, any, nil},
		{"Dublin (negative DST)", "Europe/Dublin", schoolYears, any, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			loc := mustLoad(t, tc.zone)
			room := mondayLesson(t)
			room.Schedule = schedule.Schedule{
				Location:   loc,
				Weekly:     []schedule.Slot{{Day: time.Monday, Start: 8 * 60, End: 9 * 60}},
				ValidFrom:  tc.term[0],
				ValidUntil: tc.term[1],
			}
			b, err := Render(Feed{Now: feedNow, Rooms: []Room{room}})
			if err != nil {
				t.Fatal(err)
			}
			cal := parseFeed(t, b)
			tzs := cal.Timezones()
			if len(tzs) != 1 {
				t.Fatalf("got %d VTIMEZONEs, want 1", len(tzs))
			}
			var rrules []string
			for _, sub := range tzs[0].Components {
				var c *ics.ComponentBase
				switch sub := sub.(type) {
				case *ics.Standard:
					c = &sub.ComponentBase
				case *ics.Daylight:
					c = &sub.ComponentBase
				}
				if p := c.GetProperty(ics.ComponentPropertyRrule); p != nil {
					rrules = append(rrules, p.Value)
				}
			}
			n := len(tzs[0].Components)
			switch tc.form {
			case yearly:
				if n != 2 || len(rrules) != 2 {
					t.Errorf("want 2 observances with yearly rules, got %d with RRULEs %v", n, rrules)
				}
				if tc.rrules != nil && strings.Join(rrules, " ") != strings.Join(tc.rrules, " ") {
					t.Errorf("RRULEs %v, want %v", rrules, tc.rrules)
				}
			case fixed:
				if n != 1 || len(rrules) != 0 {
					t.Errorf("want 1 observance without a rule, got %d with RRULEs %v", n, rrules)
				}
			case listed:
				if n < 3 || len(rrules) != 0 {
					t.Errorf("want the transitions listed one by one, got %d observances with RRULEs %v", n, rrules)
				}
			}

			// The span the feed must describe: from the term start to
			// its end, or to the schedule horizon when open-ended.
			from := time.Date(tc.term[0].Year, tc.term[0].Month, tc.term[0].Day, 0, 0, 0, 0, loc)
			to := feedNow.Add(schedule.Horizon)
			if u := tc.term[1]; !u.IsZero() {
				to = time.Date(u.Year, u.Month, u.Day+1, 0, 0, 0, 0, loc)
			}
			obs := zoneOf(t, cal, tc.zone, to)
			for u := from.UTC(); u.Before(to); u = u.Add(time.Hour) {
				name, want := u.In(loc).Zone()
				if got := offsetAt(t, obs, u); got != want {
					t.Fatalf("at %s the VTIMEZONE gives offset %s, Go %s", u, utcOffset(got), utcOffset(want))
				}
				if got := nameAt(obs, u); got != name {
					t.Fatalf("at %s the VTIMEZONE gives TZNAME %q, Go %q", u, got, name)
				}
			}
		})
	}
}

func nameAt(obs []observance, u time.Time) string {
	i := len(obs) - 1
	for i > 0 && obs[i].onset.After(u) {
		i--
	}
	return obs[i].name
}

// TestVTimezoneResolvesWallTimes reads local times on both sides of
// Berlin's switches through the VTIMEZONE alone, as Outlook does.
func TestVTimezoneResolvesWallTimes(t *testing.T) {
	b, err := Render(Feed{Now: feedNow, Rooms: []Room{mondayLesson(t)}})
	if err != nil {
		t.Fatal(err)
	}
	obs := zoneOf(t, parseFeed(t, b), "Europe/Berlin", utc(2028, 1, 1, 0, 0))
	for _, tc := range []struct {
		wall, want time.Time
	}{
		{utc(2026, 10, 25, 1, 30), utc(2026, 10, 24, 23, 30)}, // Sunday before the switch: CEST
		{utc(2026, 10, 25, 2, 30), utc(2026, 10, 25, 0, 30)},  // exists twice: the first (CEST), as RFC 5545 says
		{utc(2026, 10, 25, 3, 30), utc(2026, 10, 25, 2, 30)},  // after the switch: CET
		{utc(2027, 3, 28, 1, 30), utc(2027, 3, 28, 0, 30)},    // before the spring switch: CET
		{utc(2027, 3, 28, 3, 30), utc(2027, 3, 28, 1, 30)},    // after it: CEST
		{utc(2027, 1, 15, 8, 0), utc(2027, 1, 15, 7, 0)},
		{utc(2027, 7, 15, 8, 0), utc(2027, 7, 15, 6, 0)},
	} {
		if got := toUTC(t, obs, tc.wall); !got.Equal(tc.want) {
			t.Errorf("%s Berlin reads as %s, want %s", tc.wall.Format(timeFormatLocal), got, tc.want)
		}
	}
}

func TestUTCOffset(t *testing.T) {
	for secs, want := range map[int]string{
		0: "+0000", 3600: "+0100", -5 * 3600: "-0500", 5*3600 + 1800: "+0530",
		-(3*3600 + 1800): "-0330", 12*3600 + 45*60: "+1245", 3208: "+005328",
	} {
		if got := utcOffset(secs); got != want {
			t.Errorf("utcOffset(%d) = %q, want %q", secs, got, want)
		}
	}
}
