// Package static is a password backend whose users are listed in the config
// with bcrypt hashes: for small sites, demos and tests.
//
// Login does the same amount of bcrypt work whether or not the username
// exists, so response times do not tell an attacker which accounts are
// real; rate limiting is the web layer's job.
package static

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"strings"

	"golang.org/x/crypto/bcrypt"

	"github.com/jitsi-gate/jitsi-gate/internal/auth"
)

// Cost is the bcrypt cost HashPassword uses (about 0.2 s on a current CPU).
const Cost = 12

// MaxPasswordLen is bcrypt's input limit in bytes; longer passwords would be
// silently truncated, so they are refused.
const MaxPasswordLen = 72

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
	users     map[string]user // key: lower-cased username
	// dummyHash is compared against when the username is unknown; its cost
	// is the highest cost among the users.
	dummyHash []byte
	// compare is bcrypt.CompareHashAndPassword; tests count calls.
	compare func(hash, password []byte) error
}

type user struct {
	User
	hash []byte
}

var _ auth.PasswordAuthenticator = (*Authenticator)(nil)

// New checks the users (valid bcrypt hashes, unique usernames ignoring
// case) and builds the backend. label defaults to id.
func New(id, label string, users []User) (*Authenticator, error) {
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
		id:      id,
		label:   label,
		users:   make(map[string]user, len(users)),
		compare: bcrypt.CompareHashAndPassword,
	}
	var errs []error
	maxCost := 0
	for i, u := range users {
		if strings.TrimSpace(u.Username) == "" {
			errs = append(errs, fmt.Errorf("static %q: users[%d]: username is empty", id, i))
			continue
		}
		key := strings.ToLower(u.Username)
		if _, dup := a.users[key]; dup {
			errs = append(errs, fmt.Errorf("static %q: users[%d]: username %q is listed twice (usernames are case-insensitive)", id, i, u.Username))
			continue
		}
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
	// A random password nobody knows; only its cost matters.
	dummy, err := bcrypt.GenerateFromPassword([]byte(rand.Text()), maxCost)
	if err != nil {
		return nil, fmt.Errorf("static %q: make timing dummy hash: %w", id, err)
	}
	a.dummyHash = dummy
	return a, nil
}

// ID is the backend id from the config.
func (a *Authenticator) ID() string { return a.id }

// Label is the title of the login form.
func (a *Authenticator) Label() string { return a.label }

// Login checks username (case-insensitive) and password. Unknown users,
// wrong, empty and over-long passwords all return an error wrapping
// auth.ErrInvalidCredentials.
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
	u, ok := a.users[strings.ToLower(username)]
	if !ok {
		// Spend the same bcrypt time as for a real user.
		_ = a.compare(a.dummyHash, []byte(password))
		return auth.Identity{}, fmt.Errorf("static %q: unknown user %q: %w", a.id, username, auth.ErrInvalidCredentials)
	}
	if err := a.compare(u.hash, []byte(password)); err != nil {
		if errors.Is(err, bcrypt.ErrMismatchedHashAndPassword) {
			return auth.Identity{}, fmt.Errorf("static %q: user %q: wrong password: %w", a.id, u.Username, auth.ErrInvalidCredentials)
		}
		return auth.Identity{}, fmt.Errorf("static %q: user %q: check password: %w", a.id, u.Username, err)
	}
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
	}, nil
}

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
