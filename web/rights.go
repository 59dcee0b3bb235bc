package web

import (
	"errors"
	"net/http"
	"slices"
	"strings"

	"github.com/jitsi-gate/jitsi-gate/internal/auth"
	"github.com/jitsi-gate/jitsi-gate/internal/policy"
	"github.com/jitsi-gate/jitsi-gate/internal/rooms"
)

// The rights on registered rooms, shared by the JSON API (handle_api.go)
// and the room pages (handle_rooms.go), so that a page never allows what
// the API refuses or the other way round.

// caller is who asks to see or change rooms and what they may do.
type caller struct {
	// who names the caller in the audit log and as a room's creator:
	// "BACKEND:username" for a login, "api:NAME" for a token.
	who string
	// via is "session", "page" or "token".
	via string
	// identity is the login; nil for a token.
	identity     *auth.Identity
	admin        bool
	manage       bool
	rightsSource string // the rule (or token) that granted the rights, for the log
}

// sessionCaller is a signed-in user with the rights the rules give them.
func sessionCaller(pol *policy.Policy, id auth.Identity, via string) caller {
	rights := pol.Rights(id)
	source := rights.AdminRule
	if source == "" {
		source = rights.ManageRule
	}
	return caller{who: id.Backend + ":" + id.Username, via: via, identity: &id,
		admin: rights.Admin, manage: rights.ManageRooms, rightsSource: source}
}

// roleOf is the caller's relation to rm; tokens have none.
func (c caller) roleOf(rm *rooms.Room) rooms.Role {
	if c.identity == nil {
		return rooms.RoleNone
	}
	return rm.RoleOf(*c.identity)
}

func (c caller) canSee(rm *rooms.Room) bool {
	return c.admin || c.roleOf(rm) != rooms.RoleNone
}

func (c caller) canEdit(rm *rooms.Room) bool {
	return c.admin || (c.manage && c.roleOf(rm) == rooms.RoleOrganizer)
}

// roomFor loads room id for a page of c and answers itself when there is
// none to show: a room c may not see is the same 404 as one that does not
// exist, so a page never confirms a room to those outside it; a store
// failure is 503.
func (s *site) roomFor(w http.ResponseWriter, r *http.Request, registry *rooms.Service, c caller, id string) (*rooms.Room, bool) {
	rm, err := registry.Get(r.Context(), id)
	if err == nil && !c.canSee(rm) {
		err = rooms.ErrNotFound
	}
	switch {
	case errors.Is(err, rooms.ErrNotFound):
		s.fail(w, r, http.StatusNotFound, "", "rooms.not_found")
		return nil, false
	case err != nil:
		s.storeUnavailable(w, r, "", "room registry unavailable", err, "method", r.Method, "path", r.URL.Path)
		return nil, false
	}
	return rm, true
}

// errNoUsername: a login without a username cannot be named among a
// room's organizers.
const errNoUsername = "your login has no username, so you cannot organize rooms; ask an admin"

// keepOrganizer adds a non-admin writer to the organizers unless the list
// names them already, so that nobody locks themselves out of a room they
// write. Admins and tokens write rooms for others and are left out. It
// returns false when the writer cannot be named (no username).
func keepOrganizer(c caller, spec *rooms.Spec) bool {
	if c.admin || c.identity == nil {
		return true
	}
	id := c.identity
	if strings.TrimSpace(id.Username) == "" {
		return false
	}
	if namesUser(spec.Organizers, *id) {
		return true
	}
	spec.Organizers = append(slices.Clone(spec.Organizers), selfEntry(*id))
	return true
}

// selfEntry is the organizers entry that names id: BACKEND:username.
func selfEntry(id auth.Identity) string { return id.Backend + ":" + id.Username }

// namesUser reports whether list has an entry for id by name (plain or
// BACKEND:username), not by group.
func namesUser(list []string, id auth.Identity) bool {
	self := auth.FoldUsername(id.Username)
	for _, e := range list {
		e = strings.TrimSpace(e)
		if b, u, scoped := strings.Cut(e, ":"); scoped {
			if strings.EqualFold(strings.TrimSpace(b), id.Backend) && auth.FoldUsername(u) == self {
				return true
			}
			continue
		}
		if auth.FoldUsername(e) == self {
			return true
		}
	}
	return false
}
