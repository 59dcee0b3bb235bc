package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"log/slog"
	"time"
)

// CalendarFeed is a user's personal calendar subscription: a secret
// address (<public_url>/calendar/<token>.ics) that lists the rooms the user
// may join. Each user (Backend + Subject) has at most one; a new token
// replaces the old one, which then finds nothing (revocation).
//
// The token is a bearer secret: the store keeps only its SHA-256 hash, like
// a session id. Seed is what the caller derived the token from (with a
// secret of its own, see internal/calfeed); the store only keeps it.
type CalendarFeed struct {
	// Backend and Subject identify the user at the backend; required.
	Backend, Subject string
	// Username and Groups are the user as the feed matches rooms
	// (organizers and participants name users and groups).
	Username string
	Groups   []string
	// Seed is the caller's random value behind the token; required.
	Seed string
	// CreatedAt is when the current token was made; UpdatedAt when
	// Username and Groups were last written.
	CreatedAt, UpdatedAt time.Time
}

// LogValue logs whose feed it is, never its seed.
func (f CalendarFeed) LogValue() slog.Value {
	return slog.GroupValue(
		slog.String("backend", f.Backend),
		slog.String("subject", f.Subject),
		slog.String("username", f.Username),
	)
}

const calendarFeedColumns = `backend, subject, username, group_list, seed, created_at, updated_at`

// SaveCalendarFeed gives the user of f a feed with token: a new one, or
// the user's existing one with a new token, seed, username and groups (the
// old token stops working). CreatedAt and UpdatedAt are set to now.
// Backend, Subject, Seed and token are required (ErrInvalid).
func (s *Store) SaveCalendarFeed(ctx context.Context, f CalendarFeed, token string) (CalendarFeed, error) {
	if f.Backend == "" || f.Subject == "" || f.Seed == "" || token == "" {
		return CalendarFeed{}, fmt.Errorf("store: save calendar feed: %w calendar feed: backend, subject, seed and token are required", ErrInvalid)
	}
	groups, err := encodeList(f.Groups)
	if err != nil {
		return CalendarFeed{}, fmt.Errorf("store: save calendar feed: %w", err)
	}
	now := truncTime(s.now())
	f.CreatedAt, f.UpdatedAt = now, now
	if len(f.Groups) == 0 {
		f.Groups = nil
	}
	q := rebind(s.driver, `INSERT INTO calendar_feeds (backend, subject, token_hash, seed, username, group_list, created_at, updated_at)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?)
		ON CONFLICT (backend, subject) DO UPDATE SET token_hash = excluded.token_hash, seed = excluded.seed,
			username = excluded.username, group_list = excluded.group_list,
			created_at = excluded.created_at, updated_at = excluded.updated_at`)
	_, err = s.write.ExecContext(ctx, q, f.Backend, f.Subject, sessionKey(token), f.Seed, f.Username, groups,
		dbTime(now), dbTime(now))
	if err != nil {
		if isUniqueViolation(err) {
			// Two users with the same token: only a broken random source
			// could do that.
			return CalendarFeed{}, fmt.Errorf("store: save calendar feed of %s/%s: the token is already in use", f.Backend, f.Subject)
		}
		return CalendarFeed{}, fmt.Errorf("store: save calendar feed of %s/%s: %w", f.Backend, f.Subject, err)
	}
	return f, nil
}

// CalendarFeedOfUser returns the user's feed, or ErrNotFound.
func (s *Store) CalendarFeedOfUser(ctx context.Context, backend, subject string) (CalendarFeed, error) {
	q := rebind(s.driver, `SELECT `+calendarFeedColumns+` FROM calendar_feeds WHERE backend = ? AND subject = ?`)
	f, err := scanCalendarFeed(s.write.QueryRowContext(ctx, q, backend, subject))
	if err != nil {
		return CalendarFeed{}, fmt.Errorf("store: calendar feed of %s/%s: %w", backend, subject, err)
	}
	return f, nil
}

// CalendarFeedByToken returns the feed whose token this is, or
// ErrNotFound (never made, or replaced by a newer token).
func (s *Store) CalendarFeedByToken(ctx context.Context, token string) (CalendarFeed, error) {
	q := rebind(s.driver, `SELECT `+calendarFeedColumns+` FROM calendar_feeds WHERE token_hash = ?`)
	f, err := scanCalendarFeed(s.read.QueryRowContext(ctx, q, sessionKey(token)))
	if err != nil {
		return CalendarFeed{}, fmt.Errorf("store: calendar feed: %w", err)
	}
	return f, nil
}

// UpdateCalendarFeedUser records the user's current username and groups
// in their feed (the token stays). ErrNotFound when the user has none.
func (s *Store) UpdateCalendarFeedUser(ctx context.Context, backend, subject, username string, groups []string) (CalendarFeed, error) {
	enc, err := encodeList(groups)
	if err != nil {
		return CalendarFeed{}, fmt.Errorf("store: update calendar feed: %w", err)
	}
	q := rebind(s.driver, `UPDATE calendar_feeds SET username = ?, group_list = ?, updated_at = ? WHERE backend = ? AND subject = ?`)
	res, err := s.write.ExecContext(ctx, q, username, enc, dbTime(truncTime(s.now())), backend, subject)
	if err != nil {
		return CalendarFeed{}, fmt.Errorf("store: update calendar feed of %s/%s: %w", backend, subject, err)
	}
	if n, err := res.RowsAffected(); err != nil {
		return CalendarFeed{}, fmt.Errorf("store: update calendar feed of %s/%s: %w", backend, subject, err)
	} else if n == 0 {
		return CalendarFeed{}, fmt.Errorf("store: update calendar feed of %s/%s: %w", backend, subject, ErrNotFound)
	}
	return s.CalendarFeedOfUser(ctx, backend, subject)
}

// DeleteCalendarFeed removes the user's feed (its address stops working).
// ErrNotFound when there is none.
func (s *Store) DeleteCalendarFeed(ctx context.Context, backend, subject string) error {
	q := rebind(s.driver, `DELETE FROM calendar_feeds WHERE backend = ? AND subject = ?`)
	res, err := s.write.ExecContext(ctx, q, backend, subject)
	if err != nil {
		return fmt.Errorf("store: delete calendar feed of %s/%s: %w", backend, subject, err)
	}
	if n, err := res.RowsAffected(); err != nil {
		return fmt.Errorf("store: delete calendar feed of %s/%s: %w", backend, subject, err)
	} else if n == 0 {
		return fmt.Errorf("store: delete calendar feed of %s/%s: %w", backend, subject, ErrNotFound)
	}
	return nil
}

func scanCalendarFeed(row *sql.Row) (CalendarFeed, error) {
	var f CalendarFeed
	var groups string
	var created, updated sql.NullInt64
	err := row.Scan(&f.Backend, &f.Subject, &f.Username, &groups, &f.Seed, &created, &updated)
	if errors.Is(err, sql.ErrNoRows) {
		return CalendarFeed{}, ErrNotFound
	}
	if err != nil {
		return CalendarFeed{}, err
	}
	if f.Groups, err = decodeList(groups); err != nil {
		return CalendarFeed{}, fmt.Errorf("groups: %w", err)
	}
	f.CreatedAt, f.UpdatedAt = goTime(created), goTime(updated)
	return f, nil
}
