package rooms

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"net/url"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/jitsi-gate/jitsi-gate/internal/auth"
	"github.com/jitsi-gate/jitsi-gate/internal/reservation"
	"github.com/jitsi-gate/jitsi-gate/internal/store"
)

func lessonSpec() Spec {
	return Spec{
		Name:         "Mathe 7b",
		Tenant:       "School-A",
		Organizers:   []string{" teacher1 ", "Group:Fachschaft-Mathe", "TEACHER1"},
		Participants: []string{"group:7b", "ldap:guest1"},
		Lobby:        true,
		Password:     "s3cret;\"x",
		MaxOccupants: 30,
		Weekly:       []SlotSpec{{Day: "thu", Start: "10:00", End: "10:45"}, {Day: "Monday", Start: "8:00", End: "08:45"}},
		ValidFrom:    "2026-09-01",
		ValidUntil:   "2027-07-31",
	}
}

func TestCreateReadUpdateDelete(t *testing.T) {
	forEachDriver(t, func(t *testing.T, d *testDB) {
		ctx := context.Background()
		s := newService(t, d.open(t))

		r := mustCreate(t, s, lessonSpec())
		for _, tt := range []struct {
			name      string
			got, want any
		}{
			{"stored name is backend-safe", r.Name, "mathe7b"},
			{"display", r.Display, "mathe7b"},
			{"title defaults to the name as typed", r.Title, "Mathe 7b"},
			{"tenant lower-cased", r.Tenant, "school-a"},
			{"organizers tidied, duplicates dropped", r.Organizers, []string{"teacher1", "group:Fachschaft-Mathe"}},
			{"participants", r.Participants, []string{"group:7b", "ldap:guest1"}},
			{"timezone defaulted and kept", r.Timezone, "Europe/Berlin"},
			{"open_early defaulted and kept", r.OpenEarly, 10 * time.Minute},
			{"slots in week order", r.Weekly, []store.WeeklySlot{{Day: time.Monday, Start: 480, End: 525}, {Day: time.Thursday, Start: 600, End: 645}}},
			{"created by", r.CreatedBy, "test"},
			{"version", r.Version, int64(1)},
			{"join link", s.JoinURL(r), "https://meet.example.com/_auth/join/mathe7b?tenant=school-a"},
		} {
			if !reflect.DeepEqual(tt.got, tt.want) {
				t.Errorf("%s = %#v, want %#v", tt.name, tt.got, tt.want)
			}
		}

		if _, err := s.Create(ctx, Spec{Name: "mathe7b", Tenant: "school-a"}, "x"); !errors.Is(err, ErrConflict) {
			t.Errorf("second room of the same name: %v, want ErrConflict", err)
		}
		if _, err := s.Create(ctx, Spec{Name: "mathe7b"}, "x"); err != nil {
			t.Errorf("the same name without a tenant is another room: %v", err)
		}

		got, err := s.Get(ctx, r.ID)
		if err != nil || got.Version != 1 || got.Password != "s3cret;\"x" {
			t.Fatalf("Get: %v %v", got, err)
		}
		byName, err := s.ByName(ctx, "school-a", "  MATHE 7B ")
		if err != nil || byName.ID != r.ID {
			t.Fatalf("ByName: %v %v", byName, err)
		}
		if _, err := s.ByName(ctx, "", "Mathe 7b/x"); !errors.Is(err, ErrInvalid) {
			t.Errorf("ByName with an impossible name: %v, want ErrInvalid", err)
		}

		spec := r.Spec()
		spec.Title = "Mathematik 7b"
		spec.Weekly = spec.Weekly[:1]
		up, err := s.Update(ctx, r.ID, spec, r.Version)
		if err != nil {
			t.Fatalf("Update: %v", err)
		}
		if up.Title != "Mathematik 7b" || len(up.Weekly) != 1 || up.Version != 2 || up.Password != r.Password {
			t.Errorf("after Update: %+v", up)
		}
		if _, err := s.Update(ctx, r.ID, spec, r.Version); !errors.Is(err, ErrStale) {
			t.Errorf("Update with the old version: %v, want ErrStale", err)
		}
		if err := s.Delete(ctx, r.ID, 1); !errors.Is(err, ErrStale) {
			t.Errorf("Delete with the old version: %v, want ErrStale", err)
		}
		if err := s.Delete(ctx, r.ID, up.Version); err != nil {
			t.Fatalf("Delete: %v", err)
		}
		if _, err := s.Get(ctx, r.ID); !errors.Is(err, ErrNotFound) {
			t.Errorf("Get after Delete: %v, want ErrNotFound", err)
		}
		if _, err := s.Lookup(ctx, "school-a", "mathe7b"); !errors.Is(err, ErrNotFound) {
			t.Errorf("Lookup after Delete: %v, want ErrNotFound", err)
		}
		list, err := s.List(ctx, Filter{})
		if err != nil || len(list) != 1 || list[0].Tenant != "" {
			t.Errorf("List: %v %v", list, err)
		}
	})
}

// TestSpecValidation: every rule, each with its field; a Spec with many
// problems reports all of them, and nothing is written.
func TestSpecValidation(t *testing.T) {
	st := newTestDB(t, store.DriverSQLite).open(t)
	s := newService(t, st, func(o *Options) { o.Tenants = []string{"school-a"} })
	tests := []struct {
		name   string
		mutate func(*Spec)
		field  string
		msg    string
	}{
		{"name missing", func(sp *Spec) { sp.Name = " " }, "name", "is required"},
		{"name with a slash", func(sp *Spec) { sp.Name = "a/b" }, "name", "not a valid room name"},
		{"name reserved by Jitsi", func(sp *Spec) { sp.Name = "static" }, "name", "reserved"},
		{"tenant not a DNS label", func(sp *Spec) { sp.Tenant = "school_a" }, "tenant", "Tenant names may only contain"},
		{"tenant not allowed", func(sp *Spec) { sp.Tenant = "school-b" }, "tenant", "not one of the tenants"},
		{"title control character", func(sp *Spec) { sp.Title = "a\x07b" }, "title", "control character"},
		{"organizer empty entry", func(sp *Spec) { sp.Organizers = []string{"ok", " "} }, "organizers", "entry 2 is empty"},
		{"organizer group without name", func(sp *Spec) { sp.Organizers = []string{"group: "} }, "organizers", "names no group"},
		{"participant with a space", func(sp *Spec) { sp.Participants = []string{"Fachschaft Mathe"} }, "participants", "group:NAME"},
		{"participant scoped to an unknown backend", func(sp *Spec) { sp.Participants = []string{"ldpa:x"} }, "participants", `no backend with that id`},
		{"max_occupants negative", func(sp *Spec) { sp.MaxOccupants = -1 }, "max_occupants", "negative"},
		{"password with a newline", func(sp *Spec) { sp.Password = "a\nb" }, "password", "control character"},
		{"unknown timezone", func(sp *Spec) { sp.Timezone = "Europe/Berlinn" }, "timezone", "unknown timezone"},
		{"unknown day", func(sp *Spec) { sp.Weekly = []SlotSpec{{Day: "mo", Start: "08:00", End: "08:45"}} }, "weekly", `unknown day "mo"`},
		{"slot end before start", func(sp *Spec) { sp.Weekly = []SlotSpec{{Day: "mon", Start: "09:00", End: "08:00"}} }, "weekly", "crosses midnight"},
		{"overlapping slots", func(sp *Spec) {
			sp.Weekly = []SlotSpec{{Day: "mon", Start: "08:00", End: "08:45"}, {Day: "mon", Start: "08:30", End: "09:15"}}
		}, "weekly", "overlaps"},
		{"window end before start", func(sp *Spec) {
			sp.Windows = []WindowSpec{{Start: "2026-09-14T10:00:00+02:00", End: "2026-09-14T09:00:00+02:00"}}
		}, "windows", "the end must be after the start"},
		{"window with seconds", func(sp *Spec) {
			sp.Windows = []WindowSpec{{Start: "2026-09-14T10:00:30+02:00", End: "2026-09-14T11:00:00+02:00"}}
		}, "windows", "whole minutes"},
		{"window without offset", func(sp *Spec) {
			sp.Windows = []WindowSpec{{Start: "2026-09-14T10:00:00", End: "2026-09-14T11:00:00+02:00"}}
		}, "windows", "RFC 3339"},
		{"term ends before it starts", func(sp *Spec) { sp.ValidFrom, sp.ValidUntil = "2027-01-01", "2026-01-01" }, "valid_until", "before it starts"},
		{"term date not a date", func(sp *Spec) { sp.ValidFrom = "2026-13-01" }, "valid_from", "invalid date"},
		{"term without slots", func(sp *Spec) { sp.Weekly = nil }, "valid_from", "limits weekly slots, but there are none"},
		{"open_early not a duration", func(sp *Spec) { sp.OpenEarly = "soon" }, "open_early", "not a duration"},
		{"open_early too long", func(sp *Spec) { sp.OpenEarly = "25h" }, "open_early", "longer than"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			spec := lessonSpec()
			spec.Tenant = "school-a"
			tt.mutate(&spec)
			_, err := s.Create(context.Background(), spec, "test")
			var ve *ValidationError
			if !errors.As(err, &ve) || !errors.Is(err, ErrInvalid) {
				t.Fatalf("Create: %v, want a *ValidationError", err)
			}
			found := false
			for _, fe := range ve.Errors {
				if fe.Field == tt.field && strings.Contains(fe.Message, tt.msg) {
					found = true
				}
			}
			if !found {
				t.Errorf("want %s: %q among %v", tt.field, tt.msg, err)
			}
		})
	}

	// Everything wrong at once: every field named, nothing written.
	_, err := s.Create(context.Background(), Spec{
		Name: "a/b", Tenant: "-x", MaxOccupants: -2, Timezone: "Mars/Olympus",
		Weekly: []SlotSpec{{Day: "someday", Start: "8", End: "9"}},
	}, "test")
	var ve *ValidationError
	if !errors.As(err, &ve) {
		t.Fatalf("want a *ValidationError, got %v", err)
	}
	var fields []string
	for _, fe := range ve.Errors {
		fields = append(fields, fe.Field)
	}
	for _, want := range []string{"name", "tenant", "max_occupants", "timezone", "weekly"} {
		if !slices.Contains(fields, want) {
			t.Errorf("no problem reported for %s: %v", want, err)
		}
	}
	if list, err := s.List(context.Background(), Filter{}); err != nil || len(list) != 0 {
		t.Errorf("rooms written despite errors: %v %v", list, err)
	}
}

func TestRoleOf(t *testing.T) {
	st := newTestDB(t, store.DriverSQLite).open(t)
	s := newService(t, st)
	r := mustCreate(t, s, Spec{
		Name:         "Mathe 7b",
		Organizers:   []string{"teacher1", "ldap:Tina", "group:Fachschaft-Mathe"},
		Participants: []string{"group:7b", "guest1", "teacher1"},
	})
	open := mustCreate(t, s, Spec{Name: "Sprechstunde"})
	tests := []struct {
		name string
		room *Room
		id   auth.Identity
		want Role
	}{
		{"organizer by name", r, auth.Identity{Backend: "demo", Username: "teacher1"}, RoleOrganizer},
		{"organizer by name, other case and width", r, auth.Identity{Backend: "demo", Username: "ＴＥＡＣＨＥＲ1"}, RoleOrganizer},
		{"organizer wins over participant", r, auth.Identity{Backend: "ldap", Username: "teacher1", Groups: []string{"7b"}}, RoleOrganizer},
		{"scoped organizer from its backend", r, auth.Identity{Backend: "LDAP", Username: "tina"}, RoleOrganizer},
		{"scoped organizer from another backend", r, auth.Identity{Backend: "demo", Username: "tina"}, RoleNone},
		{"organizer by group, any case", r, auth.Identity{Backend: "ldap", Username: "x", Groups: []string{"teachers", "fachschaft-mathe"}}, RoleOrganizer},
		{"participant by group", r, auth.Identity{Backend: "ldap", Username: "s1", Groups: []string{"7B"}}, RoleParticipant},
		{"participant by name", r, auth.Identity{Backend: "oidc", Username: "Guest1"}, RoleParticipant},
		{"neither", r, auth.Identity{Backend: "ldap", Username: "s2", Groups: []string{"8a"}}, RoleNone},
		{"group name is not a username", r, auth.Identity{Backend: "ldap", Username: "7b"}, RoleNone},
		{"username is not a group", r, auth.Identity{Backend: "ldap", Username: "x", Groups: []string{"guest1"}}, RoleNone},
		{"empty identity", r, auth.Identity{}, RoleNone},
		{"room without lists", open, auth.Identity{Backend: "ldap", Username: "teacher1", Groups: []string{"7b"}}, RoleNone},
	}
	for _, tt := range tests {
		if got := tt.room.RoleOf(tt.id); got != tt.want {
			t.Errorf("%s: RoleOf(%+v) = %s, want %s", tt.name, tt.id, got, tt.want)
		}
	}
}

// TestOpenForAcrossDST: a Monday 08:00-08:45 Europe/Berlin lesson opens
// at 08:00 local time on both sides of the switches to and from summer
// time (06:00 UTC in summer, 07:00 UTC in winter).
func TestOpenForAcrossDST(t *testing.T) {
	st := newTestDB(t, store.DriverSQLite).open(t)
	s := newService(t, st)
	r := mustCreate(t, s, Spec{Name: "Mathe 7b", Weekly: []SlotSpec{{Day: "mon", Start: "08:00", End: "08:45"}}})
	utc := func(y int, m time.Month, d, h, min int) time.Time { return time.Date(y, m, d, h, min, 0, 0, time.UTC) }
	tests := []struct {
		name      string
		at        time.Time
		organizer bool
		open      bool
		start     time.Time // Current.Start when open, Next.Start when closed
		opensAt   time.Time // when closed
	}{
		{"summer: 08:00 CEST is 06:00 UTC", utc(2026, 10, 19, 6, 0), false, true, utc(2026, 10, 19, 6, 0), time.Time{}},
		{"summer: 07:00 UTC is 09:00 CEST, closed", utc(2026, 10, 19, 7, 0), false, false, utc(2026, 10, 26, 7, 0), utc(2026, 10, 26, 7, 0)},
		{"winter after the October switch: 06:30 UTC is 07:30 CET, closed", utc(2026, 10, 26, 6, 30), false, false, utc(2026, 10, 26, 7, 0), utc(2026, 10, 26, 7, 0)},
		{"winter: 08:00 CET is 07:00 UTC", utc(2026, 10, 26, 7, 0), false, true, utc(2026, 10, 26, 7, 0), time.Time{}},
		{"organizer 10 minutes early", utc(2026, 10, 26, 6, 50), true, true, utc(2026, 10, 26, 7, 0), time.Time{}},
		{"organizer 11 minutes early", utc(2026, 10, 26, 6, 49), true, false, utc(2026, 10, 26, 7, 0), utc(2026, 10, 26, 6, 50)},
		{"participant 5 minutes early", utc(2026, 10, 26, 6, 55), false, false, utc(2026, 10, 26, 7, 0), utc(2026, 10, 26, 7, 0)},
		{"Sunday of the switch: next is Monday 08:00 CET", utc(2026, 10, 25, 12, 0), false, false, utc(2026, 10, 26, 7, 0), utc(2026, 10, 26, 7, 0)},
		{"winter before the March switch", utc(2027, 3, 22, 7, 0), false, true, utc(2027, 3, 22, 7, 0), time.Time{}},
		{"summer after the March switch: 08:00 CEST is 06:00 UTC", utc(2027, 3, 29, 6, 0), false, true, utc(2027, 3, 29, 6, 0), time.Time{}},
		{"after the March switch, 07:00 UTC is 09:00: closed", utc(2027, 3, 29, 7, 0), false, false, utc(2027, 4, 5, 6, 0), utc(2027, 4, 5, 6, 0)},
	}
	for _, tt := range tests {
		a := r.OpenFor(tt.at, tt.organizer)
		if a.Open != tt.open || a.Unrestricted {
			t.Errorf("%s: open = %v (unrestricted %v), want %v", tt.name, a.Open, a.Unrestricted, tt.open)
			continue
		}
		got := a.Current.Start
		if !tt.open {
			got = a.Next.Start
			if !a.HasNext || !a.OpensAt.Equal(tt.opensAt) {
				t.Errorf("%s: next %v, opens at %v, want %v", tt.name, a.HasNext, a.OpensAt, tt.opensAt)
			}
		}
		if !got.Equal(tt.start) {
			t.Errorf("%s: occurrence starts %v, want %v", tt.name, got.UTC(), tt.start)
		}
		if got.Location().String() != "Europe/Berlin" || got.In(berlin).Format("15:04") != "08:00" {
			t.Errorf("%s: occurrence %v is not 08:00 Berlin time", tt.name, got)
		}
	}
	always := mustCreate(t, s, Spec{Name: "Lehrerzimmer"})
	if a := always.OpenFor(time.Now(), false); !a.Open || !a.Unrestricted {
		t.Errorf("a room without windows: %+v, want always open", a)
	}
}

// TestLookupCache: Lookup answers from its cache, sees a change made
// through another store handle (another gateway process on the same
// database) within a second, and one made through itself at once.
func TestLookupCache(t *testing.T) {
	forEachDriver(t, func(t *testing.T, d *testDB) {
		ctx := context.Background()
		gate1 := newService(t, d.open(t))
		gate2 := newService(t, d.open(t))

		start := time.Now()
		if _, err := gate1.Lookup(ctx, "", "mathe7b"); !errors.Is(err, ErrNotFound) {
			t.Fatalf("Lookup of an unregistered room: %v", err)
		}
		created := mustCreate(t, gate2, Spec{Name: "Mathe 7b", Title: "v1"})
		createdAt := time.Now()
		_, err := gate1.Lookup(ctx, "", "mathe7b")
		if time.Since(start) < 800*time.Millisecond && !errors.Is(err, ErrNotFound) {
			t.Errorf("Lookup right after another process created the room: %v; want the cached 'not found'", err)
		}
		r := waitFor(t, gate1, "mathe7b", func(r *Room) bool { return r != nil })
		if seen := time.Since(createdAt); seen > time.Second+200*time.Millisecond {
			t.Errorf("the other process's room showed after %v, want within 1s", seen)
		}
		if r.Title != "v1" {
			t.Errorf("title %q", r.Title)
		}

		spec := created.Spec()
		spec.Title = "v2"
		if _, err := gate2.Update(ctx, created.ID, spec, created.Version); err != nil {
			t.Fatal(err)
		}
		updatedAt := time.Now()
		waitFor(t, gate1, "mathe7b", func(r *Room) bool { return r != nil && r.Title == "v2" })
		if seen := time.Since(updatedAt); seen > time.Second+200*time.Millisecond {
			t.Errorf("the other process's update showed after %v, want within 1s", seen)
		}

		// Through the same service: at once.
		cur, err := gate1.Lookup(ctx, "", "mathe7b")
		if err != nil {
			t.Fatal(err)
		}
		spec.Title = "v3"
		if _, err := gate1.Update(ctx, cur.ID, spec, cur.Version); err != nil {
			t.Fatal(err)
		}
		if r, err := gate1.Lookup(ctx, "", "mathe7b"); err != nil || r.Title != "v3" {
			t.Errorf("own update not seen at once: %v %v", r, err)
		}
		if err := gate1.Delete(ctx, cur.ID, 0); err != nil {
			t.Fatal(err)
		}
		if _, err := gate1.Lookup(ctx, "", "mathe7b"); !errors.Is(err, ErrNotFound) {
			t.Errorf("own delete not seen at once: %v", err)
		}
	})
}

// waitFor polls Lookup until ok holds (nil: not found), for at most 3 s.
func waitFor(t *testing.T, s *Service, name string, ok func(*Room) bool) *Room {
	t.Helper()
	deadline := time.Now().Add(3 * time.Second)
	for {
		r, err := s.Lookup(context.Background(), "", name)
		if err != nil && !errors.Is(err, ErrNotFound) {
			t.Fatal(err)
		}
		if ok(r) {
			return r
		}
		if time.Now().After(deadline) {
			t.Fatalf("Lookup(%q) = %v, %v: condition not met after 3s", name, r, err)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func TestCacheBound(t *testing.T) {
	st := newTestDB(t, store.DriverSQLite).open(t)
	s := newService(t, st, func(o *Options) { o.MaxCacheEntries = 10 })
	for i := range 25 {
		if _, err := s.Lookup(context.Background(), "", "room"+string(rune('a'+i))); !errors.Is(err, ErrNotFound) {
			t.Fatal(err)
		}
	}
	s.mu.RLock()
	n := len(s.cache)
	s.mu.RUnlock()
	if n > 10 {
		t.Errorf("cache holds %d entries, bound 10", n)
	}
	if _, err := New(Options{Store: st, Timezone: "Europe/Berlin", CacheTTL: 2 * time.Second}); err == nil {
		t.Error("a cache TTL over 1s was accepted")
	}
	if _, err := New(Options{Store: st, Timezone: "Europe/Berlinn"}); err == nil || !strings.Contains(err.Error(), "unknown timezone") {
		t.Errorf("unknown default timezone: %v", err)
	}
}

func BenchmarkLookup(b *testing.B) {
	for _, driver := range []string{store.DriverSQLite, store.DriverPostgres} {
		for _, cached := range []bool{true, false} {
			name := driver + "/uncached"
			if cached {
				name = driver + "/cached"
			}
			b.Run(name, func(b *testing.B) {
				st := newTestDB(b, driver).open(b)
				s := newService(b, st, func(o *Options) {
					if !cached {
						o.CacheTTL = -1
					}
				})
				spec := lessonSpec()
				spec.Tenant = ""
				mustCreate(b, s, spec)
				ctx := context.Background()
				b.ReportAllocs()
				b.ResetTimer()
				b.RunParallel(func(pb *testing.PB) {
					for pb.Next() {
						if _, err := s.Lookup(ctx, "", "mathe7b"); err != nil {
							b.Fatal(err)
						}
					}
				})
			})
		}
	}
}

// TestReservationAdapter runs Prosody's POST and DELETE through the
// reservation handler on top of the service.
func TestReservationAdapter(t *testing.T) {
	st := newTestDB(t, store.DriverSQLite).open(t)
	s := newService(t, st)
	r := mustCreate(t, s, Spec{Name: "Mathe 7b", Tenant: "school-a", Lobby: true, Password: "pw", MaxOccupants: 25,
		Weekly: []SlotSpec{{Day: "mon", Start: "08:00", End: "08:45"}}})
	now := time.Date(2026, 10, 26, 7, 10, 0, 0, time.UTC) // Monday 08:10 CET
	h, err := reservation.New(reservation.Options{
		Token: strings.Repeat("t", 32), Rooms: s.ReservationRooms(), Log: discardLogger(),
		Now: func() time.Time { return now }, Grace: 5 * time.Minute,
	})
	if err != nil {
		t.Fatal(err)
	}
	post := func(name string) *httptest.ResponseRecorder {
		form := url.Values{"name": {name}, "start_time": {"2026-10-26T07:10:00.000Z"}, "mail_owner": {"x@meet.jitsi"}}
		req := httptest.NewRequest(http.MethodPost, "/conference", strings.NewReader(form.Encode()))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.Header.Set("Authorization", "Bearer "+strings.Repeat("t", 32))
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		return rec
	}
	rec := post("[school-a]mathe7b")
	var body map[string]any
	if err := json.Unmarshal(rec.Body.Bytes(), &body); rec.Code != http.StatusOK || err != nil {
		t.Fatalf("POST: %d %s", rec.Code, rec.Body)
	}
	for k, want := range map[string]any{"id": r.ID, "name": "[school-a]mathe7b", "start_time": "2026-10-26T07:00:00.000Z",
		"duration": float64(50 * 60), "lobby": true, "password": "pw", "max_occupants": float64(25)} {
		if body[k] != want {
			t.Errorf("%s = %#v, want %#v", k, body[k], want)
		}
	}
	if rec := post("[school-a]unknown"); rec.Code != http.StatusForbidden {
		t.Errorf("unregistered room: %d %s", rec.Code, rec.Body)
	}
	if _, err := s.ReservationRooms().ByID(context.Background(), "nope"); !errors.Is(err, reservation.ErrNotFound) {
		t.Errorf("ByID of an unknown id: %v, want reservation.ErrNotFound", err)
	}
	if err := s.ReservationRooms().Ended(context.Background(), r.ID, now); err != nil {
		t.Fatal(err)
	}
	if got, _ := s.Get(context.Background(), r.ID); !got.LastEndedAt.Equal(now) || got.Version != r.Version {
		t.Errorf("after Ended: last ended %v, version %d", got.LastEndedAt, got.Version)
	}
}
