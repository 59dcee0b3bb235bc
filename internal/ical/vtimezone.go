package ical

import (
	"fmt"
	"time"

	ics "github.com/arran4/golang-ical"
)

// A VTIMEZONE describes a zone's UTC offsets by observances (RFC 5545
// §3.6.5): STANDARD and DAYLIGHT components, each starting at a local
// time (DTSTART, in the offset before it) and switching from TZOFFSETFROM
// to TZOFFSETTO. Go exposes a zone only as instants and their offsets, so
// vtimezone walks the zone's transitions (Time.ZoneBounds) over the span
// the events need and writes them in one of three forms:
//
//   - no transition: one STANDARD observance with the fixed offset;
//   - exactly one change into and one out of daylight saving time every
//     year, each on the same weekday rule ("last Sunday of March at
//     02:00", "second Sunday of March") at the same local time: one
//     DAYLIGHT and one STANDARD observance with a yearly RRULE, the form
//     Outlook maps best to its own zones and that stays right for events
//     beyond the span;
//   - anything else (rules that changed within the span, several changes a
//     year as in Morocco): the offset at the start of the span and then
//     every transition as its own observance. Beyond the span a client
//     keeps the last offset; the span of an open-ended series reaches
//     schedule.Horizon past the feed's time, and feeds are fetched again.
//
// The span starts on 1 January of the year before the first event, so
// the first observance of each kind begins before any event, and ends on
// 31 December of the last event's year.

// transition is one change of a zone's UTC offset.
type transition struct {
	at       time.Time // the instant of the change
	from, to int       // offsets before and after, seconds east of UTC
	name     string    // abbreviation after the change, e.g. "CEST"
	dst      bool      // daylight saving time after the change
}

// wall is the transition's local time in the offset before it, the form
// of an observance's DTSTART.
func (t transition) wall() time.Time {
	return t.at.UTC().Add(time.Duration(t.from) * time.Second)
}

// yearlyRule is a transition's place in its year: month, weekday and
// which one of that weekday in the month, and local time of day.
type yearlyRule struct {
	month   time.Month
	weekday time.Weekday
	nth     int // 1..4 counted from the start of the month; 0 when fifth
	last    bool
	clock   time.Duration
	from    int
	to      int
	name    string
}

func ruleOf(t transition) yearlyRule {
	w := t.wall()
	y, m, d := w.Date()
	daysInMonth := time.Date(y, m+1, 0, 12, 0, 0, 0, time.UTC).Day()
	nth := (d-1)/7 + 1
	if nth > 4 {
		nth = 0
	}
	h, mi, s := w.Clock()
	return yearlyRule{
		month:   m,
		weekday: w.Weekday(),
		nth:     nth,
		last:    d+7 > daysInMonth,
		clock:   time.Duration(h)*time.Hour + time.Duration(mi)*time.Minute + time.Duration(s)*time.Second,
		from:    t.from,
		to:      t.to,
		name:    t.name,
	}
}

// vtimezone describes loc's offsets for events between from and to.
func vtimezone(loc *time.Location, from, to time.Time) *ics.VTimezone {
	if to.Before(from) {
		to = from
	}
	spanStart := time.Date(from.In(loc).Year()-1, time.January, 1, 0, 0, 0, 0, time.UTC)
	spanEnd := time.Date(to.In(loc).Year()+1, time.January, 1, 0, 0, 0, 0, time.UTC)
	transitions := zoneTransitions(loc, spanStart, spanEnd)

	tz := ics.NewTimezone(loc.String())
	if len(transitions) == 0 {
		name, offset := spanStart.In(loc).Zone()
		addObservance(tz, false, spanStart.Add(time.Duration(offset)*time.Second), offset, offset, name, "")
		return tz
	}
	if daylight, standard, ok := yearlyRules(transitions, spanStart.Year(), spanEnd.Year()-1); ok {
		for _, t := range []transition{daylight, standard} {
			rule := ruleOf(t)
			byDay := ics.WeekdayNum{Day: icsWeekday[rule.weekday], OrdWeek: rule.nth}
			if rule.last {
				byDay.OrdWeek = -1
			}
			rrule := &ics.RecurrenceRule{
				Freq:     ics.FrequencyYearly,
				Interval: 1,
				ByMonth:  []int{int(rule.month)},
				ByDay:    []ics.WeekdayNum{byDay},
			}
			addObservance(tz, t.dst, t.wall(), t.from, t.to, t.name, rrule.String())
		}
		return tz
	}
	first := spanStart.In(loc)
	name, offset := first.Zone()
	addObservance(tz, first.IsDST(), spanStart.Add(time.Duration(offset)*time.Second), offset, offset, name, "")
	for _, t := range transitions {
		addObservance(tz, t.dst, t.wall(), t.from, t.to, t.name, "")
	}
	return tz
}

// zoneTransitions lists the changes of loc's UTC offset in [from, to).
// Changes of the abbreviation alone do not matter for times and are left
// out, so a yearly rule is not hidden by a renamed period.
func zoneTransitions(loc *time.Location, from, to time.Time) []transition {
	var out []transition
	t := from.In(loc)
	for {
		_, end := t.ZoneBounds()
		if end.IsZero() || !end.Before(to) {
			return out
		}
		_, before := t.Zone()
		after := end.In(loc)
		name, offset := after.Zone()
		if offset != before {
			out = append(out, transition{at: end, from: before, to: offset, name: name, dst: after.IsDST()})
		}
		t = after
	}
}

// yearlyRules reports whether transitions are one change into and one
// out of daylight saving time in each year from first to last, each
// kind following a single yearly rule, and returns the first of each.
func yearlyRules(transitions []transition, first, last int) (daylight, standard transition, ok bool) {
	var into, out []transition
	for _, t := range transitions {
		if t.dst {
			into = append(into, t)
		} else {
			out = append(out, t)
		}
	}
	years := last - first + 1
	if len(into) != years || len(out) != years {
		return transition{}, transition{}, false
	}
	for _, kind := range [][]transition{into, out} {
		if !sameRule(kind, first) {
			return transition{}, transition{}, false
		}
	}
	return into[0], out[0], true
}

// sameRule reports whether kind holds one transition a year from first
// on, all on the same weekday rule with the same offsets and name; it
// settles on "last" or on "nth" only when every year agrees.
func sameRule(kind []transition, first int) bool {
	r0 := ruleOf(kind[0])
	lastAll, nthAll := r0.last, r0.nth != 0
	for i, t := range kind {
		if t.wall().Year() != first+i {
			return false
		}
		r := ruleOf(t)
		if r.month != r0.month || r.weekday != r0.weekday || r.clock != r0.clock ||
			r.from != r0.from || r.to != r0.to || r.name != r0.name {
			return false
		}
		lastAll = lastAll && r.last
		nthAll = nthAll && r.nth == r0.nth
	}
	return lastAll || nthAll
}

// addObservance appends a STANDARD or DAYLIGHT observance to tz.
func addObservance(tz *ics.VTimezone, dst bool, start time.Time, from, to int, name, rrule string) {
	var obs *ics.ComponentBase
	if dst {
		d := &ics.Daylight{}
		tz.Components = append(tz.Components, d)
		obs = &d.ComponentBase
	} else {
		s := &ics.Standard{}
		tz.Components = append(tz.Components, s)
		obs = &s.ComponentBase
	}
	obs.SetProperty(ics.ComponentPropertyDtStart, start.Format(timeFormatLocal))
	obs.SetProperty(ics.ComponentProperty(ics.PropertyTzoffsetfrom), utcOffset(from))
	obs.SetProperty(ics.ComponentProperty(ics.PropertyTzoffsetto), utcOffset(to))
	if n := plainText(name); n != "" {
		obs.SetProperty(ics.ComponentProperty(ics.PropertyTzname), n)
	}
	if rrule != "" {
		obs.AddRrule(rrule)
	}
}

// utcOffset formats seconds east of UTC as RFC 5545 §3.3.14 does:
// "+0100", "-0330", "+053028" when there are seconds.
func utcOffset(secs int) string {
	sign := '+'
	if secs < 0 {
		sign = '-'
		secs = -secs
	}
	h, m, s := secs/3600, secs%3600/60, secs%60
	if s != 0 {
		return fmt.Sprintf("%c%02d%02d%02d", sign, h, m, s)
	}
	return fmt.Sprintf("%c%02d%02d", sign, h, m)
}
