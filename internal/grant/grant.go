// Package grant turns a policy decision for a user into the claims of a
// Jitsi token. It is the one place that decides what a token says, shared
// by the /join endpoint and the command-line tools, so they cannot drift.
package grant

import (
	"time"

	"github.com/jitsi-gate/jitsi-gate/internal/auth"
	"github.com/jitsi-gate/jitsi-gate/internal/policy"
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

// User is who the token is for.
type User struct {
	Backend, Subject, Username, Name, Email string
}

// Claims builds the token claims. Display values are sanitised: they end
// up in XMPP presence and on other participants' screens. roomSafe is the backend-safe room name
// and tenant the validated tenant ("" for none).
func Claims(s Settings, u User, d policy.Decision, roomSafe, tenant string, now time.Time) token.Claims {
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
	name := u.Name
	if name == "" {
		name = u.Username
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
				ID:          u.Backend + ":" + u.Subject,
				Name:        auth.Sanitize(name, 128),
				Email:       auth.Sanitize(u.Email, 254),
				Affiliation: affiliation,
				Moderator:   d.Moderator,
				LobbyBypass: d.LobbyBypass,
				Lobby:       d.Lobby,
			},
			Features: d.Features,
		},
	}
}
