package reservation

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jitsi-gate/jitsi-gate/internal/reservation/prosodytest"
	"github.com/jitsi-gate/jitsi-gate/internal/schedule"
)

const (
	testToken    = "s3cret-reservation-token"
	testPrefix   = "/reservations"
	prosodyOwner = prosodytest.Owner
)

// memRooms is an in-memory registry.
type memRooms struct {
	mu      sync.Mutex
	byName  map[string]Room
	byID    map[string]Room
	ended   []endedCall
	lookups int
	err     error // returned by every method when set
}

type endedCall struct {
	id string
	at time.Time
}

func newMemRooms(rooms ...Room) *memRooms {
	m := &memRooms{byName: map[string]Room{}, byID: map[string]Room{}}
	for _, r := range rooms {
		m.byName[r.Tenant+"\x00"+r.Name] = r
		m.byID[r.ID] = r
	}
	return m
}

func (m *memRooms) Lookup(_ context.Context, tenant, safeName string) (Room, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.lookups++
	if m.err != nil {
		return Room{}, m.err
	}
	r, ok := m.byName[tenant+"\x00"+safeName]
	if !ok {
		return Room{}, fmt.Errorf("lookup %q/%q: %w", tenant, safeName, ErrNotFound)
	}
	return r, nil
}

func (m *memRooms) ByID(_ context.Context, id string) (Room, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.err != nil {
		return Room{}, m.err
	}
	r, ok := m.byID[id]
	if !ok {
		return Room{}, ErrNotFound
	}
	return r, nil
}

func (m *memRooms) Ended(_ context.Context, id string, at time.Time) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.err != nil {
		return m.err
	}
	if _, ok := m.byID[id]; !ok {
		return ErrNotFound
	}
	m.ended = append(m.ended, endedCall{id, at})
	return nil
}

// now is Monday 2026-09-07 08:10 in Berlin, inside the first lesson.
var now = time.Date(2026, 9, 7, 6, 10, 0, 0, time.UTC)

func mustSchedule(t testing.TB, spec schedule.Spec) schedule.Schedule {
	t.Helper()
	s, err := schedule.Parse(spec)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func lessons(t testing.TB) schedule.Schedule {
	return mustSchedule(t, schedule.Spec{Timezone: "Europe/Berlin", Weekly: "mon 08:00-08:45,thu 10:00-10:45",
		ValidFrom: "2026-09-01", ValidUntil: "2027-07-31", OpenEarly: 10 * time.Minute})
}

func testRooms(t testing.TB) *memRooms {
	return newMemRooms(
		Room{ID: "r-101", Name: "mathe-7b", Title: "Mathe 7b", Owner: "mathe-lehrerin", Schedule: lessons(t)},
		Room{ID: "r-102", Name: "physik-9a", Tenant: "schule", Title: "Physik 9a", Lobby: true,
			Password: "geheim-42", MaxOccupants: 30, Schedule: lessons(t)},
		Room{ID: "r-103", Name: "mathe-%c3%bcbung", Schedule: lessons(t)}, // no title: named as typed
		Room{ID: "r-104", Name: "lehrerzimmer"},                           // no schedule: always open
		Room{ID: "r-105", Name: "doppelstunde", Schedule: mustSchedule(t, schedule.Spec{Timezone: "Europe/Berlin",
			Weekly: "mon 08:00-08:45,mon 08:45-09:30"})},
		Room{ID: "r-106", Name: "vorjahr", Schedule: mustSchedule(t, schedule.Spec{Timezone: "Europe/Berlin",
			Weekly: "mon 08:00-08:45", ValidFrom: "2025-09-01", ValidUntil: "2026-07-31"})},
		Room{ID: "r 107", Name: "kaputt"}, // an id Prosody could not put into a path
	)
}

type fixture struct {
	h     http.Handler
	rooms *memRooms
	logs  *bytes.Buffer
	now   time.Time
}

func newFixture(t testing.TB, mod func(*Options)) *fixture {
	t.Helper()
	f := &fixture{rooms: testRooms(t), logs: &bytes.Buffer{}, now: now}
	opts := Options{
		Token:  testToken,
		Prefix: testPrefix,
		Rooms:  f.rooms,
		Log:    slog.New(slog.NewJSONHandler(f.logs, nil)),
		Now:    func() time.Time { return f.now },
	}
	if mod != nil {
		mod(&opts)
	}
	h, err := New(opts)
	if err != nil {
		t.Fatal(err)
	}
	f.h = h
	return f
}

var (
	prosodyEncode = prosodytest.Encode
	javaDate      = prosodytest.JavaDate
)

// prosodyRequest builds a request the way mod_reservations sends it.
func prosodyRequest(method, path, body, authorization string) *http.Request {
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req := httptest.NewRequest(method, "http://127.0.0.1:5280"+path, rd)
	req.RemoteAddr = "127.0.0.1:40000"
	req.Header.Set("User-Agent", "Prosody (0.12.3; posix)")
	if body != "" {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	if authorization != "" {
		req.Header.Set("Authorization", authorization)
	}
	return req
}

func (f *fixture) post(node string) *httptest.ResponseRecorder {
	body := prosodyEncode(map[string]string{"name": node, "start_time": javaDate(f.now), "mail_owner": prosodyOwner})
	return f.do(prosodyRequest(http.MethodPost, testPrefix+"/conference", body, "Bearer "+testToken))
}

func (f *fixture) do(req *http.Request) *httptest.ResponseRecorder {
	rec := httptest.NewRecorder()
	f.h.ServeHTTP(rec, req)
	return rec
}

// prosodyAccepts checks a 200 body the way Prosody reads it.
func prosodyAccepts(t *testing.T, body []byte, node string) map[string]any {
	t.Helper()
	data, err := prosodytest.Check(body, node)
	if err != nil {
		t.Error(err)
	}
	if data == nil {
		t.FailNow()
	}
	return data
}

func messageOf(t *testing.T, rec *httptest.ResponseRecorder) string {
	t.Helper()
	if ct := rec.Header().Get("Content-Type"); ct != "application/json" {
		t.Errorf("Content-Type = %q", ct)
	}
	var m struct {
		Message *string `json:"message"`
	}
	if err := json.Unmarshal(rec.Body.Bytes(), &m); err != nil || m.Message == nil {
		t.Fatalf("body %s has no JSON message: %v", rec.Body, err)
	}
	return *m.Message
}

// TestCreateAllowed covers the 200 answers, checked field by field.
func TestCreateAllowed(t *testing.T) {
	tests := []struct {
		name   string
		node   string
		at     time.Time
		mod    func(*Options)
		want   map[string]any // every field of the body, nothing else
		tenant string
		room   string
	}{
		{name: "registered room inside its window", node: "mathe-7b", room: "mathe-7b",
			want: map[string]any{"id": "r-101", "name": "mathe-7b", "mail_owner": "mathe-lehrerin",
				"start_time": "2026-09-07T06:00:00.000Z", "duration": 45.0*60 + 10*60}},
		{name: "tenant room with lobby, password and size", node: "[schule]physik-9a", tenant: "schule", room: "physik-9a",
			want: map[string]any{"id": "r-102", "name": "[schule]physik-9a", "mail_owner": prosodyOwner,
				"start_time": "2026-09-07T06:00:00.000Z", "duration": 3300.0,
				"lobby": true, "password": "geheim-42", "max_occupants": 30.0}},
		{name: "non-ASCII name as Prosody's node", node: "mathe-%c3%bcbung", room: "mathe-%c3%bcbung",
			want: map[string]any{"id": "r-103", "name": "mathe-%c3%bcbung", "mail_owner": prosodyOwner,
				"start_time": "2026-09-07T06:00:00.000Z", "duration": 3300.0}},
		{name: "organizer's open-early margin", node: "mathe-7b", at: time.Date(2026, 9, 7, 5, 52, 0, 0, time.UTC), room: "mathe-7b",
			want: map[string]any{"id": "r-101", "name": "mathe-7b", "mail_owner": "mathe-lehrerin",
				"start_time": "2026-09-07T06:00:00.000Z", "duration": 3300.0}},
		{name: "last minute of the lesson", node: "mathe-7b", at: time.Date(2026, 9, 7, 6, 44, 59, 0, time.UTC), room: "mathe-7b",
			want: map[string]any{"id": "r-101", "name": "mathe-7b", "mail_owner": "mathe-lehrerin",
				"start_time": "2026-09-07T06:00:00.000Z", "duration": 3300.0}},
		{name: "after the switch to winter time", node: "mathe-7b", at: time.Date(2026, 10, 26, 7, 5, 0, 0, time.UTC), room: "mathe-7b",
			want: map[string]any{"id": "r-101", "name": "mathe-7b", "mail_owner": "mathe-lehrerin",
				"start_time": "2026-10-26T07:00:00.000Z", "duration": 3300.0}},
		{name: "double lesson is one reservation", node: "doppelstunde", room: "doppelstunde",
			want: map[string]any{"id": "r-105", "name": "doppelstunde", "mail_owner": prosodyOwner,
				"start_time": "2026-09-07T06:00:00.000Z", "duration": 90.0*60 + 10*60}},
		{name: "configured grace", node: "mathe-7b", room: "mathe-7b", mod: func(o *Options) { o.Grace = 2 * time.Minute },
			want: map[string]any{"id": "r-101", "name": "mathe-7b", "mail_owner": "mathe-lehrerin",
				"start_time": "2026-09-07T06:00:00.000Z", "duration": 47.0 * 60}},
		{name: "no grace", node: "mathe-7b", room: "mathe-7b", mod: func(o *Options) { o.Grace = -1 },
			want: map[string]any{"id": "r-101", "name": "mathe-7b", "mail_owner": "mathe-lehrerin",
				"start_time": "2026-09-07T06:00:00.000Z", "duration": 45.0 * 60}},
		{name: "registered room without schedule", node: "lehrerzimmer", room: "lehrerzimmer",
			want: map[string]any{"id": "r-104", "name": "lehrerzimmer", "mail_owner": prosodyOwner,
				"start_time": "2026-09-07T06:10:00.000Z", "duration": 86400.0}},
		{name: "unregistered room allowed", node: "spontan", room: "spontan",
			mod: func(o *Options) { o.UnregisteredRooms = Allow; o.DefaultDuration = 3 * time.Hour },
			want: map[string]any{"id": "unregistered-c3BvbnRhbg", "name": "spontan", "mail_owner": prosodyOwner,
				"start_time": "2026-09-07T06:10:00.000Z", "duration": 3.0 * 3600}},
		{name: "unregistered tenant room allowed", node: "[schule]spontan", tenant: "schule", room: "spontan",
			mod: func(o *Options) { o.UnregisteredRooms = Allow },
			want: map[string]any{"id": "unregistered-W3NjaHVsZV1zcG9udGFu", "name": "[schule]spontan", "mail_owner": prosodyOwner,
				"start_time": "2026-09-07T06:10:00.000Z", "duration": 86400.0}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFixture(t, tt.mod)
			if !tt.at.IsZero() {
				f.now = tt.at
			}
			rec := f.post(tt.node)
			if rec.Code != http.StatusOK {
				t.Fatalf("status %d, body %s", rec.Code, rec.Body)
			}
			if ct := rec.Header().Get("Content-Type"); ct != "application/json" {
				t.Errorf("Content-Type = %q", ct)
			}
			got := prosodyAccepts(t, rec.Body.Bytes(), tt.node)
			for k, v := range tt.want {
				if got[k] != v {
					t.Errorf("%s = %#v, want %#v", k, got[k], v)
				}
			}
			for k := range got {
				if _, ok := tt.want[k]; !ok {
					t.Errorf("unexpected field %s = %#v", k, got[k])
				}
			}
			// Prosody's expiry is start_time + duration: the window end plus the grace.
			st, _ := time.Parse(startTimeLayout, got["start_time"].(string))
			if exp := st.Add(time.Duration(got["duration"].(float64)) * time.Second); !exp.After(f.now) {
				t.Errorf("expires at %v, not after now %v: Prosody would answer 419", exp, f.now)
			}
		})
	}
}

// TestCreateRefused covers the non-200 answers a user reads in Jitsi as
// "Error code: N, message: M".
func TestCreateRefused(t *testing.T) {
	tests := []struct {
		name    string
		node    string
		at      time.Time
		mod     func(*Options)
		status  int
		message string
		lookups int
	}{
		{name: "before the lesson, even for organizers", node: "mathe-7b", at: time.Date(2026, 9, 7, 5, 49, 0, 0, time.UTC),
			status: 403, message: "Mathe 7b is closed now. It opens Monday, 7 September 2026 at 08:00 (Europe/Berlin).", lookups: 1},
		{name: "after the lesson", node: "mathe-7b", at: time.Date(2026, 9, 7, 6, 45, 0, 0, time.UTC),
			status: 403, message: "Mathe 7b is closed now. It opens Thursday, 10 September 2026 at 10:00 (Europe/Berlin).", lookups: 1},
		{name: "tenant room outside its window", node: "[schule]physik-9a", at: time.Date(2026, 9, 8, 12, 0, 0, 0, time.UTC),
			status: 403, message: "Physik 9a is closed now. It opens Thursday, 10 September 2026 at 10:00 (Europe/Berlin).", lookups: 1},
		{name: "room without title", node: "mathe-%c3%bcbung", at: time.Date(2026, 9, 8, 12, 0, 0, 0, time.UTC),
			status: 403, message: "mathe-übung is closed now. It opens Thursday, 10 September 2026 at 10:00 (Europe/Berlin).", lookups: 1},
		{name: "term over", node: "vorjahr", status: 403, message: "vorjahr is closed and has no more scheduled times.", lookups: 1},
		{name: "unregistered room", node: "geheimraum", status: 403, message: DefaultUnregisteredMessage, lookups: 1},
		{name: "same name under another tenant", node: "[andere]physik-9a", status: 403, message: DefaultUnregisteredMessage, lookups: 1},
		{name: "unregistered room, own message", node: "geheimraum", mod: func(o *Options) { o.UnregisteredMessage = "Nur angelegte Räume." },
			status: 403, message: "Nur angelegte Räume.", lookups: 1},
		{name: "not a backend-safe name", node: "mathe%2d7b", status: 403, message: DefaultUnregisteredMessage},
		{name: "not a room Jitsi computes", node: "a%41", status: 403, message: DefaultUnregisteredMessage},
		{name: "broken tenant", node: "[schule", status: 403, message: DefaultUnregisteredMessage},
		{name: "invalid tenant", node: "[-x-]raum", status: 403, message: DefaultUnregisteredMessage},
		{name: "closed message hook", node: "mathe-7b", at: time.Date(2026, 9, 7, 6, 45, 0, 0, time.UTC),
			mod: func(o *Options) {
				o.Closed = func(title string, next schedule.Occurrence, ok bool) string {
					return fmt.Sprintf("%s öffnet %s", title, next.Start.Format("02.01. 15:04"))
				}
			},
			status: 403, message: "Mathe 7b öffnet 10.09. 10:00", lookups: 1},
		{name: "registry id unusable", node: "kaputt", status: 500, message: "The room registry returned an unusable room id.", lookups: 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFixture(t, tt.mod)
			if !tt.at.IsZero() {
				f.now = tt.at
			}
			rec := f.post(tt.node)
			if rec.Code != tt.status {
				t.Fatalf("status %d, want %d; body %s", rec.Code, tt.status, rec.Body)
			}
			if got := messageOf(t, rec); got != tt.message {
				t.Errorf("message %q, want %q", got, tt.message)
			}
			if f.rooms.lookups != tt.lookups {
				t.Errorf("%d registry lookups, want %d", f.rooms.lookups, tt.lookups)
			}
		})
	}
}

func TestRegistryDownIsRetried(t *testing.T) {
	f := newFixture(t, nil)
	f.rooms.err = errors.New("database is locked")
	rec := f.post("mathe-7b")
	// 5xx: Prosody retries, then fails closed.
	if rec.Code != http.StatusServiceUnavailable || !strings.Contains(messageOf(t, rec), "try again") {
		t.Fatalf("status %d, body %s", rec.Code, rec.Body)
	}
	if !strings.Contains(f.logs.String(), "database is locked") {
		t.Errorf("the cause is not in the log: %s", f.logs)
	}
}

func TestBadRequests(t *testing.T) {
	f := newFixture(t, nil)
	auth := "Bearer " + testToken
	huge := prosodyEncode(map[string]string{"name": strings.Repeat("x", MaxBodyBytes), "mail_owner": prosodyOwner})
	jsonReq := prosodyRequest(http.MethodPost, testPrefix+"/conference", `{"name":"mathe-7b"}`, auth)
	jsonReq.Header.Set("Content-Type", "application/json")
	tests := []struct {
		name   string
		req    *http.Request
		status int
		allow  string
	}{
		{"no name", prosodyRequest(http.MethodPost, testPrefix+"/conference",
			prosodyEncode(map[string]string{"start_time": javaDate(now), "mail_owner": prosodyOwner}), auth), 400, ""},
		{"name only in the query", prosodyRequest(http.MethodPost, testPrefix+"/conference?name=mathe-7b",
			prosodyEncode(map[string]string{"mail_owner": prosodyOwner}), auth), 400, ""},
		{"JSON body", jsonReq, 415, ""},
		{"no body", prosodyRequest(http.MethodPost, testPrefix+"/conference", "", auth), 415, ""},
		{"oversized body", prosodyRequest(http.MethodPost, testPrefix+"/conference", huge, auth), 413, ""},
		{"GET /conference", prosodyRequest(http.MethodGet, testPrefix+"/conference", "", auth), 405, "POST"},
		{"PUT /conference/r-101", prosodyRequest(http.MethodPut, testPrefix+"/conference/r-101", "", auth), 405, "GET, DELETE"},
		{"POST /conference/r-101", prosodyRequest(http.MethodPost, testPrefix+"/conference/r-101", "a=b", auth), 405, "GET, DELETE"},
		{"unknown path", prosodyRequest(http.MethodGet, testPrefix+"/conferences", "", auth), 404, ""},
		{"nested id", prosodyRequest(http.MethodGet, testPrefix+"/conference/r-101/x", "", auth), 404, ""},
		{"empty id", prosodyRequest(http.MethodGet, testPrefix+"/conference/", "", auth), 404, ""},
		{"no prefix", prosodyRequest(http.MethodPost, "/conference", "name=mathe%2d7b", auth), 404, ""},
		// A reservations_api_prefix ending in '/' makes Prosody send //conference.
		{"double slash", prosodyRequest(http.MethodPost, testPrefix+"//conference", "name=mathe%2d7b", auth), 404, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rec := f.do(tt.req)
			if rec.Code != tt.status {
				t.Fatalf("status %d, want %d; body %s", rec.Code, tt.status, rec.Body)
			}
			messageOf(t, rec)
			if got := rec.Header().Get("Allow"); got != tt.allow {
				t.Errorf("Allow = %q, want %q", got, tt.allow)
			}
		})
	}
	if f.rooms.lookups != 0 {
		t.Errorf("bad requests reached the registry %d times", f.rooms.lookups)
	}
}

func TestUnauthorized(t *testing.T) {
	body := prosodyEncode(map[string]string{"name": "mathe-7b", "start_time": javaDate(now), "mail_owner": prosodyOwner})
	tests := []struct {
		name, method, path, auth string
		status                   int
	}{
		{"no header", http.MethodPost, "/conference", "", 401},
		{"wrong token", http.MethodPost, "/conference", "Bearer wrong-token", 401},
		{"token prefix", http.MethodPost, "/conference", "Bearer " + testToken[:10], 401},
		{"token plus more", http.MethodPost, "/conference", "Bearer " + testToken + "x", 401},
		{"scheme only", http.MethodPost, "/conference", "Bearer", 401},
		{"empty token", http.MethodPost, "/conference", "Bearer ", 401},
		{"token without scheme", http.MethodPost, "/conference", testToken, 401},
		{"basic auth", http.MethodPost, "/conference", "Basic " + testToken, 401},
		{"GET without token", http.MethodGet, "/conference/r-101", "", 401},
		{"DELETE without token", http.MethodDelete, "/conference/r-101", "", 401},
		{"unknown path without token", http.MethodGet, "/admin", "", 401},
		{"scheme is case-insensitive", http.MethodPost, "/conference", "bearer " + testToken, 200},
		{"extra spaces", http.MethodPost, "/conference", "Bearer   " + testToken, 200},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFixture(t, nil)
			b := ""
			if tt.method == http.MethodPost {
				b = body
			}
			rec := f.do(prosodyRequest(tt.method, testPrefix+tt.path, b, tt.auth))
			if rec.Code != tt.status {
				t.Fatalf("status %d, want %d; body %s", rec.Code, tt.status, rec.Body)
			}
			if tt.status != 401 {
				return
			}
			if got := rec.Header().Get("WWW-Authenticate"); !strings.HasPrefix(got, "Bearer ") {
				t.Errorf("WWW-Authenticate = %q", got)
			}
			messageOf(t, rec)
			if f.rooms.lookups != 0 || len(f.rooms.ended) != 0 {
				t.Error("an unauthorized request reached the registry")
			}
			if strings.Contains(f.logs.String(), "wrong-token") || strings.Contains(f.logs.String(), testToken[:10]) {
				t.Errorf("a token is in the log: %s", f.logs)
			}
		})
	}
}

func TestGetByID(t *testing.T) {
	auth := "Bearer " + testToken
	f := newFixture(t, nil)
	rec := f.do(prosodyRequest(http.MethodGet, testPrefix+"/conference/r-102", "", auth))
	if rec.Code != http.StatusOK { // the GET after a 409 refuses 201
		t.Fatalf("status %d, body %s", rec.Code, rec.Body)
	}
	got := prosodyAccepts(t, rec.Body.Bytes(), "[schule]physik-9a")
	if got["id"] != "r-102" || got["start_time"] != "2026-09-07T06:00:00.000Z" || got["duration"] != 3300.0 ||
		got["password"] != "geheim-42" || got["lobby"] != true || got["max_occupants"] != 30.0 || got["mail_owner"] != "jitsi-gate" {
		t.Errorf("body %v", got)
	}

	f.now = time.Date(2026, 9, 8, 12, 0, 0, 0, time.UTC)
	rec = f.do(prosodyRequest(http.MethodGet, testPrefix+"/conference/r-101", "", auth))
	if rec.Code != http.StatusForbidden || !strings.Contains(messageOf(t, rec), "opens Thursday") {
		t.Errorf("outside the window: %d %s", rec.Code, rec.Body)
	}

	for _, id := range []string{"r-999", "7.0", "unregistered-c3BvbnRhbg"} {
		rec = f.do(prosodyRequest(http.MethodGet, testPrefix+"/conference/"+id, "", auth))
		if rec.Code != http.StatusNotFound || messageOf(t, rec) != "There is no reservation with this id." {
			t.Errorf("GET %s: %d %s", id, rec.Code, rec.Body)
		}
	}

	allow := newFixture(t, func(o *Options) { o.UnregisteredRooms = Allow })
	rec = allow.do(prosodyRequest(http.MethodGet, testPrefix+"/conference/unregistered-c3BvbnRhbg", "", auth))
	if rec.Code != http.StatusOK {
		t.Fatalf("GET of an allowed unregistered id: %d %s", rec.Code, rec.Body)
	}
	prosodyAccepts(t, rec.Body.Bytes(), "spontan")
}

func TestDelete(t *testing.T) {
	auth := "Bearer " + testToken
	f := newFixture(t, nil)
	f.now = time.Date(2026, 9, 7, 6, 56, 0, 0, time.UTC)
	rec := f.do(prosodyRequest(http.MethodDelete, testPrefix+"/conference/r-101", "", auth))
	if rec.Code != http.StatusNoContent || rec.Body.Len() != 0 {
		t.Fatalf("status %d, body %q", rec.Code, rec.Body)
	}
	if len(f.rooms.ended) != 1 || f.rooms.ended[0].id != "r-101" || !f.rooms.ended[0].at.Equal(f.now) {
		t.Fatalf("ended = %+v", f.rooms.ended)
	}

	rec = f.do(prosodyRequest(http.MethodDelete, testPrefix+"/conference/101.0", "", auth))
	if rec.Code != http.StatusNotFound {
		t.Errorf("unknown id: %d %s", rec.Code, rec.Body)
	}
	// An id this handler gave an unregistered room (under Allow).
	rec = f.do(prosodyRequest(http.MethodDelete, testPrefix+"/conference/unregistered-c3BvbnRhbg", "", auth))
	if rec.Code != http.StatusNoContent {
		t.Errorf("unregistered id: %d %s", rec.Code, rec.Body)
	}
	if len(f.rooms.ended) != 1 {
		t.Errorf("ended = %+v", f.rooms.ended)
	}

	f.rooms.err = errors.New("disk full")
	rec = f.do(prosodyRequest(http.MethodDelete, testPrefix+"/conference/r-101", "", auth))
	if rec.Code != http.StatusInternalServerError {
		t.Errorf("registry failure: %d %s", rec.Code, rec.Body)
	}
}

// TestAuditLog: one line per request with the decision, never the
// password or the token.
func TestAuditLog(t *testing.T) {
	f := newFixture(t, func(o *Options) { o.UnregisteredRooms = Allow })
	f.post("[schule]physik-9a")
	f.post("spontan")
	f.do(prosodyRequest(http.MethodDelete, testPrefix+"/conference/r-102", "", "Bearer "+testToken))
	f.do(prosodyRequest(http.MethodPost, testPrefix+"/conference", "name=x", "Bearer not-"+testToken))
	f.now = time.Date(2026, 9, 8, 12, 0, 0, 0, time.UTC)
	f.post("mathe-7b")

	lines := strings.Split(strings.TrimSpace(f.logs.String()), "\n")
	if len(lines) != 5 {
		t.Fatalf("%d log lines for 5 requests:\n%s", len(lines), f.logs)
	}
	if strings.Contains(f.logs.String(), "geheim-42") || strings.Contains(f.logs.String(), testToken) {
		t.Fatalf("password or token in the log:\n%s", f.logs)
	}
	want := []map[string]any{
		{"level": "INFO", "msg": "reservation", "status": 200.0, "name": "[schule]physik-9a", "tenant": "schule", "room": "physik-9a",
			"id": "r-102", "decision": "allow", "password_set": true, "lobby": true, "max_occupants": 30.0,
			"reserved_from": "2026-09-07T06:00:00.000Z", "duration_s": 3300.0, "reason": "inside the room's window",
			"mail_owner": prosodyOwner, "client": "127.0.0.1:40000"},
		{"status": 200.0, "name": "spontan", "id": "unregistered-c3BvbnRhbg", "reason": "unregistered room allowed"},
		{"status": 204.0, "method": "DELETE", "id": "r-102", "reason": "meeting ended"},
		{"level": "WARN", "status": 401.0, "reason": "missing or wrong token"},
		{"status": 403.0, "name": "mathe-7b", "reason": "outside the room's window", "next": "2026-09-10T08:00:00Z"},
	}
	for i, line := range lines {
		var got map[string]any
		if err := json.Unmarshal([]byte(line), &got); err != nil {
			t.Fatalf("line %d: %v", i, err)
		}
		for k, v := range want[i] {
			if got[k] != v {
				t.Errorf("line %d: %s = %#v, want %#v\n%s", i+1, k, got[k], v, line)
			}
		}
	}
}

func TestNewRefusesBadOptions(t *testing.T) {
	ok := Options{Token: "t", Rooms: newMemRooms(), Log: slog.New(slog.DiscardHandler)}
	tests := []struct {
		name string
		mod  func(*Options)
		want string
	}{
		{"no token", func(o *Options) { o.Token = "" }, "no token"},
		{"no rooms", func(o *Options) { o.Rooms = nil }, "no room registry"},
		{"no logger", func(o *Options) { o.Log = nil }, "no logger"},
		{"trailing slash", func(o *Options) { o.Prefix = "/reservations/" }, "must start with '/' and not end with one"},
		{"relative prefix", func(o *Options) { o.Prefix = "reservations" }, "must start with '/'"},
		{"unknown policy", func(o *Options) { o.UnregisteredRooms = "maybe" }, `policy "maybe"`},
	}
	for _, tt := range tests {
		o := ok
		tt.mod(&o)
		if _, err := New(o); err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%s: New = %v, want %q", tt.name, err, tt.want)
		}
	}
	if _, err := New(ok); err != nil {
		t.Fatalf("valid options: %v", err)
	}
}

func TestClosedMessage(t *testing.T) {
	berlin, _ := time.LoadLocation("Europe/Berlin")
	next := schedule.Occurrence{Start: time.Date(2026, 9, 14, 8, 0, 0, 0, berlin), End: time.Date(2026, 9, 14, 8, 45, 0, 0, berlin)}
	if got, want := ClosedMessage("Mathe 7b", next, true), "Mathe 7b is closed now. It opens Monday, 14 September 2026 at 08:00 (Europe/Berlin)."; got != want {
		t.Errorf("got %q, want %q", got, want)
	}
	if got, want := ClosedMessage("Mathe 7b", schedule.Occurrence{}, false), "Mathe 7b is closed and has no more scheduled times."; got != want {
		t.Errorf("got %q, want %q", got, want)
	}
}

// BenchmarkCreate is the POST path with an in-memory registry: the
// handler's own cost for the "p99 < 5 ms at 200 req/s" target.
func BenchmarkCreate(b *testing.B) {
	f := newFixture(b, nil)
	f.h, _ = New(Options{Token: testToken, Prefix: testPrefix, Rooms: f.rooms,
		Log: slog.New(slog.NewJSONHandler(io.Discard, nil)), Now: func() time.Time { return now }})
	body := prosodyEncode(map[string]string{"name": "[schule]physik-9a", "start_time": javaDate(now), "mail_owner": prosodyOwner})
	b.ReportAllocs()
	for b.Loop() {
		rec := httptest.NewRecorder()
		f.h.ServeHTTP(rec, prosodyRequest(http.MethodPost, testPrefix+"/conference", body, "Bearer "+testToken))
		if rec.Code != http.StatusOK {
			b.Fatalf("status %d: %s", rec.Code, rec.Body)
		}
	}
}
