package token

import (
	"strings"
	"testing"
	"time"
)

func TestInspect(t *testing.T) {
	s, err := NewHS256([]byte(strings.Repeat("k", 32)))
	if err != nil {
		t.Fatal(err)
	}
	now := time.Unix(1788249600, 0)
	jwt, err := s.Mint(Claims{Issuer: "gate", Audience: "jitsi", Subject: "meet.jitsi", Room: "math-101",
		IssuedAt: now, ExpiresAt: now.Add(time.Hour), Context: Context{User: User{ID: "demo:t", Affiliation: "owner"}}})
	if err != nil {
		t.Fatal(err)
	}
	h, c, err := Inspect(jwt)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(h, `"typ": "JWT"`) || !strings.Contains(c, `"room": "math-101"`) || !strings.Contains(c, `"nbf": 1788249540`) {
		t.Errorf("header:\n%s\nclaims:\n%s", h, c)
	}
	// Claims keep the order of the token, so the page reads like the token.
	if strings.Index(c, `"iss"`) > strings.Index(c, `"context"`) {
		t.Errorf("claims reordered:\n%s", c)
	}
	for _, bad := range []string{"", "a.b", "!!.e30.x", "e30.!!.x", "bm90IGpzb24.e30.x"} {
		if _, _, err := Inspect(bad); err == nil {
			t.Errorf("Inspect(%q) = nil error", bad)
		}
	}
}
