package web_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"go.yaml.in/yaml/v4"
	"golang.org/x/crypto/bcrypt"

	"github.com/jitsi-gate/jitsi-gate/internal/auth"
	"github.com/jitsi-gate/jitsi-gate/internal/auth/static"
	"github.com/jitsi-gate/jitsi-gate/internal/grant"
	"github.com/jitsi-gate/jitsi-gate/internal/invites"
	"github.com/jitsi-gate/jitsi-gate/internal/policy"
	"github.com/jitsi-gate/jitsi-gate/internal/rooms"
	"github.com/jitsi-gate/jitsi-gate/internal/session"
	"github.com/jitsi-gate/jitsi-gate/internal/store"
	"github.com/jitsi-gate/jitsi-gate/internal/testenv"
	"github.com/jitsi-gate/jitsi-gate/internal/token"
	staticfiles "github.com/jitsi-gate/jitsi-gate/static"
	"github.com/jitsi-gate/jitsi-gate/templates"
	"github.com/jitsi-gate/jitsi-gate/web"
)

const apiToken = "api-test-token-0123456789abcdef0123456789"

// apiHarness is a gateway with a room registry on a fresh SQLite file,
// under the public path /_auth, with these users (password "pw"):
// teacher and teacher2 (manage_rooms), admin (admin), student (no rights).
type apiHarness struct {
	base  string // http://127.0.0.1:port/_auth
	rooms *rooms.Service
	log   *testenv.SyncBuffer
	// seen records every status each operation answered, for the check
	// that docs/api.yaml lists them.
	mu   sync.Mutex
	seen map[string]map[int]bool
}

func newAPIHarness(t *testing.T) *apiHarness {
	t.Helper()
	srv := httptest.NewUnstartedServer(nil)
	srv.Start()
	t.Cleanup(srv.Close)
	publicURL, _ := url.Parse(srv.URL + "/_auth")

	st, err := store.Open(context.Background(), store.Config{Driver: store.DriverSQLite, Path: filepath.Join(t.TempDir(), "api.db")}, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	logs := &testenv.SyncBuffer{}
	logger := slog.New(slog.NewTextHandler(logs, nil))
	svc, err := rooms.New(rooms.Options{Store: st, Timezone: "Europe/Berlin", OpenEarly: 10 * time.Minute,
		Tenants: []string{"school-a", "school-b"}, Backends: []string{"demo"}, PublicURL: publicURL.String(), Log: logger})
	if err != nil {
		t.Fatal(err)
	}
	h, _ := bcrypt.GenerateFromPassword([]byte("pw"), bcrypt.MinCost)
	users := []static.User{
		{Username: "teacher", PasswordHash: string(h), Groups: []string{"teachers"}},
		{Username: "teacher2", PasswordHash: string(h), Groups: []string{"teachers"}},
		{Username: "admin", PasswordHash: string(h), Groups: []string{"it"}},
		{Username: "student", PasswordHash: string(h), Groups: []string{"students", "7b"}},
	}
	sa, err := static.New("demo", "Demo", users)
	if err != nil {
		t.Fatal(err)
	}
	pol, err := policy.Compile([]policy.Rule{
		{Name: "it", Groups: []string{"it"}, Role: policy.Owner, Admin: true},
		{Name: "teachers", Groups: []string{"teachers"}, Role: policy.Owner, ManageRooms: true},
		{Name: "students", Groups: []string{"students"}, Role: policy.Member},
	})
	if err != nil {
		t.Fatal(err)
	}
	signer, _ := token.NewHS256([]byte(secret))
	sessions, err := session.NewManager(session.Options{Secret: []byte(secret), Lifetime: time.Hour, Path: "/_auth"})
	if err != nil {
		t.Fatal(err)
	}
	grants, err := grant.New(pol, grant.Settings{XMPPDomain: "meet.jitsi", Issuer: "gate", Audience: "gate", TokenLifetime: time.Hour}, svc)
	if err != nil {
		t.Fatal(err)
	}
	inv, err := invites.New(invites.Options{Store: st, Rooms: svc, DefaultExpiry: 72 * time.Hour, MaxExpiry: 720 * time.Hour,
		PublicURL: publicURL.String(), Log: logger})
	if err != nil {
		t.Fatal(err)
	}
	handler, err := web.NewServer(web.Options{
		PublicURL: publicURL,
		Jitsi:     web.JitsiOptions{URL: &url.URL{Scheme: "https", Host: "meet.example.com"}, Tenants: []string{"school-a", "school-b"}},
		UI:        web.UIOptions{Title: "Test School", DefaultLanguage: "en"},
		RateLimit: web.RateLimitOptions{PerUser: 50, PerIP: 1000, Window: time.Minute},
	}, web.Deps{
		Logger: logger, Passwords: []auth.PasswordAuthenticator{sa}, Grants: grants, Signer: signer,
		Sessions: sessions, Logins: testLogins(t, time.Now), Templates: templates.FS(), Static: staticfiles.FS(),
		Rooms: svc, APITokens: []web.APIToken{{Name: "sync", Token: apiToken}}, Invites: inv,
	})
	if err != nil {
		t.Fatal(err)
	}
	srv.Config.Handler = handler
	return &apiHarness{base: publicURL.String(), rooms: svc, log: logs, seen: map[string]map[int]bool{}}
}

// login returns a client signed in as user, through the login form.
func (h *apiHarness) login(t *testing.T, user string) *http.Client {
	t.Helper()
	c := client(t)
	resp, err := c.PostForm(h.base+"/login/demo", url.Values{"username": {user}, "password": {"pw"}})
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("login %s: %d", user, resp.StatusCode)
	}
	return c
}

// answer is a decoded API response.
type answer struct {
	status int
	header http.Header
	body   []byte
}

func (a answer) json(t *testing.T) map[string]any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal(a.body, &m); err != nil {
		t.Fatalf("answer %d is not a JSON object: %v\n%s", a.status, err, a.body)
	}
	return m
}

// req is one API request. body is sent as JSON unless it is a string
// (sent as is); a func() any is called when the request is sent.
type req struct {
	method, path string
	body         any
	header       map[string]string
}

// routePattern maps a request path to the route it is served by, for the
// status bookkeeping.
func routePattern(path string) string {
	if p := inviteRoutePattern(path); p != "" {
		return p
	}
	if strings.HasPrefix(path, "/api/v1/rooms/") {
		return "/api/v1/rooms/{id}"
	}
	return strings.SplitN(path, "?", 2)[0]
}

func (h *apiHarness) do(t *testing.T, c *http.Client, r req) answer {
	t.Helper()
	var body io.Reader
	if lazy, ok := r.body.(func() any); ok {
		r.body = lazy()
	}
	switch b := r.body.(type) {
	case nil:
	case string:
		body = strings.NewReader(b)
	default:
		data, err := json.Marshal(b)
		if err != nil {
			t.Fatal(err)
		}
		body = bytes.NewReader(data)
	}
	hr, err := http.NewRequest(r.method, h.base+r.path, body)
	if err != nil {
		t.Fatal(err)
	}
	if body != nil {
		hr.Header.Set("Content-Type", "application/json")
	}
	for k, v := range r.header {
		hr.Header.Set(k, v)
	}
	if c == nil {
		c = client(t)
	}
	resp, err := c.Do(hr)
	if err != nil {
		t.Fatalf("%s %s: %v", r.method, r.path, err)
	}
	defer resp.Body.Close()
	data, _ := io.ReadAll(resp.Body)
	if ct := resp.Header.Get("Content-Type"); len(data) > 0 && !strings.HasPrefix(ct, "application/json") {
		t.Errorf("%s %s answered %d with Content-Type %q:\n%s", r.method, r.path, resp.StatusCode, ct, data)
	}
	h.mu.Lock()
	op := r.method + " " + routePattern(r.path)
	if h.seen[op] == nil {
		h.seen[op] = map[int]bool{}
	}
	h.seen[op][resp.StatusCode] = true
	h.mu.Unlock()
	return answer{status: resp.StatusCode, header: resp.Header, body: data}
}

func bearer() map[string]string { return map[string]string{"Authorization": "Bearer " + apiToken} }

func lesson(name string) map[string]any {
	return map[string]any{
		"name": name, "tenant": "school-a", "title": "Mathe " + name,
		"participants": []string{"group:7b"}, "lobby": true, "password": "geheim",
		"weekly": []map[string]string{{"day": "mon", "start": "08:00", "end": "08:45"}},
	}
}

// TestAPI walks every route with each kind of caller: session users with
// and without rights, a bearer token, nobody, and broken requests.
func TestAPI(t *testing.T) {
	h := newAPIHarness(t)
	teacher, teacher2, admin, student := h.login(t, "teacher"), h.login(t, "teacher2"), h.login(t, "admin"), h.login(t, "student")

	// A teacher creates a lesson and becomes its organizer.
	a := h.do(t, teacher, req{method: "POST", path: "/api/v1/rooms", body: lesson("7b-mathe")})
	if a.status != http.StatusCreated {
		t.Fatalf("teacher creates a room: %d %s", a.status, a.body)
	}
	created := a.json(t)
	id, _ := created["id"].(string)
	if id == "" || created["room"] != "7b-mathe" || created["password"] != "geheim" || created["my_role"] != "organizer" ||
		created["can_edit"] != true || created["created_by"] != "demo:teacher" ||
		created["url"] != h.base+"/join/7b-mathe?tenant=school-a" {
		t.Errorf("created room: %s", a.body)
	}
	if got := created["organizers"]; !slices.Equal(toStrings(got), []string{"demo:teacher"}) {
		t.Errorf("the creator is not the organizer: %v", got)
	}
	if a.header.Get("ETag") != `"1"` || a.header.Get("Location") != "/_auth/api/v1/rooms/"+id {
		t.Errorf("create headers: ETag %q Location %q", a.header.Get("ETag"), a.header.Get("Location"))
	}
	if !strings.Contains(h.log.String(), "api: room created") || !strings.Contains(h.log.String(), "by=demo:teacher") {
		t.Errorf("no audit line for the creation:\n%s", h.log.String())
	}
	// The bearer token's room, for the admin and nobody else.
	staff := h.do(t, nil, req{method: "POST", path: "/api/v1/rooms", header: bearer(),
		body: map[string]any{"name": "Lehrerzimmer", "tenant": "school-b", "organizers": []string{"group:it"}}})
	if staff.status != http.StatusCreated || staff.json(t)["created_by"] != "api:sync" {
		t.Fatalf("token creates a room: %d %s", staff.status, staff.body)
	}
	staffID := staff.json(t)["id"].(string)
	roomPath, staffPath := "/api/v1/rooms/"+id, "/api/v1/rooms/"+staffID

	etag := `"1"`
	updated := lesson("7b-mathe")
	updated["title"] = "Mathematik 7b"
	updated["organizers"] = []string{"teacher2"}
	stale := lesson("7b-mathe")
	stale["title"] = "lost update"

	tests := []struct {
		name   string
		c      *http.Client
		r      req
		status int
		field  string // of the error body
		check  func(t *testing.T, a answer)
	}{
		// Reading.
		{"nobody lists", nil, req{method: "GET", path: "/api/v1/rooms"}, 401, "", func(t *testing.T, a answer) {
			if !strings.HasPrefix(a.header.Get("WWW-Authenticate"), "Bearer") {
				t.Errorf("WWW-Authenticate = %q", a.header.Get("WWW-Authenticate"))
			}
		}},
		{"nobody reads", nil, req{method: "GET", path: roomPath}, 401, "", nil},
		{"wrong token", nil, req{method: "GET", path: "/api/v1/rooms", header: map[string]string{"Authorization": "Bearer " + apiToken + "x"}}, 401, "", nil},
		{"basic auth", nil, req{method: "GET", path: "/api/v1/rooms", header: map[string]string{"Authorization": "Basic YTpi"}}, 401, "", nil},
		{"a bad token wins over a good cookie", teacher, req{method: "GET", path: "/api/v1/rooms", header: map[string]string{"Authorization": "Bearer nope"}}, 401, "", nil},
		{"teacher lists own rooms", teacher, req{method: "GET", path: "/api/v1/rooms"}, 200, "", func(t *testing.T, a answer) {
			if got := roomNames(t, a); !slices.Equal(got, []string{"7b-mathe"}) {
				t.Errorf("teacher sees %v", got)
			}
		}},
		{"student lists the lesson of 7b without its password", student, req{method: "GET", path: "/api/v1/rooms"}, 200, "", func(t *testing.T, a answer) {
			if got := roomNames(t, a); !slices.Equal(got, []string{"7b-mathe"}) {
				t.Errorf("student sees %v", got)
			}
			if strings.Contains(string(a.body), "geheim") || strings.Contains(string(a.body), `"password"`) {
				t.Errorf("a participant sees the password: %s", a.body)
			}
		}},
		{"teacher2 sees nothing yet", teacher2, req{method: "GET", path: "/api/v1/rooms"}, 200, "", func(t *testing.T, a answer) {
			if got := roomNames(t, a); len(got) != 0 {
				t.Errorf("teacher2 sees %v", got)
			}
		}},
		{"admin lists everything", admin, req{method: "GET", path: "/api/v1/rooms"}, 200, "", func(t *testing.T, a answer) {
			if got := roomNames(t, a); !slices.Equal(got, []string{"7b-mathe", "lehrerzimmer"}) {
				t.Errorf("admin sees %v", got)
			}
		}},
		{"token lists one tenant", nil, req{method: "GET", path: "/api/v1/rooms?tenant=school-b", header: bearer()}, 200, "", func(t *testing.T, a answer) {
			if got := roomNames(t, a); !slices.Equal(got, []string{"lehrerzimmer"}) {
				t.Errorf("token sees %v in school-b", got)
			}
		}},
		{"token searches", nil, req{method: "GET", path: "/api/v1/rooms?q=MATHE", header: bearer()}, 200, "", func(t *testing.T, a answer) {
			if got := roomNames(t, a); !slices.Equal(got, []string{"7b-mathe"}) {
				t.Errorf("search finds %v", got)
			}
		}},
		{"list in a foreign tenant", admin, req{method: "GET", path: "/api/v1/rooms?tenant=evil"}, 400, "tenant", nil},
		{"student reads the lesson", student, req{method: "GET", path: roomPath}, 200, "", func(t *testing.T, a answer) {
			m := a.json(t)
			if _, shown := m["password"]; shown || m["my_role"] != "participant" || m["can_edit"] != false {
				t.Errorf("student's view: %s", a.body)
			}
			if a.header.Get("ETag") != `"1"` {
				t.Errorf("ETag %q", a.header.Get("ETag"))
			}
		}},
		{"student cannot see the staff room", student, req{method: "GET", path: staffPath}, 404, "", nil},
		{"admin reads the staff room", admin, req{method: "GET", path: staffPath}, 200, "", nil},
		{"token reads the lesson with its password", nil, req{method: "GET", path: roomPath, header: bearer()}, 200, "", func(t *testing.T, a answer) {
			if m := a.json(t); m["password"] != "geheim" || m["my_role"] != "none" || m["can_edit"] != true {
				t.Errorf("token's view: %s", a.body)
			}
		}},
		{"unknown id", admin, req{method: "GET", path: "/api/v1/rooms/nope"}, 404, "", nil},

		// Creating.
		{"student may not create", student, req{method: "POST", path: "/api/v1/rooms", body: lesson("party")}, 403, "", nil},
		{"nobody may not create", nil, req{method: "POST", path: "/api/v1/rooms", body: lesson("party")}, 401, "", nil},
		{"duplicate name", teacher2, req{method: "POST", path: "/api/v1/rooms", body: map[string]any{"name": "7B-Mathe", "tenant": "school-a"}}, 409, "name", nil},
		{"foreign tenant", teacher, req{method: "POST", path: "/api/v1/rooms", body: map[string]any{"name": "x", "tenant": "evil"}}, 400, "tenant", nil},
		{"unknown field", teacher, req{method: "POST", path: "/api/v1/rooms", body: map[string]any{"name": "x", "colour": "red"}}, 400, "colour", nil},
		{"wrong type", teacher, req{method: "POST", path: "/api/v1/rooms", body: map[string]any{"name": "x", "lobby": "yes"}}, 400, "lobby", nil},
		{"bad JSON", teacher, req{method: "POST", path: "/api/v1/rooms", body: `{"name": "x",`}, 400, "", nil},
		{"not an object", teacher, req{method: "POST", path: "/api/v1/rooms", body: `["x"]`}, 400, "", nil},
		{"two objects", teacher, req{method: "POST", path: "/api/v1/rooms", body: `{"name": "x"} {"name": "y"}`}, 400, "", nil},
		{"empty body", teacher, req{method: "POST", path: "/api/v1/rooms", body: ``}, 400, "", nil},
		{"too large", teacher, req{method: "POST", path: "/api/v1/rooms", body: `{"title": "` + strings.Repeat("x", 2<<20) + `"}`}, 413, "", nil},
		{"not JSON", teacher, req{method: "POST", path: "/api/v1/rooms", body: "name=x", header: map[string]string{"Content-Type": "application/x-www-form-urlencoded"}}, 415, "", nil},
		{"invalid room, every problem named", teacher, req{method: "POST", path: "/api/v1/rooms",
			body: map[string]any{"name": "a/b", "max_occupants": -1, "weekly": []map[string]string{{"day": "someday", "start": "8", "end": "9"}}}}, 400, "name",
			func(t *testing.T, a answer) {
				var fields []string
				for _, e := range a.json(t)["errors"].([]any) {
					fields = append(fields, e.(map[string]any)["field"].(string))
				}
				if !slices.Contains(fields, "max_occupants") || !slices.Contains(fields, "weekly") {
					t.Errorf("errors = %v", fields)
				}
			}},

		// Changing.
		{"student may not change", student, req{method: "PUT", path: roomPath, body: stale}, 403, "", nil},
		{"teacher2 does not see the room to change", teacher2, req{method: "PUT", path: roomPath, body: stale}, 404, "", nil},
		{"nobody may not change", nil, req{method: "PUT", path: roomPath, body: stale}, 401, "", nil},
		{"weak ETag never matches", teacher, req{method: "PUT", path: roomPath, body: stale, header: map[string]string{"If-Match": `W/"1"`}}, 412, "", nil},
		{"unknown field in a change", teacher, req{method: "PUT", path: roomPath, body: map[string]any{"name": "7b-mathe", "tenant": "school-a", "owner": "x"}}, 400, "owner", nil},
		{"teacher changes with If-Match, adding a co-organizer", teacher, req{method: "PUT", path: roomPath, body: updated, header: map[string]string{"If-Match": etag}}, 200, "",
			func(t *testing.T, a answer) {
				m := a.json(t)
				if m["title"] != "Mathematik 7b" || m["version"] != float64(2) || a.header.Get("ETag") != `"2"` {
					t.Errorf("after the change: %s (ETag %s)", a.body, a.header.Get("ETag"))
				}
				// The writer stays an organizer.
				if got := toStrings(m["organizers"]); !slices.Equal(got, []string{"teacher2", "demo:teacher"}) {
					t.Errorf("organizers = %v", got)
				}
			}},
		{"stale ETag", teacher, req{method: "PUT", path: roomPath, body: stale, header: map[string]string{"If-Match": etag}}, 412, "",
			func(t *testing.T, a answer) {
				if a.header.Get("ETag") != `"2"` {
					t.Errorf("412 without the current ETag: %q", a.header.Get("ETag"))
				}
			}},
		{"co-organizer reads the password", teacher2, req{method: "GET", path: roomPath}, 200, "", func(t *testing.T, a answer) {
			if m := a.json(t); m["password"] != "geheim" || m["can_edit"] != true {
				t.Errorf("co-organizer's view: %s", a.body)
			}
		}},
		{"a round trip of the resource is accepted", teacher2, req{method: "PUT", path: roomPath, body: roundTrip(t, h, roomPath), header: map[string]string{"If-Match": `"3", "2"`}}, 200, "", nil},
		{"token moves the staff room to a foreign tenant", nil, req{method: "PUT", path: staffPath, header: bearer(),
			body: map[string]any{"name": "Lehrerzimmer", "tenant": "evil"}}, 400, "tenant", nil},
		{"renaming onto another room", admin, req{method: "PUT", path: staffPath, body: map[string]any{"name": "7b-mathe", "tenant": "school-a"}}, 409, "name", nil},
		{"change of an unknown room", admin, req{method: "PUT", path: "/api/v1/rooms/nope", body: map[string]any{"name": "x"}}, 404, "", nil},

		// Deleting.
		{"student may not delete", student, req{method: "DELETE", path: roomPath}, 403, "", nil},
		{"nobody may not delete", nil, req{method: "DELETE", path: roomPath}, 401, "", nil},
		{"delete with a stale ETag", teacher, req{method: "DELETE", path: roomPath, header: map[string]string{"If-Match": `"1"`}}, 412, "", nil},
		{"teacher deletes", teacher, req{method: "DELETE", path: roomPath, header: map[string]string{"If-Match": `"3"`}}, 204, "", nil},
		{"deleted is gone", teacher, req{method: "GET", path: roomPath}, 404, "", nil},
		{"token deletes without If-Match", nil, req{method: "DELETE", path: staffPath, header: bearer()}, 204, "", nil},
		{"delete twice", admin, req{method: "DELETE", path: staffPath}, 404, "", nil},

		// Neither route nor method.
		{"unknown API path", admin, req{method: "GET", path: "/api/v2/rooms"}, 404, "", nil},
		{"unknown method", admin, req{method: "PATCH", path: "/api/v1/rooms", body: map[string]any{}}, 405, "", nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a := h.do(t, tt.c, tt.r)
			if a.status != tt.status {
				t.Fatalf("status %d, want %d: %s", a.status, tt.status, a.body)
			}
			if tt.status >= 400 {
				m := a.json(t)
				if msg, _ := m["error"].(string); msg == "" {
					t.Errorf("error without a message: %s", a.body)
				}
				if f, ok := m["field"].(string); !ok || f != tt.field {
					t.Errorf("field = %v, want %q (%s)", m["field"], tt.field, a.body)
				}
			}
			if tt.check != nil {
				tt.check(t, a)
			}
		})
	}

	audit := h.log.String()
	for _, want := range []string{"api: room updated", "fields=\"[title organizers]\"", "api: room deleted", "by=api:sync", "via=token"} {
		if !strings.Contains(audit, want) {
			t.Errorf("audit log lacks %q:\n%s", want, audit)
		}
	}
	if strings.Contains(audit, "geheim") || strings.Contains(audit, apiToken) {
		t.Errorf("the audit log shows a password or the token:\n%s", audit)
	}
	checkStatusesDocumented(t, h.seen)
}

// TestAPICrossOriginWritesRefused: a page on another site cannot use a
// signed-in teacher's cookie to change rooms (Sec-Fetch-Site, or Origin for
// browsers without it); reading is harmless and same-origin writes work.
func TestAPICrossOriginWritesRefused(t *testing.T) {
	h := newAPIHarness(t)
	teacher := h.login(t, "teacher")
	origin := strings.TrimSuffix(h.base, "/_auth")
	tests := []struct {
		name   string
		method string
		header map[string]string
		status int
	}{
		{"cross-site create", "POST", map[string]string{"Sec-Fetch-Site": "cross-site"}, 403},
		{"same-site other origin create", "POST", map[string]string{"Sec-Fetch-Site": "same-site"}, 403},
		{"foreign Origin without fetch metadata", "POST", map[string]string{"Origin": "https://evil.example"}, 403},
		{"cross-site list is fine", "GET", map[string]string{"Sec-Fetch-Site": "cross-site"}, 200},
		{"same-origin create", "POST", map[string]string{"Sec-Fetch-Site": "same-origin", "Origin": origin}, 201},
	}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := req{method: tt.method, path: "/api/v1/rooms", header: tt.header}
			if tt.method == "POST" {
				r.body = map[string]any{"name": "room-" + strconv.Itoa(i), "tenant": "school-a"}
			}
			a := h.do(t, teacher, r)
			if a.status != tt.status {
				t.Fatalf("status %d, want %d: %s", a.status, tt.status, a.body)
			}
			if tt.status == 403 && a.json(t)["error"] == "" {
				t.Errorf("refusal without a JSON error: %s", a.body)
			}
		})
	}
	list, err := h.rooms.List(context.Background(), rooms.Filter{})
	if err != nil || len(list) != 1 {
		t.Errorf("rooms after the cross-origin attempts: %d %v", len(list), err)
	}
}

// roundTrip is the resource at path as the admin gets it when the request
// is sent: what a client sends back after changing a field.
func roundTrip(t *testing.T, h *apiHarness, path string) func() any {
	return func() any {
		a := h.do(t, h.login(t, "admin"), req{method: "GET", path: path})
		return json.RawMessage(a.body)
	}
}

func roomNames(t *testing.T, a answer) []string {
	t.Helper()
	var l struct {
		Rooms []struct {
			Room string `json:"room"`
		} `json:"rooms"`
	}
	if err := json.Unmarshal(a.body, &l); err != nil {
		t.Fatalf("list: %v\n%s", err, a.body)
	}
	names := []string{}
	for _, r := range l.Rooms {
		names = append(names, r.Room)
	}
	return names
}

func toStrings(v any) []string {
	list, _ := v.([]any)
	out := make([]string, 0, len(list))
	for _, x := range list {
		s, _ := x.(string)
		out = append(out, s)
	}
	return out
}

// openAPI is the part of docs/api.yaml the tests read.
type openAPI struct {
	OpenAPI string `yaml:"openapi"`
	// Paths maps a path to its methods (and "parameters", "summary", ...).
	Paths map[string]map[string]yaml.Node `yaml:"paths"`
}

type openAPIOperation struct {
	Responses map[string]any `yaml:"responses"`
}

// operation decodes the operation of method at path; ok is false when
// the document has none.
func (d openAPI) operation(t *testing.T, path, method string) (openAPIOperation, bool) {
	t.Helper()
	node, ok := d.Paths[path][method]
	if !ok || !slices.Contains(httpMethods, method) {
		return openAPIOperation{}, false
	}
	var op openAPIOperation
	if err := node.Decode(&op); err != nil {
		t.Fatalf("docs/api.yaml: %s %s: %v", method, path, err)
	}
	return op, true
}

func loadOpenAPI(t *testing.T) openAPI {
	t.Helper()
	data, err := os.ReadFile("../docs/api.yaml")
	if err != nil {
		t.Fatal(err)
	}
	var doc openAPI
	if err := yaml.Unmarshal(data, &doc); err != nil {
		t.Fatalf("docs/api.yaml: %v", err)
	}
	if !strings.HasPrefix(doc.OpenAPI, "3.") {
		t.Fatalf("docs/api.yaml: openapi %q, want 3.x", doc.OpenAPI)
	}
	return doc
}

var httpMethods = []string{"get", "put", "post", "delete", "patch", "head", "options", "trace"}

// TestOpenAPIMatchesRoutes: every /api/ route mounted in routes.go is an
// operation of docs/api.yaml and every operation there is mounted, and
// each operation lists the answers every API route can give.
func TestOpenAPIMatchesRoutes(t *testing.T) {
	src, err := os.ReadFile("routes.go")
	if err != nil {
		t.Fatal(err)
	}
	mounted := map[string]bool{}
	for _, m := range regexp.MustCompile(`mux\.Handle\("([A-Z]+) "\+p\("(/api/[^"]*)"\)`).FindAllStringSubmatch(string(src), -1) {
		mounted[strings.ToLower(m[1])+" "+m[2]] = true
	}
	if len(mounted) == 0 {
		t.Fatal("found no /api/ routes in routes.go")
	}
	documented := map[string]bool{}
	doc := loadOpenAPI(t)
	for path, item := range doc.Paths {
		for method := range item {
			op, isOp := doc.operation(t, path, method)
			if !isOp {
				continue // parameters, summary, ...
			}
			key := method + " " + path
			documented[key] = true
			if !mounted[key] {
				t.Errorf("docs/api.yaml describes %s, which routes.go does not mount", key)
			}
			for _, code := range []string{"401", "500"} {
				if _, ok := op.Responses[code]; !ok {
					t.Errorf("docs/api.yaml: %s lists no %s answer", key, code)
				}
			}
		}
	}
	for key := range mounted {
		if !documented[key] {
			t.Errorf("routes.go mounts %s, which docs/api.yaml does not describe", key)
		}
	}
}

// checkStatusesDocumented fails for every status an operation answered in
// the tests that docs/api.yaml does not list for it.
func checkStatusesDocumented(t *testing.T, seen map[string]map[int]bool) {
	t.Helper()
	doc := loadOpenAPI(t)
	var ops []string
	for op := range seen {
		ops = append(ops, op)
	}
	sort.Strings(ops)
	for _, op := range ops {
		method, path, _ := strings.Cut(op, " ")
		o, known := doc.operation(t, path, strings.ToLower(method))
		if !known {
			continue // an unknown path or method: the catch-all's 404 or 405
		}
		for code := range seen[op] {
			if _, ok := o.Responses[strconv.Itoa(code)]; !ok {
				t.Errorf("%s answered %d, which docs/api.yaml does not list", op, code)
			}
		}
	}
}
