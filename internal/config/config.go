// Package config reads the jitsi-gate YAML file into plain structs: strict
// (unknown keys are errors), with ${VAR} expansion from the environment,
// *_file variants for secrets, defaults, and a Validate that reports every
// problem at once with its key path and a hint.
//
// The package imports no other internal package: cmd/jitsi-gate turns these
// structs into the options of the packages that do the work.
package config

import (
	"time"
)

// Config is the whole file.
type Config struct {
	Server   Server    `yaml:"server"`
	Jitsi    Jitsi     `yaml:"jitsi"`
	Session  Session   `yaml:"session"`
	Backends []Backend `yaml:"backends"`
	Rules    []Rule    `yaml:"rules"`
	UI       UI        `yaml:"ui"`
	Log      Log       `yaml:"log"`
	// RateLimit protects password logins against guessing.
	RateLimit RateLimit `yaml:"rate_limit"`
	// Metrics is the Prometheus listener, off unless configured.
	Metrics Metrics `yaml:"metrics"`
	// Store is the database of the room registry and session records.
	Store Store `yaml:"store"`
	// Rooms are the defaults of registered rooms.
	Rooms Rooms `yaml:"rooms"`
	// Reservations is Prosody's mod_reservations API (off without a token).
	Reservations Reservations `yaml:"reservations"`
	// API holds the bearer tokens of the JSON room API.
	API API `yaml:"api"`
	// SSO makes jitsi-gate Jitsi's inline sign-in service (tokenAuthInline
	// with config.sso.tokenService); off without clients.
	SSO SSO `yaml:"sso"`
	// Invites are guest invitation links (invites.go).
	Invites Invites `yaml:"invites"`

	// lines maps key paths to their line in the file; envOf maps key paths
	// whose whole value was one ${NAME} to NAME. Both are filled by Parse.
	lines map[string]int
	envOf map[string]string
}

// Problem builds a problem at a key path with its line in the file, for
// the components that check their own settings when the gateway is built
// (a key file that is not a key, an LDAP filter that does not compile).
func (c *Config) Problem(path, message, hint string) Problem {
	return Problem{Path: path, Line: lineOf(c.lines, path), Message: message, Hint: hint}
}

// EnvVar returns the environment variable that the value at path was
// written as (jitsi.signing.secret: "${JWT_APP_SECRET}" → JWT_APP_SECRET),
// or "" when it was written out or came from a file.
func (c *Config) EnvVar(path string) string {
	return c.envOf[path]
}

// Server is where the gateway listens and how browsers reach it.
type Server struct {
	// Listen is host:port for the HTTP listener.
	Listen string `yaml:"listen"`
	// PublicURL is the URL browsers use to reach the gateway, e.g.
	// https://meet.example.com/_auth. It is the base of the login,
	// callback and logout URLs; https makes cookies Secure.
	PublicURL string `yaml:"public_url"`
	// TrustedProxies lists CIDRs whose X-Forwarded-For is believed when
	// finding the client address (rate limiting, logs).
	TrustedProxies []string `yaml:"trusted_proxies"`
	// ShutdownDelay is how long the listener keeps serving after SIGTERM
	// while /readyz answers 503, so load balancers stop sending requests
	// before the listener closes. A pointer because 0 (no delay) is a
	// valid setting distinct from "not set"; ApplyDefaults fills it in.
	ShutdownDelay *time.Duration `yaml:"shutdown_delay"`
	// ShutdownTimeout bounds how long requests still in flight after the
	// delay may take to finish.
	ShutdownTimeout time.Duration `yaml:"shutdown_timeout"`
}

// Drain returns server.shutdown_delay and server.shutdown_timeout with
// their defaults for a Config that did not go through ApplyDefaults.
func (s Server) Drain() (delay, timeout time.Duration) {
	delay, timeout = DefaultShutdownDelay, s.ShutdownTimeout
	if s.ShutdownDelay != nil {
		delay = *s.ShutdownDelay
	}
	if timeout == 0 {
		timeout = DefaultShutdownTimeout
	}
	return delay, timeout
}

// Jitsi describes the Jitsi deployment the tokens are for.
type Jitsi struct {
	// URL is the Jitsi base URL. A path (https://host/tenant) means every
	// room lives in that tenant.
	URL string `yaml:"url"`
	// XMPPDomain is the token "sub" when there is no tenant.
	XMPPDomain string `yaml:"xmpp_domain"`
	// AppID is the token "iss"; it equals prosody's app_id (JWT_APP_ID).
	AppID string `yaml:"app_id"`
	// Audience is the token "aud" (a JSON string). Defaults to AppID.
	Audience string `yaml:"audience"`
	// Tenants, when set, is the allow-list of tenants users may ask for.
	Tenants       []string      `yaml:"tenants"`
	Signing       Signing       `yaml:"signing"`
	TokenLifetime time.Duration `yaml:"token_lifetime"`
	// Preview shows the token and its claims instead of redirecting.
	Preview bool `yaml:"preview"`
	// PreviewRealTokens signs the previewed token with the real key, so it
	// works on Jitsi. Off, previews are signed with a throw-away key that
	// no Jitsi accepts: a preview left on in production hands out nothing.
	PreviewRealTokens bool `yaml:"preview_real_tokens"`
	// TokenInFragment sends the token as #jwt="…" instead of ?jwt=…, which
	// keeps it out of web server logs (Jitsi versions that read the hash).
	TokenInFragment bool `yaml:"token_in_fragment"`
}

// Signing selects the JWT algorithm and its key.
type Signing struct {
	// Algorithm is HS256 or RS256.
	Algorithm string `yaml:"algorithm"`
	// Secret is the HS256 shared secret (prosody app_secret, JWT_APP_SECRET).
	Secret     string `yaml:"secret"`
	SecretFile string `yaml:"secret_file"`
	// PrivateKeyFile is the RS256 private key (PEM, PKCS#1 or PKCS#8).
	PrivateKeyFile string `yaml:"private_key_file"`
	// KeyID is the RS256 "kid"; prosody fetches /asap/<sha256hex(kid)>.pem.
	KeyID string `yaml:"key_id"`
	// PreviousPublicKeys are still published (but never used to sign)
	// during an RS256 key rotation.
	PreviousPublicKeys []PublicKey `yaml:"previous_public_keys"`
}

// PublicKey is a retired RS256 key that is still served to Jitsi.
type PublicKey struct {
	KeyID         string `yaml:"key_id"`
	PublicKeyFile string `yaml:"public_key_file"`
}

// Session configures the login cookie.
type Session struct {
	// Secret (at least 32 bytes) derives the cookie signing and encryption
	// keys. Every replica behind a load balancer needs the same one.
	Secret     string `yaml:"secret"`
	SecretFile string `yaml:"secret_file"`
	// Lifetime: after it users must log in again.
	Lifetime time.Duration `yaml:"lifetime"`
	// CookieName defaults to "jitsi_gate".
	CookieName string `yaml:"cookie_name"`
	// RefreshGroups is how old a login's groups may get before they are
	// read again from the backend (LDAP, static users: the same lookup as
	// at login; OIDC: a new sign-in at the provider).
	RefreshGroups time.Duration `yaml:"refresh_groups"`
}

// Backend is one identity backend. Type selects which of the
// type-specific fields apply.
type Backend struct {
	ID    string `yaml:"id"`
	Type  string `yaml:"type"` // static | ldap | oidc
	Label string `yaml:"label"`

	// type: static
	Users []StaticUser `yaml:"users"`

	// type: ldap
	LDAP LDAP `yaml:",inline"`

	// type: oidc
	OIDC OIDC `yaml:",inline"`
}

// StaticUser is an entry of a static backend.
type StaticUser struct {
	Username     string   `yaml:"username"`
	PasswordHash string   `yaml:"password_hash"` // bcrypt
	Name         string   `yaml:"name"`
	Email        string   `yaml:"email"`
	Groups       []string `yaml:"groups"`
}

// LDAP holds the fields of a type: ldap backend.
type LDAP struct {
	URL                string        `yaml:"url"`
	StartTLS           bool          `yaml:"start_tls"`
	CAFile             string        `yaml:"ca_file"`
	InsecureSkipVerify bool          `yaml:"insecure_skip_verify"`
	BindDN             string        `yaml:"bind_dn"`
	BindPassword       string        `yaml:"bind_password"`
	BindPasswordFile   string        `yaml:"bind_password_file"`
	Timeout            time.Duration `yaml:"timeout"`
	UserSearch         UserSearch    `yaml:"user_search"`
	GroupSearch        GroupSearch   `yaml:"group_search"`
	MemberOfAttribute  string        `yaml:"member_of_attribute"`
}

// UserSearch finds the user's entry.
type UserSearch struct {
	BaseDN      string `yaml:"base_dn"`
	Filter      string `yaml:"filter"` // contains {username}
	IDAttribute string `yaml:"id_attribute"`
	// UsernameAttribute holds the username rules match on; empty: the
	// attribute the filter compares with {username}.
	UsernameAttribute string `yaml:"username_attribute"`
	NameAttribute     string `yaml:"name_attribute"`
	EmailAttribute    string `yaml:"email_attribute"`
}

// GroupSearch finds the groups that list the user (or a group) as member.
type GroupSearch struct {
	BaseDN        string `yaml:"base_dn"`
	Filter        string `yaml:"filter"` // contains {dn}
	NameAttribute string `yaml:"name_attribute"`
	Nested        bool   `yaml:"nested"`
}

// OIDC holds the fields of a type: oidc backend.
type OIDC struct {
	Issuer           string   `yaml:"issuer"`
	ClientID         string   `yaml:"client_id"`
	ClientSecret     string   `yaml:"client_secret"`
	ClientSecretFile string   `yaml:"client_secret_file"`
	Scopes           []string `yaml:"scopes"`
	// GroupsClaim is one claim path or several (merged), e.g. groups,
	// realm_access.roles, resource_access.jitsi-gate.roles.
	GroupsClaim StringList        `yaml:"groups_claim"`
	UserInfo    bool              `yaml:"userinfo"`
	NameClaim   string            `yaml:"name_claim"`
	EmailClaim  string            `yaml:"email_claim"`
	IDClaim     string            `yaml:"id_claim"`
	AuthParams  map[string]string `yaml:"auth_params"`
}

// StringList accepts a single string or a list of strings in YAML.
type StringList []string

// Rule maps identities to Jitsi claims. Rules are tried top to bottom; the
// first rule whose match, rooms and tenants all fit decides.
type Rule struct {
	Name  string `yaml:"name"`
	Match Match  `yaml:"match"`
	// Role is owner, member or deny.
	Role        string          `yaml:"role"`
	LobbyBypass *bool           `yaml:"lobby_bypass"`
	Lobby       *bool           `yaml:"lobby"`
	Features    map[string]bool `yaml:"features"`
	// Rooms are glob patterns on the normalised room name; default ["*"].
	Rooms         []string      `yaml:"rooms"`
	TokenLifetime time.Duration `yaml:"token_lifetime"`
	// ManageRooms lets the matched users create rooms (they organize
	// them); Admin lets them see and change every room. Rights of the
	// user, not of the rule's rooms: only on allowing rules without
	// match.tenants, match.room_role or room patterns other than "*".
	ManageRooms bool `yaml:"manage_rooms"`
	Admin       bool `yaml:"admin"`
}

// Match selects identities. Every non-empty list must match (any element
// of it); an empty match selects everyone.
type Match struct {
	Groups   []string `yaml:"groups"`
	Backends []string `yaml:"backends"`
	Users    []string `yaml:"users"`
	Tenants  []string `yaml:"tenants"`
	// RoomRole is the user's relation to a room of the registry:
	// organizer, participant, registered (any registered room) or
	// unregistered (a room not in the registry).
	RoomRole []string `yaml:"room_role"`
}

// UI is the branding a school can put on the pages without rebuilding.
type UI struct {
	Title        string `yaml:"title"`
	LogoFile     string `yaml:"logo_file"`
	PrimaryColor string `yaml:"primary_color"`
	FooterHTML   string `yaml:"footer_html"`
	TemplatesDir string `yaml:"templates_dir"`
	// DefaultLanguage is used when Accept-Language names none we have.
	DefaultLanguage string `yaml:"default_language"`
}

// Log configures log/slog output.
type Log struct {
	Level  string `yaml:"level"`  // debug | info | warn | error
	Format string `yaml:"format"` // text | json
}

// RateLimit bounds failed password logins.
type RateLimit struct {
	// PerUser is the number of failed attempts per username and client
	// network (IPv4 address, IPv6 /64) per Window. Someone guessing from
	// elsewhere does not lock the user out of their own client.
	PerUser int `yaml:"per_user"`
	// PerUserGlobal caps failed attempts per username from all networks
	// together per Window; default 10 × PerUser.
	PerUserGlobal int `yaml:"per_user_global"`
	// PerIP is the number of attempts per client network per Window.
	PerIP  int           `yaml:"per_ip"`
	Window time.Duration `yaml:"window"`
}

// Metrics configures the Prometheus /metrics listener.
type Metrics struct {
	// Listen is host:port of a listener of its own (never the public one:
	// the numbers are for the operator) that serves /metrics. Empty, the
	// default, switches metrics off.
	Listen string `yaml:"listen"`
}

// Store selects the database.
type Store struct {
	// Driver is sqlite (embedded, one process; the default) or postgres
	// (several replicas share one database).
	Driver string `yaml:"driver"`
	// Path is the SQLite database file (sqlite only), relative to the
	// directory of the config file like every file name; default
	// DefaultStorePath.
	Path string `yaml:"path"`
	// DSN is the PostgreSQL connection string (postgres only). It is a
	// secret (it may hold a password) and is never printed.
	DSN     string `yaml:"dsn"`
	DSNFile string `yaml:"dsn_file"`
}

// Rooms holds the defaults of registered rooms.
type Rooms struct {
	// Timezone is the IANA zone of weekly slots when a room names none.
	// Validate only checks that it is set; the room service loads it.
	Timezone string `yaml:"timezone"`
	// OpenEarly is how long before a slot organizers may open a room, for
	// rooms that set none. A pointer: 0 (not early) differs from "not set".
	OpenEarly *time.Duration `yaml:"open_early"`
	// Grace is added to the end of a slot before Prosody closes the room,
	// so a running lesson is not cut off on the minute. A pointer: 0 (no
	// grace) differs from "not set".
	Grace *time.Duration `yaml:"grace"`
}

// Reservations configures the API Prosody's mod_reservations asks before
// it creates a room.
type Reservations struct {
	// Token is the bearer token Prosody sends (reservations_api_headers);
	// no token means the API is off. Its length is checked by the
	// reservation component.
	Token     string `yaml:"token"`
	TokenFile string `yaml:"token_file"`
	// UnregisteredRooms is deny (only registered rooms can be created) or
	// allow (any room, reserved for DefaultDuration).
	UnregisteredRooms string `yaml:"unregistered_rooms"`
	// DefaultDuration is how long rooms without a time window are reserved
	// (registered rooms without slots, and unregistered ones under allow).
	DefaultDuration time.Duration `yaml:"default_duration"`
}

// API configures the JSON room API (<public_url>/api/v1/rooms). Browsers
// use it with their login cookie; scripts (a timetable sync) with one of
// these tokens, which have admin rights.
type API struct {
	Tokens []APIToken `yaml:"tokens"`
}

// APIToken is one script's bearer token.
type APIToken struct {
	// Name says whose token it is; it appears in the audit log and as
	// the creator of the rooms it makes ("api:NAME").
	Name string `yaml:"name"`
	// Token is sent as "Authorization: Bearer <token>"; at least
	// MinAPITokenBytes.
	Token     string `yaml:"token"`
	TokenFile string `yaml:"token_file"`
}

// Enabled reports whether the reservation API is on (a token is set).
func (r Reservations) Enabled() bool { return r.Token != "" }

// SSO configures the authorization server behind Jitsi's inline sign-in
// (static/sso.html): <public_url>/sso/authorize, /sso/token, /sso/logout.
type SSO struct {
	// Clients are the Jitsi web clients allowed to ask; empty switches the
	// endpoints off.
	Clients []SSOClient `yaml:"clients"`
	// RefreshTokenLifetime bounds a refresh token (a meeting refreshes
	// its token without a new login for this long, and never beyond the
	// login itself).
	RefreshTokenLifetime time.Duration `yaml:"refresh_token_lifetime"`
}

// SSOClient is one Jitsi web client (config.sso.clientId).
type SSOClient struct {
	ClientID string `yaml:"client_id"`
	// RedirectURIs are compared as exact strings with the redirect_uri
	// Jitsi sends: https://<jitsi host>/static/sso.html.
	RedirectURIs []string `yaml:"redirect_uris"`
}

// Enabled reports whether the inline sign-in endpoints are on.
func (s SSO) Enabled() bool { return len(s.Clients) > 0 }

// Early returns rooms.open_early and rooms.grace with their defaults for a
// Config that did not go through ApplyDefaults.
func (r Rooms) Early() (openEarly, grace time.Duration) {
	openEarly, grace = DefaultOpenEarly, DefaultGrace
	if r.OpenEarly != nil {
		openEarly = *r.OpenEarly
	}
	if r.Grace != nil {
		grace = *r.Grace
	}
	return openEarly, grace
}
