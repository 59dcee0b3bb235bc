package grant

import (
	"context"
	"reflect"
	"testing"
	"time"

	"github.com/jitsi-gate/jitsi-gate/internal/auth"
	"github.com/jitsi-gate/jitsi-gate/internal/policy"
	"github.com/jitsi-gate/jitsi-gate/internal/room"
	"github.com/jitsi-gate/jitsi-gate/internal/token"
)

func ptr(b bool) *bool { return &b }

var settings = Settings{Issuer: "jitsi-gate", Audience: "jitsi", XMPPDomain: "meet.jitsi", TokenLifetime: time.Hour}

func granter(t *testing.T) *Granter {
	t.Helper()
	p, err := policy.Compile([]policy.Rule{
		{Name: "no-exams", Groups: []string{"students"}, Rooms: []string{"prüfung-*"}, Role: policy.Deny},
		{Name: "teachers", Groups: []string{"teachers"}, Role: policy.Owner, LobbyBypass: ptr(true),
			Features: map[string]bool{"recording": true}, TokenLifetime: 3 * time.Hour},
		{Name: "students", Groups: []string{"students"}, Role: policy.Member, Lobby: ptr(true)},
	})
	if err != nil {
		t.Fatal(err)
	}
	g, err := New(p, settings, nil)
	if err != nil {
		t.Fatal(err)
	}
	return g
}

func mustRoom(t *testing.T, raw string) room.Name {
	t.Helper()
	n, err := room.Parse(raw)
	if err != nil {
		t.Fatal(err)
	}
	return n
}

func TestGrant(t *testing.T) {
	g := granter(t)
	now := time.Date(2026, 11, 30, 8, 0, 0, 0, time.UTC)
	tina := auth.Identity{Backend: "ldap", Subject: "tina", Username: "tina", Name: "Tina <b>Teacher</b>\n",
		Email: "tina@example.org", Groups: []string{"teachers"}}
	sam := auth.Identity{Backend: "ldap", Subject: "sam", Username: "sam", Groups: []string{"students"}}
	pat := auth.Identity{Backend: "demo", Subject: "pat", Username: "pat", Groups: []string{"parents"}}

	tests := []struct {
		name   string
		req    Request
		allow  bool
		rule   string
		claims token.Claims
	}{
		{
			name: "teacher: owner with the rule's lifetime, lobby bypass and features; name sanitised",
			req:  Request{Identity: tina, Room: mustRoom(t, "Mathe-Übung")}, allow: true, rule: "teachers",
			claims: token.Claims{Issuer: "jitsi-gate", Audience: "jitsi", Subject: "meet.jitsi", Room: "mathe-%c3%bcbung",
				IssuedAt: now, ExpiresAt: now.Add(3 * time.Hour),
				Context: token.Context{User: token.User{ID: "ldap:tina", Name: "Tina <b>Teacher</b>", Email: "tina@example.org",
					Affiliation: "owner", Moderator: true, LobbyBypass: ptr(true)}, Features: map[string]bool{"recording": true}}},
		},
		{
			name: "student in a tenant: member, sub is the tenant, display name falls back to the username",
			req:  Request{Identity: sam, Room: mustRoom(t, "mathe"), Tenant: "school-a"}, allow: true, rule: "students",
			claims: token.Claims{Issuer: "jitsi-gate", Audience: "jitsi", Subject: "school-a", Room: "mathe",
				IssuedAt: now, ExpiresAt: now.Add(time.Hour),
				Context: token.Context{User: token.User{ID: "ldap:sam", Name: "sam", Affiliation: "member", Lobby: ptr(true)}}},
		},
		{name: "student in an exam room: the deny rule decides, no claims", req: Request{Identity: sam, Room: mustRoom(t, "Prüfung-10b")}, rule: "no-exams"},
		{name: "no rule: denied, no claims", req: Request{Identity: pat, Room: mustRoom(t, "mathe")}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := g.Grant(context.Background(), tt.req, now)
			if err != nil {
				t.Fatal(err)
			}
			if got.Decision.Allowed != tt.allow || got.Decision.Rule != tt.rule {
				t.Fatalf("decision %+v, want allowed=%v rule=%q", got.Decision, tt.allow, tt.rule)
			}
			if tt.claims.Context.User.Name == "Tina <b>Teacher</b>" {
				// auth.Sanitize keeps text but drops control characters.
				tt.claims.Context.User.Name = auth.Sanitize(tina.Name, 128)
			}
			if !reflect.DeepEqual(got.Claims, tt.claims) {
				t.Errorf("claims\n got %+v\nwant %+v", got.Claims, tt.claims)
			}
		})
	}
}

func TestNewRefusesIncompleteSettings(t *testing.T) {
	p, _ := policy.Compile(nil)
	for _, s := range []Settings{{}, {Issuer: "a", Audience: "b", XMPPDomain: "c"}, {Issuer: "a", XMPPDomain: "c", TokenLifetime: time.Hour}} {
		if _, err := New(p, s, nil); err == nil {
			t.Errorf("New(%+v) accepted", s)
		}
	}
	if _, err := New(nil, settings, nil); err == nil {
		t.Error("New without a policy accepted")
	}
}
