package policy

import (
	"fmt"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/jitsi-gate/jitsi-gate/internal/auth"
	"github.com/jitsi-gate/jitsi-gate/internal/room"
)

func ptr(b bool) *bool { return &b }

func id(backend, user string, groups ...string) auth.Identity {
	return auth.Identity{Backend: backend, Subject: user, Username: user, Name: user, Groups: groups}
}

// schoolRules is the example from the issue plus a few narrow rules.
func schoolRules() []Rule {
	return []Rule{
		{Name: "suspended", Users: []string{"mallory"}, Role: Deny},
		{Name: "staff-only", Groups: []string{"teachers"}, Rooms: []string{"lehrerzimmer", "konferenz-*"}, Role: Owner},
		{Name: "no-students-in-staff-rooms", Rooms: []string{"lehrerzimmer", "konferenz-*"}, Role: Deny},
		{
			Name: "teachers", Groups: []string{"Teachers"}, Role: Owner,
			LobbyBypass: ptr(true), Lobby: ptr(false),
			Features:      map[string]bool{"recording": true, "livestreaming": false},
			TokenLifetime: 2 * time.Hour,
		},
		{Name: "students", Groups: []string{"students"}, Role: Member, Rooms: []string{"mathe-*", "deutsch-?", "klasse-[0-9][a-z]"}},
		{Name: "ldap-guests", Backends: []string{"LDAP"}, Groups: []string{"guests"}, Role: Member, Rooms: []string{"offen"}},
		{Name: "tenant-a", Tenants: []string{"schule-a"}, Groups: []string{"parents"}, Role: Member},
	}
}

func mustCompile(t testing.TB, rules []Rule) *Policy {
	t.Helper()
	p, err := Compile(rules)
	if err != nil {
		t.Fatalf("Compile: %v", err)
	}
	return p
}

func TestEvaluate(t *testing.T) {
	p := mustCompile(t, schoolRules())
	tests := []struct {
		name   string
		req    Request
		want   Decision
		reason string // substring of Reason when !Allowed
	}{
		{
			name: "teacher is owner with lobby bypass and features",
			req:  Request{Identity: id("demo", "tina", "teachers"), Room: "physik"},
			want: Decision{
				Allowed: true, Rule: "teachers", Role: Owner, Moderator: true,
				LobbyBypass: ptr(true), Lobby: ptr(false),
				Features:      map[string]bool{"recording": true, "livestreaming": false},
				TokenLifetime: 2 * time.Hour,
			},
		},
		{
			name: "student is member in a pattern room, no features",
			req:  Request{Identity: id("demo", "sam", "students"), Room: "mathe-1"},
			want: Decision{Allowed: true, Rule: "students", Role: Member},
		},
		{
			name: "unicode room matches mathe-*",
			req:  Request{Identity: id("demo", "sam", "students"), Room: "mathe-übung"},
			want: Decision{Allowed: true, Rule: "students", Role: Member},
		},
		{
			name: "? matches one unicode rune",
			req:  Request{Identity: id("demo", "sam", "students"), Room: "deutsch-ä"},
			want: Decision{Allowed: true, Rule: "students", Role: Member},
		},
		{
			name: "character classes",
			req:  Request{Identity: id("demo", "sam", "students"), Room: "klasse-7b"},
			want: Decision{Allowed: true, Rule: "students", Role: Member},
		},
		{
			name:   "student outside room patterns is denied",
			req:    Request{Identity: id("demo", "sam", "students"), Room: "physik"},
			want:   Decision{},
			reason: "no rule admits groups [students] to room physik",
		},
		{
			name:   "user in no group is denied, reason names the (empty) groups",
			req:    Request{Identity: id("demo", "nobody"), Room: "mathe-1"},
			want:   Decision{},
			reason: "no rule admits groups [] to room mathe-1",
		},
		{
			name:   "user in unknown groups is denied with those groups",
			req:    Request{Identity: id("demo", "x", "janitors", "parents"), Room: "mathe-1"},
			want:   Decision{},
			reason: "no rule admits groups [janitors parents] to room mathe-1",
		},
		{
			name:   "deny rule before allow: suspended teacher",
			req:    Request{Identity: id("demo", "mallory", "teachers"), Room: "physik"},
			want:   Decision{Rule: "suspended", Role: Deny},
			reason: `rule "suspended" denies`,
		},
		{
			name: "teacher in staff room via the narrow rule",
			req:  Request{Identity: id("demo", "tina", "teachers"), Room: "konferenz-montag"},
			want: Decision{Allowed: true, Rule: "staff-only", Role: Owner, Moderator: true},
		},
		{
			name:   "student in staff room hits the deny rule",
			req:    Request{Identity: id("demo", "sam", "students"), Room: "lehrerzimmer"},
			want:   Decision{Rule: "no-students-in-staff-rooms", Role: Deny},
			reason: `rule "no-students-in-staff-rooms" denies`,
		},
		{
			name: "upper-case room from a careless caller still hits the deny rule",
			req:  Request{Identity: id("demo", "sam", "students"), Room: "Lehrerzimmer"},
			want: Decision{Rule: "no-students-in-staff-rooms", Role: Deny},
		},
		{
			name: "group compare is case-insensitive (rule says Teachers)",
			req:  Request{Identity: id("demo", "tina", "TEACHERS"), Room: "physik"},
			want: Decision{
				Allowed: true, Rule: "teachers", Role: Owner, Moderator: true,
				LobbyBypass: ptr(true), Lobby: ptr(false),
				Features:      map[string]bool{"recording": true, "livestreaming": false},
				TokenLifetime: 2 * time.Hour,
			},
		},
		{
			name:   "username compare is case-insensitive",
			req:    Request{Identity: id("demo", "Mallory", "teachers"), Room: "physik"},
			want:   Decision{Rule: "suspended", Role: Deny},
			reason: "suspended",
		},
		{
			name: "backend restriction fits (case-insensitive)",
			req:  Request{Identity: id("ldap", "gus", "guests"), Room: "offen"},
			want: Decision{Allowed: true, Rule: "ldap-guests", Role: Member},
		},
		{
			name:   "backend restriction does not fit",
			req:    Request{Identity: id("demo", "gus", "guests"), Room: "offen"},
			want:   Decision{},
			reason: "no rule admits groups [guests] to room offen",
		},
		{
			name: "tenant restriction fits",
			req:  Request{Identity: id("demo", "pat", "parents"), Room: "elternabend", Tenant: "schule-a"},
			want: Decision{Allowed: true, Rule: "tenant-a", Role: Member},
		},
		{
			name: "tenant compare is case-insensitive",
			req:  Request{Identity: id("demo", "pat", "parents"), Room: "elternabend", Tenant: "Schule-A"},
			want: Decision{Allowed: true, Rule: "tenant-a", Role: Member},
		},
		{
			name:   "other tenant does not fit",
			req:    Request{Identity: id("demo", "pat", "parents"), Room: "elternabend", Tenant: "schule-b"},
			want:   Decision{},
			reason: "no rule admits groups [parents] to room elternabend in tenant schule-b",
		},
		{
			name:   "no tenant does not fit a tenant rule",
			req:    Request{Identity: id("demo", "pat", "parents"), Room: "elternabend"},
			want:   Decision{},
			reason: "no rule admits groups [parents] to room elternabend",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := p.Evaluate(tt.req)
			reason := got.Reason
			got.Reason = ""
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("Evaluate =\n %+v\nwant\n %+v", got, tt.want)
			}
			if got.Allowed && reason != "" {
				t.Errorf("allowed decision has reason %q", reason)
			}
			if !got.Allowed {
				if reason == "" {
					t.Errorf("denied decision without reason")
				}
				if !strings.Contains(reason, tt.reason) {
					t.Errorf("reason %q does not contain %q", reason, tt.reason)
				}
			}
		})
	}
}

func TestEvaluateOverlapOrder(t *testing.T) {
	teachers := Rule{Name: "teachers", Groups: []string{"teachers"}, Role: Owner}
	students := Rule{Name: "students", Groups: []string{"students"}, Role: Member}
	both := Request{Identity: id("demo", "tim", "students", "teachers"), Room: "r"}
	tests := []struct {
		name     string
		rules    []Rule
		wantRule string
		wantRole Role
	}{
		{"teachers first", []Rule{teachers, students}, "teachers", Owner},
		{"students first", []Rule{students, teachers}, "students", Member},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d := mustCompile(t, tt.rules).Evaluate(both)
			if !d.Allowed || d.Rule != tt.wantRule || d.Role != tt.wantRole || d.Moderator != (tt.wantRole == Owner) {
				t.Errorf("got %+v, want rule %s role %s", d, tt.wantRule, tt.wantRole)
			}
		})
	}
}

func TestEvaluateEmptyMatchIsEveryone(t *testing.T) {
	p := mustCompile(t, []Rule{
		{Name: "lobby-room", Rooms: []string{"sprechstunde"}, Role: Member, Lobby: ptr(true)},
		{Name: "teachers", Groups: []string{"teachers"}, Role: Owner},
	})
	for _, ident := range []auth.Identity{id("demo", "a"), id("oidc", "b", "x"), {}} {
		d := p.Evaluate(Request{Identity: ident, Room: "sprechstunde"})
		if !d.Allowed || d.Rule != "lobby-room" || d.Lobby == nil || !*d.Lobby {
			t.Errorf("%+v: got %+v, want lobby-room with lobby", ident, d)
		}
	}
	if d := p.Evaluate(Request{Identity: id("demo", "a"), Room: "other"}); d.Allowed {
		t.Errorf("room outside the everyone-rule allowed: %+v", d)
	}
}

// TestEvaluateManyRules crosses the 64-rule word boundary of the group
// bitset (and the on-stack limit) to make sure rule i is found at any index.
func TestEvaluateManyRules(t *testing.T) {
	for _, n := range []int{63, 64, 65, 130, 300} {
		rules := make([]Rule, n)
		for i := range rules {
			rules[i] = Rule{Name: fmt.Sprintf("r%d", i), Groups: []string{fmt.Sprintf("g%d", i), "shared-tail"}, Role: Member}
		}
		p := mustCompile(t, rules)
		for _, i := range []int{0, 62, 63, 64, n - 1} {
			if i >= n {
				continue
			}
			d := p.Evaluate(Request{Identity: id("demo", "u", "nope", fmt.Sprintf("G%d", i)), Room: "r"})
			if want := fmt.Sprintf("r%d", i); d.Rule != want {
				t.Errorf("n=%d: group g%d decided by %q, want %q", n, i, d.Rule, want)
			}
		}
		if d := p.Evaluate(Request{Identity: id("demo", "u", "shared-tail"), Room: "r"}); d.Rule != "r0" {
			t.Errorf("n=%d: shared group decided by %q, want r0", n, d.Rule)
		}
	}
}

func TestCompileErrors(t *testing.T) {
	ok := Rule{Name: "ok", Role: Member}
	tests := []struct {
		name  string
		rules []Rule
		want  []string // substrings of the error
	}{
		{"invalid glob", []Rule{{Name: "x", Role: Member, Rooms: []string{"["}}}, []string{`rules[0] ("x")`, `room pattern "["`, "not a valid glob"}},
		{"invalid glob later in list", []Rule{{Name: "x", Role: Member, Rooms: []string{"a", "b[-"}}}, []string{`"b[-"`}},
		{"empty pattern", []Rule{{Name: "x", Role: Member, Rooms: []string{""}}}, []string{"empty pattern"}},
		{"unknown role", []Rule{{Name: "x", Role: "admin"}}, []string{`role "admin" is not one of owner, member, deny`}},
		{"upper-case role", []Rule{{Name: "x", Role: "Owner"}}, []string{`role "Owner"`}},
		{"empty role", []Rule{{Name: "x"}}, []string{"role is empty"}},
		{"empty name", []Rule{{Role: Member}}, []string{"rules[0]: name is empty"}},
		{"blank name", []Rule{{Name: "  ", Role: Member}}, []string{"name is empty"}},
		{"padded name", []Rule{{Name: " x", Role: Member}}, []string{"leading or trailing spaces"}},
		{"duplicate name", []Rule{ok, {Name: "a", Role: Member}, ok}, []string{`rules[2] ("ok"): name is also used by rules[0]`}},
		{"empty group", []Rule{{Name: "x", Role: Member, Groups: []string{"a", ""}}}, []string{"match.groups has an empty entry"}},
		{"empty backend", []Rule{{Name: "x", Role: Member, Backends: []string{" "}}}, []string{"match.backends has an empty entry"}},
		{"empty user", []Rule{{Name: "x", Role: Member, Users: []string{""}}}, []string{"match.users has an empty entry"}},
		{"empty tenant", []Rule{{Name: "x", Role: Member, Tenants: []string{""}}}, []string{"match.tenants has an empty entry"}},
		{"scope without backend", []Rule{{Name: "x", Role: Member, Users: []string{":student2"}}}, []string{`match.users entry ":student2"`, "BACKEND:username"}},
		{"scope without username", []Rule{{Name: "x", Role: Member, Users: []string{"ldap:"}}}, []string{`match.users entry "ldap:"`}},
		{"empty feature", []Rule{{Name: "x", Role: Member, Features: map[string]bool{"": true}}}, []string{"features has an empty name"}},
		{"negative lifetime", []Rule{{Name: "x", Role: Member, TokenLifetime: -time.Second}}, []string{"token_lifetime -1s is negative"}},
		{"deny with claims", []Rule{{Name: "x", Role: Deny, LobbyBypass: ptr(true)}}, []string{"role deny issues no token"}},
		{"deny with manage_rooms", []Rule{{Name: "x", Role: Deny, ManageRooms: true}}, []string{"role deny grants nothing"}},
		{"deny with admin", []Rule{{Name: "x", Role: Deny, Admin: true}}, []string{"role deny grants nothing"}},
		{"rights on some rooms", []Rule{{Name: "x", Role: Owner, Rooms: []string{"staff-*"}, ManageRooms: true}}, []string{"rights of the user, not of some rooms"}},
		{"rights in a tenant", []Rule{{Name: "x", Role: Owner, Tenants: []string{"a"}, Admin: true}}, []string{"rights of the user"}},
		{"rights by room role", []Rule{{Name: "x", Role: Owner, RoomRoles: []string{RoomOrganizer}, ManageRooms: true}}, []string{"rights of the user"}},
		{
			"every problem reported at once",
			[]Rule{{Name: "a", Role: "boss"}, ok, {Name: "c", Role: Member, Rooms: []string{"["}}},
			[]string{`rules[0] ("a"): role "boss"`, `rules[2] ("c"): room pattern "["`},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, err := Compile(tt.rules)
			if err == nil {
				t.Fatalf("Compile succeeded (%v), want error containing %q", p, tt.want)
			}
			if p != nil {
				t.Errorf("Compile returned a policy with an error")
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not contain %q", err, w)
				}
			}
		})
	}
}

// TestRights: flags belong to the user; the first matching rule that sets
// a flag grants it, a deny for every room stops the search, narrower
// denies and rules without flags do not.
func TestRights(t *testing.T) {
	p := mustCompile(t, []Rule{
		{Name: "suspended", Users: []string{"mallory"}, Role: Deny},
		{Name: "no-guests-in-staff", Groups: []string{"guests"}, Rooms: []string{"staff-*"}, Role: Deny},
		{Name: "tenant-b-teachers", Groups: []string{"teachers"}, Tenants: []string{"b"}, Role: Member},
		{Name: "admins", Groups: []string{"IT"}, Backends: []string{"ldap"}, Role: Owner, Rooms: []string{"*"}, Admin: true},
		{Name: "teachers", Groups: []string{"teachers"}, Role: Owner, ManageRooms: true},
		{Name: "everyone-denied-below", Groups: []string{"students"}, Role: Deny},
		{Name: "students-manage-too-late", Groups: []string{"students"}, Role: Member, ManageRooms: true},
		{Name: "late-admin", Users: []string{"ldap:alice"}, Role: Member, Admin: true},
	})
	tests := []struct {
		name string
		id   auth.Identity
		want Rights
	}{
		{"teacher manages rooms", id("ldap", "tina", "Teachers"), Rights{ManageRooms: true, ManageRule: "teachers"}},
		{"admin implies manage", id("ldap", "ivan", "it"), Rights{ManageRooms: true, Admin: true, ManageRule: "admins", AdminRule: "admins"}},
		{"admin rule is scoped to a backend", id("demo", "ivan", "it"), Rights{}},
		{"a deny for every room stops the search", id("ldap", "mallory", "teachers", "it"), Rights{}},
		{"a deny for some rooms does not", id("ldap", "gina", "guests", "teachers"), Rights{ManageRooms: true, ManageRule: "teachers"}},
		{"flags from two rules", id("ldap", "alice", "teachers"), Rights{ManageRooms: true, Admin: true, ManageRule: "teachers", AdminRule: "late-admin"}},
		{"student denied before the flag", id("ldap", "sam", "students"), Rights{}},
		{"nobody", id("ldap", "pat", "parents"), Rights{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := p.Rights(tt.id); got != tt.want {
				t.Errorf("Rights = %+v, want %+v", got, tt.want)
			}
		})
	}
	d := p.Evaluate(Request{Identity: id("ldap", "tina", "teachers"), Room: "physik"})
	if !d.ManageRooms || d.Admin || d.Rule != "teachers" {
		t.Errorf("the deciding rule's flags are in the decision: %+v", d)
	}
}

func TestCompileAcceptsEmptyList(t *testing.T) {
	p := mustCompile(t, nil)
	d := p.Evaluate(Request{Identity: id("demo", "u", "g"), Room: "r"})
	if d.Allowed || d.Rule != "" || d.Reason == "" {
		t.Errorf("empty policy: got %+v, want denied with reason", d)
	}
}

func TestCompileCopiesInput(t *testing.T) {
	rules := []Rule{{
		Name: "t", Groups: []string{"teachers"}, Role: Owner, Rooms: []string{"a-*"},
		LobbyBypass: ptr(true), Features: map[string]bool{"recording": true},
	}}
	p := mustCompile(t, rules)
	want := p.Rules()

	// Mutate everything the caller still holds.
	rules[0].Name = "changed"
	rules[0].Groups[0] = "students"
	rules[0].Rooms[0] = "*"
	*rules[0].LobbyBypass = false
	rules[0].Features["recording"] = false
	rules[0].Features["livestreaming"] = true
	rules[0].Role = Deny

	if got := p.Rules(); !reflect.DeepEqual(got, want) {
		t.Errorf("Rules changed after caller mutation:\n got %+v\nwant %+v", got, want)
	}
	d := p.Evaluate(Request{Identity: id("demo", "u", "teachers"), Room: "a-1"})
	if !d.Allowed || d.Rule != "t" || !*d.LobbyBypass || !reflect.DeepEqual(d.Features, map[string]bool{"recording": true}) {
		t.Errorf("decision changed after caller mutation: %+v", d)
	}
}

func TestEvaluateNeverMutates(t *testing.T) {
	p := mustCompile(t, schoolRules())
	before := p.Rules()
	groups := []string{"Teachers", "Students"}
	req := Request{Identity: id("Demo", "Tina", groups...), Room: "Physik", Tenant: "X"}
	reqCopy := req
	reqCopy.Identity.Groups = append([]string(nil), groups...)

	d := p.Evaluate(req)
	// Mutate everything the decision hands out, then evaluate again.
	*d.LobbyBypass = false
	*d.Lobby = true
	d.Features["recording"] = false
	d.Features["new"] = true

	if !reflect.DeepEqual(req, reqCopy) {
		t.Errorf("request changed: %+v, was %+v", req, reqCopy)
	}
	if got := p.Rules(); !reflect.DeepEqual(got, before) {
		t.Errorf("rules changed:\n got %+v\nwant %+v", got, before)
	}
	d2 := p.Evaluate(req)
	if !*d2.LobbyBypass || *d2.Lobby || !d2.Features["recording"] || len(d2.Features) != 2 {
		t.Errorf("second decision saw caller mutations: %+v", d2)
	}

	// Rules() is itself a copy.
	r := p.Rules()
	r[3].Features["recording"] = false
	r[0].Users[0] = "someone"
	if got := p.Rules(); !reflect.DeepEqual(got, before) {
		t.Errorf("Rules() result aliases the policy")
	}
}

func BenchmarkEvaluate(b *testing.B) {
	p := mustCompile(b, schoolRules())
	cases := []struct {
		name string
		req  Request
	}{
		{"teacher-features", Request{Identity: id("demo", "tina", "Domain Users", "staff", "teachers"), Room: "physik"}},
		{"student-pattern", Request{Identity: id("demo", "sam", "students"), Room: "mathe-übung"}},
		{"denied", Request{Identity: id("demo", "x", "janitors"), Room: "physik"}},
	}
	many := make([]string, 100)
	for i := range many {
		many[i] = fmt.Sprintf("group-%d", i)
	}
	many[99] = "students"
	cases = append(cases, struct {
		name string
		req  Request
	}{"student-100-groups", Request{Identity: id("demo", "sam", many...), Room: "mathe-1"}})

	for _, c := range cases {
		b.Run(c.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				_ = p.Evaluate(c.req)
			}
		})
	}
}

// Room patterns are written the way people type rooms and compared with the
// Display form; a pattern no browser-sent room can match is an error, so a
// deny rule can never silently fail open (issue: "prüfung-*" vs
// "pr%c3%bcfung-*").
func TestRoomPatternsNonASCII(t *testing.T) {
	p := mustCompile(t, []Rule{
		{Name: "no-exams", Rooms: []string{"Prüfung-*"}, Role: Deny},
		{Name: "everyone", Role: Member},
	})
	for _, raw := range []string{"Prüfung-10b", "PRÜFUNG-10B", "pr%C3%BCfung-10b", "Pru\u0308fung-10b"} {
		n, err := room.Parse(raw)
		if err != nil {
			t.Fatalf("room.Parse(%q): %v", raw, err)
		}
		d := p.Evaluate(Request{Identity: id("demo", "s", "students"), Room: n.Display})
		if d.Allowed || d.Rule != "no-exams" {
			t.Errorf("room %q (display %q): got %+v, want denied by no-exams", raw, n.Display, d)
		}
	}

	tests := []struct{ pattern, want string }{
		{"pr%c3%bcfung-*", `encoded form; write room names as people type them: "prüfung-*"`},
		{"100%", "contains '%'"},
		{"staff/*", "contains '/'"},
		{"a b*", "Jitsi removes"},
		{"ﬅaff-*", `write "staff-*"`},
		{"ｍａｔｈｅ-*", `write "mathe-*"`},
		{`a\*b`, "'*', which Jitsi removes"},
	}
	for _, tt := range tests {
		_, err := Compile([]Rule{{Name: "r", Rooms: []string{tt.pattern}, Role: Deny}})
		if err == nil || !strings.Contains(err.Error(), "never matches") || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("Compile(rooms: [%q]) = %v, want an error containing %q", tt.pattern, err, tt.want)
		}
	}
	for _, ok := range []string{"*", "mathe-?", "klasse-[0-9][a-z]", "übung-*", `a\-b`, "ελληνικά-*"} {
		if _, err := Compile([]Rule{{Name: "r", Rooms: []string{ok}, Role: Member}}); err != nil {
			t.Errorf("Compile(rooms: [%q]): %v", ok, err)
		}
	}
}

// TestUsersMatchFoldedAndScoped: match.users compares the folded form, so
// a deny rule for student2 holds whatever spelling a backend reports, and
// BACKEND:username entries only match identities of that backend.
func TestUsersMatchFoldedAndScoped(t *testing.T) {
	p := mustCompile(t, []Rule{
		{Name: "suspended", Users: []string{"student2", "ldap:Mallory", "LDAP:a:b"}, Role: Deny},
		{Name: "everyone", Role: Member},
	})
	tests := []struct {
		backend, user string
		wantRule      string
	}{
		{"ldap", "student2", "suspended"},
		{"ldap", "Student2", "suspended"},
		{"demo", "STUDENT2", "suspended"},
		{"oidc", "ｓｔｕｄｅｎｔ２", "suspended"},
		{"ldap", "ſtudent2", "suspended"},
		{"ldap", "ﬅudent2", "suspended"},
		{"ldap", "student22", "everyone"},
		{"ldap", "mallory", "suspended"},
		{"LDAP", "MALLORY", "suspended"},
		{"demo", "mallory", "everyone"}, // scoped to ldap
		{"oidc", "mallory", "everyone"},
		{"ldap", "a:b", "suspended"},
		{"demo", "a:b", "everyone"},
		{"ldap", "ldap:mallory", "everyone"}, // the scope is not part of the name
	}
	for _, tt := range tests {
		t.Run(tt.backend+"/"+tt.user, func(t *testing.T) {
			d := p.Evaluate(Request{Identity: id(tt.backend, tt.user, "g"), Room: "r"})
			if d.Rule != tt.wantRule {
				t.Errorf("%s from %s decided by %q, want %q", tt.user, tt.backend, d.Rule, tt.wantRule)
			}
		})
	}
}

func TestSplitUser(t *testing.T) {
	tests := []struct{ in, backend, user string }{
		{"student2", "", "student2"},
		{"ldap:student2", "ldap", "student2"},
		{" LDAP : student2 ", "ldap", " student2"},
		{"ldap:a:b", "ldap", "a:b"},
	}
	for _, tt := range tests {
		if b, u := SplitUser(tt.in); b != tt.backend || u != tt.user {
			t.Errorf("SplitUser(%q) = %q, %q; want %q, %q", tt.in, b, u, tt.backend, tt.user)
		}
	}
}
