// Package policy decides what a logged-in user may do in a Jitsi room: the
// admin's rules map groups (and backends, usernames, tenants) to a role and
// the optional Jitsi claims that go into the token.
//
// Semantics:
//
//   - Rules are tried top to bottom. The first applicable rule decides;
//     later rules are not looked at. Order is the precedence: put deny rules
//     and narrow rules above broad ones.
//   - A rule applies when all of these fit:
//     its match: every non-empty list among Groups, Backends, Users and
//     Tenants contains the user's value (for Groups: any of the user's
//     groups); an empty match selects everyone;
//     one of its room patterns matches the room (no patterns means "*");
//     and, when Tenants is set, the request's tenant is listed (a request
//     without a tenant never fits a rule that lists tenants).
//   - Role deny on the deciding rule refuses access. No applicable rule also
//     refuses access: there is no implicit default.
//   - Rights (Rights, the rule flags manage_rooms and admin) belong to a
//     user, not to a room: the rules are read top to bottom, looking only
//     at their identity match (groups, backends, users). Each flag is
//     granted by the first matching rule that sets it, unless a matching
//     deny rule that covers every room (no tenants, no room_role, rooms
//     "*") comes first: it ends the search, as it refuses the user
//     everywhere. Flags are only accepted on allowing rules without
//     match.tenants, match.room_role or room patterns other than "*",
//     so that no one reads "manage_rooms on the staff-* rule" as a right
//     limited to those rooms. admin implies manage_rooms.
//   - Groups, backends and tenants compare case-insensitively (LDAP and
//     most directories treat names so). Usernames compare in their folded
//     form (auth.FoldUsername: Unicode compatibility forms and case), so a
//     rule for "student2" also covers an identity spelled "Student2" or
//     "ｓｔｕｄｅｎｔ２". A Users entry "BACKEND:username" (e.g.
//     "ldap:student2") matches only identities from that backend; an entry
//     without a colon matches the username from any backend. Room patterns use the
//     path.Match syntax (*, ?, [a-z], \ escapes) and are compared with the
//     normalised room name (room.Name.Display, e.g. "mathe-übung"). Compile
//     lower-cases patterns; Evaluate lower-cases the room and tenant again,
//     so a caller that forgets cannot slip past a deny rule by case.
//
// The package is pure: no I/O, no clock, no globals. A *Policy is immutable
// after Compile and safe for concurrent use; Evaluate hands out copies of
// everything mutable.
package policy

import (
	"errors"
	"fmt"
	"maps"
	"path"
	"slices"
	"strings"
	"time"

	"github.com/jitsi-gate/jitsi-gate/internal/auth"
	"github.com/jitsi-gate/jitsi-gate/internal/room"
)

// Role is what a rule grants.
type Role string

// The roles a rule can have.
const (
	// Owner becomes a Jitsi moderator (affiliation owner).
	Owner Role = "owner"
	// Member joins as a normal participant (affiliation member).
	Member Role = "member"
	// Deny refuses access; it ends the rule search.
	Deny Role = "deny"
)

// Rule is one entry of the rules list, as written in the config.
type Rule struct {
	Name string
	// The match: each non-empty list must contain the user's value (for
	// Groups, any of the user's groups). All empty = everyone.
	Groups, Backends, Users, Tenants []string
	// RoomRoles is match.room_role: the rule applies when the user's
	// relation to the room is one of these (RoomOrganizer, RoomParticipant,
	// RoomRegistered, RoomUnregistered).
	RoomRoles []string
	Role      Role
	// LobbyBypass and Lobby become context.user.lobby_bypass / lobby when
	// set.
	LobbyBypass, Lobby *bool
	// Features become context.features when set.
	Features map[string]bool
	// Rooms are path.Match patterns on the normalised room name; empty
	// means ["*"].
	Rooms []string
	// TokenLifetime overrides the gateway default when > 0.
	TokenLifetime time.Duration
	// ManageRooms (manage_rooms) lets the user create rooms, which they
	// then organize; Admin (admin) lets them see and change every room
	// and import the timetable. See Rights.
	ManageRooms, Admin bool
}

// The values of match.room_role.
const (
	// RoomOrganizer: the user is an organizer of the registered room (by
	// name or group).
	RoomOrganizer = "organizer"
	// RoomParticipant: the user is listed as a participant (by name or
	// group).
	RoomParticipant = "participant"
	// RoomRegistered: the room is in the registry, whoever the user is.
	RoomRegistered = "registered"
	// RoomUnregistered: the room is not in the registry.
	RoomUnregistered = "unregistered"
)

var roomRoles = []string{RoomOrganizer, RoomParticipant, RoomRegistered, RoomUnregistered}

// Request is what Evaluate decides on.
type Request struct {
	Identity auth.Identity
	// Room is the normalised (Display) room name.
	Room string
	// Tenant is the Jitsi tenant, "" for none.
	Tenant string
	// Registered says the room is in the registry; RoomRole is the user's
	// relation to it (RoomOrganizer, RoomParticipant or "").
	Registered bool
	RoomRole   string
}

// Decision is the outcome of Evaluate.
type Decision struct {
	Allowed bool
	// Rule is the name of the rule that decided, "" when none applied.
	Rule string
	// Role is Owner or Member when Allowed, Deny when a deny rule decided,
	// "" when no rule applied.
	Role Role
	// Moderator is Role == Owner.
	Moderator bool
	// LobbyBypass and Lobby are nil when the rule does not set them. They
	// point to copies; changing them does not change the policy.
	LobbyBypass, Lobby *bool
	// Features is nil when the rule sets none (Jitsi then applies its
	// moderator-based defaults). It is a copy per decision.
	Features map[string]bool
	// TokenLifetime is the rule's, 0 for the gateway default.
	TokenLifetime time.Duration
	// Reason explains a refusal for logs and the denied page; "" when
	// Allowed.
	Reason string
	// ManageRooms and Admin are the deciding rule's flags. What a user
	// may do with rooms is Rights, which does not depend on one room.
	ManageRooms, Admin bool
}

// Rights are what a user may do with the room registry, whatever the room.
type Rights struct {
	// ManageRooms: may create rooms (and becomes their organizer).
	ManageRooms bool
	// Admin: sees and changes every room, imports the timetable. Admin
	// implies ManageRooms.
	Admin bool
	// ManageRule and AdminRule name the rules that granted the flags, for
	// explain and the audit log; "" when not granted.
	ManageRule, AdminRule string
}

// Policy is a compiled, immutable rule list.
type Policy struct {
	rules    []Rule // deep copy of the input, for Rules()
	compiled []compiledRule
	// groupRules maps a lower-cased group name to the bitset of rules
	// whose Groups list names it, so Evaluate does one map lookup per user
	// group instead of comparing every pair.
	groupRules map[string][]uint64
	words      int // len of each bitset
}

type compiledRule struct {
	name     string
	anyGroup bool // Groups empty
	backends []string
	// users maps a folded username to the backends its entries are
	// scoped to; "" is an unscoped entry (any backend).
	users         map[string][]string
	tenants       []string
	rooms         []string
	roomRoles     []string
	role          Role
	lobbyBypass   *bool
	lobby         *bool
	features      map[string]bool
	tokenLifetime time.Duration
	manageRooms   bool
	admin         bool
	// everywhere: the rule applies to every room of every tenant (rooms
	// "*", no tenants, no room_role), so a deny refuses the user outright
	// and ends the search for Rights.
	everywhere bool
}

// Compile validates rules and builds a Policy. It reports every problem at
// once (errors.Join), each prefixed with the rule's position and name. The
// input is copied: later changes by the caller do not affect the Policy.
func Compile(rules []Rule) (*Policy, error) {
	p := &Policy{
		rules:      make([]Rule, len(rules)),
		compiled:   make([]compiledRule, len(rules)),
		groupRules: make(map[string][]uint64),
		words:      (len(rules) + 63) / 64,
	}
	var errs []error
	names := make(map[string]int, len(rules))
	for i, r := range rules {
		p.rules[i] = copyRule(r)
		where := fmt.Sprintf("rules[%d]", i)
		if r.Name != "" {
			where += fmt.Sprintf(" (%q)", r.Name)
		}
		bad := func(format string, args ...any) {
			errs = append(errs, fmt.Errorf("policy: %s: %s", where, fmt.Sprintf(format, args...)))
		}

		switch {
		case strings.TrimSpace(r.Name) == "":
			bad("name is empty; every rule needs a name for logs and the preview page")
		case r.Name != strings.TrimSpace(r.Name):
			bad("name has leading or trailing spaces")
		default:
			if j, dup := names[r.Name]; dup {
				bad("name is also used by rules[%d]; names must be unique", j)
			} else {
				names[r.Name] = i
			}
		}

		switch r.Role {
		case Owner, Member:
		case Deny:
			if r.LobbyBypass != nil || r.Lobby != nil || r.Features != nil || r.TokenLifetime != 0 {
				bad("role deny issues no token, so lobby_bypass, lobby, features and token_lifetime have no effect; remove them")
			}
			if r.ManageRooms || r.Admin {
				bad("role deny grants nothing, so manage_rooms and admin have no effect; put them on an allowing rule")
			}
		case "":
			bad("role is empty; use owner, member or deny")
		default:
			bad("role %q is not one of owner, member, deny", r.Role)
		}

		if r.TokenLifetime < 0 {
			bad("token_lifetime %s is negative", r.TokenLifetime)
		}

		c := compiledRule{
			name:          r.Name,
			anyGroup:      len(r.Groups) == 0,
			role:          r.Role,
			lobbyBypass:   p.rules[i].LobbyBypass,
			lobby:         p.rules[i].Lobby,
			features:      p.rules[i].Features,
			tokenLifetime: r.TokenLifetime,
			manageRooms:   r.ManageRooms || r.Admin,
			admin:         r.Admin,
		}

		for _, g := range r.Groups {
			if strings.TrimSpace(g) == "" {
				bad("match.groups has an empty entry")
				continue
			}
			key := strings.ToLower(g)
			set := p.groupRules[key]
			if set == nil {
				set = make([]uint64, p.words)
				p.groupRules[key] = set
			}
			set[i/64] |= 1 << (i % 64)
		}
		c.backends = lowerList(r.Backends, "match.backends", bad)
		c.tenants = lowerList(r.Tenants, "match.tenants", bad)
		for _, t := range c.tenants {
			if _, err := room.ParseTenant(t); err != nil {
				bad("match.tenants %q: %v", t, err)
			}
		}
		c.users = compileUsers(r.Users, bad)
		for _, rr := range r.RoomRoles {
			v := strings.ToLower(strings.TrimSpace(rr))
			if !slices.Contains(roomRoles, v) {
				bad("match.room_role %q is not one of %s", rr, strings.Join(roomRoles, ", "))
				continue
			}
			c.roomRoles = append(c.roomRoles, v)
		}

		for k := range r.Features {
			if strings.TrimSpace(k) == "" {
				bad("features has an empty name")
			}
		}

		if len(r.Rooms) == 0 {
			c.rooms = []string{"*"}
		}
		for _, pat := range r.Rooms {
			if pat == "" {
				bad("rooms has an empty pattern; use \"*\" for every room")
				continue
			}
			lp := strings.ToLower(pat)
			if _, err := path.Match(lp, ""); err != nil {
				bad("room pattern %q is not a valid glob (path.Match syntax: *, ?, [a-z], \\ escapes): %v", pat, err)
				continue
			}
			if err := room.CheckPattern(pat); err != nil {
				bad("room pattern %q never matches: it %v", pat, err)
				continue
			}
			c.rooms = append(c.rooms, lp)
		}
		c.everywhere = len(c.tenants) == 0 && len(r.RoomRoles) == 0 && slices.Contains(c.rooms, "*")
		if (r.ManageRooms || r.Admin) && r.Role != Deny && !c.everywhere {
			bad("manage_rooms and admin are rights of the user, not of some rooms: put them on a rule without match.tenants, match.room_role and room patterns other than \"*\"")
		}
		p.compiled[i] = c
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	return p, nil
}

// lowerList lower-cases a match list and reports empty entries. It returns
// nil for an empty list (= no restriction).
func lowerList(list []string, key string, bad func(string, ...any)) []string {
	if len(list) == 0 {
		return nil
	}
	out := make([]string, 0, len(list))
	for _, s := range list {
		if strings.TrimSpace(s) == "" {
			bad("%s has an empty entry", key)
			continue
		}
		out = append(out, strings.ToLower(s))
	}
	return out
}

// compileUsers folds the match.users entries and splits off their backend
// scope. It returns nil for an empty list (= no restriction).
func compileUsers(list []string, bad func(string, ...any)) map[string][]string {
	if len(list) == 0 {
		return nil
	}
	users := make(map[string][]string, len(list))
	for _, entry := range list {
		if strings.TrimSpace(entry) == "" {
			bad("match.users has an empty entry")
			continue
		}
		backend, name := SplitUser(entry)
		key := auth.FoldUsername(name)
		if key == "" || (backend == "" && strings.Contains(entry, ":")) {
			bad("match.users entry %q: write a username, or BACKEND:username to limit it to one backend (e.g. ldap:student2)", entry)
			continue
		}
		if !slices.Contains(users[key], backend) {
			users[key] = append(users[key], backend)
		}
	}
	return users
}

// SplitUser splits a match.users entry into its backend scope (lower-cased;
// "" when unscoped) and the username: "ldap:student2" → ("ldap",
// "student2"), "student2" → ("", "student2"). The scope ends at the first
// colon, so a username containing a colon is written with its backend
// ("ldap:a:b").
func SplitUser(entry string) (backend, username string) {
	entry = strings.TrimSpace(entry)
	if b, u, ok := strings.Cut(entry, ":"); ok {
		return strings.ToLower(strings.TrimSpace(b)), u
	}
	return "", entry
}

// maxStackWords is how many 64-rule words Evaluate keeps on the stack; only
// policies with more than 256 rules allocate a bitset per call.
const maxStackWords = 4

// identity is a user prepared for matching: the lower-cased backend and
// the folded username (computed on first use; folding allocates). The
// group bitset is kept apart, in the caller's stack array: a slice of it
// stored in this struct would move the array to the heap.
type identity struct {
	backend    string
	username   string
	user       string
	userFolded bool
}

// groupHits returns the bitset of the rules whose groups contain one of
// groups, in buf when it is large enough.
func (p *Policy) groupHits(groups []string, buf []uint64) []uint64 {
	var hit []uint64
	if p.words <= len(buf) {
		hit = buf[:p.words]
	} else {
		hit = make([]uint64, p.words)
	}
	// strings.ToLower returns its argument without allocating when it is
	// already lower case.
	for _, g := range groups {
		if set, ok := p.groupRules[strings.ToLower(g)]; ok {
			for w := range set {
				hit[w] |= set[w]
			}
		}
	}
	return hit
}

// fits reports whether rule i's groups, backends and users match the user.
func (p *Policy) fits(i int, groupHit []uint64, u *identity) bool {
	c := &p.compiled[i]
	if !c.anyGroup && groupHit[i/64]&(1<<(i%64)) == 0 {
		return false
	}
	if c.backends != nil && !slices.Contains(c.backends, u.backend) {
		return false
	}
	if c.users != nil {
		if !u.userFolded {
			u.user, u.userFolded = auth.FoldUsername(u.username), true
		}
		scopes, ok := c.users[u.user]
		if !ok || !(slices.Contains(scopes, "") || slices.Contains(scopes, u.backend)) {
			return false
		}
	}
	return true
}

// Evaluate decides on req. It does not modify req or the Policy.
func (p *Policy) Evaluate(req Request) Decision {
	var stack [maxStackWords]uint64
	groupHit := p.groupHits(req.Identity.Groups, stack[:])
	u := identity{backend: strings.ToLower(req.Identity.Backend), username: req.Identity.Username}
	room := strings.ToLower(req.Room)
	tenant := strings.ToLower(req.Tenant)

	for i := range p.compiled {
		c := &p.compiled[i]
		if !p.fits(i, groupHit, &u) {
			continue
		}
		if c.tenants != nil && (tenant == "" || !slices.Contains(c.tenants, tenant)) {
			continue
		}
		if !matchRoom(c.rooms, room) {
			continue
		}
		if c.roomRoles != nil && !matchRoomRole(c.roomRoles, req) {
			continue
		}
		return c.decide()
	}
	return Decision{Reason: noRuleReason(req)}
}

// Rights returns what id may do with the room registry (see the package
// comment): each flag comes from the first rule matching id that sets it,
// and a matching deny rule for every room ends the search.
func (p *Policy) Rights(id auth.Identity) Rights {
	var stack [maxStackWords]uint64
	groupHit := p.groupHits(id.Groups, stack[:])
	u := identity{backend: strings.ToLower(id.Backend), username: id.Username}
	var r Rights
	for i := range p.compiled {
		c := &p.compiled[i]
		if !c.manageRooms && !(c.role == Deny && c.everywhere) {
			continue // cheap test first: most rules set no flag
		}
		if !p.fits(i, groupHit, &u) {
			continue
		}
		if c.role == Deny {
			break
		}
		if c.manageRooms && !r.ManageRooms {
			r.ManageRooms, r.ManageRule = true, c.name
		}
		if c.admin && !r.Admin {
			r.Admin, r.AdminRule = true, c.name
		}
		if r.Admin {
			break // admin implies everything
		}
	}
	return r
}

// matchRoomRole reports whether the request's relation to the room is one
// of roles.
func matchRoomRole(roles []string, req Request) bool {
	for _, r := range roles {
		switch r {
		case RoomRegistered:
			if req.Registered {
				return true
			}
		case RoomUnregistered:
			if !req.Registered {
				return true
			}
		default:
			if req.Registered && req.RoomRole == r {
				return true
			}
		}
	}
	return false
}

func matchRoom(patterns []string, room string) bool {
	for _, pat := range patterns {
		// Patterns were validated by Compile, so err is always nil.
		if ok, _ := path.Match(pat, room); ok {
			return true
		}
	}
	return false
}

func (c *compiledRule) decide() Decision {
	if c.role == Deny {
		return Decision{
			Rule:   c.name,
			Role:   Deny,
			Reason: fmt.Sprintf("rule %q denies", c.name),
		}
	}
	d := Decision{
		Allowed:       true,
		Rule:          c.name,
		Role:          c.role,
		Moderator:     c.role == Owner,
		TokenLifetime: c.tokenLifetime,
		ManageRooms:   c.manageRooms,
		Admin:         c.admin,
	}
	if c.lobbyBypass != nil {
		v := *c.lobbyBypass
		d.LobbyBypass = &v
	}
	if c.lobby != nil {
		v := *c.lobby
		d.Lobby = &v
	}
	if c.features != nil {
		d.Features = maps.Clone(c.features)
	}
	return d
}

func noRuleReason(req Request) string {
	groups := req.Identity.Groups
	if groups == nil {
		groups = []string{}
	}
	reason := fmt.Sprintf("no rule admits groups %v to room %s", groups, req.Room)
	if req.Tenant != "" {
		reason += " in tenant " + req.Tenant
	}
	switch {
	case !req.Registered:
		reason += " (not a registered room)"
	case req.RoomRole != "":
		reason += " (registered room; the user is " + req.RoomRole + ")"
	default:
		reason += " (registered room; the user is neither organizer nor participant)"
	}
	return reason
}

// Rules returns a deep copy of the rules as given to Compile, for tools that
// explain or print the policy.
func (p *Policy) Rules() []Rule {
	out := make([]Rule, len(p.rules))
	for i, r := range p.rules {
		out[i] = copyRule(r)
	}
	return out
}

func copyRule(r Rule) Rule {
	r.Groups = slices.Clone(r.Groups)
	r.Backends = slices.Clone(r.Backends)
	r.Users = slices.Clone(r.Users)
	r.Tenants = slices.Clone(r.Tenants)
	r.RoomRoles = slices.Clone(r.RoomRoles)
	r.Rooms = slices.Clone(r.Rooms)
	if r.LobbyBypass != nil {
		v := *r.LobbyBypass
		r.LobbyBypass = &v
	}
	if r.Lobby != nil {
		v := *r.Lobby
		r.Lobby = &v
	}
	if r.Features != nil {
		f := make(map[string]bool, len(r.Features))
		for k, v := range r.Features {
			f[k] = v
		}
		r.Features = f
	}
	return r
}
