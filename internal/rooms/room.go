package rooms

import (
	"strings"
	"time"

	"github.com/jitsi-gate/jitsi-gate/internal/auth"
	"github.com/jitsi-gate/jitsi-gate/internal/policy"
	"github.com/jitsi-gate/jitsi-gate/internal/room"
	"github.com/jitsi-gate/jitsi-gate/internal/schedule"
	"github.com/jitsi-gate/jitsi-gate/internal/store"
)

// Room is a registered room as the gateway uses it: the stored record, its
// display name and its parsed schedule. Rooms returned by the Service
// (Lookup's above all, which are shared through the cache) are read-only:
// copy a slice before changing it.
type Room struct {
	store.Room
	// Display is the room name as Jitsi shows it and rules match it
	// (room.Name.Display, e.g. "mathe-übung"); Name is the backend-safe
	// form ("mathe-%c3%bcbung").
	Display string
	// Schedule is when the room is open, in the room's timezone; the zero
	// Schedule (no windows, no weekly slots) is always open.
	Schedule schedule.Schedule

	organizers, participants entries
}

// Role is what a user is in a room.
type Role string

const (
	// RoleOrganizer: listed under organizers, by username or group.
	RoleOrganizer Role = "organizer"
	// RoleParticipant: listed under participants (and not an organizer).
	RoleParticipant Role = "participant"
	// RoleNone: listed in neither. Whether such a user may join is the
	// rules' business (an empty participants list means: whoever the
	// rules let in).
	RoleNone Role = "none"
)

// RoleOf returns what id is in the room: organizer wins over participant.
// Usernames compare in their folded form (auth.FoldUsername, as the
// rules' match.users do); a "BACKEND:username" entry matches only
// identities from that backend; "group:NAME" matches a group of the
// user's, ignoring case.
func (r *Room) RoleOf(id auth.Identity) Role {
	if r.organizers.empty() && r.participants.empty() {
		return RoleNone
	}
	folded := auth.FoldUsername(id.Username)
	backend := strings.ToLower(id.Backend)
	switch {
	case r.organizers.match(folded, backend, id.Groups):
		return RoleOrganizer
	case r.participants.match(folded, backend, id.Groups):
		return RoleParticipant
	}
	return RoleNone
}

// Availability says whether a room is open at an instant.
type Availability struct {
	// Open: a token may be issued now.
	Open bool
	// Unrestricted: the room has no windows or slots; it is always open.
	Unrestricted bool
	// Current is the occurrence that makes the room open (zero when
	// Unrestricted). For an organizer inside open_early it starts after
	// the instant asked about.
	Current schedule.Occurrence
	// Next is the next occurrence when the room is closed (HasNext false:
	// there is none; the term is over or every window has passed).
	Next    schedule.Occurrence
	HasNext bool
	// OpensAt is when the user asked about may enter for Next: its start,
	// or open_early before it for an organizer.
	OpensAt time.Time
}

// OpenFor tells whether the room is open at t for an organizer
// (organizer true: from open_early before an occurrence) or for anyone
// else, and otherwise when it opens next (for "Mathe 7b opens Monday
// 08:00"). Times are in the room's timezone.
func (r *Room) OpenFor(t time.Time, organizer bool) Availability {
	s := r.Schedule
	if s.Unrestricted() {
		return Availability{Open: true, Unrestricted: true}
	}
	var occ schedule.Occurrence
	var open bool
	if organizer {
		occ, open = s.AtOrganizer(t)
	} else {
		occ, open = s.At(t)
	}
	if open {
		return Availability{Open: true, Current: occ}
	}
	next, ok := s.Next(t)
	a := Availability{Next: next, HasNext: ok}
	if ok {
		a.OpensAt = next.Start
		if organizer {
			a.OpensAt = next.Start.Add(-s.OpenEarly)
		}
	}
	return a
}

// Spec returns the room in the form Create and Update take: the CLI's
// update starts from it, the API returns it. Lists are never nil, so JSON
// shows [] rather than null.
func (r *Room) Spec() Spec {
	loc := r.Schedule.Location
	if loc == nil {
		loc = time.UTC
	}
	sp := Spec{
		Name:         r.Display,
		Tenant:       r.Tenant,
		Title:        r.Title,
		Organizers:   append([]string{}, r.Organizers...),
		Participants: append([]string{}, r.Participants...),
		Lobby:        r.Lobby,
		Password:     r.Password,
		MaxOccupants: r.MaxOccupants,
		Windows:      []WindowSpec{},
		Weekly:       []SlotSpec{},
		Timezone:     r.Timezone,
		ValidFrom:    r.ValidFrom,
		ValidUntil:   r.ValidUntil,
		OpenEarly:    formatDuration(r.OpenEarly),
	}
	for _, w := range r.Windows {
		sp.Windows = append(sp.Windows, WindowSpec{
			Start: w.Start.In(loc).Format(time.RFC3339), End: w.End.In(loc).Format(time.RFC3339)})
	}
	for _, sl := range schedule.SortSlots(r.Schedule.Weekly) {
		sp.Weekly = append(sp.Weekly, SlotSpec{Day: schedule.DayName(sl.Day), Start: sl.Start.String(), End: sl.End.String()})
	}
	return sp
}

// Resource is a room as the JSON API returns it: the Spec plus what the
// gateway assigned. Password is included: callers that show the room to
// someone who is not an organizer must clear it.
type Resource struct {
	ID string `json:"id"`
	// Room is the backend-safe name, the /join path segment.
	Room string `json:"room"`
	// URL is the join link.
	URL string `json:"url"`
	Spec
	Version   int64     `json:"version"`
	CreatedBy string    `json:"created_by"`
	CreatedAt time.Time `json:"created_at"`
	UpdatedAt time.Time `json:"updated_at"`
}

// entries is an organizers or participants list prepared for RoleOf.
type entries struct {
	// groups holds lower-cased group names.
	groups map[string]bool
	// users maps a folded username to its backend scopes ("" = any).
	users map[string][]string
}

func newEntries(list []string) entries {
	var e entries
	for _, entry := range list {
		if len(entry) >= len(groupPrefix) && strings.EqualFold(entry[:len(groupPrefix)], groupPrefix) {
			if e.groups == nil {
				e.groups = map[string]bool{}
			}
			e.groups[strings.ToLower(strings.TrimSpace(entry[len(groupPrefix):]))] = true
			continue
		}
		backend, user := policy.SplitUser(entry) // as the rules read match.users
		if e.users == nil {
			e.users = map[string][]string{}
		}
		key := auth.FoldUsername(user)
		e.users[key] = append(e.users[key], backend)
	}
	return e
}

func (e entries) empty() bool { return len(e.groups) == 0 && len(e.users) == 0 }

func (e entries) match(foldedUser, backend string, groups []string) bool {
	if foldedUser != "" {
		for _, scope := range e.users[foldedUser] {
			if scope == "" || scope == backend {
				return true
			}
		}
	}
	if len(e.groups) > 0 {
		for _, g := range groups {
			if e.groups[strings.ToLower(g)] {
				return true
			}
		}
	}
	return false
}

// newRoom builds the view of a stored record; loc is its timezone.
func newRoom(rec store.Room, loc *time.Location) *Room {
	r := &Room{Room: rec, Display: rec.Name}
	if n, err := room.Parse(rec.Name); err == nil {
		r.Display = n.Display
	}
	sched := schedule.Schedule{Location: loc, OpenEarly: rec.OpenEarly}
	for _, w := range rec.Windows {
		sched.Windows = append(sched.Windows, schedule.Window{Start: w.Start.In(loc), End: w.End.In(loc)})
	}
	for _, sl := range rec.Weekly {
		sched.Weekly = append(sched.Weekly, schedule.Slot{Day: sl.Day, Start: schedule.Clock(sl.Start), End: schedule.Clock(sl.End)})
	}
	if rec.ValidFrom != "" {
		sched.ValidFrom, _ = schedule.ParseDate(rec.ValidFrom) // the store checked the format
	}
	if rec.ValidUntil != "" {
		sched.ValidUntil, _ = schedule.ParseDate(rec.ValidUntil)
	}
	r.Schedule = sched
	r.organizers = newEntries(rec.Organizers)
	r.participants = newEntries(rec.Participants)
	return r
}
