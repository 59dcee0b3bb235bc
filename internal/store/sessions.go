package store

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"database/sql"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"time"
)

// Session is the server-side record of a login: the browser's session
// cookie carries the ID, and every use checks the record, so that logout and
// suspension take effect on every replica at once.
//
// The ID is a secret (256 random bits, base64url): the store keeps only its
// SHA-256 hash, so the ID is known only from CreateSession's result and the
// caller's own copy.
type Session struct {
	ID string
	// Backend and Subject identify the user at the backend (the directory
	// entry, the OIDC sub); RevokeUserSessions selects by them.
	Backend, Subject string
	Username         string
	Groups           []string
	CreatedAt        time.Time
	// ExpiresAt is required; Session reports ErrExpired from then on.
	ExpiresAt time.Time
	// GroupsCheckedAt is when Groups were last read from the backend.
	GroupsCheckedAt time.Time
	// RevokedAt is when the session was revoked (zero: it was not).
	RevokedAt time.Time
}

// sessionRedacted is Session without the id, for printing.
type sessionRedacted Session

// String prints the session with its id (a bearer secret) redacted.
func (s Session) String() string {
	c := sessionRedacted(s)
	if c.ID != "" {
		c.ID = "[redacted]"
	}
	return fmt.Sprintf("%+v", c)
}

// GoString is String, for %#v.
func (s Session) GoString() string { return s.String() }

// LogValue logs whose session it is, never its id.
func (s Session) LogValue() slog.Value {
	return slog.GroupValue(
		slog.String("backend", s.Backend),
		slog.String("subject", s.Subject),
		slog.String("username", s.Username),
	)
}

// newSessionID returns 256 random bits, base64url without padding.
func newSessionID() string {
	var b [32]byte
	rand.Read(b[:]) // never fails (crypto/rand)
	return base64.RawURLEncoding.EncodeToString(b[:])
}

// sessionKey is the stored form of a session id.
func sessionKey(id string) string {
	h := sha256.Sum256([]byte(id))
	return hex.EncodeToString(h[:])
}

// CreateSession stores a new session and returns it with a fresh ID and
// CreatedAt (now) set; GroupsCheckedAt defaults to CreatedAt. Backend,
// Subject and ExpiresAt are required (ErrInvalid); s.ID must be empty.
func (s *Store) CreateSession(ctx context.Context, sess Session) (Session, error) {
	switch {
	case sess.ID != "":
		return Session{}, fmt.Errorf("store: create session: %w session: the id is assigned by the store", ErrInvalid)
	case sess.Backend == "" || sess.Subject == "":
		return Session{}, fmt.Errorf("store: create session: %w session: backend and subject are required", ErrInvalid)
	case sess.ExpiresAt.IsZero():
		return Session{}, fmt.Errorf("store: create session: %w session: expires_at is required", ErrInvalid)
	}
	groups, err := encodeList(sess.Groups)
	if err != nil {
		return Session{}, fmt.Errorf("store: create session: %w", err)
	}
	sess.ID = newSessionID()
	sess.CreatedAt = truncTime(s.now())
	if sess.GroupsCheckedAt.IsZero() {
		sess.GroupsCheckedAt = sess.CreatedAt
	}
	sess.GroupsCheckedAt = truncTime(sess.GroupsCheckedAt)
	sess.ExpiresAt = truncTime(sess.ExpiresAt)
	sess.RevokedAt = time.Time{}
	if len(sess.Groups) == 0 {
		sess.Groups = nil
	}
	_, err = s.write.ExecContext(ctx, s.q.insertSession, sessionKey(sess.ID), sess.Backend, sess.Subject,
		sess.Username, groups, dbTime(sess.CreatedAt), dbTime(sess.ExpiresAt), dbTime(sess.GroupsCheckedAt))
	if err != nil {
		return Session{}, fmt.Errorf("store: create session for %s/%s: %w", sess.Backend, sess.Subject, err)
	}
	return sess, nil
}

// Session returns the session with that id. ErrNotFound when there is none
// (never created, or deleted after expiry); for a revoked or expired one it
// returns the record AND ErrRevoked or ErrExpired (revocation wins), so a
// caller that only checks err != nil cannot let such a session through.
func (s *Store) Session(ctx context.Context, id string) (Session, error) {
	sess := Session{ID: id}
	var groups string
	var created, expires, checked, revoked sql.NullInt64
	err := s.queryRow(ctx, func(h *hotStatements) *sql.Stmt { return h.sessionByHash }, s.q.sessionByHash, sessionKey(id)).Scan(&sess.Backend, &sess.Subject,
		&sess.Username, &groups, &created, &expires, &checked, &revoked)
	if errors.Is(err, sql.ErrNoRows) {
		return Session{}, fmt.Errorf("store: session: %w", ErrNotFound)
	}
	if err != nil {
		return Session{}, fmt.Errorf("store: read session: %w", err)
	}
	if sess.Groups, err = decodeList(groups); err != nil {
		return Session{}, fmt.Errorf("store: read session of %s/%s: groups: %w", sess.Backend, sess.Subject, err)
	}
	sess.CreatedAt, sess.ExpiresAt = goTime(created), goTime(expires)
	sess.GroupsCheckedAt, sess.RevokedAt = goTime(checked), goTime(revoked)
	switch {
	case !sess.RevokedAt.IsZero():
		return sess, fmt.Errorf("store: session of %s/%s: %w at %s", sess.Backend, sess.Subject, ErrRevoked,
			sess.RevokedAt.Format(time.RFC3339))
	case !s.now().Before(sess.ExpiresAt):
		return sess, fmt.Errorf("store: session of %s/%s: %w at %s", sess.Backend, sess.Subject, ErrExpired,
			sess.ExpiresAt.Format(time.RFC3339))
	}
	return sess, nil
}

// RevokeSession revokes the session (logout). Revoking a revoked session
// does nothing (the first RevokedAt stays); ErrNotFound when there is none.
func (s *Store) RevokeSession(ctx context.Context, id string) error {
	key := sessionKey(id)
	res, err := s.write.ExecContext(ctx, s.q.revokeSession, s.now().UnixMicro(), key)
	if err != nil {
		return fmt.Errorf("store: revoke session: %w", err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return fmt.Errorf("store: revoke session: %w", err)
	}
	if n > 0 {
		return nil
	}
	// Nothing changed: already revoked, or no such session.
	if _, err := s.sessionRevokedAt(ctx, key); err != nil {
		return fmt.Errorf("store: revoke session: %w", err)
	}
	return nil
}

// sessionRevokedAt reads revoked_at of the session with that key (the
// write pool: callers just wrote and must see their own write).
func (s *Store) sessionRevokedAt(ctx context.Context, key string) (sql.NullInt64, error) {
	var revoked sql.NullInt64
	err := s.write.QueryRowContext(ctx, s.q.sessionRevokedAt, key).Scan(&revoked)
	if errors.Is(err, sql.ErrNoRows) {
		return revoked, ErrNotFound
	}
	return revoked, err
}

// RevokeUserSessions revokes every live session of the user (suspension,
// "log out everywhere") and returns how many it revoked.
func (s *Store) RevokeUserSessions(ctx context.Context, backend, subject string) (int64, error) {
	res, err := s.write.ExecContext(ctx, s.q.revokeUser, s.now().UnixMicro(), backend, subject)
	if err != nil {
		return 0, fmt.Errorf("store: revoke sessions of %s/%s: %w", backend, subject, err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return 0, fmt.Errorf("store: revoke sessions of %s/%s: %w", backend, subject, err)
	}
	return n, nil
}

// TouchSessionGroups records the groups just read from the backend and
// when. ErrNotFound when there is no such session, ErrRevoked when it was
// revoked (nothing is written then).
func (s *Store) TouchSessionGroups(ctx context.Context, id string, groups []string, at time.Time) error {
	if at.IsZero() {
		return fmt.Errorf("store: update session groups: %w: no time", ErrInvalid)
	}
	enc, err := encodeList(groups)
	if err != nil {
		return fmt.Errorf("store: update session groups: %w", err)
	}
	key := sessionKey(id)
	res, err := s.write.ExecContext(ctx, s.q.touchGroups, enc, at.UnixMicro(), key)
	if err != nil {
		return fmt.Errorf("store: update session groups: %w", err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return fmt.Errorf("store: update session groups: %w", err)
	}
	if n > 0 {
		return nil
	}
	if _, err := s.sessionRevokedAt(ctx, key); err != nil {
		return fmt.Errorf("store: update session groups: %w", err)
	}
	return fmt.Errorf("store: update session groups: %w", ErrRevoked)
}

// DeleteExpiredSessions deletes the sessions (revoked or not) that expired
// before the given time and returns how many. Run it now and then; Session
// already refuses expired ones.
func (s *Store) DeleteExpiredSessions(ctx context.Context, before time.Time) (int64, error) {
	res, err := s.write.ExecContext(ctx, s.q.deleteExpired, before.UnixMicro())
	if err != nil {
		return 0, fmt.Errorf("store: delete expired sessions: %w", err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return 0, fmt.Errorf("store: delete expired sessions: %w", err)
	}
	return n, nil
}
