// Package invites is guest invitations: links <public_url>/invite/<code>
// that let people without an account (parents, an outside speaker) into
// one registered room (docs/invites.md). It checks what organizers ask for
// (expiry within the configured maximum, number of uses, a fixed name),
// keeps the invites in internal/store, and answers the guest page's two
// questions: is this code good (Open), and count one use (Use).
//
// Rules callers can rely on:
//
//   - A code is 128 random bits (crypto/rand.Text, 26 characters A-Z2-7),
//     known only from Create's result: the store keeps its SHA-256. It
//     is not a login, a session or an API token anywhere else.
//   - Unknown, malformed, expired, used-up and revoked codes, and codes of
//     a room that no longer exists, are all ErrUnusable: a guest cannot
//     learn which (the wrapped error says it, for the log).
//   - Use counts atomically in the database: concurrent guests on any
//     number of replicas never get more than MaxUses tokens.
//   - Invites live in the store, so a revocation holds on every replica
//     at once; nothing is cached.
package invites

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"time"

	"github.com/jitsi-gate/jitsi-gate/internal/auth"
	"github.com/jitsi-gate/jitsi-gate/internal/rooms"
	"github.com/jitsi-gate/jitsi-gate/internal/store"
)

var (
	// ErrUnusable: the code opens nothing (see the package doc).
	ErrUnusable = errors.New("invite code not usable")
	// ErrInvalid: a Spec breaks a rule; the error is a *ValidationError.
	ErrInvalid = errors.New("invalid invite")
	// ErrNotFound: no invite with that id in that room, or no such room.
	ErrNotFound = store.ErrNotFound
)

// MaxNameLength is the longest guest name, in characters: long enough for
// "Eltern von Maximilian Mustermann (7b)", short enough for a video tile.
const MaxNameLength = 64

// MaxUses bounds Spec.MaxUses.
const MaxUses = 10000

// Options configure a Service.
type Options struct {
	Store *store.Store
	Rooms *rooms.Service
	// DefaultExpiry applies when a Spec names none; MaxExpiry is the
	// longest one may ask for (invites.default_expiry, max_expiry).
	DefaultExpiry, MaxExpiry time.Duration
	// PublicURL is server.public_url, the base of the links.
	PublicURL string
	// Log receives one line per create and revoke; nil discards.
	Log *slog.Logger
	// Now is the clock; nil means time.Now.
	Now func() time.Time
	// Observe, when set, hears every event: EventCreated, EventRedeemed,
	// EventRejected (a code that opens nothing), EventRevoked (metrics).
	Observe func(event string)
}

// The events Options.Observe hears.
const (
	EventCreated  = "created"
	EventRedeemed = "redeemed"
	EventRejected = "rejected"
	EventRevoked  = "revoked"
)

// Service creates, lists, revokes and redeems invites. It is safe for
// concurrent use.
type Service struct {
	opts Options
	log  *slog.Logger
}

// New checks opts and returns the service.
func New(opts Options) (*Service, error) {
	switch {
	case opts.Store == nil || opts.Rooms == nil:
		return nil, errors.New("invites: a store and a room service are required")
	case opts.MaxExpiry < time.Second:
		return nil, fmt.Errorf("invites: max_expiry %s is shorter than 1s", opts.MaxExpiry)
	case opts.DefaultExpiry < time.Second || opts.DefaultExpiry > opts.MaxExpiry:
		return nil, fmt.Errorf("invites: default_expiry %s is not between 1s and max_expiry %s", opts.DefaultExpiry, opts.MaxExpiry)
	}
	opts.PublicURL = strings.TrimRight(opts.PublicURL, "/")
	if opts.Log == nil {
		opts.Log = slog.New(slog.DiscardHandler)
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	return &Service{opts: opts, log: opts.Log.With("component", "invites")}, nil
}

// MaxExpiry is the longest an invite may last.
func (s *Service) MaxExpiry() time.Duration { return s.opts.MaxExpiry }

// DefaultExpiry is how long an invite lasts when the Spec names nothing.
func (s *Service) DefaultExpiry() time.Duration { return s.opts.DefaultExpiry }

// Spec is what an organizer asks for.
type Spec struct {
	// Expires is how long the invite lasts from now; 0: the default.
	Expires time.Duration
	// MaxUses is how many guests may come through it; 0: any number
	// until it expires.
	MaxUses int
	// GuestName, when not empty, is the name every guest gets (they are
	// not asked); cleaned like a typed name.
	GuestName string
	// Lobby: guests wait in the lobby until an organizer admits them;
	// nil means true.
	Lobby *bool
}

// ValidationError names the Spec field at fault (its JSON name).
type ValidationError struct {
	Field, Message string
}

func (e *ValidationError) Error() string { return "invite " + e.Field + ": " + e.Message }

// Is makes errors.Is(err, ErrInvalid) true.
func (e *ValidationError) Is(target error) bool { return target == ErrInvalid }

// Invite is an invite as the API and the pages show it.
type Invite struct {
	ID        string    `json:"id"`
	RoomID    string    `json:"room_id"`
	CreatedBy string    `json:"created_by"`
	CreatedAt time.Time `json:"created_at"`
	ExpiresAt time.Time `json:"expires_at"`
	MaxUses   int       `json:"max_uses"`
	Uses      int       `json:"uses"`
	GuestName string    `json:"guest_name"`
	Lobby     bool      `json:"lobby"`
	// RevokedAt is nil when the invite was not revoked.
	RevokedAt *time.Time `json:"revoked_at"`
	// State is active, expired, used_up or revoked.
	State State `json:"state"`
	// Link is <public_url>/invite/<code>: only in Create's result (the
	// code is not stored), empty otherwise.
	Link string `json:"link,omitempty"`
}

// State is whether an invite can still be used.
type State string

// The states of an invite.
const (
	Active  State = "active"
	Expired State = "expired"
	UsedUp  State = "used_up"
	Revoked State = "revoked"
)

// view is rec as callers see it at now.
func view(rec store.Invite, now time.Time) Invite {
	inv := Invite{ID: rec.ID, RoomID: rec.RoomID, CreatedBy: rec.CreatedBy, CreatedAt: rec.CreatedAt,
		ExpiresAt: rec.ExpiresAt, MaxUses: rec.MaxUses, Uses: rec.Uses, GuestName: rec.GuestName, Lobby: rec.Lobby,
		State: Active}
	if !rec.RevokedAt.IsZero() {
		at := rec.RevokedAt
		inv.RevokedAt = &at
	}
	switch rec.Unusable(now) {
	case store.ErrInviteRevoked:
		inv.State = Revoked
	case store.ErrInviteExpired:
		inv.State = Expired
	case store.ErrInviteUsedUp:
		inv.State = UsedUp
	}
	return inv
}

// CleanName makes a typed name fit for context.user.name and every page:
// control and format characters removed, whitespace collapsed, angle
// brackets dropped (no markup, whoever renders it), at most MaxNameLength
// characters, trimmed. "" means nothing visible was left.
func CleanName(s string) string {
	s = strings.Map(func(r rune) rune {
		if r == '<' || r == '>' {
			return -1
		}
		return r
	}, s)
	return auth.Sanitize(strings.Join(strings.Fields(s), " "), MaxNameLength)
}

// Create stores a new invite for the room and returns it with its Link,
// the only time the code is known. createdBy is recorded ("BACKEND:user",
// "api:NAME", "cli").
func (s *Service) Create(ctx context.Context, roomID string, spec Spec, createdBy string) (Invite, error) {
	expires := spec.Expires
	if expires == 0 {
		expires = s.opts.DefaultExpiry
	}
	if expires < time.Second || expires > s.opts.MaxExpiry {
		return Invite{}, &ValidationError{Field: "expires", Message: fmt.Sprintf("%s is not between 1s and %s (invites.max_expiry)",
			expires, s.opts.MaxExpiry)}
	}
	if spec.MaxUses < 0 || spec.MaxUses > MaxUses {
		return Invite{}, &ValidationError{Field: "max_uses", Message: fmt.Sprintf("%d is not between 0 (no limit) and %d", spec.MaxUses, MaxUses)}
	}
	name := CleanName(spec.GuestName)
	if name == "" && strings.TrimSpace(spec.GuestName) != "" {
		return Invite{}, &ValidationError{Field: "guest_name", Message: "has no visible characters"}
	}
	lobby := spec.Lobby == nil || *spec.Lobby
	now := s.opts.Now()
	rec, err := s.opts.Store.CreateInvite(ctx, store.Invite{RoomID: roomID, CreatedBy: createdBy,
		ExpiresAt: now.Add(expires), MaxUses: spec.MaxUses, GuestName: name, Lobby: lobby})
	if err != nil {
		return Invite{}, fmt.Errorf("invites: create for room %s: %w", roomID, err)
	}
	s.log.InfoContext(ctx, "invites: created", "invite", rec, "by", createdBy, "expires", rec.ExpiresAt.Format(time.RFC3339),
		"max_uses", rec.MaxUses, "fixed_name", name != "", "lobby", lobby)
	s.observe(EventCreated)
	inv := view(rec, now)
	inv.Link = s.Link(rec.Code)
	return inv, nil
}

// Link is the guest link of a code.
func (s *Service) Link(code string) string { return s.opts.PublicURL + "/invite/" + code }

// List returns the invites of a room, newest first, in every state.
func (s *Service) List(ctx context.Context, roomID string) ([]Invite, error) {
	recs, err := s.opts.Store.ListInvites(ctx, roomID)
	if err != nil {
		return nil, fmt.Errorf("invites: %w", err)
	}
	now := s.opts.Now()
	out := make([]Invite, len(recs))
	for i, rec := range recs {
		out[i] = view(rec, now)
	}
	return out, nil
}

// Revoke revokes an invite of the room (at once, on every replica) and
// returns it; revoking again changes nothing. ErrNotFound when the room
// has no invite with that id. by is recorded in the log.
func (s *Service) Revoke(ctx context.Context, roomID, id, by string) (Invite, error) {
	rec, err := s.opts.Store.RevokeInvite(ctx, roomID, id)
	if err != nil {
		return Invite{}, fmt.Errorf("invites: revoke %s: %w", id, err)
	}
	s.log.InfoContext(ctx, "invites: revoked", "invite", rec, "by", by)
	s.observe(EventRevoked)
	return view(rec, s.opts.Now()), nil
}

// WellFormed reports whether code looks like a code Create hands out
// (rand.Text: 26 characters A-Z and 2-7), so that anything else is refused
// without asking the database.
func WellFormed(code string) bool {
	if len(code) != 26 {
		return false
	}
	for i := 0; i < len(code); i++ {
		if c := code[i]; !(c >= 'A' && c <= 'Z' || c >= '2' && c <= '7') {
			return false
		}
	}
	return true
}

// Open returns the invite of code and its room without using it, for the
// guest page. ErrUnusable (wrapping the reason) for every code that opens
// nothing; any other error is a database failure.
func (s *Service) Open(ctx context.Context, code string) (Invite, *rooms.Room, error) {
	if !WellFormed(code) {
		s.observe(EventRejected)
		return Invite{}, nil, fmt.Errorf("%w: malformed", ErrUnusable)
	}
	rec, err := s.opts.Store.InviteByCode(ctx, code)
	if err != nil {
		return Invite{}, nil, s.unusable(err)
	}
	rm, err := s.opts.Rooms.Get(ctx, rec.RoomID)
	if err != nil {
		return Invite{}, nil, s.unusable(err)
	}
	return view(rec, s.opts.Now()), rm, nil
}

// Use counts one use of code and returns the invite as it is after it.
// Errors as Open's: a code used up by someone else meanwhile is
// ErrUnusable and nothing is counted.
func (s *Service) Use(ctx context.Context, code string) (Invite, error) {
	if !WellFormed(code) {
		s.observe(EventRejected)
		return Invite{}, fmt.Errorf("%w: malformed", ErrUnusable)
	}
	rec, err := s.opts.Store.UseInvite(ctx, code)
	if err != nil {
		return Invite{}, s.unusable(err)
	}
	s.observe(EventRedeemed)
	return view(rec, s.opts.Now()), nil
}

// unusable wraps the store's reasons into ErrUnusable (an EventRejected);
// database failures stay what they are.
func (s *Service) unusable(err error) error {
	for _, reason := range []error{store.ErrNotFound, store.ErrInviteRevoked, store.ErrInviteExpired, store.ErrInviteUsedUp} {
		if errors.Is(err, reason) {
			s.observe(EventRejected)
			return fmt.Errorf("%w: %w", ErrUnusable, err)
		}
	}
	return fmt.Errorf("invites: %w", err)
}

func (s *Service) observe(event string) {
	if s.opts.Observe != nil {
		s.opts.Observe(event)
	}
}
