package store

import (
	"context"
	"database/sql"
	"errors"
	"reflect"
	"testing"
	"time"
)

func TestCalendarFeedLifecycle(t *testing.T) {
	forEachDriver(t, func(t *testing.T, d *testDB) {
		ctx := context.Background()
		s := d.open(t)
		ada := CalendarFeed{Backend: "ldap", Subject: "uid=ada", Username: "ada", Groups: []string{"teachers", "7b"}, Seed: "seed-1"}
		saved, err := s.SaveCalendarFeed(ctx, ada, "token-1")
		if err != nil {
			t.Fatalf("SaveCalendarFeed: %v", err)
		}
		now := truncTime(d.clock.Now())
		if !saved.CreatedAt.Equal(now) || !saved.UpdatedAt.Equal(now) {
			t.Errorf("saved feed times %v %v, want %v", saved.CreatedAt, saved.UpdatedAt, now)
		}
		byToken, err := s.CalendarFeedByToken(ctx, "token-1")
		if err != nil || !reflect.DeepEqual(byToken, saved) {
			t.Fatalf("CalendarFeedByToken = %+v, %v; want %+v", byToken, err, saved)
		}
		byUser, err := s.CalendarFeedOfUser(ctx, "ldap", "uid=ada")
		if err != nil || !reflect.DeepEqual(byUser, saved) {
			t.Fatalf("CalendarFeedOfUser = %+v, %v; want %+v", byUser, err, saved)
		}

		// The token is stored only as its hash.
		var plain int
		if err := s.read.QueryRowContext(ctx, rebind(s.driver, `SELECT COUNT(*) FROM calendar_feeds WHERE token_hash = ? OR seed = ?`),
			"token-1", "token-1").Scan(&plain); err != nil || plain != 0 {
			t.Errorf("the token is stored in plain text (%d rows, %v)", plain, err)
		}

		// A second user, then a new token for the first: the old one is gone.
		if _, err := s.SaveCalendarFeed(ctx, CalendarFeed{Backend: "ldap", Subject: "uid=bob", Username: "bob", Seed: "seed-b"}, "token-b"); err != nil {
			t.Fatal(err)
		}
		d.clock.Advance(time.Hour)
		renewed, err := s.SaveCalendarFeed(ctx, CalendarFeed{Backend: "ldap", Subject: "uid=ada", Username: "ada", Groups: []string{"7b"}, Seed: "seed-2"}, "token-2")
		if err != nil {
			t.Fatalf("SaveCalendarFeed again: %v", err)
		}
		if _, err := s.CalendarFeedByToken(ctx, "token-1"); !errors.Is(err, ErrNotFound) {
			t.Errorf("the replaced token still finds a feed: %v", err)
		}
		if got, err := s.CalendarFeedByToken(ctx, "token-2"); err != nil || got.Seed != "seed-2" || !reflect.DeepEqual(got, renewed) {
			t.Errorf("new token: %+v, %v", got, err)
		}
		if got, err := s.CalendarFeedByToken(ctx, "token-b"); err != nil || got.Username != "bob" || got.Groups != nil {
			t.Errorf("the other user's feed: %+v, %v", got, err)
		}

		d.clock.Advance(time.Minute)
		updated, err := s.UpdateCalendarFeedUser(ctx, "ldap", "uid=ada", "ada.l", []string{"teachers"})
		if err != nil {
			t.Fatalf("UpdateCalendarFeedUser: %v", err)
		}
		if updated.Username != "ada.l" || !reflect.DeepEqual(updated.Groups, []string{"teachers"}) || updated.Seed != "seed-2" ||
			!updated.CreatedAt.Equal(renewed.CreatedAt) || !updated.UpdatedAt.Equal(truncTime(d.clock.Now())) {
			t.Errorf("after UpdateCalendarFeedUser: %+v", updated)
		}
		if got, err := s.CalendarFeedByToken(ctx, "token-2"); err != nil || got.Username != "ada.l" {
			t.Errorf("the token after the update: %+v, %v", got, err)
		}
		if _, err := s.UpdateCalendarFeedUser(ctx, "ldap", "uid=nobody", "x", nil); !errors.Is(err, ErrNotFound) {
			t.Errorf("UpdateCalendarFeedUser of a user without a feed: %v, want ErrNotFound", err)
		}

		if err := s.DeleteCalendarFeed(ctx, "ldap", "uid=ada"); err != nil {
			t.Fatalf("DeleteCalendarFeed: %v", err)
		}
		if _, err := s.CalendarFeedByToken(ctx, "token-2"); !errors.Is(err, ErrNotFound) {
			t.Errorf("a deleted feed's token: %v", err)
		}
		if err := s.DeleteCalendarFeed(ctx, "ldap", "uid=ada"); !errors.Is(err, ErrNotFound) {
			t.Errorf("deleting twice: %v", err)
		}
		if _, err := s.CalendarFeedOfUser(ctx, "ldap", "uid=ada"); !errors.Is(err, ErrNotFound) {
			t.Errorf("CalendarFeedOfUser after delete: %v", err)
		}
	})
}

func TestCalendarFeedRefusesIncompleteInput(t *testing.T) {
	s := newTestDB(t, DriverSQLite).open(t)
	good := CalendarFeed{Backend: "ldap", Subject: "uid=ada", Username: "ada", Seed: "s"}
	tests := []struct {
		name  string
		feed  func(CalendarFeed) CalendarFeed
		token string
	}{
		{"no backend", func(f CalendarFeed) CalendarFeed { f.Backend = ""; return f }, "t"},
		{"no subject", func(f CalendarFeed) CalendarFeed { f.Subject = ""; return f }, "t"},
		{"no seed", func(f CalendarFeed) CalendarFeed { f.Seed = ""; return f }, "t"},
		{"no token", func(f CalendarFeed) CalendarFeed { return f }, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := s.SaveCalendarFeed(context.Background(), tt.feed(good), tt.token); !errors.Is(err, ErrInvalid) {
				t.Errorf("SaveCalendarFeed: %v, want ErrInvalid", err)
			}
		})
	}
	var n int
	if err := s.read.QueryRow(`SELECT COUNT(*) FROM calendar_feeds`).Scan(&n); err != nil && !errors.Is(err, sql.ErrNoRows) || n != 0 {
		t.Errorf("%d feeds stored from bad input (%v)", n, err)
	}
}
