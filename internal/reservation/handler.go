package reservation

import (
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"mime"
	"net/http"
	"strings"
	"time"

	"github.com/jitsi-gate/jitsi-gate/internal/room"
	"github.com/jitsi-gate/jitsi-gate/internal/schedule"
)

// Options configure the handler.
type Options struct {
	// Token is the shared secret Prosody sends as "Authorization: Bearer
	// <token>" (reservations_api_headers). Required.
	Token string
	// Prefix is the URL path in front of /conference, e.g.
	// "/reservations" (no trailing slash); "" serves /conference.
	Prefix string
	// Rooms is the registry. Required.
	Rooms Rooms
	// Log receives one audit line per request. Required.
	Log *slog.Logger
	// Now is the clock; nil means time.Now.
	Now func() time.Time
	// Grace is added to the end of a window, so that Prosody does not
	// close a running lesson on the minute; 0 means DefaultGrace,
	// negative means none.
	Grace time.Duration
	// DefaultDuration is how long rooms without a window (always-open
	// registered rooms, and unregistered ones under Allow) are reserved
	// for; 0 means DefaultDuration.
	DefaultDuration time.Duration
	// UnregisteredRooms is Deny (the default, also for "") or Allow.
	UnregisteredRooms Policy
	// UnregisteredMessage is what users read for an unregistered room
	// under Deny; "" means DefaultUnregisteredMessage.
	UnregisteredMessage string
	// Closed words the message for a room outside its window; nil means
	// ClosedMessage.
	Closed func(title string, next schedule.Occurrence, hasNext bool) string
	// Observe, when set, is told the decision (one of the Decision*
	// constants) of every answer to a reservation request (POST, and the
	// GET Prosody sends after a 409): the gateway's metrics, without this
	// package knowing them. Malformed requests and DELETEs decide nothing
	// and are not reported. It must be safe for concurrent use.
	Observe func(decision string)
}

// Decisions reported to Options.Observe; the same words as the decision
// label of the gateway's metrics.
const (
	DecisionAllowed             = "allowed"
	DecisionAllowedUnregistered = "allowed_unregistered"
	DecisionClosed              = "closed"
	DecisionUnregistered        = "unregistered"
	DecisionUnauthorized        = "unauthorized"
	DecisionError               = "error"
)

// decisions maps the audit line's reason to the decision it is; reasons
// not listed decided nothing (a bad form, an unknown path, a DELETE).
var decisions = map[string]string{
	reasonUnauthorized:        DecisionUnauthorized,
	reasonNoSchedule:          DecisionAllowed,
	reasonInWindow:            DecisionAllowed,
	reasonOpenEarly:           DecisionAllowed,
	reasonUnregisteredAllowed: DecisionAllowedUnregistered,
	reasonClosed:              DecisionClosed,
	reasonUnregistered:        DecisionUnregistered,
	reasonRegistryFailed:      DecisionError,
	reasonBadRegistryID:       DecisionError,
}

// The audit reasons that are decisions.
const (
	reasonUnauthorized        = "missing or wrong token"
	reasonNoSchedule          = "registered room, no schedule"
	reasonInWindow            = "inside the room's window"
	reasonOpenEarly           = "organizers' open-early margin"
	reasonUnregisteredAllowed = "unregistered room allowed"
	reasonClosed              = "outside the room's window"
	reasonUnregistered        = "unregistered room"
	reasonRegistryFailed      = "registry lookup failed"
	reasonBadRegistryID       = "bad registry id"
)

// unregisteredIDPrefix marks the ids given to unregistered rooms (under
// Allow), so a later DELETE is recognised without a registry entry.
const unregisteredIDPrefix = "unregistered-"

// startTimeLayout is the start_time form mod_reservations itself sends
// ("2026-09-07T06:00:00.000Z"), always in UTC.
const startTimeLayout = "2006-01-02T15:04:05.000Z"

type handler struct {
	opts      Options
	tokenHash [sha256.Size]byte
}

// New checks opts and returns the handler for POST {Prefix}/conference,
// GET {Prefix}/conference/{id} and DELETE {Prefix}/conference/{id}.
func New(opts Options) (http.Handler, error) {
	switch {
	case opts.Token == "":
		return nil, errors.New("reservation: no token configured; Prosody's requests could not be authenticated")
	case opts.Rooms == nil:
		return nil, errors.New("reservation: no room registry")
	case opts.Log == nil:
		return nil, errors.New("reservation: no logger")
	case opts.Prefix != "" && (!strings.HasPrefix(opts.Prefix, "/") || strings.HasSuffix(opts.Prefix, "/")):
		return nil, fmt.Errorf("reservation: prefix %q must start with '/' and not end with one", opts.Prefix)
	}
	switch opts.UnregisteredRooms {
	case "":
		opts.UnregisteredRooms = Deny
	case Deny, Allow:
	default:
		return nil, fmt.Errorf("reservation: unregistered rooms policy %q: use %q or %q", opts.UnregisteredRooms, Deny, Allow)
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	switch {
	case opts.Grace == 0:
		opts.Grace = DefaultGrace
	case opts.Grace < 0:
		opts.Grace = 0
	}
	if opts.DefaultDuration <= 0 {
		opts.DefaultDuration = DefaultDuration
	}
	if opts.UnregisteredMessage == "" {
		opts.UnregisteredMessage = DefaultUnregisteredMessage
	}
	if opts.Closed == nil {
		opts.Closed = ClosedMessage
	}
	return &handler{opts: opts, tokenHash: sha256.Sum256([]byte(opts.Token))}, nil
}

// conference is the 200 body Prosody's parse_conference_response reads.
type conference struct {
	ID        string `json:"id"`
	Name      string `json:"name"`
	MailOwner string `json:"mail_owner"`
	StartTime string `json:"start_time"`
	// Duration is whole seconds: a JSON integer.
	Duration     int64  `json:"duration"`
	Lobby        bool   `json:"lobby,omitempty"`
	Password     string `json:"password,omitempty"`
	MaxOccupants int    `json:"max_occupants,omitempty"`
}

type message struct {
	Message string `json:"message"`
}

// audit collects the fields of the one log line a request produces.
type audit struct {
	attrs []any
}

func (a *audit) add(kv ...any) { a.attrs = append(a.attrs, kv...) }

func (h *handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	a := &audit{attrs: make([]any, 0, 24)}
	a.add("method", r.Method, "path", r.URL.Path, "client", r.RemoteAddr)
	status, reason := h.serve(w, r, a)
	a.add("status", status, "reason", reason)
	level := slog.LevelInfo
	switch {
	case status >= 500:
		level = slog.LevelError
	case status == http.StatusUnauthorized:
		level = slog.LevelWarn
	}
	h.opts.Log.Log(r.Context(), level, "reservation", a.attrs...)
	if d, ok := decisions[reason]; ok && h.opts.Observe != nil {
		h.opts.Observe(d)
	}
}

// serve answers r and returns the status and a short reason for the audit
// line.
func (h *handler) serve(w http.ResponseWriter, r *http.Request, a *audit) (int, string) {
	if !h.authorized(r.Header.Get("Authorization")) {
		w.Header().Set("WWW-Authenticate", `Bearer realm="jitsi-gate reservations"`)
		return writeMessage(w, http.StatusUnauthorized, "This request needs the reservation API token."), reasonUnauthorized
	}
	rest, ok := strings.CutPrefix(r.URL.Path, h.opts.Prefix+"/conference")
	switch {
	case !ok:
		return writeMessage(w, http.StatusNotFound, "Not found."), "unknown path"
	case rest == "":
		if r.Method != http.MethodPost {
			w.Header().Set("Allow", http.MethodPost)
			return writeMessage(w, http.StatusMethodNotAllowed, "Use POST."), "method not allowed"
		}
		return h.create(w, r, a)
	case strings.HasPrefix(rest, "/") && len(rest) > 1 && !strings.Contains(rest[1:], "/"):
		id := rest[1:]
		a.add("id", id)
		switch r.Method {
		case http.MethodGet:
			return h.get(w, r, id, a)
		case http.MethodDelete:
			return h.end(w, r, id, a)
		}
		w.Header().Set("Allow", "GET, DELETE")
		return writeMessage(w, http.StatusMethodNotAllowed, "Use GET or DELETE."), "method not allowed"
	}
	return writeMessage(w, http.StatusNotFound, "Not found."), "unknown path"
}

// authorized compares the bearer token in constant time (hashes first, so
// not even the token's length leaks).
func (h *handler) authorized(header string) bool {
	scheme, token, ok := strings.Cut(header, " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") {
		return false
	}
	token = strings.TrimLeft(token, " ")
	got := sha256.Sum256([]byte(token))
	return token != "" && subtle.ConstantTimeCompare(got[:], h.tokenHash[:]) == 1
}

// create answers POST /conference: may Prosody create this room now?
func (h *handler) create(w http.ResponseWriter, r *http.Request, a *audit) (int, string) {
	if ct, _, err := mime.ParseMediaType(r.Header.Get("Content-Type")); err != nil || ct != "application/x-www-form-urlencoded" {
		return writeMessage(w, http.StatusUnsupportedMediaType, "Send the form as application/x-www-form-urlencoded."), "wrong content type"
	}
	r.Body = http.MaxBytesReader(w, r.Body, MaxBodyBytes)
	if err := r.ParseForm(); err != nil {
		if _, tooBig := errors.AsType[*http.MaxBytesError](err); tooBig {
			return writeMessage(w, http.StatusRequestEntityTooLarge, "The request is too large."), "body too large"
		}
		return writeMessage(w, http.StatusBadRequest, "The form could not be read."), "bad form: " + err.Error()
	}
	node := r.PostForm.Get("name")
	prosodyOwner := r.PostForm.Get("mail_owner")
	a.add("name", node, "start_time", r.PostForm.Get("start_time"), "mail_owner", prosodyOwner)
	if node == "" {
		return writeMessage(w, http.StatusBadRequest, "The room name is missing."), "no name"
	}
	now := h.opts.Now()

	tenant, safe, err := splitNode(node)
	if err != nil {
		a.add("name_problem", err.Error())
		return h.unregistered(w, node, prosodyOwner, now, a)
	}
	a.add("tenant", tenant, "room", safe)
	rm, err := h.opts.Rooms.Lookup(r.Context(), tenant, safe)
	switch {
	case errors.Is(err, ErrNotFound):
		return h.unregistered(w, node, prosodyOwner, now, a)
	case err != nil:
		a.add("error", err.Error())
		return writeMessage(w, http.StatusServiceUnavailable, "The room registry is not available right now. Please try again in a minute."), reasonRegistryFailed
	}
	return h.decide(w, rm, node, prosodyOwner, now, a)
}

// get answers GET /conference/{id}, which Prosody sends only after a 409;
// it gets the same answer a POST for that room would get now.
func (h *handler) get(w http.ResponseWriter, r *http.Request, id string, a *audit) (int, string) {
	now := h.opts.Now()
	rm, err := h.opts.Rooms.ByID(r.Context(), id)
	switch {
	case errors.Is(err, ErrNotFound):
		if node, ok := unregisteredNode(id); ok && h.opts.UnregisteredRooms == Allow {
			a.add("name", node)
			return h.unregistered(w, node, "", now, a)
		}
		return writeMessage(w, http.StatusNotFound, "There is no reservation with this id."), "unknown id"
	case err != nil:
		a.add("error", err.Error())
		return writeMessage(w, http.StatusServiceUnavailable, "The room registry is not available right now. Please try again in a minute."), reasonRegistryFailed
	}
	node := rm.Name
	if rm.Tenant != "" {
		node = "[" + rm.Tenant + "]" + rm.Name
	}
	a.add("name", node, "tenant", rm.Tenant, "room", rm.Name)
	return h.decide(w, rm, node, "", now, a)
}

// end answers DELETE /conference/{id}: the meeting is over.
func (h *handler) end(w http.ResponseWriter, r *http.Request, id string, a *audit) (int, string) {
	now := h.opts.Now()
	err := h.opts.Rooms.Ended(r.Context(), id, now)
	switch {
	case errors.Is(err, ErrNotFound):
		if node, ok := unregisteredNode(id); ok {
			a.add("name", node)
			w.WriteHeader(http.StatusNoContent)
			return http.StatusNoContent, "unregistered meeting ended"
		}
		return writeMessage(w, http.StatusNotFound, "There is no reservation with this id."), "unknown id"
	case err != nil:
		a.add("error", err.Error())
		return writeMessage(w, http.StatusInternalServerError, "The end of the meeting could not be recorded."), "recording the end failed"
	}
	w.WriteHeader(http.StatusNoContent)
	return http.StatusNoContent, "meeting ended"
}

// decide answers for a registered room: inside its window (organizers'
// open-early margin included, since only they get a token that early),
// reserve it until the window ends plus the grace; outside, refuse and
// name the next slot.
func (h *handler) decide(w http.ResponseWriter, rm Room, node, prosodyOwner string, now time.Time, a *audit) (int, string) {
	if !validID(rm.ID) {
		a.add("error", fmt.Sprintf("registry id %q is empty or not URL-safe", rm.ID))
		return writeMessage(w, http.StatusInternalServerError, "The room registry returned an unusable room id."), reasonBadRegistryID
	}
	a.add("id", rm.ID)
	body := conference{
		ID:        rm.ID,
		Name:      node,
		MailOwner: firstNonEmpty(rm.Owner, prosodyOwner, "jitsi-gate"),
		Lobby:     rm.Lobby,
		Password:  rm.Password,
	}
	if rm.MaxOccupants >= 1 {
		body.MaxOccupants = rm.MaxOccupants
	}
	a.add("lobby", rm.Lobby, "password_set", rm.Password != "", "max_occupants", body.MaxOccupants)

	if rm.Schedule.Unrestricted() {
		return h.reserve(w, body, now, h.opts.DefaultDuration, a), reasonNoSchedule
	}
	occ, open := rm.Schedule.AtOrganizer(now)
	if !open {
		next, hasNext := rm.Schedule.Next(now)
		if hasNext {
			a.add("next", next.Start.UTC().Format(time.RFC3339))
		}
		return writeMessage(w, http.StatusForbidden, h.opts.Closed(title(rm), next, hasNext)), reasonClosed
	}
	reason := reasonInWindow
	if now.Before(occ.Start) {
		reason = reasonOpenEarly
	}
	return h.reserve(w, body, occ.Start, occ.End.Add(h.opts.Grace).Sub(occ.Start), a), reason
}

// unregistered answers for a room that is not in the registry.
func (h *handler) unregistered(w http.ResponseWriter, node, prosodyOwner string, now time.Time, a *audit) (int, string) {
	if h.opts.UnregisteredRooms != Allow {
		return writeMessage(w, http.StatusForbidden, h.opts.UnregisteredMessage), reasonUnregistered
	}
	id := unregisteredIDPrefix + base64.RawURLEncoding.EncodeToString([]byte(node))
	a.add("id", id)
	body := conference{ID: id, Name: node, MailOwner: firstNonEmpty(prosodyOwner, "jitsi-gate")}
	return h.reserve(w, body, now, h.opts.DefaultDuration, a), reasonUnregisteredAllowed
}

// reserve writes the 200 body for a reservation from start lasting d.
func (h *handler) reserve(w http.ResponseWriter, body conference, start time.Time, d time.Duration, a *audit) int {
	body.StartTime = start.UTC().Format(startTimeLayout)
	// Whole seconds, rounded up: Prosody loses the milliseconds of
	// start_time, so rounding down could end the room early.
	body.Duration = int64(math.Ceil(d.Seconds()))
	a.add("decision", "allow", "reserved_from", body.StartTime, "duration_s", body.Duration)
	return writeJSON(w, http.StatusOK, body)
}

func writeMessage(w http.ResponseWriter, status int, msg string) int {
	return writeJSON(w, status, message{Message: msg})
}

func writeJSON(w http.ResponseWriter, status int, v any) int {
	b, err := json.Marshal(v)
	if err != nil {
		// Only plain structs of strings and numbers are marshalled here.
		panic(fmt.Sprintf("reservation: marshal %T: %v", v, err))
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	_, _ = w.Write(b)
	return status
}

// splitNode splits Prosody's room node into tenant and backend-safe name
// ("[tenant]room" with a tenant) and checks that both are what Jitsi
// computes for a real room: a node that is not (e.g. "a%41", which no
// client produces) cannot be a registered room.
func splitNode(node string) (tenant, safe string, err error) {
	safe = node
	if strings.HasPrefix(node, "[") {
		t, r, ok := strings.Cut(node[1:], "]")
		if !ok {
			return "", "", errors.New("'[' without ']' in the room name")
		}
		if tenant, err = room.ParseTenant(t); err != nil {
			return "", "", fmt.Errorf("tenant: %w", err)
		}
		if tenant != t {
			return "", "", fmt.Errorf("tenant %q is not in canonical form", t)
		}
		safe = r
	}
	n, err := room.Parse(safe)
	if err != nil {
		return "", "", fmt.Errorf("room: %w", err)
	}
	if n.Safe != safe {
		return "", "", fmt.Errorf("room %q is not in Jitsi's backend-safe form (%q)", safe, n.Safe)
	}
	return tenant, safe, nil
}

// unregisteredNode recovers the node from an id made by unregistered.
func unregisteredNode(id string) (string, bool) {
	enc, ok := strings.CutPrefix(id, unregisteredIDPrefix)
	if !ok {
		return "", false
	}
	b, err := base64.RawURLEncoding.DecodeString(enc)
	if err != nil || len(b) == 0 {
		return "", false
	}
	return string(b), true
}

// validID reports whether id can go into Prosody's DELETE path as it is.
func validID(id string) bool {
	if id == "" || len(id) > 200 {
		return false
	}
	for i := 0; i < len(id); i++ {
		c := id[i]
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '-' || c == '_' || c == '.' || c == '~') {
			return false
		}
	}
	return id != "." && id != ".."
}

// title is the room's name for people.
func title(rm Room) string {
	if rm.Title != "" {
		return rm.Title
	}
	if n, err := room.Parse(rm.Name); err == nil {
		return n.Display
	}
	return rm.Name
}

func firstNonEmpty(s ...string) string {
	for _, v := range s {
		if v != "" {
			return v
		}
	}
	return ""
}
