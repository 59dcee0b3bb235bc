package rooms

import (
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/jitsi-gate/jitsi-gate/internal/auth"
	"github.com/jitsi-gate/jitsi-gate/internal/policy"
	"github.com/jitsi-gate/jitsi-gate/internal/room"
	"github.com/jitsi-gate/jitsi-gate/internal/schedule"
	"github.com/jitsi-gate/jitsi-gate/internal/store"
)

// Spec is a room as people write it: the CLI flags, the JSON API body and
// (one room from several lines) the CSV import all become a Spec. Empty
// fields take the defaults noted on them.
type Spec struct {
	// Name is the room name as typed ("Mathe 7b"); it must be a valid
	// Jitsi room (room.Parse). The stored name is its backend-safe form
	// ("mathe7b"), unique within the tenant.
	Name string `json:"name"`
	// Tenant is the Jitsi tenant; "" means Options.DefaultTenant.
	Tenant string `json:"tenant"`
	// Title is the name shown to people; "" means Name as typed.
	Title string `json:"title"`
	// Organizers and Participants are usernames, "BACKEND:username"
	// (limited to one backend) and "group:NAME" entries.
	Organizers   []string `json:"organizers"`
	Participants []string `json:"participants"`
	Lobby        bool     `json:"lobby"`
	// Password is handed to Prosody; never logged.
	Password string `json:"password"`
	// MaxOccupants: 0 means no limit.
	MaxOccupants int `json:"max_occupants"`
	// Windows are one-off openings (RFC 3339 instants with an offset).
	Windows []WindowSpec `json:"windows"`
	// Weekly are recurring slots in Timezone.
	Weekly []SlotSpec `json:"weekly"`
	// Timezone is an IANA name; "" means Options.Timezone.
	Timezone string `json:"timezone"`
	// ValidFrom and ValidUntil ("2006-01-02", inclusive) limit the weekly
	// slots to a term.
	ValidFrom  string `json:"valid_from"`
	ValidUntil string `json:"valid_until"`
	// OpenEarly is a Go duration ("10m"); "" means Options.OpenEarly.
	OpenEarly string `json:"open_early"`
}

// WindowSpec is a one-off opening, e.g. {"start": "2026-09-14T08:00:00+02:00",
// "end": "2026-09-14T09:30:00+02:00"}.
type WindowSpec struct {
	Start string `json:"start"`
	End   string `json:"end"`
}

// SlotSpec is a weekly slot, e.g. {"day": "mon", "start": "08:00", "end": "08:45"}.
type SlotSpec struct {
	Day   string `json:"day"`
	Start string `json:"start"`
	End   string `json:"end"`
}

// String formats the slot as schedule.ParseWeekly reads it.
func (s SlotSpec) String() string { return s.Day + " " + s.Start + "-" + s.End }

// FieldError is one problem with one field of a Spec. Field is the JSON
// name ("name", "weekly", "valid_until", ...).
type FieldError struct {
	Field   string
	Message string
}

func (e *FieldError) Error() string { return e.Field + ": " + e.Message }

// ErrInvalid matches every *ValidationError (errors.Is).
var ErrInvalid = errors.New("invalid room")

// ValidationError lists every problem of a Spec at once.
type ValidationError struct {
	Errors []*FieldError
}

func (e *ValidationError) Error() string {
	parts := make([]string, len(e.Errors))
	for i, fe := range e.Errors {
		parts[i] = fe.Error()
	}
	return strings.Join(parts, "; ")
}

// Is makes errors.Is(err, ErrInvalid) true.
func (e *ValidationError) Is(target error) bool { return target == ErrInvalid }

// Limits on free text, so that a room cannot carry a novel.
const (
	maxTitleRunes    = 200
	maxEntries       = 500
	maxEntryBytes    = 256
	maxPasswordBytes = 128
	maxSlots         = 100
	maxWindows       = 500
)

// groupPrefix marks a group entry in Organizers and Participants.
const groupPrefix = "group:"

// normalized is a checked Spec: the store record and its schedule.
type normalized struct {
	rec      store.Room
	schedule schedule.Schedule
}

// normalize checks spec against every rule and returns the record to
// store, or a *ValidationError listing every problem.
func (s *Service) normalize(spec Spec) (normalized, error) {
	var errs []*FieldError
	bad := func(field, format string, args ...any) {
		errs = append(errs, &FieldError{Field: field, Message: fmt.Sprintf(format, args...)})
	}
	var rec store.Room

	typed := strings.TrimSpace(spec.Name)
	if typed == "" {
		bad("name", "is required")
	} else if n, err := room.Parse(typed); err != nil {
		bad("name", "%q is not a valid room name: %v", typed, err)
	} else {
		rec.Name = n.Safe
	}

	tenant := strings.TrimSpace(spec.Tenant)
	if tenant == "" {
		tenant = s.opts.DefaultTenant
	}
	if tenant != "" {
		t, err := room.ParseTenant(tenant)
		switch {
		case err != nil:
			bad("tenant", "%q: %v", tenant, err)
		case len(s.opts.Tenants) > 0 && !slices.Contains(s.opts.Tenants, t):
			bad("tenant", "%q is not one of the tenants of this gateway (%s)", t, strings.Join(s.opts.Tenants, ", "))
		default:
			rec.Tenant = t
		}
	}

	rec.Title = strings.TrimSpace(spec.Title)
	if rec.Title == "" {
		rec.Title = typed
	}
	switch {
	case strings.ContainsFunc(rec.Title, unicode.IsControl):
		bad("title", "contains a control character")
	case utf8.RuneCountInString(rec.Title) > maxTitleRunes:
		bad("title", "is longer than %d characters", maxTitleRunes)
	case !utf8.ValidString(rec.Title):
		bad("title", "is not valid UTF-8")
	}

	var fe []*FieldError
	rec.Organizers, fe = s.normalizeEntries("organizers", spec.Organizers)
	errs = append(errs, fe...)
	rec.Participants, fe = s.normalizeEntries("participants", spec.Participants)
	errs = append(errs, fe...)

	rec.Lobby = spec.Lobby
	rec.Password = spec.Password
	switch {
	case len(spec.Password) > maxPasswordBytes:
		bad("password", "is longer than %d bytes", maxPasswordBytes)
	case strings.ContainsFunc(spec.Password, unicode.IsControl) || !utf8.ValidString(spec.Password):
		bad("password", "contains a control character or invalid UTF-8")
	case spec.Password != strings.TrimSpace(spec.Password):
		bad("password", "starts or ends with a space (hard to type, easy to get wrong)")
	}
	if spec.MaxOccupants < 0 {
		bad("max_occupants", "%d is negative (0 means no limit)", spec.MaxOccupants)
	}
	rec.MaxOccupants = spec.MaxOccupants

	sched, schedErrs := s.parseSchedule(spec)
	errs = append(errs, schedErrs...)
	if len(errs) > 0 {
		return normalized{}, &ValidationError{Errors: errs}
	}
	// A canonical order: the same room written twice (a CSV export read
	// back, slots given in another order) is the same record.
	sched.Weekly = schedule.SortSlots(sched.Weekly)
	slices.SortStableFunc(sched.Windows, func(a, b schedule.Window) int { return a.Start.Compare(b.Start) })
	rec.Timezone = sched.Location.String()
	for _, w := range sched.Windows {
		rec.Windows = append(rec.Windows, store.Window{Start: w.Start.UTC(), End: w.End.UTC()})
	}
	for _, sl := range sched.Weekly {
		rec.Weekly = append(rec.Weekly, store.WeeklySlot{Day: sl.Day, Start: int(sl.Start), End: int(sl.End)})
	}
	rec.ValidFrom, rec.ValidUntil = sched.ValidFrom.String(), sched.ValidUntil.String()
	rec.OpenEarly = sched.OpenEarly
	return normalized{rec: rec, schedule: sched}, nil
}

// parseSchedule reads the time fields of spec (every problem at once).
func (s *Service) parseSchedule(spec Spec) (schedule.Schedule, []*FieldError) {
	var errs []*FieldError
	bad := func(field, format string, args ...any) {
		errs = append(errs, &FieldError{Field: field, Message: fmt.Sprintf(format, args...)})
	}
	sched := schedule.Schedule{}

	tz := strings.TrimSpace(spec.Timezone)
	if tz == "" {
		tz = s.opts.Timezone
	}
	loc, err := s.location(tz)
	if err != nil {
		bad("timezone", "%v", err)
		loc = time.UTC // keep checking the rest
	}
	sched.Location = loc

	if len(spec.Windows) > maxWindows {
		bad("windows", "more than %d windows", maxWindows)
	}
	for i, w := range spec.Windows {
		win, err := schedule.ParseWindow(w.Start, w.End)
		if err != nil {
			bad("windows", "window %d: %v", i+1, err)
			continue
		}
		if win.Start.Second() != 0 || win.Start.Nanosecond() != 0 || win.End.Second() != 0 || win.End.Nanosecond() != 0 {
			bad("windows", "window %d: times are whole minutes (no seconds)", i+1)
			continue
		}
		sched.Windows = append(sched.Windows, schedule.Window{Start: win.Start.In(loc), End: win.End.In(loc)})
	}

	if len(spec.Weekly) > maxSlots {
		bad("weekly", "more than %d weekly slots", maxSlots)
	}
	for i, sl := range spec.Weekly {
		parsed, err := parseSlot(sl)
		if err != nil {
			bad("weekly", "slot %d: %v", i+1, err)
			continue
		}
		sched.Weekly = append(sched.Weekly, parsed)
	}

	if v := strings.TrimSpace(spec.ValidFrom); v != "" {
		if sched.ValidFrom, err = schedule.ParseDate(v); err != nil {
			bad("valid_from", "%v", err)
		}
	}
	if v := strings.TrimSpace(spec.ValidUntil); v != "" {
		if sched.ValidUntil, err = schedule.ParseDate(v); err != nil {
			bad("valid_until", "%v", err)
		}
	}

	sched.OpenEarly = s.opts.OpenEarly
	if v := strings.TrimSpace(spec.OpenEarly); v != "" {
		d, err := parseDuration(v)
		if err != nil {
			bad("open_early", "%v", err)
		} else {
			sched.OpenEarly = d
		}
	}
	if len(errs) > 0 {
		return schedule.Schedule{}, errs
	}
	if err := sched.Validate(); err != nil {
		for _, e := range flatten(err) {
			var se *schedule.Error
			if errors.As(e, &se) {
				bad(se.Field, "%s", se.Message)
			} else {
				bad("weekly", "%v", e)
			}
		}
		return schedule.Schedule{}, errs
	}
	return sched, nil
}

// parseSlot reads one SlotSpec with the schedule package's rules.
func parseSlot(sl SlotSpec) (schedule.Slot, error) {
	if _, err := schedule.ParseDay(sl.Day); err != nil {
		return schedule.Slot{}, err
	}
	start, err := schedule.ParseClock(sl.Start)
	if err != nil {
		return schedule.Slot{}, fmt.Errorf("start: %w", err)
	}
	end, err := schedule.ParseClock(sl.End)
	if err != nil {
		return schedule.Slot{}, fmt.Errorf("end: %w", err)
	}
	// ParseSlot checks the slot itself (end after start, no midnight
	// crossing) with the schedule package's messages.
	return schedule.ParseSlot(fmt.Sprintf("%s %s-%s", strings.TrimSpace(sl.Day), start, end))
}

// parseDuration reads a Go duration ("10m", "1h30m") or whole minutes
// ("10"), as spreadsheets tend to hold.
func parseDuration(v string) (time.Duration, error) {
	if n, err := strconv.Atoi(v); err == nil {
		return time.Duration(n) * time.Minute, nil
	}
	d, err := time.ParseDuration(v)
	if err != nil {
		return 0, fmt.Errorf("%q is not a duration (e.g. 10m, 1h30m, or minutes: 10)", v)
	}
	return d, nil
}

// formatDuration writes d the short way people write it: "10m", "2h",
// "1h30m".
func formatDuration(d time.Duration) string {
	switch {
	case d == 0:
		return "0m"
	case d%time.Hour == 0:
		return strconv.FormatInt(int64(d/time.Hour), 10) + "h"
	case d%time.Minute == 0 && d > time.Hour:
		return strconv.FormatInt(int64(d/time.Hour), 10) + "h" + strconv.FormatInt(int64(d%time.Hour/time.Minute), 10) + "m"
	case d%time.Minute == 0:
		return strconv.FormatInt(int64(d/time.Minute), 10) + "m"
	}
	return d.String()
}

// flatten returns the errors joined in err (errors.Join), or err alone.
func flatten(err error) []error {
	if j, ok := err.(interface{ Unwrap() []error }); ok {
		var out []error
		for _, e := range j.Unwrap() {
			out = append(out, flatten(e)...)
		}
		return out
	}
	return []error{err}
}

// normalizeEntries checks and tidies an organizers or participants list:
// entries trimmed, "group:" written in lower case, duplicates (the same
// group ignoring case, the same folded username and scope) dropped.
func (s *Service) normalizeEntries(field string, list []string) ([]string, []*FieldError) {
	var errs []*FieldError
	bad := func(format string, args ...any) {
		errs = append(errs, &FieldError{Field: field, Message: fmt.Sprintf(format, args...)})
	}
	if len(list) > maxEntries {
		bad("more than %d entries", maxEntries)
		return nil, errs
	}
	var out []string
	seen := map[string]bool{}
	for i, raw := range list {
		entry := strings.TrimSpace(raw)
		switch {
		case entry == "":
			bad("entry %d is empty", i+1)
			continue
		case len(entry) > maxEntryBytes:
			bad("entry %d is longer than %d bytes", i+1, maxEntryBytes)
			continue
		case strings.ContainsFunc(entry, unicode.IsControl) || !utf8.ValidString(entry):
			bad("entry %q contains a control character or invalid UTF-8", entry)
			continue
		}
		var key string
		if len(entry) >= len(groupPrefix) && strings.EqualFold(entry[:len(groupPrefix)], groupPrefix) {
			name := strings.TrimSpace(entry[len(groupPrefix):])
			if name == "" {
				bad("entry %q names no group (write group:NAME)", entry)
				continue
			}
			entry = groupPrefix + name
			key = groupPrefix + strings.ToLower(name)
		} else {
			backend, user := policy.SplitUser(entry)
			switch {
			case strings.Contains(entry, ":") && (backend == "" || strings.TrimSpace(user) == ""):
				bad("entry %q: write a username, BACKEND:username, or group:NAME", entry)
				continue
			case strings.ContainsFunc(user, unicode.IsSpace):
				bad("entry %q: a username has no spaces (for a group write group:NAME)", entry)
				continue
			case backend != "" && len(s.opts.Backends) > 0 && !slices.Contains(s.opts.Backends, backend):
				bad("entry %q is limited to backend %q, but there is no backend with that id (known: %s)",
					entry, backend, strings.Join(s.opts.Backends, ", "))
				continue
			}
			if backend != "" {
				entry = backend + ":" + strings.TrimSpace(user)
			}
			key = backend + ":" + auth.FoldUsername(user)
		}
		if seen[key] {
			continue
		}
		seen[key] = true
		out = append(out, entry)
	}
	return out, errs
}
