package web

import (
	"crypto/sha256"
	"crypto/subtle"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"mime"
	"net/http"
	"reflect"
	"strconv"
	"strings"

	"github.com/jitsi-gate/jitsi-gate/internal/invites"
	"github.com/jitsi-gate/jitsi-gate/internal/policy"
	"github.com/jitsi-gate/jitsi-gate/internal/rooms"
	"github.com/jitsi-gate/jitsi-gate/internal/signin"
	"github.com/jitsi-gate/jitsi-gate/internal/target"
)

// The JSON room API, <public_url>/api/v1/rooms (docs/api.yaml describes it;
// a test keeps the two in step). It is the room service the CLI uses, with
// the rights of the rules:
//
//   - Who: the login cookie (a browser on the gateway's own origin; the
//     crossOrigin middleware refuses writes from other sites, and writes
//     must be application/json, which no HTML form can send), or
//     "Authorization: Bearer <token>" with a token of api.tokens (a script;
//     admin rights). A request with an Authorization header is judged by it
//     alone, whatever cookie it carries.
//   - Admins (rule flag admin, and tokens) see and change every room.
//   - Users with manage_rooms create rooms, and are always among the
//     organizers of the rooms they write: their BACKEND:username entry is
//     added unless the organizers list already names them. They change and
//     delete the rooms they organize (by name or group).
//   - Everyone signed in sees the rooms they organize or take part in;
//     passwords only organizers and admins. A room someone cannot see is
//     404 for them, one they see but may not change 403.
//   - Concurrent edits: GET sends the room's version as a strong ETag; PUT
//     and DELETE with If-Match are refused with 412 when the room changed
//     since. If-Match is optional; without it the write applies to the
//     version the rights were checked on, and a write racing it is 409.
//   - Errors are {"error": "...", "field": "..."} (field: the JSON name of
//     the offending field, "" when none), with "errors" listing every
//     problem of a room at once.
//   - Every change is one audit log line: who, how, which room, what.

// APIToken is a script's bearer token for the JSON API (api.tokens); it has
// admin rights. Name appears in the audit log.
type APIToken struct {
	Name, Token string
}

// maxAPIBody bounds a request body: a room with the most entries the room
// service accepts (500 organizers, 500 participants, 500 windows) stays
// well below it.
const maxAPIBody = 1 << 20

// apiError is the JSON body of every error answer.
type apiError struct {
	Error string `json:"error"`
	Field string `json:"field"`
	// Errors lists every problem when a room has several.
	Errors []apiFieldError `json:"errors,omitempty"`
}

type apiFieldError struct {
	Field string `json:"field"`
	Error string `json:"error"`
}

// roomView is a room as the API shows it to one caller: the resource, the
// password only for organizers and admins, and what the caller may do.
type roomView struct {
	rooms.Resource
	// Password shadows Resource's (a shallower field wins in
	// encoding/json): nil hides it.
	Password *string `json:"password,omitempty"`
	// MyRole is the caller's relation to the room: organizer,
	// participant or none.
	MyRole rooms.Role `json:"my_role"`
	// CanEdit says whether the caller may change and delete the room.
	CanEdit bool `json:"can_edit"`
}

type roomList struct {
	Rooms []roomView `json:"rooms"`
}

// roomInput is a request body: a Spec, plus the fields the API assigns,
// which a client may send back as it got them (GET, change, PUT) and
// which are ignored. Any other field is an error.
type roomInput struct {
	rooms.Spec
	ID        json.RawMessage `json:"id"`
	Room      json.RawMessage `json:"room"`
	URL       json.RawMessage `json:"url"`
	Version   json.RawMessage `json:"version"`
	CreatedBy json.RawMessage `json:"created_by"`
	CreatedAt json.RawMessage `json:"created_at"`
	UpdatedAt json.RawMessage `json:"updated_at"`
	MyRole    json.RawMessage `json:"my_role"`
	CanEdit   json.RawMessage `json:"can_edit"`
}

// roomAPI serves /api/v1/rooms.
type roomAPI struct {
	site   *site
	rooms  *rooms.Service // nil: no registry, every route answers 404
	policy *policy.Policy
	jitsi  *target.Jitsi
	tokens []hashedToken
	log    *slog.Logger

	// invites are the rooms' guest invitations (handle_api_invites.go);
	// nil: their routes answer 404.
	invites *invites.Service
}

type hashedToken struct {
	name string
	sum  [sha256.Size]byte
}

func newRoomAPI(s *site, deps Deps, jitsi *target.Jitsi) *roomAPI {
	a := &roomAPI{site: s, rooms: deps.Rooms, invites: deps.Invites, policy: deps.Grants.Policy(), jitsi: jitsi, log: deps.Logger}
	for _, t := range deps.APITokens {
		a.tokens = append(a.tokens, hashedToken{name: t.Name, sum: sha256.Sum256([]byte(t.Token))})
	}
	return a
}

// isAPI reports whether r is for the JSON API (its errors are JSON, not
// pages).
func (s *site) isAPI(r *http.Request) bool {
	return strings.HasPrefix(r.URL.Path, s.path("/api/"))
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	body, err := json.Marshal(v)
	if err != nil {
		// Only our own types are written; they always marshal.
		status, body = http.StatusInternalServerError, []byte(`{"error":"internal error","field":""}`)
	}
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(status)
	_, _ = w.Write(append(body, '\n'))
}

func writeAPIError(w http.ResponseWriter, status int, field, format string, args ...any) {
	writeJSON(w, status, apiError{Error: fmt.Sprintf(format, args...), Field: field})
}

// handler wraps an API route: the registry must exist and the caller must
// be known.
func (a *roomAPI) handler(fn func(w http.ResponseWriter, r *http.Request, c caller)) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if a.rooms == nil {
			writeAPIError(w, http.StatusNotFound, "", "this gateway has no room registry")
			return
		}
		c, ok := a.authenticate(w, r)
		if !ok {
			return
		}
		fn(w, r, c)
	})
}

// authenticate finds the caller from the Authorization header or, without
// one, the login cookie; it answers 401 itself when there is neither.
func (a *roomAPI) authenticate(w http.ResponseWriter, r *http.Request) (caller, bool) {
	if h := r.Header.Get("Authorization"); h != "" {
		scheme, tok, _ := strings.Cut(h, " ")
		tok = strings.TrimSpace(tok)
		if !strings.EqualFold(scheme, "Bearer") || tok == "" {
			w.Header().Set("WWW-Authenticate", `Bearer realm="jitsi-gate"`)
			writeAPIError(w, http.StatusUnauthorized, "", "the Authorization header must be: Bearer <token>")
			return caller{}, false
		}
		if name, ok := a.token(tok); ok {
			return caller{who: "api:" + name, via: "token", admin: true, manage: true, rightsSource: "api.tokens " + name}, true
		}
		a.log.WarnContext(r.Context(), "api: unknown bearer token refused", "path", r.URL.Path)
		w.Header().Set("WWW-Authenticate", `Bearer realm="jitsi-gate", error="invalid_token"`)
		writeAPIError(w, http.StatusUnauthorized, "", "the bearer token is not one of api.tokens")
		return caller{}, false
	}
	// The login record decides, as for /join: a logged-out or disabled
	// user's cookie opens no API either.
	u, err := a.site.signedIn(w, r)
	switch {
	case errors.Is(err, errNotSignedIn) || errors.Is(err, signin.ErrReauthenticate):
		w.Header().Set("WWW-Authenticate", `Bearer realm="jitsi-gate"`)
		writeAPIError(w, http.StatusUnauthorized, "", "sign in first (or send a bearer token)")
		return caller{}, false
	case err != nil:
		// Like a failing registry (InternalError in docs/api.yaml), not
		// 401: the caller's login may be fine.
		a.log.ErrorContext(r.Context(), "api: login records unavailable", "err", err)
		writeAPIError(w, http.StatusInternalServerError, "", "the login records cannot be read; try again later")
		return caller{}, false
	}
	return sessionCaller(a.policy, u.Identity, "session"), true
}

// token returns the name of the configured token tok is. Every token is
// compared (by SHA-256, in constant time), so the answer takes as long for
// the first as for none.
func (a *roomAPI) token(tok string) (string, bool) {
	sum := sha256.Sum256([]byte(tok))
	name, found := "", 0
	for _, t := range a.tokens {
		if subtle.ConstantTimeCompare(sum[:], t.sum[:]) == 1 {
			name, found = t.name, 1
		}
	}
	return name, found == 1
}

// view is rm as c may see it.
func (a *roomAPI) view(c caller, rm *rooms.Room) roomView {
	v := roomView{Resource: a.rooms.Resource(rm), MyRole: c.roleOf(rm), CanEdit: c.canEdit(rm)}
	if c.admin || v.MyRole == rooms.RoleOrganizer {
		pw := rm.Password
		v.Password = &pw
	}
	return v
}

func (a *roomAPI) list() http.Handler {
	return a.handler(func(w http.ResponseWriter, r *http.Request, c caller) {
		q := r.URL.Query()
		f := rooms.Filter{Query: q.Get("q")}
		if q.Has("tenant") {
			t, err := a.jitsi.Tenant(q.Get("tenant"))
			if err != nil {
				writeAPIError(w, http.StatusBadRequest, "tenant", "%s", tenantMessage(err))
				return
			}
			f.Tenant = &t
		}
		all, err := a.rooms.List(r.Context(), f)
		if err != nil {
			a.fail(w, r, err)
			return
		}
		out := roomList{Rooms: []roomView{}}
		for _, rm := range all {
			if c.canSee(rm) {
				out.Rooms = append(out.Rooms, a.view(c, rm))
			}
		}
		writeJSON(w, http.StatusOK, out)
	})
}

func (a *roomAPI) get() http.Handler {
	return a.handler(func(w http.ResponseWriter, r *http.Request, c caller) {
		rm, ok := a.visibleRoom(w, r, c)
		if !ok {
			return
		}
		w.Header().Set("ETag", etag(rm.Version))
		writeJSON(w, http.StatusOK, a.view(c, rm))
	})
}

func (a *roomAPI) create() http.Handler {
	return a.handler(func(w http.ResponseWriter, r *http.Request, c caller) {
		if !c.manage {
			writeAPIError(w, http.StatusForbidden, "", "no rule lets you create rooms (manage_rooms)")
			return
		}
		spec, ok := readRoom(w, r)
		if !ok {
			return
		}
		if !a.keepOrganizer(w, c, &spec) {
			return
		}
		rm, err := a.rooms.Create(r.Context(), spec, c.who)
		if err != nil {
			a.fail(w, r, err)
			return
		}
		a.audit(r, c, "created", rm, specFields(spec))
		w.Header().Set("ETag", etag(rm.Version))
		w.Header().Set("Location", a.site.path("/api/v1/rooms/"+rm.ID))
		writeJSON(w, http.StatusCreated, a.view(c, rm))
	})
}

func (a *roomAPI) update() http.Handler {
	return a.handler(func(w http.ResponseWriter, r *http.Request, c caller) {
		cur, ok := a.editableRoom(w, r, c)
		if !ok {
			return
		}
		spec, ok := readRoom(w, r)
		if !ok {
			return
		}
		if !a.keepOrganizer(w, c, &spec) {
			return
		}
		rm, err := a.rooms.Update(r.Context(), cur.ID, spec, cur.Version)
		if err != nil {
			a.fail(w, r, err)
			return
		}
		a.audit(r, c, "updated", rm, changedFields(cur.Spec(), rm.Spec()))
		w.Header().Set("ETag", etag(rm.Version))
		writeJSON(w, http.StatusOK, a.view(c, rm))
	})
}

func (a *roomAPI) remove() http.Handler {
	return a.handler(func(w http.ResponseWriter, r *http.Request, c caller) {
		cur, ok := a.editableRoom(w, r, c)
		if !ok {
			return
		}
		if err := a.rooms.Delete(r.Context(), cur.ID, cur.Version); err != nil {
			a.fail(w, r, err)
			return
		}
		a.audit(r, c, "deleted", cur, nil)
		w.WriteHeader(http.StatusNoContent)
	})
}

// notFound answers API paths no route serves; a known path with another
// method is 405 (the catch-all pattern otherwise hides the mux's own 405).
func (a *roomAPI) notFound() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		rest, under := strings.CutPrefix(r.URL.Path, a.site.path("/api/v1/rooms"))
		switch {
		case under && rest == "":
			w.Header().Set("Allow", "GET, HEAD, POST")
		case under && len(rest) > 1 && rest[0] == '/' && !strings.Contains(rest[1:], "/"):
			w.Header().Set("Allow", "GET, HEAD, PUT, DELETE")
		case under && inviteRouteAllow(rest) != "":
			w.Header().Set("Allow", inviteRouteAllow(rest))
		default:
			writeAPIError(w, http.StatusNotFound, "", "no such API route")
			return
		}
		writeAPIError(w, http.StatusMethodNotAllowed, "", "method %s is not allowed here", r.Method)
	})
}

// visibleRoom loads the room of the path; a room the caller may not see is
// not found.
func (a *roomAPI) visibleRoom(w http.ResponseWriter, r *http.Request, c caller) (*rooms.Room, bool) {
	rm, err := a.rooms.Get(r.Context(), r.PathValue("id"))
	if err != nil {
		a.fail(w, r, err)
		return nil, false
	}
	if !c.canSee(rm) {
		writeAPIError(w, http.StatusNotFound, "", "no such room")
		return nil, false
	}
	return rm, true
}

// editableRoom loads the room of the path for a change: the caller must
// see it, may change it, and If-Match (when sent) names its version.
func (a *roomAPI) editableRoom(w http.ResponseWriter, r *http.Request, c caller) (*rooms.Room, bool) {
	rm, ok := a.visibleRoom(w, r, c)
	if !ok {
		return nil, false
	}
	if !c.canEdit(rm) {
		writeAPIError(w, http.StatusForbidden, "", "only the room's organizers (with manage_rooms) and admins may change it")
		return nil, false
	}
	if values := r.Header.Values("If-Match"); len(values) > 0 && !etagMatches(values, rm.Version) {
		w.Header().Set("ETag", etag(rm.Version))
		writeAPIError(w, http.StatusPreconditionFailed, "", "the room was changed since you loaded it (it is at version %d); load it again", rm.Version)
		return nil, false
	}
	return rm, true
}

// keepOrganizer adds the writer to the organizers (rights.go), or answers
// 403 when their login cannot be named there.
func (a *roomAPI) keepOrganizer(w http.ResponseWriter, c caller, spec *rooms.Spec) bool {
	if !keepOrganizer(c, spec) {
		writeAPIError(w, http.StatusForbidden, "organizers", errNoUsername)
		return false
	}
	return true
}

// readRoom decodes a JSON room body (see readJSON).
func readRoom(w http.ResponseWriter, r *http.Request) (rooms.Spec, bool) {
	var in roomInput
	ok := readJSON(w, r, maxAPIBody, "room", &in)
	return in.Spec, ok
}

// readJSON decodes the body into v strictly: application/json, at most
// limit bytes, one object, no unknown fields. Otherwise it answers the
// problem itself, naming the body what ("room", "invite").
func readJSON(w http.ResponseWriter, r *http.Request, limit int64, what string, v any) bool {
	mt, _, err := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if err != nil || mt != "application/json" {
		writeAPIError(w, http.StatusUnsupportedMediaType, "", "send the %s as Content-Type: application/json", what)
		return false
	}
	dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, limit))
	dec.DisallowUnknownFields()
	err = dec.Decode(v)
	if err == nil {
		if _, next := dec.Token(); next != io.EOF {
			err = fmt.Errorf("trailing data after the %s object", what)
		}
	}
	if err != nil {
		status, field, msg := jsonProblem(err, what)
		writeAPIError(w, status, field, "%s", msg)
		return false
	}
	return true
}

// jsonProblem explains a decoding error of a body that should be a what
// in the terms of the API.
func jsonProblem(err error, what string) (status int, field, msg string) {
	var tooBig *http.MaxBytesError
	var syntax *json.SyntaxError
	var typ *json.UnmarshalTypeError
	switch {
	case errors.As(err, &tooBig):
		return http.StatusRequestEntityTooLarge, "", fmt.Sprintf("the body is larger than %d bytes", tooBig.Limit)
	case errors.As(err, &syntax):
		return http.StatusBadRequest, "", fmt.Sprintf("the body is not valid JSON: %v (at byte %d)", syntax, syntax.Offset)
	case errors.As(err, &typ):
		// Field is the path from the body ("weekly.day"), through the
		// embedded Spec ("Spec.lobby"); the answer's field is the top-level
		// JSON name, as the room service names its fields.
		path := strings.TrimPrefix(typ.Field, "Spec.")
		if path == "" {
			return http.StatusBadRequest, "", fmt.Sprintf("the body must be a JSON object, not %s", typ.Value)
		}
		field, _, _ := strings.Cut(path, ".")
		return http.StatusBadRequest, field, fmt.Sprintf("%s must be %s, not %s", path, jsonKind(typ.Type), typ.Value)
	case errors.Is(err, io.EOF):
		return http.StatusBadRequest, "", fmt.Sprintf("the body is empty; send the %s as a JSON object", what)
	case errors.Is(err, io.ErrUnexpectedEOF):
		return http.StatusBadRequest, "", "the body ends in the middle of the JSON"
	}
	// encoding/json reports an unknown field only by this message.
	if name, ok := strings.CutPrefix(err.Error(), "json: unknown field "); ok {
		name, _ = strconv.Unquote(name)
		return http.StatusBadRequest, name, fmt.Sprintf("unknown field %q", name)
	}
	return http.StatusBadRequest, "", fmt.Sprintf("the body is not a valid %s: %v", what, err)
}

func jsonKind(t reflect.Type) string {
	switch t.Kind() {
	case reflect.String:
		return "a string"
	case reflect.Bool:
		return "true or false"
	case reflect.Int, reflect.Int64:
		return "a whole number"
	case reflect.Slice:
		return "a list"
	case reflect.Struct:
		return "an object"
	}
	return "of type " + t.String()
}

// fail answers an error of the room service.
func (a *roomAPI) fail(w http.ResponseWriter, r *http.Request, err error) {
	var ve *rooms.ValidationError
	switch {
	case errors.As(err, &ve) && len(ve.Errors) > 0:
		body := apiError{Error: ve.Errors[0].Message, Field: ve.Errors[0].Field}
		for _, fe := range ve.Errors {
			body.Errors = append(body.Errors, apiFieldError{Field: fe.Field, Error: fe.Message})
		}
		writeJSON(w, http.StatusBadRequest, body)
	case errors.Is(err, rooms.ErrNotFound):
		writeAPIError(w, http.StatusNotFound, "", "no such room")
	case errors.Is(err, rooms.ErrConflict):
		writeAPIError(w, http.StatusConflict, "name", "a room with this name already exists in this tenant")
	case errors.Is(err, rooms.ErrStale):
		// The rights were checked on a version another write replaced
		// meanwhile (with If-Match the version was checked first).
		writeAPIError(w, http.StatusConflict, "", "the room was changed at the same moment; load it again")
	default:
		a.log.ErrorContext(r.Context(), "api: room registry failed", "method", r.Method, "path", r.URL.Path, "err", err)
		writeAPIError(w, http.StatusInternalServerError, "", "the room registry failed; try again later")
	}
}

// audit writes the one log line of a change. Values are never logged, only
// the names of the fields given or changed (a password stays secret).
func (a *roomAPI) audit(r *http.Request, c caller, action string, rm *rooms.Room, fields []string) {
	a.log.InfoContext(r.Context(), "api: room "+action, "by", c.who, "via", c.via, "rights", c.rightsSource,
		"room_id", rm.ID, "room", rm.Name, "tenant", rm.Tenant, "fields", fields)
}

// specFields are the JSON names of the fields a new room sets.
func specFields(s rooms.Spec) []string {
	return changedFields(rooms.Spec{}, s)
}

// changedFields are the JSON names of the Spec fields that differ.
func changedFields(old, cur rooms.Spec) []string {
	var out []string
	ov, cv := reflect.ValueOf(old), reflect.ValueOf(cur)
	t := ov.Type()
	for i := range t.NumField() {
		a, b := ov.Field(i), cv.Field(i)
		if a.Kind() == reflect.Slice && a.Len() == 0 && b.Len() == 0 {
			continue // nil and [] are the same list
		}
		if !reflect.DeepEqual(a.Interface(), b.Interface()) {
			name, _, _ := strings.Cut(t.Field(i).Tag.Get("json"), ",")
			out = append(out, name)
		}
	}
	return out
}

// tenantMessage is the plain reason a tenant is refused.
func tenantMessage(err error) string {
	var te *target.Error
	if errors.As(err, &te) && te.Err != nil {
		return te.Err.Error()
	}
	return err.Error()
}

// etag is the strong entity tag of a room version.
func etag(version int64) string { return `"` + strconv.FormatInt(version, 10) + `"` }

// etagMatches applies If-Match (RFC 9110 13.1.1): "*" or a list of strong
// tags, one of which must be the current one. Weak tags never match.
func etagMatches(values []string, version int64) bool {
	want := etag(version)
	for _, v := range values {
		for _, tag := range strings.Split(v, ",") {
			tag = strings.TrimSpace(tag)
			if tag == "*" || tag == want {
				return true
			}
		}
	}
	return false
}
