package store

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"reflect"
	"strings"
	"testing"
	"time"
)

func TestSessionLifecycle(t *testing.T) {
	forEachDriver(t, func(t *testing.T, d *testDB) {
		ctx := context.Background()
		s := d.open(t)
		expires := d.clock.Now().Add(8 * time.Hour)
		created, err := s.CreateSession(ctx, Session{
			Backend: "ldap", Subject: "uid=teacher1,ou=people", Username: "teacher1",
			Groups: []string{"teachers", "fachschaft-mathe"}, ExpiresAt: expires,
		})
		if err != nil {
			t.Fatalf("CreateSession: %v", err)
		}
		if len(created.ID) != 43 {
			t.Errorf("session id %q: want 43 base64url characters (256 bits)", created.ID)
		}
		now := truncTime(d.clock.Now())
		if !created.CreatedAt.Equal(now) || !created.GroupsCheckedAt.Equal(now) || !created.ExpiresAt.Equal(truncTime(expires)) {
			t.Errorf("created session times: %+v", created)
		}
		got, err := s.Session(ctx, created.ID)
		if err != nil {
			t.Fatalf("Session: %v", err)
		}
		if !reflect.DeepEqual(got, created) {
			t.Errorf("Session =\n%+v\nwant\n%+v", got, created)
		}

		d.clock.Advance(15 * time.Minute)
		checked := d.clock.Now()
		if err := s.TouchSessionGroups(ctx, created.ID, []string{"teachers"}, checked); err != nil {
			t.Fatalf("TouchSessionGroups: %v", err)
		}
		got, err = s.Session(ctx, created.ID)
		if err != nil || !reflect.DeepEqual(got.Groups, []string{"teachers"}) || !got.GroupsCheckedAt.Equal(truncTime(checked)) {
			t.Errorf("after TouchSessionGroups: %+v, %v", got, err)
		}

		if err := s.RevokeSession(ctx, created.ID); err != nil {
			t.Fatalf("RevokeSession: %v", err)
		}
		revokedAt := truncTime(d.clock.Now())
		got, err = s.Session(ctx, created.ID)
		if !errors.Is(err, ErrRevoked) || !got.RevokedAt.Equal(revokedAt) || got.Username != "teacher1" {
			t.Errorf("Session after revoke: %+v, %v; want the record and ErrRevoked", got, err)
		}
		d.clock.Advance(time.Minute)
		if err := s.RevokeSession(ctx, created.ID); err != nil {
			t.Errorf("second RevokeSession: %v", err)
		}
		if got, _ := s.Session(ctx, created.ID); !got.RevokedAt.Equal(revokedAt) {
			t.Errorf("second revoke moved RevokedAt to %v, want %v", got.RevokedAt, revokedAt)
		}
		if err := s.TouchSessionGroups(ctx, created.ID, []string{"admins"}, d.clock.Now()); !errors.Is(err, ErrRevoked) {
			t.Errorf("TouchSessionGroups on a revoked session: %v, want ErrRevoked", err)
		}
		if got, _ := s.Session(ctx, created.ID); !reflect.DeepEqual(got.Groups, []string{"teachers"}) {
			t.Errorf("groups of a revoked session changed to %v", got.Groups)
		}
	})
}

func TestSessionNotFound(t *testing.T) {
	forEachDriver(t, func(t *testing.T, d *testDB) {
		ctx := context.Background()
		s := d.open(t)
		if _, err := s.Session(ctx, "unknown"); !errors.Is(err, ErrNotFound) {
			t.Errorf("Session: %v, want ErrNotFound", err)
		}
		if err := s.RevokeSession(ctx, "unknown"); !errors.Is(err, ErrNotFound) {
			t.Errorf("RevokeSession: %v, want ErrNotFound", err)
		}
		if err := s.TouchSessionGroups(ctx, "unknown", nil, d.clock.Now()); !errors.Is(err, ErrNotFound) {
			t.Errorf("TouchSessionGroups: %v, want ErrNotFound", err)
		}
	})
}

func TestSessionExpiry(t *testing.T) {
	forEachDriver(t, func(t *testing.T, d *testDB) {
		ctx := context.Background()
		s := d.open(t)
		short, err := s.CreateSession(ctx, Session{Backend: "oidc", Subject: "a", ExpiresAt: d.clock.Now().Add(time.Hour)})
		if err != nil {
			t.Fatal(err)
		}
		long, err := s.CreateSession(ctx, Session{Backend: "oidc", Subject: "b", ExpiresAt: d.clock.Now().Add(3 * time.Hour)})
		if err != nil {
			t.Fatal(err)
		}
		d.clock.Advance(time.Hour - time.Microsecond)
		if _, err := s.Session(ctx, short.ID); err != nil {
			t.Errorf("a microsecond before expiry: %v", err)
		}
		d.clock.Advance(time.Microsecond)
		if got, err := s.Session(ctx, short.ID); !errors.Is(err, ErrExpired) || got.Subject != "a" {
			t.Errorf("at expiry: %+v, %v; want the record and ErrExpired", got, err)
		}
		n, err := s.DeleteExpiredSessions(ctx, d.clock.Now().Add(time.Hour))
		if err != nil || n != 1 {
			t.Errorf("DeleteExpiredSessions = %d, %v; want 1", n, err)
		}
		if _, err := s.Session(ctx, short.ID); !errors.Is(err, ErrNotFound) {
			t.Errorf("deleted session: %v, want ErrNotFound", err)
		}
		if _, err := s.Session(ctx, long.ID); err != nil {
			t.Errorf("the session that has not expired: %v", err)
		}
	})
}

func TestRevokeUserSessions(t *testing.T) {
	forEachDriver(t, func(t *testing.T, d *testDB) {
		ctx := context.Background()
		s := d.open(t)
		exp := d.clock.Now().Add(time.Hour)
		mk := func(backend, subject string) Session {
			t.Helper()
			sess, err := s.CreateSession(ctx, Session{Backend: backend, Subject: subject, ExpiresAt: exp})
			if err != nil {
				t.Fatal(err)
			}
			return sess
		}
		target1, target2, alreadyRevoked := mk("ldap", "u1"), mk("ldap", "u1"), mk("ldap", "u1")
		otherUser, otherBackend := mk("ldap", "u2"), mk("oidc", "u1")
		if err := s.RevokeSession(ctx, alreadyRevoked.ID); err != nil {
			t.Fatal(err)
		}
		n, err := s.RevokeUserSessions(ctx, "ldap", "u1")
		if err != nil || n != 2 {
			t.Errorf("RevokeUserSessions = %d, %v; want 2 (the third was revoked already)", n, err)
		}
		for _, sess := range []Session{target1, target2, alreadyRevoked} {
			if _, err := s.Session(ctx, sess.ID); !errors.Is(err, ErrRevoked) {
				t.Errorf("session of ldap/u1: %v, want ErrRevoked", err)
			}
		}
		for _, sess := range []Session{otherUser, otherBackend} {
			if _, err := s.Session(ctx, sess.ID); err != nil {
				t.Errorf("session of %s/%s: %v, want it untouched", sess.Backend, sess.Subject, err)
			}
		}
	})
}

func TestCreateSessionValidation(t *testing.T) {
	exp := time.Now().Add(time.Hour)
	tests := []struct {
		name string
		sess Session
	}{
		{"no backend", Session{Subject: "s", ExpiresAt: exp}},
		{"no subject", Session{Backend: "b", ExpiresAt: exp}},
		{"no expiry", Session{Backend: "b", Subject: "s"}},
		{"id set by the caller", Session{ID: "mine", Backend: "b", Subject: "s", ExpiresAt: exp}},
	}
	forEachDriver(t, func(t *testing.T, d *testDB) {
		s := d.open(t)
		for _, tt := range tests {
			if _, err := s.CreateSession(context.Background(), tt.sess); !errors.Is(err, ErrInvalid) {
				t.Errorf("%s: %v, want ErrInvalid", tt.name, err)
			}
		}
	})
}

func TestSessionIDNeverPrinted(t *testing.T) {
	sess := Session{ID: "bearer-secret-id", Backend: "ldap", Subject: "uid=x", Username: "x"}
	var logged bytes.Buffer
	slog.New(slog.NewJSONHandler(&logged, nil)).Info("session", "session", sess)
	for name, out := range map[string]string{
		"%v": fmt.Sprintf("%v", sess), "%+v": fmt.Sprintf("%+v", sess), "%#v": fmt.Sprintf("%#v", sess),
		"slog": logged.String(),
	} {
		if strings.Contains(out, sess.ID) {
			t.Errorf("%s prints the session id: %s", name, out)
		}
		if !strings.Contains(out, "uid=x") {
			t.Errorf("%s does not say whose session it is: %s", name, out)
		}
	}
}

// TestSessionIDStoredHashed: the database never holds the session id
// itself, so a copy of it (a backup) opens no session.
func TestSessionIDStoredHashed(t *testing.T) {
	forEachDriver(t, func(t *testing.T, d *testDB) {
		ctx := context.Background()
		s := d.open(t)
		sess, err := s.CreateSession(ctx, Session{Backend: "b", Subject: "s", ExpiresAt: d.clock.Now().Add(time.Hour)})
		if err != nil {
			t.Fatal(err)
		}
		var stored string
		if err := s.read.QueryRowContext(ctx, "SELECT id_hash FROM sessions").Scan(&stored); err != nil {
			t.Fatal(err)
		}
		if stored == sess.ID || stored != sessionKey(sess.ID) {
			t.Errorf("stored key %q for id %q, want its SHA-256", stored, sess.ID)
		}
	})
}
