package config

import (
	"errors"
	"slices"
	"strings"
	"testing"
	"time"
)

func ptr[T any](v T) *T { return &v }

func ldapBackend() Backend {
	return Backend{ID: "dir", Type: "ldap", LDAP: LDAP{
		URL:               "ldaps://ldap.example.org:636",
		BindDN:            "cn=gate,dc=example,dc=org",
		BindPassword:      "pw",
		MemberOfAttribute: "memberOf",
		UserSearch:        UserSearch{BaseDN: "ou=people,dc=example,dc=org", Filter: "(&(objectClass=person)(uid={username}))"},
	}}
}

func oidcBackend() Backend {
	return Backend{ID: "sso", Type: "oidc", OIDC: OIDC{
		Issuer:   "https://sso.example.org/realms/school",
		ClientID: "jitsi-gate",
	}}
}

const apiToken = "0123456789abcdef0123456789abcdef-api"

// TestValidate runs each rule of Validate once on an otherwise valid
// configuration and checks the exact key path of the problem.
func TestValidate(t *testing.T) {
	type tc struct {
		name   string
		mutate func(c *Config, dir string)
		path   string // "" = no problem expected
		msg    string
		hint   string
	}
	tests := []tc{
		// server
		{"listen without port", func(c *Config, _ string) { c.Server.Listen = "localhost" }, "server.listen", "host:port", ":8080"},
		{"listen port out of range", func(c *Config, _ string) { c.Server.Listen = ":99999" }, "server.listen", "0 to 65535", ""},
		{"listen port 0 is fine (tests)", func(c *Config, _ string) { c.Server.Listen = "127.0.0.1:0" }, "", "", ""},
		{"public_url missing", func(c *Config, _ string) { c.Server.PublicURL = "" }, "server.public_url", "is required", ""},
		{"public_url not absolute", func(c *Config, _ string) { c.Server.PublicURL = "meet.example.com/_auth" }, "server.public_url", "not an absolute http(s) URL", ""},
		{"public_url with query", func(c *Config, _ string) { c.Server.PublicURL = "https://x.example/?a=b" }, "server.public_url", "query", ""},
		{"trusted proxy plain IP", func(c *Config, _ string) { c.Server.TrustedProxies = []string{"10.0.0.0/8", "10.0.0.1"} },
			"server.trusted_proxies[1]", "not a CIDR", "10.0.0.1/32"},
		{"shutdown_delay 0 is fine", func(c *Config, _ string) { d := time.Duration(0); c.Server.ShutdownDelay = &d }, "", "", ""},
		{"shutdown_delay negative", func(c *Config, _ string) { d := -time.Second; c.Server.ShutdownDelay = &d },
			"server.shutdown_delay", "between 0s and 2m0s", "health-check interval"},
		{"shutdown_delay too long", func(c *Config, _ string) { d := 5 * time.Minute; c.Server.ShutdownDelay = &d },
			"server.shutdown_delay", "between 0s", ""},
		{"shutdown_timeout too short", func(c *Config, _ string) { c.Server.ShutdownTimeout = time.Millisecond },
			"server.shutdown_timeout", "between 1s and 5m0s", "grace period"},

		// metrics
		{"metrics off by default", func(c *Config, _ string) { c.Metrics.Listen = "" }, "", "", ""},
		{"metrics listen ok", func(c *Config, _ string) { c.Metrics.Listen = "127.0.0.1:9090" }, "", "", ""},
		{"metrics every interface ok", func(c *Config, _ string) { c.Metrics.Listen = ":9090" }, "", "", ""},
		{"metrics listen without port", func(c *Config, _ string) { c.Metrics.Listen = "127.0.0.1" }, "metrics.listen", "host:port", ":9090"},
		{"metrics listen bad port", func(c *Config, _ string) { c.Metrics.Listen = "127.0.0.1:http-alt" }, "metrics.listen", "0 to 65535", "127.0.0.1:9090"},
		{"metrics listen bad host", func(c *Config, _ string) { c.Metrics.Listen = "local_host:9090" }, "metrics.listen", "not an IP address or host name", ""},
		{"metrics on the server's address", func(c *Config, _ string) {
			c.Server.Listen = "127.0.0.1:8080"
			c.Metrics.Listen = "127.0.0.1:8080"
		}, "metrics.listen", "uses the port of server.listen", "listener of their own"},
		{"metrics on the server's port, every interface", func(c *Config, _ string) {
			c.Server.Listen = "0.0.0.0:8080"
			c.Metrics.Listen = "127.0.0.1:8080"
		}, "metrics.listen", "uses the port of server.listen", ""},
		{"metrics same port, other address", func(c *Config, _ string) {
			c.Server.Listen = "127.0.0.1:8080"
			c.Metrics.Listen = "127.0.0.2:8080"
		}, "", "", ""},
		{"metrics and server both on port 0", func(c *Config, _ string) {
			c.Server.Listen = "127.0.0.1:0"
			c.Metrics.Listen = "127.0.0.1:0"
		}, "", "", ""},

		// jitsi
		{"jitsi url scheme", func(c *Config, _ string) { c.Jitsi.URL = "ftp://meet.example.com" }, "jitsi.url", "http(s)", ""},
		{"jitsi url fragment", func(c *Config, _ string) { c.Jitsi.URL = "https://meet.example.com#x" }, "jitsi.url", "fragment", ""},
		{"jitsi url room link", func(c *Config, _ string) { c.Jitsi.URL = "https://meet.example.com/school/math" }, "jitsi.url", "more than one segment", "not a room link"},
		{"jitsi url bad tenant", func(c *Config, _ string) { c.Jitsi.URL = "https://meet.example.com/School_A" }, "jitsi.url", "not a valid DNS label", ""},
		{"jitsi url tenant ok", func(c *Config, _ string) { c.Jitsi.URL = "https://meet.example.com/school-a" }, "", "", ""},
		{"jitsi url tenant not in tenants", func(c *Config, _ string) {
			c.Jitsi.URL = "https://meet.example.com/school-a"
			c.Jitsi.Tenants = []string{"school-b"}
		}, "jitsi.tenants", `"school-a"`, ""},
		{"xmpp_domain missing", func(c *Config, _ string) { c.Jitsi.XMPPDomain = "" }, "jitsi.xmpp_domain", "is required", "meet.jitsi"},
		{"xmpp_domain is a URL", func(c *Config, _ string) { c.Jitsi.XMPPDomain = "https://meet.example.com" }, "jitsi.xmpp_domain", "is a URL", ""},
		{"xmpp_domain upper case", func(c *Config, _ string) { c.Jitsi.XMPPDomain = "Meet.Jitsi" }, "jitsi.xmpp_domain", "not a domain", "meet.jitsi"},
		{"app_id missing", func(c *Config, _ string) { c.Jitsi.AppID = "" }, "jitsi.app_id", "is required", "JWT_APP_ID"},
		{"app_id quote", func(c *Config, _ string) { c.Jitsi.AppID = `gate"x` }, "jitsi.app_id", "may only contain", "Lua"},
		{"audience list", func(c *Config, _ string) { c.Jitsi.Audience = "jitsi,other" }, "jitsi.audience", "may only contain", "single value"},
		{"tenant list entry", func(c *Config, _ string) { c.Jitsi.Tenants = []string{"ok", "-bad"} }, "jitsi.tenants[1]", "not a valid tenant", ""},
		{"algorithm lower case", func(c *Config, _ string) { c.Jitsi.Signing.Algorithm = "hs256" }, "jitsi.signing.algorithm", "not supported", "write HS256"},
		{"algorithm unknown", func(c *Config, _ string) { c.Jitsi.Signing.Algorithm = "ES256" }, "jitsi.signing.algorithm", "not supported", "RS256"},
		{"hs256 secret missing", func(c *Config, _ string) { c.Jitsi.Signing.Secret = "" }, "jitsi.signing.secret", "is required", "openssl rand -hex 32"},
		{"hs256 secret boolean", func(c *Config, _ string) { c.Jitsi.Signing.Secret = "Yes" }, "jitsi.signing.secret", "boolean", ""},
		{"hs256 secret characters", func(c *Config, _ string) { c.Jitsi.Signing.Secret = `0123456789abcdef0123456789abcdef"]]` }, "jitsi.signing.secret", "characters other than", "Lua"},
		{"hs256 with key_id", func(c *Config, _ string) { c.Jitsi.Signing.KeyID = "k1" }, "jitsi.signing.key_id", "only used with algorithm: RS256", ""},
		{"rs256 without key file", func(c *Config, _ string) { rs256(c, "") }, "jitsi.signing.private_key_file", "is required", "keygen"},
		{"rs256 ok", func(c *Config, dir string) {
			priv, _ := writeRSAKey(t, dir, "k", 2048, true)
			rs256(c, priv)
		}, "", "", ""},
		{"rs256 missing key_id", func(c *Config, dir string) {
			priv, _ := writeRSAKey(t, dir, "k", 2048, false)
			rs256(c, priv)
			c.Jitsi.Signing.KeyID = ""
		}, "jitsi.signing.key_id", "is required", ""},
		{"rs256 with secret", func(c *Config, dir string) {
			priv, _ := writeRSAKey(t, dir, "k", 2048, false)
			rs256(c, priv)
			c.Jitsi.Signing.Secret = "0123456789abcdef0123456789abcdef"
		}, "jitsi.signing.secret", "only used with algorithm: HS256", ""},
		{"rs256 previous key reuses kid", func(c *Config, dir string) {
			priv, pub := writeRSAKey(t, dir, "k", 2048, false)
			rs256(c, priv)
			c.Jitsi.Signing.PreviousPublicKeys = []PublicKey{{KeyID: "old-1", PublicKeyFile: pub}, {KeyID: "gate-1", PublicKeyFile: pub}}
		}, "jitsi.signing.previous_public_keys[1].key_id", "is the current key_id", ""},
		{"rs256 previous keys duplicate kid", func(c *Config, dir string) {
			priv, pub := writeRSAKey(t, dir, "k", 2048, false)
			rs256(c, priv)
			c.Jitsi.Signing.PreviousPublicKeys = []PublicKey{{KeyID: "old-1", PublicKeyFile: pub}, {KeyID: "old-1", PublicKeyFile: pub}}
		}, "jitsi.signing.previous_public_keys[1].key_id", "also used by previous_public_keys[0]", ""},
		{"token lifetime too long", func(c *Config, _ string) { c.Jitsi.TokenLifetime = 48 * time.Hour }, "jitsi.token_lifetime", "maximum of 24h", "revoke"},
		{"token lifetime negative", func(c *Config, _ string) { c.Jitsi.TokenLifetime = -time.Minute }, "jitsi.token_lifetime", "greater than 0", ""},

		// session
		{"session secret missing", func(c *Config, _ string) { c.Session.Secret = "" }, "session.secret", "is required", "openssl"},
		{"session lifetime too long", func(c *Config, _ string) { c.Session.Lifetime = 1000 * time.Hour }, "session.lifetime", "720h", ""},
		{"session lifetime negative", func(c *Config, _ string) { c.Session.Lifetime = -time.Hour }, "session.lifetime", "greater than 0", ""},

		// demo secrets
		{"demo jwt secret without preview", func(c *Config, _ string) {
			c.Jitsi.Signing.Secret = "insecure-demo-jwt-secret-change-me-0123456789"
		}, "jitsi.signing.secret", "demo value from config.example.yaml; set JWT_APP_SECRET / SESSION_SECRET", ""},
		{"demo session secret without preview", func(c *Config, _ string) {
			c.Session.Secret = "insecure-demo-session-secret-change-me-0123456789"
		}, "session.secret", "demo value", ""},
		{"demo secrets with preview but real accounts", func(c *Config, _ string) {
			// The session secret is public: anyone could forge a login of
			// a real account.
			c.Jitsi.Preview = true
			c.Jitsi.Signing.Secret = "insecure-demo-jwt-secret-change-me-0123456789"
			c.Session.Secret = "insecure-demo-session-secret-change-me-0123456789"
		}, "session.secret", "demo value", "only accepted for the demo itself"},
		{"demo secrets with real preview tokens", func(c *Config, _ string) {
			c.Jitsi.Preview, c.Jitsi.PreviewRealTokens = true, true
			c.Jitsi.Signing.Secret = "insecure-demo-jwt-secret-change-me-0123456789"
			c.Session.Secret = "insecure-demo-session-secret-change-me-0123456789"
			c.Backends[0].Users[0].PasswordHash = demoPasswordHashes[0]
			c.Backends[0].Users[1].PasswordHash = demoPasswordHashes[1]
		}, "jitsi.signing.secret", "demo value", ""},
		{"demo account without preview", func(c *Config, _ string) {
			c.Backends[0].Users[1].PasswordHash = demoPasswordHashes[1]
		}, "backends[0].users[1].password_hash", "demo account", ""},
		{"demo account with preview but real secrets", func(c *Config, _ string) {
			c.Jitsi.Preview = true
			c.Backends[0].Users[1].PasswordHash = demoPasswordHashes[1]
		}, "backends[0].users[1].password_hash", "demo secrets", ""},
		{"demo account with preview and a real session secret", func(c *Config, _ string) {
			c.Jitsi.Preview = true
			c.Jitsi.Signing.Secret = "insecure-demo-jwt-secret-change-me-0123456789"
			c.Backends[0].Users[1].PasswordHash = demoPasswordHashes[1]
		}, "backends[0].users[1].password_hash", "demo secrets", ""},
		{"demo accounts in the demo", func(c *Config, _ string) {
			c.Jitsi.Preview = true
			c.Jitsi.Signing.Secret = "insecure-demo-jwt-secret-change-me-0123456789"
			c.Session.Secret = "insecure-demo-session-secret-change-me-0123456789"
			c.Backends[0].Users[0].PasswordHash = demoPasswordHashes[0]
			c.Backends[0].Users[1].PasswordHash = demoPasswordHashes[1]
		}, "", "", ""},
		{"real preview tokens without preview", func(c *Config, _ string) { c.Jitsi.PreviewRealTokens = true },
			"jitsi.preview_real_tokens", "only applies with jitsi.preview", ""},

		// backends
		{"no backends", func(c *Config, _ string) { c.Backends = nil; c.Rules = nil }, "backends", "at least one", ""},
		{"backend id missing", func(c *Config, _ string) { c.Backends[0].ID = "" }, "backends[0].id", "is required", ""},
		{"backend id upper case", func(c *Config, _ string) { c.Backends[0].ID = "Local" }, "backends[0].id", "lower-case", "URLs"},
		{"backend id duplicate", func(c *Config, _ string) {
			b := ldapBackend()
			b.ID = "local"
			c.Backends = append(c.Backends, b)
		}, "backends[1].id", `"local" is also the id of backends[0]`, ""},
		{"backend type typo", func(c *Config, _ string) { c.Backends[0].Type = "ldpa" }, "backends[0].type", "not a backend type", `did you mean "ldap"?`},
		{"backend type missing", func(c *Config, _ string) { c.Backends[0].Type = "" }, "backends[0].type", "is required", ""},
		{"ldap field on static", func(c *Config, _ string) { c.Backends[0].LDAP.URL = "ldaps://x" }, "backends[0].url", "only valid for type: ldap", ""},
		{"oidc field on ldap", func(c *Config, _ string) {
			b := ldapBackend()
			b.OIDC.ClientID = "x"
			c.Backends = append(c.Backends, b)
		}, "backends[1].client_id", "only valid for type: oidc", ""},
		{"users on oidc", func(c *Config, _ string) {
			b := oidcBackend()
			b.Users = []StaticUser{{Username: "x"}}
			c.Backends = append(c.Backends, b)
		}, "backends[1].users", "only valid for type: static", ""},
		{"static without users", func(c *Config, _ string) { c.Backends[0].Users = nil }, "backends[0].users", "at least one user", ""},
		{"static username missing", func(c *Config, _ string) { c.Backends[0].Users[0].Username = "" }, "backends[0].users[0].username", "is required", ""},
		{"static username with space", func(c *Config, _ string) { c.Backends[0].Users[0].Username = "a b" }, "backends[0].users[0].username", "spaces", ""},
		{"static duplicate username", func(c *Config, _ string) { c.Backends[0].Users[1].Username = "ADA" }, "backends[0].users[1].username", "also users[0]", ""},
		{"static plain password", func(c *Config, _ string) { c.Backends[0].Users[0].PasswordHash = "secret" }, "backends[0].users[0].password_hash", "not a bcrypt hash", "hash-password"},
		{"static empty group", func(c *Config, _ string) { c.Backends[0].Users[0].Groups = []string{"a", " "} }, "backends[0].users[0].groups[1]", "is empty", ""},

		// ldap
		{"ldap ok", func(c *Config, _ string) { c.Backends = append(c.Backends, ldapBackend()) }, "", "", ""},
		{"ldap url scheme", func(c *Config, _ string) { addLDAP(c, func(l *LDAP) { l.URL = "https://ldap.example.org" }) }, "backends[1].url", "ldap:// or ldaps://", ""},
		{"ldap url without host", func(c *Config, _ string) { addLDAP(c, func(l *LDAP) { l.URL = "ldap://" }) }, "backends[1].url", "with a host", ""},
		{"ldap url missing", func(c *Config, _ string) { addLDAP(c, func(l *LDAP) { l.URL = "" }) }, "backends[1].url", "is required", ""},
		{"ldaps with start_tls", func(c *Config, _ string) { addLDAP(c, func(l *LDAP) { l.StartTLS = true }) }, "backends[1].start_tls", "already encrypted", ""},
		{"ldap start_tls ok", func(c *Config, _ string) {
			addLDAP(c, func(l *LDAP) { l.URL = "ldap://ldap.example.org"; l.StartTLS = true })
		}, "", "", ""},
		{"ldap bind_dn without password", func(c *Config, _ string) { addLDAP(c, func(l *LDAP) { l.BindPassword = "" }) }, "backends[1].bind_password", "required when bind_dn", ""},
		{"ldap password without bind_dn", func(c *Config, _ string) { addLDAP(c, func(l *LDAP) { l.BindDN = "" }) }, "backends[1].bind_dn", "required when a bind password", ""},
		{"ldap anonymous ok", func(c *Config, _ string) { addLDAP(c, func(l *LDAP) { l.BindDN, l.BindPassword = "", "" }) }, "", "", ""},
		{"ldap user base_dn missing", func(c *Config, _ string) { addLDAP(c, func(l *LDAP) { l.UserSearch.BaseDN = "" }) }, "backends[1].user_search.base_dn", "is required", ""},
		{"ldap user filter missing", func(c *Config, _ string) { addLDAP(c, func(l *LDAP) { l.UserSearch.Filter = "" }) }, "backends[1].user_search.filter", "is required", "sAMAccountName"},
		{"ldap user filter without placeholder", func(c *Config, _ string) { addLDAP(c, func(l *LDAP) { l.UserSearch.Filter = "(uid=%s)" }) }, "backends[1].user_search.filter", "{username}", ""},
		{"ldap group filter without {dn}", func(c *Config, _ string) {
			addLDAP(c, func(l *LDAP) {
				l.MemberOfAttribute = ""
				l.GroupSearch = GroupSearch{BaseDN: "ou=groups", Filter: "(memberUid={username})", NameAttribute: "cn"}
			})
		}, "backends[1].group_search.filter", "{dn}", ""},
		{"ldap group filter missing", func(c *Config, _ string) {
			addLDAP(c, func(l *LDAP) { l.MemberOfAttribute = ""; l.GroupSearch.BaseDN = "ou=groups" })
		}, "backends[1].group_search.filter", "is required", ""},
		{"ldap group search without base", func(c *Config, _ string) {
			addLDAP(c, func(l *LDAP) { l.GroupSearch.Filter = "(member={dn})" })
		}, "backends[1].group_search.base_dn", "is required", ""},
		{"ldap timeout negative", func(c *Config, _ string) { addLDAP(c, func(l *LDAP) { l.Timeout = -time.Second }) }, "backends[1].timeout", "greater than 0", ""},

		// oidc
		{"oidc ok", func(c *Config, _ string) { c.Backends = append(c.Backends, oidcBackend()) }, "", "", ""},
		{"oidc http localhost ok", func(c *Config, _ string) { addOIDC(c, func(o *OIDC) { o.Issuer = "http://127.0.0.1:5556/dex" }) }, "", "", ""},
		{"oidc issuer http", func(c *Config, _ string) { addOIDC(c, func(o *OIDC) { o.Issuer = "http://sso.example.org" }) }, "backends[1].issuer", "must use https", "localhost"},
		{"oidc issuer relative", func(c *Config, _ string) { addOIDC(c, func(o *OIDC) { o.Issuer = "sso.example.org" }) }, "backends[1].issuer", "not an absolute https URL", ""},
		{"oidc issuer missing", func(c *Config, _ string) { addOIDC(c, func(o *OIDC) { o.Issuer = "" }) }, "backends[1].issuer", "is required", ""},
		{"oidc client_id missing", func(c *Config, _ string) { addOIDC(c, func(o *OIDC) { o.ClientID = "" }) }, "backends[1].client_id", "is required", ""},
		{"oidc scopes without openid", func(c *Config, _ string) { addOIDC(c, func(o *OIDC) { o.Scopes = []string{"profile"} }) }, "backends[1].scopes", "openid", ""},
		{"oidc scope with space", func(c *Config, _ string) { addOIDC(c, func(o *OIDC) { o.Scopes = []string{"openid profile"} }) }, "backends[1].scopes[0]", "not a scope", ""},
		{"oidc groups claim path", func(c *Config, _ string) {
			addOIDC(c, func(o *OIDC) { o.GroupsClaim = StringList{"groups", "realm_access..roles"} })
		}, "backends[1].groups_claim[1]", "not a claim path", ""},
		{"oidc groups claim dotted ok", func(c *Config, _ string) {
			addOIDC(c, func(o *OIDC) { o.GroupsClaim = StringList{"resource_access.jitsi-gate.roles"} })
		}, "", "", ""},

		// rules
		{"rule name missing", func(c *Config, _ string) { c.Rules[0].Name = "" }, "rules[0].name", "is required", ""},
		{"rule name duplicate", func(c *Config, _ string) { c.Rules[1].Name = "teachers" }, "rules[1].name", "also the name of rules[0]", ""},
		{"rule role moderator", func(c *Config, _ string) { c.Rules[0].Role = "moderator" }, "rules[0].role", "not a role", "write owner"},
		{"rule role admin", func(c *Config, _ string) { c.Rules[0].Role = "admin" }, "rules[0].role", "not a role", "admin: true"},
		{"rule role missing", func(c *Config, _ string) { c.Rules[0].Role = "" }, "rules[0].role", "is required", ""},
		{"rule unknown backend", func(c *Config, _ string) { c.Rules[0].Match.Backends = []string{"locl"} }, "rules[0].match.backends[0]", `no backend with id "locl"`, `did you mean "local"?`},
		{"rule empty group", func(c *Config, _ string) { c.Rules[0].Match.Groups = []string{""} }, "rules[0].match.groups[0]", "is empty", ""},
		{"rule empty user", func(c *Config, _ string) { c.Rules[0].Match.Users = []string{"ada", ""} }, "rules[0].match.users[1]", "is empty", ""},
		{"rule user scoped to a backend", func(c *Config, _ string) { c.Rules[0].Match.Users = []string{"local:ada", "ada"} }, "", "", ""},
		{"rule user scoped to an unknown backend", func(c *Config, _ string) { c.Rules[0].Match.Users = []string{"ada", "locl:ada"} },
			"rules[0].match.users[1]", `scoped to backend "locl"`, `did you mean "local:ada"?`},
		{"rule bad tenant", func(c *Config, _ string) { c.Rules[0].Match.Tenants = []string{"School"} }, "rules[0].match.tenants[0]", "not a valid tenant", "school"},
		{"rule bad room pattern", func(c *Config, _ string) { c.Rules[0].Rooms = []string{"math-*", "[abc"} }, "rules[0].rooms[1]", "not a valid pattern", ""},
		{"rule empty room pattern", func(c *Config, _ string) { c.Rules[0].Rooms = []string{""} }, "rules[0].rooms[0]", "not a valid pattern", ""},
		{"rule upper-case room pattern", func(c *Config, _ string) { c.Rules[0].Rooms = []string{"Math-*"} }, "rules[0].rooms[0]", "upper-case", `"math-*"`},
		{"rule unknown feature", func(c *Config, _ string) { c.Rules[0].Features = map[string]bool{"recording": true, "recordng": false} },
			"rules[0].features.recordng", "not a Jitsi feature", `did you mean "recording"?`},
		{"rule feature with underscore", func(c *Config, _ string) { c.Rules[0].Features = map[string]bool{"screen_sharing": true} },
			"rules[0].features.screen_sharing", "not a Jitsi feature", `did you mean "screen-sharing"?`},
		{"deny with lobby_bypass", func(c *Config, _ string) { c.Rules[1].Role = "deny"; c.Rules[1].LobbyBypass = ptr(true) }, "rules[1].lobby_bypass", "deny rule", ""},
		{"deny with lobby", func(c *Config, _ string) { c.Rules[1].Role = "deny"; c.Rules[1].Lobby = ptr(false) }, "rules[1].lobby", "deny rule", ""},
		{"deny with features", func(c *Config, _ string) {
			c.Rules[1].Role = "deny"
			c.Rules[1].Features = map[string]bool{"recording": true}
		}, "rules[1].features", "deny rule", ""},
		{"rule token lifetime too long", func(c *Config, _ string) { c.Rules[0].TokenLifetime = 25 * time.Hour }, "rules[0].token_lifetime", "24h", ""},
		{"rule token lifetime negative", func(c *Config, _ string) { c.Rules[0].TokenLifetime = -time.Hour }, "rules[0].token_lifetime", "greater than 0", ""},

		// ui, log, rate limit
		{"color name", func(c *Config, _ string) { c.UI.PrimaryColor = "blue" }, "ui.primary_color", "#rgb", "quote"},
		{"color ok", func(c *Config, _ string) { c.UI.PrimaryColor = "#1A73e8" }, "", "", ""},
		{"logo gif", func(c *Config, dir string) { c.UI.LogoFile = writeFile(t, dir, "logo.gif", "GIF") }, "ui.logo_file", ".png, .svg", ""},
		{"logo ok", func(c *Config, dir string) { c.UI.LogoFile = writeFile(t, dir, "logo.webp", "RIFF") }, "", "", ""},
		{"language", func(c *Config, _ string) { c.UI.DefaultLanguage = "fr" }, "ui.default_language", "not available", "en or de"},
		{"log level", func(c *Config, _ string) { c.Log.Level = "verbose" }, "log.level", "not a log level", ""},
		{"log format", func(c *Config, _ string) { c.Log.Format = "xml" }, "log.format", "not a log format", ""},
		{"rate per_user", func(c *Config, _ string) { c.RateLimit.PerUser = -1 }, "rate_limit.per_user", "greater than 0", ""},
		{"rate per_ip", func(c *Config, _ string) { c.RateLimit.PerIP = -5 }, "rate_limit.per_ip", "greater than 0", ""},
		{"rate per_user_global below per_user", func(c *Config, _ string) { c.RateLimit.PerUserGlobal = c.RateLimit.PerUser - 1 }, "rate_limit.per_user_global", "at least per_user", ""},

		// store, rooms, reservations
		{"store driver unknown", func(c *Config, _ string) { c.Store.Driver = "postgresql" }, "store.driver", "not a database driver", `"postgres"`},
		{"store sqlite without path", func(c *Config, _ string) { c.Store.Path = " " }, "store.path", "required for driver: sqlite", ""},
		{"store sqlite with dsn", func(c *Config, _ string) { c.Store.DSN = "postgres://x" }, "store.dsn", "only used with driver: postgres", ""},
		{"store postgres without dsn", func(c *Config, _ string) { c.Store.Driver, c.Store.Path = "postgres", "" }, "store.dsn", "required for driver: postgres", "dsn_file"},
		{"store postgres with path", func(c *Config, _ string) { c.Store.Driver, c.Store.DSN = "postgres", "postgres://db/gate" }, "store.path", "only used with driver: sqlite", ""},
		{"store postgres fine", func(c *Config, _ string) {
			c.Store.Driver, c.Store.Path, c.Store.DSN = "postgres", "", "postgres://db/gate"
		}, "", "", ""},
		{"rooms timezone empty", func(c *Config, _ string) { c.Rooms.Timezone = " " }, "rooms.timezone", "must not be empty", "IANA"},
		{"rooms open_early 0 is fine", func(c *Config, _ string) { c.Rooms.OpenEarly = ptr(time.Duration(0)) }, "", "", ""},
		{"rooms open_early negative", func(c *Config, _ string) { c.Rooms.OpenEarly = ptr(-time.Minute) }, "rooms.open_early", "between 0s and 24h0m0s", ""},
		{"rooms grace too long", func(c *Config, _ string) { c.Rooms.Grace = ptr(3 * time.Hour) }, "rooms.grace", "between 0s and 2h0m0s", ""},
		{"reservations policy unknown", func(c *Config, _ string) { c.Reservations.UnregisteredRooms = "open" }, "reservations.unregistered_rooms", "not a policy", "deny"},
		{"reservations default_duration negative", func(c *Config, _ string) { c.Reservations.DefaultDuration = -time.Hour }, "reservations.default_duration", "between 1s", ""},
		{"rate window", func(c *Config, _ string) { c.RateLimit.Window = -time.Second }, "rate_limit.window", "greater than 0", ""},

		// rights and the API
		{"manage_rooms on the teachers rule", func(c *Config, _ string) { c.Rules[0].ManageRooms = true; c.Rules[0].Rooms = []string{"*"} }, "", "", ""},
		{"admin on a deny rule", func(c *Config, _ string) { c.Rules[1].Role = "deny"; c.Rules[1].Admin = true }, "rules[1].admin", "deny rule grants nothing", "allowing"},
		{"manage_rooms with tenants", func(c *Config, _ string) { c.Rules[0].ManageRooms = true; c.Rules[0].Match.Tenants = []string{"a"} },
			"rules[0].manage_rooms", "match.tenants", "every room"},
		{"admin with room_role", func(c *Config, _ string) { c.Rules[0].Admin = true; c.Rules[0].Match.RoomRole = []string{"organizer"} },
			"rules[0].admin", "match.room_role", ""},
		{"manage_rooms on some rooms", func(c *Config, _ string) { c.Rules[0].ManageRooms = true; c.Rules[0].Rooms = []string{"staff-*"} },
			"rules[0].manage_rooms", "[staff-*]", ""},
		{"api token fine", func(c *Config, _ string) { c.API.Tokens = []APIToken{{Name: "sync", Token: apiToken}} }, "", "", ""},
		{"api token without name", func(c *Config, _ string) { c.API.Tokens = []APIToken{{Token: apiToken}} }, "api.tokens[0].name", "is required", ""},
		{"api token name with spaces", func(c *Config, _ string) { c.API.Tokens = []APIToken{{Name: "time table", Token: apiToken}} }, "api.tokens[0].name", "not a plain name", ""},
		{"api token names twice", func(c *Config, _ string) {
			c.API.Tokens = []APIToken{{Name: "sync", Token: apiToken}, {Name: "sync", Token: apiToken + "2"}}
		}, "api.tokens[1].name", "also the name of api.tokens[0]", ""},
		{"api token missing", func(c *Config, _ string) { c.API.Tokens = []APIToken{{Name: "sync"}} }, "api.tokens[0].token", "is required", "token_file"},
		{"api token short", func(c *Config, _ string) { c.API.Tokens = []APIToken{{Name: "sync", Token: "0123456789"}} }, "api.tokens[0].token", "is 10 bytes, need at least 32", "openssl"},
		{"api token with a space", func(c *Config, _ string) { c.API.Tokens = []APIToken{{Name: "sync", Token: apiToken + " x"}} }, "api.tokens[0].token", "spaces", ""},
		{"api token twice", func(c *Config, _ string) {
			c.API.Tokens = []APIToken{{Name: "a", Token: apiToken}, {Name: "b", Token: apiToken}}
		}, "api.tokens[1].token", "same as api.tokens[0]", "revoked"},
		{"api token is prosody's", func(c *Config, _ string) {
			c.Reservations.Token = apiToken
			c.API.Tokens = []APIToken{{Name: "a", Token: apiToken}}
		}, "api.tokens[0].token", "same as reservations.token", ""},
		// sso
		{"sso off by default", func(c *Config, _ string) { c.SSO = SSO{} }, "", "", ""},
		{"sso client ok", func(c *Config, _ string) {
			c.SSO.Clients = []SSOClient{ssoClient("https://meet.example.com/static/sso.html")}
		}, "", "", ""},
		{"sso redirect on another origin", func(c *Config, _ string) {
			c.SSO.Clients = []SSOClient{ssoClient("https://evil.example.com/static/sso.html")}
		}, "sso.clients[0].redirect_uris[0]", "not on the Jitsi origin https://meet.example.com", "static/sso.html"},
		{"sso redirect on another port", func(c *Config, _ string) {
			c.SSO.Clients = []SSOClient{ssoClient("https://meet.example.com:8443/static/sso.html")}
		}, "sso.clients[0].redirect_uris[0]", "not on the Jitsi origin", ""},
		{"sso redirect over http", func(c *Config, _ string) {
			c.SSO.Clients = []SSOClient{ssoClient("http://meet.example.com/static/sso.html")}
		}, "sso.clients[0].redirect_uris[0]", "must use https", ""},
		{"sso redirect with query", func(c *Config, _ string) {
			c.SSO.Clients = []SSOClient{ssoClient("https://meet.example.com/static/sso.html?x=1")}
		}, "sso.clients[0].redirect_uris[0]", "query", ""},
		{"sso redirect relative", func(c *Config, _ string) { c.SSO.Clients = []SSOClient{ssoClient("/static/sso.html")} },
			"sso.clients[0].redirect_uris[0]", "not an absolute URL", ""},
		{"sso redirect missing", func(c *Config, _ string) { c.SSO.Clients = []SSOClient{{ClientID: "jitsi"}} },
			"sso.clients[0].redirect_uris", "is required", ""},
		{"sso client id", func(c *Config, _ string) {
			cl := ssoClient("https://meet.example.com/static/sso.html")
			cl.ClientID = "jitsi client"
			c.SSO.Clients = []SSOClient{cl}
		}, "sso.clients[0].client_id", "not a client id", ""},
		{"sso client twice", func(c *Config, _ string) {
			cl := ssoClient("https://meet.example.com/static/sso.html")
			c.SSO.Clients = []SSOClient{cl, cl}
		}, "sso.clients[1].client_id", "listed twice", ""},
		{"sso with preview", func(c *Config, _ string) {
			c.SSO.Clients = []SSOClient{ssoClient("https://meet.example.com/static/sso.html")}
			c.Jitsi.Preview = true
		}, "sso.clients", "jitsi.preview", "preview_real_tokens"},
		{"sso refresh lifetime", func(c *Config, _ string) {
			c.SSO.Clients = []SSOClient{ssoClient("https://meet.example.com/static/sso.html")}
			c.SSO.RefreshTokenLifetime = time.Second
		}, "sso.refresh_token_lifetime", "between 1m0s", "longest meeting"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := mustParse(t, baseYAML(), nil)
			dir := t.TempDir()
			tt.mutate(c, dir)
			c.ApplyDefaults()
			err := c.Validate()
			if tt.path == "" {
				if err != nil {
					t.Fatalf("unexpected problems:\n%v", err)
				}
				return
			}
			var ps *Problems
			if !errors.As(err, &ps) {
				t.Fatalf("Validate() = %v, want *Problems", err)
			}
			p, ok := findProblem(*ps, tt.path, tt.msg)
			if !ok {
				t.Fatalf("no problem %q at %s; got:\n%v", tt.msg, tt.path, ps)
			}
			if !strings.Contains(p.Hint, tt.hint) {
				t.Errorf("hint %q does not contain %q", p.Hint, tt.hint)
			}
		})
	}
}

// TestValidateReportsEverything: many problems at once, none hidden.
func TestValidateReportsEverything(t *testing.T) {
	c := mustParse(t, baseYAML(), nil)
	c.Server.Listen = "nope"
	c.Jitsi.AppID = ""
	c.Session.Secret = ""
	c.Rules[0].Role = "boss"
	c.Log.Level = "loud"
	err := c.Validate()
	var ps Problems
	if !errors.As(err, &ps) {
		t.Fatal(err)
	}
	want := []string{"server.listen", "jitsi.app_id", "session.secret", "rules[0].role", "log.level"}
	if got := paths(ps); !slices.Equal(got, want) {
		t.Errorf("paths %v, want %v", got, want)
	}
	if n := strings.Count(err.Error(), "\n"); n != len(want)-1 {
		t.Errorf("Error() has %d lines:\n%s", n+1, err)
	}
}

func rs256(c *Config, keyFile string) {
	c.Jitsi.Signing = Signing{Algorithm: "RS256", PrivateKeyFile: keyFile, KeyID: "gate-1"}
}

func addLDAP(c *Config, f func(*LDAP)) {
	b := ldapBackend()
	f(&b.LDAP)
	c.Backends = append(c.Backends, b)
}

func addOIDC(c *Config, f func(*OIDC)) {
	b := oidcBackend()
	f(&b.OIDC)
	c.Backends = append(c.Backends, b)
}

func TestWarnings(t *testing.T) {
	tests := []struct {
		name   string
		mutate func(c *Config)
		want   []string // "path: message fragment"
	}{
		{"none", func(*Config) {}, nil},
		{"preview", func(c *Config) { c.Jitsi.Preview = true }, []string{"jitsi.preview: preview is on"}},
		{"http public url", func(c *Config) { c.Server.PublicURL = "http://gate.example.org" }, []string{"server.public_url: not marked Secure"}},
		{"http localhost is fine", func(c *Config) { c.Server.PublicURL = "http://localhost:8080" }, nil},
		{"no rules", func(c *Config) { c.Rules = nil }, []string{"rules: every login is denied"}},
		{"no owner", func(c *Config) { c.Rules = c.Rules[1:] }, []string{"rules: nobody becomes a moderator"}},
		{"rule after catch-all", func(c *Config) {
			c.Rules = append([]Rule{{Name: "everyone", Role: "member", Rooms: []string{"*"}}}, c.Rules...)
		}, []string{"rules[1]: never reached: rules[0] (everyone)", "rules[2]: never reached"}},
		{"catch-all limited to some rooms is fine", func(c *Config) {
			c.Rules = append([]Rule{{Name: "lobby", Role: "member", Rooms: []string{"open-*"}}}, c.Rules...)
		}, nil},
		{"ldap without groups", func(c *Config) {
			b := ldapBackend()
			b.LDAP.MemberOfAttribute = ""
			c.Backends = append(c.Backends, b)
		}, []string{"backends[1]: reads no groups"}},
		{"ldap insecure", func(c *Config) {
			b := ldapBackend()
			b.LDAP.URL = "ldap://ldap.example.org"
			b.LDAP.InsecureSkipVerify = true
			c.Backends = append(c.Backends, b)
		}, []string{"backends[1].insecure_skip_verify: not checked", "backends[1].url: unencrypted"}},
		{"partial features", func(c *Config) { c.Rules[0].Features = map[string]bool{"recording": true} },
			[]string{"rules[0].features: not listed: livestreaming, transcription"}},
		{"tenant outside allow-list", func(c *Config) {
			c.Jitsi.Tenants = []string{"a"}
			c.Rules[0].Match.Tenants = []string{"b"}
		}, []string{"rules[0].match.tenants[0]: not in jitsi.tenants"}},
		{"tenant other than the url's", func(c *Config) {
			c.Jitsi.URL = "https://meet.example.com/a"
			c.Rules[0].Match.Tenants = []string{"b"}
		}, []string{`rules[0].match.tenants[0]: jitsi.url fixes the tenant to "a"`}},
		{"non-ascii room pattern is fine", func(c *Config) { c.Rules[0].Rooms = []string{"mathe-ü*"} }, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := mustParse(t, baseYAML(), nil)
			tt.mutate(c)
			c.ApplyDefaults()
			if err := c.Validate(); err != nil {
				t.Fatalf("the mutated config must stay valid: %v", err)
			}
			ws := c.Warnings()
			if len(ws) != len(tt.want) {
				t.Errorf("got %d warnings, want %d: %v", len(ws), len(tt.want), ws)
			}
			for _, w := range tt.want {
				path, frag, _ := strings.Cut(w, ": ")
				if _, ok := findProblem(ws, path, frag); !ok {
					t.Errorf("missing warning %q in %v", w, ws)
				}
			}
		})
	}
}

func TestClosest(t *testing.T) {
	cands := []string{"recording", "livestreaming", "screen-sharing", "ldap", "oidc", "static"}
	tests := []struct{ in, want string }{
		{"recordng", "recording"},
		{"Recording", "recording"},
		{"screen_sharing", "screen-sharing"},
		{"ldpa", "ldap"},
		{"odic", "oidc"},
		{"livestream", ""}, // 3 edits: not a typo
		{"xyz", ""},
	}
	for _, tt := range tests {
		if got := closest(tt.in, cands); got != tt.want {
			t.Errorf("closest(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

// TestLoadErrorProblems covers an error that is not the library's list.
func TestLoadErrorProblems(t *testing.T) {
	w := &tree{paths: map[pos]string{}, keys: map[pos]string{}}
	ps := w.loadErrorProblems(errors.New("boom"))
	if len(ps) != 1 || !strings.Contains(ps[0].Message, "boom") {
		t.Errorf("got %+v", ps)
	}
}

func TestKnownFeatures(t *testing.T) {
	want := []string{"recording", "livestreaming", "transcription", "outbound-call", "sip-outbound-call",
		"inbound-call", "sip-inbound-call", "screen-sharing", "create-polls", "send-groupchat",
		"file-upload", "flip", "live-translation", "list-visitors", "name-readonly"}
	got := KnownFeatures()
	if !slices.Equal(got, want) {
		t.Errorf("KnownFeatures() = %v", got)
	}
	got[0] = "changed"
	if KnownFeatures()[0] != "recording" {
		t.Error("KnownFeatures() exposes the package's slice")
	}
	// Every known feature is accepted by a rule.
	c := mustParse(t, baseYAML(), nil)
	c.Rules[0].Features = map[string]bool{}
	for _, f := range want {
		c.Rules[0].Features[f] = true
	}
	if err := c.Validate(); err != nil {
		t.Error(err)
	}
}

func ssoClient(redirect string) SSOClient {
	return SSOClient{ClientID: "jitsi", RedirectURIs: []string{redirect}}
}
