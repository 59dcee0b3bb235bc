package schedule

import (
	"slices"
	"time"
)

func (s Schedule) loc() *time.Location {
	if s.Location == nil {
		return time.UTC
	}
	return s.Location
}

// At reports whether the room is open at t and, if so, the occurrence t
// falls in. An Unrestricted schedule is open at every t, with a zero
// Occurrence (there is no window to report).
func (s Schedule) At(t time.Time) (Occurrence, bool) {
	if s.Unrestricted() {
		return Occurrence{}, true
	}
	for _, o := range s.merged(t, t.Add(time.Nanosecond)) {
		if !t.Before(o.Start) && t.Before(o.End) {
			return o, true
		}
	}
	return Occurrence{}, false
}

// AtOrganizer is At for an organizer: the room also counts as open from
// OpenEarly before an occurrence. The occurrence returned is the one t
// falls in or the one about to start (then t is before its Start).
func (s Schedule) AtOrganizer(t time.Time) (Occurrence, bool) {
	if s.Unrestricted() {
		return Occurrence{}, true
	}
	early := max(s.OpenEarly, 0)
	for _, o := range s.merged(t, t.Add(early+time.Nanosecond)) {
		if !t.Before(o.Start.Add(-early)) && t.Before(o.End) {
			return o, true
		}
	}
	return Occurrence{}, false
}

// Next returns the first occurrence starting after t, looking at most
// Horizon ahead; false means there is none (no more slots, the term has
// ended, or the schedule is Unrestricted and has no occurrences at all).
func (s Schedule) Next(t time.Time) (Occurrence, bool) {
	if s.Unrestricted() {
		return Occurrence{}, false
	}
	const chunk = 8 * 24 * time.Hour
	limit := t.Add(Horizon)
	for from := t; from.Before(limit); from = from.Add(chunk) {
		if !s.anyFrom(from) {
			break
		}
		if jump := s.termStart(); jump.After(from) {
			// Nothing weekly before the term; windows before it are
			// still found because from only jumps when there is none.
			if !s.anyWindowBetween(from, jump) {
				from = jump
			}
		}
		to := from.Add(chunk)
		if to.After(limit) {
			to = limit
		}
		for _, o := range s.merged(from, to) {
			if o.Start.After(t) && o.Start.Before(limit) {
				return o, true
			}
		}
	}
	return Occurrence{}, false
}

// Occurrences returns the occurrences overlapping [from, to) in time
// order, each whole (the first may start before from, the last may end
// after to). A range longer than Horizon is cut at from+Horizon.
func (s Schedule) Occurrences(from, to time.Time) []Occurrence {
	if s.Unrestricted() || !to.After(from) {
		return nil
	}
	if to.Sub(from) > Horizon {
		to = from.Add(Horizon)
	}
	return s.merged(from, to)
}

// termStart is the first instant of the term in the room's zone, or the
// zero time without a ValidFrom.
func (s Schedule) termStart() time.Time {
	if s.ValidFrom.IsZero() {
		return time.Time{}
	}
	return resolve(s.loc(), s.ValidFrom, 0)
}

// anyFrom reports whether anything could still occur at or after t: a
// window ending after t, or weekly slots whose term has not ended.
func (s Schedule) anyFrom(t time.Time) bool {
	for _, w := range s.Windows {
		if w.End.After(t) {
			return true
		}
	}
	if len(s.Weekly) == 0 {
		return false
	}
	return s.ValidUntil.IsZero() || dateOf(t.In(s.loc())).key() <= s.ValidUntil.key()
}

func (s Schedule) anyWindowBetween(from, to time.Time) bool {
	for _, w := range s.Windows {
		if w.End.After(from) && w.Start.Before(to) {
			return true
		}
	}
	return false
}

// merged returns the occurrences (unions of touching or overlapping
// windows and slots) that overlap [from, to), each extended to its full
// length even where that reaches outside the range.
func (s Schedule) merged(from, to time.Time) []Occurrence {
	occ := merge(s.raw(from, to))
	if len(occ) == 0 {
		return nil
	}
	// Only the first and last can continue outside the range: anything
	// touching an inner one overlaps the range and is already merged.
	if !occ[0].Start.After(from) {
		occ[0] = s.extend(occ[0])
	}
	if last := len(occ) - 1; !occ[last].End.Before(to) {
		occ[last] = s.extend(occ[last])
	}
	return occ
}

// extend grows o by whatever touches or overlaps it just outside,
// looking further (doubling) while it keeps growing, at most Horizon
// either way: a schedule open around the clock does not loop forever.
func (s Schedule) extend(o Occurrence) Occurrence {
	orig := o
	for step := 25 * time.Hour; ; step *= 2 {
		around := append(s.raw(o.Start.Add(-step), o.End.Add(step)), o)
		var grown Occurrence
		for _, m := range merge(around) {
			if !m.Start.After(o.Start) && !m.End.Before(o.End) {
				grown = m
				break
			}
		}
		if grown.Start.Equal(o.Start) && grown.End.Equal(o.End) {
			return o
		}
		o = grown
		if orig.Start.Sub(o.Start) > Horizon || o.End.Sub(orig.End) > Horizon {
			return o
		}
	}
}

// merge sorts intervals and joins those that touch or overlap.
func merge(in []Occurrence) []Occurrence {
	if len(in) == 0 {
		return nil
	}
	slices.SortFunc(in, func(a, b Occurrence) int { return a.Start.Compare(b.Start) })
	out := in[:1]
	for _, o := range in[1:] {
		last := &out[len(out)-1]
		if !o.Start.After(last.End) {
			if o.End.After(last.End) {
				last.End = o.End
			}
			continue
		}
		out = append(out, o)
	}
	return out
}

// raw returns the windows and weekly slot occurrences (not merged) that
// overlap [from, to).
func (s Schedule) raw(from, to time.Time) []Occurrence {
	loc := s.loc()
	var out []Occurrence
	for _, w := range s.Windows {
		if w.End.After(from) && w.Start.Before(to) {
			out = append(out, Occurrence{Start: w.Start.In(loc), End: w.End.In(loc)})
		}
	}
	if len(s.Weekly) == 0 {
		return out
	}
	// A slot lies within its own local day, so the local dates of from
	// and to (one day of slack each way) cover every candidate.
	first, last := dateOf(from.In(loc)), dateOf(to.In(loc))
	if !s.ValidFrom.IsZero() && s.ValidFrom.key() > first.key() {
		first = s.ValidFrom
	}
	if !s.ValidUntil.IsZero() && s.ValidUntil.key() < last.key() {
		last = s.ValidUntil
	}
	// Noon UTC steps through calendar days without daylight-saving trouble.
	day := time.Date(first.Year, first.Month, first.Day-1, 12, 0, 0, 0, time.UTC)
	end := time.Date(last.Year, last.Month, last.Day+1, 12, 0, 0, 0, time.UTC)
	for ; !day.After(end); day = day.AddDate(0, 0, 1) {
		d := dateOf(day)
		if (!s.ValidFrom.IsZero() && d.key() < s.ValidFrom.key()) ||
			(!s.ValidUntil.IsZero() && d.key() > s.ValidUntil.key()) {
			continue
		}
		for _, sl := range s.Weekly {
			if sl.Day != day.Weekday() || sl.End <= sl.Start {
				continue
			}
			o := Occurrence{Start: resolve(loc, d, sl.Start), End: resolve(loc, d, sl.End)}
			if o.End.After(from) && o.Start.Before(to) && o.End.After(o.Start) {
				out = append(out, o)
			}
		}
	}
	return out
}

// resolve turns a local date and wall-clock time into an instant, the
// RFC 5545 way: a time skipped by a daylight-saving gap is read with the
// offset before the gap (it moves forward by the gap), a time that occurs
// twice means the first occurrence. time.Date leaves both cases
// unspecified (and in practice differs between zones east and west of
// UTC), so the result is checked and corrected here.
func resolve(loc *time.Location, d Date, c Clock) time.Time {
	t := time.Date(d.Year, d.Month, d.Day, 0, int(c), 0, 0, loc)
	// wall is the wanted wall clock as if it were UTC.
	wall := time.Date(d.Year, d.Month, d.Day, 0, int(c), 0, 0, time.UTC)
	got := wallOf(t)
	switch {
	case got.Equal(wall):
		// Exists; if it also exists in the zone period before (autumn),
		// take that earlier instant.
		start, _ := t.ZoneBounds()
		if start.IsZero() {
			return t
		}
		_, prevOffset := start.Add(-time.Second).Zone()
		earlier := wall.Add(-time.Duration(prevOffset) * time.Second).In(loc)
		if earlier.Before(start) && wallOf(earlier).Equal(wall) {
			return earlier
		}
		return t
	case got.After(wall):
		// In a gap, time.Date used the offset before it: already the
		// RFC 5545 instant.
		return t
	default:
		// In a gap, time.Date used the offset after it: move forward
		// to the instant read with the offset before the gap.
		_, end := t.ZoneBounds()
		_, before := t.Zone()
		_, after := end.Zone()
		return t.Add(time.Duration(after-before) * time.Second)
	}
}

// wallOf is t's wall clock in its own location, expressed in UTC so two
// wall clocks compare with Equal.
func wallOf(t time.Time) time.Time {
	y, m, d := t.Date()
	h, mi, sec := t.Clock()
	return time.Date(y, m, d, h, mi, sec, t.Nanosecond(), time.UTC)
}
