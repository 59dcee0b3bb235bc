package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"
)

// SSO grant kinds.
const (
	SSOCode    = "code"
	SSORefresh = "refresh"
)

// ErrUsed: the single-use grant (an authorization code, a rotated refresh
// token) was used before. UseSSOGrant returns the record together with it,
// so the caller can revoke the grant's family.
var ErrUsed = errors.New("grant already used")

// SSOGrant is an authorization code or a refresh token of the inline
// sign-in (internal/sso). Token is the bearer secret: the store keeps only
// its SHA-256 hash, like session ids. Sealed is opaque to the store (the
// sso package encrypts it with a key derived from Token).
type SSOGrant struct {
	Token string
	// Kind is SSOCode or SSORefresh.
	Kind string
	// Family groups every token that descends from one code.
	Family   string
	ClientID string
	// LoginHash is the hex SHA-256 of the login id the grant came from.
	LoginHash        string
	Backend, Subject string
	Sealed           string
	CreatedAt        time.Time
	// ExpiresAt is required.
	ExpiresAt time.Time
	UsedAt    time.Time
	RevokedAt time.Time
}

// String prints the grant without its token and sealed contents.
func (g SSOGrant) String() string {
	return fmt.Sprintf("sso %s grant of %s/%s for client %s (family %s)", g.Kind, g.Backend, g.Subject, g.ClientID, g.Family)
}

// GoString is String, for %#v.
func (g SSOGrant) GoString() string { return g.String() }

const ssoColumns = `kind, family, client_id, login_hash, backend, subject, sealed, created_at, expires_at, used_at, revoked_at`

// CreateSSOGrant stores a new grant. Token, Kind, Family, ClientID,
// LoginHash, Backend, Subject and ExpiresAt are required (ErrInvalid);
// CreatedAt is set to now.
func (s *Store) CreateSSOGrant(ctx context.Context, g SSOGrant) (SSOGrant, error) {
	switch {
	case g.Token == "" || g.Family == "" || g.ClientID == "" || g.LoginHash == "":
		return SSOGrant{}, fmt.Errorf("store: create sso grant: %w grant: token, family, client and login are required", ErrInvalid)
	case g.Kind != SSOCode && g.Kind != SSORefresh:
		return SSOGrant{}, fmt.Errorf("store: create sso grant: %w kind %q", ErrInvalid, g.Kind)
	case g.Backend == "" || g.Subject == "":
		return SSOGrant{}, fmt.Errorf("store: create sso grant: %w grant: backend and subject are required", ErrInvalid)
	case g.ExpiresAt.IsZero():
		return SSOGrant{}, fmt.Errorf("store: create sso grant: %w grant: expires_at is required", ErrInvalid)
	}
	g.CreatedAt = truncTime(s.now())
	g.ExpiresAt = truncTime(g.ExpiresAt)
	g.UsedAt, g.RevokedAt = time.Time{}, time.Time{}
	_, err := s.write.ExecContext(ctx, rebind(s.driver, `INSERT INTO sso_grants (token_hash, `+ssoColumns+`)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, NULL, NULL)`),
		sessionKey(g.Token), g.Kind, g.Family, g.ClientID, g.LoginHash, g.Backend, g.Subject, g.Sealed,
		dbTime(g.CreatedAt), dbTime(g.ExpiresAt))
	if err != nil {
		return SSOGrant{}, fmt.Errorf("store: create sso %s grant for %s/%s: %w", g.Kind, g.Backend, g.Subject, err)
	}
	return g, nil
}

// UseSSOGrant marks the grant of token (of kind) used and returns it, in
// one statement, so two concurrent uses cannot both succeed. ErrNotFound
// when there is no such grant of that kind; for a used, revoked or expired
// one it returns the record AND ErrUsed, ErrRevoked or ErrExpired.
func (s *Store) UseSSOGrant(ctx context.Context, token, kind string) (SSOGrant, error) {
	key := sessionKey(token)
	now := s.now()
	row := s.write.QueryRowContext(ctx, rebind(s.driver, `UPDATE sso_grants SET used_at = ?
		WHERE token_hash = ? AND kind = ? AND used_at IS NULL AND revoked_at IS NULL AND expires_at > ?
		RETURNING `+ssoColumns), now.UnixMicro(), key, kind, now.UnixMicro())
	g, err := scanSSOGrant(row, token)
	switch {
	case err == nil:
		return g, nil
	case !errors.Is(err, sql.ErrNoRows):
		return SSOGrant{}, fmt.Errorf("store: use sso grant: %w", err)
	}
	// Nothing changed: say why.
	g, err = s.SSOGrant(ctx, token, kind)
	if err == nil {
		// Valid a moment ago: another request used it in between.
		return g, fmt.Errorf("store: sso grant: %w", ErrUsed)
	}
	return g, err
}

// SSOGrant reads the grant of token (of kind) without using it. ErrNotFound
// when there is none; for a used, revoked or expired one it returns the
// record AND ErrUsed, ErrRevoked or ErrExpired. It reads the write pool, so
// it sees a use that just happened.
func (s *Store) SSOGrant(ctx context.Context, token, kind string) (SSOGrant, error) {
	g, err := scanSSOGrant(s.write.QueryRowContext(ctx, rebind(s.driver,
		`SELECT `+ssoColumns+` FROM sso_grants WHERE token_hash = ? AND kind = ?`), sessionKey(token), kind), token)
	switch {
	case errors.Is(err, sql.ErrNoRows):
		return SSOGrant{}, fmt.Errorf("store: sso grant: %w", ErrNotFound)
	case err != nil:
		return SSOGrant{}, fmt.Errorf("store: read sso grant: %w", err)
	case !g.RevokedAt.IsZero():
		return g, fmt.Errorf("store: sso grant: %w", ErrRevoked)
	case !g.UsedAt.IsZero():
		return g, fmt.Errorf("store: sso grant: %w", ErrUsed)
	case !s.now().Before(g.ExpiresAt):
		return g, fmt.Errorf("store: sso grant: %w", ErrExpired)
	}
	return g, nil
}

// RebindSSOGrant moves a live refresh token to another login of the same
// user (a new sign-in in the popup of a refresh round): loginHash and
// sealed replace the old ones. ErrNotFound when the token is not a live
// refresh token of that backend and subject.
func (s *Store) RebindSSOGrant(ctx context.Context, token, backend, subject, loginHash, sealed string) error {
	now := s.now().UnixMicro()
	res, err := s.write.ExecContext(ctx, rebind(s.driver, `UPDATE sso_grants SET login_hash = ?, sealed = ?
		WHERE token_hash = ? AND kind = ? AND backend = ? AND subject = ?
		AND used_at IS NULL AND revoked_at IS NULL AND expires_at > ?`),
		loginHash, sealed, sessionKey(token), SSORefresh, backend, subject, now)
	if err != nil {
		return fmt.Errorf("store: rebind sso grant: %w", err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return fmt.Errorf("store: rebind sso grant: %w", err)
	}
	if n == 0 {
		return fmt.Errorf("store: rebind sso grant: %w", ErrNotFound)
	}
	return nil
}

func scanSSOGrant(row *sql.Row, token string) (SSOGrant, error) {
	g := SSOGrant{Token: token}
	var created, expires, used, revoked sql.NullInt64
	if err := row.Scan(&g.Kind, &g.Family, &g.ClientID, &g.LoginHash, &g.Backend, &g.Subject, &g.Sealed,
		&created, &expires, &used, &revoked); err != nil {
		return SSOGrant{}, err
	}
	g.CreatedAt, g.ExpiresAt, g.UsedAt, g.RevokedAt = goTime(created), goTime(expires), goTime(used), goTime(revoked)
	return g, nil
}

// RevokeSSOFamily revokes every grant of a family (a replayed code or
// refresh token) and returns how many it revoked.
func (s *Store) RevokeSSOFamily(ctx context.Context, family string) (int64, error) {
	return s.revokeSSO(ctx, "family", `family = ?`, family)
}

// RevokeSSOLogin revokes every grant that came from the login whose id
// hashes to loginHash (logout) and returns how many it revoked.
func (s *Store) RevokeSSOLogin(ctx context.Context, loginHash string) (int64, error) {
	return s.revokeSSO(ctx, "login", `login_hash = ?`, loginHash)
}

// RevokeSSOUser revokes every grant of the user for the client and returns
// how many it revoked.
func (s *Store) RevokeSSOUser(ctx context.Context, backend, subject, clientID string) (int64, error) {
	return s.revokeSSO(ctx, "user", `backend = ? AND subject = ? AND client_id = ?`, backend, subject, clientID)
}

func (s *Store) revokeSSO(ctx context.Context, what, where string, args ...any) (int64, error) {
	args = append([]any{s.now().UnixMicro()}, args...)
	res, err := s.write.ExecContext(ctx, rebind(s.driver,
		`UPDATE sso_grants SET revoked_at = ? WHERE `+where+` AND revoked_at IS NULL`), args...)
	if err != nil {
		return 0, fmt.Errorf("store: revoke sso grants by %s: %w", what, err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return 0, fmt.Errorf("store: revoke sso grants by %s: %w", what, err)
	}
	return n, nil
}

// DeleteExpiredSSOGrants deletes the grants that expired before the given
// time and returns how many. UseSSOGrant already refuses expired ones.
func (s *Store) DeleteExpiredSSOGrants(ctx context.Context, before time.Time) (int64, error) {
	res, err := s.write.ExecContext(ctx, rebind(s.driver, `DELETE FROM sso_grants WHERE expires_at < ?`), before.UnixMicro())
	if err != nil {
		return 0, fmt.Errorf("store: delete expired sso grants: %w", err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return 0, fmt.Errorf("store: delete expired sso grants: %w", err)
	}
	return n, nil
}
