// Package reservation answers Prosody's mod_reservations REST API, so that
// Jitsi itself creates only registered rooms, only inside their time
// windows, with the room's lobby, password and size, and closes the room
// when its window (plus a grace) ends.
//
// Prosody's side, as jitsi-meet's resources/prosody-plugins/mod_reservations.lua
// implements it and as running that module showed, in short:
//
//   - The first join of a room that does not exist yet makes Prosody
//     POST {prefix}/conference with a form body (fields in no fixed order,
//     every byte but [A-Za-z0-9] percent-encoded, space as '+'):
//     name (the MUC node, "[tenant]room" with a tenant, lower case),
//     start_time (now, "2006-01-02T15:04:05.000Z"), mail_owner (a random
//     JID under token auth: useless for deciding, so rooms are decided by
//     name). Its headers carry reservations_api_headers, here
//     "Authorization: Bearer <token>".
//   - 200 or 201 allows. The body must have name (equal to the node),
//     id, mail_owner, start_time and duration; Prosody keeps the room until
//     start_time+duration and destroys it within a minute after that. An
//     optional max_occupants must be an integer ≥ 1 and password a string,
//     or the whole answer is rejected. lobby is true or absent.
//   - Any other status denies; the user reads "Error code: N, message: M"
//     where M is the body's JSON "message". 5xx and connection failures are
//     retried (3 × 3 s), 4xx are not; a failure is cached for ~30-90 s.
//   - 409 {"conflict_id"} makes Prosody GET {prefix}/conference/{id}; this
//     handler never answers 409 but serves GET all the same.
//   - After the room is destroyed Prosody sends DELETE {prefix}/conference/{id}
//     (the id from our 200) and ignores the answer.
//   - Ids must be strings: lua-cjson turns JSON numbers into floats, so
//     101 would come back as /conference/101.0.
package reservation

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jitsi-gate/jitsi-gate/internal/schedule"
)

// Room is a registered room as the reservation API needs it.
type Room struct {
	// ID is the registry's stable id. It is sent to Prosody, which puts
	// it into the DELETE path unescaped, so it may only contain
	// A-Z a-z 0-9 . _ ~ - (the handler refuses to send anything else).
	ID string
	// Name is the backend-safe room name (room.Name.Safe).
	Name string
	// Tenant is the lower-case tenant, or "".
	Tenant string
	// Title names the room in messages ("Mathe 7b"); "" uses the room
	// name as typed.
	Title string
	// Owner is sent back as mail_owner (e.g. the organizer's mail); ""
	// sends back what Prosody sent.
	Owner string
	// Lobby, Password and MaxOccupants (0 = not set) go to Prosody when
	// set. The password is never logged.
	Lobby        bool
	Password     string
	MaxOccupants int
	// Schedule says when the room is open; the zero Schedule is always
	// open.
	Schedule schedule.Schedule
}

// ErrNotFound is what Rooms returns (possibly wrapped) for a room or id
// that is not in the registry.
var ErrNotFound = errors.New("room not registered")

// Rooms is the room registry as seen by the reservation API.
type Rooms interface {
	// Lookup finds a room by tenant ("" for none) and backend-safe name.
	Lookup(ctx context.Context, tenant, safeName string) (Room, error)
	// ByID finds a room by its id.
	ByID(ctx context.Context, id string) (Room, error)
	// Ended records that Prosody destroyed the room's meeting at at.
	Ended(ctx context.Context, id string, at time.Time) error
}

// Policy says what happens to rooms that are not in the registry.
type Policy string

const (
	// Deny refuses unregistered rooms (the default): only admin-created
	// rooms can exist.
	Deny Policy = "deny"
	// Allow lets unregistered rooms be created, for DefaultDuration.
	Allow Policy = "allow"
)

// Defaults for Options.
const (
	DefaultGrace    = 10 * time.Minute
	DefaultDuration = 24 * time.Hour
	// MaxBodyBytes bounds the POST body: a tenant, a 64-character name
	// and a JID, each up to three times longer once percent-encoded,
	// fit with room to spare.
	MaxBodyBytes = 16 << 10
)

// DefaultUnregisteredMessage is what users read when they try to open a
// room that is not registered.
const DefaultUnregisteredMessage = "There is no meeting room with this name. Please check the link you were given."

// ClosedMessage is the one place that words "this room is closed": title
// is the room's name for people, next the next occurrence (hasNext false
// when there is none). Prosody shows it to the user as the error message.
func ClosedMessage(title string, next schedule.Occurrence, hasNext bool) string {
	if !hasNext {
		return fmt.Sprintf("%s is closed and has no more scheduled times.", title)
	}
	start := next.Start
	return fmt.Sprintf("%s is closed now. It opens %s, %d %s %d at %s (%s).",
		title, start.Weekday(), start.Day(), start.Month(), start.Year(), start.Format("15:04"), start.Location())
}
