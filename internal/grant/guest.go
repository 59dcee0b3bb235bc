package grant

import (
	"errors"
	"time"

	"github.com/jitsi-gate/jitsi-gate/internal/auth"
	"github.com/jitsi-gate/jitsi-gate/internal/policy"
	"github.com/jitsi-gate/jitsi-gate/internal/rooms"
)

// GuestBackend is the backend part of a guest's context.user.id
// ("guest:<invite id>:<random>"), so guests never share an id with an
// account: the config refuses a backend with this id
// (internal/config/invites.go).
const GuestBackend = "guest"

// GuestRule names the decision of an invitation in logs and previews.
const GuestRule = "invite"

// Guest is someone without an account who came through an invite link.
type Guest struct {
	// Name is shown to the other participants (already cleaned by the
	// caller; Claims sanitises it again).
	Name string
	// ID is unique per redemption, e.g. "<invite id>:<random>"; the
	// token's context.user.id is "guest:" + ID.
	ID string
	// Lobby: the guest waits in the lobby (token_lobby_ondemand).
	Lobby bool
	// NotAfter is the invite's expiry: the token ends no later.
	NotAfter time.Time
}

// GrantGuest decides what an invited guest's token says for room r at
// now. The invitation is the decision: the rules are not asked, because
// they judge accounts and a guest has none; whatever they say, a guest is
// a member, never an owner or moderator, and never bypasses the lobby. The
// room's window applies as for everyone who is not an organizer (no
// open_early), and exp ends at the window's end (without rooms.grace: no
// guest should arrive after the meeting) and at the invite's expiry.
// Closed (with Availability) when the room is outside its window.
func (g *Granter) GrantGuest(r *rooms.Room, guest Guest, now time.Time) (Grant, error) {
	if r == nil {
		return Grant{}, errors.New("grant: a guest needs a registered room")
	}
	if guest.ID == "" || guest.Name == "" {
		return Grant{}, errors.New("grant: a guest needs an id and a name")
	}
	out := Grant{Room: r}
	d := policy.Decision{Allowed: true, Rule: GuestRule, Role: policy.Member}
	if guest.Lobby {
		lobby := true
		d.Lobby = &lobby
	}
	a := r.OpenFor(now, false)
	out.Availability = a
	if !a.Open {
		out.Closed = true
		d.Allowed = false
		d.Reason = "registered room outside its time window"
		out.Decision = d
		return out, nil
	}
	out.Decision = d
	claims := Claims(g.settings, auth.Identity{Backend: GuestBackend, Subject: guest.ID, Name: guest.Name}, d, r.Name, r.Tenant, now)
	if !a.Unrestricted && claims.ExpiresAt.After(a.Current.End) {
		claims.ExpiresAt = a.Current.End
	}
	if !guest.NotAfter.IsZero() && claims.ExpiresAt.After(guest.NotAfter) {
		claims.ExpiresAt = guest.NotAfter
	}
	out.Claims = claims
	return out, nil
}
