// Package grant decides what a token says: it evaluates the rules for a
// person and a room and turns an allowing decision into the claims of a
// Jitsi token. It is the one place that does so: /join, the token and
// explain commands and doctor all go through a Granter, so they cannot
// drift apart.
package grant

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jitsi-gate/jitsi-gate/internal/auth"
	"github.com/jitsi-gate/jitsi-gate/internal/policy"
	"github.com/jitsi-gate/jitsi-gate/internal/room"
	"github.com/jitsi-gate/jitsi-gate/internal/rooms"
	"github.com/jitsi-gate/jitsi-gate/internal/token"
)

// Settings are the deployment-wide token values.
type Settings struct {
	Issuer, Audience string
	// XMPPDomain is "sub" when the room is not in a tenant.
	XMPPDomain string
	// TokenLifetime applies unless the rule sets its own.
	TokenLifetime time.Duration
	// RoomGrace is added to the end of a registered room's time window:
	// a token for a lesson is valid until the lesson ends plus this.
	RoomGrace time.Duration
}

// Rooms is the room registry as the Granter reads it (rooms.Service).
type Rooms interface {
	// Lookup returns the registered room, or an error wrapping
	// rooms.ErrNotFound when the room is not registered.
	Lookup(ctx context.Context, tenant, safeName string) (*rooms.Room, error)
}

// Granter evaluates the rules and builds claims. It is immutable and safe
// for concurrent use.
type Granter struct {
	policy   *policy.Policy
	settings Settings
	rooms    Rooms
}

// New returns a Granter for the compiled rules and the token settings.
// registry may be nil: then every room counts as unregistered.
func New(p *policy.Policy, s Settings, registry Rooms) (*Granter, error) {
	if p == nil {
		return nil, errors.New("grant: no policy")
	}
	if s.Issuer == "" || s.Audience == "" || s.XMPPDomain == "" || s.TokenLifetime <= 0 {
		return nil, errors.New("grant: issuer, audience, XMPP domain and a positive token lifetime are required")
	}
	return &Granter{policy: p, settings: s, rooms: registry}, nil
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
	// Room is the registered room, nil when the room is not registered;
	// RoomRole is the user's relation to it (policy.RoomOrganizer,
	// policy.RoomParticipant or "").
	Room     *rooms.Room
	RoomRole string
	// Closed: the rules admit the user, but the registered room is outside
	// its time window; Availability says when it opens. Decision.Allowed
	// is then false.
	Closed       bool
	Availability rooms.Availability
}

// RoomRole is the match.room_role of the rules for a user's role in a
// registered room: organizer, participant, or "" for neither.
func RoomRole(r rooms.Role) string {
	switch r {
	case rooms.RoleOrganizer:
		return policy.RoomOrganizer
	case rooms.RoleParticipant:
		return policy.RoomParticipant
	}
	return ""
}

// Grant evaluates the rules for req at now. An error means the registry
// could not be asked: no decision was made.
func (g *Granter) Grant(ctx context.Context, req Request, now time.Time) (Grant, error) {
	var out Grant
	if g.rooms != nil {
		r, err := g.rooms.Lookup(ctx, req.Tenant, req.Room.Safe)
		switch {
		case err == nil:
			out.Room = r
			out.RoomRole = RoomRole(r.RoleOf(req.Identity))
		case errors.Is(err, rooms.ErrNotFound):
		default:
			return Grant{}, fmt.Errorf("grant: room registry: %w", err)
		}
	}
	d := g.policy.Evaluate(policy.Request{Identity: req.Identity, Room: req.Room.Display, Tenant: req.Tenant,
		Registered: out.Room != nil, RoomRole: out.RoomRole})
	out.Decision = d
	if !d.Allowed {
		return out, nil
	}
	claims := Claims(g.settings, req.Identity, d, req.Room.Safe, req.Tenant, now)
	if out.Room != nil {
		// Only organizers may enter before a slot (open_early).
		a := out.Room.OpenFor(now, out.RoomRole == policy.RoomOrganizer)
		out.Availability = a
		if !a.Open {
			out.Closed = true
			out.Decision.Allowed = false
			out.Decision.Reason = "registered room outside its time window"
			return out, nil
		}
		if !a.Unrestricted {
			// A token for a lesson ends with the lesson (and its grace).
			if end := a.Current.End.Add(g.settings.RoomGrace); claims.ExpiresAt.After(end) {
				claims.ExpiresAt = end
			}
		}
	}
	out.Claims = claims
	return out, nil
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
