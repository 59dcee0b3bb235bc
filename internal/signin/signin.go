// Package signin keeps the server-side record of every sign-in, so that
// what happens on the server takes effect at once, whatever the browser
// holds: a logout revokes the login on every replica (the records live in
// the shared store), and a user's groups are read again from the backend
// at most every RefreshGroups, so a user removed from a group loses its
// rights, and a disabled account stops getting tokens, within that time
// instead of keeping them for the whole session.
//
// The login cookie (internal/session) carries the record's id next to the
// identity; the record decides whether the cookie still counts. Records
// are checked through a short cache (at most CacheTTL, one second by
// default) so the /join hot path does not ask the database every time; a
// revocation therefore reaches every replica within that second.
package signin

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"sync"
	"time"

	"github.com/jitsi-gate/jitsi-gate/internal/auth"
	"github.com/jitsi-gate/jitsi-gate/internal/store"
)

// Records is where logins are kept (internal/store).
type Records interface {
	CreateSession(ctx context.Context, s store.Session) (store.Session, error)
	Session(ctx context.Context, id string) (store.Session, error)
	RevokeSession(ctx context.Context, id string) error
	TouchSessionGroups(ctx context.Context, id string, groups []string, at time.Time) error
}

// Defaults for zero Options fields.
const (
	DefaultRefreshGroups = 15 * time.Minute
	DefaultCacheTTL      = time.Second
	maxCacheEntries      = 100000
	// refreshRetry is how long a login keeps its groups after a refresh
	// failed before the backend is asked again, so that a hung directory
	// does not hold up every request of every due login.
	refreshRetry = 30 * time.Second
)

var (
	// ErrEnded: the login is over (logged out, expired, unknown, or the
	// account is gone). The user signs in again.
	ErrEnded = errors.New("login ended")
	// ErrReauthenticate: the groups are due for a refresh and the backend
	// cannot be asked without the user (an OIDC provider): a new sign-in
	// at the same backend refreshes them.
	ErrReauthenticate = errors.New("login needs a new sign-in to refresh the groups")
)

// Options configure a Keeper.
type Options struct {
	Records Records
	// Refreshers by backend id: the backends that can read a user again
	// without a password.
	Refreshers map[string]auth.Refresher
	// RefreshGroups is how old the groups of a login may get; default 15m.
	RefreshGroups time.Duration
	// CacheTTL bounds how long a checked record is trusted without asking
	// Records again; default 1s, at most 1s.
	CacheTTL time.Duration
	Now      func() time.Time
	Log      *slog.Logger
}

// Keeper starts, checks and ends logins. It is safe for concurrent use.
type Keeper struct {
	o     Options
	mu    sync.Mutex
	cache map[string]cached // by login id
	// retryAt: logins whose refresh failed, and when to try again.
	retryAt map[string]time.Time
}

type cached struct {
	until     time.Time // trusted until
	expiresAt time.Time
	checkedAt time.Time // GroupsCheckedAt of the record
	// Who the login is for: the cookie must name the same person.
	backend, subject, username string
	groups                     []string
}

// New checks o and returns a Keeper.
func New(o Options) (*Keeper, error) {
	if o.Records == nil {
		return nil, errors.New("signin: no records")
	}
	if o.RefreshGroups < 0 || o.CacheTTL < 0 {
		return nil, errors.New("signin: negative interval")
	}
	if o.RefreshGroups == 0 {
		o.RefreshGroups = DefaultRefreshGroups
	}
	if o.CacheTTL == 0 || o.CacheTTL > DefaultCacheTTL {
		o.CacheTTL = DefaultCacheTTL
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.Log == nil {
		o.Log = slog.New(slog.DiscardHandler)
	}
	return &Keeper{o: o, cache: make(map[string]cached), retryAt: make(map[string]time.Time)}, nil
}

// Start records a login of id until expires and returns the login id to
// keep in the cookie.
func (k *Keeper) Start(ctx context.Context, id auth.Identity, expires time.Time) (string, error) {
	s, err := k.o.Records.CreateSession(ctx, store.Session{
		Backend: id.Backend, Subject: id.Subject, Username: id.Username, Groups: id.Groups,
		ExpiresAt: expires, GroupsCheckedAt: k.o.Now(),
	})
	if err != nil {
		return "", fmt.Errorf("signin: record: %w", err)
	}
	return s.ID, nil
}

// Check says whether the login sid of id still counts and returns the
// identity to use: id with the groups of the record, or, when they were
// due for a refresh, the identity the backend reports now (changed is then
// true when anything differs). ErrEnded and ErrReauthenticate are the
// user's business; other errors mean the records could not be read.
//
// When the backend cannot be asked for a refresh (the directory is down),
// the login keeps its groups for a while and the refresh is tried again:
// an outage of the directory must not log out a school. Past twice
// RefreshGroups the stale groups are no longer accepted (an error wrapping
// auth.ErrUnavailable): someone removed from a group must not keep its
// rights for the rest of the session because the refresh keeps failing.
//
// The record, not the cookie, says whose login it is: a cookie naming
// another person than its record (forged with a leaked session secret)
// ends the login.
func (k *Keeper) Check(ctx context.Context, sid string, id auth.Identity) (fresh auth.Identity, changed bool, err error) {
	if sid == "" {
		return auth.Identity{}, false, fmt.Errorf("%w: the cookie names no login record", ErrEnded)
	}
	now := k.o.Now()
	c, err := k.lookup(ctx, sid, now)
	if err != nil {
		return auth.Identity{}, false, err
	}
	if !now.Before(c.expiresAt) {
		return auth.Identity{}, false, fmt.Errorf("%w: expired", ErrEnded)
	}
	if c.backend != id.Backend || c.subject != id.Subject || c.username != id.Username {
		k.o.Log.WarnContext(ctx, "login cookie names another user than its record; login ended",
			"record_backend", c.backend, "record_user", c.subject, "cookie_backend", id.Backend, "cookie_user", id.Subject)
		if err := k.End(ctx, sid); err != nil {
			k.o.Log.WarnContext(ctx, "login not revoked", "err", err)
		}
		return auth.Identity{}, false, fmt.Errorf("%w: the cookie does not match its login record", ErrEnded)
	}
	// The record's groups are the truth: the cookie does not carry them
	// (a directory may list more than a cookie holds), and a refresh on
	// another replica counts here too.
	id.Groups = slices.Clone(c.groups)
	age := now.Sub(c.checkedAt)
	if age < k.o.RefreshGroups || (age < 2*k.o.RefreshGroups && k.waiting(sid, now)) {
		return id, false, nil
	}
	r, ok := k.o.Refreshers[id.Backend]
	if !ok {
		return auth.Identity{}, false, ErrReauthenticate
	}
	next, err := r.Refresh(ctx, id)
	switch {
	case errors.Is(err, auth.ErrInvalidCredentials):
		k.o.Log.InfoContext(ctx, "login ended: the account is gone or disabled", "backend", id.Backend, "user", id.Subject, "err", err)
		if rerr := k.End(ctx, sid); rerr != nil {
			k.o.Log.WarnContext(ctx, "login not revoked", "err", rerr)
		}
		return auth.Identity{}, false, fmt.Errorf("%w: %w", ErrEnded, err)
	case err != nil && age < 2*k.o.RefreshGroups:
		k.o.Log.WarnContext(ctx, "login groups not refreshed, keeping the old ones", "backend", id.Backend,
			"user", id.Subject, "retry_in", refreshRetry, "err", err)
		k.retryLater(sid, now.Add(refreshRetry))
		return id, changed, nil
	case err != nil:
		return auth.Identity{}, false, fmt.Errorf("signin: groups of %s/%s not refreshed for %s: %w: %w",
			id.Backend, id.Subject, age.Round(time.Second), auth.ErrUnavailable, err)
	}
	if err := k.o.Records.TouchSessionGroups(ctx, sid, next.Groups, now); err != nil {
		return auth.Identity{}, false, fmt.Errorf("signin: save refreshed groups: %w", err)
	}
	k.forget(sid)
	if !slices.Equal(next.Groups, id.Groups) {
		k.o.Log.InfoContext(ctx, "login groups changed", "backend", id.Backend, "user", id.Subject,
			"before", id.Groups, "now", next.Groups)
		changed = true
	}
	// The backend's answer is the new identity, except what only the
	// login knows.
	next.Backend, next.Subject = id.Backend, id.Subject
	return next, changed || next.Name != id.Name || next.Email != id.Email, nil
}

// End revokes the login sid (logout).
func (k *Keeper) End(ctx context.Context, sid string) error {
	k.forget(sid)
	if sid == "" {
		return nil
	}
	err := k.o.Records.RevokeSession(ctx, sid)
	if err != nil && !errors.Is(err, store.ErrNotFound) {
		return fmt.Errorf("signin: revoke: %w", err)
	}
	return nil
}

// lookup returns the record of sid, from the cache when it is fresh.
func (k *Keeper) lookup(ctx context.Context, sid string, now time.Time) (cached, error) {
	k.mu.Lock()
	c, ok := k.cache[sid]
	k.mu.Unlock()
	if ok && now.Before(c.until) {
		return c, nil
	}
	s, err := k.o.Records.Session(ctx, sid)
	switch {
	case errors.Is(err, store.ErrNotFound), errors.Is(err, store.ErrRevoked), errors.Is(err, store.ErrExpired):
		k.forget(sid)
		return cached{}, fmt.Errorf("%w: %w", ErrEnded, err)
	case err != nil:
		return cached{}, fmt.Errorf("signin: read record: %w", err)
	}
	c = cached{until: now.Add(k.o.CacheTTL), expiresAt: s.ExpiresAt, checkedAt: s.GroupsCheckedAt,
		backend: s.Backend, subject: s.Subject, username: s.Username, groups: s.Groups}
	k.mu.Lock()
	if len(k.cache) >= maxCacheEntries {
		// Entries live a second; dropping them all costs one read each.
		clear(k.cache)
	}
	k.cache[sid] = c
	k.mu.Unlock()
	return c, nil
}

func (k *Keeper) forget(sid string) {
	k.mu.Lock()
	delete(k.cache, sid)
	delete(k.retryAt, sid)
	k.mu.Unlock()
}

// waiting says a refresh of sid failed and is not to be tried before a
// later time.
func (k *Keeper) waiting(sid string, now time.Time) bool {
	k.mu.Lock()
	defer k.mu.Unlock()
	at, ok := k.retryAt[sid]
	return ok && now.Before(at)
}

func (k *Keeper) retryLater(sid string, at time.Time) {
	k.mu.Lock()
	if len(k.retryAt) >= maxCacheEntries {
		clear(k.retryAt) // a cleared entry only costs one early retry
	}
	k.retryAt[sid] = at
	k.mu.Unlock()
}
