package store

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"
)

// newInviteRoom stores a room for the invite tests.
func newInviteRoom(t *testing.T, s *Store, name string) Room {
	t.Helper()
	r, err := s.CreateRoom(context.Background(), Room{Name: name})
	if err != nil {
		t.Fatalf("CreateRoom %s: %v", name, err)
	}
	return r
}

func TestInviteLifecycle(t *testing.T) {
	forEachDriver(t, func(t *testing.T, d *testDB) {
		ctx := context.Background()
		s := d.open(t)
		rm := newInviteRoom(t, s, "elternabend")
		expires := d.clock.Now().Add(72 * time.Hour)
		inv, err := s.CreateInvite(ctx, Invite{RoomID: rm.ID, CreatedBy: "demo:teacher1", ExpiresAt: expires,
			MaxUses: 2, GuestName: "Familie Müller", Lobby: true})
		if err != nil {
			t.Fatalf("CreateInvite: %v", err)
		}
		if !roomIDPattern.MatchString(inv.ID) {
			t.Errorf("invite id %q: want 26 base32 characters", inv.ID)
		}
		if len(inv.Code) != 26 || strings.ToUpper(inv.Code) != inv.Code {
			t.Errorf("invite code %q: want rand.Text (26 base32 characters, 128 bits)", inv.Code)
		}
		if !inv.CreatedAt.Equal(truncTime(d.clock.Now())) || !inv.ExpiresAt.Equal(truncTime(expires)) || inv.Uses != 0 {
			t.Errorf("created invite: %+v", inv)
		}

		got, err := s.InviteByCode(ctx, inv.Code)
		if err != nil {
			t.Fatalf("InviteByCode: %v", err)
		}
		want := inv
		want.Code = ""
		if got != want {
			t.Errorf("InviteByCode =\n%+v\nwant\n%+v", got, want)
		}
		if _, err := s.InviteByCode(ctx, strings.ToLower(inv.Code)); !errors.Is(err, ErrNotFound) {
			t.Errorf("InviteByCode with a changed code: %v, want ErrNotFound", err)
		}

		for i := 1; i <= 2; i++ {
			used, err := s.UseInvite(ctx, inv.Code)
			if err != nil || used.Uses != i {
				t.Fatalf("use %d: %+v, %v", i, used, err)
			}
		}
		if used, err := s.UseInvite(ctx, inv.Code); !errors.Is(err, ErrInviteUsedUp) || used.Uses != 2 {
			t.Errorf("third use: %+v, %v; want the record and ErrInviteUsedUp", used, err)
		}
		if _, err := s.InviteByCode(ctx, inv.Code); !errors.Is(err, ErrInviteUsedUp) {
			t.Errorf("InviteByCode of a used-up invite: %v", err)
		}

		list, err := s.ListInvites(ctx, rm.ID)
		if err != nil || len(list) != 1 || list[0].ID != inv.ID || list[0].Uses != 2 || list[0].Code != "" {
			t.Errorf("ListInvites = %+v, %v", list, err)
		}
		if other, err := s.ListInvites(ctx, newInviteRoom(t, s, "other").ID); err != nil || len(other) != 0 {
			t.Errorf("ListInvites of a room without invites = %+v, %v", other, err)
		}
	})
}

func TestInviteRevokeAndExpiry(t *testing.T) {
	forEachDriver(t, func(t *testing.T, d *testDB) {
		ctx := context.Background()
		s := d.open(t)
		rm := newInviteRoom(t, s, "vortrag")
		other := newInviteRoom(t, s, "other")
		revoked, err := s.CreateInvite(ctx, Invite{RoomID: rm.ID, ExpiresAt: d.clock.Now().Add(time.Hour)})
		if err != nil {
			t.Fatal(err)
		}
		short, err := s.CreateInvite(ctx, Invite{RoomID: rm.ID, ExpiresAt: d.clock.Now().Add(time.Minute)})
		if err != nil {
			t.Fatal(err)
		}

		if _, err := s.RevokeInvite(ctx, other.ID, revoked.ID); !errors.Is(err, ErrNotFound) {
			t.Errorf("revoking through another room: %v, want ErrNotFound", err)
		}
		if _, err := s.UseInvite(ctx, revoked.Code); err != nil {
			t.Errorf("use before revoking: %v", err)
		}
		d.clock.Advance(time.Second)
		got, err := s.RevokeInvite(ctx, rm.ID, revoked.ID)
		at := truncTime(d.clock.Now())
		if err != nil || !got.RevokedAt.Equal(at) {
			t.Fatalf("RevokeInvite = %+v, %v", got, err)
		}
		d.clock.Advance(time.Second)
		if again, err := s.RevokeInvite(ctx, rm.ID, revoked.ID); err != nil || !again.RevokedAt.Equal(at) {
			t.Errorf("second revoke: %+v, %v; want the first RevokedAt", again, err)
		}
		if inv, err := s.UseInvite(ctx, revoked.Code); !errors.Is(err, ErrInviteRevoked) || inv.Uses != 1 {
			t.Errorf("use after revoking: %+v, %v", inv, err)
		}
		if _, err := s.RevokeInvite(ctx, rm.ID, "nosuchinvite"); !errors.Is(err, ErrNotFound) {
			t.Errorf("revoke unknown: %v", err)
		}

		d.clock.Advance(time.Minute - 2*time.Second - time.Microsecond)
		if _, err := s.UseInvite(ctx, short.Code); err != nil {
			t.Errorf("a microsecond before expiry: %v", err)
		}
		d.clock.Advance(time.Microsecond)
		if inv, err := s.UseInvite(ctx, short.Code); !errors.Is(err, ErrInviteExpired) || inv.Uses != 1 {
			t.Errorf("at expiry: %+v, %v", inv, err)
		}
		if _, err := s.UseInvite(ctx, "NOSUCHCODE"); !errors.Is(err, ErrNotFound) {
			t.Errorf("unknown code: %v", err)
		}

		// Deleting the room deletes its invites.
		if err := s.DeleteRoom(ctx, rm.ID); err != nil {
			t.Fatal(err)
		}
		if _, err := s.InviteByCode(ctx, short.Code); !errors.Is(err, ErrNotFound) {
			t.Errorf("invite of a deleted room: %v, want ErrNotFound", err)
		}
	})
}

func TestCreateInviteValidation(t *testing.T) {
	forEachDriver(t, func(t *testing.T, d *testDB) {
		ctx := context.Background()
		s := d.open(t)
		rm := newInviteRoom(t, s, "mathe")
		future := d.clock.Now().Add(time.Hour)
		for _, tt := range []struct {
			name string
			in   Invite
			want error
		}{
			{"no room", Invite{ExpiresAt: future}, ErrInvalid},
			{"no expiry", Invite{RoomID: rm.ID}, ErrInvalid},
			{"expiry now", Invite{RoomID: rm.ID, ExpiresAt: d.clock.Now()}, ErrInvalid},
			{"negative uses", Invite{RoomID: rm.ID, ExpiresAt: future, MaxUses: -1}, ErrInvalid},
			{"too many uses", Invite{RoomID: rm.ID, ExpiresAt: future, MaxUses: maxInviteUses + 1}, ErrInvalid},
			{"control character", Invite{RoomID: rm.ID, ExpiresAt: future, GuestName: "a\nb"}, ErrInvalid},
			{"code given", Invite{RoomID: rm.ID, ExpiresAt: future, Code: "X"}, ErrInvalid},
			{"unknown room", Invite{RoomID: "nosuchroom", ExpiresAt: future}, ErrNotFound},
		} {
			t.Run(tt.name, func(t *testing.T) {
				if _, err := s.CreateInvite(ctx, tt.in); !errors.Is(err, tt.want) {
					t.Errorf("CreateInvite: %v, want %v", err, tt.want)
				}
			})
		}
		if list, _ := s.ListInvites(ctx, rm.ID); len(list) != 0 {
			t.Errorf("refused invites were stored: %+v", list)
		}
	})
}

// TestParallelRedemptionsNeverExceedMaxUses: guests racing for the last
// uses, through two handles (two replicas), get exactly MaxUses tokens.
func TestParallelRedemptionsNeverExceedMaxUses(t *testing.T) {
	forEachDriver(t, func(t *testing.T, d *testDB) {
		ctx := context.Background()
		s1, s2 := d.open(t), d.open(t)
		rm := newInviteRoom(t, s1, "sprechtag")
		const maxUses, guests = 5, 40
		inv, err := s1.CreateInvite(ctx, Invite{RoomID: rm.ID, ExpiresAt: d.clock.Now().Add(time.Hour), MaxUses: maxUses})
		if err != nil {
			t.Fatal(err)
		}
		errs := make([]error, guests)
		var wg sync.WaitGroup
		start := make(chan struct{})
		for i := range guests {
			wg.Go(func() {
				s := s1
				if i%2 == 1 {
					s = s2
				}
				<-start
				_, errs[i] = s.UseInvite(ctx, inv.Code)
			})
		}
		close(start)
		wg.Wait()
		ok := 0
		for i, err := range errs {
			switch {
			case err == nil:
				ok++
			case !errors.Is(err, ErrInviteUsedUp):
				t.Errorf("guest %d: %v, want nil or ErrInviteUsedUp", i, err)
			}
		}
		if ok != maxUses {
			t.Errorf("%d of %d guests got in, want exactly %d", ok, guests, maxUses)
		}
		if got, _ := s2.Invite(ctx, rm.ID, inv.ID); got.Uses != maxUses {
			t.Errorf("uses = %d, want %d", got.Uses, maxUses)
		}
	})
}

func TestInviteCodeStoredHashedAndNeverPrinted(t *testing.T) {
	forEachDriver(t, func(t *testing.T, d *testDB) {
		ctx := context.Background()
		s := d.open(t)
		rm := newInviteRoom(t, s, "hashed")
		inv, err := s.CreateInvite(ctx, Invite{RoomID: rm.ID, ExpiresAt: d.clock.Now().Add(time.Hour)})
		if err != nil {
			t.Fatal(err)
		}
		var stored string
		if err := s.read.QueryRowContext(ctx, s.inviteQuery(`SELECT code_hash FROM invites WHERE id = ?`), inv.ID).Scan(&stored); err != nil {
			t.Fatal(err)
		}
		if stored != sessionKey(inv.Code) || strings.Contains(stored, inv.Code) {
			t.Errorf("stored %q, want the SHA-256 of the code only", stored)
		}
		var buf bytes.Buffer
		slog.New(slog.NewTextHandler(&buf, nil)).Info("x", "invite", inv)
		for _, printed := range []string{inv.String(), fmt.Sprintf("%v %+v %#v", inv, inv, inv), buf.String()} {
			if strings.Contains(printed, inv.Code) {
				t.Errorf("the code is printed: %s", printed)
			}
		}
	})
}
