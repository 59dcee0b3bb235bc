// Package static is a password backend whose users are listed in the config
// with bcrypt hashes: for small sites, demos and tests.
//
// Login does the same amount of bcrypt work whether or not the username
// exists, so response times do not tell an attacker which accounts are
// real; rate limiting is the web layer's job.
//
// Usernames are matched in their folded form (auth.FoldUsername), so
// "ſtudent" and "ＳＴＵＤＥＮＴ" find the user "student"; the identity always
// carries the configured spelling, never the typed one.
//
// bcrypt is deliberately slow, which makes it a CPU weapon: a burst of
// logins with long passwords would starve every other request. At most
// runtime.GOMAXPROCS comparisons run at once in the whole process; a login
// that cannot get a slot within MaxHashWait fails with auth.ErrUnavailable
// (503 with Retry-After).
package static

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"runtime"
	"strings"
	"time"

	"golang.org/x/crypto/bcrypt"

	"github.com/jitsi-gate/jitsi-gate/internal/auth"
)

// Cost is the bcrypt cost HashPassword uses (about 0.2 s on a current CPU).
const Cost = 12

// MaxPasswordLen is bcrypt's input limit in bytes; longer passwords would be
// silently truncated, so they are refused.
const MaxPasswordLen = 72

// MaxHashWait is how long a login waits for a free bcrypt slot before it
// gives up with auth.ErrUnavailable. A few cost-12 comparisons per core fit
// in it, so ordinary bursts (a class signing in at once) only queue.
const MaxHashWait = 2 * time.Second

// hashSlots caps concurrent bcrypt comparisons. It is shared by every
// static backend in the process because the CPU is: two backends with a
// slot per core each would again let hashing take every core twice over.
var hashSlots = newSemaphore(runtime.GOMAXPROCS(0))

// User is one configured account.
type User struct {
	Username     string
	PasswordHash string // bcrypt, e.g. from `jitsi-gate hash-password`
	Name, Email  string
	Groups       []string
}

// Authenticator checks passwords against a fixed user list. It is safe for
// concurrent use.
type Authenticator struct {
	id, label string
	users     map[string]user // key: auth.FoldUsername(username)
	// dummyHash is compared against when the username is unknown; its cost
	// is the highest cost among the users. It is a well-formed bcrypt
	// string with a random salt and digest, not the hash of anything, so
	// making it costs nothing at start (see dummyHashFor).
	dummyHash []byte
	// compare is bcrypt.CompareHashAndPassword; tests count calls.
	compare func(hash, password []byte) error
	// slots and slotWait bound concurrent comparisons (hashSlots,
	// MaxHashWait); tests use their own.
	slots    semaphore
	slotWait time.Duration
	// observe is told how long each comparison took (Observe); nil: not.
	observe func(op string, d time.Duration)
}

// OpVerify is the operation Observe reports: one bcrypt comparison (for
// an unknown user too), without the wait for a slot. The same word as the
// operation label of the gateway's metrics.
const OpVerify = "static_verify"

// Option changes what New builds.
type Option func(*Authenticator)

// Observe makes Login tell f how long each bcrypt comparison took
// (OpVerify): the gateway's metrics, without this package knowing them. f
// must be safe for concurrent use; nil is no observer.
func Observe(f func(op string, d time.Duration)) Option {
	return func(a *Authenticator) { a.observe = f }
}

type user struct {
	User
	hash []byte
}

var _ auth.PasswordAuthenticator = (*Authenticator)(nil)

// New checks the users (valid bcrypt hashes, usernames unique in their
// folded form) and builds the backend. label defaults to id. It does no
// bcrypt work, so it returns in microseconds whatever the costs.
func New(id, label string, users []User, opts ...Option) (*Authenticator, error) {
	if id == "" {
		return nil, errors.New("static: backend id is empty")
	}
	if label == "" {
		label = id
	}
	if len(users) == 0 {
		return nil, fmt.Errorf("static %q: no users", id)
	}
	a := &Authenticator{
		id:       id,
		label:    label,
		users:    make(map[string]user, len(users)),
		compare:  bcrypt.CompareHashAndPassword,
		slots:    hashSlots,
		slotWait: MaxHashWait,
	}
	firstIndex := make(map[string]int, len(users))
	var errs []error
	maxCost := 0
	for i, u := range users {
		if strings.TrimSpace(u.Username) == "" {
			errs = append(errs, fmt.Errorf("static %q: users[%d]: username is empty", id, i))
			continue
		}
		key := auth.FoldUsername(u.Username)
		if first, dup := firstIndex[key]; dup {
			errs = append(errs, fmt.Errorf("static %q: users[%d]: username %q is listed twice: users[%d] %q is the same name (usernames are compared ignoring case and Unicode width/compatibility forms)",
				id, i, u.Username, first, users[first].Username))
			continue
		}
		firstIndex[key] = i
		cost, err := bcrypt.Cost([]byte(u.PasswordHash))
		if err != nil {
			errs = append(errs, fmt.Errorf("static %q: user %q: password_hash is not a bcrypt hash (make one with `jitsi-gate hash-password`): %w", id, u.Username, err))
			continue
		}
		maxCost = max(maxCost, cost)
		u.Groups = append([]string(nil), u.Groups...)
		a.users[key] = user{User: u, hash: []byte(u.PasswordHash)}
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	dummy, err := dummyHashFor(maxCost)
	if err != nil {
		return nil, fmt.Errorf("static %q: make timing dummy hash: %w", id, err)
	}
	a.dummyHash = dummy
	for _, o := range opts {
		o(a)
	}
	return a, nil
}

// bcryptEncoding is bcrypt's own base64 alphabet (no padding).
var bcryptEncoding = base64.NewEncoding("./ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789").WithPadding(base64.NoPadding)

// dummyHashFor returns a bcrypt hash string of the given cost with a random
// 16-byte salt and a random 23-byte digest. Comparing a password against it
// runs the full key schedule at that cost, exactly like a real hash (bcrypt
// only looks at the digest in the final constant-time compare), and never
// matches anything. Generating a real hash instead would spend the same
// time again at every start (0.2-0.4 s at cost 12).
func dummyHashFor(cost int) ([]byte, error) {
	salt := make([]byte, 16)
	digest := make([]byte, 23)
	_, _ = rand.Read(salt) // crypto/rand.Read never fails
	_, _ = rand.Read(digest)
	h := []byte(fmt.Sprintf("$2a$%02d$%s%s", cost, bcryptEncoding.EncodeToString(salt), bcryptEncoding.EncodeToString(digest)))
	if got, err := bcrypt.Cost(h); err != nil || got != cost {
		return nil, fmt.Errorf("synthetic hash %q has cost %d (%v), want %d", h, got, err, cost)
	}
	return h, nil
}

// ID is the backend id from the config.
func (a *Authenticator) ID() string { return a.id }

// Label is the title of the login form.
func (a *Authenticator) Label() string { return a.label }

// Login checks username (in folded form, see auth.FoldUsername) and
// password. Unknown users, wrong, empty and over-long passwords all return
// an error wrapping auth.ErrInvalidCredentials; no free bcrypt slot within
// the wait is auth.ErrUnavailable.
func (a *Authenticator) Login(ctx context.Context, username, password string) (auth.Identity, error) {
	if err := ctx.Err(); err != nil {
		return auth.Identity{}, fmt.Errorf("static %q: %w", a.id, err)
	}
	// Neither check depends on whether the user exists, so answering
	// early reveals nothing.
	if password == "" {
		return auth.Identity{}, fmt.Errorf("static %q: empty password: %w", a.id, auth.ErrInvalidCredentials)
	}
	if len(password) > MaxPasswordLen {
		return auth.Identity{}, fmt.Errorf("static %q: password longer than %d bytes: %w", a.id, MaxPasswordLen, auth.ErrInvalidCredentials)
	}
	u, ok := a.users[auth.FoldUsername(username)]
	// Both branches queue for a slot, so the wait tells nothing either.
	release, err := a.acquire(ctx)
	if err != nil {
		return auth.Identity{}, err
	}
	defer release()
	if !ok {
		// Spend the same bcrypt time as for a real user.
		_ = a.verify(a.dummyHash, password)
		return auth.Identity{}, fmt.Errorf("static %q: unknown user %q: %w", a.id, auth.Sanitize(username, 64), auth.ErrInvalidCredentials)
	}
	if err := a.verify(u.hash, password); err != nil {
		if errors.Is(err, bcrypt.ErrMismatchedHashAndPassword) {
			return auth.Identity{}, fmt.Errorf("static %q: user %q: wrong password: %w", a.id, u.Username, auth.ErrInvalidCredentials)
		}
		return auth.Identity{}, fmt.Errorf("static %q: user %q: check password: %w", a.id, u.Username, err)
	}
	return a.identity(u), nil
}

// verify is one bcrypt comparison, timed for Observe.
func (a *Authenticator) verify(hash []byte, password string) error {
	if a.observe != nil {
		defer func(start time.Time) { a.observe(OpVerify, time.Since(start)) }(time.Now())
	}
	return a.compare(hash, []byte(password))
}

// Refresh reads a signed-in user from the configuration again; a user no
// longer listed is auth.ErrInvalidCredentials.
func (a *Authenticator) Refresh(_ context.Context, id auth.Identity) (auth.Identity, error) {
	fresh, ok := a.Lookup(id.Username)
	if !ok || fresh.Subject != id.Subject {
		return auth.Identity{}, fmt.Errorf("static %q: user %q is no longer configured: %w", a.id, id.Username, auth.ErrInvalidCredentials)
	}
	return fresh, nil
}

// Lookup returns the identity a login as username would have, without a
// password (the explain command). The lookup is the login's own.
func (a *Authenticator) Lookup(username string) (auth.Identity, bool) {
	u, ok := a.users[auth.FoldUsername(username)]
	if !ok {
		return auth.Identity{}, false
	}
	return a.identity(u), true
}

func (a *Authenticator) identity(u user) auth.Identity {
	name := u.Name
	if name == "" {
		name = u.Username
	}
	return auth.Identity{
		Backend:  a.id,
		Subject:  u.Username,
		Username: u.Username,
		Name:     name,
		Email:    u.Email,
		Groups:   append([]string(nil), u.Groups...),
	}
}

// acquire takes a bcrypt slot, waiting at most slotWait and never past
// ctx. The returned func gives the slot back.
func (a *Authenticator) acquire(ctx context.Context) (func(), error) {
	if a.slots.tryAcquire() {
		return a.slots.release, nil
	}
	timer := time.NewTimer(a.slotWait)
	defer timer.Stop()
	select {
	case a.slots <- struct{}{}:
		return a.slots.release, nil
	case <-ctx.Done():
		return nil, fmt.Errorf("static %q: waiting for a password check slot: %w (%w)", a.id, auth.ErrUnavailable, context.Cause(ctx))
	case <-timer.C:
		return nil, fmt.Errorf("static %q: all %d password check slots busy for %s (too many logins at once; bcrypt is rationed to the CPU cores): %w",
			a.id, cap(a.slots), a.slotWait, auth.ErrUnavailable)
	}
}

// semaphore is a counting semaphore: a send takes a slot, a receive gives
// it back.
type semaphore chan struct{}

func newSemaphore(n int) semaphore { return make(semaphore, max(n, 1)) }

func (s semaphore) tryAcquire() bool {
	select {
	case s <- struct{}{}:
		return true
	default:
		return false
	}
}

func (s semaphore) release() { <-s }

// HashPassword returns a bcrypt hash (cost 12) for the config's
// password_hash. It refuses empty passwords and passwords over 72 bytes,
// which bcrypt would silently truncate.
func HashPassword(password string) (string, error) {
	if password == "" {
		return "", errors.New("static: password is empty")
	}
	if len(password) > MaxPasswordLen {
		return "", fmt.Errorf("static: password is %d bytes; bcrypt uses at most %d bytes, so choose a shorter one", len(password), MaxPasswordLen)
	}
	h, err := bcrypt.GenerateFromPassword([]byte(password), Cost)
	if err != nil {
		return "", fmt.Errorf("static: hash password: %w", err)
	}
	return string(h), nil
}
