// Package target is where a user wants to go in Jitsi and how the browser
// gets there: a room (Jitsi's backend-safe name), maybe in a tenant, the
// allow-listed config.* overrides, and which Jitsi client asked (browser,
// iOS/Android app, Electron). It reads targets from a typed room name,
// from query parameters, from the compact form kept in the OIDC flow
// cookie and from Jitsi's {state} JSON, and it is the one place that builds
// the Jitsi room URL a token is sent to. The web layer, the token command
// and doctor all use it, so they cannot drift apart.
package target

import (
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"slices"
	"sort"
	"strconv"
	"strings"

	"github.com/jitsi-gate/jitsi-gate/internal/room"
)

// MaxStateBytes caps Jitsi's {state} JSON; real ones are a few hundred bytes.
const MaxStateBytes = 8 << 10

// allowedConfigKeys are the config.* overrides from Jitsi's {state} that are
// handed back to Jitsi in the URL hash. Only boolean values are accepted, so
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
	AppIOS      = "ios"
	AppAndroid  = "android"
	AppElectron = "electron"
)

// Target is where a user wants to go. It travels through the login as
// query parameters (password forms) or in the flow cookie (OIDC) and is
// validated again every time it is read back.
type Target struct {
	Room   room.Name // zero: no room chosen yet
	Tenant string
	Config map[string]bool
	App    string
	// Authorize, when set, are the parameters of an inline sign-in
	// (<public_url>/sso/authorize, internal/sso) that the login continues
	// to instead of /join. Only the authorize parameters are kept
	// (AuthorizeParams); the authorize endpoint validates them again
	// whenever it is reached.
	Authorize url.Values
}

// AuthorizeParams are the parameters an inline sign-in continuation keeps.
var AuthorizeParams = []string{"client_id", "response_type", "redirect_uri", "scope", "state",
	"code_challenge", "code_challenge_method", "nonce"}

// authorizeKey is the query parameter of the continuation: the authorize
// query, base64url-encoded so that it is not percent-encoded a second
// time (it travels in login links and the OIDC flow cookie).
const authorizeKey = "sso"

// maxAuthorizeBytes bounds the encoded continuation: the state and the
// few other parameters.
const maxAuthorizeBytes = MaxStateBytes + 2<<10

// parseAuthorize reads the continuation written by Query.
func parseAuthorize(encoded string) (url.Values, error) {
	if len(encoded) > base64.RawURLEncoding.EncodedLen(maxAuthorizeBytes) {
		return nil, &Error{Key: "error.bad_request", Err: fmt.Errorf("sign-in continuation is %d bytes, more than %d", len(encoded), maxAuthorizeBytes)}
	}
	raw, err := base64.RawURLEncoding.DecodeString(encoded)
	if err != nil {
		return nil, &Error{Key: "error.bad_request", Err: fmt.Errorf("sign-in continuation: %w", err)}
	}
	q, err := url.ParseQuery(string(raw))
	if err != nil {
		return nil, &Error{Key: "error.bad_request", Err: fmt.Errorf("sign-in continuation: %w", err)}
	}
	return KeepAuthorizeParams(q), nil
}

// KeepAuthorizeParams returns the AuthorizeParams of q, the first value of
// each; nil when q has none of them.
func KeepAuthorizeParams(q url.Values) url.Values {
	var out url.Values
	for _, k := range AuthorizeParams {
		if v := q.Get(k); v != "" {
			if out == nil {
				out = url.Values{}
			}
			out.Set(k, v)
		}
	}
	return out
}

// ErrBad marks input errors in a target (a 400 for a browser).
var ErrBad = errors.New("bad target")

// Error is a target the user gave that cannot be used. Key and Args are
// the message shown to the user (internal/i18n keys).
type Error struct {
	Key  string
	Args []any
	Err  error
}

func (e *Error) Error() string { return fmt.Sprintf("%s: %v", e.Key, e.Err) }
func (e *Error) Unwrap() error { return ErrBad }

// RoomError wraps a room.Parse error with the message key of its code.
func RoomError(err error) error {
	var re *room.Error
	if errors.As(err, &re) {
		return &Error{Key: "room." + re.Code, Err: err}
	}
	return &Error{Key: "error.bad_request", Err: err}
}

// HasRoom reports whether a room was chosen.
func (t Target) HasRoom() bool { return t.Room.Safe != "" }

// Query encodes the target as URL query parameters, the form Parse reads
// back; withRoom adds the room (login and logout links carry it, the
// /join/{room} path does not).
func (t Target) Query(withRoom bool) url.Values {
	q := url.Values{}
	if withRoom && t.HasRoom() {
		q.Set("room", t.Room.Safe)
	}
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
	if len(t.Authorize) > 0 {
		q.Set(authorizeKey, base64.RawURLEncoding.EncodeToString([]byte(t.Authorize.Encode())))
	}
	return q
}

// Encode is the compact form kept in the OIDC flow cookie.
func (t Target) Encode() string { return t.Query(true).Encode() }

// Jitsi is the deployment targets point into.
type Jitsi struct {
	// URL is the Jitsi origin (scheme and host).
	URL *url.URL
	// DefaultTenant is the tenant of jitsi.url ("" for none).
	DefaultTenant string
	// Tenants is the allow-list; empty allows any valid tenant (or only
	// DefaultTenant when that is set).
	Tenants []string
	// TokenInFragment sends #jwt="…" instead of ?jwt=….
	TokenInFragment bool
}

// Parse reads a target from a room (as typed, or as a path segment) and
// the query parameters Target.Query writes.
func (j *Jitsi) Parse(rawRoom string, q url.Values) (Target, error) {
	var t Target
	if rawRoom != "" {
		name, err := room.Parse(rawRoom)
		if err != nil {
			return Target{}, RoomError(err)
		}
		t.Room = name
	}
	tenant, err := j.Tenant(q.Get("tenant"))
	if err != nil {
		return Target{}, err
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
			return Target{}, &Error{Key: "error.bad_request", Err: fmt.Errorf("%s=%q is not a boolean", k, v)}
		}
	}
	switch app := q.Get("app"); app {
	case "", AppIOS, AppAndroid, AppElectron:
		t.App = app
	default:
		return Target{}, &Error{Key: "error.bad_request", Err: fmt.Errorf("unknown app %q", app)}
	}
	if enc := q.Get(authorizeKey); enc != "" {
		if t.Authorize, err = parseAuthorize(enc); err != nil {
			return Target{}, err
		}
	}
	return t, nil
}

// Decode reads back Target.Encode.
func (j *Jitsi) Decode(encoded string) (Target, error) {
	q, err := url.ParseQuery(encoded)
	if err != nil {
		return Target{}, &Error{Key: "error.bad_request", Err: err}
	}
	return j.Parse(q.Get("room"), q)
}

// state is the part of Jitsi's {state} JSON that is used. Everything else
// in it is ignored on purpose.
type state struct {
	Room     string `json:"room"`
	RoomSafe string `json:"roomSafe"`
	Tenant   string `json:"tenant"`
	IOS      bool   `json:"ios"`
	Android  bool   `json:"android"`
	Electron bool   `json:"electron"`
}

// FromState parses the {state} JSON Jitsi puts into tokenAuthUrl.
func (j *Jitsi) FromState(raw string) (Target, error) {
	if len(raw) > MaxStateBytes {
		return Target{}, &Error{Key: "error.state", Err: fmt.Errorf("state is %d bytes, more than %d", len(raw), MaxStateBytes)}
	}
	var all map[string]json.RawMessage
	if err := json.Unmarshal([]byte(raw), &all); err != nil {
		return Target{}, &Error{Key: "error.state", Err: fmt.Errorf("state is not a JSON object: %w", err)}
	}
	var st state
	if err := json.Unmarshal([]byte(raw), &st); err != nil {
		return Target{}, &Error{Key: "error.state", Err: fmt.Errorf("state has unexpected types: %w", err)}
	}
	var t Target
	if st.Room != "" || st.RoomSafe != "" {
		name, err := room.FromState(st.Room, st.RoomSafe)
		if err != nil {
			return Target{}, RoomError(err)
		}
		t.Room = name
	}
	tenant, err := j.Tenant(st.Tenant)
	if err != nil {
		return Target{}, err
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
		t.App = AppIOS
	case st.Android:
		t.App = AppAndroid
	case st.Electron:
		t.App = AppElectron
	}
	return t, nil
}

// Tenant validates a requested tenant against the deployment. An empty
// request means the tenant of jitsi.url (usually none).
func (j *Jitsi) Tenant(raw string) (string, error) {
	if raw == "" {
		return j.DefaultTenant, nil
	}
	t, err := room.ParseTenant(raw)
	if err != nil {
		return "", &Error{Key: "room.invalid_tenant", Args: []any{raw}, Err: err}
	}
	allowed := j.Tenants
	if len(allowed) == 0 && j.DefaultTenant != "" {
		allowed = []string{j.DefaultTenant}
	}
	if len(allowed) > 0 && !slices.Contains(allowed, t) {
		return "", &Error{Key: "error.tenant_not_allowed", Args: []any{t},
			Err: fmt.Errorf("tenant %q is not allowed: tokens are only issued for %s (jitsi.tenants / jitsi.url)", t, strings.Join(allowed, ", "))}
	}
	return t, nil
}

// RoomURL builds the URL the browser (or app) is sent to with jwt. It is
// made only from the configured Jitsi origin and the validated tenant and
// room, so no input can point a browser, or a token, at another host.
func (j *Jitsi) RoomURL(t Target, jwt string) string {
	scheme, host := j.URL.Scheme, j.URL.Host
	if t.App == AppIOS || t.App == AppAndroid {
		// The official apps register this scheme and rewrite it to https.
		scheme = "org.jitsi.meet"
	}
	keys := make([]string, 0, len(t.Config))
	for k := range t.Config {
		keys = append(keys, k)
	}
	sort.Strings(keys)

	// Built in one buffer: this is every /join's answer.
	var b strings.Builder
	b.Grow(len(scheme) + 3 + len(host) + 2 + len(t.Tenant) + len(t.Room.Safe) + 8 + len(jwt) + 32*len(keys))
	b.WriteString(scheme)
	b.WriteString("://")
	b.WriteString(host)
	b.WriteByte('/')
	if t.Tenant != "" {
		b.WriteString(t.Tenant)
		b.WriteByte('/')
	}
	// Room.Safe is already percent-encoded the way Jitsi encodes it.
	b.WriteString(t.Room.Safe)
	sep := byte('#')
	switch {
	case jwt == "":
	case j.TokenInFragment:
		// Jitsi JSON-parses hash values: the token must be quoted.
		b.WriteString(`#jwt=%22`)
		b.WriteString(jwt)
		b.WriteString(`%22`)
		sep = '&'
	default:
		b.WriteString("?jwt=")
		b.WriteString(jwt)
	}
	for _, k := range keys {
		b.WriteByte(sep)
		sep = '&'
		b.WriteString(k)
		b.WriteByte('=')
		b.WriteString(strconv.FormatBool(t.Config[k]))
	}
	return b.String()
}

// ElectronURL is the jitsi-meet:// deep link for the desktop app.
func (j *Jitsi) ElectronURL(t Target, jwt string) string {
	u := j.RoomURL(Target{Room: t.Room, Tenant: t.Tenant, Config: t.Config}, jwt)
	return "jitsi-meet://" + strings.TrimPrefix(strings.TrimPrefix(u, "https://"), "http://")
}

// BrowserURL is the room URL for a browser, whichever client asked.
func (j *Jitsi) BrowserURL(t Target, jwt string) string {
	return j.RoomURL(Target{Room: t.Room, Tenant: t.Tenant, Config: t.Config}, jwt)
}
