package store

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"
)

func ssoGrant(token, kind, family string, exp time.Time) SSOGrant {
	return SSOGrant{Token: token, Kind: kind, Family: family, ClientID: "jitsi", LoginHash: "login-1",
		Backend: "ldap", Subject: "tina", Sealed: "sealed-" + token, ExpiresAt: exp}
}

func TestSSOGrantSingleUse(t *testing.T) {
	forEachDriver(t, func(t *testing.T, d *testDB) {
		ctx := context.Background()
		s := d.open(t)
		now := d.clock.Now()
		if _, err := s.CreateSSOGrant(ctx, ssoGrant("code-1", SSOCode, "fam-1", now.Add(time.Minute))); err != nil {
			t.Fatal(err)
		}
		if _, err := s.UseSSOGrant(ctx, "code-1", SSORefresh); !errors.Is(err, ErrNotFound) {
			t.Errorf("code used as a refresh token: %v, want ErrNotFound", err)
		}
		g, err := s.UseSSOGrant(ctx, "code-1", SSOCode)
		if err != nil {
			t.Fatalf("first use: %v", err)
		}
		if g.Sealed != "sealed-code-1" || g.Family != "fam-1" || g.ClientID != "jitsi" || g.UsedAt.IsZero() {
			t.Errorf("first use returned %+v", g)
		}
		if g, err := s.UseSSOGrant(ctx, "code-1", SSOCode); !errors.Is(err, ErrUsed) || g.Family != "fam-1" {
			t.Errorf("second use: %v (family %q), want ErrUsed with the record", err, g.Family)
		}
		if _, err := s.UseSSOGrant(ctx, "code-2", SSOCode); !errors.Is(err, ErrNotFound) {
			t.Errorf("unknown code: %v, want ErrNotFound", err)
		}
	})
}

func TestSSOGrantConcurrentUse(t *testing.T) {
	forEachDriver(t, func(t *testing.T, d *testDB) {
		ctx := context.Background()
		s := d.open(t)
		if _, err := s.CreateSSOGrant(ctx, ssoGrant("rt", SSORefresh, "fam", d.clock.Now().Add(time.Hour))); err != nil {
			t.Fatal(err)
		}
		var wg sync.WaitGroup
		var mu sync.Mutex
		won := 0
		for range 8 {
			wg.Go(func() {
				if _, err := s.UseSSOGrant(ctx, "rt", SSORefresh); err == nil {
					mu.Lock()
					won++
					mu.Unlock()
				} else if !errors.Is(err, ErrUsed) {
					t.Errorf("concurrent use: %v", err)
				}
			})
		}
		wg.Wait()
		if won != 1 {
			t.Errorf("%d concurrent uses succeeded, want exactly 1", won)
		}
	})
}

func TestSSOGrantExpiryAndRevocation(t *testing.T) {
	forEachDriver(t, func(t *testing.T, d *testDB) {
		ctx := context.Background()
		s := d.open(t)
		now := d.clock.Now()
		for i, g := range []SSOGrant{
			ssoGrant("a", SSORefresh, "fam-a", now.Add(time.Hour)),
			ssoGrant("b", SSORefresh, "fam-a", now.Add(time.Hour)),
			ssoGrant("c", SSORefresh, "fam-c", now.Add(time.Hour)),
			ssoGrant("short", SSOCode, "fam-s", now.Add(time.Minute)),
		} {
			if i == 2 {
				g.LoginHash = "login-2"
			}
			if _, err := s.CreateSSOGrant(ctx, g); err != nil {
				t.Fatal(err)
			}
		}
		if n, err := s.RevokeSSOFamily(ctx, "fam-a"); err != nil || n != 2 {
			t.Errorf("RevokeSSOFamily = %d, %v; want 2", n, err)
		}
		if _, err := s.UseSSOGrant(ctx, "b", SSORefresh); !errors.Is(err, ErrRevoked) {
			t.Errorf("revoked family member: %v, want ErrRevoked", err)
		}
		if n, err := s.RevokeSSOLogin(ctx, "login-2"); err != nil || n != 1 {
			t.Errorf("RevokeSSOLogin = %d, %v; want 1", n, err)
		}
		d.clock.Advance(2 * time.Minute)
		if _, err := s.UseSSOGrant(ctx, "short", SSOCode); !errors.Is(err, ErrExpired) {
			t.Errorf("expired code: %v, want ErrExpired", err)
		}
		if n, err := s.DeleteExpiredSSOGrants(ctx, d.clock.Now()); err != nil || n != 1 {
			t.Errorf("DeleteExpiredSSOGrants = %d, %v; want 1", n, err)
		}
		if n, err := s.RevokeSSOUser(ctx, "ldap", "tina", "jitsi"); err != nil || n != 0 {
			t.Errorf("RevokeSSOUser after everything was revoked = %d, %v; want 0", n, err)
		}
	})
}

func TestSSOGrantStoredHashedAndValidated(t *testing.T) {
	forEachDriver(t, func(t *testing.T, d *testDB) {
		ctx := context.Background()
		s := d.open(t)
		g, err := s.CreateSSOGrant(ctx, ssoGrant("the-secret-token", SSOCode, "f", d.clock.Now().Add(time.Minute)))
		if err != nil {
			t.Fatal(err)
		}
		var n int
		if err := s.write.QueryRowContext(ctx, rebind(s.driver, `SELECT COUNT(*) FROM sso_grants WHERE token_hash = ?`),
			"the-secret-token").Scan(&n); err != nil || n != 0 {
			t.Errorf("token stored in clear: %d rows, %v", n, err)
		}
		for _, printed := range []string{g.String(), fmt.Sprintf("%v %#v %+v", g, g, g)} {
			if strings.Contains(printed, "the-secret-token") {
				t.Errorf("grant printed with its token: %s", printed)
			}
		}
		bad := ssoGrant("x", "password", "f", d.clock.Now().Add(time.Minute))
		if _, err := s.CreateSSOGrant(ctx, bad); !errors.Is(err, ErrInvalid) {
			t.Errorf("unknown kind: %v, want ErrInvalid", err)
		}
		bad = ssoGrant("x", SSOCode, "f", time.Time{})
		if _, err := s.CreateSSOGrant(ctx, bad); !errors.Is(err, ErrInvalid) {
			t.Errorf("no expiry: %v, want ErrInvalid", err)
		}
	})
}

func TestSSOGrantRebind(t *testing.T) {
	forEachDriver(t, func(t *testing.T, d *testDB) {
		ctx := context.Background()
		s := d.open(t)
		if _, err := s.CreateSSOGrant(ctx, ssoGrant("rt", SSORefresh, "fam", d.clock.Now().Add(time.Hour))); err != nil {
			t.Fatal(err)
		}
		if err := s.RebindSSOGrant(ctx, "rt", "ldap", "sam", "login-9", "x"); !errors.Is(err, ErrNotFound) {
			t.Errorf("rebind to another user: %v, want ErrNotFound", err)
		}
		if err := s.RebindSSOGrant(ctx, "rt", "ldap", "tina", "login-9", "resealed"); err != nil {
			t.Fatalf("rebind: %v", err)
		}
		g, err := s.SSOGrant(ctx, "rt", SSORefresh)
		if err != nil || g.LoginHash != "login-9" || g.Sealed != "resealed" || !g.UsedAt.IsZero() {
			t.Errorf("after rebind: %+v, %v", g, err)
		}
		if _, err := s.UseSSOGrant(ctx, "rt", SSORefresh); err != nil {
			t.Fatal(err)
		}
		if err := s.RebindSSOGrant(ctx, "rt", "ldap", "tina", "login-10", "y"); !errors.Is(err, ErrNotFound) {
			t.Errorf("rebind of a used token: %v, want ErrNotFound", err)
		}
	})
}
