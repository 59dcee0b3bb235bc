// Package jitsiconf derives the Jitsi-side settings that match a jitsi-gate
// configuration: what prosody must accept (app_id, issuers, audiences,
// secret or key server, the token modules the rules need), what jicofo must
// stop doing, and where Jitsi's web client sends users to log in and out.
//
// Most failed deployments are a mismatch between the token maker and Jitsi,
// so the settings are computed from the same config the gateway mints with
// and printed in the three shapes admins paste them into: a
// docker-jitsi-meet .env, prosody/jicofo config lines for a Debian install,
// and config.js lines.
//
// Facts come from docs/reference/jitsi-contract.md; the section numbers in
// comments refer to it, except those marked "rooms §", which refer to
// docs/reference/jitsi-rooms-and-sso.md (Prosody's mod_reservations). The
// output never contains a secret.
package jitsiconf

import (
	"fmt"
	"net"
	"net/url"
	"slices"
	"strings"

	"github.com/jitsi-gate/jitsi-gate/internal/config"
	ssoserver "github.com/jitsi-gate/jitsi-gate/internal/sso"
)

// The output formats.
const (
	FormatEnv      = "env"      // docker-jitsi-meet .env lines
	FormatProsody  = "prosody"  // prosody cfg.lua + jicofo.conf lines (Debian)
	FormatConfigJS = "configjs" // config.js / custom-config.js lines
)

// Formats lists the formats Generate understands, the default first.
func Formats() []string { return []string{FormatEnv, FormatProsody, FormatConfigJS} }

// Prosody module names (§4, §5).
const (
	ModTokenVerification  = "token_verification"
	ModTokenAffiliation   = "token_affiliation"
	ModTokenLobbyBypass   = "token_lobby_bypass"
	ModTokenLobbyOnDemand = "token_lobby_ondemand"
	ModPersistentLobby    = "persistent_lobby"
	// ModReservations is jitsi-meet's mod_reservations; it goes on the main
	// VirtualHost, where it intercepts the conference requests of the
	// users logged in there (rooms §1.1, §1.2).
	ModReservations = "reservations"
)

// ReservationsPath is where jitsi-gate serves Prosody's reservation API
// below server.public_url; Prosody appends /conference (rooms §1.3).
const ReservationsPath = "/reservations"

// DockerXMPPDomain is docker-jitsi-meet's default XMPP_DOMAIN.
const DockerXMPPDomain = "meet.jitsi"

// DockerServiceAlias is the network alias the compose override in
// docs/examples/docker-jitsi-meet gives the gateway on the meet.jitsi network.
const DockerServiceAlias = "jitsi-gate.meet.jitsi"

// Options are facts about the config that the parsed Config no longer
// carries.
type Options struct {
	// SecretEnv is the environment variable jitsi.signing.secret was read
	// from (see SecretEnv), "" when it was written in the file or unknown.
	SecretEnv string
	// Source names the config in the header comment ("" = not named).
	Source string
	// ReservationsTokenEnv is the environment variable reservations.token
	// was read from (Config.EnvVar("reservations.token")), "" when it was
	// written in the file or unknown.
	ReservationsTokenEnv string
}

// Settings are the Jitsi-side values that agree with a gateway config.
// Every format is rendered from them, and tests configure a verifier from
// them, so the printed text and the checked values cannot differ.
type Settings struct {
	Source string

	// Algorithm is HS256 or RS256 (prosody derives it: app_secret → HS256,
	// asap_key_server → RS256; §1.2).
	Algorithm string
	// AppID is prosody's app_id (JWT_APP_ID), the gateway's iss.
	AppID string
	// SecretRef says where prosody's app_secret comes from, never the
	// secret: "${JWT_APP_SECRET}", "<contents of FILE>", ... HS256 only.
	SecretRef string
	// SecretPlaceholder is the same as a "<...>" placeholder, for config
	// files that do not expand variables (prosody).
	SecretPlaceholder string
	// SecretShared is true when jitsi-gate reads its secret from
	// ${JWT_APP_SECRET}, so one .env line serves both.
	SecretShared bool
	// ASAPKeyServer is asap_key_server (JWT_ASAP_KEYSERVER), RS256 only:
	// <public_url>/asap, no trailing slash (§2.1).
	ASAPKeyServer string
	// ASAPKeyServerInternal is the same inside the docker network.
	ASAPKeyServerInternal string
	// JWKSURL is the alternative cache_keys_url (§2.2), RS256 only.
	JWKSURL string
	// KeyID is the current kid, RS256 only.
	KeyID string

	AcceptedIssuers   []string
	AcceptedAudiences []string
	// XMPPDomain is the prosody VirtualHost and the token sub without a
	// tenant.
	XMPPDomain string
	// EnableDomainVerification: the gateway always sends sub = tenant or
	// XMPP domain, so prosody may check it (§1.5).
	EnableDomainVerification bool
	// AllowEmptyToken is always false: no token, no entry.
	AllowEmptyToken bool

	// MUCModules go on the conference component; the first is
	// token_verification, which docker loads by itself.
	MUCModules []string
	// HostModules go on the VirtualHost (persistent_lobby).
	HostModules []string

	// PublicURL is the gateway's server.public_url.
	PublicURL string
	// JitsiURL is the Jitsi base URL without a tenant (docker PUBLIC_URL).
	JitsiURL string
	// TokenAuthURL is config.tokenAuthUrl (TOKEN_AUTH_URL).
	TokenAuthURL string
	// TokenLogoutURL is config.tokenLogoutUrl.
	TokenLogoutURL string

	// Tenants are the tenants the config names (jitsi.url, jitsi.tenants,
	// rules' match.tenants); empty when it names none.
	Tenants []string
	// FeatureRules are the rules that set context.features.
	FeatureRules []string
	// LobbyRules and LobbyBypassRules are the rules that set lobby: true /
	// lobby_bypass: true.
	LobbyRules, LobbyBypassRules []string

	// Preview is jitsi.preview: the gateway does not redirect to Jitsi.
	Preview bool

	// Reservations is Prosody's side of the reservation API; nil when
	// reservations are off (no reservations.token).
	Reservations *Reservations

	// SSO is the web client's side of the inline sign-in; nil when
	// sso.clients is empty. TokenAuthURL and TokenLogoutURL are then its
	// authorize and logout URLs.
	SSO *SSO

	// Warnings are printed as comments in every format.
	Warnings []string
	// DockerWarnings only concern docker-jitsi-meet (format env).
	DockerWarnings []string
}

// Reservations are the mod_reservations settings that agree with the
// gateway's reservation API (rooms §1.3-§1.6).
type Reservations struct {
	// APIPrefix is reservations_api_prefix (docker:
	// PROSODY_RESERVATION_REST_BASE_URL): <public_url>/reservations with no
	// trailing slash, which would make Prosody request //conference (§1.8).
	APIPrefix string
	// APIPrefixInternal is the same inside the docker network.
	APIPrefixInternal string
	// TokenRef says where the bearer token comes from, never the token:
	// "${VAR}" when the gateway reads it from VAR (compose expands it in
	// the .env), otherwise a "<...>" placeholder.
	TokenRef string
	// TokenPlaceholder is the same for prosody's config files, which do
	// not expand variables.
	TokenPlaceholder string
	// LobbySupport, PasswordSupport and MaxOccupants are the module's
	// reservations_enable_* switches (§1.6). All are on: any registered
	// room may have a lobby, a password or a size, and the API sends them
	// only for rooms that have them.
	LobbySupport, PasswordSupport, MaxOccupants bool
	// UnregisteredRooms is reservations.unregistered_rooms (deny, allow).
	UnregisteredRooms string
}

// SSO are the config.js settings of Jitsi's inline sign-in
// (tokenAuthInline, config.sso; rooms §2.1, §2.2 E), for the first client.
type SSO struct {
	ClientID    string
	RedirectURI string
	// TokenService is config.sso.tokenService: the gateway's /sso without
	// the scheme (sso.html posts to https://{tokenService}/token).
	TokenService string
}

// SSOPath is where jitsi-gate serves the inline sign-in below
// server.public_url.
const SSOPath = "/sso"

// LuaOption is one line `Name = Value` of prosody's Lua config; Value is
// Lua source.
type LuaOption struct{ Name, Value string }

// Header is the reservations_api_headers entry that carries the token.
const reservationsAuthHeader = "Authorization"

// Options are the reservations_* lines for the main VirtualHost besides
// reservations_api_prefix (docker writes that one from
// PROSODY_RESERVATION_REST_BASE_URL), with token in the Authorization
// header. The header table separates entries with ';': docker splits
// XMPP_CONFIGURATION at every comma (§1.1).
func (r *Reservations) Options(token string) []LuaOption {
	opts := []LuaOption{{"reservations_api_headers",
		"{ [" + luaString(reservationsAuthHeader) + "] = " + luaString("Bearer "+token) + "; }"}}
	for _, sw := range []struct {
		name string
		on   bool
	}{
		{"reservations_enable_lobby_support", r.LobbySupport},
		{"reservations_enable_password_support", r.PasswordSupport},
		{"reservations_enable_max_occupants", r.MaxOccupants},
	} {
		opts = append(opts, LuaOption{sw.name, fmt.Sprint(sw.on)})
	}
	return opts
}

// Needs reports whether module is in MUCModules or HostModules.
func (s *Settings) Needs(module string) bool {
	return slices.Contains(s.MUCModules, module) || slices.Contains(s.HostModules, module)
}

// Build computes the Settings for a parsed, valid config.
func Build(cfg *config.Config, opts Options) (*Settings, error) {
	if cfg == nil {
		return nil, fmt.Errorf("jitsiconf: no config")
	}
	j := cfg.Jitsi
	publicURL := strings.TrimRight(cfg.Server.PublicURL, "/")
	pu, err := url.Parse(publicURL)
	if err != nil || pu.Host == "" {
		return nil, fmt.Errorf("jitsiconf: server.public_url %q is not an absolute URL", cfg.Server.PublicURL)
	}
	ju, err := url.Parse(strings.TrimRight(j.URL, "/"))
	if err != nil || ju.Host == "" {
		return nil, fmt.Errorf("jitsiconf: jitsi.url %q is not an absolute URL", j.URL)
	}
	audience := j.Audience
	if audience == "" {
		audience = j.AppID
	}

	s := &Settings{
		Source:                   opts.Source,
		Algorithm:                j.Signing.Algorithm,
		AppID:                    j.AppID,
		AcceptedIssuers:          []string{j.AppID},
		AcceptedAudiences:        []string{audience},
		XMPPDomain:               j.XMPPDomain,
		EnableDomainVerification: true,
		AllowEmptyToken:          false,
		MUCModules:               []string{ModTokenVerification},
		PublicURL:                publicURL,
		JitsiURL:                 (&url.URL{Scheme: ju.Scheme, Host: ju.Host}).String(),
		TokenAuthURL:             publicURL + "/login?state={state}",
		TokenLogoutURL:           publicURL + "/logout",
		Preview:                  j.Preview,
	}

	// The gateway as the other containers on the meet.jitsi network reach
	// it (docs/examples/docker-jitsi-meet).
	port := "8080"
	if _, p, err := net.SplitHostPort(cfg.Server.Listen); err == nil && p != "" && p != "0" {
		port = p
	}
	internalURL := "http://" + DockerServiceAlias + ":" + port + pu.EscapedPath()

	switch s.Algorithm {
	case "HS256":
		switch {
		case j.Signing.SecretFile != "":
			s.SecretRef = "<contents of " + j.Signing.SecretFile + ">"
		case opts.SecretEnv == "JWT_APP_SECRET":
			s.SecretRef, s.SecretShared = "${JWT_APP_SECRET}", true
			s.SecretPlaceholder = "<value of JWT_APP_SECRET>"
		case opts.SecretEnv != "":
			s.SecretRef = "<same value as ${" + opts.SecretEnv + "}>"
		default:
			s.SecretRef = "<same value as jitsi.signing.secret>"
		}
		if s.SecretPlaceholder == "" {
			s.SecretPlaceholder = s.SecretRef
		}
	case "RS256":
		s.ASAPKeyServer = publicURL + "/asap"
		s.JWKSURL = publicURL + "/.well-known/jwks.json"
		s.KeyID = j.Signing.KeyID
		s.ASAPKeyServerInternal = internalURL + "/asap"
	default:
		return nil, fmt.Errorf("jitsiconf: jitsi.signing.algorithm %q is not supported", s.Algorithm)
	}

	// Modules from the rules (§1.9, §5).
	affiliation := false
	for _, r := range cfg.Rules {
		if r.Role != "owner" && r.Role != "member" {
			continue // deny rules issue no token
		}
		affiliation = true
		if r.LobbyBypass != nil && *r.LobbyBypass {
			s.LobbyBypassRules = append(s.LobbyBypassRules, r.Name)
		}
		if r.Lobby != nil && *r.Lobby {
			s.LobbyRules = append(s.LobbyRules, r.Name)
		}
		if len(r.Features) > 0 {
			s.FeatureRules = append(s.FeatureRules, r.Name)
		}
	}
	if affiliation {
		s.MUCModules = append(s.MUCModules, ModTokenAffiliation)
	}
	if len(s.LobbyBypassRules) > 0 {
		s.MUCModules = append(s.MUCModules, ModTokenLobbyBypass)
	}
	if len(s.LobbyRules) > 0 {
		s.MUCModules = append(s.MUCModules, ModTokenLobbyOnDemand)
	}
	// persistent_lobby provides the event that creates the lobby room:
	// token_lobby_ondemand needs it, and so do token_lobby_autostart and
	// lobby_autostart of the "Lobby always on" recipe (docs/recipes.md),
	// which pairs them with lobby_bypass rules. Without it those modules do
	// nothing and rooms the admin believes locked are open. For a lobby a
	// moderator switches on by hand it is harmless.
	if len(s.LobbyRules) > 0 || len(s.LobbyBypassRules) > 0 {
		s.HostModules = append(s.HostModules, ModPersistentLobby)
	}
	if cfg.Reservations.Enabled() {
		s.Reservations = buildReservations(cfg, opts, publicURL, internalURL)
		// The lobby of a room registered with one is created through
		// persistent_lobby's event, like the lobby modules' (rooms §1.6).
		if s.Reservations.LobbySupport && !slices.Contains(s.HostModules, ModPersistentLobby) {
			s.HostModules = append(s.HostModules, ModPersistentLobby)
		}
		s.HostModules = append(s.HostModules, ModReservations)
	}

	if cfg.SSO.Enabled() {
		c := cfg.SSO.Clients[0]
		sso := &SSO{ClientID: c.ClientID, TokenService: pu.Host + strings.TrimSuffix(pu.EscapedPath(), "/") + SSOPath}
		if len(c.RedirectURIs) > 0 {
			sso.RedirectURI = c.RedirectURIs[0]
		}
		s.SSO = sso
		// Jitsi substitutes {state} (encodeURIComponent of its JSON) and
		// {code_challenge} (base64url), and appends &nonce=… itself.
		s.TokenAuthURL = publicURL + SSOPath + "/authorize?client_id=" + url.QueryEscape(sso.ClientID) +
			"&response_type=code&scope=openid&state={state}&redirect_uri=" + url.QueryEscape(sso.RedirectURI) +
			"&code_challenge={code_challenge}&code_challenge_method=S256"
		// Jitsi appends &id_token_hint=… and loads it in a hidden iframe.
		logoutPage, _ := ssoserver.LogoutPage(sso.RedirectURI)
		s.TokenLogoutURL = publicURL + SSOPath + "/logout?client_id=" + url.QueryEscape(sso.ClientID) +
			"&post_logout_redirect_uri=" + url.QueryEscape(logoutPage)
	}

	addTenant := func(t string) {
		if t != "" && !slices.Contains(s.Tenants, t) {
			s.Tenants = append(s.Tenants, t)
		}
	}
	addTenant(j.PathTenant())
	for _, t := range j.Tenants {
		addTenant(t)
	}
	for _, r := range cfg.Rules {
		for _, t := range r.Match.Tenants {
			addTenant(t)
		}
	}

	s.Warnings = warnings(s)
	if s.Reservations != nil && !tokenSafe(cfg.Reservations.Token) {
		s.Warnings = append(s.Warnings, "reservations.token has characters other than letters, digits and -._~+/=: "+
			"prosody's config takes it inside a Lua string and docker splits XMPP_CONFIGURATION at commas, "+
			"so the header prosody sends would differ; use openssl rand -hex 32.")
	}
	if s.XMPPDomain != DockerXMPPDomain {
		s.DockerWarnings = append(s.DockerWarnings, "jitsi.xmpp_domain is "+s.XMPPDomain+
			" but docker-jitsi-meet's XMPP_DOMAIN defaults to "+DockerXMPPDomain+
			"; they must be equal (it is the token's sub), or room verification fails.")
	}
	return s, nil
}

func buildReservations(cfg *config.Config, opts Options, publicURL, internalURL string) *Reservations {
	r := &Reservations{
		APIPrefix:         publicURL + ReservationsPath,
		APIPrefixInternal: internalURL + ReservationsPath,
		LobbySupport:      true,
		PasswordSupport:   true,
		MaxOccupants:      true,
		UnregisteredRooms: cfg.Reservations.UnregisteredRooms,
	}
	switch {
	case cfg.Reservations.TokenFile != "":
		r.TokenRef = "<contents of " + cfg.Reservations.TokenFile + ">"
		r.TokenPlaceholder = r.TokenRef
	case opts.ReservationsTokenEnv != "":
		r.TokenRef = "${" + opts.ReservationsTokenEnv + "}"
		r.TokenPlaceholder = "<value of " + opts.ReservationsTokenEnv + ">"
	default:
		r.TokenRef = "<same value as reservations.token>"
		r.TokenPlaceholder = r.TokenRef
	}
	return r
}

// tokenSafe reports whether a bearer token survives being pasted into a
// Lua string and docker's comma-split XMPP_CONFIGURATION unchanged.
func tokenSafe(token string) bool {
	for _, c := range token {
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || strings.ContainsRune("-._~+/=", c)) {
			return false
		}
	}
	return true
}

func warnings(s *Settings) []string {
	w := []string{
		"jicofo auth must be off (docker: JICOFO_ENABLE_AUTH=0; jicofo.conf: authentication.enabled = false) " +
			"or every token holder becomes moderator: jicofo makes every authenticated user an owner.",
		"ENABLE_AUTO_OWNER=false (jicofo conference.enable-auto-owner = false): otherwise the first person " +
			"in a room becomes moderator whatever the token says.",
		"do not load muc_allowners: it makes everyone an owner.",
		"muc_wait_for_host needs wait_for_host_disable_auto_owners = true " +
			"(docker: WAIT_FOR_HOST_DISABLE_AUTO_OWNERS=true), or every token user becomes owner on join.",
		"allow no guests: no guest VirtualHost / hosts.anonymousdomain (docker: ENABLE_GUESTS=0), " +
			"and allow_empty_token = false (JWT_ALLOW_EMPTY=0); otherwise people get in without a token " +
			"and Jitsi never asks for one.",
	}
	if slices.Contains(s.MUCModules, ModTokenAffiliation) {
		w = append(w, "token_affiliation is in Jitsi core since 2026; check that yours has it: "+
			"ls /usr/share/jitsi-meet/prosody-plugins/mod_token_affiliation.lua "+
			"(docker: docker compose exec prosody ls /prosody-plugins/mod_token_affiliation.lua). "+
			"If it is missing (older Jitsi), nobody becomes moderator: list token_affiliation_legacy "+
			"instead of token_affiliation. It is jitsi-contrib's module (called token_affiliation before "+
			"contrib v20260523); docker's prosody image bundles it as the directory "+
			"/prosody-plugins-contrib/token_affiliation_legacy/; on Debian nothing installs it: clone "+
			"github.com/jitsi-contrib/prosody-plugins and add that directory to plugin_paths.")
	}
	var contrib []string
	for _, m := range s.MUCModules {
		if m == ModTokenLobbyBypass || m == ModTokenLobbyOnDemand {
			contrib = append(contrib, m)
		}
	}
	switch len(contrib) {
	case 1:
		w = append(w, contrib[0]+" comes from jitsi-contrib/prosody-plugins: docker's prosody image bundles it; "+
			"on Debian copy it into a directory listed in plugin_paths.")
	case 2:
		w = append(w, strings.Join(contrib, " and ")+" come from jitsi-contrib/prosody-plugins: "+
			"docker's prosody image bundles them; on Debian copy them into a directory listed in plugin_paths.")
	}
	if len(s.LobbyRules) > 0 {
		w = append(w, "with token_lobby_ondemand every token user without lobby:true skips an active lobby, "+
			"also a lobby a moderator switched on by hand (rules with lobby: true: "+strings.Join(s.LobbyRules, ", ")+").")
	}
	if len(s.Tenants) > 0 {
		w = append(w, "tenants ("+strings.Join(s.Tenants, ", ")+") need muc_mapper_domain_base = \""+s.XMPPDomain+
			"\" in prosody's global section (with domain verification, otherwise \"Misconfiguration of server\"); "+
			"docker-jitsi-meet and the Debian packages set it already: check it is there.")
	}
	if len(s.FeatureRules) > 0 {
		w = append(w, "rules "+strings.Join(s.FeatureRules, ", ")+" set features: a token with context.features "+
			"overrides Jitsi's moderator defaults; every feature not listed is OFF, for moderators too "+
			"(screen-sharing excepted, it is client-side only).")
	}
	if s.Algorithm == "RS256" {
		w = append(w, "RS256: prosody caches public keys by kid until it restarts; rotate by creating a key with a "+
			"new key_id and keep the old one in previous_public_keys until its tokens have expired.")
	}
	if r := s.Reservations; r != nil {
		w = append(w, "reservations: prosody asks jitsi-gate before it creates a room and fails closed: while "+
			"jitsi-gate does not answer, no new room opens (connection failures and 5xx are retried 3 times, 3 s "+
			"apart; a hang waits 20 s; a refusal is cached for that room for 30-90 s). Rooms already running go on. "+
			"Run it highly available (docs/rooms.md).")
		w = append(w, "reservations: do not set config.conferenceRequestUrl, and block /conference-request/v1 in "+
			"nginx (docs/rooms.md): a conference requested over HTTP goes straight to jicofo, and prosody's "+
			"reservation check never runs.")
		if r.PasswordSupport {
			w = append(w, "reservations: a room registered with a password asks everyone for it, token users "+
				"included (check on your version); organizers see it with jitsi-gate rooms show -show-password.")
		}
	}
	if s.Preview {
		w = append(w, "jitsi.preview is on: jitsi-gate shows users their token instead of sending them to Jitsi; "+
			"turn it off for real use.")
	}
	if s.SSO != nil {
		w = append(w, "sso: Jitsi's sso.html posts to https://"+s.SSO.TokenService+"/token; serve jitsi-gate on the "+
			"Jitsi origin (nginx location "+strings.TrimPrefix(s.SSO.TokenService, hostOf(s.PublicURL))+"/ → jitsi-gate, docs/sso.md) "+
			"so no CORS, third-party cookie or framing rules get in the way.")
		if strings.HasPrefix(s.PublicURL, "http://") {
			w = append(w, "sso: server.public_url is http, but sso.html only posts to https: the inline sign-in cannot work.")
		}
	}
	if strings.HasPrefix(s.PublicURL, "http://") {
		w = append(w, "server.public_url is http: browsers send passwords and cookies in clear text; use https in production.")
	}
	return w
}

// Generate renders the Jitsi-side settings for cfg in format (env, prosody
// or configjs; "" means env).
func Generate(cfg *config.Config, format string) (string, error) {
	return GenerateWith(cfg, format, Options{})
}

// GenerateWith is Generate with options (the secret's variable, the
// config's name).
func GenerateWith(cfg *config.Config, format string, opts Options) (string, error) {
	s, err := Build(cfg, opts)
	if err != nil {
		return "", err
	}
	return s.Render(format)
}

// Render renders the settings in format ("" means env).
func (s *Settings) Render(format string) (string, error) {
	switch format {
	case FormatEnv, "":
		return s.renderEnv(), nil
	case FormatProsody:
		return s.renderProsody(), nil
	case FormatConfigJS:
		return s.renderConfigJS(), nil
	default:
		return "", fmt.Errorf("jitsiconf: unknown format %q (use %s)", format, strings.Join(Formats(), ", "))
	}
}

// hostOf is the host of an absolute URL ("" when it has none).
func hostOf(raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		return ""
	}
	return u.Host
}
