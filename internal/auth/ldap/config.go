package ldap

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net"
	"net/url"
	"os"
	"regexp"
	"strings"
	"time"

	goldap "github.com/go-ldap/ldap/v3"
)

// Placeholders in the configured filters. Each occurrence is replaced by the
// value escaped with ldap.EscapeFilter, once, when the filter is built.
const (
	UsernamePlaceholder = "{username}"
	DNPlaceholder       = "{dn}"
)

// DefaultTimeout bounds a whole login (dial, TLS, binds, searches) when
// Config.Timeout is zero.
const DefaultTimeout = 10 * time.Second

// maxNestingDepth caps the upward walk through nested groups. Real school
// directories nest two or three levels; the cap only matters for broken or
// hostile data, where the visited set already prevents loops.
const maxNestingDepth = 16

// maxUsernameLen rejects absurd input before it reaches the directory.
const maxUsernameLen = 256

// Config is one ldap backend. The field names follow config.LDAP; cmd copies
// them over (resolving bind_password_file first).
type Config struct {
	// ID is the backend id (URLs, audit log, Identity.Backend).
	ID string
	// Label is the form title on the login page; defaults to ID.
	Label string

	// URL is ldap://host[:389] or ldaps://host[:636].
	URL string
	// StartTLS upgrades an ldap:// connection before anything is sent.
	StartTLS bool
	// CAFile is a PEM bundle the server certificate must chain to; empty
	// means the system roots.
	CAFile string
	// InsecureSkipVerify turns certificate checks off (testing only).
	InsecureSkipVerify bool

	// BindDN and BindPassword are the service account used to find users
	// and groups. Both empty means anonymous; one without the other is a
	// configuration error.
	BindDN, BindPassword string

	// Timeout bounds a whole login; DefaultTimeout when zero.
	Timeout time.Duration

	UserSearch  UserSearch
	GroupSearch GroupSearch

	// MemberOfAttribute names the user attribute that lists the DNs of the
	// user's groups (memberOf on Active Directory and with the OpenLDAP
	// memberof overlay). The group name is the value of the first RDN of
	// each DN (cn=teachers,ou=groups,... -> "teachers"); no extra lookup.
	MemberOfAttribute string

	// Observe, when set, is told how long each directory operation took
	// (OpConnect, OpBind, OpSearch), whatever its outcome: the gateway's
	// metrics, without this package knowing them. It must be safe for
	// concurrent use.
	Observe func(op string, d time.Duration)
}

// Operations reported to Config.Observe; the same words as the operation
// label of the gateway's metrics.
const (
	// OpConnect: dial, TLS handshake (ldaps://) and StartTLS.
	OpConnect = "ldap_connect"
	// OpBind: one bind, as the service account, the user or anonymous.
	OpBind = "ldap_bind"
	// OpSearch: one search request.
	OpSearch = "ldap_search"
)

// UserSearch finds the entry of the user who logs in.
type UserSearch struct {
	// BaseDN is searched with subtree scope.
	BaseDN string
	// Filter contains {username}, e.g. (&(objectClass=inetOrgPerson)(uid={username})).
	Filter string
	// IDAttribute is the stable user id (Identity.Subject); the DN when
	// empty or missing on the entry. Binary values (objectGUID) are hex.
	IDAttribute string
	// UsernameAttribute holds the username rules match on
	// (Identity.Username): uid, sAMAccountName, userPrincipalName. It is
	// read from the entry, never taken from what was typed, because
	// directories match "ſtudent2" or "ｓｔｕｄｅｎｔ２" to uid=student2. When
	// empty it is the attribute Filter compares with {username} (the first
	// one, for a filter like (|(uid={username})(mail={username}))).
	UsernameAttribute string
	// NameAttribute is the display name; falls back to cn, then to the
	// username.
	NameAttribute string
	// EmailAttribute is the mail address; none when empty.
	EmailAttribute string
}

// GroupSearch finds the groups that list the user (or, when Nested, a group)
// as member. Leave BaseDN empty to switch it off.
type GroupSearch struct {
	// BaseDN is searched with subtree scope.
	BaseDN string
	// Filter contains {dn}, e.g. (&(objectClass=groupOfNames)(member={dn})).
	Filter string
	// NameAttribute is the group name; defaults to cn.
	NameAttribute string
	// Nested walks upward: groups that contain a found group are the
	// user's groups too.
	Nested bool
}

// settings is the validated, immutable form of Config used by logins.
type settings struct {
	Config
	addr      string      // host:port, for messages and dialing
	tls       *tls.Config // nil for plain ldap:// without StartTLS
	ldaps     bool
	anonymous bool
}

// validate checks cfg, applies defaults and builds the TLS config once. All
// problems are reported together.
func validate(cfg Config) (*settings, error) {
	s := &settings{Config: cfg}
	var errs []error
	bad := func(format string, args ...any) {
		errs = append(errs, fmt.Errorf(format, args...))
	}

	if strings.TrimSpace(cfg.ID) == "" {
		bad("id is required")
	}
	if s.Label == "" {
		s.Label = s.ID
	}
	if s.Timeout == 0 {
		s.Timeout = DefaultTimeout
	} else if s.Timeout < 0 {
		bad("timeout must be positive, got %s", s.Timeout)
	}

	var host string
	switch u, err := url.Parse(cfg.URL); {
	case cfg.URL == "":
		bad("url is required (ldap://host or ldaps://host)")
	case err != nil:
		bad("url %q: %v", cfg.URL, err)
	case u.Scheme != "ldap" && u.Scheme != "ldaps":
		bad("url %q: scheme must be ldap or ldaps", cfg.URL)
	case u.Hostname() == "":
		bad("url %q: host is missing", cfg.URL)
	case u.Path != "" && u.Path != "/" || u.RawQuery != "" || u.User != nil:
		bad("url %q: only scheme, host and port are allowed (put the base DN into user_search.base_dn)", cfg.URL)
	default:
		host = u.Hostname()
		s.ldaps = u.Scheme == "ldaps"
		port := u.Port()
		if port == "" {
			port = goldap.DefaultLdapPort
			if s.ldaps {
				port = goldap.DefaultLdapsPort
			}
		}
		s.addr = net.JoinHostPort(host, port)
	}
	if s.ldaps && cfg.StartTLS {
		bad("start_tls cannot be combined with an ldaps:// url (it is TLS already)")
	}
	useTLS := s.ldaps || cfg.StartTLS
	if !useTLS && cfg.URL != "" && (cfg.CAFile != "" || cfg.InsecureSkipVerify) {
		bad("ca_file and insecure_skip_verify need ldaps:// or start_tls: true")
	}
	if useTLS && host != "" {
		tc, err := tlsConfig(host, cfg.CAFile, cfg.InsecureSkipVerify)
		if err != nil {
			errs = append(errs, err)
		}
		s.tls = tc
	}

	switch {
	case cfg.BindDN == "" && cfg.BindPassword == "":
		s.anonymous = true
	case cfg.BindDN == "":
		bad("bind_password is set but bind_dn is empty")
	case cfg.BindPassword == "":
		bad("bind_dn is set but bind_password is empty (an empty password is an unauthenticated bind)")
	}

	us := &s.UserSearch
	if us.BaseDN == "" {
		bad("user_search.base_dn is required")
	} else if _, err := goldap.ParseDN(us.BaseDN); err != nil {
		bad("user_search.base_dn %q: %v", us.BaseDN, err)
	}
	checkFilter(bad, "user_search.filter", us.Filter, UsernamePlaceholder)
	if us.UsernameAttribute == "" && us.Filter != "" {
		us.UsernameAttribute = usernameAttributeOf(us.Filter)
		if us.UsernameAttribute == "" {
			bad("user_search.username_attribute is required: it cannot be read from user_search.filter %q (no (attribute={username}) in it); "+
				"name the attribute that holds the login name, e.g. uid or sAMAccountName", us.Filter)
		}
	}
	for _, a := range []struct{ key, name string }{
		{"user_search.id_attribute", us.IDAttribute},
		{"user_search.username_attribute", us.UsernameAttribute},
		{"user_search.name_attribute", us.NameAttribute},
		{"user_search.email_attribute", us.EmailAttribute},
		{"member_of_attribute", s.MemberOfAttribute},
	} {
		if IsSecretAttribute(a.name) {
			bad("%s %q holds password material; it is never read", a.key, a.name)
		}
	}

	gs := &s.GroupSearch
	if gs.BaseDN != "" {
		if _, err := goldap.ParseDN(gs.BaseDN); err != nil {
			bad("group_search.base_dn %q: %v", gs.BaseDN, err)
		}
		checkFilter(bad, "group_search.filter", gs.Filter, DNPlaceholder)
		if gs.NameAttribute == "" {
			gs.NameAttribute = "cn"
		}
	} else if gs.Filter != "" || gs.Nested {
		bad("group_search.filter and group_search.nested need group_search.base_dn")
	}

	if err := errors.Join(errs...); err != nil {
		return nil, fmt.Errorf("ldap backend %q: invalid config: %w", cfg.ID, err)
	}
	return s, nil
}

// usernameFilterRE finds an equality assertion on the username
// placeholder: (uid={username}), ( sAMAccountName = {username} ).
var usernameFilterRE = regexp.MustCompile(`\(\s*([A-Za-z][A-Za-z0-9-]*)\s*=\s*` + regexp.QuoteMeta(UsernamePlaceholder) + `\s*\)`)

// usernameAttributeOf returns the first attribute the user filter compares
// with {username}, or "" when there is none.
func usernameAttributeOf(filter string) string {
	if m := usernameFilterRE.FindStringSubmatch(filter); m != nil {
		return m[1]
	}
	return ""
}

// checkFilter requires the placeholder and compiles the filter with a sample
// value, so a typo in the YAML fails at startup and not on every login.
func checkFilter(bad func(string, ...any), name, filter, placeholder string) {
	if filter == "" {
		bad("%s is required", name)
		return
	}
	if !strings.Contains(filter, placeholder) {
		bad("%s %q must contain %s", name, filter, placeholder)
		return
	}
	if _, err := goldap.CompileFilter(buildFilter(filter, placeholder, "x")); err != nil {
		bad("%s %q: %v", name, filter, err)
	}
}

// tlsConfig is built once per backend: ServerName from the URL host (an IP is
// checked against the certificate's IP SANs), roots from caFile.
func tlsConfig(host, caFile string, insecure bool) (*tls.Config, error) {
	tc := &tls.Config{
		ServerName:         host,
		MinVersion:         tls.VersionTLS12,
		InsecureSkipVerify: insecure, //nolint:gosec // opt-in, named insecure_skip_verify
	}
	if caFile == "" {
		return tc, nil
	}
	pem, err := os.ReadFile(caFile)
	if err != nil {
		return nil, fmt.Errorf("ca_file: %w", err)
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(pem) {
		return nil, fmt.Errorf("ca_file %s: no PEM certificate found", caFile)
	}
	tc.RootCAs = pool
	return tc, nil
}

// buildFilter replaces every placeholder in tmpl with value escaped for an
// LDAP filter (RFC 4515). This is the only place user input or DNs enter a
// filter, so escaping happens exactly once.
func buildFilter(tmpl, placeholder, value string) string {
	return strings.ReplaceAll(tmpl, placeholder, goldap.EscapeFilter(value))
}
