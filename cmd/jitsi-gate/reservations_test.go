package main

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/jitsi-gate/jitsi-gate/internal/reservation/prosodytest"
	"github.com/jitsi-gate/jitsi-gate/internal/store"
)

// Prosody's mod_reservations against the real program: every answer of
// docs/reference/jitsi-rooms-and-sso.md §1.5, field by field, for rooms
// created with the rooms command.

// reservationsToken is reservations.token in the test configs (≥ 32 bytes).
const reservationsToken = "reservations-token-0123456789abcdef0123456789"

// reservationsConfig is a gateway with the reservation API on, tenants
// allowed, and unregistered rooms handled by policy (deny or allow).
func reservationsConfig(t *testing.T, addr, store, policy string) string {
	t.Helper()
	return gatewayHead(addr, "", "tenants: [schule]") + fmt.Sprintf(`%s
rooms: {timezone: Europe/Berlin, open_early: 10m, grace: %s}
reservations:
  token: %q
  unregistered_rooms: %s
  default_duration: 3h
backends:
  - id: demo
    type: static
    users:
      - {username: teacher1, password_hash: "%s", groups: [teachers]}
`, store, roomGrace, reservationsToken, policy, hash(t, "pw")) + roomRules
}

// prosodyClient sends mod_reservations' requests to a gateway.
type prosodyClient struct {
	t    *testing.T
	base string // <public_url>/reservations
}

type apiAnswer struct {
	status int
	header http.Header
	body   []byte
}

func (p prosodyClient) do(method, path, body, authorization string) apiAnswer {
	p.t.Helper()
	req, err := prosodytest.NewRequest(method, p.base+path, body, authorization)
	if err != nil {
		p.t.Fatal(err)
	}
	resp, err := (&http.Client{Timeout: 10 * time.Second}).Do(req)
	if err != nil {
		p.t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return apiAnswer{status: resp.StatusCode, header: resp.Header, body: b}
}

func (p prosodyClient) create(node string) apiAnswer {
	p.t.Helper()
	return p.do(http.MethodPost, "/conference", prosodytest.CreateBody(node, time.Now()), "Bearer "+reservationsToken)
}

// message is the JSON message Prosody shows as "Error code: N, message: M".
func (a apiAnswer) message(t *testing.T) string {
	t.Helper()
	if ct := a.header.Get("Content-Type"); ct != "application/json" {
		t.Errorf("Content-Type = %q", ct)
	}
	var m struct {
		Message *string `json:"message"`
	}
	if err := json.Unmarshal(a.body, &m); err != nil || m.Message == nil {
		t.Fatalf("body %s has no JSON message: %v", a.body, err)
	}
	return *m.Message
}

// present stands for any value in checkReservation's want (start_time
// "now", checked separately).
type present struct{}

// checkReservation checks a 200 the way Prosody reads it and then every
// field against want: the same fields, nothing more.
func checkReservation(t *testing.T, a apiAnswer, node string, want map[string]any) map[string]any {
	t.Helper()
	if a.status != http.StatusOK {
		t.Fatalf("status %d, want 200; body %s", a.status, a.body)
	}
	if ct := a.header.Get("Content-Type"); ct != "application/json" {
		t.Errorf("Content-Type = %q", ct)
	}
	got, err := prosodytest.Check(a.body, node)
	if err != nil {
		t.Errorf("Prosody would reject the answer: %v", err)
	}
	for k, v := range want {
		if _, ok := got[k]; !ok {
			t.Errorf("no field %s", k)
			continue
		}
		if v == (present{}) {
			continue
		}
		if got[k] != v {
			t.Errorf("%s = %#v, want %#v", k, got[k], v)
		}
	}
	for k := range got {
		if _, ok := want[k]; !ok {
			t.Errorf("unexpected field %s = %#v", k, got[k])
		}
	}
	return got
}

func startTime(t time.Time) string { return t.UTC().Format("2006-01-02T15:04:05.000Z") }

func TestReservationAPIThroughTheGateway(t *testing.T) {
	dbPath := filepath.Join(t.TempDir(), "rooms.db")
	addr := freePort(t)
	cfg := reservationsConfig(t, addr, fmt.Sprintf("store: {driver: sqlite, path: %q}", dbPath), "deny")
	path := writeConfig(t, cfg)

	plan := createLessons(t, path, "teacher1", "group:7b")
	loc := plan.loc
	now := time.Now().In(loc)
	y, m, d := now.Date()
	lessonStart := time.Date(y, m, d, 11, 0, 0, 0, loc)
	tz := loc.String()
	// A tenant room with lobby, password (from stdin) and size, open now.
	out, errOut, err := runCLI(t, "geheim-42\n", nil, "rooms", "create", "-config", path, "-name", "Physik 9a", "-tenant", "schule",
		"-lobby", "-password", "-", "-max-occupants", "30", "-weekly", day(now)+" 11:00-13:59", "-timezone", tz)
	if err != nil {
		t.Fatalf("create the tenant room: %v\n%s%s", err, out, errOut)
	}
	roomsCreate(t, path, "-name", "Mathe Übung", "-weekly", day(now)+" 11:00-13:59", "-timezone", tz)
	roomsCreate(t, path, "-name", "Lehrerzimmer") // no schedule: always open
	ids := map[string]string{}
	listed, errOut, err := runCLI(t, "", nil, "rooms", "list", "-config", path, "-json")
	if err != nil {
		t.Fatalf("rooms list: %v\n%s", err, errOut)
	}
	var resources []struct{ ID, Room, Tenant string }
	if err := json.Unmarshal([]byte(listed), &resources); err != nil {
		t.Fatalf("rooms list -json: %v\n%s", err, listed)
	}
	for _, r := range resources {
		ids[r.Room+"@"+r.Tenant] = r.ID
	}

	startProcess(t, addr, cfg)
	api := prosodyClient{t: t, base: "http://" + addr + "/reservations"}
	lesson := int64(plan.mathEnd.Add(roomGrace).Sub(lessonStart) / time.Second) // 3 h 4 min

	t.Run("allowed", func(t *testing.T) {
		for _, tt := range []struct {
			name, node string
			want       map[string]any
		}{
			{"registered room inside its window", "mathe7b", map[string]any{"id": ids["mathe7b@"], "name": "mathe7b",
				"mail_owner": prosodytest.Owner, "start_time": startTime(lessonStart), "duration": float64(lesson)}},
			{"tenant room with lobby, password and size", "[schule]physik9a", map[string]any{"id": ids["physik9a@schule"],
				"name": "[schule]physik9a", "mail_owner": prosodytest.Owner, "start_time": startTime(lessonStart),
				"duration": float64(lesson), "lobby": true, "password": "geheim-42", "max_occupants": 30.0}},
			{"non-ASCII name as Prosody's node", "mathe%c3%bcbung", map[string]any{"id": ids["mathe%c3%bcbung@"],
				"name": "mathe%c3%bcbung", "mail_owner": prosodytest.Owner, "start_time": startTime(lessonStart), "duration": float64(lesson)}},
			{"organizer's open-early margin", "chemie7b", map[string]any{"id": ids["chemie7b@"], "name": "chemie7b",
				"mail_owner": prosodytest.Owner, "start_time": startTime(plan.chemieStart),
				"duration": float64((45*time.Minute + roomGrace) / time.Second)}},
		} {
			t.Run(tt.name, func(t *testing.T) {
				if tt.want["id"] == "" {
					t.Fatalf("no id for %s in rooms list: %v", tt.node, ids)
				}
				got := checkReservation(t, api.create(tt.node), tt.node, tt.want)
				exp, err := prosodytest.ExpiresAt(got)
				if err != nil || !exp.After(time.Now()) {
					t.Errorf("expires at %v (%v): Prosody would answer 419", exp, err)
				}
			})
		}
		// Always open: from now, for default_duration.
		before := time.Now().Truncate(time.Second)
		a := api.create("lehrerzimmer")
		got := checkReservation(t, a, "lehrerzimmer", map[string]any{"id": ids["lehrerzimmer@"], "name": "lehrerzimmer",
			"mail_owner": prosodytest.Owner, "start_time": present{}, "duration": 3.0 * 3600})
		if st, err := time.Parse("2006-01-02T15:04:05.000Z", fmt.Sprint(got["start_time"])); err != nil ||
			st.Before(before) || st.After(time.Now()) {
			t.Errorf("start_time %v of an always-open room, want now", got["start_time"])
		}
	})

	t.Run("refused", func(t *testing.T) {
		next := plan.physikNext
		closed := fmt.Sprintf("Physik 9a is closed now. It opens %s, %d %s %d at 11:00 (%s).",
			next.Weekday(), next.Day(), next.Month(), next.Year(), tz)
		for _, tt := range []struct {
			name, node string
			status     int
			message    string
		}{
			{"outside the window: the next slot", "physik9a", 403, closed},
			{"unregistered room", "spontan", 403, "There is no meeting room with this name. Please check the link you were given."},
			{"same name in another tenant", "[schule]mathe7b", 403, "There is no meeting room with this name. Please check the link you were given."},
			{"not Jitsi's backend-safe form", "mathe%2d7b", 403, "There is no meeting room with this name. Please check the link you were given."},
		} {
			t.Run(tt.name, func(t *testing.T) {
				a := api.create(tt.node)
				if a.status != tt.status {
					t.Fatalf("status %d, want %d; body %s", a.status, tt.status, a.body)
				}
				if got := a.message(t); got != tt.message {
					t.Errorf("message %q, want %q", got, tt.message)
				}
			})
		}
	})

	t.Run("401 without the right token", func(t *testing.T) {
		body := prosodytest.CreateBody("mathe7b", time.Now())
		for _, tt := range []struct{ name, method, path, auth string }{
			{"no header", http.MethodPost, "/conference", ""},
			{"wrong token", http.MethodPost, "/conference", "Bearer wrong-" + reservationsToken},
			{"token without scheme", http.MethodPost, "/conference", reservationsToken},
			{"basic", http.MethodPost, "/conference", "Basic " + reservationsToken},
			{"GET without token", http.MethodGet, "/conference/" + ids["mathe7b@"], ""},
			{"DELETE with a wrong token", http.MethodDelete, "/conference/" + ids["mathe7b@"], "Bearer x"},
		} {
			b := ""
			if tt.method == http.MethodPost {
				b = body
			}
			a := api.do(tt.method, tt.path, b, tt.auth)
			if a.status != http.StatusUnauthorized || !strings.HasPrefix(a.header.Get("WWW-Authenticate"), "Bearer ") {
				t.Errorf("%s: %d, WWW-Authenticate %q", tt.name, a.status, a.header.Get("WWW-Authenticate"))
				continue
			}
			if msg := a.message(t); msg != "This request needs the reservation API token." {
				t.Errorf("%s: message %q", tt.name, msg)
			}
		}
	})

	t.Run("GET by id after a 409", func(t *testing.T) {
		a := api.do(http.MethodGet, "/conference/"+ids["physik9a@schule"], "", "Bearer "+reservationsToken)
		checkReservation(t, a, "[schule]physik9a", map[string]any{"id": ids["physik9a@schule"], "name": "[schule]physik9a",
			"mail_owner": "jitsi-gate", "start_time": startTime(lessonStart), "duration": float64(lesson),
			"lobby": true, "password": "geheim-42", "max_occupants": 30.0})
		a = api.do(http.MethodGet, "/conference/"+ids["physik9a@"], "", "Bearer "+reservationsToken)
		if a.status != http.StatusForbidden || !strings.Contains(a.message(t), "It opens") {
			t.Errorf("GET of a closed room: %d %s", a.status, a.body)
		}
		for _, id := range []string{"7.0", "no-such-room"} {
			a := api.do(http.MethodGet, "/conference/"+id, "", "Bearer "+reservationsToken)
			if a.status != http.StatusNotFound || a.message(t) != "There is no reservation with this id." {
				t.Errorf("GET %s: %d %s", id, a.status, a.body)
			}
		}
	})

	t.Run("DELETE records the end", func(t *testing.T) {
		before := time.Now().Truncate(time.Second)
		a := api.do(http.MethodDelete, "/conference/"+ids["mathe7b@"], "", "Bearer "+reservationsToken)
		if a.status != http.StatusNoContent || len(a.body) != 0 {
			t.Fatalf("DELETE: %d %q", a.status, a.body)
		}
		st, err := store.Open(context.Background(), store.Config{Driver: store.DriverSQLite, Path: dbPath}, slog.New(slog.DiscardHandler))
		if err != nil {
			t.Fatal(err)
		}
		defer st.Close()
		rec, err := st.Room(context.Background(), ids["mathe7b@"])
		if err != nil || rec.LastEndedAt.Before(before) || rec.LastEndedAt.After(time.Now()) {
			t.Errorf("the end of the meeting is not recorded: %v, %v", rec.LastEndedAt, err)
		}
		a = api.do(http.MethodDelete, "/conference/101.0", "", "Bearer "+reservationsToken)
		if a.status != http.StatusNotFound {
			t.Errorf("DELETE of an unknown id: %d %s", a.status, a.body)
		}
	})
}

// TestReservationAPIAllowsUnregisteredRooms: unregistered_rooms: allow
// reserves any room for default_duration under an id the DELETE and GET
// recognise.
func TestReservationAPIAllowsUnregisteredRooms(t *testing.T) {
	addr := freePort(t)
	startProcess(t, addr, reservationsConfig(t, addr, sqliteStore(t), "allow"))
	api := prosodyClient{t: t, base: "http://" + addr + "/reservations"}
	for _, node := range []string{"spontan", "[schule]spontan"} {
		id := "unregistered-" + base64.RawURLEncoding.EncodeToString([]byte(node))
		before := time.Now().Truncate(time.Second)
		got := checkReservation(t, api.create(node), node, map[string]any{"id": id, "name": node,
			"mail_owner": prosodytest.Owner, "start_time": present{}, "duration": 3.0 * 3600})
		if st, err := time.Parse("2006-01-02T15:04:05.000Z", fmt.Sprint(got["start_time"])); err != nil || st.Before(before) || st.After(time.Now()) {
			t.Errorf("%s: start_time %v, want now", node, got["start_time"])
		}
		a := api.do(http.MethodGet, "/conference/"+id, "", "Bearer "+reservationsToken)
		checkReservation(t, a, node, map[string]any{"id": id, "name": node, "mail_owner": "jitsi-gate", "start_time": present{}, "duration": 3.0 * 3600})
		if a := api.do(http.MethodDelete, "/conference/"+id, "", "Bearer "+reservationsToken); a.status != http.StatusNoContent {
			t.Errorf("%s: DELETE %d %s", node, a.status, a.body)
		}
	}
}

// TestShortReservationsTokenIsRefused: check-config and serve refuse a
// token shorter than 32 bytes alike, from the config and from a file.
func TestShortReservationsTokenIsRefused(t *testing.T) {
	dir := t.TempDir()
	short := filepath.Join(dir, "token")
	// 30 bytes once the trailing newline is dropped.
	if err := os.WriteFile(short, []byte("0123456789abcdef0123456789abcd\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	addr := closedAddr(t)
	base := strings.Replace(reservationsConfig(t, addr, sqliteStore(t), "deny"), fmt.Sprintf("token: %q", reservationsToken), "TOKEN", 1)
	for _, tt := range []struct{ name, token, key, want string }{
		{"token", `token: "0123456789abcdef0123456789abcde"`, "reservations.token (line", "is 31 bytes, need at least 32"},
		{"token_file", fmt.Sprintf("token_file: %q", short), "reservations.token_file (line", "is 30 bytes, need at least 32"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			path := writeConfig(t, strings.Replace(base, "TOKEN", tt.token, 1))
			out, errOut, err := runCLI(t, "", nil, "check-config", "-config", path)
			if exitCode(err) != 1 || !strings.Contains(out+errOut, tt.key) || !strings.Contains(out+errOut, tt.want) {
				t.Errorf("check-config: exit %d\n%s%s", exitCode(err), out, errOut)
			}
			out, errOut, err = runCLI(t, "", nil, "serve", "-config", path)
			if exitCode(err) != 1 || !strings.Contains(out+errOut, tt.key) || !strings.Contains(out+errOut, tt.want) {
				t.Errorf("serve: exit %d\n%s%s", exitCode(err), out, errOut)
			}
		})
	}
}
