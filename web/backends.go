package web

import (
	"errors"
	"fmt"

	"github.com/jitsi-gate/jitsi-gate/internal/auth"
)

// backendInfo is what the login page needs to show a backend.
type backendInfo struct {
	ID       string
	Label    string
	Password bool // a username/password form; otherwise a button
}

// backendSet is the identity backends by id, in the order the login page
// shows them.
type backendSet struct {
	list      []backendInfo
	passwords map[string]auth.PasswordAuthenticator
	redirects map[string]auth.RedirectAuthenticator
}

func newBackendSet(passwords []auth.PasswordAuthenticator, redirects []auth.RedirectAuthenticator) (*backendSet, error) {
	b := &backendSet{
		passwords: make(map[string]auth.PasswordAuthenticator),
		redirects: make(map[string]auth.RedirectAuthenticator),
	}
	for _, p := range passwords {
		if err := b.add(p.ID(), p.Label(), true); err != nil {
			return nil, err
		}
		b.passwords[p.ID()] = p
	}
	for _, rb := range redirects {
		if err := b.add(rb.ID(), rb.Label(), false); err != nil {
			return nil, err
		}
		b.redirects[rb.ID()] = rb
	}
	return b, nil
}

func (b *backendSet) add(id, label string, password bool) error {
	if id == "" {
		return errors.New("web: backend with empty id")
	}
	for _, x := range b.list {
		if x.ID == id {
			return fmt.Errorf("web: duplicate backend id %q", id)
		}
	}
	b.list = append(b.list, backendInfo{ID: id, Label: label, Password: password})
	return nil
}

// readiness returns the backend with id when it can say whether its
// outside service is reachable (an OIDC provider, an LDAP directory).
func (b *backendSet) readiness(id string) auth.ReadinessChecker {
	if rb, ok := b.redirects[id]; ok {
		return rb
	}
	if pc, ok := b.passwords[id].(auth.ReadinessChecker); ok {
		return pc
	}
	return nil
}
