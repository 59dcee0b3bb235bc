package config

import (
	"errors"
	"strings"
	"testing"
	"time"
)

func TestInviteDefaults(t *testing.T) {
	c := mustParse(t, baseYAML(), nil)
	want := Invites{DefaultExpiry: 72 * time.Hour, MaxExpiry: 720 * time.Hour,
		RateLimit: InviteRateLimit{PerIP: 30, Window: time.Minute}}
	if c.Invites != want {
		t.Errorf("invites defaults = %+v, want %+v", c.Invites, want)
	}
	// A default expiry above the default maximum raises the maximum.
	c = mustParse(t, baseYAML()+"invites: {default_expiry: 1000h}\n", nil)
	if c.Invites.MaxExpiry != 1000*time.Hour {
		t.Errorf("max_expiry = %s, want default_expiry 1000h", c.Invites.MaxExpiry)
	}
}

func TestValidateInvites(t *testing.T) {
	for _, tt := range []struct {
		name, yaml, path, msg string
	}{
		{"set", "invites: {default_expiry: 24h, max_expiry: 48h, rate_limit: {per_ip: 60, window: 2m}}", "", ""},
		{"default above max", "invites: {default_expiry: 96h, max_expiry: 48h}", "invites.default_expiry", "between 1s and invites.max_expiry"},
		{"negative default", "invites: {default_expiry: -1h}", "invites.default_expiry", "between 1s"},
		{"max too long", "invites: {max_expiry: 9000h}", "invites.max_expiry", "between 1s and 8784h"},
		{"per_ip negative", "invites: {rate_limit: {per_ip: -1}}", "invites.rate_limit.per_ip", "greater than 0"},
		{"window negative", "invites: {rate_limit: {window: -1s}}", "invites.rate_limit.window", "greater than 0"},
		{"unknown key", "invites: {expiry: 1h}", "invites.expiry", ""},
		{"guest backend", "", "backends[0].id", "reserved for invited guests"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			doc := baseYAML() + tt.yaml + "\n"
			if tt.name == "guest backend" {
				doc = strings.Replace(baseYAML(), "id: local", "id: Guest", 1)
			}
			_, err := Parse([]byte(doc), t.TempDir(), envMap(nil))
			if tt.path == "" {
				if err != nil {
					t.Fatalf("unexpected problems: %v", err)
				}
				return
			}
			var ps *Problems
			if !errors.As(err, &ps) {
				t.Fatalf("err = %v, want problems", err)
			}
			for _, p := range *ps {
				if p.Path == tt.path && strings.Contains(p.Message, tt.msg) {
					return
				}
			}
			t.Errorf("no problem at %s containing %q in:\n%v", tt.path, tt.msg, err)
		})
	}
}
