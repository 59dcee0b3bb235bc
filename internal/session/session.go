// Package session keeps the gateway's state in the browser: who is logged in
// (the user cookie), the OIDC logins in progress (one flow cookie each,
// named after its state, so two tabs can sign in at once) and the OIDC
// id_token_hint for logout (the logout cookie). There is no server-side
// state, so abandoned logins cost no memory and replicas only need to share
// the secret.
//
// Every cookie is signed (HMAC-SHA256) and encrypted (AES-256-CTR) by
// gorilla/securecookie through a gorilla/sessions CookieStore. Each cookie
// purpose has its own hash and block keys, derived from the one configured
// secret with HKDF-SHA256, so a cookie of one kind can never be replayed as
// another. Payloads are compact JSON instead of gorilla's default gob:
// decoding the user cookie is on the /join hot path and gob is several times
// slower (docs/reference/performance.md).
//
// Expiry is enforced twice: by the cookie's Max-Age in the browser and by an
// expiry time inside the signed payload, checked here against the server's
// clock, because a browser (or an attacker replaying a copied cookie) need
// not honour Max-Age.
package session

import (
	"cmp"
	"crypto/hkdf"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/textproto"
	"slices"
	"strings"
	"time"

	"github.com/gorilla/securecookie"
	"github.com/gorilla/sessions"

	"github.com/jitsi-gate/jitsi-gate/internal/auth"
)

// ErrNoSession is returned (possibly wrapped with the reason) when a cookie
// is absent, invalid, tampered with or expired. Callers treat all of these
// as "not logged in" / "no login in progress".
var ErrNoSession = errors.New("session: no valid session")

// Defaults for zero Options fields.
const (
	DefaultCookieName   = "jitsi_gate"
	DefaultLifetime     = 8 * time.Hour
	DefaultFlowLifetime = 10 * time.Minute
	// MinSecretLen is the minimum length of Options.Secret.
	MinSecretLen = 32
	// MaxLogoutHintLen bounds the encoded logout cookie; larger hints are
	// not stored (browsers drop cookies over ~4 KB, and the user cookie
	// must still fit next to it).
	MaxLogoutHintLen = 3800
	// maxCookieLen is securecookie's default limit, kept explicit.
	maxCookieLen = 4096
	// MaxFlows is how many logins may be in progress in one browser (tabs
	// opened on different meeting links); starting another drops the
	// oldest.
	MaxFlows = 5
	// MaxFlowBytes bounds all flow cookies together, so they and the user
	// cookie stay under a proxy's 8 KB header limit (nginx's default).
	MaxFlowBytes = 5 << 10
	// maxFlowCookieLen bounds one flow cookie; a typical one is ~500
	// bytes, a long room in a tenant with every config override ~2 KB.
	maxFlowCookieLen = 2560
	// maxFlowCookiesRead bounds the flow cookies looked at in one request;
	// more can only be junk (each expires after FlowLifetime anyway).
	maxFlowCookiesRead = 2 * MaxFlows
	// flowHashLen is the hex length of the state hash in a flow cookie's
	// name: 48 bits tell a browser's few flows apart; the cookie itself
	// still carries and is checked against the whole state.
	flowHashLen = 12
)

// ErrOtherFlow (which wraps ErrNoSession) is returned by LoadFlow when the
// browser has logins in progress but none for the state asked for: an
// answer that belongs to another sign-in.
var ErrOtherFlow = fmt.Errorf("no login flow for this state: %w", ErrNoSession)

// Options configures a Manager.
type Options struct {
	// Secret derives all cookie keys; at least 32 bytes.
	Secret []byte
	// Lifetime of a login; default 8h.
	Lifetime time.Duration
	// Secure sets the Secure attribute (public_url is https).
	Secure bool
	// CookieName is the user cookie's name; the flow cookies are
	// "<name>_flow_<hash of state>", the logout cookie "<name>_logout".
	// Default "jitsi_gate".
	CookieName string
	// Path is the cookie path (the path of public_url); default "/".
	Path string
	// FlowLifetime bounds an OIDC login round trip; default 10m.
	FlowLifetime time.Duration
	// Now is the clock; default time.Now. Tests inject one.
	Now func() time.Time
}

// User is a login: the identity the backend reported, unchanged, and when
// the login started and ends. It holds no tokens. IssuedAt and ExpiresAt
// have one-second precision.
type User struct {
	auth.Identity
	// LoginID names the server-side record of this login (internal/signin);
	// "" in cookies of versions without records, which no longer count.
	LoginID             string
	IssuedAt, ExpiresAt time.Time
}

// FromIdentity makes the session user for a fresh login; times are left
// zero for Save to fill in.
func FromIdentity(id auth.Identity) User {
	id.Groups = slices.Clone(id.Groups)
	return User{Identity: id}
}

// Flow is an OIDC login in progress. Target is opaque to this package (the
// web layer stores where to go after the login).
type Flow struct {
	Backend, State, Nonce, Verifier, Target string
	ExpiresAt                               time.Time
}

// Wire forms: short keys and Unix seconds keep the cookie small and the
// decode fast. userWire is how a User (an auth.Identity and its times)
// travels in the cookie.
type userWire struct {
	Backend  string   `json:"b"`
	Subject  string   `json:"s"`
	Username string   `json:"u,omitempty"`
	Name     string   `json:"n,omitempty"`
	Email    string   `json:"e,omitempty"`
	Groups   []string `json:"g,omitempty"`
	LoginID  string   `json:"k,omitempty"`
	IssuedAt int64    `json:"i"`
	Expires  int64    `json:"x"`
}

type flowWire struct {
	Backend  string `json:"b"`
	State    string `json:"s"`
	Nonce    string `json:"n"`
	Verifier string `json:"v"`
	Target   string `json:"t,omitempty"`
	Expires  int64  `json:"x"`
}

type hintWire struct {
	IDToken string `json:"h"`
}

// Manager reads and writes the three cookies. It is safe for concurrent
// use.
type Manager struct {
	now          func() time.Time
	lifetime     time.Duration
	flowLifetime time.Duration
	user         *jar
	flow         *jar
	logout       *jar
	decoded      *decodedCache
	// flowPrefix starts the name of every flow cookie.
	flowPrefix string
	// cookiePrefix starts the name of every cookie of this Manager.
	cookiePrefix string
}

// jar is one cookie purpose: a name, a CookieStore with its own keys, and
// the cookie attributes.
type jar struct {
	name  string
	store *sessions.CookieStore
}

// SettingError is an Options value NewManager refuses. Setting names the
// option the way the config file does (secret, lifetime, cookie_name), so
// the caller can point the admin at the right key.
type SettingError struct {
	Setting, Message, Hint string
}

func (e *SettingError) Error() string {
	msg := "session: " + e.Setting + " " + e.Message
	if e.Hint != "" {
		msg += " (" + e.Hint + ")"
	}
	return msg
}

// NewManager checks o and derives the cookie keys. Refused options are
// reported as a *SettingError.
func NewManager(o Options) (*Manager, error) {
	if len(o.Secret) < MinSecretLen {
		return nil, &SettingError{"secret", fmt.Sprintf("is %d bytes, need at least %d", len(o.Secret), MinSecretLen),
			"generate one with: openssl rand -hex 32"}
	}
	if o.Lifetime < 0 || o.FlowLifetime < 0 {
		return nil, &SettingError{"lifetime", "must not be negative", ""}
	}
	if o.Lifetime == 0 {
		o.Lifetime = DefaultLifetime
	}
	if o.FlowLifetime == 0 {
		o.FlowLifetime = DefaultFlowLifetime
	}
	if o.Lifetime < time.Second || o.FlowLifetime < time.Second {
		return nil, &SettingError{"lifetime", "must be at least one second", "cookie Max-Age has second precision"}
	}
	if o.CookieName == "" {
		o.CookieName = DefaultCookieName
	}
	if o.Path == "" {
		o.Path = "/"
	}
	if o.Path[0] != '/' {
		return nil, &SettingError{"path", fmt.Sprintf("%q must start with /", o.Path), ""}
	}
	if err := checkCookieName(o.CookieName, o.Secure, o.Path); err != nil {
		return nil, err
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	m := &Manager{now: o.Now, lifetime: o.Lifetime, flowLifetime: o.FlowLifetime, decoded: newDecodedCache(decodedCacheSize)}
	var err error
	if m.user, err = newJar(o, o.CookieName, "user", o.Lifetime); err != nil {
		return nil, err
	}
	m.cookiePrefix = o.CookieName
	m.flowPrefix = o.CookieName + "_flow_"
	// The flow jar's own name is the cookie of versions with a single
	// flow; it is only ever cleared. Flow cookies are named per state.
	if m.flow, err = newJar(o, o.CookieName+"_flow", "flow", o.FlowLifetime); err != nil {
		return nil, err
	}
	if m.logout, err = newJar(o, o.CookieName+"_logout", "logout", o.Lifetime); err != nil {
		return nil, err
	}
	return m, nil
}

// checkCookieName: the flow and logout cookies append to the name, so it
// is kept to letters, digits, '-' and '_'. Browsers drop __Secure- cookies
// without Secure, and __Host- cookies also unless Path=/ (a public_url
// under a path, like https://meet.example.com/_auth, sets Path=/_auth).
func checkCookieName(name string, secure bool, path string) error {
	switch {
	case !validCookieName(name):
		return &SettingError{"cookie_name", fmt.Sprintf("%q is not a valid cookie name", name),
			"use letters, digits, '_' and '-', e.g. jitsi_gate"}
	case (strings.HasPrefix(name, "__Host-") || strings.HasPrefix(name, "__Secure-")) && !secure:
		return &SettingError{"cookie_name", "the __Host-/__Secure- prefixes need an https server.public_url",
			"browsers drop such cookies over http"}
	case strings.HasPrefix(name, "__Host-") && path != "/":
		return &SettingError{"cookie_name", fmt.Sprintf("a __Host- cookie must have Path=/, but server.public_url puts the gateway under %s", path),
			"use the __Secure- prefix, or no prefix"}
	}
	return nil
}

func validCookieName(s string) bool {
	for _, c := range []byte(s) {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_') {
			return false
		}
	}
	return s != ""
}

// newJar derives the purpose's keys and builds its store.
func newJar(o Options, name, purpose string, lifetime time.Duration) (*jar, error) {
	hashKey, blockKey, err := deriveKeys(o.Secret, purpose)
	if err != nil {
		return nil, err
	}
	store := sessions.NewCookieStore(hashKey, blockKey)
	store.Options = &sessions.Options{
		Path:     o.Path,
		Secure:   o.Secure,
		HttpOnly: true,
		SameSite: http.SameSiteLaxMode,
	}
	// Sets the cookie Max-Age and securecookie's timestamp check.
	store.MaxAge(int(lifetime / time.Second))
	for _, c := range store.Codecs {
		sc, ok := c.(*securecookie.SecureCookie)
		if !ok {
			return nil, fmt.Errorf("session: unexpected codec type %T", c)
		}
		sc.SetSerializer(jsonSerializer{})
		sc.MaxLength(maxCookieLen)
	}
	return &jar{name: name, store: store}, nil
}

// deriveKeys returns the HMAC-SHA256 key and the AES-256 key of one cookie
// purpose (user, flow, logout). The info strings are part of the cookie
// format: changing them logs everyone out.
func deriveKeys(secret []byte, purpose string) (hashKey, blockKey []byte, err error) {
	hashKey, err = hkdf.Key(sha256.New, secret, nil, "jitsi-gate/session/v1/"+purpose+"/hmac-sha256", 32)
	if err != nil {
		return nil, nil, fmt.Errorf("session: derive %s hash key: %w", purpose, err)
	}
	blockKey, err = hkdf.Key(sha256.New, secret, nil, "jitsi-gate/session/v1/"+purpose+"/aes-256", 32)
	if err != nil {
		return nil, nil, fmt.Errorf("session: derive %s block key: %w", purpose, err)
	}
	return hashKey, blockKey, nil
}

// valueKey is where our payload sits in a sessions.Session's Values map.
const valueKey = "v"

// jsonSerializer is a securecookie.Serializer that encodes our wire structs
// as JSON. gorilla/sessions hands it a map[interface{}]interface{} (which
// encoding/json cannot encode); the map holds one entry, valueKey, whose
// value is what we encode. On the hot path Load decodes straight into a wire
// struct pointer, skipping the map and the sessions registry.
type jsonSerializer struct{}

func (jsonSerializer) Serialize(src interface{}) ([]byte, error) {
	if m, ok := src.(map[interface{}]interface{}); ok {
		v, ok := m[valueKey]
		if !ok || len(m) != 1 {
			return nil, errors.New("session: values must hold exactly one payload")
		}
		src = v
	}
	return json.Marshal(src)
}

func (jsonSerializer) Deserialize(b []byte, dst interface{}) error {
	if m, ok := dst.(*map[interface{}]interface{}); ok {
		if *m == nil {
			*m = make(map[interface{}]interface{}, 1)
		}
		(*m)[valueKey] = json.RawMessage(slices.Clone(b))
		return nil
	}
	return json.Unmarshal(b, dst)
}

// encode signs and encrypts v for this jar's cookie.
func (j *jar) encode(v any) (string, error) {
	return securecookie.EncodeMulti(j.name, v, j.store.Codecs...)
}

// save writes v as this jar's cookie through the CookieStore.
func (j *jar) save(w http.ResponseWriter, r *http.Request, v any) error {
	s := sessions.NewSession(j.store, j.name)
	opts := *j.store.Options
	s.Options = &opts
	s.Values[valueKey] = v
	if err := j.store.Save(r, w, s); err != nil {
		return fmt.Errorf("session: write cookie %s: %w", j.name, err)
	}
	return nil
}

// load decodes the first of cookies (all named name) that verifies.
// Browsers send several cookies of one name when an older one with another
// Path exists, most specific first. The caller reads the cookies from the
// request once (each http.Request.Cookie call parses the whole header).
func (j *jar) load(name string, cookies []*http.Cookie, dst any) error {
	var lastErr error
	for _, c := range cookies {
		err := securecookie.DecodeMulti(name, c.Value, dst, j.store.Codecs...)
		if err == nil {
			return nil
		}
		lastErr = err
	}
	if lastErr == nil {
		return fmt.Errorf("cookie %s absent: %w", name, ErrNoSession)
	}
	return fmt.Errorf("cookie %s invalid: %v: %w", name, lastErr, ErrNoSession)
}

// clear expires this jar's cookie in the browser.
func (j *jar) clear(w http.ResponseWriter) { j.clearNamed(w, j.name) }

// clearNamed expires a cookie of this jar's kind named name.
func (j *jar) clearNamed(w http.ResponseWriter, name string) {
	opts := *j.store.Options
	opts.MaxAge = -1
	http.SetCookie(w, sessions.NewCookie(name, "", &opts))
}

// Load returns the logged-in user. Any failure, including a missing cookie,
// wraps ErrNoSession.
func (m *Manager) Load(r *http.Request) (User, error) {
	var w userWire
	cached := false
	if v, ok := soleCookie(r, m.user.name); ok {
		w, cached = m.decoded.get(v)
	}
	if !cached {
		cookies := r.CookiesNamed(m.user.name)
		if err := m.user.load(m.user.name, cookies, &w); err != nil {
			return User{}, err
		}
		if len(cookies) == 1 {
			m.decoded.put(cookies[0].Value, w)
		}
	}
	if m.now().Unix() >= w.Expires {
		return User{}, fmt.Errorf("session expired at %s: %w", time.Unix(w.Expires, 0).UTC().Format(time.RFC3339), ErrNoSession)
	}
	if w.Backend == "" || w.Subject == "" {
		return User{}, fmt.Errorf("session without backend or subject: %w", ErrNoSession)
	}
	return User{
		Identity: auth.Identity{Backend: w.Backend, Subject: w.Subject, Username: w.Username,
			Name: w.Name, Email: w.Email, Groups: w.Groups},
		LoginID:   w.LoginID,
		IssuedAt:  time.Unix(w.IssuedAt, 0),
		ExpiresAt: time.Unix(w.Expires, 0),
	}, nil
}

// soleCookie finds the value of the request's one cookie called name
// without net/http's parse into Cookie values (two allocations on every
// /join): parts and names are trimmed and a quoted value unquoted as
// net/http does.
// It checks nothing else, so its answer is only used as a key of the
// decoded cache, whose keys are values net/http read and securecookie
// verified; ok is false when the header has none or several.
func soleCookie(r *http.Request, name string) (value string, ok bool) {
	lines := r.Header["Cookie"]
	parts := 0
	for _, line := range lines {
		parts += strings.Count(line, ";") + 1
	}
	if parts > maxSoleCookieParts {
		// net/http reads no cookie at all beyond its limit (3000 by
		// default, GODEBUG httpcookiemaxnum): leave such headers to it.
		return "", false
	}
	n := 0
	for _, line := range lines {
		for part := range strings.SplitSeq(line, ";") {
			k, v, _ := strings.Cut(textproto.TrimString(part), "=")
			if textproto.TrimString(k) != name {
				continue
			}
			if n++; n > 1 {
				return "", false
			}
			value = v
			if len(value) >= 2 && value[0] == '"' && value[len(value)-1] == '"' {
				value = value[1 : len(value)-1]
			}
		}
	}
	return value, n == 1
}

// maxSoleCookieParts bounds the headers soleCookie reads. The gateway's
// own cookies are a handful (web's ownCookies middleware drops the rest),
// so the bound is far below any cookie limit net/http may be given.
const maxSoleCookieParts = 64

// Lifetime is how long a login lasts.
func (m *Manager) Lifetime() time.Duration { return m.lifetime }

// Save sets the user cookie. Zero IssuedAt becomes now and zero ExpiresAt
// becomes IssuedAt + Lifetime. ExpiresAt is capped at now + Lifetime, which
// is also the cookie's Max-Age.
func (m *Manager) Save(w http.ResponseWriter, r *http.Request, u User) error {
	if u.Backend == "" || u.Subject == "" {
		return errors.New("session: user needs a backend and a subject")
	}
	now := m.now()
	if u.IssuedAt.IsZero() {
		u.IssuedAt = now
	}
	limit := now.Add(m.lifetime)
	if u.ExpiresAt.IsZero() {
		u.ExpiresAt = u.IssuedAt.Add(m.lifetime)
	}
	if u.ExpiresAt.After(limit) {
		u.ExpiresAt = limit
	}
	err := m.user.save(w, r, userWire{
		Backend:  u.Backend,
		Subject:  u.Subject,
		Username: u.Username,
		Name:     u.Name,
		Email:    u.Email,
		Groups:   u.Groups,
		LoginID:  u.LoginID,
		IssuedAt: u.IssuedAt.Unix(),
		Expires:  u.ExpiresAt.Unix(),
	})
	if err != nil {
		// Nearly always "value too long": many groups from a directory.
		return fmt.Errorf("%w (the session holds %d groups; keep only those the rules use)", err, len(u.Groups))
	}
	return nil
}

// Clear logs the user out: it expires the user and logout cookies, every
// flow cookie the request carries, and the single flow cookie of earlier
// versions.
func (m *Manager) Clear(w http.ResponseWriter, r *http.Request) {
	m.user.clear(w)
	m.flow.clear(w)
	m.logout.clear(w)
	for _, c := range m.flowCookies(r) {
		m.flow.clearNamed(w, c.Name)
	}
}

// flowCookieName is the name of the flow cookie of a login with this
// state. Its MAC covers the name, so a flow cookie cannot be moved to
// another state's name.
func (m *Manager) flowCookieName(state string) string {
	sum := sha256.Sum256([]byte(state))
	return m.flowPrefix + hex.EncodeToString(sum[:])[:flowHashLen]
}

// flowCookies returns the request's flow cookies, one per name, at most
// maxFlowCookiesRead of them.
func (m *Manager) flowCookies(r *http.Request) []*http.Cookie {
	var out []*http.Cookie
	for _, c := range r.Cookies() {
		if !strings.HasPrefix(c.Name, m.flowPrefix) || slices.ContainsFunc(out, func(o *http.Cookie) bool { return o.Name == c.Name }) {
			continue
		}
		if len(out) == maxFlowCookiesRead {
			break
		}
		out = append(out, c)
	}
	return out
}

// SaveFlow sets the flow cookie of f.State, next to the browser's other
// logins in progress. Zero ExpiresAt becomes now + FlowLifetime; it is
// capped there too. When the browser would then hold more than MaxFlows
// flows or MaxFlowBytes of them, the oldest are expired (as are flows
// that no longer verify).
func (m *Manager) SaveFlow(w http.ResponseWriter, r *http.Request, f Flow) error {
	if f.Backend == "" || f.State == "" {
		return errors.New("session: flow needs a backend and a state")
	}
	now := m.now()
	limit := now.Add(m.flowLifetime)
	if f.ExpiresAt.IsZero() || f.ExpiresAt.After(limit) {
		f.ExpiresAt = limit
	}
	name := m.flowCookieName(f.State)
	encoded, err := securecookie.EncodeMulti(name, flowWire{
		Backend:  f.Backend,
		State:    f.State,
		Nonce:    f.Nonce,
		Verifier: f.Verifier,
		Target:   f.Target,
		Expires:  f.ExpiresAt.Unix(),
	}, m.flow.store.Codecs...)
	if err != nil {
		return fmt.Errorf("session: encode login flow: %w", err)
	}
	if len(encoded) > maxFlowCookieLen {
		return fmt.Errorf("session: login flow cookie would be %d bytes, at most %d (target too long)", len(encoded), maxFlowCookieLen)
	}
	m.pruneFlows(w, r, name, len(encoded), now)
	opts := *m.flow.store.Options
	http.SetCookie(w, sessions.NewCookie(name, encoded, &opts))
	return nil
}

// pruneFlows makes room for a new flow cookie of newLen bytes named
// newName: it keeps the newest other flows while they fit into MaxFlows-1
// cookies and MaxFlowBytes together, and expires the rest.
func (m *Manager) pruneFlows(w http.ResponseWriter, r *http.Request, newName string, newLen int, now time.Time) {
	type held struct {
		name    string
		size    int
		expires int64 // 0: does not verify
	}
	var flows []held
	for _, c := range m.flowCookies(r) {
		if c.Name == newName {
			continue // overwritten below
		}
		var fw flowWire
		h := held{name: c.Name, size: len(c.Value)}
		if m.flow.load(c.Name, []*http.Cookie{c}, &fw) == nil && fw.Expires > now.Unix() {
			h.expires = fw.Expires
		}
		flows = append(flows, h)
	}
	// Newest first; all flows have the same lifetime, so the expiry
	// orders them by age. Expiry has one-second precision: within a
	// second, browsers send older cookies first (RFC 6265 5.4), so the
	// reversed request order breaks ties.
	slices.Reverse(flows)
	slices.SortStableFunc(flows, func(a, b held) int { return cmp.Compare(b.expires, a.expires) })
	kept, total := 1, newLen
	for _, h := range flows {
		if h.expires != 0 && kept < MaxFlows && total+h.size <= MaxFlowBytes {
			kept++
			total += h.size
			continue
		}
		m.flow.clearNamed(w, h.name)
	}
}

// LoadFlow returns the login in progress with this state (the state
// parameter of the provider's callback). Failures wrap ErrNoSession;
// ErrOtherFlow when the browser has flows, but not this one.
func (m *Manager) LoadFlow(r *http.Request, state string) (Flow, error) {
	if state == "" {
		return Flow{}, fmt.Errorf("callback without state: %w", ErrNoSession)
	}
	name := m.flowCookieName(state)
	cookies := r.CookiesNamed(name)
	if len(cookies) == 0 {
		if len(m.flowCookies(r)) > 0 {
			return Flow{}, ErrOtherFlow
		}
		return Flow{}, fmt.Errorf("no login flow: %w", ErrNoSession)
	}
	var w flowWire
	if err := m.flow.load(name, cookies, &w); err != nil {
		return Flow{}, err
	}
	if subtle.ConstantTimeCompare([]byte(w.State), []byte(state)) != 1 {
		return Flow{}, ErrOtherFlow
	}
	if m.now().Unix() >= w.Expires {
		return Flow{}, fmt.Errorf("login flow expired: %w", ErrNoSession)
	}
	return Flow{
		Backend:   w.Backend,
		State:     w.State,
		Nonce:     w.Nonce,
		Verifier:  w.Verifier,
		Target:    w.Target,
		ExpiresAt: time.Unix(w.Expires, 0),
	}, nil
}

// CookiePrefix starts the name of every cookie this Manager reads or
// writes (the configured cookie name). The web layer keeps only such
// cookies from a request's Cookie header.
func (m *Manager) CookiePrefix() string { return m.cookiePrefix }

// ClearFlow expires the flow cookie of this state (after its callback,
// used or not); the browser's other logins in progress stay.
func (m *Manager) ClearFlow(w http.ResponseWriter, state string) {
	if state == "" {
		return
	}
	m.flow.clearNamed(w, m.flowCookieName(state))
}

// SaveLogoutHint stores the OIDC ID token for RP-initiated logout. A hint
// whose cookie would exceed MaxLogoutHintLen bytes is not stored and nil is
// returned: logout then works without id_token_hint (the provider may ask
// the user to confirm). An empty hint clears the cookie.
func (m *Manager) SaveLogoutHint(w http.ResponseWriter, r *http.Request, idToken string) error {
	if idToken == "" {
		m.logout.clear(w)
		return nil
	}
	// Cheap pre-check: the encoded cookie is always longer than the token.
	if len(idToken) > MaxLogoutHintLen {
		return nil
	}
	encoded, err := m.logout.encode(hintWire{IDToken: idToken})
	if err != nil {
		// Over securecookie's own length limit: same as too big.
		return nil
	}
	if len(encoded) > MaxLogoutHintLen {
		return nil
	}
	opts := *m.logout.store.Options
	http.SetCookie(w, sessions.NewCookie(m.logout.name, encoded, &opts))
	return nil
}

// LoadLogoutHint returns the stored ID token, or "" when there is none (or
// it does not verify).
func (m *Manager) LoadLogoutHint(r *http.Request) string {
	var w hintWire
	if err := m.logout.load(m.logout.name, r.CookiesNamed(m.logout.name), &w); err != nil {
		return ""
	}
	return w.IDToken
}
