package invites

import (
	"context"
	"errors"
	"maps"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jitsi-gate/jitsi-gate/internal/rooms"
	"github.com/jitsi-gate/jitsi-gate/internal/store"
)

type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

type fixture struct {
	svc    *Service
	rooms  *rooms.Service
	clock  *clock
	room   *rooms.Room
	events map[string]int // what Options.Observe heard
}

func newFixture(t *testing.T) fixture {
	t.Helper()
	ctx := context.Background()
	c := &clock{t: time.Date(2026, 11, 20, 9, 0, 0, 0, time.UTC)}
	st, err := store.Open(ctx, store.Config{Driver: store.DriverSQLite, Path: filepath.Join(t.TempDir(), "inv.db"), Now: c.Now}, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	rs, err := rooms.New(rooms.Options{Store: st, Timezone: "Europe/Berlin", PublicURL: "https://meet.example.com/_auth"})
	if err != nil {
		t.Fatal(err)
	}
	rm, err := rs.Create(ctx, rooms.Spec{Name: "Elternabend 7b"}, "test")
	if err != nil {
		t.Fatal(err)
	}
	f := fixture{rooms: rs, clock: c, room: rm, events: map[string]int{}}
	f.svc, err = New(Options{Store: st, Rooms: rs, DefaultExpiry: 72 * time.Hour, MaxExpiry: 720 * time.Hour,
		PublicURL: "https://meet.example.com/_auth/", Now: c.Now, Observe: func(e string) { f.events[e]++ }})
	if err != nil {
		t.Fatal(err)
	}
	return f
}

func codeOf(t *testing.T, link string) string {
	t.Helper()
	code, ok := strings.CutPrefix(link, "https://meet.example.com/_auth/invite/")
	if !ok || !WellFormed(code) {
		t.Fatalf("link %q is not <public_url>/invite/<code>", link)
	}
	return code
}

func TestCreateOpenUseRevoke(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	inv, err := f.svc.Create(ctx, f.room.ID, Spec{MaxUses: 2}, "demo:teacher1")
	if err != nil {
		t.Fatal(err)
	}
	if !inv.ExpiresAt.Equal(f.clock.Now().Add(72*time.Hour)) || !inv.Lobby || inv.State != Active || inv.CreatedBy != "demo:teacher1" {
		t.Errorf("created: %+v (want the default expiry and the lobby on)", inv)
	}
	code := codeOf(t, inv.Link)

	got, rm, err := f.svc.Open(ctx, code)
	if err != nil || rm.ID != f.room.ID || got.ID != inv.ID || got.Link != "" || got.Uses != 0 {
		t.Fatalf("Open = %+v, %v, %v", got, rm, err)
	}
	for i := 1; i <= 2; i++ {
		if used, err := f.svc.Use(ctx, code); err != nil || used.Uses != i {
			t.Fatalf("use %d: %+v %v", i, used, err)
		}
	}
	if _, err := f.svc.Use(ctx, code); !errors.Is(err, ErrUnusable) || !errors.Is(err, store.ErrInviteUsedUp) {
		t.Errorf("third use: %v", err)
	}
	list, err := f.svc.List(ctx, f.room.ID)
	if err != nil || len(list) != 1 || list[0].State != UsedUp || list[0].Link != "" {
		t.Errorf("List = %+v, %v", list, err)
	}

	other, err := f.svc.Create(ctx, f.room.ID, Spec{Expires: time.Hour}, "cli")
	if err != nil {
		t.Fatal(err)
	}
	revoked, err := f.svc.Revoke(ctx, f.room.ID, other.ID, "cli")
	if err != nil || revoked.State != Revoked || revoked.RevokedAt == nil {
		t.Fatalf("Revoke = %+v, %v", revoked, err)
	}
	if _, _, err := f.svc.Open(ctx, codeOf(t, other.Link)); !errors.Is(err, ErrUnusable) {
		t.Errorf("Open after revoke: %v", err)
	}
	if _, err := f.svc.Revoke(ctx, "otherroom", other.ID, "cli"); !errors.Is(err, ErrNotFound) {
		t.Errorf("Revoke through another room: %v", err)
	}
	// Metrics hear each event once: two created, two redeemed, the third
	// use and the revoked code's Open rejected, one revoked.
	want := map[string]int{EventCreated: 2, EventRedeemed: 2, EventRejected: 2, EventRevoked: 1}
	if !maps.Equal(f.events, want) {
		t.Errorf("observed %v, want %v", f.events, want)
	}
}

func TestUnusableCodesLookTheSame(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	mk := func(spec Spec) string {
		inv, err := f.svc.Create(ctx, f.room.ID, spec, "cli")
		if err != nil {
			t.Fatal(err)
		}
		return codeOf(t, inv.Link)
	}
	expired := mk(Spec{Expires: time.Minute})
	good := mk(Spec{})
	tampered := good[:25] + "A"
	if good[25] == 'A' {
		tampered = good[:25] + "B"
	}
	f.clock.Advance(2 * time.Minute)
	for name, code := range map[string]string{
		"expired": expired, "tampered": tampered, "lower case": strings.ToLower(good), "empty": "",
		"too long": good + "A", "markup": "<script>alert(1)</script>", "unknown": "AAAAAAAAAAAAAAAAAAAAAAAAAA",
	} {
		t.Run(name, func(t *testing.T) {
			if _, _, err := f.svc.Open(ctx, code); !errors.Is(err, ErrUnusable) {
				t.Errorf("Open: %v, want ErrUnusable", err)
			}
			if _, err := f.svc.Use(ctx, code); !errors.Is(err, ErrUnusable) {
				t.Errorf("Use: %v, want ErrUnusable", err)
			}
		})
	}
	if _, _, err := f.svc.Open(ctx, good); err != nil {
		t.Errorf("the good code: %v", err)
	}
	// A deleted room takes its invites with it.
	if err := f.rooms.Delete(ctx, f.room.ID, f.room.Version); err != nil {
		t.Fatal(err)
	}
	if _, _, err := f.svc.Open(ctx, good); !errors.Is(err, ErrUnusable) {
		t.Errorf("invite of a deleted room: %v", err)
	}
}

func TestCreateValidation(t *testing.T) {
	f := newFixture(t)
	no := false
	for _, tt := range []struct {
		name  string
		spec  Spec
		field string
	}{
		{"one second", Spec{Expires: time.Second}, ""},
		{"the maximum", Spec{Expires: 720 * time.Hour}, ""},
		{"above the maximum", Spec{Expires: 721 * time.Hour}, "expires"},
		{"negative", Spec{Expires: -time.Hour}, "expires"},
		{"below a second", Spec{Expires: time.Millisecond}, "expires"},
		{"negative uses", Spec{MaxUses: -1}, "max_uses"},
		{"too many uses", Spec{MaxUses: MaxUses + 1}, "max_uses"},
		{"only markup in the name", Spec{GuestName: "<<>>"}, "guest_name"},
		{"fixed name, no lobby", Spec{GuestName: "  Dr. Ada   Lovelace ", Lobby: &no}, ""},
	} {
		t.Run(tt.name, func(t *testing.T) {
			inv, err := f.svc.Create(context.Background(), f.room.ID, tt.spec, "cli")
			var ve *ValidationError
			switch {
			case tt.field == "" && err != nil:
				t.Fatalf("Create: %v", err)
			case tt.field != "" && (!errors.As(err, &ve) || ve.Field != tt.field || !errors.Is(err, ErrInvalid)):
				t.Fatalf("Create: %v, want a problem with %s", err, tt.field)
			case tt.name == "fixed name, no lobby" && (inv.GuestName != "Dr. Ada Lovelace" || inv.Lobby):
				t.Errorf("invite = %+v", inv)
			}
		})
	}
	if _, err := f.svc.Create(context.Background(), "nosuchroom", Spec{}, "cli"); !errors.Is(err, ErrNotFound) {
		t.Errorf("invite for a room that does not exist: %v", err)
	}
}

func TestCleanName(t *testing.T) {
	for _, tt := range []struct{ in, want string }{
		{"  Pat   Parent ", "Pat Parent"},
		{"<script>alert(1)</script>", "scriptalert(1)/script"},
		{"<img src=x onerror=alert(1)>", "img src=x onerror=alert(1)"},
		{"Smith & Jones \"Q\"", "Smith & Jones \"Q\""},
		{"line\nbreak\ttab", "line break tab"},
		{"zero\u200bwidth\u202eRTL", "zerowidthRTL"},
		{strings.Repeat("ä", 100), strings.Repeat("ä", MaxNameLength)},
		{"<>", ""},
	} {
		if got := CleanName(tt.in); got != tt.want {
			t.Errorf("CleanName(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

func TestWellFormed(t *testing.T) {
	for code, want := range map[string]bool{
		"ABCDEFGHIJKLMNOPQRSTUVWXYZ": true, "234567ABCDEFGHIJKLMNOPQRST": true,
		"ABCDEFGHIJKLMNOPQRSTUVWXY1": false, "abcdefghijklmnopqrstuvwxyz": false, "ABC": false, "": false,
	} {
		if got := WellFormed(code); got != want {
			t.Errorf("WellFormed(%q) = %v", code, got)
		}
	}
}
