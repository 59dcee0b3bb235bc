// Package calfeed is every user's personal calendar subscription: a secret,
// revocable address (<public_url>/calendar/<token>.ics) that lists the
// rooms the user may join, for Outlook, Thunderbird or a phone, and the
// .ics file of one room. It keeps the addresses in internal/store, finds
// the rooms with internal/rooms and renders them with internal/ical.
//
// Rules callers can rely on:
//
//   - The address is the only credential: a calendar client sends no
//     cookie. Its token carries 256 bits, derived as HMAC-SHA256 of a
//     random 256-bit seed under a key derived (HKDF, a label of its own)
//     from session.secret, as the cookie keys are; the
//     store keeps the token only as its SHA-256 and the seed, so a copy of
//     the database opens no feed. Keeping the seed lets the calendar page
//     show the address again (recomputed with the secret) instead of
//     making users replace their subscriptions each time they look. When
//     the secret changes, old addresses keep working (they are looked up
//     by hash) but cannot be shown any more (Address.URL is empty).
//   - One address per user (backend + subject). Renew replaces it; the old
//     one finds nothing from then on (404).
//   - A feed lists exactly the rooms whose organizers or participants name
//     the user, by username or group (rooms.Room.RoleOf, the same test
//     /join uses), with the username and groups recorded with the feed:
//     taken from the login record when the feed is made and refreshed each
//     time the user opens the calendar page (Address). Rooms that list
//     nobody (open to whoever the rules admit) and rooms that are always
//     open (no event, see internal/ical) do not appear.
package calfeed

import (
	"context"
	"crypto/hkdf"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"strings"
	"time"

	"github.com/jitsi-gate/jitsi-gate/internal/auth"
	"github.com/jitsi-gate/jitsi-gate/internal/ical"
	"github.com/jitsi-gate/jitsi-gate/internal/rooms"
	"github.com/jitsi-gate/jitsi-gate/internal/store"
)

// ErrNotFound: no feed has this token (never made, replaced or malformed).
var ErrNotFound = store.ErrNotFound

// DefaultRefreshInterval is how often subscribed clients are asked to
// fetch a feed again: a lesson added in the morning shows by the afternoon
// (clients may fetch less often than asked).
const DefaultRefreshInterval = time.Hour

// keyInfo separates this use of the secret from every other (the session
// cookies derive their keys from the same secret).
const keyInfo = "jitsi-gate/calendar/v1/token/hmac-sha256"

// tokenLen is the length of a token: 32 bytes in unpadded base64url.
const tokenLen = 43

// Options configure a Service.
type Options struct {
	// Store keeps the feeds; Rooms finds the rooms. Required.
	Store *store.Store
	Rooms *rooms.Service
	// Secret derives the tokens from their seeds (session.secret, at least
	// 32 bytes). Required.
	Secret []byte
	// PublicURL is the gateway's server.public_url; addresses are
	// <PublicURL>/calendar/<token>.ics and its host ends every UID.
	PublicURL string
	// Title names the calendars ("<Title>: <username>"), e.g. the school's
	// ui.title.
	Title string
	// RefreshInterval asks clients to fetch again this often; 0 means
	// DefaultRefreshInterval.
	RefreshInterval time.Duration
	// Now is the clock; nil means time.Now.
	Now func() time.Time
	// Log receives one line per new address. nil discards.
	Log *slog.Logger
}

// Service makes, shows, renews and renders the feeds. It is safe for
// concurrent use.
type Service struct {
	opts   Options
	key    []byte // derives tokens from seeds
	domain string
	log    *slog.Logger
}

// New checks opts.
func New(opts Options) (*Service, error) {
	switch {
	case opts.Store == nil:
		return nil, errors.New("calfeed: no store")
	case opts.Rooms == nil:
		return nil, errors.New("calfeed: no room registry")
	case len(opts.Secret) < 32:
		return nil, fmt.Errorf("calfeed: the secret is %d bytes, need at least 32", len(opts.Secret))
	}
	u, err := url.Parse(opts.PublicURL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("calfeed: public URL %q is not an absolute http(s) URL", opts.PublicURL)
	}
	opts.PublicURL = strings.TrimRight(opts.PublicURL, "/")
	if opts.RefreshInterval <= 0 {
		opts.RefreshInterval = DefaultRefreshInterval
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.Log == nil {
		opts.Log = slog.New(slog.DiscardHandler)
	}
	key, err := hkdf.Key(sha256.New, opts.Secret, nil, keyInfo, 32)
	if err != nil {
		return nil, fmt.Errorf("calfeed: derive the token key: %w", err)
	}
	return &Service{opts: opts, key: key, domain: u.Hostname(), log: opts.Log.With("component", "calfeed")}, nil
}

// Address is a user's feed as the calendar page shows it.
type Address struct {
	// URL is the subscription address; "" when it cannot be shown again
	// (the secret changed since it was made; it still works).
	URL string
	// Since is when this address was made.
	Since time.Time
}

// Address returns the user's feed address, making one on the first call.
// It records the user's current username and groups with the feed, so the
// feed follows changes of the user's groups whenever they look.
func (s *Service) Address(ctx context.Context, id auth.Identity) (Address, error) {
	if err := checkIdentity(id); err != nil {
		return Address{}, err
	}
	f, err := s.opts.Store.UpdateCalendarFeedUser(ctx, id.Backend, id.Subject, id.Username, id.Groups)
	if errors.Is(err, store.ErrNotFound) {
		return s.Renew(ctx, id)
	}
	if err != nil {
		return Address{}, fmt.Errorf("calfeed: %w", err)
	}
	a := Address{Since: f.CreatedAt}
	tok := s.token(f.Seed)
	// Show the address only if it is the one the store has: with another
	// secret the recomputed token is a different, dead one.
	if other, err := s.opts.Store.CalendarFeedByToken(ctx, tok); err == nil && other.Backend == f.Backend && other.Subject == f.Subject {
		a.URL = s.url(tok)
	}
	return a, nil
}

// Renew gives the user a new address; the old one stops working at once.
func (s *Service) Renew(ctx context.Context, id auth.Identity) (Address, error) {
	if err := checkIdentity(id); err != nil {
		return Address{}, err
	}
	var raw [32]byte
	rand.Read(raw[:]) // never fails (crypto/rand)
	seed := base64.RawURLEncoding.EncodeToString(raw[:])
	tok := s.token(seed)
	f, err := s.opts.Store.SaveCalendarFeed(ctx, store.CalendarFeed{Backend: id.Backend, Subject: id.Subject,
		Username: id.Username, Groups: id.Groups, Seed: seed}, tok)
	if err != nil {
		return Address{}, fmt.Errorf("calfeed: %w", err)
	}
	s.log.InfoContext(ctx, "calendar feed address made", "feed", f)
	return Address{URL: s.url(tok), Since: f.CreatedAt}, nil
}

// Feed renders the calendar of the feed with token: the rooms its user may
// join. ErrNotFound when no feed has this token.
func (s *Service) Feed(ctx context.Context, token string) ([]byte, error) {
	if !wellFormed(token) {
		return nil, ErrNotFound
	}
	f, err := s.opts.Store.CalendarFeedByToken(ctx, token)
	if err != nil {
		if errors.Is(err, store.ErrNotFound) {
			return nil, ErrNotFound
		}
		return nil, fmt.Errorf("calfeed: %w", err)
	}
	id := auth.Identity{Backend: f.Backend, Subject: f.Subject, Username: f.Username, Groups: f.Groups}
	all, err := s.opts.Rooms.List(ctx, rooms.Filter{})
	if err != nil {
		return nil, fmt.Errorf("calfeed: rooms of %s/%s: %w", f.Backend, f.Subject, err)
	}
	var mine []*rooms.Room
	for _, r := range all {
		if r.RoleOf(id) != rooms.RoleNone {
			mine = append(mine, r)
		}
	}
	name := f.Username
	if s.opts.Title != "" {
		name = s.opts.Title + ": " + f.Username
	}
	return s.render(name, mine)
}

// Room renders one room as an .ics file (the room page's download).
func (s *Service) Room(r *rooms.Room) ([]byte, error) {
	return s.render(r.Display, []*rooms.Room{r})
}

func (s *Service) render(name string, list []*rooms.Room) ([]byte, error) {
	feed := ical.Feed{Name: name, Domain: s.domain, Now: s.opts.Now(), RefreshInterval: s.opts.RefreshInterval}
	for _, r := range list {
		feed.Rooms = append(feed.Rooms, ical.Room{
			ID: r.ID, Name: r.Display, Title: r.Title, JoinURL: s.opts.Rooms.JoinURL(r),
			Schedule: r.Schedule, Since: r.CreatedAt,
		})
	}
	b, err := ical.Render(feed)
	if err != nil {
		return nil, fmt.Errorf("calfeed: %w", err)
	}
	return b, nil
}

// token derives the token of a seed.
func (s *Service) token(seed string) string {
	m := hmac.New(sha256.New, s.key)
	m.Write([]byte(seed))
	return base64.RawURLEncoding.EncodeToString(m.Sum(nil))
}

func (s *Service) url(token string) string { return s.opts.PublicURL + "/calendar/" + token + ".ics" }

// wellFormed reports whether token can be one of ours, so that random
// paths cost no database query.
func wellFormed(token string) bool {
	if len(token) != tokenLen {
		return false
	}
	_, err := base64.RawURLEncoding.DecodeString(token)
	return err == nil
}

func checkIdentity(id auth.Identity) error {
	if id.Backend == "" || id.Subject == "" {
		return errors.New("calfeed: the user has no backend or subject")
	}
	return nil
}
