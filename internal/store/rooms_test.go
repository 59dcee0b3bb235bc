package store

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"reflect"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"
)

// fullRoom sets every caller-owned field, with instants that carry
// nanoseconds and a non-UTC zone, to check what the round trip keeps.
func fullRoom() Room {
	berlin := time.FixedZone("CEST", 2*3600)
	return Room{
		Tenant:       "school1",
		Name:         "mathe-7b",
		Title:        "Mathe 7b (Prüfung)",
		Organizers:   []string{"teacher1", "group:fachschaft-mathe"},
		Participants: []string{"group:7b", "guest1"},
		Lobby:        true,
		Password:     `s3cr"et' ü %_\`,
		MaxOccupants: 30,
		Windows: []Window{{
			Start: time.Date(2026, 9, 14, 8, 0, 0, 987654321, berlin),
			End:   time.Date(2026, 9, 14, 8, 45, 0, 0, berlin),
		}},
		Weekly: []WeeklySlot{
			{Day: time.Monday, Start: 8 * 60, End: 8*60 + 45},
			{Day: time.Sunday, Start: 0, End: minutesPerDay},
		},
		Timezone:   "Europe/Berlin",
		ValidFrom:  "2026-09-01",
		ValidUntil: "2027-07-31",
		OpenEarly:  10 * time.Minute,
		CreatedBy:  "admin",
	}
}

// stored is what the store returns for in after a round trip (apart from
// the fields the store assigns).
func stored(in Room) Room {
	out := in
	out.Windows = nil
	for _, w := range in.Windows {
		out.Windows = append(out.Windows, Window{Start: truncTime(w.Start), End: truncTime(w.End)})
	}
	out.LastEndedAt = truncTime(in.LastEndedAt)
	return out
}

// withoutAssigned clears the fields the store assigns, for comparisons.
func withoutAssigned(r Room) Room {
	r.ID, r.CreatedAt, r.UpdatedAt, r.Version = "", time.Time{}, time.Time{}, 0
	return r
}

var roomIDPattern = regexp.MustCompile(`^[a-z2-7]{26}$`)

func TestRoomCRUD(t *testing.T) {
	forEachDriver(t, func(t *testing.T, d *testDB) {
		ctx := context.Background()
		s := d.open(t)
		in := fullRoom()

		created, err := s.CreateRoom(ctx, in)
		if err != nil {
			t.Fatalf("CreateRoom: %v", err)
		}
		if !roomIDPattern.MatchString(created.ID) {
			t.Errorf("ID = %q, want 26 characters of a-z2-7", created.ID)
		}
		now := truncTime(d.clock.Now())
		if created.Version != 1 || !created.CreatedAt.Equal(now) || !created.UpdatedAt.Equal(now) {
			t.Errorf("created: version %d, created %v, updated %v; want 1, %v, %v",
				created.Version, created.CreatedAt, created.UpdatedAt, now, now)
		}
		if got, want := withoutAssigned(created), stored(in); !reflect.DeepEqual(got, want) {
			t.Errorf("CreateRoom returned\n%+v\nwant\n%+v", got, want)
		}

		byID, err := s.Room(ctx, created.ID)
		if err != nil {
			t.Fatalf("Room(%s): %v", created.ID, err)
		}
		if !reflect.DeepEqual(byID, created) {
			t.Errorf("Room(id) =\n%+v\nwant\n%+v", byID, created)
		}
		byName, err := s.RoomByName(ctx, in.Tenant, in.Name)
		if err != nil {
			t.Fatalf("RoomByName: %v", err)
		}
		if !reflect.DeepEqual(byName, created) {
			t.Errorf("RoomByName =\n%+v\nwant\n%+v", byName, created)
		}
		if byName.CreatedAt.Location() != time.UTC || byName.Windows[0].Start.Location() != time.UTC {
			t.Errorf("times are not in UTC: %v, %v", byName.CreatedAt, byName.Windows[0].Start)
		}

		d.clock.Advance(time.Minute)
		change := created
		change.Title = "Mathe 7b neu"
		change.Participants = nil
		change.Weekly = []WeeklySlot{{Day: time.Thursday, Start: 600, End: 645}}
		change.Lobby = false
		change.CreatedBy = "someone else" // not caller-owned after creation
		updated, err := s.UpdateRoom(ctx, change, created.Version)
		if err != nil {
			t.Fatalf("UpdateRoom: %v", err)
		}
		if updated.Version != 2 || !updated.UpdatedAt.Equal(truncTime(d.clock.Now())) || !updated.CreatedAt.Equal(created.CreatedAt) {
			t.Errorf("updated: version %d, updated %v, created %v", updated.Version, updated.UpdatedAt, updated.CreatedAt)
		}
		if updated.Title != change.Title || updated.Participants != nil || updated.Lobby || updated.CreatedBy != "admin" ||
			!reflect.DeepEqual(updated.Weekly, change.Weekly) {
			t.Errorf("UpdateRoom stored %+v", updated)
		}
		if again, _ := s.Room(ctx, created.ID); !reflect.DeepEqual(again, updated) {
			t.Errorf("Room after update =\n%+v\nwant\n%+v", again, updated)
		}

		if err := s.DeleteRoom(ctx, created.ID); err != nil {
			t.Fatalf("DeleteRoom: %v", err)
		}
		if _, err := s.Room(ctx, created.ID); !errors.Is(err, ErrNotFound) {
			t.Errorf("Room after delete: %v, want ErrNotFound", err)
		}
		if _, err := s.RoomByName(ctx, in.Tenant, in.Name); !errors.Is(err, ErrNotFound) {
			t.Errorf("RoomByName after delete: %v, want ErrNotFound", err)
		}
		if err := s.DeleteRoom(ctx, created.ID); !errors.Is(err, ErrNotFound) {
			t.Errorf("second DeleteRoom: %v, want ErrNotFound", err)
		}
		if _, err := s.UpdateRoom(ctx, updated, updated.Version); !errors.Is(err, ErrNotFound) {
			t.Errorf("UpdateRoom of a deleted room: %v, want ErrNotFound", err)
		}
	})
}

func TestRoomConflict(t *testing.T) {
	forEachDriver(t, func(t *testing.T, d *testDB) {
		ctx := context.Background()
		s := d.open(t)
		first, err := s.CreateRoom(ctx, Room{Name: "physik"})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := s.CreateRoom(ctx, Room{Name: "physik", Title: "again"}); !errors.Is(err, ErrConflict) {
			t.Errorf("second room with the same name: %v, want ErrConflict", err)
		}
		// The same name in another tenant, and a name differing in case, are other rooms.
		other, err := s.CreateRoom(ctx, Room{Tenant: "school2", Name: "physik"})
		if err != nil {
			t.Errorf("same name, other tenant: %v", err)
		}
		if _, err := s.CreateRoom(ctx, Room{Name: "Physik"}); err != nil {
			t.Errorf("name differing in case: %v", err)
		}
		// Renaming onto an existing room.
		other.Tenant = ""
		if _, err := s.UpdateRoom(ctx, other, other.Version); !errors.Is(err, ErrConflict) {
			t.Errorf("rename onto an existing room: %v, want ErrConflict", err)
		}
		if got, _ := s.Room(ctx, first.ID); got.Title != "" || got.Version != 1 {
			t.Errorf("the existing room changed: %+v", got)
		}
	})
}

func TestUpdateRoomStale(t *testing.T) {
	forEachDriver(t, func(t *testing.T, d *testDB) {
		ctx := context.Background()
		s := d.open(t)
		r, err := s.CreateRoom(ctx, Room{Name: "chemie"})
		if err != nil {
			t.Fatal(err)
		}
		alice, bob := r, r
		alice.Title = "Alice"
		if _, err := s.UpdateRoom(ctx, alice, r.Version); err != nil {
			t.Fatalf("first update: %v", err)
		}
		bob.Title = "Bob"
		if _, err := s.UpdateRoom(ctx, bob, r.Version); !errors.Is(err, ErrStale) {
			t.Errorf("update with the old version: %v, want ErrStale", err)
		}
		if err := s.DeleteRoomVersion(ctx, r.ID, r.Version); !errors.Is(err, ErrStale) {
			t.Errorf("delete with the old version: %v, want ErrStale", err)
		}
		got, err := s.Room(ctx, r.ID)
		if err != nil || got.Title != "Alice" || got.Version != 2 {
			t.Fatalf("after a stale update: %+v, %v; want Alice's version 2", got, err)
		}
		if err := s.DeleteRoomVersion(ctx, r.ID, got.Version); err != nil {
			t.Errorf("delete with the current version: %v", err)
		}
		if err := s.DeleteRoomVersion(ctx, r.ID, got.Version); !errors.Is(err, ErrNotFound) {
			t.Errorf("delete of a deleted room: %v, want ErrNotFound", err)
		}
	})
}

// TestConcurrentUpdatesOneWins: writers racing with the same expected
// version: exactly one succeeds, the rest get ErrStale.
func TestConcurrentUpdatesOneWins(t *testing.T) {
	forEachDriver(t, func(t *testing.T, d *testDB) {
		ctx := context.Background()
		s1, s2 := d.open(t), d.open(t)
		r, err := s1.CreateRoom(ctx, Room{Name: "biologie"})
		if err != nil {
			t.Fatal(err)
		}
		const writers = 8
		errs := make([]error, writers)
		var wg sync.WaitGroup
		for i := range writers {
			wg.Go(func() {
				c := r
				c.Title = fmt.Sprint("writer ", i)
				s := s1
				if i%2 == 1 {
					s = s2
				}
				_, errs[i] = s.UpdateRoom(ctx, c, r.Version)
			})
		}
		wg.Wait()
		wins := 0
		for i, err := range errs {
			switch {
			case err == nil:
				wins++
			case !errors.Is(err, ErrStale):
				t.Errorf("writer %d: %v, want nil or ErrStale", i, err)
			}
		}
		if wins != 1 {
			t.Errorf("%d writers succeeded, want exactly 1", wins)
		}
		if got, _ := s1.Room(ctx, r.ID); got.Version != 2 {
			t.Errorf("version after the race = %d, want 2", got.Version)
		}
	})
}

func TestRoomValidation(t *testing.T) {
	start := time.Date(2026, 9, 14, 8, 0, 0, 0, time.UTC)
	tests := []struct {
		name   string
		change func(*Room)
		want   string // part of the error message
	}{
		{"empty name", func(r *Room) { r.Name = "" }, "name is empty"},
		{"control character in name", func(r *Room) { r.Name = "a\nb" }, "name contains a control character"},
		{"control character in title", func(r *Room) { r.Title = "x\x00" }, "title contains a control character"},
		{"window ends before start", func(r *Room) { r.Windows = []Window{{Start: start, End: start.Add(-time.Minute)}} }, "window 1: end"},
		{"empty window", func(r *Room) { r.Windows = []Window{{Start: start, End: start}} }, "is not after start"},
		{"window without end", func(r *Room) { r.Windows = []Window{{Start: start}} }, "start and end are required"},
		{"day out of range", func(r *Room) { r.Weekly = []WeeklySlot{{Day: 7, Start: 0, End: 60}} }, "day 7"},
		{"negative day", func(r *Room) { r.Weekly = []WeeklySlot{{Day: -1, Start: 0, End: 60}} }, "day -1"},
		{"slot ends before start", func(r *Room) { r.Weekly = []WeeklySlot{{Day: 1, Start: 500, End: 480}} }, "weekly slot 1"},
		{"slot past midnight", func(r *Room) { r.Weekly = []WeeklySlot{{Day: 1, Start: 1400, End: 1441}} }, "1400-1441"},
		{"negative slot start", func(r *Room) { r.Weekly = []WeeklySlot{{Day: 1, Start: -1, End: 60}} }, "weekly slot 1"},
		{"valid_from not a date", func(r *Room) { r.ValidFrom = "1.9.2026" }, `valid_from "1.9.2026"`},
		{"valid_until not a date", func(r *Room) { r.ValidUntil = "2027-02-30" }, `valid_until "2027-02-30"`},
		{"term ends before it starts", func(r *Room) { r.ValidFrom, r.ValidUntil = "2027-01-02", "2027-01-01" }, "is after valid_until"},
		{"negative max_occupants", func(r *Room) { r.MaxOccupants = -1 }, "max_occupants -1"},
		{"negative open_early", func(r *Room) { r.OpenEarly = -time.Second }, "open_early -1s"},
		{"id set by the caller", func(r *Room) { r.ID = "chosen" }, "assigned by the store"},
	}
	forEachDriver(t, func(t *testing.T, d *testDB) {
		ctx := context.Background()
		s := d.open(t)
		existing, err := s.CreateRoom(ctx, Room{Name: "existing"})
		if err != nil {
			t.Fatal(err)
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				r := fullRoom()
				tt.change(&r)
				_, err := s.CreateRoom(ctx, r)
				if !errors.Is(err, ErrInvalid) || !strings.Contains(err.Error(), tt.want) {
					t.Errorf("CreateRoom: %v, want ErrInvalid mentioning %q", err, tt.want)
				}
				if tt.name == "id set by the caller" {
					return // UpdateRoom takes the id from the room
				}
				r.ID = existing.ID
				if _, err := s.UpdateRoom(ctx, r, existing.Version); !errors.Is(err, ErrInvalid) {
					t.Errorf("UpdateRoom: %v, want ErrInvalid", err)
				}
			})
		}
		rooms, err := s.ListRooms(ctx, RoomFilter{})
		if err != nil || len(rooms) != 1 || rooms[0].Version != 1 {
			t.Errorf("after invalid writes: %d rooms (%v), want only the untouched existing one", len(rooms), err)
		}
	})
}

func TestListRooms(t *testing.T) {
	forEachDriver(t, func(t *testing.T, d *testDB) {
		ctx := context.Background()
		s := d.open(t)
		for _, r := range []Room{
			{Name: "mathe-7b", Title: "Mathe 7b"},
			{Name: "pruefung-10b", Title: "Prüfung 10b"},
			{Name: "rabatt", Title: "50% off"},
			{Name: "x_y", Title: "underscore"},
			{Tenant: "school2", Name: "mathe-8a", Title: "Mathe 8a"},
			{Tenant: "school2", Name: "kunst"},
		} {
			if _, err := s.CreateRoom(ctx, r); err != nil {
				t.Fatal(err)
			}
		}
		none, school2 := "", "school2"
		tests := []struct {
			name   string
			filter RoomFilter
			want   []string // tenant/name
		}{
			{"all, by tenant then name", RoomFilter{}, []string{"/mathe-7b", "/pruefung-10b", "/rabatt", "/x_y", "school2/kunst", "school2/mathe-8a"}},
			{"name, any case", RoomFilter{Query: "MATHE"}, []string{"/mathe-7b", "school2/mathe-8a"}},
			{"title with umlaut, any case", RoomFilter{Query: "PRÜFUNG"}, []string{"/pruefung-10b"}},
			{"percent is literal", RoomFilter{Query: "50%"}, []string{"/rabatt"}},
			{"underscore is literal", RoomFilter{Query: "x_"}, []string{"/x_y"}},
			{"no tenant", RoomFilter{Tenant: &none}, []string{"/mathe-7b", "/pruefung-10b", "/rabatt", "/x_y"}},
			{"tenant and query", RoomFilter{Tenant: &school2, Query: "mathe"}, []string{"school2/mathe-8a"}},
			{"limit", RoomFilter{Limit: 2}, []string{"/mathe-7b", "/pruefung-10b"}},
			{"limit and offset", RoomFilter{Limit: 2, Offset: 2}, []string{"/rabatt", "/x_y"}},
			{"offset alone", RoomFilter{Offset: 5}, []string{"school2/mathe-8a"}},
			{"nothing matches", RoomFilter{Query: "zzz"}, nil},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				rooms, err := s.ListRooms(ctx, tt.filter)
				if err != nil {
					t.Fatal(err)
				}
				var got []string
				for _, r := range rooms {
					got = append(got, r.Tenant+"/"+r.Name)
				}
				if !reflect.DeepEqual(got, tt.want) {
					t.Errorf("ListRooms(%+v) = %v, want %v", tt.filter, got, tt.want)
				}
			})
		}
		if _, err := s.ListRooms(ctx, RoomFilter{Limit: -1}); !errors.Is(err, ErrInvalid) {
			t.Errorf("negative limit: %v, want ErrInvalid", err)
		}
	})
}

func TestImportRooms(t *testing.T) {
	forEachDriver(t, func(t *testing.T, d *testDB) {
		ctx := context.Background()
		s := d.open(t)
		existing, err := s.CreateRoom(ctx, Room{Name: "deutsch-5a", Title: "old", CreatedBy: "admin"})
		if err != nil {
			t.Fatal(err)
		}
		if err := s.RecordMeetingEnded(ctx, existing.ID, d.clock.Now()); err != nil {
			t.Fatal(err)
		}
		d.clock.Advance(time.Hour)
		res, err := s.ImportRooms(ctx, []Room{
			{Name: "deutsch-5a", Title: "new", Weekly: []WeeklySlot{{Day: time.Tuesday, Start: 480, End: 525}}, CreatedBy: "import"},
			{Name: "englisch-5a", Title: "Englisch", CreatedBy: "import", ID: "ignored"},
		})
		if err != nil {
			t.Fatalf("ImportRooms: %v", err)
		}
		if res.Created != 1 || res.Updated != 1 || len(res.Rooms) != 2 {
			t.Fatalf("ImportRooms = %d created, %d updated, %d rooms; want 1, 1, 2", res.Created, res.Updated, len(res.Rooms))
		}
		upd := res.Rooms[0]
		if upd.ID != existing.ID || upd.Title != "new" || upd.Version != 2 || upd.CreatedBy != "admin" ||
			!upd.CreatedAt.Equal(existing.CreatedAt) || upd.LastEndedAt.IsZero() || len(upd.Weekly) != 1 {
			t.Errorf("updated room = %+v", upd)
		}
		created := res.Rooms[1]
		if created.ID == "ignored" || !roomIDPattern.MatchString(created.ID) || created.Version != 1 || created.CreatedBy != "import" {
			t.Errorf("created room = %+v", created)
		}
		if got, _ := s.RoomByName(ctx, "", "englisch-5a"); !reflect.DeepEqual(got, created) {
			t.Errorf("stored %+v, import returned %+v", got, created)
		}
	})
}

// TestImportAllOrNothing: one bad room anywhere in the input and nothing
// of the import is written, not even the rooms before it (already written
// inside the transaction).
func TestImportAllOrNothing(t *testing.T) {
	valid := func(name string) Room { return Room{Name: name, Title: "imported"} }
	tests := []struct {
		name      string
		rooms     []Room
		wantIndex int
		wantErr   error
	}{
		{"invalid last room", []Room{valid("a"), valid("existing"), valid("b"), {Name: ""}}, 3, ErrInvalid},
		{"invalid first room", []Room{{Name: "c", MaxOccupants: -5}, valid("a")}, 0, ErrInvalid},
		{"same room twice", []Room{valid("a"), valid("b"), valid("a")}, 2, ErrInvalid},
		{"invalid update of an existing room", []Room{valid("a"), {Name: "existing", Windows: []Window{{}}}}, 1, ErrInvalid},
	}
	forEachDriver(t, func(t *testing.T, d *testDB) {
		ctx := context.Background()
		s := d.open(t)
		existing, err := s.CreateRoom(ctx, Room{Name: "existing", Title: "before"})
		if err != nil {
			t.Fatal(err)
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				_, err := s.ImportRooms(ctx, tt.rooms)
				var ie *ImportError
				if !errors.As(err, &ie) || ie.Index != tt.wantIndex || !errors.Is(err, tt.wantErr) {
					t.Fatalf("ImportRooms: %v; want an ImportError for room %d wrapping %v", err, tt.wantIndex, tt.wantErr)
				}
				if !strings.Contains(err.Error(), fmt.Sprintf("import room %d ", tt.wantIndex+1)) {
					t.Errorf("error %q does not name room %d", err, tt.wantIndex+1)
				}
				rooms, err := s.ListRooms(ctx, RoomFilter{})
				if err != nil {
					t.Fatal(err)
				}
				if len(rooms) != 1 || !reflect.DeepEqual(rooms[0], existing) {
					t.Errorf("after a failed import the store holds %v, want only the untouched %v", rooms, existing)
				}
			})
		}
	})
}

func TestRecordMeetingEnded(t *testing.T) {
	forEachDriver(t, func(t *testing.T, d *testDB) {
		ctx := context.Background()
		s := d.open(t)
		r, err := s.CreateRoom(ctx, Room{Name: "musik"})
		if err != nil {
			t.Fatal(err)
		}
		at := time.Date(2026, 9, 14, 8, 47, 1, 999999999, time.FixedZone("x", 3600))
		if err := s.RecordMeetingEnded(ctx, r.ID, at); err != nil {
			t.Fatal(err)
		}
		got, err := s.Room(ctx, r.ID)
		if err != nil {
			t.Fatal(err)
		}
		if !got.LastEndedAt.Equal(truncTime(at)) || got.Version != r.Version || !got.UpdatedAt.Equal(r.UpdatedAt) {
			t.Errorf("after RecordMeetingEnded: ended %v (want %v), version %d (want %d), updated %v",
				got.LastEndedAt, truncTime(at), got.Version, r.Version, got.UpdatedAt)
		}
		if err := s.RecordMeetingEnded(ctx, "nosuchroom", at); !errors.Is(err, ErrNotFound) {
			t.Errorf("unknown room: %v, want ErrNotFound", err)
		}
	})
}

// TestPasswordRoundTripNeverPrinted: the password comes back byte for byte
// and no way of printing or logging a Room shows it.
func TestPasswordRoundTripNeverPrinted(t *testing.T) {
	forEachDriver(t, func(t *testing.T, d *testDB) {
		ctx := context.Background()
		s := d.open(t)
		for _, pw := range []string{"", "plain", `q"uo'te\ %_ ?`, "ünïcödé 🔒", strings.Repeat("x", 1000)} {
			r, err := s.CreateRoom(ctx, Room{Name: fmt.Sprintf("pw-%d", len(pw)), Password: pw})
			if err != nil {
				t.Fatal(err)
			}
			got, err := s.RoomByName(ctx, "", r.Name)
			if err != nil {
				t.Fatal(err)
			}
			if got.Password != pw {
				t.Errorf("password %q came back as %q", pw, got.Password)
			}
		}
		const secret = "do-not-print-me"
		r, err := s.CreateRoom(ctx, Room{Name: "secret", Password: secret})
		if err != nil {
			t.Fatal(err)
		}
		var logged bytes.Buffer
		slog.New(slog.NewJSONHandler(&logged, nil)).Info("room", "room", r)
		slog.New(slog.NewTextHandler(&logged, nil)).Info("room", "room", r)
		for name, out := range map[string]string{
			"%v": fmt.Sprintf("%v", r), "%+v": fmt.Sprintf("%+v", r), "%#v": fmt.Sprintf("%#v", r),
			"%s": fmt.Sprintf("%s", r), "error": fmt.Errorf("x: %v", r).Error(), "slog": logged.String(),
		} {
			if strings.Contains(out, secret) {
				t.Errorf("%s prints the password: %s", name, out)
			}
			if name != "slog" && !strings.Contains(out, "secret") {
				t.Errorf("%s does not print the room: %s", name, out)
			}
		}
	})
}
