// Package schedule decides when a registered room is open: one-off windows
// (absolute instants), weekly slots (a weekday and a wall-clock range in the
// room's IANA timezone) limited by an optional term, and an OpenEarly margin
// for organizers.
//
// Semantics, decided once here so every caller agrees:
//
//   - A Schedule without windows and without weekly slots is Unrestricted:
//     At reports it open at every instant, Next and Occurrences report
//     nothing. Callers should check Unrestricted first and say so.
//   - Weekly slots are wall-clock times: "mon 08:00-08:45" in Europe/Berlin is
//     08:00 local before and after a daylight-saving switch. Local times that
//     do not exist (the hour skipped in spring) are read with the offset in
//     force before the gap, so they move forward by the gap; times that exist
//     twice (the hour repeated in autumn) mean the first of the two. Both
//     follow RFC 5545 (iCalendar) §3.3.5, so a later iCalendar export agrees.
//   - A slot cannot cross midnight; "22:00-01:00" is refused with a hint to
//     split it. "24:00" is accepted as an end (the end of the day).
//   - The term (ValidFrom..ValidUntil, both inclusive, dates in the room's
//     timezone) limits weekly slots only: a one-off window is explicit and
//     counts as given, e.g. an extra session in the holidays. A term without
//     weekly slots is refused because it would silently do nothing.
//   - Occurrences are the union of windows and slots: overlapping or
//     touching intervals (a double lesson 08:00-08:45, 08:45-09:30) form one
//     occurrence, so Prosody gets one reservation lasting to 09:30 instead
//     of a room closed in the middle of the double lesson.
//   - Windows and occurrences are half-open: open from Start (inclusive)
//     until End (exclusive).
package schedule

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	// Timezone rules are compiled in so that a static binary on a host or
	// image without /usr/share/zoneinfo still knows Europe/Berlin; the
	// system database is preferred when present.
	_ "time/tzdata"
)

// Horizon bounds how far Next looks ahead and how long a range
// Occurrences returns: a room whose next slot is further away than this
// has, for all practical purposes, no next slot.
const Horizon = 2 * 366 * 24 * time.Hour

// MaxOpenEarly bounds OpenEarly; anything longer is a misunderstanding
// of the setting (it is a margin before a slot, not a second window).
const MaxOpenEarly = 24 * time.Hour

// Clock is a wall-clock time of day in minutes after midnight: 0 is
// "00:00", 1439 is "23:59", and 1440 ("24:00") is allowed only as the end
// of a slot.
type Clock int

// EndOfDay is "24:00", the latest possible slot end.
const EndOfDay Clock = 24 * 60

// String formats c as "HH:MM".
func (c Clock) String() string {
	return fmt.Sprintf("%02d:%02d", int(c)/60, int(c)%60)
}

// Slot is a weekly slot: every Day from Start to End, wall-clock time in
// the schedule's Location.
type Slot struct {
	Day        time.Weekday
	Start, End Clock
}

// String formats s the way ParseWeekly reads it, e.g. "mon 08:00-08:45".
func (s Slot) String() string {
	return fmt.Sprintf("%s %s-%s", dayName(s.Day), s.Start, s.End)
}

// Window is a one-off window between two instants.
type Window struct {
	Start, End time.Time
}

// String formats w as two RFC 3339 instants.
func (w Window) String() string {
	return w.Start.Format(time.RFC3339) + "/" + w.End.Format(time.RFC3339)
}

// Date is a calendar date without a time or zone; the zero Date means
// "not set".
type Date struct {
	Year  int
	Month time.Month
	Day   int
}

// IsZero reports whether d is unset.
func (d Date) IsZero() bool { return d == Date{} }

// String formats d as "2006-01-02", or "" when unset.
func (d Date) String() string {
	if d.IsZero() {
		return ""
	}
	return fmt.Sprintf("%04d-%02d-%02d", d.Year, int(d.Month), d.Day)
}

// At is the instant of the wall-clock time c on d in loc (24:00 is the
// end of the day), read the way weekly slots are: a time skipped by a
// daylight-saving change moves forward by the gap, a time that occurs twice
// is the first one (RFC 5545).
func (d Date) At(c Clock, loc *time.Location) time.Time { return resolve(loc, d, c) }

// key orders dates: a < b exactly when a.key() < b.key().
func (d Date) key() int { return d.Year*10000 + int(d.Month)*100 + d.Day }

// valid reports whether d names a real day (not 2026-02-30).
func (d Date) valid() bool {
	t := time.Date(d.Year, d.Month, d.Day, 12, 0, 0, 0, time.UTC)
	return t.Year() == d.Year && t.Month() == d.Month && t.Day() == d.Day
}

// dateOf is the calendar date of t in t's own location.
func dateOf(t time.Time) Date {
	y, m, d := t.Date()
	return Date{y, m, d}
}

// Schedule is when a room is open. The zero Schedule is Unrestricted.
type Schedule struct {
	// Location is the room's timezone; nil means UTC.
	Location *time.Location
	// Windows are one-off windows.
	Windows []Window
	// Weekly are the recurring slots.
	Weekly []Slot
	// ValidFrom and ValidUntil (inclusive, zero = open-ended) limit the
	// weekly slots to a term.
	ValidFrom, ValidUntil Date
	// OpenEarly lets organizers enter this long before an occurrence
	// starts (AtOrganizer).
	OpenEarly time.Duration
}

// Occurrence is one concrete period in which the room is open, with times
// in the schedule's Location.
type Occurrence struct {
	Start, End time.Time
}

// IsZero reports whether o is the zero Occurrence.
func (o Occurrence) IsZero() bool { return o.Start.IsZero() && o.End.IsZero() }

// Unrestricted reports whether the room is always open: no windows, no
// weekly slots.
func (s Schedule) Unrestricted() bool {
	return len(s.Windows) == 0 && len(s.Weekly) == 0
}

// Error is one problem in a schedule; Validate and Parse return one or
// several of them (joined with errors.Join, so errors.As finds the first).
type Error struct {
	// Field is the setting at fault: "timezone", "weekly", "windows",
	// "valid_from", "valid_until" or "open_early".
	Field string
	// Message names the bad piece and what to do about it.
	Message string
}

func (e *Error) Error() string { return e.Field + ": " + e.Message }

func problem(field, format string, args ...any) *Error {
	return &Error{Field: field, Message: fmt.Sprintf(format, args...)}
}

// Validate reports every problem in s, or nil.
func (s Schedule) Validate() error {
	var errs []error
	add := func(e *Error) { errs = append(errs, e) }

	for i, w := range s.Windows {
		switch {
		case w.Start.IsZero() || w.End.IsZero():
			add(problem("windows", "window %d has no start or no end", i+1))
		case !w.End.After(w.Start):
			add(problem("windows", "window %s: the end must be after the start", w))
		}
	}
	var good []Window
	for _, w := range s.Windows {
		if !w.Start.IsZero() && w.End.After(w.Start) {
			good = append(good, w)
		}
	}
	slices.SortFunc(good, func(a, b Window) int { return a.Start.Compare(b.Start) })
	// latest is the window reaching furthest so far: a later window
	// overlaps some earlier one exactly when it starts before latest ends.
	for i := 1; i < len(good); i++ {
		latest := good[0]
		for _, w := range good[1:i] {
			if w.End.After(latest.End) {
				latest = w
			}
		}
		if good[i].Start.Before(latest.End) {
			add(problem("windows", "window %s overlaps window %s", good[i], latest))
		}
	}

	for _, sl := range s.Weekly {
		if e := checkSlot(sl); e != nil {
			add(e)
		}
	}
	for day := time.Sunday; day <= time.Saturday; day++ {
		var onDay []Slot
		for _, sl := range s.Weekly {
			if sl.Day == day && checkSlot(sl) == nil {
				onDay = append(onDay, sl)
			}
		}
		slices.SortFunc(onDay, func(a, b Slot) int { return int(a.Start - b.Start) })
		for i := 1; i < len(onDay); i++ {
			latest := onDay[0]
			for _, sl := range onDay[1:i] {
				if sl.End > latest.End {
					latest = sl
				}
			}
			if onDay[i].Start < latest.End {
				add(problem("weekly", "slot %q overlaps slot %q", onDay[i].String(), latest.String()))
			}
		}
	}

	if !s.ValidFrom.IsZero() && !s.ValidFrom.valid() {
		add(problem("valid_from", "%s is not a date", s.ValidFrom))
	}
	if !s.ValidUntil.IsZero() && !s.ValidUntil.valid() {
		add(problem("valid_until", "%s is not a date", s.ValidUntil))
	}
	if !s.ValidFrom.IsZero() && !s.ValidUntil.IsZero() && s.ValidUntil.key() < s.ValidFrom.key() {
		add(problem("valid_until", "the term ends (%s) before it starts (%s)", s.ValidUntil, s.ValidFrom))
	}
	if (!s.ValidFrom.IsZero() || !s.ValidUntil.IsZero()) && len(s.Weekly) == 0 {
		add(problem("valid_from", "a term (valid_from/valid_until) limits weekly slots, but there are none; add weekly slots or remove the term"))
	}

	switch {
	case s.OpenEarly < 0:
		add(problem("open_early", "%s is negative", s.OpenEarly))
	case s.OpenEarly > MaxOpenEarly:
		add(problem("open_early", "%s is longer than %s", s.OpenEarly, MaxOpenEarly))
	}
	return errors.Join(errs...)
}

func checkSlot(sl Slot) *Error {
	switch {
	case sl.Day < time.Sunday || sl.Day > time.Saturday:
		return problem("weekly", "slot has an unknown day (%d)", int(sl.Day))
	case sl.Start < 0 || sl.Start >= EndOfDay:
		return problem("weekly", "slot on %s starts at %d minutes after midnight, outside 00:00-23:59", dayName(sl.Day), int(sl.Start))
	case sl.End <= 0 || sl.End > EndOfDay:
		return problem("weekly", "slot on %s ends at %d minutes after midnight, outside 00:01-24:00", dayName(sl.Day), int(sl.End))
	case sl.End == sl.Start:
		return problem("weekly", "slot %q: the end must be after the start", sl.String())
	case sl.End < sl.Start:
		next := (sl.Day + 1) % 7
		return problem("weekly", "slot %q crosses midnight, which slots cannot do; split it into \"%s %s-24:00,%s 00:00-%s\"",
			sl.String(), dayName(sl.Day), sl.Start, dayName(next), sl.End)
	}
	return nil
}

// FormatWeekly formats slots the way ParseWeekly reads them, in week order
// (Monday first), e.g. "mon 08:00-08:45,thu 10:00-10:45".
func FormatWeekly(slots []Slot) string {
	sorted := SortSlots(slots)
	parts := make([]string, len(sorted))
	for i, sl := range sorted {
		parts[i] = sl.String()
	}
	return strings.Join(parts, ",")
}

// SortSlots returns slots in week order, Monday first, then by start.
func SortSlots(slots []Slot) []Slot {
	sorted := slices.Clone(slots)
	slices.SortFunc(sorted, func(a, b Slot) int {
		if a.Day != b.Day {
			return WeekOrder(a.Day) - WeekOrder(b.Day)
		}
		return int(a.Start - b.Start)
	})
	return sorted
}

// WeekOrder is d's place in a week that starts on Monday (0) and ends on
// Sunday (6), as timetables are written.
func WeekOrder(d time.Weekday) int { return (int(d) + 6) % 7 }

var shortDays = [7]string{"sun", "mon", "tue", "wed", "thu", "fri", "sat"}

// DayName is the short English name of d that ParseDay reads ("mon").
func DayName(d time.Weekday) string { return dayName(d) }

func dayName(d time.Weekday) string {
	if d < time.Sunday || d > time.Saturday {
		return fmt.Sprintf("day(%d)", int(d))
	}
	return shortDays[d]
}
