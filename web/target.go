package web

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"slices"
	"sort"
	"strings"

	"github.com/jitsi-gate/jitsi-gate/internal/room"
)

// maxStateBytes caps Jitsi's {state} JSON; real ones are a few hundred bytes.
const maxStateBytes = 8 << 10

// allowedConfigKeys are the config.* overrides from Jitsi's {state} that we
// hand back to Jitsi in the URL hash. Only boolean values are accepted, so
// nothing a caller puts there can become markup or a URL.
var allowedConfigKeys = []string{
	"config.prejoinConfig.enabled",
	"config.prejoinPageEnabled",
	"config.startWithAudioMuted",
	"config.startWithVideoMuted",
	"config.startAudioOnly",
	"config.startLowBandwidthMode",
}

// App values say which Jitsi client sent the user (from {state}).
const (
	appIOS      = "ios"
	appAndroid  = "android"
	appElectron = "electron"
)

// target is where a user wants to go: a room, maybe in a tenant, with the
// allow-listed Jitsi config overrides. It travels through the login as
// query parameters (password forms) or in the flow cookie (OIDC), and is
// re-validated every time it is read back.
type target struct {
	Room   room.Name // zero: no room chosen yet
	Tenant string
	Config map[string]bool
	App    string
}

// errBadTarget marks input errors in the target (400).
var errBadTarget = errors.New("bad target")

// targetError carries the message key and arguments shown to the user.
type targetError struct {
	key  string
	args []any
	err  error
}

func (e *targetError) Error() string { return fmt.Sprintf("%s: %v", e.key, e.err) }
func (e *targetError) Unwrap() error { return errBadTarget }

func roomError(err error) error {
	var re *room.Error
	if errors.As(err, &re) {
		return &targetError{key: "room." + re.Code, err: err}
	}
	return &targetError{key: "error.bad_request", err: err}
}

// hasRoom reports whether a room was chosen.
func (t target) hasRoom() bool { return t.Room.Safe != "" }

// query encodes everything but the room as URL query parameters, the
// format parseTarget reads back.
func (t target) query() url.Values {
	q := url.Values{}
	if t.Tenant != "" {
		q.Set("tenant", t.Tenant)
	}
	keys := make([]string, 0, len(t.Config))
	for k := range t.Config {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		q.Set(k, fmt.Sprint(t.Config[k]))
	}
	if t.App != "" {
		q.Set("app", t.App)
	}
	return q
}

// encode is the compact form kept in the OIDC flow cookie.
func (t target) encode() string {
	q := t.query()
	if t.hasRoom() {
		q.Set("room", t.Room.Safe)
	}
	return q.Encode()
}

// joinPath is the gateway path that mints the token for this target.
func (s *server) joinPath(t target) string {
	p := s.path("/join/" + t.Room.Safe)
	if q := t.query().Encode(); q != "" {
		p += "?" + q
	}
	return p
}

// loginPath is the login page for this target.
func (s *server) loginPath(t target) string {
	q := t.query()
	if t.hasRoom() {
		q.Set("room", t.Room.Safe)
	}
	if len(q) == 0 {
		return s.path("/login")
	}
	return s.path("/login?" + q.Encode())
}

// parseTarget reads a target from a room (as typed or as a path segment)
// and the query parameters written by target.query.
func (s *server) parseTarget(rawRoom string, q url.Values) (target, error) {
	var t target
	if rawRoom != "" {
		name, err := room.Parse(rawRoom)
		if err != nil {
			return target{}, roomError(err)
		}
		t.Room = name
	}
	tenant, err := s.tenant(q.Get("tenant"))
	if err != nil {
		return target{}, err
	}
	t.Tenant = tenant
	for _, k := range allowedConfigKeys {
		switch v := q.Get(k); v {
		case "":
		case "true", "false":
			if t.Config == nil {
				t.Config = make(map[string]bool)
			}
			t.Config[k] = v == "true"
		default:
			return target{}, &targetError{key: "error.bad_request", err: fmt.Errorf("%s=%q is not a boolean", k, v)}
		}
	}
	switch app := q.Get("app"); app {
	case "", appIOS, appAndroid, appElectron:
		t.App = app
	default:
		return target{}, &targetError{key: "error.bad_request", err: fmt.Errorf("unknown app %q", app)}
	}
	return t, nil
}

// decodeTarget reads back target.encode.
func (s *server) decodeTarget(encoded string) (target, error) {
	q, err := url.ParseQuery(encoded)
	if err != nil {
		return target{}, &targetError{key: "error.bad_request", err: err}
	}
	return s.parseTarget(q.Get("room"), q)
}

// jitsiState is the part of Jitsi's {state} JSON we use. Everything else in
// it is ignored on purpose.
type jitsiState struct {
	Room     string `json:"room"`
	RoomSafe string `json:"roomSafe"`
	Tenant   string `json:"tenant"`
	IOS      bool   `json:"ios"`
	Android  bool   `json:"android"`
	Electron bool   `json:"electron"`
}

// targetFromState parses the {state} JSON Jitsi puts in tokenAuthUrl.
func (s *server) targetFromState(raw string) (target, error) {
	if len(raw) > maxStateBytes {
		return target{}, &targetError{key: "error.state", err: fmt.Errorf("state is %d bytes, more than %d", len(raw), maxStateBytes)}
	}
	var all map[string]json.RawMessage
	if err := json.Unmarshal([]byte(raw), &all); err != nil {
		return target{}, &targetError{key: "error.state", err: fmt.Errorf("state is not a JSON object: %w", err)}
	}
	var st jitsiState
	if err := json.Unmarshal([]byte(raw), &st); err != nil {
		return target{}, &targetError{key: "error.state", err: fmt.Errorf("state has unexpected types: %w", err)}
	}
	var t target
	if st.Room != "" || st.RoomSafe != "" {
		name, err := room.FromState(st.Room, st.RoomSafe)
		if err != nil {
			return target{}, roomError(err)
		}
		t.Room = name
	}
	tenant, err := s.tenant(st.Tenant)
	if err != nil {
		return target{}, err
	}
	t.Tenant = tenant
	for _, k := range allowedConfigKeys {
		v, ok := all[k]
		if !ok {
			continue
		}
		var b bool
		if err := json.Unmarshal(v, &b); err != nil {
			// Jitsi sends these as booleans; anything else is dropped
			// rather than passed on.
			continue
		}
		if t.Config == nil {
			t.Config = make(map[string]bool)
		}
		t.Config[k] = b
	}
	switch {
	case st.IOS:
		t.App = appIOS
	case st.Android:
		t.App = appAndroid
	case st.Electron:
		t.App = appElectron
	}
	return t, nil
}

// tenant validates a requested tenant against the configuration. An empty
// request means the tenant of jitsi.url (usually none).
func (s *server) tenant(raw string) (string, error) {
	if raw == "" {
		return s.opts.Jitsi.DefaultTenant, nil
	}
	t, err := room.ParseTenant(raw)
	if err != nil {
		return "", &targetError{key: "room.invalid_tenant", args: []any{raw}, err: err}
	}
	allowed := s.opts.Jitsi.Tenants
	if len(allowed) == 0 && s.opts.Jitsi.DefaultTenant != "" {
		allowed = []string{s.opts.Jitsi.DefaultTenant}
	}
	if len(allowed) > 0 && !slices.Contains(allowed, t) {
		return "", &targetError{key: "error.tenant_not_allowed", args: []any{t}, err: fmt.Errorf("tenant %q is not in jitsi.tenants", t)}
	}
	return t, nil
}

// jitsiURL builds the URL the browser is sent to. It is made only from the
// configured Jitsi origin and the validated tenant and room, so no input can
// point a browser, or a token, at another host.
func (s *server) jitsiURL(t target, jwt string) string {
	base := s.opts.Jitsi.URL
	path := "/"
	if t.Tenant != "" {
		path += t.Tenant + "/"
	}
	// Room.Safe is already percent-encoded the way Jitsi encodes it.
	path += t.Room.Safe

	var hash []string
	query := ""
	if s.opts.Jitsi.TokenInFragment {
		// Jitsi JSON-parses hash values: the token must be quoted.
		hash = append(hash, `jwt=%22`+jwt+`%22`)
	} else {
		query = "?jwt=" + jwt
	}
	keys := make([]string, 0, len(t.Config))
	for k := range t.Config {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		hash = append(hash, fmt.Sprintf("%s=%t", k, t.Config[k]))
	}
	scheme, host := base.Scheme, base.Host
	if t.App == appIOS || t.App == appAndroid {
		// The official apps register this scheme and rewrite it to https.
		scheme = "org.jitsi.meet"
	}
	u := scheme + "://" + host + path + query
	if len(hash) > 0 {
		u += "#" + strings.Join(hash, "&")
	}
	return u
}

// electronURL is the jitsi-meet:// deep link for the desktop app.
func (s *server) electronURL(t target, jwt string) string {
	u := s.jitsiURL(target{Room: t.Room, Tenant: t.Tenant, Config: t.Config}, jwt)
	return "jitsi-meet://" + strings.TrimPrefix(strings.TrimPrefix(u, "https://"), "http://")
}
