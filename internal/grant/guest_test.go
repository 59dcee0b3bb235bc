package grant

import (
	"testing"
	"time"

	"github.com/jitsi-gate/jitsi-gate/internal/policy"
	"github.com/jitsi-gate/jitsi-gate/internal/rooms"
	"github.com/jitsi-gate/jitsi-gate/internal/schedule"
	"github.com/jitsi-gate/jitsi-gate/internal/store"
)

// ownerForAll is a rule set that would make anyone an owner who skips the
// lobby: guests must get none of it.
func ownerForAll(t *testing.T) *Granter {
	t.Helper()
	p, err := policy.Compile([]policy.Rule{{Name: "everyone", Role: policy.Owner, LobbyBypass: ptr(true),
		Features: map[string]bool{"recording": true}, TokenLifetime: 10 * time.Hour}})
	if err != nil {
		t.Fatal(err)
	}
	g, err := New(p, Settings{Issuer: "jitsi-gate", Audience: "jitsi", XMPPDomain: "meet.jitsi",
		TokenLifetime: time.Hour, RoomGrace: 5 * time.Minute}, nil)
	if err != nil {
		t.Fatal(err)
	}
	return g
}

func TestGrantGuest(t *testing.T) {
	g := ownerForAll(t)
	now := time.Date(2026, 11, 26, 18, 0, 0, 0, time.UTC)
	always := &rooms.Room{Room: store.Room{ID: "r1", Name: "elternabend-7b", Tenant: "school-a"}, Display: "elternabend-7b"}
	evening := &rooms.Room{Room: store.Room{ID: "r2", Name: "sprechtag"}, Display: "sprechtag",
		Schedule: schedule.Schedule{Location: time.UTC, OpenEarly: 30 * time.Minute, Windows: []schedule.Window{
			{Start: now.Add(-time.Hour), End: now.Add(20 * time.Minute)},
			{Start: now.Add(48 * time.Hour), End: now.Add(50 * time.Hour)},
		}}}
	later := &rooms.Room{Room: store.Room{ID: "r3", Name: "vortrag"}, Display: "vortrag",
		Schedule: schedule.Schedule{Location: time.UTC, OpenEarly: 30 * time.Minute, Windows: []schedule.Window{
			{Start: now.Add(10 * time.Minute), End: now.Add(2 * time.Hour)}}}}

	for _, tt := range []struct {
		name     string
		room     *rooms.Room
		guest    Guest
		closed   bool
		wantExp  time.Time
		wantSub  string
		wantLobb bool
	}{
		{"unrestricted room, token lifetime", always, Guest{Name: "Pat", ID: "inv1:abc", Lobby: true, NotAfter: now.Add(72 * time.Hour)},
			false, now.Add(time.Hour), "school-a", true},
		{"invite expires first", always, Guest{Name: "Pat", ID: "inv1:abc", NotAfter: now.Add(10 * time.Minute)},
			false, now.Add(10 * time.Minute), "school-a", false},
		{"window ends first, no grace for guests", evening, Guest{Name: "Pat", ID: "inv2:abc", Lobby: true, NotAfter: now.Add(72 * time.Hour)},
			false, now.Add(20 * time.Minute), "meet.jitsi", true},
		{"not open yet, no open_early for guests", later, Guest{Name: "Pat", ID: "inv3:abc", Lobby: true},
			true, time.Time{}, "", false},
	} {
		t.Run(tt.name, func(t *testing.T) {
			got, err := g.GrantGuest(tt.room, tt.guest, now)
			if err != nil {
				t.Fatal(err)
			}
			if tt.closed {
				if !got.Closed || got.Decision.Allowed || !got.Availability.HasNext || !got.Availability.OpensAt.Equal(now.Add(10*time.Minute)) {
					t.Errorf("closed room: %+v", got)
				}
				if got.Claims.Room != "" {
					t.Errorf("claims for a closed room: %+v", got.Claims)
				}
				return
			}
			c := got.Claims
			u := c.Context.User
			if !got.Decision.Allowed || got.Decision.Rule != GuestRule || got.Decision.Role != policy.Member {
				t.Errorf("decision = %+v", got.Decision)
			}
			if c.Room != tt.room.Name || c.Subject != tt.wantSub || !c.ExpiresAt.Equal(tt.wantExp) || !c.IssuedAt.Equal(now) {
				t.Errorf("claims room %q sub %q exp %v iat %v; want %q %q %v", c.Room, c.Subject, c.ExpiresAt, c.IssuedAt,
					tt.room.Name, tt.wantSub, tt.wantExp)
			}
			if u.ID != "guest:"+tt.guest.ID || u.Name != tt.guest.Name || u.Affiliation != "member" || u.Moderator {
				t.Errorf("user = %+v", u)
			}
			if u.LobbyBypass != nil || c.Context.Features != nil {
				t.Errorf("a guest got the rules' lobby_bypass or features: %+v %v", u, c.Context.Features)
			}
			if (u.Lobby != nil && *u.Lobby) != tt.wantLobb || (u.Lobby != nil && !*u.Lobby) {
				t.Errorf("lobby = %v, want %v (true or absent)", u.Lobby, tt.wantLobb)
			}
		})
	}
	if _, err := g.GrantGuest(nil, Guest{Name: "x", ID: "y"}, now); err == nil {
		t.Error("no room: no error")
	}
	if _, err := g.GrantGuest(always, Guest{ID: "y"}, now); err == nil {
		t.Error("no name: no error")
	}
}
