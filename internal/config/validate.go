package config

import (
	"fmt"
	"net"
	"net/url"
	"path"
	"path/filepath"
	"reflect"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode"

	"golang.org/x/crypto/bcrypt"
)

// Limits an admin can hit.
const (
	MaxTokenLifetime   = 24 * time.Hour
	MaxSessionLifetime = 30 * 24 * time.Hour
)

var (
	// tenantRE is a DNS label, as Jitsi needs for a tenant (it becomes a
	// subdomain of the MUC component).
	tenantRE = regexp.MustCompile(`^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$`)
	// idRE is app_id, audience and key_id: they are pasted into prosody
	// Lua string literals and the docker .env.
	idRE = regexp.MustCompile(`^[A-Za-z0-9_.-]+$`)
	// backendIDRE: the backend id is part of URLs (/login/{id}).
	backendIDRE = regexp.MustCompile(`^[a-z0-9][a-z0-9_-]{0,31}$`)
	// hsSecretRE: the HS256 secret is pasted into a Lua string literal
	// (prosody app_secret), so only characters that need no escaping.
	hsSecretRE = regexp.MustCompile(`^[A-Za-z0-9_+/=.-]+$`)
	hostnameRE = regexp.MustCompile(`^([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)*[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$`)
	colorRE    = regexp.MustCompile(`^#([0-9a-fA-F]{3}|[0-9a-fA-F]{6})$`)
)

// KnownFeatures returns the context.features keys Jitsi reads (docs/reference/jitsi-contract.md
// §1.7), the only keys rules[].features accepts.
func KnownFeatures() []string { return slices.Clone(knownFeatures) }

var knownFeatures = []string{
	"recording", "livestreaming", "transcription", "outbound-call", "sip-outbound-call",
	"inbound-call", "sip-inbound-call", "screen-sharing", "create-polls", "send-groupchat",
	"file-upload", "flip", "live-translation", "list-visitors", "name-readonly",
}

// boolishWords are dropped by docker-jitsi-meet's toBool when used as
// JWT_APP_SECRET, leaving prosody without a secret.
var boolishWords = []string{"0", "1", "f", "t", "false", "true", "no", "yes", "off", "on"}

// demoPasswordHashes are the bcrypt hashes of the demo accounts in
// config.example.yaml (password = username). A test keeps the list in step
// with the file.
var demoPasswordHashes = []string{
	"$2a$10$s4jkqGxm1GGMOPlaZ485duGahQPGF5Qq5idEcqcHPYt1/YYFxe7ZO", // teacher
	"$2a$10$NjiUAmMVuo.MN9b2ZxnhEOTj54XqJJNyVj0wZx1QSuPV6mizIFftS", // student
	"$2a$10$WcZ4vrT/UnLf1.KZlIoJdebd9ETqHgjje..HUyJ7QHpVoO3xykP7q", // parent
}

const secretHint = "generate one with: openssl rand -hex 32"

// Validate checks the configuration (with defaults applied, as Parse does)
// and returns every problem as a *Problems, or nil. It reads no files: the
// keys, CA bundles, logo and templates a configuration names are read and
// checked by the components that use them when the gateway is built.
func (c *Config) Validate() error {
	v := &collector{}
	c.validateServer(v)
	c.validateJitsi(v)
	c.validateSession(v)
	c.validateBackends(v)
	c.validateRules(v)
	c.validateUI(v)
	c.validateLog(v)
	c.validateRateLimit(v)
	c.validateMetrics(v)
	c.validateStore(v)
	c.validateRooms(v)
	c.validateReservations(v)
	c.validateAPI(v)
	c.validateSSO(v)
	c.validateInvites(v)
	c.validateDemoSecrets(v)
	if len(v.problems) == 0 {
		return nil
	}
	return &v.problems
}

// checkHTTPURL validates an absolute http(s) URL without query or
// fragment. It returns nil (after recording a problem) when raw is bad.
func checkHTTPURL(v *collector, p, raw, example string) *url.URL {
	if raw == "" {
		v.add(p, "is required", "e.g. "+example)
		return nil
	}
	u, err := url.Parse(raw)
	if err != nil || u.Host == "" || (u.Scheme != "http" && u.Scheme != "https") {
		v.add(p, fmt.Sprintf("%q is not an absolute http(s) URL", raw), "e.g. "+example)
		return nil
	}
	if u.RawQuery != "" || u.ForceQuery || u.Fragment != "" || strings.Contains(raw, "#") {
		v.add(p, "must not have a query (?...) or fragment (#...)", "e.g. "+example)
		return nil
	}
	if u.User != nil {
		v.add(p, "must not contain a user name or password", "e.g. "+example)
		return nil
	}
	return u
}

func isLoopbackHost(host string) bool {
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// Upper bounds of server.shutdown_delay and server.shutdown_timeout.
const (
	maxShutdownDelay   = 2 * time.Minute
	maxShutdownTimeout = 5 * time.Minute
)

// checkListen validates a host:port listen address.
func checkListen(v *collector, p, addr, example, everyInterface string) {
	if host, port, err := net.SplitHostPort(addr); err != nil {
		v.add(p, fmt.Sprintf("%q is not a host:port address", addr),
			"e.g. "+example+", or "+everyInterface+" for every interface")
	} else if n, err := strconv.Atoi(port); err != nil || n < 0 || n > 65535 {
		v.add(p, fmt.Sprintf("port %q is not a number from 0 to 65535", port), "e.g. "+example)
	} else if host != "" && net.ParseIP(host) == nil && !hostnameRE.MatchString(strings.ToLower(host)) {
		v.add(p, fmt.Sprintf("%q is not an IP address or host name", host), "e.g. "+example)
	}
}

func (c *Config) validateServer(v *collector) {
	s := c.Server
	checkListen(v, "server.listen", s.Listen, "127.0.0.1:8080", ":8080")
	checkHTTPURL(v, "server.public_url", s.PublicURL,
		"https://meet.example.com/_auth (the URL browsers use to reach jitsi-gate)")
	// The bounds keep a typo (5m for 5s) from holding a rolling restart
	// for hours; the orchestrator's grace period must cover both.
	delay, timeout := s.Drain()
	if delay < 0 || delay > maxShutdownDelay {
		v.add("server.shutdown_delay", fmt.Sprintf("%s is not between 0s and %s", delay, maxShutdownDelay),
			"e.g. 5s: a little longer than the load balancer's health-check interval")
	}
	if timeout < time.Second || timeout > maxShutdownTimeout {
		v.add("server.shutdown_timeout", fmt.Sprintf("%s is not between 1s and %s", timeout, maxShutdownTimeout),
			"e.g. 20s; keep delay + timeout below the orchestrator's grace period (Kubernetes: 30s)")
	}
	for i, cidr := range s.TrustedProxies {
		p := index("server.trusted_proxies", i)
		if _, _, err := net.ParseCIDR(cidr); err != nil {
			hint := "e.g. 10.0.0.0/8 or 172.16.0.0/12"
			if ip := net.ParseIP(cidr); ip != nil {
				bits := "/32"
				if ip.To4() == nil {
					bits = "/128"
				}
				hint = fmt.Sprintf("for a single address write %s%s", cidr, bits)
			}
			v.add(p, fmt.Sprintf("%q is not a CIDR network", cidr), hint)
		}
	}
}

func (c *Config) validateJitsi(v *collector) {
	j := c.Jitsi
	if u := checkHTTPURL(v, "jitsi.url", j.URL, "https://meet.example.com"); u != nil {
		segs := strings.Split(strings.Trim(u.Path, "/"), "/")
		switch {
		case u.Path == "" || u.Path == "/":
		case len(segs) > 1:
			v.add("jitsi.url", fmt.Sprintf("path %q has more than one segment", u.Path),
				"write the Jitsi base URL, https://meet.example.com, or with a tenant https://meet.example.com/<tenant>; not a room link")
		case !tenantRE.MatchString(segs[0]):
			v.add("jitsi.url", fmt.Sprintf("tenant %q in the path is not a valid DNS label", segs[0]),
				"a tenant is lower-case letters, digits and '-', at most 63 characters, not starting or ending with '-'")
		case len(j.Tenants) > 0 && !slices.Contains(j.Tenants, segs[0]):
			v.add("jitsi.tenants", fmt.Sprintf("does not contain %q, the tenant in jitsi.url", segs[0]),
				"add it, or remove the tenant from jitsi.url")
		}
	}
	switch {
	case j.XMPPDomain == "":
		v.add("jitsi.xmpp_domain", "is required (it is the token's sub when there is no tenant)",
			"docker-jitsi-meet uses meet.jitsi; a Debian install uses your hostname; it is NOT always the public host name")
	case strings.Contains(j.XMPPDomain, "/"):
		v.add("jitsi.xmpp_domain", fmt.Sprintf("%q is a URL, not a domain", j.XMPPDomain),
			"write only the domain, e.g. meet.jitsi (docker) or meet.example.com (Debian)")
	case !hostnameRE.MatchString(j.XMPPDomain):
		hint := "e.g. meet.jitsi (docker) or meet.example.com (Debian)"
		if hostnameRE.MatchString(strings.ToLower(j.XMPPDomain)) {
			hint = "write it in lower case: " + strings.ToLower(j.XMPPDomain)
		}
		v.add("jitsi.xmpp_domain", fmt.Sprintf("%q is not a domain name", j.XMPPDomain), hint)
	}
	switch {
	case j.AppID == "":
		v.add("jitsi.app_id", "is required", "the same value as prosody's app_id (docker: JWT_APP_ID), e.g. jitsi-gate")
	case !idRE.MatchString(j.AppID):
		v.add("jitsi.app_id", fmt.Sprintf("%q may only contain letters, digits, '_', '.' and '-'", j.AppID),
			"it is pasted into prosody's Lua config, where other characters break it")
	}
	// An audience defaulted from a bad app_id is reported once, at app_id.
	if j.Audience != "" && j.Audience != j.AppID && !idRE.MatchString(j.Audience) {
		hint := "the token aud, one value from prosody's asap_accepted_audiences (docker: JWT_ACCEPTED_AUDIENCES)"
		if strings.Contains(j.Audience, ",") {
			hint = "aud is a single value; pick one of the accepted audiences"
		}
		v.add("jitsi.audience", fmt.Sprintf("%q may only contain letters, digits, '_', '.' and '-'", j.Audience), hint)
	}
	for i, t := range j.Tenants {
		checkTenant(v, index("jitsi.tenants", i), t)
	}
	c.validateSigning(v)
	checkTokenLifetime(v, "jitsi.token_lifetime", j.TokenLifetime)
	if j.PreviewRealTokens && !j.Preview {
		v.add("jitsi.preview_real_tokens", "only applies with jitsi.preview: true", "remove it")
	}
}

func checkTenant(v *collector, p, t string) {
	if !tenantRE.MatchString(t) {
		hint := "a tenant is lower-case letters, digits and '-', at most 63 characters, not starting or ending with '-'"
		if tenantRE.MatchString(strings.ToLower(t)) {
			hint = "write it in lower case: " + strings.ToLower(t)
		}
		v.add(p, fmt.Sprintf("%q is not a valid tenant (DNS label)", t), hint)
	}
}

func checkTokenLifetime(v *collector, p string, d time.Duration) {
	switch {
	case d < 0 || (d == 0 && p == "jitsi.token_lifetime"):
		v.add(p, "must be greater than 0", "e.g. 2h (a lesson plus some slack)")
	case d > MaxTokenLifetime:
		v.add(p, fmt.Sprintf("%s is longer than the maximum of 24h", d),
			"Jitsi has no way to revoke a token, so keep it short: a lesson plus some slack, e.g. 2h")
	}
}

func (c *Config) validateSigning(v *collector) {
	s := c.Jitsi.Signing
	const p = "jitsi.signing"
	switch s.Algorithm {
	case "HS256":
		sec := s.Secret
		switch {
		case sec == "":
			v.add(p+".secret", "is required for HS256 (the secret shared with prosody's app_secret / docker JWT_APP_SECRET)", secretHint)
		case slices.Contains(boolishWords, strings.ToLower(sec)):
			v.add(p+".secret", "looks like a boolean; docker-jitsi-meet's toBool drops such a JWT_APP_SECRET", secretHint)
		case !hsSecretRE.MatchString(sec):
			v.add(p+".secret", "contains characters other than letters, digits and _ + / = . -",
				"prosody's app_secret is a Lua string literal where other characters break; "+secretHint)
		}
		for _, f := range []struct {
			key string
			set bool
		}{
			{"private_key_file", s.PrivateKeyFile != ""},
			{"key_id", s.KeyID != ""},
			{"previous_public_keys", len(s.PreviousPublicKeys) > 0},
		} {
			if f.set {
				v.add(p+"."+f.key, "is only used with algorithm: RS256", "remove it, or set algorithm: RS256")
			}
		}
	case "RS256":
		if s.Secret != "" || s.SecretFile != "" {
			v.add(p+".secret", "is only used with algorithm: HS256", "remove it; RS256 signs with private_key_file")
		}
		if s.PrivateKeyFile == "" {
			v.add(p+".private_key_file", "is required for RS256", "create a key with: jitsi-gate keygen")
		}
		checkKeyID(v, p+".key_id", s.KeyID)
		seen := map[string]int{}
		for i, pk := range s.PreviousPublicKeys {
			pp := index(p+".previous_public_keys", i)
			checkKeyID(v, pp+".key_id", pk.KeyID)
			if pk.KeyID != "" && pk.KeyID == s.KeyID {
				v.add(pp+".key_id", fmt.Sprintf("%q is the current key_id", pk.KeyID),
					"prosody caches keys by kid: give every key its own key_id")
			} else if first, dup := seen[pk.KeyID]; dup && pk.KeyID != "" {
				v.add(pp+".key_id", fmt.Sprintf("%q is also used by previous_public_keys[%d]", pk.KeyID, first),
					"every key needs its own key_id")
			} else {
				seen[pk.KeyID] = i
			}
			if pk.PublicKeyFile == "" {
				v.add(pp+".public_key_file", "is required", "the public half of the retired key (openssl rsa -pubout)")
			}
		}
	default:
		hint := "HS256 (a shared secret; simplest) or RS256 (a key pair; prosody fetches the public key from /asap/)"
		if up := strings.ToUpper(s.Algorithm); up == "HS256" || up == "RS256" {
			hint = "write " + up
		}
		v.add(p+".algorithm", fmt.Sprintf("%q is not supported", s.Algorithm), hint)
	}
}

func checkKeyID(v *collector, p, kid string) {
	switch {
	case kid == "":
		v.add(p, "is required for RS256 (the token's kid)", "e.g. gate-2026-1; a new one for every new key")
	case !idRE.MatchString(kid):
		v.add(p, fmt.Sprintf("%q may only contain letters, digits, '_', '.' and '-'", kid), "e.g. gate-2026-1")
	}
}

func (c *Config) validateSession(v *collector) {
	s := c.Session
	switch {
	case s.Secret == "":
		v.add("session.secret", "is required (it protects the login cookie)", secretHint+"; every replica needs the same one")
	}
	switch {
	case s.Lifetime <= 0:
		v.add("session.lifetime", "must be greater than 0", "e.g. 8h (a school day)")
	case s.Lifetime > MaxSessionLifetime:
		v.add("session.lifetime", fmt.Sprintf("%s is longer than the maximum of 720h (30 days)", s.Lifetime), "e.g. 8h (a school day)")
	}
	// Longer than the session is fine: the login ends before a refresh.
	if s.RefreshGroups < time.Second {
		v.add("session.refresh_groups", fmt.Sprintf("%s is shorter than 1s", s.RefreshGroups),
			"default 15m: a user removed from a group, or disabled, loses its rights within that time")
	}
}

func (c *Config) validateBackends(v *collector) {
	if len(c.Backends) == 0 {
		v.add("backends", "at least one backend is needed", "see the static demo backend and the LDAP/OIDC examples in config.example.yaml")
	}
	ids := map[string]int{}
	for i := range c.Backends {
		b := &c.Backends[i]
		p := index("backends", i)
		switch {
		case b.ID == "":
			v.add(p+".id", "is required", "a short name used in URLs, e.g. ldap or keycloak")
		case !backendIDRE.MatchString(b.ID):
			v.add(p+".id", fmt.Sprintf("%q must be lower-case letters, digits, '_' or '-' (at most 32, starting with a letter or digit)", b.ID),
				"it is part of URLs such as /login/<id>")
		default:
			if first, dup := ids[b.ID]; dup {
				v.add(p+".id", fmt.Sprintf("%q is also the id of backends[%d]", b.ID, first), "every backend needs its own id")
			} else {
				ids[b.ID] = i
			}
		}
		switch b.Type {
		case "static":
			wrongTypeFields(v, p, "static", b.LDAP, b.OIDC)
			c.validateStatic(v, p, b)
		case "ldap":
			wrongTypeFields(v, p, "ldap", b.OIDC)
			if len(b.Users) > 0 {
				v.add(p+".users", "is only valid for type: static", "remove it, or make this a static backend")
			}
			validateLDAP(v, p, &b.LDAP)
		case "oidc":
			wrongTypeFields(v, p, "oidc", b.LDAP)
			if len(b.Users) > 0 {
				v.add(p+".users", "is only valid for type: static", "remove it, or make this a static backend")
			}
			validateOIDC(v, p, &b.OIDC)
		case "":
			v.add(p+".type", "is required", "static, ldap or oidc")
		default:
			hint := "static, ldap or oidc"
			if s := closest(b.Type, []string{"static", "ldap", "oidc"}); s != "" {
				hint = fmt.Sprintf("did you mean %q?", s)
			}
			v.add(p+".type", fmt.Sprintf("%q is not a backend type", b.Type), hint)
		}
	}
}

// wrongTypeFields reports the set fields of the other backend types.
func wrongTypeFields(v *collector, p, typ string, others ...any) {
	for _, o := range others {
		rv := reflect.ValueOf(o)
		rt := rv.Type()
		owner := "ldap"
		if rt == reflect.TypeFor[OIDC]() {
			owner = "oidc"
		}
		for i := range rt.NumField() {
			if rv.Field(i).IsZero() {
				continue
			}
			name, _, _ := strings.Cut(rt.Field(i).Tag.Get("yaml"), ",")
			v.add(p+"."+name, fmt.Sprintf("is only valid for type: %s, this backend is type: %s", owner, typ),
				"remove it, or split the backend in two")
		}
	}
}

func (c *Config) validateStatic(v *collector, p string, b *Backend) {
	up := p + ".users"
	if len(b.Users) == 0 {
		v.add(up, "a static backend needs at least one user",
			"users: [{username: ..., password_hash: ..., groups: [...]}]")
	}
	names := map[string]int{}
	for j, u := range b.Users {
		uj := index(up, j)
		switch {
		case u.Username == "":
			v.add(uj+".username", "is required", "")
		case strings.ContainsFunc(u.Username, func(r rune) bool { return unicode.IsSpace(r) || unicode.IsControl(r) }):
			v.add(uj+".username", fmt.Sprintf("%q contains spaces or control characters", u.Username), "")
		default:
			// Spellings that fold to one name (ſ, fullwidth letters) are
			// refused by the static backend itself; exact duplicates here.
			key := strings.ToLower(u.Username)
			if first, dup := names[key]; dup {
				v.add(uj+".username", fmt.Sprintf("%q is also users[%d] (user names are compared ignoring case)", u.Username, first), "")
			} else {
				names[key] = j
			}
		}
		switch {
		case u.PasswordHash == "":
			v.add(uj+".password_hash", "is required", "create one with: jitsi-gate hash-password")
		default:
			if _, err := bcrypt.Cost([]byte(u.PasswordHash)); err != nil {
				v.add(uj+".password_hash", "is not a bcrypt hash", "create one with: jitsi-gate hash-password (never put the password itself here)")
			} else if slices.Contains(demoPasswordHashes, u.PasswordHash) && !c.demoMode() {
				v.add(uj+".password_hash", "is a demo account from config.example.yaml (its password is its user name); demo accounts only work with jitsi.preview: true and the demo secrets",
					"remove the demo backend, or set a real password with: jitsi-gate hash-password")
			}
		}
		checkNonEmpty(v, uj+".groups", u.Groups)
	}
}

func checkNonEmpty(v *collector, p string, list []string) {
	for k, s := range list {
		if strings.TrimSpace(s) == "" {
			v.add(index(p, k), "is empty", "remove the empty entry")
		}
	}
}

func validateLDAP(v *collector, p string, l *LDAP) {
	u, err := url.Parse(l.URL)
	switch {
	case l.URL == "":
		v.add(p+".url", "is required", "e.g. ldaps://ldap.example.com:636 or ldap://ldap.example.com:389")
	case err != nil || (u.Scheme != "ldap" && u.Scheme != "ldaps") || u.Host == "":
		v.add(p+".url", fmt.Sprintf("%q is not an ldap:// or ldaps:// URL with a host", l.URL),
			"e.g. ldaps://ldap.example.com:636 or ldap://ldap.example.com:389")
	case (u.Path != "" && u.Path != "/") || u.RawQuery != "":
		v.add(p+".url", "must not have a path or query", "write the base DN in user_search.base_dn")
	case u.Scheme == "ldaps" && l.StartTLS:
		v.add(p+".start_tls", "start_tls is for ldap:// URLs; ldaps:// is already encrypted",
			"remove start_tls, or use ldap://host:389 with start_tls: true")
	}
	switch {
	case l.BindDN != "" && l.BindPassword == "":
		v.add(p+".bind_password", "is required when bind_dn is set", "set bind_password_file (or bind_password), or remove bind_dn for an anonymous search")
	case l.BindDN == "" && l.BindPassword != "":
		v.add(p+".bind_dn", "is required when a bind password is set", "the DN of the service account, e.g. cn=jitsi-gate,ou=services,dc=example,dc=org")
	}
	if l.Timeout <= 0 {
		v.add(p+".timeout", "must be greater than 0", "e.g. 10s")
	}
	us := p + ".user_search"
	if l.UserSearch.BaseDN == "" {
		v.add(us+".base_dn", "is required", "e.g. ou=people,dc=example,dc=org")
	}
	switch f := l.UserSearch.Filter; {
	case f == "":
		v.add(us+".filter", "is required", "e.g. (uid={username}); Active Directory: (sAMAccountName={username})")
	case !strings.Contains(f, "{username}"):
		v.add(us+".filter", "must contain {username}", "e.g. (&(objectClass=person)(uid={username}))")
	}
	checkSet(v, us, "id_attribute", l.UserSearch.IDAttribute)
	checkSet(v, us, "name_attribute", l.UserSearch.NameAttribute)
	checkSet(v, us, "email_attribute", l.UserSearch.EmailAttribute)
	gs := p + ".group_search"
	g := l.GroupSearch
	if g.BaseDN != "" {
		switch {
		case g.Filter == "":
			v.add(gs+".filter", "is required when group_search.base_dn is set", "e.g. (member={dn})")
		case !strings.Contains(g.Filter, "{dn}"):
			v.add(gs+".filter", "must contain {dn} (the user's DN)", "e.g. (member={dn}) or (uniqueMember={dn})")
		}
	} else if g.Filter != "" || g.Nested {
		v.add(gs+".base_dn", "is required when group_search is used", "e.g. ou=groups,dc=example,dc=org")
	}
}

// checkSet reports a key that holds only spaces (defaults fill empty ones).
func checkSet(v *collector, p, key, val string) {
	if strings.TrimSpace(val) == "" {
		v.add(p+"."+key, "must not be empty", "")
	}
}

func validateOIDC(v *collector, p string, o *OIDC) {
	const issuerEx = "https://sso.example.com/realms/school (Keycloak)"
	switch u, err := url.Parse(o.Issuer); {
	case o.Issuer == "":
		v.add(p+".issuer", "is required", "e.g. "+issuerEx)
	case err != nil || u.Host == "" || (u.Scheme != "https" && u.Scheme != "http"):
		v.add(p+".issuer", fmt.Sprintf("%q is not an absolute https URL", o.Issuer), "e.g. "+issuerEx)
	case u.Scheme == "http" && !isLoopbackHost(u.Hostname()):
		v.add(p+".issuer", "must use https", "http is only accepted for localhost and 127.0.0.1 (tests)")
	case u.RawQuery != "" || u.Fragment != "":
		v.add(p+".issuer", "must not have a query or fragment", "e.g. "+issuerEx)
	}
	if o.ClientID == "" {
		v.add(p+".client_id", "is required", "the client id registered at the identity provider, e.g. jitsi-gate")
	}
	if !slices.Contains(o.Scopes, "openid") {
		v.add(p+".scopes", `must contain "openid"`, "e.g. [openid, profile, email]")
	}
	for k, s := range o.Scopes {
		if s == "" || strings.ContainsFunc(s, unicode.IsSpace) {
			v.add(index(p+".scopes", k), fmt.Sprintf("%q is not a scope", s), "one scope per list entry, e.g. [openid, profile, email]")
		}
	}
	for k, claim := range o.GroupsClaim {
		if claim == "" || slices.Contains(strings.Split(claim, "."), "") {
			v.add(index(p+".groups_claim", k), fmt.Sprintf("%q is not a claim path", claim),
				"a claim name or a dotted path, e.g. groups or realm_access.roles")
		}
	}
	checkSet(v, p, "name_claim", o.NameClaim)
	checkSet(v, p, "email_claim", o.EmailClaim)
	checkSet(v, p, "id_claim", o.IDClaim)

}

func (c *Config) validateRules(v *collector) {
	backendIDs := make([]string, 0, len(c.Backends))
	for _, b := range c.Backends {
		backendIDs = append(backendIDs, b.ID)
	}
	names := map[string]int{}
	for i, r := range c.Rules {
		p := index("rules", i)
		if r.Name == "" {
			v.add(p+".name", "is required", "a short name; it appears in the audit log and on the preview page")
		} else if first, dup := names[r.Name]; dup {
			v.add(p+".name", fmt.Sprintf("%q is also the name of rules[%d]", r.Name, first), "every rule needs its own name")
		} else {
			names[r.Name] = i
		}
		switch r.Role {
		case "owner", "member", "deny":
		case "":
			v.add(p+".role", "is required", "owner (moderator), member or deny")
		default:
			hint := "owner (moderator), member or deny"
			switch {
			case r.Role == "moderator":
				hint = "write owner: owners are Jitsi's moderators"
			case r.Role == "admin" || r.Role == "manage_rooms":
				hint = fmt.Sprintf("%s is a flag beside the role: role: owner (or member) and %s: true", r.Role, r.Role)
			default:
				if s := closest(r.Role, []string{"owner", "member", "deny"}); s != "" {
					hint = fmt.Sprintf("did you mean %q?", s)
				}
			}
			v.add(p+".role", fmt.Sprintf("%q is not a role", r.Role), hint)
		}
		for k, id := range r.Match.Backends {
			if !slices.Contains(backendIDs, id) {
				hint := "known backends: " + strings.Join(backendIDs, ", ")
				if s := closest(id, backendIDs); s != "" {
					hint = fmt.Sprintf("did you mean %q?", s)
				}
				v.add(index(p+".match.backends", k), fmt.Sprintf("there is no backend with id %q", id), hint)
			}
		}
		checkNonEmpty(v, p+".match.groups", r.Match.Groups)
		checkNonEmpty(v, p+".match.users", r.Match.Users)
		for k, u := range r.Match.Users {
			// BACKEND:username (the scope ends at the first colon, as the
			// policy reads it).
			b, name, scoped := strings.Cut(u, ":")
			if b = strings.ToLower(strings.TrimSpace(b)); scoped && !slices.Contains(backendIDs, b) {
				hint := "BACKEND:username limits the entry to one backend; known backends: " + strings.Join(backendIDs, ", ")
				if s := closest(b, backendIDs); s != "" {
					hint = fmt.Sprintf("did you mean %q?", s+":"+name)
				}
				v.add(index(p+".match.users", k), fmt.Sprintf("%q is scoped to backend %q, but there is no backend with that id", u, b), hint)
			}
		}
		for k, t := range r.Match.Tenants {
			checkTenant(v, index(p+".match.tenants", k), t)
		}
		for k, pat := range r.Rooms {
			rp := index(p+".rooms", k)
			if _, err := path.Match(pat, ""); err != nil || pat == "" {
				v.add(rp, fmt.Sprintf("%q is not a valid pattern", pat),
					`* matches any characters, ? one, [abc] one of a set; e.g. "math-*"`)
			} else if low := strings.ToLower(pat); low != pat {
				v.add(rp, fmt.Sprintf("%q has upper-case letters, but room names are compared in lower case", pat),
					"write "+strconv.Quote(low))
			}
		}
		fkeys := make([]string, 0, len(r.Features))
		for k := range r.Features {
			fkeys = append(fkeys, k)
		}
		slices.Sort(fkeys)
		for _, k := range fkeys {
			if !slices.Contains(knownFeatures, k) {
				hint := "known features: " + strings.Join(knownFeatures, ", ")
				if s := closest(k, knownFeatures); s != "" {
					hint = fmt.Sprintf("did you mean %q?", s)
				}
				v.add(p+".features."+k, fmt.Sprintf("%q is not a Jitsi feature", k), hint)
			}
		}
		c.validateRuleRights(v, p, r)
		if r.Role == "deny" {
			const why = "a deny rule issues no token"
			if r.LobbyBypass != nil {
				v.add(p+".lobby_bypass", "has no effect: "+why, "remove it")
			}
			if r.Lobby != nil {
				v.add(p+".lobby", "has no effect: "+why, "remove it")
			}
			if len(r.Features) > 0 {
				v.add(p+".features", "has no effect: "+why, "remove it")
			}
			if r.TokenLifetime != 0 {
				v.add(p+".token_lifetime", "has no effect: "+why, "remove it")
			}
		} else if r.TokenLifetime != 0 {
			checkTokenLifetime(v, p+".token_lifetime", r.TokenLifetime)
		}
	}
}

func (c *Config) validateUI(v *collector) {
	u := c.UI
	if u.PrimaryColor != "" && !colorRE.MatchString(u.PrimaryColor) {
		v.add("ui.primary_color", fmt.Sprintf("%q is not a #rgb or #rrggbb color", u.PrimaryColor),
			`e.g. "#1a73e8" (quote it: # starts a comment in YAML)`)
	}
	if u.LogoFile != "" {
		switch strings.ToLower(filepath.Ext(u.LogoFile)) {
		case ".png", ".svg", ".jpg", ".jpeg", ".webp":
		default:
			v.add("ui.logo_file", "must be a .png, .svg, .jpg or .webp file", "")
		}
	}
	if u.DefaultLanguage != "en" && u.DefaultLanguage != "de" {
		v.add("ui.default_language", fmt.Sprintf("%q is not available", u.DefaultLanguage), "en or de")
	}
}

func (c *Config) validateMetrics(v *collector) {
	addr := c.Metrics.Listen
	if addr == "" {
		return // metrics off
	}
	checkListen(v, "metrics.listen", addr, "127.0.0.1:9090", ":9090")
	// Both listeners on one port: the second bind fails at start.
	mHost, mPort, err1 := net.SplitHostPort(addr)
	sHost, sPort, err2 := net.SplitHostPort(c.Server.Listen)
	if err1 == nil && err2 == nil && mPort == sPort && mPort != "0" &&
		(mHost == sHost || isWildcardHost(mHost) || isWildcardHost(sHost)) {
		v.add("metrics.listen", fmt.Sprintf("%q uses the port of server.listen (%q)", addr, c.Server.Listen),
			"metrics need a listener of their own, e.g. 127.0.0.1:9090")
	}
}

// isWildcardHost reports whether a listen host means every interface.
func isWildcardHost(host string) bool {
	return host == "" || host == "0.0.0.0" || host == "::"
}

func (c *Config) validateLog(v *collector) {
	switch c.Log.Level {
	case "debug", "info", "warn", "error":
	default:
		v.add("log.level", fmt.Sprintf("%q is not a log level", c.Log.Level), "debug, info, warn or error")
	}
	switch c.Log.Format {
	case "text", "json":
	default:
		v.add("log.format", fmt.Sprintf("%q is not a log format", c.Log.Format), "text or json")
	}
}

func (c *Config) validateRateLimit(v *collector) {
	r := c.RateLimit
	if r.PerUser <= 0 {
		v.add("rate_limit.per_user", "must be greater than 0", fmt.Sprintf("default %d", DefaultRateLimitUser))
	}
	if r.PerUser > 0 && r.PerUserGlobal < r.PerUser {
		v.add("rate_limit.per_user_global", fmt.Sprintf("must be at least per_user (%d): it caps the attempts from all networks together", r.PerUser),
			fmt.Sprintf("default %d × per_user", DefaultRateLimitUserGlobalFactor))
	}
	if r.PerIP <= 0 {
		v.add("rate_limit.per_ip", "must be greater than 0", fmt.Sprintf("default %d", DefaultRateLimitIP))
	}
	if r.Window <= 0 {
		v.add("rate_limit.window", "must be greater than 0", "default 1m")
	}
}

// demoMode: the config is the demo (preview on, both secrets the demo
// values), the only setting in which demo accounts may log in. With a real
// secret a demo account's token would be accepted by a real Jitsi.
func (c *Config) demoMode() bool {
	return c.Jitsi.Preview && c.Jitsi.Signing.Algorithm == "HS256" &&
		isDemoSecret(c.Jitsi.Signing.Secret) && isDemoSecret(c.Session.Secret)
}

func isDemoSecret(s string) bool { return strings.Contains(s, "insecure-demo") }

// onlyDemoAccounts: every backend is a static one holding only demo
// accounts.
func (c *Config) onlyDemoAccounts() bool {
	for _, b := range c.Backends {
		if b.Type != "static" {
			return false
		}
		for _, u := range b.Users {
			if !slices.Contains(demoPasswordHashes, u.PasswordHash) {
				return false
			}
		}
	}
	return true
}

// validateDemoSecrets refuses the well-known secrets of config.example.yaml
// outside preview (demo) mode.
//
// They are public: with them anyone can forge a login cookie. So they are
// accepted only in the demo itself: preview on (with throw-away tokens) and
// nobody to sign in as but the demo accounts.
func (c *Config) validateDemoSecrets(v *collector) {
	if c.Jitsi.Preview && !c.Jitsi.PreviewRealTokens && c.onlyDemoAccounts() {
		return
	}
	check := func(p, secret, env string) {
		if isDemoSecret(secret) {
			v.add(p, "this is the demo value from config.example.yaml; set "+env,
				secretHint+" (the demo values are public: they are only accepted for the demo itself, preview on with only the demo accounts)")
		}
	}
	check("jitsi.signing.secret", c.Jitsi.Signing.Secret, "JWT_APP_SECRET / SESSION_SECRET")
	check("session.secret", c.Session.Secret, "JWT_APP_SECRET / SESSION_SECRET")
	for i, b := range c.Backends {
		p := index("backends", i)
		check(p+".bind_password", b.LDAP.BindPassword, "a real bind password")
		check(p+".client_secret", b.OIDC.ClientSecret, "a real client secret")
	}
}

// Bounds of the rooms and reservations durations.
const (
	maxOpenEarly       = 24 * time.Hour
	maxGrace           = 2 * time.Hour
	maxDefaultDuration = 7 * 24 * time.Hour
)

func (c *Config) validateStore(v *collector) {
	s := c.Store
	switch s.Driver {
	case "sqlite":
		if strings.TrimSpace(s.Path) == "" {
			v.add("store.path", "is required for driver: sqlite", "e.g. /var/lib/jitsi-gate/jitsi-gate.db")
		}
		if s.DSN != "" || s.DSNFile != "" {
			v.add("store.dsn", "is only used with driver: postgres", "remove it, or set driver: postgres")
		}
	case "postgres":
		if s.Path != "" {
			v.add("store.path", "is only used with driver: sqlite", "remove it; PostgreSQL is reached through dsn")
		}
		if s.DSN == "" && s.DSNFile == "" {
			v.add("store.dsn", "is required for driver: postgres",
				"e.g. dsn_file: /run/secrets/jitsi_gate_dsn holding postgres://gate:PASSWORD@db:5432/gate?sslmode=verify-full")
		}
	default:
		hint := "sqlite (embedded, one gateway process) or postgres (several replicas)"
		if s := closest(s.Driver, []string{"sqlite", "postgres"}); s != "" {
			hint = fmt.Sprintf("did you mean %q?", s)
		}
		v.add("store.driver", fmt.Sprintf("%q is not a database driver", s.Driver), hint)
	}
}

func (c *Config) validateRooms(v *collector) {
	r := c.Rooms
	if strings.TrimSpace(r.Timezone) == "" {
		v.add("rooms.timezone", "must not be empty", "an IANA name, e.g. Europe/Berlin")
	}
	openEarly, grace := r.Early()
	if openEarly < 0 || openEarly > maxOpenEarly {
		v.add("rooms.open_early", fmt.Sprintf("%s is not between 0s and %s", openEarly, maxOpenEarly),
			"e.g. 10m: organizers may open the room that long before the slot")
	}
	if grace < 0 || grace > maxGrace {
		v.add("rooms.grace", fmt.Sprintf("%s is not between 0s and %s", grace, maxGrace),
			"e.g. 5m: Prosody closes the room that long after the slot ends")
	}
}

func (c *Config) validateReservations(v *collector) {
	r := c.Reservations
	switch r.UnregisteredRooms {
	case "deny", "allow":
	default:
		v.add("reservations.unregistered_rooms", fmt.Sprintf("%q is not a policy", r.UnregisteredRooms),
			"deny (only registered rooms can be opened) or allow")
	}
	if r.DefaultDuration <= 0 || r.DefaultDuration > maxDefaultDuration {
		v.add("reservations.default_duration", fmt.Sprintf("%s is not between 1s and %s", r.DefaultDuration, maxDefaultDuration),
			"e.g. 24h: how long Prosody keeps a room that has no time window")
	}
}

// validateRuleRights checks manage_rooms and admin: they are rights of the
// user (internal/policy Rights), so they belong on allowing rules that
// apply everywhere; anywhere else an admin would read them as limited to
// the rule's rooms or tenants, which they are not.
func (c *Config) validateRuleRights(v *collector, p string, r Rule) {
	var flags []string
	if r.ManageRooms {
		flags = append(flags, "manage_rooms")
	}
	if r.Admin {
		flags = append(flags, "admin")
	}
	if len(flags) == 0 {
		return
	}
	key := p + "." + flags[0]
	if r.Role == "deny" {
		v.add(key, "has no effect: a deny rule grants nothing", "put it on an allowing (owner or member) rule")
		return
	}
	const hint = "rights hold in every room: put the flag on a rule without match.tenants, match.room_role and room patterns, e.g. the teachers rule"
	switch {
	case len(r.Match.Tenants) > 0:
		v.add(key, "cannot be combined with match.tenants: rights are not limited to a tenant", hint)
	case len(r.Match.RoomRole) > 0:
		v.add(key, "cannot be combined with match.room_role: rights do not depend on a room", hint)
	case len(r.Rooms) > 0 && !slices.Contains(r.Rooms, "*"):
		v.add(key, fmt.Sprintf("cannot be combined with rooms %v: rights are not limited to some rooms", r.Rooms), hint)
	}
}

// MinAPITokenBytes is the shortest api.tokens[].token accepted: a token has
// admin rights over every room.
const MinAPITokenBytes = 32

var apiTokenNameRE = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$`)

func (c *Config) validateAPI(v *collector) {
	names := map[string]int{}
	tokens := map[string]int{}
	for i, t := range c.API.Tokens {
		p := index("api.tokens", i)
		switch {
		case t.Name == "":
			v.add(p+".name", "is required", "who uses the token, e.g. timetable-sync; it appears in the audit log")
		case !apiTokenNameRE.MatchString(t.Name):
			v.add(p+".name", fmt.Sprintf("%q is not a plain name", t.Name), "letters, digits, '.', '_' and '-', e.g. timetable-sync")
		default:
			if first, dup := names[t.Name]; dup {
				v.add(p+".name", fmt.Sprintf("%q is also the name of api.tokens[%d]", t.Name, first), "give every token its own name")
			}
			names[t.Name] = i
		}
		switch {
		case t.Token == "":
			v.add(p+".token", "is required", "token_file: /run/secrets/api_token holding "+secretHint)
		case len(t.Token) < MinAPITokenBytes:
			v.add(p+".token", fmt.Sprintf("is %d bytes, need at least %d (it has admin rights over every room)", len(t.Token), MinAPITokenBytes), secretHint)
		case strings.ContainsFunc(t.Token, func(r rune) bool { return r <= ' ' || r == 0x7f }):
			v.add(p+".token", "contains spaces or control characters, which an Authorization header cannot carry", secretHint)
		default:
			if first, dup := tokens[t.Token]; dup {
				v.add(p+".token", fmt.Sprintf("is the same as api.tokens[%d]", first), "give every script its own token, so one can be revoked alone")
			}
			tokens[t.Token] = i
			if t.Token == c.Reservations.Token {
				v.add(p+".token", "is the same as reservations.token", "Prosody's token must not have admin rights: use another one")
			}
		}
	}
}

// Bounds of sso.refresh_token_lifetime.
const (
	minRefreshTokenLifetime = time.Minute
	maxRefreshTokenLifetime = MaxSessionLifetime
)

// ssoClientIDRE: the client id is pasted into config.js and URLs.
var ssoClientIDRE = regexp.MustCompile(`^[A-Za-z0-9_.-]{1,64}$`)

func (c *Config) validateSSO(v *collector) {
	s := c.SSO
	if !s.Enabled() {
		return
	}
	if c.Jitsi.Preview && !c.Jitsi.PreviewRealTokens {
		v.add("sso.clients", "the inline sign-in hands tokens straight to Jitsi, which jitsi.preview is meant to prevent",
			"turn jitsi.preview off (or set jitsi.preview_real_tokens: true while testing)")
	}
	if s.RefreshTokenLifetime < minRefreshTokenLifetime || s.RefreshTokenLifetime > maxRefreshTokenLifetime {
		v.add("sso.refresh_token_lifetime", fmt.Sprintf("%s is not between %s and %s", s.RefreshTokenLifetime,
			minRefreshTokenLifetime, maxRefreshTokenLifetime),
			"e.g. 8h, at least the longest meeting: Jitsi has no fallback once a refresh is refused")
	}
	// The sign-in page that receives the code is Jitsi's own
	// static/sso.html: on the Jitsi origin, never anywhere else.
	var jitsiOrigin string
	if ju, err := url.Parse(c.Jitsi.URL); err == nil && ju.Host != "" {
		jitsiOrigin = ju.Scheme + "://" + ju.Host
	}
	example := "e.g. " + jitsiOrigin + "/static/sso.html"
	seen := map[string]bool{}
	for i, cl := range s.Clients {
		p := index("sso.clients", i)
		switch {
		case !ssoClientIDRE.MatchString(cl.ClientID):
			v.add(p+".client_id", fmt.Sprintf("%q is not a client id", cl.ClientID),
				"letters, digits, '.', '_' and '-', e.g. jitsi (the clientId of Jitsi's config.sso)")
		case seen[cl.ClientID]:
			v.add(p+".client_id", fmt.Sprintf("%q is listed twice", cl.ClientID), "give each client one entry")
		}
		seen[cl.ClientID] = true
		if len(cl.RedirectURIs) == 0 {
			v.add(p+".redirect_uris", "is required", example)
		}
		for j, raw := range cl.RedirectURIs {
			rp := index(p+".redirect_uris", j)
			u, err := url.Parse(raw)
			switch {
			case err != nil || u.Host == "" || u.Opaque != "":
				v.add(rp, fmt.Sprintf("%q is not an absolute URL", raw), example)
			case u.Scheme != "https" && !(u.Scheme == "http" && isLoopbackHost(u.Hostname())):
				v.add(rp, "must use https", "http is only accepted for localhost and 127.0.0.1 (tests); "+example)
			case u.Scheme+"://"+u.Host != jitsiOrigin:
				v.add(rp, fmt.Sprintf("%q is not on the Jitsi origin %s (jitsi.url)", raw, jitsiOrigin),
					"the code goes to Jitsi's own sign-in page; "+example)
			case u.User != nil || u.RawQuery != "" || u.ForceQuery || u.Fragment != "" || strings.Contains(raw, "#"):
				v.add(rp, "must not have a user, query or fragment", example)
			case u.Path == "" || u.Path == "/":
				v.add(rp, "has no path", example)
			}
		}
	}
}
