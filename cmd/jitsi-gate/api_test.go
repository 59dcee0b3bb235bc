package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

const (
	syncToken  = "timetable-sync-token-0123456789abcdef0123"
	otherToken = "other-script-token-fedcba9876543210fedcba"
)

// apiGatewayConfig is a gateway under /_auth with rooms in tenant
// school-a, a teacher with manage_rooms, an admin, a student of 7b, and two
// API tokens (one from a file next to the config).
func apiGatewayConfig(t *testing.T, addr, dir string) string {
	t.Helper()
	if err := os.WriteFile(filepath.Join(dir, "other-token"), []byte(otherToken+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	return gatewayHead(addr, "/_auth", "tenants: [school-a]") + fmt.Sprintf(`store: {path: "%s"}
backends:
  - id: demo
    type: static
    users:
      - {username: teacher, password_hash: "%s", groups: [teachers]}
      - {username: admin, password_hash: "%s", groups: [it]}
      - {username: student, password_hash: "%s", groups: [students, 7b]}
rules:
  - {name: it, match: {groups: [it]}, role: owner, admin: true}
  - {name: teachers, match: {groups: [teachers]}, role: owner, manage_rooms: true}
  - {name: students, match: {groups: [students]}, role: member}
api:
  tokens:
    - {name: timetable-sync, token: "%s"}
    - {name: other, token_file: %s}
log: {level: info}
`, filepath.Join(dir, "gate.db"), hash(t, "pw"), hash(t, "pw"), hash(t, "pw"), syncToken,
		filepath.Join(dir, "other-token"))
}

// apiCall sends a JSON request (body nil: none; a string is sent as is) with optional headers and
// decodes the JSON answer.
func apiCall(t *testing.T, c *http.Client, method, u string, body any, header ...string) (int, http.Header, map[string]any) {
	t.Helper()
	var r io.Reader
	if raw, ok := body.(string); ok {
		r = strings.NewReader(raw)
	} else if body != nil {
		data, err := json.Marshal(body)
		if err != nil {
			t.Fatal(err)
		}
		r = bytes.NewReader(data)
	}
	req, err := http.NewRequest(method, u, r)
	if err != nil {
		t.Fatal(err)
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	resp, err := c.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, u, err)
	}
	defer resp.Body.Close()
	data, _ := io.ReadAll(resp.Body)
	var m map[string]any
	if len(data) > 0 {
		if err := json.Unmarshal(data, &m); err != nil {
			t.Fatalf("%s %s: %d, not JSON: %v\n%s", method, u, resp.StatusCode, err, data)
		}
	}
	return resp.StatusCode, resp.Header, m
}

// TestAPIEndToEnd drives the room API of the real program: a timetable
// sync with a bearer token, a teacher and a student with their logins.
func TestAPIEndToEnd(t *testing.T) {
	dir := t.TempDir()
	addr := freePort(t)
	g := startGateway(t, apiGatewayConfig(t, addr, dir), nil)
	rooms := g.base + "/api/v1/rooms"
	sync := []string{"Authorization", "Bearer " + syncToken}
	other := []string{"Authorization", "Bearer " + otherToken}
	plain := &http.Client{}

	lesson := map[string]any{
		"name": "Mathe 7b", "tenant": "school-a", "participants": []string{"group:7b"}, "organizers": []string{"teacher"},
		"password": "geheim", "weekly": []map[string]string{{"day": "mon", "start": "08:00", "end": "08:45"}},
	}
	status, hdr, created := apiCall(t, plain, "POST", rooms, lesson, sync...)
	if status != http.StatusCreated || created["room"] != "mathe7b" || created["created_by"] != "api:timetable-sync" ||
		created["url"] != g.base+"/join/mathe7b?tenant=school-a" {
		t.Fatalf("the sync creates a lesson: %d %v", status, created)
	}
	one := rooms + "/" + created["id"].(string)
	if hdr.Get("ETag") != `"1"` {
		t.Errorf("ETag %q", hdr.Get("ETag"))
	}

	teacher, student := browser(t), browser(t)
	for c, user := range map[*http.Client]string{teacher: "teacher", student: "student"} {
		if r := do(t, c, http.MethodPost, g.base+"/login/demo", url.Values{"username": {user}, "password": {"pw"}}); r.status != http.StatusSeeOther {
			t.Fatalf("login %s: %d %s", user, r.status, r.body)
		}
	}

	changed := map[string]any{"name": "Mathe 7b", "tenant": "school-a", "participants": []string{"group:7b"},
		"organizers": []string{"teacher"}, "title": "Mathematik", "weekly": lesson["weekly"]}
	tests := []struct {
		name   string
		c      *http.Client
		method string
		url    string
		body   any
		header []string
		status int
		field  string
	}{
		{"nobody", plain, "GET", rooms, nil, nil, 401, ""},
		{"a token from token_file", plain, "GET", one, nil, other, 200, ""},
		{"the teacher organizes the lesson", teacher, "GET", one, nil, nil, 200, ""},
		{"the student may not change it", student, "PUT", one, changed, nil, 403, ""},
		{"the student may not create rooms", student, "POST", rooms, map[string]any{"name": "party"}, nil, 403, ""},
		{"the student may not delete it", student, "DELETE", one, nil, nil, 403, ""},
		{"bad JSON", plain, "POST", rooms, `{"name":`, sync, 400, ""},
		{"unknown field", plain, "POST", rooms, map[string]any{"name": "x", "room_name": "x"}, sync, 400, "room_name"},
		{"a foreign tenant", plain, "POST", rooms, map[string]any{"name": "x", "tenant": "school-z"}, sync, 400, "tenant"},
		{"the same name again", teacher, "POST", rooms, map[string]any{"name": "mathe7b", "tenant": "school-a"}, nil, 409, "name"},
		{"the teacher changes the title", teacher, "PUT", one, changed, []string{"If-Match", `"1"`}, 200, ""},
		{"the sync's stale ETag", plain, "PUT", one, lesson, append([]string{"If-Match", `"1"`}, sync...), 412, ""},
		{"no such room", plain, "GET", rooms + "/nope", nil, sync, 404, ""},
		{"the sync deletes it", plain, "DELETE", one, nil, append([]string{"If-Match", `"2"`}, sync...), 204, ""},
		{"gone", teacher, "GET", one, nil, nil, 404, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			status, _, m := apiCall(t, tt.c, tt.method, tt.url, tt.body, tt.header...)
			if status != tt.status {
				t.Fatalf("status %d, want %d: %v", status, tt.status, m)
			}
			if status >= 400 && m["field"] != tt.field {
				t.Errorf("field %v, want %q: %v", m["field"], tt.field, m)
			}
			if tt.name == "the teacher organizes the lesson" && (m["my_role"] != "organizer" || m["password"] != "geheim") {
				t.Errorf("the teacher's view: %v", m)
			}
		})
	}

	logs := g.waitForLog(t, "api: room deleted")
	for _, want := range []string{"api: room created", "by=api:timetable-sync", "api: room updated", "by=demo:teacher", "api: room deleted"} {
		if !strings.Contains(logs, want) {
			t.Errorf("the log lacks the audit line part %q", want)
		}
	}
	for _, secret := range []string{syncToken, otherToken, "geheim"} {
		if strings.Contains(logs, secret) {
			t.Errorf("the log shows a secret %q", secret)
		}
	}
}

// TestExplainShowsRights: explain names what a user may do with rooms and
// which rule grants it.
func TestExplainShowsRights(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "config.yaml")
	if err := os.WriteFile(path, []byte(apiGatewayConfig(t, "127.0.0.1:1", dir)), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct{ user, want string }{
		{"teacher", `Rights:     manage rooms (rule "teachers")` + "\n"},
		{"admin", `Rights:     manage rooms (rule "it"), admin (rule "it")` + "\n"},
		{"student", "Rights:     none (no rule grants manage_rooms or admin)\n"},
	} {
		out, errOut, code := runCmd(t, nil, "explain", "-config", path, "-backend", "demo", tt.user)
		if code != 0 || !strings.Contains(out, tt.want) {
			t.Errorf("explain %s: exit %d, want %q in\n%s\n%s", tt.user, code, tt.want, out, errOut)
		}
	}
}
