package ical

import (
	"bytes"
	"flag"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	ics "github.com/arran4/golang-ical"

	"github.com/jitsi-gate/jitsi-gate/internal/schedule"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata")

var feedNow = utc(2026, time.August, 20, 10, 0)

// mondayLesson is the brief's example: Mon 08:00-08:45 Europe/Berlin,
// term 2026-09-01 to 2027-07-31.
func mondayLesson(t *testing.T) Room {
	return Room{
		ID:          "room-7b-maths",
		Title:       "Maths 7b",
		JoinURL:     "https://meet.example.com/maths7b",
		Description: "Organizer: Ada Lovelace",
		Schedule: schedule.Schedule{
			Location:   mustLoad(t, "Europe/Berlin"),
			Weekly:     []schedule.Slot{{Day: time.Monday, Start: 8 * 60, End: 8*60 + 45}},
			ValidFrom:  schedule.Date{Year: 2026, Month: time.September, Day: 1},
			ValidUntil: schedule.Date{Year: 2027, Month: time.July, Day: 31},
		},
	}
}

func TestWeeklyLessonAcrossDaylightSaving(t *testing.T) {
	room := mondayLesson(t)
	b, err := Render(Feed{Name: "Lessons", Now: feedNow, Rooms: []Room{room}})
	if err != nil {
		t.Fatal(err)
	}
	cal := parseFeed(t, b)
	events := eventsByUID(t, cal)
	e := events["room-7b-maths.weekly.0800-0845@jitsi-gate"]
	if e == nil || len(events) != 1 {
		t.Fatalf("want one weekly event, got %v", slices.Collect(maps.Keys(events)))
	}
	if got := e.GetProperty(ics.ComponentPropertyDtStart); got.Value != "20260907T080000" ||
		!slices.Equal(got.ICalParameters["TZID"], []string{"Europe/Berlin"}) {
		t.Errorf("DTSTART = %s %v, want 20260907T080000 in Europe/Berlin (the first Monday of the term)", got.Value, got.ICalParameters)
	}
	rules, err := e.GetRRules()
	if err != nil || len(rules) != 1 {
		t.Fatalf("RRULE: %v %v", rules, err)
	}
	if want := utc(2027, time.July, 31, 21, 59).Add(59 * time.Second); !rules[0].Until.Equal(want) || rules[0].UntilDateOnly {
		t.Errorf("UNTIL = %s, want %s (end of 2027-07-31 in Berlin, in UTC)", rules[0].Until, want)
	}

	occ := expandWeekly(t, cal, e, utc(2030, time.January, 1, 0, 0))
	if len(occ) != 47 {
		t.Fatalf("got %d Mondays in the term, want 47: %s", len(occ), fmtTimes(occ))
	}
	byDay := map[string]occurrence{}
	for _, o := range occ {
		byDay[o.start.Format("2006-01-02")] = o
	}
	for _, tc := range []struct {
		name       string
		day        string
		start, end time.Time
	}{
		{"first Monday of the term, summer time", "2026-09-07", utc(2026, 9, 7, 6, 0), utc(2026, 9, 7, 6, 45)},
		{"October, CEST (UTC+2)", "2026-10-19", utc(2026, 10, 19, 6, 0), utc(2026, 10, 19, 6, 45)},
		{"last Monday before the autumn switch (25 Oct)", "2026-10-19", utc(2026, 10, 19, 6, 0), utc(2026, 10, 19, 6, 45)},
		{"first Monday after the autumn switch, CET (UTC+1)", "2026-10-26", utc(2026, 10, 26, 7, 0), utc(2026, 10, 26, 7, 45)},
		{"November, CET", "2026-11-02", utc(2026, 11, 2, 7, 0), utc(2026, 11, 2, 7, 45)},
		{"last Monday before the spring switch (28 Mar)", "2027-03-22", utc(2027, 3, 22, 7, 0), utc(2027, 3, 22, 7, 45)},
		{"first Monday after the spring switch, CEST", "2027-03-29", utc(2027, 3, 29, 6, 0), utc(2027, 3, 29, 6, 45)},
		{"last Monday of the term", "2027-07-26", utc(2027, 7, 26, 6, 0), utc(2027, 7, 26, 6, 45)},
	} {
		o, ok := byDay[tc.day]
		if !ok {
			t.Errorf("%s: no occurrence on %s", tc.name, tc.day)
			continue
		}
		if !o.start.Equal(tc.start) || !o.end.Equal(tc.end) {
			t.Errorf("%s: %s-%s, want %s-%s", tc.name, o.start, o.end, tc.start, tc.end)
		}
	}

	// The feed and package schedule agree on every lesson of the term.
	want := room.Schedule.Occurrences(utc(2026, 8, 1, 0, 0), utc(2027, 9, 1, 0, 0))
	if len(want) != len(occ) {
		t.Fatalf("schedule has %d occurrences, the feed %d", len(want), len(occ))
	}
	for i := range want {
		if !want[i].Start.Equal(occ[i].start) || !want[i].End.Equal(occ[i].end) {
			t.Errorf("occurrence %d: feed %s-%s, schedule %s-%s", i, occ[i].start, occ[i].end, want[i].Start, want[i].End)
		}
	}
}

// TestFeedParsesBack renders a feed of several kinds of rooms and checks
// every event the library reads back.
func TestFeedParsesBack(t *testing.T) {
	newYork := mustLoad(t, "America/New_York")
	rooms := []Room{
		mondayLesson(t),
		{
			ID:      "physics",
			Name:    "physics-8a",
			JoinURL: "https://meet.example.com/physics-8a",
			Schedule: schedule.Schedule{
				Location: newYork,
				Weekly: []schedule.Slot{
					{Day: time.Thursday, Start: 14 * 60, End: 15 * 60},
					{Day: time.Tuesday, Start: 14 * 60, End: 15 * 60},
					{Day: time.Friday, Start: 9 * 60, End: schedule.EndOfDay},
				},
			},
			Since: utc(2026, time.June, 3, 12, 0),
		},
		{
			ID:      "utc-room",
			Title:   "Staff meeting",
			JoinURL: "https://meet.example.com/staff",
			Schedule: schedule.Schedule{
				Weekly: []schedule.Slot{{Day: time.Wednesday, Start: 16 * 60, End: 17 * 60}},
			},
		},
		{
			ID:      "parents-evening",
			Title:   "Parents' evening",
			JoinURL: "https://meet.example.com/parents",
			Schedule: schedule.Schedule{
				Location: mustLoad(t, "Europe/Berlin"),
				Windows: []schedule.Window{
					{Start: utc(2026, 11, 12, 17, 0), End: utc(2026, 11, 12, 19, 30)},
					{Start: utc(2026, 10, 1, 16, 0), End: utc(2026, 10, 1, 18, 0)},
				},
			},
		},
		{ID: "lounge", Title: "Lounge (always open)", JoinURL: "https://meet.example.com/lounge"},
	}
	b, err := Render(Feed{Name: "Lessons of Ada", Domain: "meet.example.com", Now: feedNow, Rooms: rooms})
	if err != nil {
		t.Fatal(err)
	}
	lines(t, b)
	cal := parseFeed(t, b)
	for p, want := range map[ics.Property]string{
		ics.PropertyVersion:       "2.0",
		ics.PropertyProductId:     ProductID,
		ics.PropertyXWRCalName:    "Lessons of Ada",
		ics.PropertyName:          "Lessons of Ada",
		ics.PropertyMethod:        "PUBLISH",
		ics.PropertyCalscale:      "GREGORIAN",
		ics.PropertyXPublishedTTL: "",
	} {
		if got := calProp(cal, p); got != want {
			t.Errorf("calendar %s = %q, want %q", p, got, want)
		}
	}
	var tzids []string
	for _, tz := range cal.Timezones() {
		tzids = append(tzids, text(&tz.ComponentBase, ics.ComponentPropertyTzid))
	}
	if want := []string{"America/New_York", "Europe/Berlin"}; !slices.Equal(tzids, want) {
		t.Errorf("VTIMEZONEs %v, want %v (one per zone with weekly events; windows are UTC)", tzids, want)
	}

	type want struct {
		summary, join, description string
		start, end                 string // DTSTART and DTEND values
		tzid                       string
		byDay                      string
		until                      time.Time
	}
	wants := map[string]want{
		"room-7b-maths.weekly.0800-0845@meet.example.com": {
			summary: "Maths 7b", join: "https://meet.example.com/maths7b",
			description: "Organizer: Ada Lovelace\n\nhttps://meet.example.com/maths7b",
			start:       "20260907T080000", end: "20260907T084500", tzid: "Europe/Berlin", byDay: "MO",
			until: utc(2027, 7, 31, 21, 59).Add(59 * time.Second),
		},
		"physics.weekly.0900-2400@meet.example.com": {
			summary: "physics-8a", join: "https://meet.example.com/physics-8a",
			description: "https://meet.example.com/physics-8a",
			start:       "20260605T090000", end: "20260606T000000", tzid: "America/New_York", byDay: "FR",
		},
		"physics.weekly.1400-1500@meet.example.com": {
			summary: "physics-8a", join: "https://meet.example.com/physics-8a",
			description: "https://meet.example.com/physics-8a",
			start:       "20260604T140000", end: "20260604T150000", tzid: "America/New_York", byDay: "TU,TH",
		},
		"utc-room.weekly.1600-1700@meet.example.com": {
			summary: "Staff meeting", join: "https://meet.example.com/staff",
			description: "https://meet.example.com/staff",
			start:       "20260805T160000Z", end: "20260805T170000Z", byDay: "WE",
		},
		"parents-evening.once.20261001T160000Z@meet.example.com": {
			summary: "Parents' evening", join: "https://meet.example.com/parents",
			description: "https://meet.example.com/parents",
			start:       "20261001T160000Z", end: "20261001T180000Z",
		},
		"parents-evening.once.20261112T170000Z@meet.example.com": {
			summary: "Parents' evening", join: "https://meet.example.com/parents",
			description: "https://meet.example.com/parents",
			start:       "20261112T170000Z", end: "20261112T193000Z",
		},
	}
	events := eventsByUID(t, cal)
	if len(events) != len(wants) {
		t.Errorf("got %d events, want %d (the always-open lounge has none)", len(events), len(wants))
	}
	for uid, w := range wants {
		e := events[uid]
		if e == nil {
			t.Errorf("no event %s", uid)
			continue
		}
		c := &e.ComponentBase
		for p, v := range map[ics.ComponentProperty]string{
			ics.ComponentPropertySummary:     w.summary,
			ics.ComponentPropertyUrl:         w.join,
			ics.ComponentPropertyLocation:    w.join,
			ics.ComponentPropertyDescription: w.description,
			ics.ComponentPropertyDtstamp:     "20260820T100000Z",
		} {
			if got := text(c, p); got != v {
				t.Errorf("%s: %s = %q, want %q", uid, p, got, v)
			}
		}
		for p, v := range map[ics.ComponentProperty]string{ics.ComponentPropertyDtStart: w.start, ics.ComponentPropertyDtEnd: w.end} {
			prop := c.GetProperty(p)
			if prop == nil || prop.Value != v {
				t.Errorf("%s: %s = %v, want %s", uid, p, prop, v)
				continue
			}
			if got := strings.Join(prop.ICalParameters["TZID"], ","); got != w.tzid {
				t.Errorf("%s: %s TZID = %q, want %q", uid, p, got, w.tzid)
			}
		}
		rules, err := c.GetRRules()
		if err != nil {
			t.Errorf("%s: RRULE: %v", uid, err)
			continue
		}
		if w.byDay == "" {
			if len(rules) != 0 {
				t.Errorf("%s: a one-off window has RRULE %v", uid, rules)
			}
			continue
		}
		if len(rules) != 1 {
			t.Errorf("%s: want one RRULE, got %d", uid, len(rules))
			continue
		}
		var days []string
		for _, d := range rules[0].ByDay {
			days = append(days, d.String())
		}
		if got := strings.Join(days, ","); rules[0].Freq != ics.FrequencyWeekly || got != w.byDay {
			t.Errorf("%s: RRULE %s, want weekly on %s", uid, rules[0], w.byDay)
		}
		if !rules[0].Until.Equal(w.until) {
			t.Errorf("%s: UNTIL %s, want %s", uid, rules[0].Until, w.until)
		}
	}

	// The weekly events without a term start where their anchor says:
	// the room's creation day, or the first of the feed's month.
	occ := expandWeekly(t, cal, events["physics.weekly.1400-1500@meet.example.com"], utc(2026, 6, 12, 0, 0))
	if got, want := fmtTimes(occ), "2026-06-04T18:00:00Z-19:00 2026-06-09T18:00:00Z-19:00 2026-06-11T18:00:00Z-19:00 "; got != want {
		t.Errorf("physics expands to %s, want %s (14:00 EDT is 18:00 UTC)", got, want)
	}
	occ = expandWeekly(t, cal, events["physics.weekly.0900-2400@meet.example.com"], utc(2026, 11, 14, 0, 0))
	if last := occ[len(occ)-1]; !last.start.Equal(utc(2026, 11, 13, 14, 0)) || !last.end.Equal(utc(2026, 11, 14, 5, 0)) {
		t.Errorf("physics Friday in November (EST) %s-%s, want 14:00Z to 05:00Z next day", last.start, last.end)
	}
}

func TestUIDsStable(t *testing.T) {
	base := mondayLesson(t)
	render := func(now time.Time, rooms ...Room) []string {
		t.Helper()
		b, err := Render(Feed{Now: now, Domain: "meet.example.com", Rooms: rooms})
		if err != nil {
			t.Fatal(err)
		}
		var uids []string
		for uid := range eventsByUID(t, parseFeed(t, b)) {
			uids = append(uids, uid)
		}
		slices.Sort(uids)
		return uids
	}
	first := render(feedNow, base)

	edited := base
	edited.Title = "Mathematics 7b"
	edited.Description = "new organizer"
	edited.Schedule.ValidFrom = schedule.Date{Year: 2026, Month: time.September, Day: 14}
	edited.Schedule.ValidUntil = schedule.Date{Year: 2027, Month: time.June, Day: 30}
	edited.Schedule.Weekly = append(slices.Clone(base.Schedule.Weekly), schedule.Slot{Day: time.Thursday, Start: 8 * 60, End: 8*60 + 45})

	for name, uids := range map[string][]string{
		"the same room rendered a month later":                     render(feedNow.AddDate(0, 1, 0), base),
		"title, description and term edited, a day added (update)": render(feedNow, edited),
	} {
		if !slices.Equal(uids, first) {
			t.Errorf("%s: UIDs %v, want %v", name, uids, first)
		}
	}

	moved := base
	moved.Schedule.Weekly = []schedule.Slot{{Day: time.Monday, Start: 9 * 60, End: 9*60 + 45}}
	if got := render(feedNow, moved); slices.Equal(got, first) {
		t.Errorf("a lesson moved to 09:00 kept UID %v; it is another slot", got)
	}
	other := base
	other.ID = "room-7c-maths"
	if got := render(feedNow, base, other); len(got) != 2 || got[0] == got[1] {
		t.Errorf("two rooms with the same slot share UIDs: %v", got)
	}
	odd := base
	odd.ID = "a b/c@d;e,f"
	if got := render(feedNow, odd); len(got) != 1 || got[0] != "a%20b%2Fc%40d%3Be%2Cf.weekly.0800-0845@meet.example.com" {
		t.Errorf("room id with special characters gives UID %v", got)
	}
}

// TestUserValuesCannotInject renders titles, descriptions and calendar
// names built to break out of their line and checks that the feed still
// holds exactly the expected properties, with the values shown as text.
func TestUserValuesCannotInject(t *testing.T) {
	attacks := []string{
		"Maths\r\nX-INJECTED:1",
		"Maths\nBEGIN:VEVENT\nUID:evil\nEND:VEVENT",
		"Maths\rEND:VCALENDAR",
		"Maths;X-INJECTED=1:2,3\\n",
		"Maths\u2028X-INJECTED:1\u0085X-INJECTED:2",
		"Maths\x00\x1b[31m\x7f",
		"Maths \xff\xfe invalid UTF-8",
		"Maths" + strings.Repeat("\r\n ", 40) + "X-INJECTED:1",
	}
	var rooms []Room
	for i, a := range attacks {
		r := mondayLesson(t)
		r.ID = string(rune('a' + i))
		r.Title = a
		r.Description = a
		rooms = append(rooms, r)
	}
	b, err := Render(Feed{Name: attacks[0], Now: feedNow, Rooms: rooms})
	if err != nil {
		t.Fatal(err)
	}
	allowed := map[string]bool{
		"BEGIN": true, "END": true, "VERSION": true, "PRODID": true, "CALSCALE": true, "METHOD": true,
		"X-WR-CALNAME": true, "NAME": true, "TZID": true, "DTSTART": true, "TZOFFSETFROM": true,
		"TZOFFSETTO": true, "TZNAME": true, "RRULE": true, "UID": true, "DTSTAMP": true, "SUMMARY": true,
		"URL": true, "LOCATION": true, "DESCRIPTION": true, "DTEND": true,
	}
	for _, l := range lines(t, b) {
		name, _, _ := strings.Cut(l, ":")
		name, _, _ = strings.Cut(name, ";")
		if !allowed[name] {
			t.Errorf("unexpected property line %q", l)
		}
	}
	cal := parseFeed(t, b)
	if got := calProp(cal, ics.PropertyXWRCalName); got != "Maths X-INJECTED:1" {
		t.Errorf("X-WR-CALNAME = %q", got)
	}
	events := cal.Events()
	if len(events) != len(attacks) {
		t.Fatalf("got %d events for %d rooms", len(events), len(attacks))
	}
	for i, e := range events {
		c := &e.ComponentBase
		if got, want := text(c, ics.ComponentPropertySummary), plainText(attacks[i]); got != want {
			t.Errorf("SUMMARY %q, want %q", got, want)
		}
		if got := text(c, ics.ComponentPropertySummary); strings.ContainsAny(got, "\r\n\x00\x1b\x7f\u2028\u0085") || !strings.HasPrefix(got, "Maths") {
			t.Errorf("SUMMARY %q keeps a control character or lost its text", got)
		}
		if got := text(c, ics.ComponentPropertyDescription); !strings.HasSuffix(got, "\n\nhttps://meet.example.com/maths7b") ||
			strings.Count(got, "\n") != 2 {
			t.Errorf("DESCRIPTION %q: the user's line must stay one line above the join link", got)
		}
		if len(c.Properties) != 9 {
			t.Errorf("event %d has %d properties, want 9", i, len(c.Properties))
		}
	}
	if want, got := "Maths;X-INJECTED=1:2,3\\n", text(&events[3].ComponentBase, ics.ComponentPropertySummary); got != want {
		t.Errorf("separators must round-trip as text: got %q, want %q", got, want)
	}
}

func TestLongValuesFold(t *testing.T) {
	r := mondayLesson(t)
	r.Title = strings.Repeat("Übungsstunde für Fortgeschrittene — ", 6) + strings.Repeat("ä", 80)
	r.JoinURL = "https://meet.example.com/" + strings.Repeat("a-very-long-room-name-", 8)
	b, err := Render(Feed{Name: strings.Repeat("Stundenplan ", 12), Now: feedNow, Rooms: []Room{r}})
	if err != nil {
		t.Fatal(err)
	}
	for _, l := range strings.Split(string(b), "\r\n") {
		if !utf8Valid(l) {
			t.Errorf("a fold split a UTF-8 sequence: %q", l)
		}
	}
	lines(t, b) // checks every line is at most 75 octets
	e := parseFeed(t, b).Events()[0]
	if got := text(&e.ComponentBase, ics.ComponentPropertySummary); got != plainText(r.Title) {
		t.Errorf("folded SUMMARY reads back as %q", got)
	}
	if got := text(&e.ComponentBase, ics.ComponentPropertyUrl); got != r.JoinURL {
		t.Errorf("folded URL reads back as %q", got)
	}
}

func utf8Valid(s string) bool { return strings.ToValidUTF8(s, "\uFFFD") == s }

func TestNoEventFor(t *testing.T) {
	shortTerm := mondayLesson(t)
	shortTerm.ID = "short"
	// 1-2 September 2026 are a Tuesday and a Wednesday: no Monday.
	shortTerm.Schedule.ValidUntil = schedule.Date{Year: 2026, Month: time.September, Day: 2}
	always := Room{ID: "always", Title: "Always open", JoinURL: "https://meet.example.com/always"}

	b, err := Render(Feed{Name: "x", Now: feedNow, Rooms: []Room{shortTerm, always}})
	if err != nil {
		t.Fatal(err)
	}
	cal := parseFeed(t, b)
	if n := len(cal.Events()); n != 0 {
		t.Errorf("got %d events, want none", n)
	}
	if n := len(cal.Timezones()); n != 0 {
		t.Errorf("got %d VTIMEZONEs without events that use them", n)
	}
}

func TestRenderRefuses(t *testing.T) {
	good := mondayLesson(t)
	with := func(f func(r *Room)) []Room {
		r := good
		f(&r)
		return []Room{r}
	}
	fixed := time.FixedZone("", 3600)
	for _, tc := range []struct {
		name  string
		rooms []Room
		want  string
	}{
		{"duplicate id", []Room{good, good}, `id "room-7b-maths" appears twice`},
		{"no id", with(func(r *Room) { r.ID = "" }), "no id"},
		{"no title or name", with(func(r *Room) { r.Title, r.Name = " \n", "" }), "neither a title nor a name"},
		{"no join URL", with(func(r *Room) { r.JoinURL = "" }), "no join URL"},
		{"relative join URL", with(func(r *Room) { r.JoinURL = "/maths7b" }), "not an absolute http(s) URL"},
		{"javascript join URL", with(func(r *Room) { r.JoinURL = "javascript:alert(1)" }), "not an absolute http(s) URL"},
		{"join URL with a line break", with(func(r *Room) { r.JoinURL = "https://meet.example.com/a\r\nX-INJECTED:1" }), "control characters"},
		{"join URL with a space", with(func(r *Room) { r.JoinURL = "https://meet.example.com/a b" }), "spaces"},
		{"invalid schedule", with(func(r *Room) {
			r.Schedule.Weekly = []schedule.Slot{{Day: time.Monday, Start: 8 * 60, End: 7 * 60}}
		}), "schedule: weekly"},
		{"zone without a name", with(func(r *Room) { r.Schedule.Location = time.Local }), `time zone "Local" has no IANA name`},
		{"fixed zone", with(func(r *Room) { r.Schedule.Location = fixed }), "has no IANA name"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Render(Feed{Now: feedNow, Rooms: tc.rooms})
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("err = %v, want one containing %q", err, tc.want)
			}
		})
	}
}

// TestGolden keeps the exact bytes of one small calendar; run
// `go test ./internal/ical -run TestGolden -update` after a deliberate
// change and review the diff.
func TestGolden(t *testing.T) {
	rooms := []Room{
		mondayLesson(t),
		{
			ID:      "parents-evening",
			Title:   "Parents' evening, 7b; all welcome",
			JoinURL: "https://meet.example.com/parents",
			Schedule: schedule.Schedule{Windows: []schedule.Window{
				{Start: utc(2026, 11, 12, 17, 0), End: utc(2026, 11, 12, 19, 30)},
			}},
		},
	}
	b, err := Render(Feed{Name: "Lessons of Ada", Domain: "meet.example.com", Now: feedNow, RefreshInterval: time.Hour, Rooms: rooms})
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join("testdata", "small.ics")
	if *update {
		if err := os.WriteFile(path, b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run with -update to create it)", err)
	}
	if !bytes.Equal(b, want) {
		t.Errorf("feed differs from %s:\n got:\n%s\nwant:\n%s", path, b, want)
	}
}
