package main

import (
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/jitsi-gate/jitsi-gate/internal/testenv"
)

// The room registry through the real program: rooms created with the
// `rooms create` command, users logging in and asking /join, tokens checked
// with the independent contract verifier. The rules are those of the
// "organizer-only moderators" recipe in docs/rooms.md.

// roomRules: organizers own their room, teachers and listed participants
// join registered rooms as members, unregistered rooms are refused.
const roomRules = `rules:
  - {name: organizers, match: {room_role: [organizer]}, role: owner}
  - {name: teachers-in-registered-rooms, match: {groups: [teachers], room_role: [registered]}, role: member}
  - {name: participants, match: {room_role: [participant]}, role: member}
  - {name: unregistered, match: {room_role: [unregistered]}, role: deny}
`

// roomGrace is rooms.grace in the test configs.
const roomGrace = 5 * time.Minute

// roomsGatewayHead is the server, jitsi, session, store and rooms part of
// a rooms test config. token_lifetime is long so that the cap at the end
// of the lesson is what decides exp.
func roomsGatewayHead(addr, store string) string {
	return gatewayHead(addr, "", "token_lifetime: 8h") + fmt.Sprintf(`%s
rooms: {timezone: Europe/Berlin, open_early: 10m, grace: %s}
rate_limit: {per_user: 50, per_ip: 1000, window: 1m}
`, store, roomGrace)
}

// roomsStaticConfig is a rooms config with static users: two teachers, a
// student of class 7b and a parent in no group the rules or rooms name.
func roomsStaticConfig(t *testing.T, addr, store string) string {
	t.Helper()
	return roomsGatewayHead(addr, store) + fmt.Sprintf(`
backends:
  - id: demo
    type: static
    users:
      - {username: teacher1, password_hash: "%s", name: "Tina Teacher", groups: [teachers]}
      - {username: teacher2, password_hash: "%s", name: "Tom Teacher", groups: [teachers]}
      - {username: student1, password_hash: "%s", name: "Sam Student", groups: [7b]}
      - {username: parent, password_hash: "%s", name: "Pat Parent", groups: [parents]}
`, hash(t, "pw"), hash(t, "pw"), hash(t, "pw"), hash(t, "pw")) + roomRules
}

// sqliteStore and postgresStore are store sections for the test configs.
func sqliteStore(t *testing.T) string {
	return fmt.Sprintf("store: {driver: sqlite, path: %q}", filepath.Join(t.TempDir(), "rooms.db"))
}

func postgresStore(t *testing.T) string {
	dsn := testenv.PostgresDB(t, "gate_flow_")
	return fmt.Sprintf("store: {driver: postgres, dsn: %q}", dsn)
}

// writeConfig writes cfg where the rooms commands can read it.
func writeConfig(t *testing.T, cfg string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "config.yaml")
	if err := os.WriteFile(path, []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// roomsCreate runs `jitsi-gate rooms create -config path args...`.
func roomsCreate(t *testing.T, path string, args ...string) string {
	t.Helper()
	out, errOut, err := runCLI(t, "", nil, append([]string{"rooms", "create", "-config", path}, args...)...)
	if err != nil {
		t.Fatalf("rooms create %v: %v\n%s%s", args, err, out, errOut)
	}
	return out
}

// noonZone returns a fixed-offset zone (Etc/GMT±N) in which it is now
// between 12:00 and 12:59: slots around now then neither cross midnight nor
// depend on the time of day the test runs.
func noonZone(t *testing.T) *time.Location {
	t.Helper()
	h := 12 - time.Now().UTC().Hour() // -11 … 12; Etc/GMT-N is UTC+N
	name := "Etc/GMT"
	switch {
	case h > 0:
		name = fmt.Sprintf("Etc/GMT-%d", h)
	case h < 0:
		name = fmt.Sprintf("Etc/GMT+%d", -h)
	}
	loc, err := time.LoadLocation(name)
	if err != nil {
		t.Fatalf("load %s: %v", name, err)
	}
	return loc
}

func day(t time.Time) string { return strings.ToLower(t.Weekday().String()[:3]) }

// lessonPlan are the rooms of the flow tests, in a zone where it is now
// about noon.
type lessonPlan struct {
	loc *time.Location
	// mathe7b is open now, 11:00–13:59; its token must end at mathEnd+grace.
	mathEnd time.Time
	// physik9a is on a day three days from now, 11:00–11:45.
	physikNext time.Time
	// chemie7b starts within open_early: organizers may enter, others not.
	chemieStart, chemieEnd time.Time
}

// createLessons registers the rooms of the plan through the CLI.
func createLessons(t *testing.T, configPath, organizers, participants string) lessonPlan {
	t.Helper()
	loc := noonZone(t)
	now := time.Now().In(loc)
	y, m, d := now.Date()
	p := lessonPlan{loc: loc, mathEnd: time.Date(y, m, d, 13, 59, 0, 0, loc)}
	other := now.AddDate(0, 0, 3)
	oy, om, od := other.Date()
	p.physikNext = time.Date(oy, om, od, 11, 0, 0, 0, loc)
	// Two to three minutes from now: inside the 10m open_early, however
	// slow the test is until it asks.
	p.chemieStart = now.Add(2 * time.Minute).Truncate(time.Minute).Add(time.Minute)
	p.chemieEnd = p.chemieStart.Add(45 * time.Minute)

	tz := loc.String()
	out := roomsCreate(t, configPath, "-name", "Mathe 7b", "-organizers", organizers, "-participants", participants,
		"-weekly", day(now)+" 11:00-13:59", "-timezone", tz)
	if !strings.Contains(out, "/join/mathe7b") {
		t.Errorf("rooms create does not print the join link:\n%s", out)
	}
	roomsCreate(t, configPath, "-name", "Physik 9a", "-organizers", organizers, "-participants", participants,
		"-weekly", day(other)+" 11:00-11:45", "-timezone", tz)
	roomsCreate(t, configPath, "-name", "Chemie 7b", "-organizers", organizers, "-participants", participants,
		"-weekly", fmt.Sprintf("%s %s-%s", day(p.chemieStart), p.chemieStart.Format("15:04"), p.chemieEnd.Format("15:04")),
		"-timezone", tz, "-open-early", "10m")
	return p
}

// when is how the closed page words an instant (internal/i18n.When),
// spelled out here independently.
func when(at, now time.Time, lang string) string {
	deWeekdays := []string{"Sonntag", "Montag", "Dienstag", "Mittwoch", "Donnerstag", "Freitag", "Samstag"}
	deMonths := []string{"Januar", "Februar", "März", "April", "Mai", "Juni", "Juli", "August", "September", "Oktober", "November", "Dezember"}
	year := ""
	if at.Year() != now.In(at.Location()).Year() {
		year = fmt.Sprintf(" %d", at.Year())
	}
	if lang == "de" {
		return fmt.Sprintf("am %s, %d. %s%s um %s", deWeekdays[at.Weekday()], at.Day(), deMonths[at.Month()-1], year, at.Format("15:04"))
	}
	return fmt.Sprintf("on %s, %d %s%s at %s", at.Weekday(), at.Day(), at.Month(), year, at.Format("15:04"))
}

// joinAs logs user in (fresh browser) and asks /join/room.
func joinAs(t *testing.T, g *testGateway, user, pw, room string, header map[string]string) response {
	t.Helper()
	c := browser(t)
	if r := login(t, g, c, "", user, pw); r.status >= 400 {
		t.Fatalf("login %s: %d\n%s", user, r.status, r.body)
	}
	return doFrom(t, c, http.MethodGet, g.base+"/join/"+room, nil, header)
}

// expOf is the token's exp claim.
func expOf(t *testing.T, claims map[string]any) time.Time {
	t.Helper()
	exp, ok := claims["exp"].(float64)
	if !ok {
		t.Fatalf("exp = %#v", claims["exp"])
	}
	return time.Unix(int64(exp), 0)
}

// checkRoomDecisions walks the decisions of the recipe through g. The
// users: organizer (an organizer of every room), teacher (another
// teacher), participant (a participant through a group), outsider (in
// neither); all with the password pw.
func checkRoomDecisions(t *testing.T, g *testGateway, p lessonPlan, organizer, teacher, participant, outsider, pw string) {
	t.Helper()
	v := hsVerifier()
	const mathe = "https://meet.example.com/mathe7b"

	t.Run("organizer is owner until the lesson ends", func(t *testing.T) {
		tok := jitsiToken(t, v, joinAs(t, g, organizer, pw, "mathe7b", nil), mathe, "mathe7b", "")
		if !tok.Owner() || tok.User["affiliation"] != "owner" {
			t.Errorf("organizer's token is not an owner token: %v", tok.User)
		}
		if tok.Room != "mathe7b" {
			t.Errorf("room claim %q", tok.Room)
		}
		// token_lifetime 8h is capped at the end of the lesson plus the grace.
		if exp, want := expOf(t, tok.Claims), p.mathEnd.Add(roomGrace); !exp.Equal(want) {
			t.Errorf("exp = %v, want the window end + grace %v", exp.In(p.loc), want)
		}
	})
	t.Run("another teacher is member", func(t *testing.T) {
		tok := jitsiToken(t, v, joinAs(t, g, teacher, pw, "mathe7b", nil), mathe, "mathe7b", "")
		if tok.Owner() || tok.User["affiliation"] != "member" {
			t.Errorf("teacher's token: %v", tok.User)
		}
		if exp := expOf(t, tok.Claims); exp.After(p.mathEnd.Add(roomGrace)) {
			t.Errorf("exp %v is after the window end + grace", exp.In(p.loc))
		}
	})
	t.Run("participant through a group is member", func(t *testing.T) {
		tok := jitsiToken(t, v, joinAs(t, g, participant, pw, "mathe7b", nil), mathe, "mathe7b", "")
		if tok.Owner() || tok.User["affiliation"] != "member" {
			t.Errorf("participant's token: %v", tok.User)
		}
	})
	t.Run("neither organizer nor participant is denied", func(t *testing.T) {
		r := joinAs(t, g, outsider, pw, "mathe7b", nil)
		if r.status != http.StatusForbidden || r.location != "" || strings.Contains(r.body, "eyJ") {
			t.Fatalf("outsider: %d %q", r.status, r.location)
		}
		if !strings.Contains(r.body, "No access to this room") || !strings.Contains(r.body, "mathe7b") {
			t.Errorf("not the denied page:\n%s", r.body)
		}
	})
	t.Run("unregistered room is denied", func(t *testing.T) {
		r := joinAs(t, g, organizer, pw, "spontan", nil)
		if r.status != http.StatusForbidden || r.location != "" {
			t.Fatalf("unregistered room: %d %q", r.status, r.location)
		}
		if !strings.Contains(r.body, "No access to this room") || !strings.Contains(r.body, "unregistered") {
			t.Errorf("the denied page does not name the rule:\n%s", r.body)
		}
	})
	t.Run("room outside its window names the next slot", func(t *testing.T) {
		now := time.Now()
		// Too early even for the organizer, whose page says when they may
		// enter: open_early (10m) before the slot.
		for _, tt := range []struct {
			user, lang, want, early string
		}{
			{teacher, "en", "Physik 9a opens " + when(p.physikNext, now, "en") + ".", ""},
			{teacher, "de", "Physik 9a öffnet " + when(p.physikNext, now, "de") + ".", ""},
			{organizer, "en", "Physik 9a opens " + when(p.physikNext.Add(-10*time.Minute), now, "en") + ".",
				"Organizers may enter a little earlier"},
			{organizer, "de", "Physik 9a öffnet " + when(p.physikNext.Add(-10*time.Minute), now, "de") + ".",
				"Organisatorinnen und Organisatoren können etwas früher hinein"},
		} {
			r := joinAs(t, g, tt.user, pw, "physik9a", map[string]string{"Accept-Language": tt.lang})
			if r.status != http.StatusForbidden || r.location != "" || strings.Contains(r.body, "eyJ") {
				t.Fatalf("%s, %s: %d %q", tt.user, tt.lang, r.status, r.location)
			}
			if !strings.Contains(r.body, tt.want) {
				t.Errorf("%s, %s: the closed page does not say %q:\n%s", tt.user, tt.lang, tt.want, r.body)
			}
			if tt.early != "" && !strings.Contains(r.body, tt.early) {
				t.Errorf("%s, %s: the closed page does not tell the organizer about open_early:\n%s", tt.user, tt.lang, r.body)
			}
			if ra := r.header.Get("Retry-After"); ra == "" {
				t.Errorf("%s: no Retry-After", tt.user)
			}
		}
	})
	t.Run("organizer may open early, others wait", func(t *testing.T) {
		tok := jitsiToken(t, v, joinAs(t, g, organizer, pw, "chemie7b", nil), "https://meet.example.com/chemie7b", "chemie7b", "")
		if !tok.Owner() {
			t.Errorf("organizer within open_early: %v", tok.User)
		}
		if exp, want := expOf(t, tok.Claims), p.chemieEnd.Add(roomGrace); !exp.Equal(want) {
			t.Errorf("exp = %v, want the slot end + grace %v", exp.In(p.loc), want)
		}
		r := joinAs(t, g, teacher, pw, "chemie7b", map[string]string{"Accept-Language": "en"})
		if r.status != http.StatusForbidden {
			t.Fatalf("teacher before the slot: %d %q", r.status, r.location)
		}
		if want := "Chemie 7b opens today at " + p.chemieStart.Format("15:04") + "."; !strings.Contains(r.body, want) {
			t.Errorf("closed page does not say %q:\n%s", want, r.body)
		}
	})
}

// TestRoomsThroughTheGateway: the recipe's decisions with rooms created by
// the CLI, for both store drivers, and a room surviving a restart.
func TestRoomsThroughTheGateway(t *testing.T) {
	for _, driver := range []struct {
		name  string
		store func(*testing.T) string
	}{{"sqlite", sqliteStore}, {"postgres", postgresStore}} {
		t.Run(driver.name, func(t *testing.T) {
			store := driver.store(t)
			addr := freePort(t)
			cfg := roomsStaticConfig(t, addr, store)
			path := writeConfig(t, cfg)
			plan := createLessons(t, path, "teacher1", "group:7b")

			p := startProcess(t, addr, cfg)
			g := &testGateway{base: p.base, log: p.log}
			checkRoomDecisions(t, g, plan, "teacher1", "teacher2", "student1", "parent", "pw")

			logs := g.waitForLog(t, "room_role=organizer")
			if !strings.Contains(logs, `msg="room closed"`) || !strings.Contains(logs, "room_role=organizer") {
				t.Errorf("no audit line for the closed room:\n%s", logs)
			}

			// The room survives a restart on the same store.
			p.stop()
			if err := p.wait(t); err != nil {
				t.Fatalf("stop: %v", err)
			}
			addr2 := freePort(t)
			p2 := startProcess(t, addr2, roomsStaticConfig(t, addr2, store))
			g2 := &testGateway{base: p2.base, log: p2.log}
			tok := jitsiToken(t, hsVerifier(), joinAs(t, g2, "teacher1", "pw", "mathe7b", nil),
				"https://meet.example.com/mathe7b", "mathe7b", "")
			if !tok.Owner() {
				t.Errorf("after the restart the organizer is not owner: %v", tok.User)
			}
			if r := joinAs(t, g2, "parent", "pw", "mathe7b", nil); r.status != http.StatusForbidden {
				t.Errorf("after the restart the outsider gets %d", r.status)
			}
		})
	}
}

// TestRoomsWithLDAPGroups: organizer by name, participants by an LDAP
// group (test/infra/ldap/seed.ldif.tmpl: teacher1 and teacher2 are in
// teachers, student1 in students, guest and admin in neither).
func TestRoomsWithLDAPGroups(t *testing.T) {
	l := testenv.LDAP(t)
	addr := freePort(t)
	cfg := roomsGatewayHead(addr, sqliteStore(t)) + "\nbackends:\n" + schoolLDAPBackend(l, l.BindDN, l.BindPassword) + roomRules
	path := writeConfig(t, cfg)
	plan := createLessons(t, path, "teacher1", "group:students")
	g := startGateway(t, cfg, nil)
	g.backend = "school"

	v := hsVerifier()
	for _, tt := range []struct {
		user, pw string
		status   int
		owner    bool
	}{
		{"teacher1", "teacher1pass", http.StatusFound, true},
		{"teacher2", "teacher2pass", http.StatusFound, false},
		{"student1", "student1pass", http.StatusFound, false},
		{"guest", "guestpass", http.StatusForbidden, false},
		{"admin", "adminpass", http.StatusForbidden, false}, // staff, not teachers
	} {
		t.Run(tt.user, func(t *testing.T) {
			r := joinAs(t, g, tt.user, tt.pw, "mathe7b", nil)
			if tt.status == http.StatusForbidden {
				if r.status != http.StatusForbidden || !strings.Contains(r.body, "No access to this room") {
					t.Fatalf("%s: %d %q, want the denied page", tt.user, r.status, r.location)
				}
				return
			}
			tok := jitsiToken(t, v, r, "https://meet.example.com/mathe7b", "mathe7b", "")
			if tok.Owner() != tt.owner || tok.User["id"] != "school:"+tt.user {
				t.Errorf("%s: owner %v, want %v; %v", tt.user, tok.Owner(), tt.owner, tok.User)
			}
			if exp := expOf(t, tok.Claims); !exp.Equal(plan.mathEnd.Add(roomGrace)) {
				t.Errorf("exp %v, want %v", exp.In(plan.loc), plan.mathEnd.Add(roomGrace))
			}
		})
	}
	// A student is a participant of the closed room too: still closed.
	r := joinAs(t, g, "student1", "student1pass", "physik9a", map[string]string{"Accept-Language": "de"})
	if want := "Physik 9a öffnet " + when(plan.physikNext, time.Now(), "de"); r.status != http.StatusForbidden || !strings.Contains(r.body, want) {
		t.Errorf("closed room for an LDAP participant: %d, want %q:\n%s", r.status, want, r.body)
	}
}

// TestTwoGatewaysShareOnePostgres: a room created through one gateway's
// store (its CLI) is seen by another gateway process within the 1 s cache
// TTL, and so is its deletion.
func TestTwoGatewaysShareOnePostgres(t *testing.T) {
	store := postgresStore(t)
	addrA, addrB := freePort(t), freePort(t)
	cfgA := roomsStaticConfig(t, addrA, store)
	pathA := writeConfig(t, cfgA)
	startProcess(t, addrA, cfgA)
	pb := startProcess(t, addrB, roomsStaticConfig(t, addrB, store))
	b := &testGateway{base: pb.base, log: pb.log}

	c := browser(t)
	login(t, b, c, "", "teacher1", "pw")
	// B looks the room up first and caches "not registered".
	if r := do(t, c, http.MethodGet, b.base+"/join/neuraum", nil); r.status != http.StatusForbidden {
		t.Fatalf("before create: %d", r.status)
	}
	// seen waits until B's /join/neuraum gives want and returns how long
	// that took.
	seen := func(want int) time.Duration {
		t.Helper()
		start := time.Now()
		for {
			r := do(t, c, http.MethodGet, b.base+"/join/neuraum", nil)
			if r.status == want {
				return time.Since(start)
			}
			if time.Since(start) > 5*time.Second {
				t.Fatalf("B still answers %d after 5 s, want %d", r.status, want)
			}
			time.Sleep(25 * time.Millisecond)
		}
	}
	roomsCreate(t, pathA, "-name", "Neuraum", "-organizers", "teacher1")
	created := seen(http.StatusFound)
	out, errOut, err := runCLI(t, "", nil, "rooms", "delete", "-config", pathA, "-name", "Neuraum")
	if err != nil {
		t.Fatalf("rooms delete: %v\n%s%s", err, out, errOut)
	}
	deleted := seen(http.StatusForbidden)
	t.Logf("B saw the new room after %v and its deletion after %v", created, deleted)
	// 1 s TTL, plus a margin for a loaded 2-core machine.
	for what, d := range map[string]time.Duration{"creation": created, "deletion": deleted} {
		if d > 1500*time.Millisecond {
			t.Errorf("B saw the %s after %v, want within the 1 s cache TTL", what, d)
		}
	}
}

// TestExplainShowsTheRoom: explain prints the room part of the decision
// the Granter made: registered or not, the user's room_role, and the
// window (open now, opens at …, organizer early, always open).
func TestExplainShowsTheRoom(t *testing.T) {
	addr := closedAddr(t)
	path := writeConfig(t, roomsStaticConfig(t, addr, sqliteStore(t)))
	plan := createLessons(t, path, "teacher1", "group:7b")
	roomsCreate(t, path, "-name", "Lehrerzimmer", "-organizers", "group:teachers")
	at := func(tm time.Time) string { return tm.In(plan.loc).Format("Mon 2006-01-02 15:04 MST") }
	now := time.Now().In(plan.loc)
	y, m, d := now.Date()
	lessonStart := time.Date(y, m, d, 11, 0, 0, 0, plan.loc)

	tests := []struct {
		name, user, room string
		want             []string
		not              []string
	}{
		{"organizer in an open room", "teacher1", "Mathe 7b", []string{
			`Registry:   registered as "Mathe 7b", id `,
			"organizers:   teacher1", "participants: group:7b",
			"the user is:  organizer (room_role: organizer, registered)",
			fmt.Sprintf("window:       open now, %s – %s; tokens end %s (window end + rooms.grace 5m0s)",
				at(lessonStart), at(plan.mathEnd), at(plan.mathEnd.Add(roomGrace))),
			`Room "mathe7b": rule "organizers" → role owner`, `"affiliation": "owner"`,
		}, nil},
		{"participant through a group", "student1", "mathe7b", []string{
			"the user is:  participant (room_role: participant, registered)",
			`Room "mathe7b": rule "participants" → role member`,
		}, nil},
		{"in neither", "parent", "Mathe 7b", []string{
			"the user is:  neither organizer nor participant (room_role: registered)",
			"window:       open now",
			`Room "mathe7b": DENIED — no rule admits groups [parents] to room mathe7b (registered room; the user is neither organizer nor participant)`,
		}, []string{"Token claims"}},
		{"closed room", "teacher2", "Physik 9a", []string{
			"the user is:  neither organizer nor participant (room_role: registered)",
			fmt.Sprintf("window:       closed; opens %s for this user (slot %s – %s)", at(plan.physikNext),
				at(plan.physikNext), at(plan.physikNext.Add(45*time.Minute))),
			`Room "physik9a": DENIED — registered room outside its time window`,
		}, []string{"Token claims"}},
		{"organizer early", "teacher1", "Chemie 7b", []string{
			fmt.Sprintf("window:       organizer early: the slot starts %s, organizers may enter from %s; tokens end %s",
				at(plan.chemieStart), at(plan.chemieStart.Add(-10*time.Minute)), at(plan.chemieEnd.Add(roomGrace))),
			`Room "chemie7b": rule "organizers" → role owner`,
		}, nil},
		{"other teacher before the slot", "teacher2", "Chemie 7b", []string{
			fmt.Sprintf("window:       closed; opens %s for this user", at(plan.chemieStart)),
		}, nil},
		{"always open", "teacher2", "Lehrerzimmer", []string{
			"organizers:   group:teachers", "the user is:  organizer", "window:       always open (no time window)",
		}, nil},
		{"unregistered", "teacher1", "spontan", []string{
			"Registry:   not registered (room_role: unregistered)",
			`Room "spontan": DENIED — rule "unregistered" denies`,
		}, []string{"window:"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out, errOut, err := runCLI(t, "", nil, "explain", "-config", path, "-room", tt.room, tt.user)
			if err != nil {
				t.Fatalf("explain: %v\n%s%s", err, out, errOut)
			}
			for _, w := range tt.want {
				if !strings.Contains(out, w) {
					t.Errorf("explain does not say %q:\n%s", w, out)
				}
			}
			for _, w := range tt.not {
				if strings.Contains(out, w) {
					t.Errorf("explain says %q:\n%s", w, out)
				}
			}
		})
	}
}
