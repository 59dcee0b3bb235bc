// Package grant decides what a token says: it evaluates the rules for a
// person and a room and turns an allowing decision into the claims of a
// Jitsi token. It is the one place that does so: /join, the token and
// explain commands and doctor all go through a Granter, so they cannot
// drift apart.
package grant

import (
	"errors"
	"time"

	"github.com/jitsi-gate/jitsi-gate/internal/auth"
	"github.com/jitsi-gate/jitsi-gate/internal/policy"
	"github.com/jitsi-gate/jitsi-gate/internal/room"
	"github.com/jitsi-gate/jitsi-gate/internal/token"
)

// Settings are the deployment-wide token values.
type Settings struct {
	Issuer, Audience string
	// XMPPDomain is "sub" when the room is not in a tenant.
	XMPPDomain string
	// TokenLifetime applies unless the rule sets its own.
	TokenLifetime time.Duration
}

// Granter evaluates the rules and builds claims. It is immutable and safe
// for concurrent use.
type Granter struct {
	policy   *policy.Policy
	settings Settings
}

// New returns a Granter for the compiled rules and the token settings.
func New(p *policy.Policy, s Settings) (*Granter, error) {
	if p == nil {
		return nil, errors.New("grant: no policy")
	}
	if s.Issuer == "" || s.Audience == "" || s.XMPPDomain == "" || s.TokenLifetime <= 0 {
		return nil, errors.New("grant: issuer, audience, XMPP domain and a positive token lifetime are required")
	}
	return &Granter{policy: p, settings: s}, nil
}

// Policy is the rule set the Granter evaluates.
func (g *Granter) Policy() *policy.Policy { return g.policy }

// Request is a person asking for a room.
type Request struct {
	Identity auth.Identity
	Room     room.Name
	// Tenant is the validated tenant ("" for none).
	Tenant string
}

// Grant is the outcome: the decision, and when it allows the room, the
// claims of the token to mint.
type Grant struct {
	Decision policy.Decision
	// Claims is zero unless Decision.Allowed.
	Claims token.Claims
}

// Grant evaluates the rules for req at now.
func (g *Granter) Grant(req Request, now time.Time) Grant {
	d := g.policy.Evaluate(policy.Request{Identity: req.Identity, Room: req.Room.Display, Tenant: req.Tenant})
	if !d.Allowed {
		return Grant{Decision: d}
	}
	return Grant{Decision: d, Claims: Claims(g.settings, req.Identity, d, req.Room.Safe, req.Tenant, now)}
}

// Claims builds the token claims for an allowing decision. Display values
// are sanitised: they end up in XMPP presence and on other participants'
// screens. roomSafe is the backend-safe room name and tenant the validated
// tenant ("" for none).
func Claims(s Settings, id auth.Identity, d policy.Decision, roomSafe, tenant string, now time.Time) token.Claims {
	lifetime := s.TokenLifetime
	if d.TokenLifetime > 0 {
		lifetime = d.TokenLifetime
	}
	sub := s.XMPPDomain
	if tenant != "" {
		sub = tenant
	}
	affiliation := "member"
	if d.Role == policy.Owner {
		affiliation = "owner"
	}
	return token.Claims{
		Issuer:    s.Issuer,
		Audience:  s.Audience,
		Subject:   sub,
		Room:      roomSafe,
		IssuedAt:  now,
		ExpiresAt: now.Add(lifetime),
		Context: token.Context{
			User: token.User{
				// Prefixed with the backend: the same username in two
				// directories is two people.
				ID:          id.Backend + ":" + id.Subject,
				Name:        auth.Sanitize(id.DisplayName(), 128),
				Email:       auth.Sanitize(id.Email, 254),
				Affiliation: affiliation,
				Moderator:   d.Moderator,
				LobbyBypass: d.LobbyBypass,
				Lobby:       d.Lobby,
			},
			Features: d.Features,
		},
	}
}
