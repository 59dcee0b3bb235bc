package calfeed

import (
	"bytes"
	"context"
	"errors"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	ics "github.com/arran4/golang-ical"

	"github.com/jitsi-gate/jitsi-gate/internal/auth"
	"github.com/jitsi-gate/jitsi-gate/internal/rooms"
	"github.com/jitsi-gate/jitsi-gate/internal/store"
)

const testSecret = "calendar-test-secret-0123456789abcdef"

type fixture struct {
	st    *store.Store
	rooms *rooms.Service
	feeds *Service
	ids   map[string]string // room name → id
}

func newFixture(t *testing.T) *fixture {
	t.Helper()
	ctx := context.Background()
	st, err := store.Open(ctx, store.Config{Driver: store.DriverSQLite, Path: filepath.Join(t.TempDir(), "gate.db")}, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	rs, err := rooms.New(rooms.Options{Store: st, Timezone: "Europe/Berlin", PublicURL: "https://meet.example.com/_auth",
		Backends: []string{"ldap", "demo"}})
	if err != nil {
		t.Fatal(err)
	}
	f := &fixture{st: st, rooms: rs, ids: map[string]string{}}
	f.feeds = f.service(t, testSecret)
	for _, spec := range []rooms.Spec{
		{Name: "mathe-7b", Title: "Mathe 7b", Organizers: []string{"teacher"}, Participants: []string{"group:7b"},
			Weekly:    []rooms.SlotSpec{{Day: "mon", Start: "08:00", End: "08:45"}, {Day: "thu", Start: "08:00", End: "08:45"}},
			ValidFrom: "2026-09-07", ValidUntil: "2026-12-18"},
		{Name: "elternabend", Organizers: []string{"ada"},
			Windows: []rooms.WindowSpec{{Start: "2026-09-20T18:00:00+02:00", End: "2026-09-20T19:30:00+02:00"}}},
		{Name: "physik-8a", Participants: []string{"group:8a"}, Weekly: []rooms.SlotSpec{{Day: "tue", Start: "10:00", End: "10:45"}}},
		{Name: "offen", Weekly: []rooms.SlotSpec{{Day: "wed", Start: "09:00", End: "10:00"}}},
		// demo:ada is another user than ldap's ada.
		{Name: "chemie", Organizers: []string{"demo:ada"}, Weekly: []rooms.SlotSpec{{Day: "fri", Start: "11:00", End: "12:00"}}},
	} {
		r, err := rs.Create(ctx, spec, "test")
		if err != nil {
			t.Fatalf("create %s: %v", spec.Name, err)
		}
		f.ids[spec.Name] = r.ID
	}
	return f
}

func (f *fixture) service(t *testing.T, secret string) *Service {
	t.Helper()
	s, err := New(Options{Store: f.st, Rooms: f.rooms, Secret: []byte(secret), PublicURL: "https://meet.example.com/_auth",
		Title: "Schule", Now: func() time.Time { return time.Date(2026, 9, 1, 12, 0, 0, 0, time.UTC) }})
	if err != nil {
		t.Fatal(err)
	}
	return s
}

var (
	ada = auth.Identity{Backend: "ldap", Subject: "uid=ada", Username: "ada", Groups: []string{"7b"}}
	bob = auth.Identity{Backend: "ldap", Subject: "uid=bob", Username: "bob", Groups: []string{"8a"}}
)

// tokenOf returns the token in an address.
func tokenOf(t *testing.T, a Address) string {
	t.Helper()
	tok, ok := strings.CutPrefix(a.URL, "https://meet.example.com/_auth/calendar/")
	if !ok || !strings.HasSuffix(tok, ".ics") {
		t.Fatalf("address %q is not <public_url>/calendar/<token>.ics", a.URL)
	}
	return strings.TrimSuffix(tok, ".ics")
}

// parse reads a feed with the iCalendar library and returns its events by
// the room ids in their UIDs.
func (f *fixture) parse(t *testing.T, b []byte) (*ics.Calendar, map[string][]*ics.VEvent) {
	t.Helper()
	cal, err := ics.ParseCalendar(bytes.NewReader(b))
	if err != nil {
		t.Fatalf("the iCalendar library cannot parse the feed: %v\n%s", err, b)
	}
	byRoom := map[string][]*ics.VEvent{}
	for _, e := range cal.Events() {
		id, _, _ := strings.Cut(e.Id(), ".")
		byRoom[id] = append(byRoom[id], e)
	}
	return cal, byRoom
}

func (f *fixture) names(byRoom map[string][]*ics.VEvent) []string {
	var out []string
	for name, id := range f.ids {
		if _, ok := byRoom[id]; ok {
			out = append(out, name)
		}
	}
	slices.Sort(out)
	return out
}

func prop(e *ics.VEvent, p ics.ComponentProperty) *ics.IANAProperty {
	return e.GetProperty(p)
}

func TestFeedListsExactlyTheUsersRooms(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t)
	addr, err := f.feeds.Address(ctx, ada)
	if err != nil {
		t.Fatal(err)
	}
	tok := tokenOf(t, addr)
	if raw, err := f.feeds.Feed(ctx, tok); err != nil {
		t.Fatal(err)
	} else {
		cal, byRoom := f.parse(t, raw)
		if got, want := f.names(byRoom), []string{"elternabend", "mathe-7b"}; !slices.Equal(got, want) {
			t.Errorf("ada's feed lists %v, want %v", got, want)
		}
		if len(byRoom) != 2 {
			t.Errorf("ada's feed has events of %d rooms, want 2", len(byRoom))
		}
		var name string
		for _, p := range cal.CalendarProperties {
			if p.IANAToken == string(ics.PropertyXWRCalName) {
				name = p.Value
			}
		}
		if name != "Schule: ada" {
			t.Errorf("calendar name %q", name)
		}

		// The weekly lesson: one recurring event on Monday and Thursday, at
		// 08:00 Berlin wall-clock time from the term start to its end.
		lessons := byRoom[f.ids["mathe-7b"]]
		if len(lessons) != 1 {
			t.Fatalf("mathe-7b has %d events, want one recurring event", len(lessons))
		}
		e := lessons[0]
		start := prop(e, ics.ComponentPropertyDtStart)
		if start == nil || start.Value != "20260907T080000" || !slices.Equal(start.ICalParameters["TZID"], []string{"Europe/Berlin"}) {
			t.Errorf("lesson DTSTART %+v, want 20260907T080000 in Europe/Berlin", start)
		}
		rrule := prop(e, ics.ComponentPropertyRrule)
		if rrule == nil || !strings.Contains(rrule.Value, "FREQ=WEEKLY") || !strings.Contains(rrule.Value, "BYDAY=MO,TH") ||
			!strings.Contains(rrule.Value, "UNTIL=20261218T225959Z") {
			t.Errorf("lesson RRULE %+v, want weekly on MO,TH until the end of 18 December in Berlin", rrule)
		}
		if u := prop(e, ics.ComponentPropertyUrl); u == nil || u.Value != "https://meet.example.com/_auth/join/mathe-7b" {
			t.Errorf("lesson URL %+v", u)
		}
		if s := prop(e, ics.ComponentPropertySummary); s == nil || s.Value != "Mathe 7b" {
			t.Errorf("lesson SUMMARY %+v", s)
		}
		var zones []string
		for _, c := range cal.Components {
			if tz, ok := c.(*ics.VTimezone); ok {
				zones = append(zones, tz.GetProperty(ics.ComponentPropertyTzid).Value)
			}
		}
		if !slices.Equal(zones, []string{"Europe/Berlin"}) {
			t.Errorf("VTIMEZONEs %v, want Europe/Berlin (Outlook needs it)", zones)
		}
		// The one-off parents' evening, in UTC.
		evening := byRoom[f.ids["elternabend"]]
		if len(evening) != 1 || prop(evening[0], ics.ComponentPropertyDtStart).Value != "20260920T160000Z" ||
			prop(evening[0], ics.ComponentPropertyRrule) != nil {
			t.Errorf("elternabend events %v, want one at 2026-09-20 16:00 UTC", evening)
		}
	}

	// Another user sees only their own rooms, never ada's.
	bobAddr, err := f.feeds.Address(ctx, bob)
	if err != nil {
		t.Fatal(err)
	}
	if bobAddr.URL == addr.URL {
		t.Fatal("two users got the same address")
	}
	raw, err := f.feeds.Feed(ctx, tokenOf(t, bobAddr))
	if err != nil {
		t.Fatal(err)
	}
	if _, byRoom := f.parse(t, raw); !slices.Equal(f.names(byRoom), []string{"physik-8a"}) || len(byRoom) != 1 {
		t.Errorf("bob's feed lists %v, want [physik-8a]", f.names(byRoom))
	}
}

func TestAddressIsStableAndRenewRevokes(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t)
	first, err := f.feeds.Address(ctx, ada)
	if err != nil {
		t.Fatal(err)
	}
	if again, err := f.feeds.Address(ctx, ada); err != nil || again != first {
		t.Errorf("second visit shows %+v, %v; want the same address %+v", again, err, first)
	}
	if tok := tokenOf(t, first); len(tok) != 43 {
		t.Errorf("token %q: want 43 base64url characters (256 bits)", tok)
	}
	renewed, err := f.feeds.Renew(ctx, ada)
	if err != nil {
		t.Fatal(err)
	}
	if renewed.URL == first.URL {
		t.Fatal("Renew kept the address")
	}
	if _, err := f.feeds.Feed(ctx, tokenOf(t, first)); !errors.Is(err, ErrNotFound) {
		t.Errorf("the revoked address: %v, want ErrNotFound", err)
	}
	if _, err := f.feeds.Feed(ctx, tokenOf(t, renewed)); err != nil {
		t.Errorf("the new address: %v", err)
	}
	if shown, err := f.feeds.Address(ctx, ada); err != nil || shown.URL != renewed.URL {
		t.Errorf("the page shows %+v, %v after renewing; want %s", shown, err, renewed.URL)
	}
	for _, bad := range []string{"", "x", strings.Repeat("A", 43), strings.Repeat("*", 43), tokenOf(t, renewed) + "A"} {
		if _, err := f.feeds.Feed(ctx, bad); !errors.Is(err, ErrNotFound) {
			t.Errorf("Feed(%q): %v, want ErrNotFound", bad, err)
		}
	}
}

// TestGroupsAreRefreshedByTheCalendarPage: the feed matches rooms with the
// groups recorded when the user last opened the calendar page.
func TestGroupsAreRefreshedByTheCalendarPage(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t)
	addr, err := f.feeds.Address(ctx, ada)
	if err != nil {
		t.Fatal(err)
	}
	moved := ada
	moved.Groups = []string{"8a"}
	if again, err := f.feeds.Address(ctx, moved); err != nil || again.URL != addr.URL {
		t.Fatalf("Address after a group change: %+v, %v; want the same address", again, err)
	}
	raw, err := f.feeds.Feed(ctx, tokenOf(t, addr))
	if err != nil {
		t.Fatal(err)
	}
	if _, byRoom := f.parse(t, raw); !slices.Equal(f.names(byRoom), []string{"elternabend", "physik-8a"}) {
		t.Errorf("after moving to 8a the feed lists %v, want [elternabend physik-8a]", f.names(byRoom))
	}
}

// TestSecretChange: addresses made with an old secret keep working, but the
// page cannot show them any more.
func TestSecretChange(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t)
	addr, err := f.feeds.Address(ctx, ada)
	if err != nil {
		t.Fatal(err)
	}
	rotated := f.service(t, "another-secret-0123456789abcdef-0123")
	shown, err := rotated.Address(ctx, ada)
	if err != nil {
		t.Fatal(err)
	}
	if shown.URL != "" {
		t.Errorf("after a secret change the page shows %q, an address that does not work", shown.URL)
	}
	if _, err := rotated.Feed(ctx, tokenOf(t, addr)); err != nil {
		t.Errorf("the old address after a secret change: %v", err)
	}
}

func TestRoomFile(t *testing.T) {
	f := newFixture(t)
	r, err := f.rooms.Get(context.Background(), f.ids["mathe-7b"])
	if err != nil {
		t.Fatal(err)
	}
	raw, err := f.feeds.Room(r)
	if err != nil {
		t.Fatal(err)
	}
	if _, byRoom := f.parse(t, raw); !slices.Equal(f.names(byRoom), []string{"mathe-7b"}) {
		t.Errorf("the room file lists %v", f.names(byRoom))
	}
}

func TestNewRefusesBadOptions(t *testing.T) {
	f := newFixture(t)
	tests := []struct {
		name string
		opts Options
		want string
	}{
		{"no store", Options{Rooms: f.rooms, Secret: []byte(testSecret), PublicURL: "https://x"}, "no store"},
		{"no rooms", Options{Store: f.st, Secret: []byte(testSecret), PublicURL: "https://x"}, "no room registry"},
		{"short secret", Options{Store: f.st, Rooms: f.rooms, Secret: []byte("short"), PublicURL: "https://x"}, "5 bytes"},
		{"relative URL", Options{Store: f.st, Rooms: f.rooms, Secret: []byte(testSecret), PublicURL: "/_auth"}, "absolute"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := New(tt.opts); err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("New: %v, want an error with %q", err, tt.want)
			}
		})
	}
}
