package store

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/base32"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"time"
)

// Room is a registered meeting room. The store assigns ID, CreatedAt,
// UpdatedAt and Version; the other fields are the caller's.
//
// Rules the store enforces (ErrInvalid otherwise):
//   - Name is not empty; Tenant, Name and Title contain no control
//     characters; Tenant+Name is unique (ErrConflict otherwise);
//   - every Window ends after it starts;
//   - every WeeklySlot has a Day in Sunday..Saturday and
//     0 <= Start < End <= 1440;
//   - ValidFrom and ValidUntil are empty or dates ("2006-01-02"), and
//     ValidFrom is not after ValidUntil;
//   - MaxOccupants and OpenEarly are not negative.
type Room struct {
	// ID is the store's random id (26 characters, a-z2-7): the id Prosody's
	// reservation module gets (it must be a string, not a number).
	ID string
	// Tenant is the Jitsi tenant ("" for none).
	Tenant string
	// Name is Jitsi's backend-safe room name, unique within the tenant.
	Name string
	// Title is the display name ("Mathe 7b").
	Title string
	// Organizers and Participants are usernames and "group:NAME" entries.
	// An empty Participants list means: whoever the rules let in.
	Organizers, Participants []string
	// Lobby, Password and MaxOccupants are handed to Prosody. Password is
	// plain text (Prosody needs it); String and LogValue redact it.
	Lobby        bool
	Password     string
	MaxOccupants int
	// Windows are one-off openings; Weekly are recurring slots in Timezone
	// (an IANA name, "" = the configured default), limited to the term
	// ValidFrom..ValidUntil (dates, either may be empty).
	Windows               []Window
	Weekly                []WeeklySlot
	Timezone              string
	ValidFrom, ValidUntil string
	// OpenEarly is how long before a window organizers may open the room.
	// Stored with millisecond precision.
	OpenEarly time.Duration
	CreatedBy string
	CreatedAt time.Time
	UpdatedAt time.Time
	// Version starts at 1 and grows by one with every update (ETag).
	Version int64
	// LastEndedAt is when Prosody last reported the meeting ended (zero:
	// never). Setting it does not change Version.
	LastEndedAt time.Time
}

// Window is a one-off opening of a room, [Start, End).
type Window struct {
	Start, End time.Time
}

// WeeklySlot is a recurring opening: on Day, from Start to End minutes
// after local midnight in the room's timezone (08:00-08:45 is 480, 525).
type WeeklySlot struct {
	Day        time.Weekday
	Start, End int
}

// minutesPerDay bounds WeeklySlot.End.
const minutesPerDay = 24 * 60

// dateLayout is the format of Room.ValidFrom and ValidUntil.
const dateLayout = "2006-01-02"

// roomRedacted is Room without the password, for printing and logging.
type roomRedacted Room

// String prints the room with its password redacted, so that a room that
// ends up in a log line or an error message does not leak it.
func (r Room) String() string {
	c := roomRedacted(r)
	if c.Password != "" {
		c.Password = "[redacted]"
	}
	return fmt.Sprintf("%+v", c)
}

// GoString is String, for %#v.
func (r Room) GoString() string { return r.String() }

// LogValue logs the room's identity, never its password.
func (r Room) LogValue() slog.Value {
	return slog.GroupValue(
		slog.String("id", r.ID),
		slog.String("tenant", r.Tenant),
		slog.String("name", r.Name),
		slog.Int64("version", r.Version),
	)
}

// RoomFilter selects rooms for ListRooms.
type RoomFilter struct {
	// Query, when not empty, keeps rooms whose name or title contains it
	// (case-insensitive).
	Query string
	// Tenant, when not nil, keeps the rooms of that tenant (pointer to ""
	// for the rooms without a tenant). nil means all tenants.
	Tenant *string
	// Limit is the most rooms returned (0: no limit); Offset skips that
	// many first. Rooms are ordered by tenant, then name.
	Limit, Offset int
}

// ImportResult reports what ImportRooms did.
type ImportResult struct {
	Created, Updated int
	// Rooms are the stored rooms, in input order, with their ids and
	// versions.
	Rooms []Room
}

// ImportError is the error of ImportRooms for one bad input room. It wraps
// the reason (ErrInvalid, ErrConflict or a database error). Nothing was
// written.
type ImportError struct {
	// Index is the position of the room in the input (0-based).
	Index        int
	Tenant, Name string
	Err          error
}

func (e *ImportError) Error() string {
	return fmt.Sprintf("import room %d (tenant %q, name %q): %v", e.Index+1, e.Tenant, e.Name, e.Err)
}

func (e *ImportError) Unwrap() error { return e.Err }

// roomColumns is the column list every room query selects, in scanRoom's
// order.
const roomColumns = `id, tenant, name, title, organizers, participants, lobby, password, max_occupants,
	one_off_windows, weekly_slots, timezone, valid_from, valid_until, open_early_ms,
	created_by, created_at, updated_at, version, last_ended_at`

// queries holds every fixed statement in the driver's placeholder syntax.
type queries struct {
	roomByID, roomByName, roomIDByName, roomVersion   string
	insertRoom, updateRoom, deleteRoom, deleteVersion string
	roomEnded                                         string
	insertSession, sessionByHash, revokeSession       string
	revokeUser, touchGroups, sessionRevokedAt         string
	deleteExpired                                     string
}

func buildQueries(driver string) queries {
	r := func(q string) string { return rebind(driver, q) }
	return queries{
		roomByID:     r(`SELECT ` + roomColumns + ` FROM rooms WHERE id = ?`),
		roomByName:   r(`SELECT ` + roomColumns + ` FROM rooms WHERE tenant = ? AND name = ?`),
		roomIDByName: r(`SELECT id, version FROM rooms WHERE tenant = ? AND name = ?`),
		roomVersion:  r(`SELECT version FROM rooms WHERE id = ?`),
		insertRoom: r(`INSERT INTO rooms (id, tenant, name, title, search_text, organizers, participants,
			lobby, password, max_occupants, one_off_windows, weekly_slots, timezone, valid_from,
			valid_until, open_early_ms, created_by, created_at, updated_at, version)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 1)
			RETURNING ` + roomColumns),
		updateRoom: r(`UPDATE rooms SET tenant = ?, name = ?, title = ?, search_text = ?,
			organizers = ?, participants = ?, lobby = ?, password = ?, max_occupants = ?,
			one_off_windows = ?, weekly_slots = ?, timezone = ?, valid_from = ?, valid_until = ?,
			open_early_ms = ?, updated_at = ?, version = version + 1
			WHERE id = ? AND version = ?
			RETURNING ` + roomColumns),
		deleteRoom:    r(`DELETE FROM rooms WHERE id = ?`),
		deleteVersion: r(`DELETE FROM rooms WHERE id = ? AND version = ?`),
		roomEnded:     r(`UPDATE rooms SET last_ended_at = ? WHERE id = ?`),

		insertSession: r(`INSERT INTO sessions (id_hash, backend, subject, username, group_list,
			created_at, expires_at, groups_checked_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)`),
		sessionByHash: r(`SELECT backend, subject, username, group_list, created_at, expires_at,
			groups_checked_at, revoked_at FROM sessions WHERE id_hash = ?`),
		revokeSession: r(`UPDATE sessions SET revoked_at = ? WHERE id_hash = ? AND revoked_at IS NULL`),
		revokeUser: r(`UPDATE sessions SET revoked_at = ?
			WHERE backend = ? AND subject = ? AND revoked_at IS NULL`),
		touchGroups: r(`UPDATE sessions SET group_list = ?, groups_checked_at = ?
			WHERE id_hash = ? AND revoked_at IS NULL`),
		sessionRevokedAt: r(`SELECT revoked_at FROM sessions WHERE id_hash = ?`),
		deleteExpired:    r(`DELETE FROM sessions WHERE expires_at < ?`),
	}
}

// newRoomID returns 128 random bits as 26 lower-case base32 characters:
// a string Prosody and URLs carry without escaping.
func newRoomID() string {
	var b [16]byte
	rand.Read(b[:]) // never fails (crypto/rand)
	return strings.ToLower(base32.StdEncoding.WithPadding(base32.NoPadding).EncodeToString(b[:]))
}

// validateRoom checks the rules documented on Room.
func validateRoom(r *Room) error {
	bad := func(format string, args ...any) error {
		return fmt.Errorf("%w room: %s", ErrInvalid, fmt.Sprintf(format, args...))
	}
	if r.Name == "" {
		return bad("name is empty")
	}
	for _, f := range [...]struct{ field, value string }{{"tenant", r.Tenant}, {"name", r.Name}, {"title", r.Title}} {
		if strings.ContainsFunc(f.value, isControl) {
			return bad("%s contains a control character", f.field)
		}
	}
	for i, w := range r.Windows {
		if w.Start.IsZero() || w.End.IsZero() {
			return bad("window %d: start and end are required", i+1)
		}
		if !w.End.After(w.Start) {
			return bad("window %d: end %s is not after start %s", i+1,
				w.End.UTC().Format(time.RFC3339), w.Start.UTC().Format(time.RFC3339))
		}
	}
	for i, sl := range r.Weekly {
		if sl.Day < time.Sunday || sl.Day > time.Saturday {
			return bad("weekly slot %d: day %d is not Sunday (0) to Saturday (6)", i+1, int(sl.Day))
		}
		if sl.Start < 0 || sl.End > minutesPerDay || sl.Start >= sl.End {
			return bad("weekly slot %d: want 0 <= start < end <= 1440 minutes, got %d-%d", i+1, sl.Start, sl.End)
		}
	}
	var from, until time.Time
	var err error
	if r.ValidFrom != "" {
		if from, err = time.Parse(dateLayout, r.ValidFrom); err != nil {
			return bad("valid_from %q is not a date (YYYY-MM-DD)", r.ValidFrom)
		}
	}
	if r.ValidUntil != "" {
		if until, err = time.Parse(dateLayout, r.ValidUntil); err != nil {
			return bad("valid_until %q is not a date (YYYY-MM-DD)", r.ValidUntil)
		}
	}
	if !from.IsZero() && !until.IsZero() && from.After(until) {
		return bad("valid_from %s is after valid_until %s", r.ValidFrom, r.ValidUntil)
	}
	if r.MaxOccupants < 0 {
		return bad("max_occupants %d is negative", r.MaxOccupants)
	}
	if r.OpenEarly < 0 {
		return bad("open_early %s is negative", r.OpenEarly)
	}
	return nil
}

func isControl(r rune) bool { return r < 0x20 || r == 0x7f || (r >= 0x80 && r < 0xa0) }

// Stored forms of the list columns.
type windowJSON struct {
	Start int64 `json:"start"`
	End   int64 `json:"end"`
}

type slotJSON struct {
	Day   int `json:"day"`
	Start int `json:"start"`
	End   int `json:"end"`
}

// roomArgs are the encoded values of a room's caller-owned columns.
type roomArgs struct {
	search, organizers, participants, windows, weekly string
	openEarlyMS                                       int64
}

func encodeRoom(r *Room) (roomArgs, error) {
	var a roomArgs
	var err error
	a.search = strings.ToLower(r.Name + "\n" + r.Title)
	if a.organizers, err = encodeList(r.Organizers); err != nil {
		return a, err
	}
	if a.participants, err = encodeList(r.Participants); err != nil {
		return a, err
	}
	ws := make([]windowJSON, len(r.Windows))
	for i, w := range r.Windows {
		ws[i] = windowJSON{Start: w.Start.UnixMicro(), End: w.End.UnixMicro()}
	}
	if a.windows, err = encodeJSON(ws); err != nil {
		return a, err
	}
	sl := make([]slotJSON, len(r.Weekly))
	for i, s := range r.Weekly {
		sl[i] = slotJSON{Day: int(s.Day), Start: s.Start, End: s.End}
	}
	if a.weekly, err = encodeJSON(sl); err != nil {
		return a, err
	}
	a.openEarlyMS = r.OpenEarly.Milliseconds()
	return a, nil
}

func encodeList(l []string) (string, error) {
	if l == nil {
		l = []string{}
	}
	return encodeJSON(l)
}

func encodeJSON(v any) (string, error) {
	b, err := json.Marshal(v)
	if err != nil {
		return "", fmt.Errorf("store: encode %T: %w", v, err)
	}
	return string(b), nil
}

// rowScanner is *sql.Row or *sql.Rows.
type rowScanner interface {
	Scan(dest ...any) error
}

// scanRoom reads the columns of roomColumns.
func scanRoom(row rowScanner) (Room, error) {
	var r Room
	var organizers, participants, windows, weekly string
	var openEarlyMS int64
	var createdAt, updatedAt, endedAt sql.NullInt64
	err := row.Scan(&r.ID, &r.Tenant, &r.Name, &r.Title, &organizers, &participants, &r.Lobby,
		&r.Password, &r.MaxOccupants, &windows, &weekly, &r.Timezone, &r.ValidFrom, &r.ValidUntil,
		&openEarlyMS, &r.CreatedBy, &createdAt, &updatedAt, &r.Version, &endedAt)
	if err != nil {
		return Room{}, err
	}
	r.CreatedAt, r.UpdatedAt, r.LastEndedAt = goTime(createdAt), goTime(updatedAt), goTime(endedAt)
	r.OpenEarly = time.Duration(openEarlyMS) * time.Millisecond
	if r.Organizers, err = decodeList(organizers); err != nil {
		return Room{}, fmt.Errorf("room %s organizers: %w", r.ID, err)
	}
	if r.Participants, err = decodeList(participants); err != nil {
		return Room{}, fmt.Errorf("room %s participants: %w", r.ID, err)
	}
	var ws []windowJSON
	if err := unmarshalList(windows, &ws); err != nil {
		return Room{}, fmt.Errorf("room %s windows: %w", r.ID, err)
	}
	for _, w := range ws {
		r.Windows = append(r.Windows, Window{Start: time.UnixMicro(w.Start).UTC(), End: time.UnixMicro(w.End).UTC()})
	}
	var sl []slotJSON
	if err := unmarshalList(weekly, &sl); err != nil {
		return Room{}, fmt.Errorf("room %s weekly slots: %w", r.ID, err)
	}
	for _, s := range sl {
		r.Weekly = append(r.Weekly, WeeklySlot{Day: time.Weekday(s.Day), Start: s.Start, End: s.End})
	}
	return r, nil
}

// decodeList decodes a JSON list; an empty list is nil.
func decodeList(s string) ([]string, error) {
	if s == "[]" {
		return nil, nil // the common case, without the decoder's cost
	}
	var l []string
	if err := json.Unmarshal([]byte(s), &l); err != nil {
		return nil, err
	}
	if len(l) == 0 {
		return nil, nil
	}
	return l, nil
}

// unmarshalList decodes a JSON list column; "[]" leaves v alone.
func unmarshalList(s string, v any) error {
	if s == "[]" {
		return nil
	}
	return json.Unmarshal([]byte(s), v)
}

// execer is what the room writes need: the write pool or a transaction.
type execer interface {
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
	ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error)
}

// CreateRoom stores a new room and returns it with its ID, CreatedAt,
// UpdatedAt and Version (1) set. r.ID must be empty. ErrConflict when the
// tenant already has a room of that name; ErrInvalid for a room that breaks
// the rules on Room.
func (s *Store) CreateRoom(ctx context.Context, r Room) (Room, error) {
	if r.ID != "" {
		return Room{}, fmt.Errorf("store: create room %q: %w room: the id is assigned by the store", r.Name, ErrInvalid)
	}
	out, err := s.insertRoom(ctx, s.write, r)
	if err != nil {
		return Room{}, fmt.Errorf("store: create room %q (tenant %q): %w", r.Name, r.Tenant, err)
	}
	return out, nil
}

func (s *Store) insertRoom(ctx context.Context, db execer, r Room) (Room, error) {
	if err := validateRoom(&r); err != nil {
		return Room{}, err
	}
	a, err := encodeRoom(&r)
	if err != nil {
		return Room{}, err
	}
	now := s.now().UnixMicro()
	out, err := scanRoom(db.QueryRowContext(ctx, s.q.insertRoom,
		newRoomID(), r.Tenant, r.Name, r.Title, a.search, a.organizers, a.participants,
		r.Lobby, r.Password, r.MaxOccupants, a.windows, a.weekly, r.Timezone, r.ValidFrom,
		r.ValidUntil, a.openEarlyMS, r.CreatedBy, now, now))
	if isUniqueViolation(err) {
		return Room{}, ErrConflict
	}
	return out, err
}

// Room returns the room with that id, or ErrNotFound.
func (s *Store) Room(ctx context.Context, id string) (Room, error) {
	r, err := scanRoom(s.queryRow(ctx, func(h *hotStatements) *sql.Stmt { return h.roomByID }, s.q.roomByID, id))
	if errors.Is(err, sql.ErrNoRows) {
		return Room{}, fmt.Errorf("store: room id %q: %w", id, ErrNotFound)
	}
	if err != nil {
		return Room{}, fmt.Errorf("store: read room id %q: %w", id, err)
	}
	return r, nil
}

// RoomByName returns the room of the tenant ("" for none) with that name,
// or ErrNotFound. This is the /join and reservation hot path: one indexed
// query.
func (s *Store) RoomByName(ctx context.Context, tenant, name string) (Room, error) {
	r, err := scanRoom(s.queryRow(ctx, func(h *hotStatements) *sql.Stmt { return h.roomByName }, s.q.roomByName, tenant, name))
	if errors.Is(err, sql.ErrNoRows) {
		return Room{}, fmt.Errorf("store: room %q (tenant %q): %w", name, tenant, ErrNotFound)
	}
	if err != nil {
		return Room{}, fmt.Errorf("store: read room %q (tenant %q): %w", name, tenant, err)
	}
	return r, nil
}

// ListRooms returns the rooms that match f, ordered by tenant and name.
func (s *Store) ListRooms(ctx context.Context, f RoomFilter) ([]Room, error) {
	if f.Limit < 0 || f.Offset < 0 {
		return nil, fmt.Errorf("store: list rooms: %w filter: negative limit or offset", ErrInvalid)
	}
	var where []string
	var args []any
	if f.Tenant != nil {
		where = append(where, "tenant = ?")
		args = append(args, *f.Tenant)
	}
	if f.Query != "" {
		where = append(where, `search_text LIKE ? ESCAPE '\'`)
		args = append(args, "%"+escapeLike(strings.ToLower(f.Query))+"%")
	}
	q := `SELECT ` + roomColumns + ` FROM rooms`
	if len(where) > 0 {
		q += " WHERE " + strings.Join(where, " AND ")
	}
	q += " ORDER BY tenant, name"
	if f.Limit > 0 {
		q += " LIMIT ?"
		args = append(args, f.Limit)
	}
	if f.Offset > 0 {
		if f.Limit == 0 {
			// SQLite has no OFFSET without LIMIT; -1 is its "no limit",
			// PostgreSQL's is ALL.
			if s.driver == DriverPostgres {
				q += " LIMIT ALL"
			} else {
				q += " LIMIT -1"
			}
		}
		q += " OFFSET ?"
		args = append(args, f.Offset)
	}
	rows, err := s.read.QueryContext(ctx, rebind(s.driver, q), args...)
	if err != nil {
		return nil, fmt.Errorf("store: list rooms: %w", err)
	}
	defer rows.Close()
	var out []Room
	for rows.Next() {
		r, err := scanRoom(rows)
		if err != nil {
			return nil, fmt.Errorf("store: list rooms: %w", err)
		}
		out = append(out, r)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("store: list rooms: %w", err)
	}
	return out, nil
}

// escapeLike escapes LIKE's wildcards so that the query matches literally.
func escapeLike(s string) string {
	return strings.NewReplacer(`\`, `\\`, `%`, `\%`, `_`, `\_`).Replace(s)
}

// UpdateRoom replaces the caller-owned fields of the room r.ID (everything
// but CreatedBy, CreatedAt, LastEndedAt) if its version is still
// expectedVersion, and returns the stored room (Version + 1, UpdatedAt now).
// ErrStale when the version differs, ErrNotFound when the room is gone,
// ErrConflict when the new tenant+name belongs to another room, ErrInvalid
// as for CreateRoom.
func (s *Store) UpdateRoom(ctx context.Context, r Room, expectedVersion int64) (Room, error) {
	out, err := s.updateRoom(ctx, s.write, r, expectedVersion)
	if err != nil {
		return Room{}, fmt.Errorf("store: update room %q: %w", r.ID, err)
	}
	return out, nil
}

func (s *Store) updateRoom(ctx context.Context, db execer, r Room, expectedVersion int64) (Room, error) {
	if err := validateRoom(&r); err != nil {
		return Room{}, err
	}
	a, err := encodeRoom(&r)
	if err != nil {
		return Room{}, err
	}
	out, err := scanRoom(db.QueryRowContext(ctx, s.q.updateRoom,
		r.Tenant, r.Name, r.Title, a.search, a.organizers, a.participants, r.Lobby, r.Password,
		r.MaxOccupants, a.windows, a.weekly, r.Timezone, r.ValidFrom, r.ValidUntil, a.openEarlyMS,
		s.now().UnixMicro(), r.ID, expectedVersion))
	switch {
	case err == nil:
		return out, nil
	case isUniqueViolation(err):
		return Room{}, ErrConflict
	case errors.Is(err, sql.ErrNoRows):
		return Room{}, s.staleOrMissing(ctx, db, r.ID, expectedVersion)
	default:
		return Room{}, err
	}
}

// staleOrMissing tells why a conditional write on room id matched no row.
func (s *Store) staleOrMissing(ctx context.Context, db execer, id string, expectedVersion int64) error {
	var current int64
	err := db.QueryRowContext(ctx, s.q.roomVersion, id).Scan(&current)
	switch {
	case errors.Is(err, sql.ErrNoRows):
		return ErrNotFound
	case err != nil:
		return err
	default:
		return fmt.Errorf("%w (version %d, expected %d)", ErrStale, current, expectedVersion)
	}
}

// DeleteRoom deletes the room with that id, whatever its version.
// ErrNotFound when there is none.
func (s *Store) DeleteRoom(ctx context.Context, id string) error {
	res, err := s.write.ExecContext(ctx, s.q.deleteRoom, id)
	if err != nil {
		return fmt.Errorf("store: delete room %q: %w", id, err)
	}
	if n, err := res.RowsAffected(); err != nil {
		return fmt.Errorf("store: delete room %q: %w", id, err)
	} else if n == 0 {
		return fmt.Errorf("store: delete room %q: %w", id, ErrNotFound)
	}
	return nil
}

// DeleteRoomVersion deletes the room with that id if its version is still
// expectedVersion (an If-Match delete). ErrStale or ErrNotFound otherwise.
func (s *Store) DeleteRoomVersion(ctx context.Context, id string, expectedVersion int64) error {
	res, err := s.write.ExecContext(ctx, s.q.deleteVersion, id, expectedVersion)
	if err != nil {
		return fmt.Errorf("store: delete room %q: %w", id, err)
	}
	if n, err := res.RowsAffected(); err != nil {
		return fmt.Errorf("store: delete room %q: %w", id, err)
	} else if n == 0 {
		return fmt.Errorf("store: delete room %q: %w", id, s.staleOrMissing(ctx, s.write, id, expectedVersion))
	}
	return nil
}

// RecordMeetingEnded sets the room's LastEndedAt (Prosody reported that the
// meeting ended). It leaves Version alone: the room's settings did not
// change, and an organizer's edit in progress must not become stale.
func (s *Store) RecordMeetingEnded(ctx context.Context, id string, at time.Time) error {
	if at.IsZero() {
		return fmt.Errorf("store: record meeting end of room %q: %w: no time", id, ErrInvalid)
	}
	res, err := s.write.ExecContext(ctx, s.q.roomEnded, at.UnixMicro(), id)
	if err != nil {
		return fmt.Errorf("store: record meeting end of room %q: %w", id, err)
	}
	if n, err := res.RowsAffected(); err != nil {
		return fmt.Errorf("store: record meeting end of room %q: %w", id, err)
	} else if n == 0 {
		return fmt.Errorf("store: record meeting end of room %q: %w", id, ErrNotFound)
	}
	return nil
}

// ImportRooms creates or updates many rooms in one transaction: all are
// written or none. Rooms are matched by tenant and name; the ID, Version
// and timestamps of the input are ignored. A matched room keeps its ID,
// CreatedBy, CreatedAt and LastEndedAt and gets the input's other fields
// (Version + 1); an unmatched one is created as by CreateRoom. The first bad
// room (a rule on Room broken, the same tenant+name twice in the input)
// aborts the import with an *ImportError naming it.
func (s *Store) ImportRooms(ctx context.Context, rooms []Room) (ImportResult, error) {
	tx, err := s.write.BeginTx(ctx, nil)
	if err != nil {
		return ImportResult{}, fmt.Errorf("store: import rooms: begin: %w", err)
	}
	defer rollback(tx)
	res := ImportResult{Rooms: make([]Room, 0, len(rooms))}
	type key struct{ tenant, name string }
	seen := make(map[key]int, len(rooms))
	for i, r := range rooms {
		fail := func(err error) (ImportResult, error) {
			return ImportResult{}, fmt.Errorf("store: %w", &ImportError{Index: i, Tenant: r.Tenant, Name: r.Name, Err: err})
		}
		k := key{r.Tenant, r.Name}
		if first, dup := seen[k]; dup {
			return fail(fmt.Errorf("%w room: the same tenant and name as room %d", ErrInvalid, first+1))
		}
		seen[k] = i
		var existingID string
		var version int64
		err := tx.QueryRowContext(ctx, s.q.roomIDByName, r.Tenant, r.Name).Scan(&existingID, &version)
		var stored Room
		switch {
		case errors.Is(err, sql.ErrNoRows):
			stored, err = s.insertRoom(ctx, tx, r)
			res.Created++
		case err != nil:
			return fail(err)
		default:
			r.ID = existingID
			stored, err = s.updateRoom(ctx, tx, r, version)
			res.Updated++
		}
		if err != nil {
			return fail(err)
		}
		res.Rooms = append(res.Rooms, stored)
	}
	if err := tx.Commit(); err != nil {
		return ImportResult{}, fmt.Errorf("store: import rooms: commit: %w", err)
	}
	return res, nil
}
