package store

import (
	"context"
	"crypto/rand"
	"database/sql"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"time"

	"github.com/jackc/pgx/v5/pgconn"
	"modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"
)

// Errors of an invite that exists but can no longer be used. InviteByCode
// and UseInvite return them with the record (for the log line); callers
// that show something to the guest must not tell them apart (no oracle).
var (
	ErrInviteRevoked = errors.New("invite revoked")
	ErrInviteExpired = errors.New("invite expired")
	ErrInviteUsedUp  = errors.New("invite used up")
)

// maxInviteUses bounds MaxUses: a link for a whole school's parents'
// evening stays far below it.
const maxInviteUses = 100000

// Invite is a link that lets people without an account into one room
// (docs/invites.md).
//
// The Code is a bearer secret (128 random bits, rand.Text): the store keeps
// only its SHA-256, so Code is known only from CreateInvite's result.
type Invite struct {
	ID     string
	RoomID string
	// Code is set only in CreateInvite's result.
	Code      string
	CreatedBy string
	CreatedAt time.Time
	// ExpiresAt is required; from then on the invite cannot be used.
	ExpiresAt time.Time
	// MaxUses is how many tokens the invite may give out; 0: no limit
	// until it expires.
	MaxUses int
	Uses    int
	// GuestName, when set, is the name every guest of this invite gets;
	// empty, the guest types one.
	GuestName string
	// Lobby: guests wait in the lobby until an organizer admits them.
	Lobby bool
	// RevokedAt is when the invite was revoked (zero: it was not).
	RevokedAt time.Time
}

// inviteRedacted is Invite without the code, for printing.
type inviteRedacted Invite

// String prints the invite with its code (a bearer secret) redacted.
func (i Invite) String() string {
	c := inviteRedacted(i)
	if c.Code != "" {
		c.Code = "[redacted]"
	}
	return fmt.Sprintf("%+v", c)
}

// GoString is String, for %#v.
func (i Invite) GoString() string { return i.String() }

// LogValue logs which invite it is, never its code.
func (i Invite) LogValue() slog.Value {
	return slog.GroupValue(slog.String("id", i.ID), slog.String("room_id", i.RoomID))
}

// inviteColumns is the column list every invite query selects, in
// scanInvite's order.
const inviteColumns = `id, room_id, created_by, created_at, expires_at, max_uses, uses, guest_name, lobby, revoked_at`

func scanInvite(row rowScanner) (Invite, error) {
	var inv Invite
	var created, expires, revoked sql.NullInt64
	err := row.Scan(&inv.ID, &inv.RoomID, &inv.CreatedBy, &created, &expires, &inv.MaxUses, &inv.Uses,
		&inv.GuestName, &inv.Lobby, &revoked)
	if err != nil {
		return Invite{}, err
	}
	inv.CreatedAt, inv.ExpiresAt, inv.RevokedAt = goTime(created), goTime(expires), goTime(revoked)
	return inv, nil
}

// inviteQuery writes an invite statement in the driver's placeholders.
// Invites are not on the /join path, so the statements are not prepared.
func (s *Store) inviteQuery(q string) string { return rebind(s.driver, q) }

// CreateInvite stores a new invite for inv.RoomID and returns it with a
// fresh ID, Code and CreatedAt (now); Uses and RevokedAt start empty.
// RoomID and ExpiresAt (after now) are required, MaxUses is 0 to 100000,
// GuestName has no control characters (ErrInvalid); a room that does not
// exist is ErrNotFound.
func (s *Store) CreateInvite(ctx context.Context, inv Invite) (Invite, error) {
	now := truncTime(s.now())
	bad := func(msg string) (Invite, error) {
		return Invite{}, fmt.Errorf("store: create invite: %w invite: %s", ErrInvalid, msg)
	}
	switch {
	case inv.ID != "" || inv.Code != "":
		return bad("the id and code are assigned by the store")
	case inv.RoomID == "":
		return bad("room_id is required")
	case inv.ExpiresAt.IsZero() || !truncTime(inv.ExpiresAt).After(now):
		return bad("expires_at must be in the future")
	case inv.MaxUses < 0 || inv.MaxUses > maxInviteUses:
		return bad(fmt.Sprintf("max_uses %d is not between 0 and %d", inv.MaxUses, maxInviteUses))
	case strings.ContainsFunc(inv.GuestName, isControl) || strings.ContainsFunc(inv.CreatedBy, isControl):
		return bad("guest_name and created_by must not contain control characters")
	}
	inv.ID = newRoomID()
	inv.Code = rand.Text()
	inv.CreatedAt = now
	inv.ExpiresAt = truncTime(inv.ExpiresAt)
	inv.Uses = 0
	inv.RevokedAt = time.Time{}
	_, err := s.write.ExecContext(ctx, s.inviteQuery(`INSERT INTO invites (id, room_id, code_hash, created_by,
		created_at, expires_at, max_uses, uses, guest_name, lobby) VALUES (?, ?, ?, ?, ?, ?, ?, 0, ?, ?)`),
		inv.ID, inv.RoomID, sessionKey(inv.Code), inv.CreatedBy, dbTime(inv.CreatedAt), dbTime(inv.ExpiresAt),
		inv.MaxUses, inv.GuestName, inv.Lobby)
	if err != nil {
		if isForeignKeyViolation(err) {
			return Invite{}, fmt.Errorf("store: create invite: room %s: %w", inv.RoomID, ErrNotFound)
		}
		return Invite{}, fmt.Errorf("store: create invite for room %s: %w", inv.RoomID, err)
	}
	return inv, nil
}

// ListInvites returns the invites of a room, newest first (revoked, used up
// and expired ones included: the organizer sees what happened).
func (s *Store) ListInvites(ctx context.Context, roomID string) ([]Invite, error) {
	rows, err := s.read.QueryContext(ctx, s.inviteQuery(`SELECT `+inviteColumns+` FROM invites
		WHERE room_id = ? ORDER BY created_at DESC, id`), roomID)
	if err != nil {
		return nil, fmt.Errorf("store: list invites of room %s: %w", roomID, err)
	}
	defer rows.Close()
	var out []Invite
	for rows.Next() {
		inv, err := scanInvite(rows)
		if err != nil {
			return nil, fmt.Errorf("store: list invites of room %s: %w", roomID, err)
		}
		out = append(out, inv)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("store: list invites of room %s: %w", roomID, err)
	}
	return out, nil
}

// Invite returns the invite with that id in that room (ErrNotFound when
// there is none: an id of another room's invite is not found).
func (s *Store) Invite(ctx context.Context, roomID, id string) (Invite, error) {
	inv, err := scanInvite(s.write.QueryRowContext(ctx, s.inviteQuery(`SELECT `+inviteColumns+` FROM invites
		WHERE id = ? AND room_id = ?`), id, roomID))
	if errors.Is(err, sql.ErrNoRows) {
		return Invite{}, fmt.Errorf("store: invite %s: %w", id, ErrNotFound)
	}
	if err != nil {
		return Invite{}, fmt.Errorf("store: read invite %s: %w", id, err)
	}
	return inv, nil
}

// RevokeInvite revokes an invite of a room; every process sharing the
// database refuses it from then on. Revoking it again does nothing (the
// first RevokedAt stays). It returns the invite as it is now; ErrNotFound
// when the room has no invite with that id.
func (s *Store) RevokeInvite(ctx context.Context, roomID, id string) (Invite, error) {
	_, err := s.write.ExecContext(ctx, s.inviteQuery(`UPDATE invites SET revoked_at = ?
		WHERE id = ? AND room_id = ? AND revoked_at IS NULL`), s.now().UnixMicro(), id, roomID)
	if err != nil {
		return Invite{}, fmt.Errorf("store: revoke invite %s: %w", id, err)
	}
	return s.Invite(ctx, roomID, id)
}

// InviteByCode returns the invite whose code this is, without using it.
// ErrNotFound when there is none; for one that cannot be used it returns
// the record AND ErrInviteRevoked, ErrInviteExpired or ErrInviteUsedUp (in
// that order), so a caller that only checks err != nil lets none through.
func (s *Store) InviteByCode(ctx context.Context, code string) (Invite, error) {
	inv, err := scanInvite(s.read.QueryRowContext(ctx, s.inviteQuery(`SELECT `+inviteColumns+` FROM invites
		WHERE code_hash = ?`), sessionKey(code)))
	if errors.Is(err, sql.ErrNoRows) {
		return Invite{}, fmt.Errorf("store: invite by code: %w", ErrNotFound)
	}
	if err != nil {
		return Invite{}, fmt.Errorf("store: read invite by code: %w", err)
	}
	if why := inv.Unusable(s.now()); why != nil {
		return inv, fmt.Errorf("store: invite %s: %w", inv.ID, why)
	}
	return inv, nil
}

// Unusable says why inv cannot be used at now (ErrInviteRevoked,
// ErrInviteExpired, ErrInviteUsedUp, in that order), or nil. UseInvite's
// UPDATE decides the same in SQL.
func (inv Invite) Unusable(now time.Time) error {
	switch {
	case !inv.RevokedAt.IsZero():
		return ErrInviteRevoked
	case !now.Before(inv.ExpiresAt):
		return ErrInviteExpired
	case inv.MaxUses > 0 && inv.Uses >= inv.MaxUses:
		return ErrInviteUsedUp
	}
	return nil
}

// UseInvite counts one use of the invite whose code this is and returns it
// (Uses includes this use). The check (not revoked, not expired, a use
// left) and the count are one UPDATE, so concurrent guests on any number
// of processes never get more than MaxUses tokens between them. Errors as
// InviteByCode's; nothing is counted then.
func (s *Store) UseInvite(ctx context.Context, code string) (Invite, error) {
	key := sessionKey(code)
	inv, err := scanInvite(s.write.QueryRowContext(ctx, s.inviteQuery(`UPDATE invites SET uses = uses + 1
		WHERE code_hash = ? AND revoked_at IS NULL AND expires_at > ? AND (max_uses = 0 OR uses < max_uses)
		RETURNING `+inviteColumns), key, s.now().UnixMicro()))
	if err == nil {
		return inv, nil
	}
	if !errors.Is(err, sql.ErrNoRows) {
		return Invite{}, fmt.Errorf("store: use invite: %w", err)
	}
	// Nothing counted: say why (for the log), reading what the UPDATE saw.
	inv, err = scanInvite(s.write.QueryRowContext(ctx, s.inviteQuery(`SELECT `+inviteColumns+` FROM invites
		WHERE code_hash = ?`), key))
	if errors.Is(err, sql.ErrNoRows) {
		return Invite{}, fmt.Errorf("store: use invite: %w", ErrNotFound)
	}
	if err != nil {
		return Invite{}, fmt.Errorf("store: use invite: %w", err)
	}
	why := inv.Unusable(s.now())
	if why == nil {
		// The clock moved between the two statements; the UPDATE's
		// answer stands.
		why = ErrInviteExpired
	}
	return inv, fmt.Errorf("store: use invite %s: %w", inv.ID, why)
}

// isForeignKeyViolation reports whether err is a FOREIGN KEY constraint
// failure in either dialect (an invite for a room that does not exist).
func isForeignKeyViolation(err error) bool {
	var se *sqlite.Error
	if errors.As(err, &se) {
		return se.Code() == sqlite3.SQLITE_CONSTRAINT_FOREIGNKEY
	}
	var pe *pgconn.PgError
	if errors.As(err, &pe) {
		return pe.Code == "23503" // foreign_key_violation
	}
	return false
}
