package ical

import (
	"bytes"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	ics "github.com/arran4/golang-ical"
)

// This file reads rendered feeds back the way a calendar client would,
// using only the library's parser and the feed itself: offsets come from
// the feed's VTIMEZONE, never from Go's time zone data, so the tests
// check what a client that trusts the VTIMEZONE (Outlook) would compute.

// parseFeed parses b with the library and fails the test on error.
func parseFeed(t *testing.T, b []byte) *ics.Calendar {
	t.Helper()
	cal, err := ics.ParseCalendar(bytes.NewReader(b))
	if err != nil {
		t.Fatalf("the library cannot parse the feed: %v\n%s", err, b)
	}
	return cal
}

// eventsByUID maps each event's UID to it; a UID seen twice fails.
func eventsByUID(t *testing.T, cal *ics.Calendar) map[string]*ics.VEvent {
	t.Helper()
	out := map[string]*ics.VEvent{}
	for _, e := range cal.Events() {
		uid := e.Id()
		if _, dup := out[uid]; dup {
			t.Fatalf("UID %q appears twice", uid)
		}
		out[uid] = e
	}
	return out
}

// text is a component's property value, "" when absent; the library's
// parser has already unescaped TEXT values.
func text(c *ics.ComponentBase, p ics.ComponentProperty) string {
	prop := c.GetProperty(p)
	if prop == nil {
		return ""
	}
	return prop.Value
}

// calProp is a calendar property's (unescaped) value, "" when absent.
func calProp(cal *ics.Calendar, p ics.Property) string {
	for _, cp := range cal.CalendarProperties {
		if cp.IANAToken == string(p) {
			return cp.Value
		}
	}
	return ""
}

// observance is one period of a zone as a VTIMEZONE states it: from
// onset (UTC) on, the offset is to.
type observance struct {
	onset time.Time
	to    int
	name  string
}

// zoneOf reads the VTIMEZONE with the given TZID from cal and expands
// its observances up to until.
func zoneOf(t *testing.T, cal *ics.Calendar, tzid string, until time.Time) []observance {
	t.Helper()
	for _, tz := range cal.Timezones() {
		if text(&tz.ComponentBase, ics.ComponentPropertyTzid) != tzid {
			continue
		}
		var obs []observance
		for _, sub := range tz.Components {
			var c *ics.ComponentBase
			switch sub := sub.(type) {
			case *ics.Standard:
				c = &sub.ComponentBase
			case *ics.Daylight:
				c = &sub.ComponentBase
			default:
				t.Fatalf("VTIMEZONE %s holds a %T", tzid, sub)
			}
			obs = append(obs, expandObservance(t, c, until)...)
		}
		slices.SortFunc(obs, func(a, b observance) int { return a.onset.Compare(b.onset) })
		return obs
	}
	t.Fatalf("the feed has no VTIMEZONE %s", tzid)
	return nil
}

func expandObservance(t *testing.T, c *ics.ComponentBase, until time.Time) []observance {
	t.Helper()
	start, err := time.Parse(timeFormatLocal, c.GetProperty(ics.ComponentPropertyDtStart).Value)
	if err != nil {
		t.Fatalf("observance DTSTART: %v", err)
	}
	from := parseOffset(t, c.GetProperty(ics.ComponentProperty(ics.PropertyTzoffsetfrom)).Value)
	to := parseOffset(t, c.GetProperty(ics.ComponentProperty(ics.PropertyTzoffsetto)).Value)
	name := text(c, ics.ComponentProperty(ics.PropertyTzname))
	onsetOf := func(wall time.Time) time.Time { return wall.Add(-time.Duration(from) * time.Second) }

	rules, err := c.GetRRules()
	if err != nil {
		t.Fatalf("observance RRULE: %v", err)
	}
	if len(rules) == 0 {
		return []observance{{onset: onsetOf(start), to: to, name: name}}
	}
	if len(rules) != 1 {
		t.Fatalf("observance has %d RRULEs", len(rules))
	}
	r := rules[0]
	if r.Freq != ics.FrequencyYearly || len(r.ByMonth) != 1 || len(r.ByDay) != 1 || r.Interval != 1 {
		t.Fatalf("observance RRULE %s is not a yearly weekday rule", r)
	}
	var out []observance
	h, m, s := start.Clock()
	for year := start.Year(); year <= until.Year(); year++ {
		d := nthWeekday(year, time.Month(r.ByMonth[0]), weekdayOf(t, r.ByDay[0].Day), r.ByDay[0].OrdWeek)
		wall := time.Date(year, d.Month(), d.Day(), h, m, s, 0, time.UTC)
		if wall.Before(start) {
			continue
		}
		out = append(out, observance{onset: onsetOf(wall), to: to, name: name})
	}
	if len(out) == 0 || !out[0].onset.Equal(onsetOf(start)) {
		t.Fatalf("observance DTSTART %s is not its RRULE's first occurrence", start)
	}
	return out
}

// nthWeekday is the nth (or, for a negative n, the -nth last) weekday
// of month in year.
func nthWeekday(year int, month time.Month, wd time.Weekday, n int) time.Time {
	if n > 0 {
		d := time.Date(year, month, 1, 12, 0, 0, 0, time.UTC)
		for d.Weekday() != wd {
			d = d.AddDate(0, 0, 1)
		}
		return d.AddDate(0, 0, 7*(n-1))
	}
	d := time.Date(year, month+1, 0, 12, 0, 0, 0, time.UTC)
	for d.Weekday() != wd {
		d = d.AddDate(0, 0, -1)
	}
	return d.AddDate(0, 0, 7*(n+1))
}

func weekdayOf(t *testing.T, w ics.Weekday) time.Weekday {
	t.Helper()
	for i, x := range icsWeekday {
		if x == w {
			return time.Weekday(i)
		}
	}
	t.Fatalf("unknown weekday %q", w)
	return 0
}

func parseOffset(t *testing.T, s string) int {
	t.Helper()
	if len(s) != 5 && len(s) != 7 || (s[0] != '+' && s[0] != '-') {
		t.Fatalf("bad UTC offset %q", s)
	}
	h, _ := strconv.Atoi(s[1:3])
	m, _ := strconv.Atoi(s[3:5])
	sec := 0
	if len(s) == 7 {
		sec, _ = strconv.Atoi(s[5:7])
	}
	v := h*3600 + m*60 + sec
	if s[0] == '-' {
		v = -v
	}
	return v
}

// offsetAt is the offset the observances give for instant u.
func offsetAt(t *testing.T, obs []observance, u time.Time) int {
	t.Helper()
	i := len(obs) - 1
	for i >= 0 && obs[i].onset.After(u) {
		i--
	}
	if i < 0 {
		t.Fatalf("no observance covers %s (first onset %s)", u, obs[0].onset)
	}
	return obs[i].to
}

// toUTC resolves a wall-clock time (given as a UTC time.Time) with the
// observances, taking the earlier instant when the wall time exists twice.
func toUTC(t *testing.T, obs []observance, wall time.Time) time.Time {
	t.Helper()
	for i, o := range obs {
		u := wall.Add(-time.Duration(o.to) * time.Second)
		if u.Before(o.onset) || (i+1 < len(obs) && !u.Before(obs[i+1].onset)) {
			continue
		}
		return u
	}
	t.Fatalf("wall time %s falls in no observance", wall.Format(timeFormatLocal))
	return time.Time{}
}

// occurrence is one expanded event instance in UTC.
type occurrence struct{ start, end time.Time }

// expandWeekly expands a weekly event of the feed up to limit: DTSTART,
// DTEND and RRULE as the library parses them, wall times resolved with
// the feed's VTIMEZONE.
func expandWeekly(t *testing.T, cal *ics.Calendar, e *ics.VEvent, limit time.Time) []occurrence {
	t.Helper()
	dtstart, dtend := e.GetProperty(ics.ComponentPropertyDtStart), e.GetProperty(ics.ComponentPropertyDtEnd)
	tzids := dtstart.ICalParameters[string(ics.ParameterTzid)]
	resolve := func(v string) time.Time {
		if len(tzids) == 0 {
			u, err := time.Parse(timeFormatUTC, v)
			if err != nil {
				t.Fatalf("UTC time %q: %v", v, err)
			}
			return u
		}
		w, err := time.Parse(timeFormatLocal, v)
		if err != nil {
			t.Fatalf("local time %q: %v", v, err)
		}
		return w
	}
	startWall, endWall := resolve(dtstart.Value), resolve(dtend.Value)
	var obs []observance
	if len(tzids) == 1 {
		obs = zoneOf(t, cal, tzids[0], limit.AddDate(1, 0, 0))
	}
	instant := func(wall time.Time) time.Time {
		if obs == nil {
			return wall
		}
		return toUTC(t, obs, wall)
	}

	rules, err := e.GetRRules()
	if err != nil || len(rules) != 1 {
		t.Fatalf("event %s: want one RRULE, got %d (%v)", e.Id(), len(rules), err)
	}
	r := rules[0]
	if r.Freq != ics.FrequencyWeekly || r.Interval != 1 || r.Count != 0 {
		t.Fatalf("event %s: RRULE %s is not a plain weekly rule", e.Id(), r)
	}
	days := map[time.Weekday]bool{}
	for _, d := range r.ByDay {
		days[weekdayOf(t, d.Day)] = true
	}
	if !days[startWall.Weekday()] {
		t.Fatalf("event %s: DTSTART on %s, not one of BYDAY %v", e.Id(), startWall.Weekday(), r.ByDay)
	}
	length := endWall.Sub(startWall)
	var out []occurrence
	for day := startWall; ; day = day.AddDate(0, 0, 1) {
		if !days[day.Weekday()] {
			continue
		}
		s := instant(day)
		if !r.Until.IsZero() && s.After(r.Until) || s.After(limit) {
			return out
		}
		out = append(out, occurrence{start: s, end: instant(day.Add(length))})
	}
}

// lines returns b's content lines (folded lines unfolded) after checking
// the line format: CRLF everywhere, no other CR or LF, at most 75 octets.
func lines(t *testing.T, b []byte) []string {
	t.Helper()
	if !bytes.HasSuffix(b, []byte("\r\n")) {
		t.Fatalf("feed does not end with CRLF")
	}
	raw := strings.Split(strings.TrimSuffix(string(b), "\r\n"), "\r\n")
	var out []string
	for i, l := range raw {
		if strings.ContainsAny(l, "\r\n") {
			t.Fatalf("line %d holds a bare CR or LF: %q", i+1, l)
		}
		if len(l) > 75 {
			t.Fatalf("line %d is %d octets long: %q", i+1, len(l), l)
		}
		if strings.HasPrefix(l, " ") {
			if len(out) == 0 {
				t.Fatalf("line 1 is a continuation")
			}
			out[len(out)-1] += l[1:]
			continue
		}
		out = append(out, l)
	}
	return out
}

func mustLoad(t *testing.T, name string) *time.Location {
	t.Helper()
	loc, err := time.LoadLocation(name)
	if err != nil {
		t.Fatalf("load %s: %v", name, err)
	}
	return loc
}

func utc(y int, m time.Month, d, h, mi int) time.Time {
	return time.Date(y, m, d, h, mi, 0, 0, time.UTC)
}

func fmtTimes(occ []occurrence) string {
	var b strings.Builder
	for _, o := range occ {
		fmt.Fprintf(&b, "%s-%s ", o.start.Format(time.RFC3339), o.end.Format("15:04"))
	}
	return b.String()
}
