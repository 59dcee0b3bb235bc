// Package ical renders the rooms a user may join as an iCalendar feed
// (RFC 5545): a personal subscription URL or a room page's .ics download
// both hand Render the rooms and serve the bytes it returns. The package
// is pure: it reads no store, no configuration and serves no HTTP.
//
// What becomes an event, decided once here:
//
//   - Weekly slots become recurring events. Slots of one room that share
//     the same start and end (a lesson at 08:00-08:45 on Monday and on
//     Thursday) form one event with RRULE:FREQ=WEEKLY;BYDAY=MO,TH, so adding
//     a day to a lesson updates the series instead of adding one. DTSTART
//     and DTEND are wall-clock times with the room's TZID (UTC rooms use
//     UTC times), placed on the first matching day on or after the anchor:
//     the term start (ValidFrom), else the day the room was created
//     (Room.Since), else the first day of the feed's month, so a feed does
//     not invent years of past lessons. A term end (ValidUntil) becomes
//     UNTIL, in UTC as RFC 5545 §3.3.10 requires when DTSTART has a TZID,
//     at the last second of that day in the room's zone. A group without
//     any day inside the term becomes no event. Each zone used gets a
//     VTIMEZONE built from Go's time zone data (see vtimezone.go), which
//     Outlook needs.
//   - One-off windows become single events in UTC, term or not (as in
//     package schedule, a window counts as given).
//   - A room whose schedule is Unrestricted (always open) becomes no event:
//     "open at any time" is not an appointment, and an all-day event on
//     every day would bury the real lessons. Pages list such rooms instead.
//   - Slots and windows are shown as entered: a double lesson 08:00-08:45,
//     08:45-09:30 is two events, although package schedule merges them into
//     one occurrence for the room's opening.
//   - UIDs are stable for a room and a slot: "<room id>.weekly.0800-0845@<domain>"
//     for a weekly group and "<room id>.once.<start in UTC>@<domain>" for a
//     window, so calendar clients update an event instead of duplicating it
//     when the feed is fetched again or a term moves.
//   - Every event carries the join link as URL, as LOCATION (what phones
//     show and make tappable) and at the end of DESCRIPTION.
//
// Values from users (titles, names, descriptions, the calendar name) are
// plain text: control characters, line breaks included, become spaces and
// invalid UTF-8 is replaced before the library escapes commas, semicolons,
// backslashes and newlines. The library leaves a lone CR as it is, so this
// cleaning is what keeps a value from ending its line and starting a
// property of its own. The join URL is a URI value, which the library does
// not escape at all: it must be an absolute http(s) URL without spaces or
// control characters. The library folds lines at 75 octets without
// splitting a UTF-8 sequence; the output uses CRLF line ends.
//
// Library: github.com/arran4/golang-ical. Of the two maintained Go
// iCalendar libraries it is the one with tagged releases (several in
// 2026, Apache-2.0, widely imported) and no runtime dependencies; it folds
// lines, escapes TEXT values, parses RRULEs into a struct and reads back
// what it writes, which the tests use. github.com/emersion/go-ical has no
// release tag (its newest version is a 2025 commit), its encoder writes
// lines of any length (folding would be ours to write), and it brings an
// RRULE engine this package would only use in tests. Neither library
// derives a VTIMEZONE from Go's time zone data, so vtimezone.go does that.
package ical

import (
	"bytes"
	"errors"
	"fmt"
	"net/url"
	"slices"
	"strings"
	"time"
	"unicode"

	ics "github.com/arran4/golang-ical"

	"github.com/jitsi-gate/jitsi-gate/internal/schedule"
)

// ProductID is the PRODID of every calendar this package renders.
const ProductID = "-//jitsi-gate//jitsi-gate//EN"

// DefaultDomain ends every UID when Feed.Domain is empty.
const DefaultDomain = "jitsi-gate"

// Room is one room as a calendar shows it.
type Room struct {
	// ID identifies the room for good (the registry's id); it is part of
	// every UID, so it must not change when the room is renamed.
	ID string
	// Name is the room's name; the SUMMARY when Title is empty.
	Name string
	// Title is the SUMMARY, e.g. "Maths 7b".
	Title string
	// JoinURL is the absolute http(s) link that joins the room.
	JoinURL string
	// Description is one line shown above the join link, e.g. the
	// organizers; optional.
	Description string
	// Schedule says when the room is open.
	Schedule schedule.Schedule
	// Since is when the room was created; optional. It anchors weekly
	// slots that have no term start (see the package comment).
	Since time.Time
}

// Feed is one calendar: its name and the rooms in it.
type Feed struct {
	// Name is the calendar's name (X-WR-CALNAME and NAME), e.g.
	// "Lessons of Ada Lovelace".
	Name string
	// Domain ends every UID after an "@"; the gateway's public host
	// keeps UIDs of two installations apart. Empty means DefaultDomain.
	Domain string
	// Now is the DTSTAMP of every event and anchors weekly slots without
	// a term start; zero means time.Now().
	Now time.Time
	// RefreshInterval, when set, asks subscribing clients to fetch the
	// feed again this often (REFRESH-INTERVAL, X-PUBLISHED-TTL).
	RefreshInterval time.Duration
	// Rooms are rendered in this order.
	Rooms []Room
}

// Render returns f as iCalendar bytes (CRLF line ends, folded lines). An
// error names the room and what is wrong with it; nothing is rendered then.
func Render(f Feed) ([]byte, error) {
	now := f.Now
	if now.IsZero() {
		now = time.Now()
	}
	domain := uidPart(f.Domain)
	if domain == "" {
		domain = DefaultDomain
	}

	cal := ics.NewCalendar()
	cal.SetProductId(ProductID)
	cal.SetCalscale("GREGORIAN")
	cal.SetMethod(ics.MethodPublish)
	if name := plainText(f.Name); name != "" {
		cal.SetXWRCalName(name)
		cal.SetName(name)
	}
	if f.RefreshInterval > 0 {
		d := isoDuration(f.RefreshInterval)
		cal.SetRefreshInterval(d)
		cal.SetXPublishedTTL(d)
	}

	zones := map[string]*zoneUse{}
	var events []*ics.VEvent
	seen := map[string]bool{}
	for i, r := range f.Rooms {
		if seen[r.ID] {
			return nil, fmt.Errorf("ical: room %d: id %q appears twice; every room needs its own id", i+1, r.ID)
		}
		seen[r.ID] = true
		evs, err := roomEvents(r, now, domain, zones)
		if err != nil {
			return nil, fmt.Errorf("ical: room %q: %w", r.ID, err)
		}
		events = append(events, evs...)
	}

	names := make([]string, 0, len(zones))
	for name := range zones {
		names = append(names, name)
	}
	slices.Sort(names)
	for _, name := range names {
		z := zones[name]
		cal.AddVTimezone(vtimezone(z.loc, z.from, z.to))
	}
	for _, e := range events {
		cal.AddVEvent(e)
	}

	var buf bytes.Buffer
	if err := cal.SerializeTo(&buf, ics.WithNewLineWindows); err != nil {
		return nil, fmt.Errorf("ical: writing the calendar: %w", err)
	}
	return buf.Bytes(), nil
}

// zoneUse is the span of time a zone must cover: the VTIMEZONE describes
// its offsets from the year before from through the end of to's year.
type zoneUse struct {
	loc      *time.Location
	from, to time.Time
}

func (z *zoneUse) cover(from, to time.Time) {
	if z.from.IsZero() || from.Before(z.from) {
		z.from = from
	}
	if to.After(z.to) {
		z.to = to
	}
}

// timeFormatLocal and timeFormatUTC are RFC 5545 DATE-TIME forms.
const (
	timeFormatLocal = "20060102T150405"
	timeFormatUTC   = "20060102T150405Z"
)

func roomEvents(r Room, now time.Time, domain string, zones map[string]*zoneUse) ([]*ics.VEvent, error) {
	id := uidPart(r.ID)
	if id == "" {
		return nil, errors.New("the room has no id")
	}
	summary := plainText(r.Title)
	if summary == "" {
		summary = plainText(r.Name)
	}
	if summary == "" {
		return nil, errors.New("the room has neither a title nor a name")
	}
	join, err := joinURL(r.JoinURL)
	if err != nil {
		return nil, err
	}
	if err := r.Schedule.Validate(); err != nil {
		return nil, fmt.Errorf("schedule: %w", err)
	}
	s := r.Schedule
	if s.Unrestricted() {
		return nil, nil
	}
	description := join
	if line := plainText(r.Description); line != "" {
		description = line + "\n\n" + join
	}
	newEvent := func(uid string) *ics.VEvent {
		e := ics.NewEvent(uid + "@" + domain)
		e.SetDtStampTime(now)
		e.SetSummary(summary)
		e.SetURL(join)
		e.SetLocation(join)
		e.SetDescription(description)
		return e
	}

	loc := s.Location
	if loc == nil {
		loc = time.UTC
	}
	tzid, err := zoneID(loc)
	if err != nil {
		return nil, err
	}

	var events []*ics.VEvent
	for _, g := range groupSlots(s.Weekly) {
		first, ok := firstDay(weeklyAnchor(r, now, loc), g.days, s.ValidUntil)
		if !ok {
			continue
		}
		e := newEvent(fmt.Sprintf("%s.weekly.%s-%s", id, clockID(g.start), clockID(g.end)))
		start, end := wallTime(first, g.start), wallTime(first, g.end)
		rule := &ics.RecurrenceRule{Freq: ics.FrequencyWeekly, Interval: 1}
		for _, d := range g.days {
			rule.ByDay = append(rule.ByDay, ics.WeekdayNum{Day: icsWeekday[d]})
		}
		var last time.Time
		if !s.ValidUntil.IsZero() {
			u := s.ValidUntil
			rule.Until = time.Date(u.Year, u.Month, u.Day, 23, 59, 59, 0, loc).UTC()
			last = rule.Until
		} else {
			last = now.Add(schedule.Horizon)
		}
		if tzid == "" {
			// UTC room: UTC times need no VTIMEZONE.
			e.SetStartAt(start)
			e.SetEndAt(end)
		} else {
			e.SetProperty(ics.ComponentPropertyDtStart, start.Format(timeFormatLocal), ics.WithTZID(tzid))
			e.SetProperty(ics.ComponentPropertyDtEnd, end.Format(timeFormatLocal), ics.WithTZID(tzid))
			z := zones[tzid]
			if z == nil {
				z = &zoneUse{loc: loc}
				zones[tzid] = z
			}
			z.cover(time.Date(first.Year, first.Month, first.Day, 0, 0, 0, 0, loc), last)
		}
		e.AddRrule(rule.String())
		events = append(events, e)
	}

	windows := slices.Clone(s.Windows)
	slices.SortFunc(windows, func(a, b schedule.Window) int { return a.Start.Compare(b.Start) })
	for _, w := range windows {
		start := w.Start.UTC()
		e := newEvent(fmt.Sprintf("%s.once.%s", id, start.Format(timeFormatUTC)))
		e.SetStartAt(start)
		e.SetEndAt(w.End)
		events = append(events, e)
	}
	return events, nil
}

// slotGroup is the weekly slots of one room that share start and end.
type slotGroup struct {
	start, end schedule.Clock
	days       []time.Weekday // Monday first
}

func groupSlots(slots []schedule.Slot) []slotGroup {
	var groups []slotGroup
	for _, sl := range slots {
		i := slices.IndexFunc(groups, func(g slotGroup) bool { return g.start == sl.Start && g.end == sl.End })
		if i < 0 {
			groups = append(groups, slotGroup{start: sl.Start, end: sl.End})
			i = len(groups) - 1
		}
		if !slices.Contains(groups[i].days, sl.Day) {
			groups[i].days = append(groups[i].days, sl.Day)
		}
	}
	for i := range groups {
		slices.SortFunc(groups[i].days, func(a, b time.Weekday) int { return schedule.WeekOrder(a) - schedule.WeekOrder(b) })
	}
	slices.SortFunc(groups, func(a, b slotGroup) int {
		if a.start != b.start {
			return int(a.start - b.start)
		}
		return int(a.end - b.end)
	})
	return groups
}

var icsWeekday = [7]ics.Weekday{
	ics.WeekdaySunday, ics.WeekdayMonday, ics.WeekdayTuesday, ics.WeekdayWednesday,
	ics.WeekdayThursday, ics.WeekdayFriday, ics.WeekdaySaturday,
}

// weeklyAnchor is the first day weekly slots may fall on: the term
// start, else the room's creation day, else the first of now's month,
// each in the room's zone.
func weeklyAnchor(r Room, now time.Time, loc *time.Location) schedule.Date {
	switch {
	case !r.Schedule.ValidFrom.IsZero():
		return r.Schedule.ValidFrom
	case !r.Since.IsZero():
		y, m, d := r.Since.In(loc).Date()
		return schedule.Date{Year: y, Month: m, Day: d}
	default:
		y, m, _ := now.In(loc).Date()
		return schedule.Date{Year: y, Month: m, Day: 1}
	}
}

// firstDay is the first date on or after from that falls on one of days,
// or false when that date lies after until (a term without such a day).
// days is never empty and holds valid weekdays (groupSlots, Validate).
func firstDay(from schedule.Date, days []time.Weekday, until schedule.Date) (schedule.Date, bool) {
	// Noon UTC steps through calendar days without daylight-saving trouble.
	day := time.Date(from.Year, from.Month, from.Day, 12, 0, 0, 0, time.UTC)
	for !slices.Contains(days, day.Weekday()) {
		day = day.AddDate(0, 0, 1)
	}
	if !until.IsZero() && day.After(time.Date(until.Year, until.Month, until.Day, 12, 0, 0, 0, time.UTC)) {
		return schedule.Date{}, false
	}
	y, m, d := day.Date()
	return schedule.Date{Year: y, Month: m, Day: d}, true
}

// wallTime is a date and clock as a wall-clock time; 24:00 is midnight
// at the end of the day.
func wallTime(d schedule.Date, c schedule.Clock) time.Time {
	return time.Date(d.Year, d.Month, d.Day, 0, int(c), 0, 0, time.UTC)
}

func clockID(c schedule.Clock) string { return fmt.Sprintf("%02d%02d", int(c)/60, int(c)%60) }

// zoneID is loc's TZID, or "" for UTC. A zone without an IANA name
// (time.Local, a fixed zone) cannot be named in a calendar.
func zoneID(loc *time.Location) (string, error) {
	name := loc.String()
	switch {
	case loc == time.UTC || name == "UTC" || name == "Etc/UTC":
		return "", nil
	case name == "" || name == "Local":
		return "", fmt.Errorf("time zone %q has no IANA name a calendar could use", name)
	}
	if _, err := time.LoadLocation(name); err != nil {
		return "", fmt.Errorf("time zone %q is not an IANA time zone: %w", name, err)
	}
	return name, nil
}

// joinURL checks that raw is an absolute http(s) URL; a URL value is not
// escaped like text, so anything else could break the line it is on.
func joinURL(raw string) (string, error) {
	if raw == "" {
		return "", errors.New("the room has no join URL")
	}
	if strings.IndexFunc(raw, func(r rune) bool { return unicode.IsControl(r) || unicode.IsSpace(r) }) >= 0 {
		return "", fmt.Errorf("join URL %q contains spaces or control characters", raw)
	}
	u, err := url.Parse(raw)
	if err != nil {
		return "", fmt.Errorf("join URL %q: %w", raw, err)
	}
	if (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
		return "", fmt.Errorf("join URL %q is not an absolute http(s) URL", raw)
	}
	return u.String(), nil
}

// plainText makes a user's value safe for a TEXT property: invalid UTF-8
// is replaced, control characters (line breaks included) and line or
// paragraph separators become spaces, runs of spaces collapse and the
// ends are trimmed. The library then escapes what RFC 5545 §3.3.11 asks.
func plainText(s string) string {
	s = strings.ToValidUTF8(s, "\uFFFD")
	s = strings.Map(func(r rune) rune {
		if unicode.IsControl(r) || r == '\u2028' || r == '\u2029' {
			return ' '
		}
		return r
	}, s)
	return strings.Join(strings.Fields(s), " ")
}

// uidPart keeps letters, digits and ".-_~" of s and percent-encodes every
// other byte, so a UID needs no escaping and reads the same in every client.
func uidPart(s string) string {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', '0' <= c && c <= '9', c == '.', c == '-', c == '_', c == '~':
			b.WriteByte(c)
		default:
			fmt.Fprintf(&b, "%%%02X", c)
		}
	}
	return b.String()
}

// isoDuration formats d as an RFC 5545 duration, e.g. "PT1H".
func isoDuration(d time.Duration) string {
	secs := int64(d / time.Second)
	if secs < 1 {
		secs = 1
	}
	var b strings.Builder
	b.WriteString("PT")
	if h := secs / 3600; h > 0 {
		fmt.Fprintf(&b, "%dH", h)
	}
	if m := secs % 3600 / 60; m > 0 {
		fmt.Fprintf(&b, "%dM", m)
	}
	if s := secs % 60; s > 0 {
		fmt.Fprintf(&b, "%dS", s)
	}
	return b.String()
}
