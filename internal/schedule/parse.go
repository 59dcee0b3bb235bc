package schedule

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// days maps every accepted day name (lower case) to its weekday.
var days = map[string]time.Weekday{
	"mon": time.Monday, "monday": time.Monday,
	"tue": time.Tuesday, "tuesday": time.Tuesday,
	"wed": time.Wednesday, "wednesday": time.Wednesday,
	"thu": time.Thursday, "thursday": time.Thursday,
	"fri": time.Friday, "friday": time.Friday,
	"sat": time.Saturday, "saturday": time.Saturday,
	"sun": time.Sunday, "sunday": time.Sunday,
}

// ParseDay reads a day name: mon..sun or monday..sunday, any case.
func ParseDay(s string) (time.Weekday, error) {
	d, ok := days[strings.ToLower(strings.TrimSpace(s))]
	if !ok {
		return 0, fmt.Errorf("unknown day %q (use mon, tue, wed, thu, fri, sat, sun or the full English name)", s)
	}
	return d, nil
}

// ParseClock reads a 24-hour time of day, "8:00" or "08:00"; "24:00" is
// accepted (as the end of a day), seconds are not.
func ParseClock(s string) (Clock, error) {
	bad := func() (Clock, error) {
		return 0, fmt.Errorf("invalid time %q (use 24-hour HH:MM, e.g. 08:00 or 13:45)", s)
	}
	h, m, ok := strings.Cut(strings.TrimSpace(s), ":")
	if !ok || len(h) < 1 || len(h) > 2 || len(m) != 2 || !digits(h) || !digits(m) {
		return bad()
	}
	hours, _ := strconv.Atoi(h)
	minutes, _ := strconv.Atoi(m)
	if hours > 24 || minutes > 59 || (hours == 24 && minutes != 0) {
		return bad()
	}
	return Clock(hours*60 + minutes), nil
}

func digits(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

// ParseSlot reads one weekly slot, e.g. "mon 08:00-08:45" or
// "Thursday 10:00 - 10:45". It checks the slot itself (end after start, no
// crossing midnight); overlaps between slots are Validate's job.
func ParseSlot(s string) (Slot, error) {
	fields := strings.Fields(s)
	if len(fields) < 2 {
		return Slot{}, fmt.Errorf("slot %q: want a day and a time range, e.g. \"mon 08:00-08:45\"", s)
	}
	day, err := ParseDay(fields[0])
	if err != nil {
		return Slot{}, fmt.Errorf("slot %q: %w", s, err)
	}
	from, to, ok := strings.Cut(strings.Join(fields[1:], ""), "-")
	if !ok {
		return Slot{}, fmt.Errorf("slot %q: want a time range with '-', e.g. \"08:00-08:45\"", s)
	}
	start, err := ParseClock(from)
	if err != nil {
		return Slot{}, fmt.Errorf("slot %q: start: %w", s, err)
	}
	end, err := ParseClock(to)
	if err != nil {
		return Slot{}, fmt.Errorf("slot %q: end: %w", s, err)
	}
	if start == EndOfDay {
		return Slot{}, fmt.Errorf("slot %q: a slot cannot start at 24:00; use 00:00 of the next day", s)
	}
	sl := Slot{Day: day, Start: start, End: end}
	if e := checkSlot(sl); e != nil {
		return Slot{}, errors.New(e.Message)
	}
	return sl, nil
}

// ParseWeekly reads the CLI/API form of weekly slots: comma-separated
// slots, e.g. "mon 08:00-08:45,thu 10:00-10:45". An empty (or all-blank)
// spec means no weekly slots. Every bad slot is reported, with its position.
func ParseWeekly(spec string) ([]Slot, error) {
	if strings.TrimSpace(spec) == "" {
		return nil, nil
	}
	items := strings.Split(spec, ",")
	slots := make([]Slot, 0, len(items))
	var errs []error
	for i, item := range items {
		if strings.TrimSpace(item) == "" {
			errs = append(errs, problem("weekly", "slot %d is empty (a doubled or trailing comma?)", i+1))
			continue
		}
		sl, err := ParseSlot(item)
		if err != nil {
			errs = append(errs, problem("weekly", "slot %d: %v", i+1, err))
			continue
		}
		slots = append(slots, sl)
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	return slots, nil
}

// ParseDate reads a date "2006-01-02".
func ParseDate(s string) (Date, error) {
	t, err := time.Parse(time.DateOnly, strings.TrimSpace(s))
	if err != nil {
		return Date{}, fmt.Errorf("invalid date %q (use YYYY-MM-DD, e.g. 2026-09-01)", s)
	}
	return dateOf(t), nil
}

// ParseInstant reads an RFC 3339 instant with an explicit offset, e.g.
// "2026-09-01T08:00:00+02:00" or "2026-09-01T06:00:00Z".
func ParseInstant(s string) (time.Time, error) {
	t, err := time.Parse(time.RFC3339, strings.TrimSpace(s))
	if err != nil {
		return time.Time{}, fmt.Errorf("invalid time %q (use RFC 3339 with an offset, e.g. 2026-09-01T08:00:00+02:00)", s)
	}
	return t, nil
}

// ParseWindow reads a one-off window from two RFC 3339 instants.
func ParseWindow(start, end string) (Window, error) {
	s, err := ParseInstant(start)
	if err != nil {
		return Window{}, fmt.Errorf("window start: %w", err)
	}
	e, err := ParseInstant(end)
	if err != nil {
		return Window{}, fmt.Errorf("window end: %w", err)
	}
	if !e.After(s) {
		return Window{}, fmt.Errorf("window %s to %s: the end must be after the start", start, end)
	}
	return Window{Start: s, End: e}, nil
}

// LoadLocation loads an IANA timezone such as "Europe/Berlin". "Local" and
// "" are refused: a room's schedule must not depend on the server's own
// zone setting.
func LoadLocation(name string) (*time.Location, error) {
	switch strings.TrimSpace(name) {
	case "":
		return nil, errors.New("no timezone given (use an IANA name such as Europe/Berlin)")
	case "Local":
		return nil, errors.New(`timezone "Local" depends on the server's settings; use an IANA name such as Europe/Berlin`)
	}
	loc, err := time.LoadLocation(name)
	if err != nil {
		return nil, fmt.Errorf("unknown timezone %q (use an IANA name such as Europe/Berlin)", name)
	}
	return loc, nil
}

// Spec is a schedule in the textual form of the CLI, the CSV import and
// the API; Parse turns it into a validated Schedule.
type Spec struct {
	// Timezone is an IANA name; required when Weekly, ValidFrom or
	// ValidUntil is set (callers fill in the configured default).
	Timezone string
	// Windows are one-off windows as RFC 3339 start/end pairs.
	Windows []WindowSpec
	// Weekly is e.g. "mon 08:00-08:45,thu 10:00-10:45".
	Weekly string
	// ValidFrom and ValidUntil are "2006-01-02" dates or "".
	ValidFrom, ValidUntil string
	// OpenEarly is the organizers' margin before an occurrence.
	OpenEarly time.Duration
}

// WindowSpec is one one-off window in textual form.
type WindowSpec struct {
	Start, End string
}

// Parse reads and validates spec, reporting every problem at once (each an
// *Error), so an admin fixes a CSV line in one go.
func Parse(spec Spec) (Schedule, error) {
	var errs []error
	s := Schedule{OpenEarly: spec.OpenEarly}
	if spec.Timezone == "" && strings.TrimSpace(spec.Weekly) == "" && spec.ValidFrom == "" && spec.ValidUntil == "" {
		s.Location = time.UTC // only absolute windows: the zone does not matter
	} else if loc, err := LoadLocation(spec.Timezone); err != nil {
		errs = append(errs, &Error{Field: "timezone", Message: err.Error()})
	} else {
		s.Location = loc
	}
	for i, w := range spec.Windows {
		win, err := ParseWindow(w.Start, w.End)
		if err != nil {
			errs = append(errs, problem("windows", "window %d: %v", i+1, err))
			continue
		}
		s.Windows = append(s.Windows, win)
	}
	slots, err := ParseWeekly(spec.Weekly)
	if err != nil {
		errs = append(errs, err)
	}
	s.Weekly = slots
	if spec.ValidFrom != "" {
		if s.ValidFrom, err = ParseDate(spec.ValidFrom); err != nil {
			errs = append(errs, &Error{Field: "valid_from", Message: err.Error()})
		}
	}
	if spec.ValidUntil != "" {
		if s.ValidUntil, err = ParseDate(spec.ValidUntil); err != nil {
			errs = append(errs, &Error{Field: "valid_until", Message: err.Error()})
		}
	}
	if len(errs) > 0 {
		return Schedule{}, errors.Join(errs...)
	}
	if err := s.Validate(); err != nil {
		return Schedule{}, err
	}
	return s, nil
}
