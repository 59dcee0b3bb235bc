package web_test

import (
	"net/http"
	"strings"
	"testing"
)

// inviteRoutePattern maps an invite API path to its route, for the status
// bookkeeping of routePattern ("" when it is none).
func inviteRoutePattern(path string) string {
	parts := strings.Split(strings.TrimPrefix(strings.SplitN(path, "?", 2)[0], "/api/v1/rooms/"), "/")
	switch {
	case !strings.HasPrefix(path, "/api/v1/rooms/"):
		return ""
	case len(parts) == 2 && parts[1] == "invites":
		return "/api/v1/rooms/{id}/invites"
	case len(parts) == 3 && parts[1] == "invites":
		return "/api/v1/rooms/{id}/invites/{invite}"
	}
	return ""
}

// TestInviteAPI walks the invite routes with each kind of caller; every
// status they answer must be in docs/api.yaml.
func TestInviteAPI(t *testing.T) {
	h := newAPIHarness(t)
	teacher, teacher2, student := h.login(t, "teacher"), h.login(t, "teacher2"), h.login(t, "student")
	a := h.do(t, teacher, req{method: "POST", path: "/api/v1/rooms", body: lesson("7b-elternabend")})
	if a.status != http.StatusCreated {
		t.Fatalf("create room: %d %s", a.status, a.body)
	}
	path := "/api/v1/rooms/" + a.json(t)["id"].(string) + "/invites"

	created := h.do(t, teacher, req{method: "POST", path: path, body: map[string]any{"expires": "2h", "max_uses": 30,
		"guest_name": "  Eltern <b>7b</b> ", "lobby": false}})
	if created.status != http.StatusCreated {
		t.Fatalf("create invite: %d %s", created.status, created.body)
	}
	inv := created.json(t)
	link, _ := inv["link"].(string)
	if !strings.HasPrefix(link, h.base+"/invite/") || inv["guest_name"] != "Eltern b7b/b" || inv["lobby"] != false ||
		inv["max_uses"] != float64(30) || inv["state"] != "active" || inv["created_by"] != "demo:teacher" || inv["revoked_at"] != nil {
		t.Errorf("created invite: %s", created.body)
	}
	invitePath := path + "/" + inv["id"].(string)

	for _, tt := range []struct {
		name   string
		c      *http.Client
		r      req
		status int
		field  string
	}{
		{"token lists", nil, req{method: "GET", path: path, header: bearer()}, 200, ""},
		{"default invite by the token", nil, req{method: "POST", path: path, header: bearer(), body: map[string]any{}}, 201, ""},
		{"nobody lists", nil, req{method: "GET", path: path}, 401, ""},
		{"nobody creates", nil, req{method: "POST", path: path, body: map[string]any{}}, 401, ""},
		{"nobody revokes", nil, req{method: "DELETE", path: invitePath}, 401, ""},
		{"participant may not list", student, req{method: "GET", path: path}, 403, ""},
		{"participant may not invite", student, req{method: "POST", path: path, body: map[string]any{}}, 403, ""},
		{"participant may not revoke", student, req{method: "DELETE", path: invitePath}, 403, ""},
		{"another teacher does not see the room", teacher2, req{method: "GET", path: path}, 404, ""},
		{"another teacher cannot invite", teacher2, req{method: "POST", path: path, body: map[string]any{}}, 404, ""},
		{"another teacher cannot revoke", teacher2, req{method: "DELETE", path: invitePath}, 404, ""},
		{"unknown room", teacher, req{method: "POST", path: "/api/v1/rooms/nope/invites", body: map[string]any{}}, 404, ""},
		{"expiry above the maximum", teacher, req{method: "POST", path: path, body: map[string]any{"expires": "721h"}}, 400, "expires"},
		{"expiry not a duration", teacher, req{method: "POST", path: path, body: map[string]any{"expires": "3 days"}}, 400, "expires"},
		{"expiry zero", teacher, req{method: "POST", path: path, body: map[string]any{"expires": "0s"}}, 400, "expires"},
		{"negative uses", teacher, req{method: "POST", path: path, body: map[string]any{"max_uses": -1}}, 400, "max_uses"},
		{"name of markup only", teacher, req{method: "POST", path: path, body: map[string]any{"guest_name": "<>"}}, 400, "guest_name"},
		{"unknown field", teacher, req{method: "POST", path: path, body: map[string]any{"owner": true}}, 400, "owner"},
		{"lobby not a boolean", teacher, req{method: "POST", path: path, body: map[string]any{"lobby": "yes"}}, 400, "lobby"},
		{"not JSON", teacher, req{method: "POST", path: path, body: "expires=1h", header: map[string]string{"Content-Type": "application/x-www-form-urlencoded"}}, 415, ""},
		{"too large", teacher, req{method: "POST", path: path, body: map[string]any{"guest_name": strings.Repeat("x", 5000)}}, 413, ""},
		{"revoke", teacher, req{method: "DELETE", path: invitePath}, 204, ""},
		{"revoke again", teacher, req{method: "DELETE", path: invitePath}, 204, ""},
		{"revoke unknown", teacher, req{method: "DELETE", path: path + "/nope"}, 404, ""},
		{"cross-site create", teacher, req{method: "POST", path: path, body: map[string]any{},
			header: map[string]string{"Sec-Fetch-Site": "cross-site", "Origin": "https://evil.example"}}, 403, ""},
	} {
		t.Run(tt.name, func(t *testing.T) {
			a := h.do(t, tt.c, tt.r)
			if a.status != tt.status {
				t.Fatalf("status %d, want %d: %s", a.status, tt.status, a.body)
			}
			if tt.status >= 400 {
				if m := a.json(t); m["error"] == "" || m["field"] != tt.field {
					t.Errorf("error body %s, want field %q", a.body, tt.field)
				}
			}
		})
	}

	list := h.do(t, teacher, req{method: "GET", path: path})
	all, _ := list.json(t)["invites"].([]any)
	if list.status != 200 || len(all) != 2 {
		t.Fatalf("list: %d %s", list.status, list.body)
	}
	for _, x := range all {
		m := x.(map[string]any)
		if _, ok := m["link"]; ok {
			t.Errorf("the list shows a link: %v", m)
		}
		if m["id"] == inv["id"] && (m["state"] != "revoked" || m["revoked_at"] == nil) {
			t.Errorf("revoked invite listed as %v", m)
		}
	}
	if code := strings.TrimPrefix(link, h.base+"/invite/"); strings.Contains(h.log.String(), code) {
		t.Error("the invite code is in the log")
	}
	for _, want := range []string{"api: invite created", "api: invite revoked", "by=demo:teacher"} {
		if !strings.Contains(h.log.String(), want) {
			t.Errorf("audit log lacks %q", want)
		}
	}
	checkStatusesDocumented(t, h.seen)
}
