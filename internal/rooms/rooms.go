// Package rooms is the room registry as the gateway uses it: the service
// behind the `jitsi-gate rooms` commands, the JSON API, the pages, the
// /join decision and Prosody's reservation API. It checks what people
// write (Spec: room names Jitsi accepts, tenants, organizers and
// participants, time windows and weekly slots in a timezone) with every
// problem named by its field, keeps the records in internal/store, and
// hands out Rooms that know their schedule and who organizes them.
//
// Rules callers can rely on:
//
//   - A room is unique by tenant and backend-safe name (room.Parse):
//     "Mathe 7b" is stored as "mathe7b"; creating "mathe7b" again in the
//     same tenant is ErrConflict.
//   - Timezone and open_early are resolved when a room is written: a Spec
//     without them gets the configured defaults, and the stored room keeps
//     them even if the defaults change later (a lesson does not move).
//   - Lookup (the /join and reservation hot path) answers from a cache
//     whose entries, found or not found, are at most Options.CacheTTL old
//     (1 s): a change made by another process on the same PostgreSQL is
//     seen within that time, one made through this Service at once.
//     Every other read goes to the database.
//   - Errors: *ValidationError (errors.Is ErrInvalid) for a bad Spec,
//     ErrNotFound, ErrConflict and ErrStale as the store reports them,
//     *ImportError for a bad CSV. Anything else is a database failure.
//   - Passwords are never logged (store.Room redacts them when printed).
package rooms

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/jitsi-gate/jitsi-gate/internal/room"
	"github.com/jitsi-gate/jitsi-gate/internal/schedule"
	"github.com/jitsi-gate/jitsi-gate/internal/store"
)

// Errors of the store, re-exported so callers need not import it.
var (
	ErrNotFound = store.ErrNotFound
	ErrConflict = store.ErrConflict
	ErrStale    = store.ErrStale
)

// errNotRegistered is Lookup's answer for a room the cache knows is not
// registered. It names no room: callers only test it with errors.Is.
var errNotRegistered = fmt.Errorf("rooms: room not registered: %w", ErrNotFound)

// DefaultCacheTTL is the longest a Lookup answer is reused.
const DefaultCacheTTL = time.Second

// defaultMaxCacheEntries bounds the Lookup cache (found and not-found
// names alike), so that requests for random room names cannot grow it.
const defaultMaxCacheEntries = 10000

// Options configure a Service.
type Options struct {
	// Store holds the rooms. Required.
	Store *store.Store
	// Timezone is the IANA zone for rooms that name none (rooms.timezone).
	// Required.
	Timezone string
	// OpenEarly is the organizers' margin for rooms that set none
	// (rooms.open_early).
	OpenEarly time.Duration
	// DefaultTenant is the tenant of rooms that name none: the tenant in
	// jitsi.url's path, or "".
	DefaultTenant string
	// Tenants, when not empty, are the only tenants rooms may have
	// (jitsi.tenants).
	Tenants []string
	// Backends are the configured backend ids; when not empty, a
	// "BACKEND:username" entry must name one of them.
	Backends []string
	// PublicURL is the gateway's server.public_url, the base of join
	// links (<public_url>/join/<room>).
	PublicURL string
	// CacheTTL bounds how old a Lookup answer may be; 0 means
	// DefaultCacheTTL, negative turns the cache off. At most 1 s.
	CacheTTL time.Duration
	// MaxCacheEntries bounds the cache; 0 means 10000.
	MaxCacheEntries int
	// Log receives one line per change (create, update, delete, import).
	// nil discards.
	Log *slog.Logger
}

// Service is the room registry. It is safe for concurrent use.
type Service struct {
	opts  Options
	store *store.Store
	log   *slog.Logger

	// locations caches loaded timezones: time.LoadLocation reads and
	// parses the zone file on every call.
	locations sync.Map // string → *time.Location

	mu    sync.RWMutex
	cache map[cacheKey]cacheEntry
	// writes counts the writes through this Service (guarded by mu). A
	// Lookup stores its answer only if no write happened while it read
	// the database, so a read that raced a write cannot bring back the
	// old room.
	writes uint64
}

type cacheKey struct{ tenant, name string }

type cacheEntry struct {
	room *Room // nil: not registered
	// fetched is when the database read began: the answer is at least
	// that fresh.
	fetched time.Time
}

// New checks opts (an unknown timezone is an error naming
// rooms.timezone's value) and returns the service.
func New(opts Options) (*Service, error) {
	if opts.Store == nil {
		return nil, errors.New("rooms: no store")
	}
	if opts.OpenEarly < 0 || opts.OpenEarly > schedule.MaxOpenEarly {
		return nil, fmt.Errorf("rooms: open_early %s is not between 0s and %s", opts.OpenEarly, schedule.MaxOpenEarly)
	}
	switch {
	case opts.CacheTTL == 0:
		opts.CacheTTL = DefaultCacheTTL
	case opts.CacheTTL > DefaultCacheTTL:
		return nil, fmt.Errorf("rooms: cache TTL %s is longer than %s: other replicas' changes must show within a second", opts.CacheTTL, DefaultCacheTTL)
	}
	if opts.MaxCacheEntries <= 0 {
		opts.MaxCacheEntries = defaultMaxCacheEntries
	}
	if opts.DefaultTenant != "" {
		t, err := room.ParseTenant(opts.DefaultTenant)
		if err != nil {
			return nil, fmt.Errorf("rooms: default tenant %q: %w", opts.DefaultTenant, err)
		}
		opts.DefaultTenant = t
	}
	opts.PublicURL = strings.TrimRight(opts.PublicURL, "/")
	if opts.Log == nil {
		opts.Log = slog.New(slog.DiscardHandler)
	}
	s := &Service{opts: opts, store: opts.Store, log: opts.Log.With("component", "rooms"), cache: map[cacheKey]cacheEntry{}}
	if _, err := s.location(opts.Timezone); err != nil {
		return nil, fmt.Errorf("rooms: timezone: %w", err)
	}
	return s, nil
}

// location loads (once) an IANA timezone.
func (s *Service) location(name string) (*time.Location, error) {
	if l, ok := s.locations.Load(name); ok {
		return l.(*time.Location), nil
	}
	loc, err := schedule.LoadLocation(name)
	if err != nil {
		return nil, err
	}
	s.locations.Store(name, loc)
	return loc, nil
}

// view builds the Room of a stored record.
func (s *Service) view(rec store.Room) *Room {
	tz := rec.Timezone
	if tz == "" {
		tz = s.opts.Timezone
	}
	loc, err := s.location(tz)
	if err != nil {
		// A zone this binary does not know (stored by a newer one, or
		// removed from the tz database): UTC keeps absolute windows right.
		s.log.Warn("rooms: unknown timezone of a stored room; using UTC", "room", rec, "timezone", tz)
		loc = time.UTC
	}
	return newRoom(rec, loc)
}

// Create checks spec and stores it as a new room. createdBy is recorded
// (a username, "cli", "import").
func (s *Service) Create(ctx context.Context, spec Spec, createdBy string) (*Room, error) {
	n, err := s.normalize(spec)
	if err != nil {
		return nil, err
	}
	n.rec.CreatedBy = createdBy
	rec, err := s.store.CreateRoom(ctx, n.rec)
	if err != nil {
		return nil, fmt.Errorf("rooms: create %q: %w", n.rec.Name, err)
	}
	s.forget(rec.Tenant, rec.Name)
	s.log.Info("rooms: created", "room", rec, "by", createdBy)
	return s.view(rec), nil
}

// Validate checks spec as Create and Update would, without writing: the
// room form shows every problem at once, its own and the service's.
func (s *Service) Validate(spec Spec) error {
	_, err := s.normalize(spec)
	return err
}

// Update replaces every field of room id with spec if the room is still at
// expectedVersion (ErrStale otherwise). A Spec with another name or tenant
// renames the room.
func (s *Service) Update(ctx context.Context, id string, spec Spec, expectedVersion int64) (*Room, error) {
	n, err := s.normalize(spec)
	if err != nil {
		return nil, err
	}
	old, err := s.store.Room(ctx, id)
	if err != nil {
		return nil, fmt.Errorf("rooms: update: %w", err)
	}
	n.rec.ID = id
	rec, err := s.store.UpdateRoom(ctx, n.rec, expectedVersion)
	if err != nil {
		return nil, fmt.Errorf("rooms: update %q: %w", old.Name, err)
	}
	s.forget(old.Tenant, old.Name)
	s.forget(rec.Tenant, rec.Name)
	s.log.Info("rooms: updated", "room", rec)
	return s.view(rec), nil
}

// Delete deletes room id if it is still at expectedVersion (ErrStale
// otherwise); expectedVersion 0 deletes whatever the version.
func (s *Service) Delete(ctx context.Context, id string, expectedVersion int64) error {
	old, err := s.store.Room(ctx, id)
	if err != nil {
		return fmt.Errorf("rooms: delete: %w", err)
	}
	if expectedVersion == 0 {
		err = s.store.DeleteRoom(ctx, id)
	} else {
		err = s.store.DeleteRoomVersion(ctx, id, expectedVersion)
	}
	if err != nil {
		return fmt.Errorf("rooms: delete %q: %w", old.Name, err)
	}
	s.forget(old.Tenant, old.Name)
	s.log.Info("rooms: deleted", "room", old)
	return nil
}

// Get returns room id (from the database), or ErrNotFound.
func (s *Service) Get(ctx context.Context, id string) (*Room, error) {
	rec, err := s.store.Room(ctx, id)
	if err != nil {
		return nil, fmt.Errorf("rooms: %w", err)
	}
	return s.view(rec), nil
}

// ByName finds a room by its name as typed ("Mathe 7b") and tenant
// ("" = the default tenant), from the database. ErrNotFound when there is
// none; a name or tenant that cannot be a room is a *ValidationError.
func (s *Service) ByName(ctx context.Context, tenant, name string) (*Room, error) {
	var errs []*FieldError
	n, err := room.Parse(strings.TrimSpace(name))
	if err != nil {
		errs = append(errs, &FieldError{Field: "name", Message: fmt.Sprintf("%q is not a valid room name: %v", name, err)})
	}
	t, err := s.tenantOf(tenant)
	if err != nil {
		errs = append(errs, &FieldError{Field: "tenant", Message: err.Error()})
	}
	if len(errs) > 0 {
		return nil, &ValidationError{Errors: errs}
	}
	rec, err := s.store.RoomByName(ctx, t, n.Safe)
	if err != nil {
		return nil, fmt.Errorf("rooms: %w", err)
	}
	return s.view(rec), nil
}

// tenantOf normalises a tenant as typed; "" is the default tenant.
func (s *Service) tenantOf(raw string) (string, error) {
	raw = strings.TrimSpace(raw)
	if raw == "" {
		return s.opts.DefaultTenant, nil
	}
	return room.ParseTenant(raw)
}

// Lookup finds a room by tenant ("" for none) and backend-safe name, as
// /join and the reservation API know it; ErrNotFound when it is not
// registered. Answers come from a cache at most Options.CacheTTL old.
func (s *Service) Lookup(ctx context.Context, tenant, safeName string) (*Room, error) {
	if s.opts.CacheTTL < 0 {
		return s.lookup(ctx, tenant, safeName)
	}
	key := cacheKey{tenant, safeName}
	now := time.Now()
	s.mu.RLock()
	e, ok := s.cache[key]
	s.mu.RUnlock()
	if ok && now.Sub(e.fetched) < s.opts.CacheTTL {
		if e.room == nil {
			// Every /join of an unregistered room ends here: a fixed
			// error, not one formatted per request.
			return nil, errNotRegistered
		}
		return e.room, nil
	}
	s.mu.RLock()
	writes := s.writes
	s.mu.RUnlock()
	r, err := s.lookup(ctx, tenant, safeName)
	if err != nil && !errors.Is(err, ErrNotFound) {
		return nil, err // database trouble is not remembered
	}
	s.mu.Lock()
	if s.writes == writes {
		if len(s.cache) >= s.opts.MaxCacheEntries {
			s.sweepLocked(time.Now())
		}
		s.cache[key] = cacheEntry{room: r, fetched: now}
	}
	s.mu.Unlock()
	return r, err
}

func (s *Service) lookup(ctx context.Context, tenant, safeName string) (*Room, error) {
	rec, err := s.store.RoomByName(ctx, tenant, safeName)
	if err != nil {
		return nil, fmt.Errorf("rooms: %w", err)
	}
	return s.view(rec), nil
}

// sweepLocked drops expired entries, and everything if that is not enough.
func (s *Service) sweepLocked(now time.Time) {
	for k, e := range s.cache {
		if now.Sub(e.fetched) >= s.opts.CacheTTL {
			delete(s.cache, k)
		}
	}
	if len(s.cache) >= s.opts.MaxCacheEntries {
		clear(s.cache)
	}
}

// forget drops a name from the cache after a write through this Service.
func (s *Service) forget(tenant, name string) {
	s.mu.Lock()
	s.writes++
	delete(s.cache, cacheKey{tenant, name})
	s.mu.Unlock()
}

// forgetAll empties the cache (after an import).
func (s *Service) forgetAll() {
	s.mu.Lock()
	s.writes++
	clear(s.cache)
	s.mu.Unlock()
}

// Filter selects rooms for List.
type Filter struct {
	// Query keeps rooms whose name or title contains it (any case).
	Query string
	// Tenant, when not nil, keeps the rooms of that tenant ("" = none).
	Tenant *string
	// Limit (0: all) and Offset page through rooms ordered by tenant and
	// name.
	Limit, Offset int
}

// List returns the rooms that match f, ordered by tenant and name.
func (s *Service) List(ctx context.Context, f Filter) ([]*Room, error) {
	recs, err := s.store.ListRooms(ctx, store.RoomFilter{Query: f.Query, Tenant: f.Tenant, Limit: f.Limit, Offset: f.Offset})
	if err != nil {
		return nil, fmt.Errorf("rooms: %w", err)
	}
	out := make([]*Room, len(recs))
	for i, rec := range recs {
		out[i] = s.view(rec)
	}
	return out, nil
}

// Timezone is the IANA zone of rooms that name none (rooms.timezone); the
// room form shows it and reads its dates and times in it.
func (s *Service) Timezone() string { return s.opts.Timezone }

// JoinURL is the room's join link: <public_url>/join/<room>, with
// ?tenant= when the room's tenant is not the default one.
func (s *Service) JoinURL(r *Room) string {
	u := s.opts.PublicURL + "/join/" + r.Name
	if r.Tenant != "" && r.Tenant != s.opts.DefaultTenant {
		u += "?" + url.Values{"tenant": {r.Tenant}}.Encode()
	}
	return u
}

// Resource is r as the JSON API returns it.
func (s *Service) Resource(r *Room) Resource {
	return Resource{
		ID: r.ID, Room: r.Name, URL: s.JoinURL(r), Spec: r.Spec(),
		Version: r.Version, CreatedBy: r.CreatedBy, CreatedAt: r.CreatedAt, UpdatedAt: r.UpdatedAt,
	}
}
