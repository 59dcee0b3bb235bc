package signin

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/jitsi-gate/jitsi-gate/internal/auth"
	"github.com/jitsi-gate/jitsi-gate/internal/store"
)

type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time                  { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) Add(d time.Duration)             { c.mu.Lock(); c.t = c.t.Add(d); c.mu.Unlock() }
func newClock() *clock                           { return &clock{t: time.Date(2026, 11, 30, 8, 0, 0, 0, time.UTC)} }
func (c *clock) after(d time.Duration) time.Time { return c.Now().Add(d) }

// directory is a backend whose answers the test sets.
type directory struct {
	mu     sync.Mutex
	groups map[string][]string // username -> groups; absent = account gone
	down   bool
	calls  int
}

func (d *directory) Refresh(_ context.Context, id auth.Identity) (auth.Identity, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.calls++
	if d.down {
		return auth.Identity{}, fmt.Errorf("directory down: %w", auth.ErrUnavailable)
	}
	g, ok := d.groups[id.Username]
	if !ok {
		return auth.Identity{}, fmt.Errorf("no such user: %w", auth.ErrInvalidCredentials)
	}
	id.Groups = slices.Clone(g)
	return id, nil
}

func setup(t *testing.T) (*Keeper, *Keeper, *clock, *directory) {
	t.Helper()
	clk := newClock()
	path := filepath.Join(t.TempDir(), "gate.db")
	open := func() *store.Store {
		st, err := store.Open(context.Background(), store.Config{Driver: store.DriverSQLite, Path: path, Now: clk.Now}, nil)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { st.Close() })
		return st
	}
	dir := &directory{groups: map[string][]string{"tina": {"teachers"}}}
	mk := func(st *store.Store) *Keeper {
		k, err := New(Options{Records: st, Refreshers: map[string]auth.Refresher{"ldap": dir},
			RefreshGroups: 15 * time.Minute, Now: clk.Now})
		if err != nil {
			t.Fatal(err)
		}
		return k
	}
	// Two replicas: two store handles on one database, two caches.
	return mk(open()), mk(open()), clk, dir
}

var tina = auth.Identity{Backend: "ldap", Subject: "uid=tina", Username: "tina", Groups: []string{"teachers"}}

func TestLogoutEndsTheLoginOnEveryReplica(t *testing.T) {
	a, b, clk, _ := setup(t)
	ctx := context.Background()
	sid, err := a.Start(ctx, tina, clk.after(8*time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	for _, k := range []*Keeper{a, b} {
		if _, _, err := k.Check(ctx, sid, tina); err != nil {
			t.Fatalf("fresh login refused: %v", err)
		}
	}
	if err := a.End(ctx, sid); err != nil {
		t.Fatal(err)
	}
	if _, _, err := a.Check(ctx, sid, tina); !errors.Is(err, ErrEnded) {
		t.Errorf("same replica after logout: %v, want ErrEnded", err)
	}
	// The other replica trusts its cache for at most a second.
	clk.Add(DefaultCacheTTL)
	if _, _, err := b.Check(ctx, sid, tina); !errors.Is(err, ErrEnded) {
		t.Errorf("other replica a second after logout: %v, want ErrEnded", err)
	}
}

func TestCheck(t *testing.T) {
	ctx := context.Background()
	tests := []struct {
		name       string
		after      time.Duration
		dirGroups  []string // nil: account gone
		down       bool
		wantErr    error
		wantGroups []string
		wantCalls  int
	}{
		{name: "within the interval: no refresh", after: 14 * time.Minute, dirGroups: []string{"students"}, wantGroups: []string{"teachers"}},
		{name: "due: groups read again", after: 16 * time.Minute, dirGroups: []string{"students"}, wantGroups: []string{"students"}, wantCalls: 1},
		{name: "due: account gone ends the login", after: 16 * time.Minute, wantErr: ErrEnded, wantCalls: 1},
		{name: "due: directory down keeps the old groups", after: 16 * time.Minute, dirGroups: []string{"students"}, down: true, wantGroups: []string{"teachers"}, wantCalls: 1},
		{name: "expired", after: 9 * time.Hour, dirGroups: []string{"teachers"}, wantErr: ErrEnded},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			k, _, clk, dir := setup(t)
			sid, err := k.Start(ctx, tina, clk.after(8*time.Hour))
			if err != nil {
				t.Fatal(err)
			}
			dir.groups = map[string][]string{}
			if tt.dirGroups != nil {
				dir.groups["tina"] = tt.dirGroups
			}
			dir.down = tt.down
			clk.Add(tt.after)
			id, changed, err := k.Check(ctx, sid, tina)
			if !errors.Is(err, tt.wantErr) {
				t.Fatalf("Check: %v, want %v", err, tt.wantErr)
			}
			if dir.calls != tt.wantCalls {
				t.Errorf("directory asked %d times, want %d", dir.calls, tt.wantCalls)
			}
			if tt.wantErr != nil {
				return
			}
			if !slices.Equal(id.Groups, tt.wantGroups) || changed != (tt.wantCalls == 1 && !tt.down && !slices.Equal(tt.wantGroups, tina.Groups)) {
				t.Errorf("groups %v changed %v, want %v", id.Groups, changed, tt.wantGroups)
			}
		})
	}
}

// TestRefreshedGroupsWinOverAnOldCookie: after one replica refreshed the
// groups, a cookie still holding the old ones gets the new ones everywhere.
func TestRefreshedGroupsWinOverAnOldCookie(t *testing.T) {
	a, b, clk, dir := setup(t)
	ctx := context.Background()
	sid, _ := a.Start(ctx, tina, clk.after(8*time.Hour))
	dir.groups["tina"] = []string{"students"}
	clk.Add(16 * time.Minute)
	if id, _, err := a.Check(ctx, sid, tina); err != nil || !slices.Equal(id.Groups, []string{"students"}) {
		t.Fatalf("refresh on a: %v %v", id.Groups, err)
	}
	clk.Add(DefaultCacheTTL)
	id, _, err := b.Check(ctx, sid, tina) // the old cookie
	if err != nil || !slices.Equal(id.Groups, []string{"students"}) {
		t.Errorf("b with the old cookie: %v err %v, want the refreshed groups", id.Groups, err)
	}
	if dir.calls != 1 {
		t.Errorf("directory asked %d times, want 1 (b reads the refresh from the record)", dir.calls)
	}
}

func TestNoRefresherAsksForANewSignIn(t *testing.T) {
	k, _, clk, _ := setup(t)
	ctx := context.Background()
	oidcUser := auth.Identity{Backend: "sso", Subject: "abc", Username: "tina", Groups: []string{"teachers"}}
	sid, _ := k.Start(ctx, oidcUser, clk.after(8*time.Hour))
	if _, _, err := k.Check(ctx, sid, oidcUser); err != nil {
		t.Fatalf("fresh: %v", err)
	}
	clk.Add(16 * time.Minute)
	if _, _, err := k.Check(ctx, sid, oidcUser); !errors.Is(err, ErrReauthenticate) {
		t.Errorf("due without a refresher: %v, want ErrReauthenticate", err)
	}
}

func TestUnknownOrMissingLoginIDs(t *testing.T) {
	k, _, _, _ := setup(t)
	for _, sid := range []string{"", "not-a-login-id", "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"} {
		if _, _, err := k.Check(context.Background(), sid, tina); !errors.Is(err, ErrEnded) {
			t.Errorf("Check(%q) = %v, want ErrEnded", sid, err)
		}
	}
}

// TestCookieMustNameTheRecordsUser: a cookie re-encoded with another
// user's name (a leaked session secret) but the attacker's own login id
// ends that login instead of becoming the other user.
func TestCookieMustNameTheRecordsUser(t *testing.T) {
	k, _, clk, _ := setup(t)
	ctx := context.Background()
	sam := auth.Identity{Backend: "ldap", Subject: "uid=sam", Username: "sam", Groups: []string{"students"}}
	sid, _ := k.Start(ctx, sam, clk.after(8*time.Hour))
	forged := sam
	forged.Subject, forged.Username = tina.Subject, tina.Username
	if _, _, err := k.Check(ctx, sid, forged); !errors.Is(err, ErrEnded) {
		t.Fatalf("forged cookie: %v, want ErrEnded", err)
	}
	if _, _, err := k.Check(ctx, sid, sam); !errors.Is(err, ErrEnded) {
		t.Errorf("the login the forgery used: %v, want it ended too", err)
	}
}

// TestStaleGroupsAreNotKeptForever: while the backend keeps failing, the
// old groups count for at most twice refresh_groups.
func TestStaleGroupsAreNotKeptForever(t *testing.T) {
	k, _, clk, dir := setup(t)
	ctx := context.Background()
	sid, _ := k.Start(ctx, tina, clk.after(8*time.Hour))
	dir.down = true
	clk.Add(20 * time.Minute)
	if _, _, err := k.Check(ctx, sid, tina); err != nil {
		t.Fatalf("20 minutes, directory down: %v, want the old groups", err)
	}
	clk.Add(11 * time.Minute)
	if _, _, err := k.Check(ctx, sid, tina); !errors.Is(err, auth.ErrUnavailable) {
		t.Errorf("31 minutes, directory down: %v, want ErrUnavailable", err)
	}
	dir.down = false
	if id, _, err := k.Check(ctx, sid, tina); err != nil || !slices.Equal(id.Groups, []string{"teachers"}) {
		t.Errorf("directory back: %v %v", id.Groups, err)
	}
}

// TestFailedRefreshWaitsBeforeAskingAgain: while the directory is down, a
// login whose refresh just failed keeps its groups without asking again for
// refreshRetry, then asks again.
func TestFailedRefreshWaitsBeforeAskingAgain(t *testing.T) {
	k, _, clk, dir := setup(t)
	ctx := context.Background()
	sid, _ := k.Start(ctx, tina, clk.after(8*time.Hour))
	dir.down = true
	clk.Add(16 * time.Minute)
	for i, wantCalls := range []int{1, 1, 2} {
		id, _, err := k.Check(ctx, sid, tina)
		if err != nil || !slices.Equal(id.Groups, tina.Groups) {
			t.Fatalf("check %d: %v %v, want the old groups", i, id.Groups, err)
		}
		if dir.calls != wantCalls {
			t.Errorf("check %d: directory asked %d times, want %d", i, dir.calls, wantCalls)
		}
		clk.Add(refreshRetry / 2)
		if i == 1 {
			clk.Add(refreshRetry / 2)
		}
	}
}
