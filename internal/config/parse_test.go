package config

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"go.yaml.in/yaml/v4"
	"golang.org/x/crypto/bcrypt"
)

func TestBaseConfigIsValid(t *testing.T) {
	c := mustParse(t, baseYAML(), nil)
	if c.Jitsi.Audience != "jitsi-gate" || c.Jitsi.Signing.Algorithm != "HS256" {
		t.Errorf("defaults not applied: %+v", c.Jitsi)
	}
}

func TestDefaults(t *testing.T) {
	c := mustParse(t, baseYAML()+`
  - {name: x, match: {users: [ada]}, role: member}
`, nil)
	ldap := mustParse(t, strings.Replace(baseYAML(), "backends:\n", `backends:
  - id: dir
    type: ldap
    url: ldaps://ldap.example.org
    member_of_attribute: memberOf
    user_search: {base_dn: "dc=example", filter: "(uid={username})"}
  - id: sso
    type: oidc
    issuer: https://sso.example.org/realms/school
    client_id: jitsi-gate
`, 1), nil)
	tests := []struct {
		name string
		got  any
		want any
	}{
		{"server.listen", c.Server.Listen, "127.0.0.1:8080"},
		{"jitsi.audience", c.Jitsi.Audience, "jitsi-gate"},
		{"jitsi.signing.algorithm", c.Jitsi.Signing.Algorithm, "HS256"},
		{"jitsi.token_lifetime", c.Jitsi.TokenLifetime, time.Hour},
		{"session.lifetime", c.Session.Lifetime, 8 * time.Hour},
		{"session.cookie_name", c.Session.CookieName, "jitsi_gate"},
		{"backends[0].label", c.Backends[0].Label, "local"},
		{"ldap timeout", ldap.Backends[0].LDAP.Timeout, 10 * time.Second},
		{"ldap id attribute", ldap.Backends[0].LDAP.UserSearch.IDAttribute, "uid"},
		{"ldap name attribute", ldap.Backends[0].LDAP.UserSearch.NameAttribute, "displayName"},
		{"ldap email attribute", ldap.Backends[0].LDAP.UserSearch.EmailAttribute, "mail"},
		{"ldap group name attribute", ldap.Backends[0].LDAP.GroupSearch.NameAttribute, "cn"},
		{"oidc scopes", ldap.Backends[1].OIDC.Scopes, []string{"openid", "profile", "email"}},
		{"oidc groups_claim", ldap.Backends[1].OIDC.GroupsClaim, StringList{"groups"}},
		{"oidc name_claim", ldap.Backends[1].OIDC.NameClaim, "name"},
		{"oidc email_claim", ldap.Backends[1].OIDC.EmailClaim, "email"},
		{"oidc id_claim", ldap.Backends[1].OIDC.IDClaim, "sub"},
		{"static backend has no ldap defaults", ldap.Backends[2].LDAP, LDAP{}},
		{"rule rooms", c.Rules[2].Rooms, []string{"*"}},
		{"rate_limit.per_user", c.RateLimit.PerUser, 5},
		{"rate_limit.per_user_global", c.RateLimit.PerUserGlobal, 50},
		{"rate_limit.per_ip", c.RateLimit.PerIP, 30},
		{"rate_limit.window", c.RateLimit.Window, time.Minute},
		{"log.level", c.Log.Level, "info"},
		{"log.format", c.Log.Format, "text"},
		{"metrics.listen (off)", c.Metrics.Listen, ""},
		{"ui.title", c.UI.Title, "jitsi-gate"},
		{"ui.default_language", c.UI.DefaultLanguage, "en"},
		{"store.driver", c.Store.Driver, "sqlite"},
		{"store.path is absolute", filepath.IsAbs(c.Store.Path), true},
		{"store.path", filepath.Base(c.Store.Path), "jitsi-gate.db"},
		{"rooms.timezone", c.Rooms.Timezone, "Europe/Berlin"},
		{"rooms.open_early", *c.Rooms.OpenEarly, 10 * time.Minute},
		{"rooms.grace", *c.Rooms.Grace, 5 * time.Minute},
		{"reservations.unregistered_rooms", c.Reservations.UnregisteredRooms, "deny"},
		{"reservations.default_duration", c.Reservations.DefaultDuration, 24 * time.Hour},
		{"reservations off", c.Reservations.Enabled(), false},
	}
	for _, tt := range tests {
		if !reflect.DeepEqual(tt.got, tt.want) {
			t.Errorf("%s = %#v, want %#v", tt.name, tt.got, tt.want)
		}
	}
}

func TestURLNormalisation(t *testing.T) {
	doc := strings.Replace(baseYAML(), "url: https://meet.example.com\n", "url: https://meet.example.com/school-a/\n", 1)
	doc = strings.Replace(doc, "public_url: https://meet.example.com/_auth", "public_url: https://meet.example.com/_auth/", 1)
	c := mustParse(t, doc, nil)
	if c.Jitsi.URL != "https://meet.example.com/school-a" || c.Server.PublicURL != "https://meet.example.com/_auth" {
		t.Errorf("trailing / kept: %q %q", c.Jitsi.URL, c.Server.PublicURL)
	}
	if got := c.Jitsi.PathTenant(); got != "school-a" {
		t.Errorf("PathTenant = %q", got)
	}
	if got := (Jitsi{URL: "https://meet.example.com"}).PathTenant(); got != "" {
		t.Errorf("PathTenant without path = %q", got)
	}
}

func TestSyntaxErrors(t *testing.T) {
	tests := []struct {
		name     string
		doc      string
		wantLine int
		wantMsg  string
	}{
		{"unclosed flow list", "server:\n  listen: 127.0.0.1:8080\n  trusted_proxies: [10.0.0.0/8\njitsi: {}\n", 3, "did not find expected ',' or ']'"},
		{"unclosed flow mapping", "a: 1\nb: {x: 1\nc: 2\n", 2, "did not find expected ',' or '}'"},
		{"bad indentation", "a: 1\nb:\n  c: 2\n d: 3\n", 4, "did not find expected key"},
		{"list item in a mapping", "a: 1\n- b\n", 2, "did not find expected key"},
		{"unterminated quote", "a: 1\nb: 2\nc: \"unterminated\nd: 4\n", 3, "found unexpected end of stream"},
		{"tab indentation", "server:\n\tlisten: x\n", 2, "invalid YAML"},
		{"mapping in a value", "jitsi:\n  url: https://x: y\n", 2, "invalid YAML"},
		{"two documents", "server: {}\n---\njitsi: {}\n", 2, "more than one YAML document"},
		{"not a mapping", "- a\n- b\n", 1, "must be a YAML mapping"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ps := parseProblems(t, tt.doc, nil)
			if len(ps) != 1 {
				t.Fatalf("got %d problems, want 1: %v", len(ps), ps)
			}
			if ps[0].Line != tt.wantLine || !strings.Contains(ps[0].Message, tt.wantMsg) {
				t.Errorf("got %q at line %d, want %q at line %d", ps[0].Message, ps[0].Line, tt.wantMsg, tt.wantLine)
			}
			if !strings.Contains(ps.Error(), "line "+strconv.Itoa(tt.wantLine)) {
				t.Errorf("Error() lacks the line number: %s", ps.Error())
			}
		})
	}
}

func TestEmptyDocumentReportsRequiredKeys(t *testing.T) {
	for _, doc := range []string{"", "# only a comment\n"} {
		ps := parseProblems(t, doc, nil)
		for _, p := range []string{"server.public_url", "jitsi.url", "jitsi.xmpp_domain", "jitsi.app_id",
			"jitsi.signing.secret", "session.secret", "backends"} {
			if _, ok := findProblem(ps, p, ""); !ok {
				t.Errorf("%q: no problem at %s in %v", doc, p, paths(ps))
			}
		}
	}
}

// TestDecodeProblems checks unknown keys, type errors and shape errors: all
// reported at once, with path, line and hint.
func TestDecodeProblems(t *testing.T) {
	type want struct {
		path, msg, hint string
		line            int
	}
	tests := []struct {
		name string
		doc  string
		want []want
	}{
		{
			name: "unknown top-level and nested keys together",
			doc: baseYAML() + `servr:
  listen: x
log:
  levl: debug
`,
			want: []want{
				{"servr", `unknown key "servr"`, `did you mean "server"?`, 21},
				{"log.levl", `unknown key "levl"`, `did you mean "level"?`, 24},
			},
		},
		{
			name: "nested unknown key, moved key and type error at once",
			doc: strings.Replace(baseYAML(), "  app_id: jitsi-gate\n", `  app_id: jitsi-gate
  secret: abc
  token_lifetime: 3600
  previw: true
`, 1),
			want: []want{
				{"jitsi.secret", `unknown key "secret"`, "jitsi.signing", 8},
				{"jitsi.token_lifetime", "expected a duration", "3600s", 9},
				{"jitsi.previw", `unknown key "previw"`, `did you mean "preview"?`, 10},
			},
		},
		{
			name: "unknown key among the inlined ldap fields",
			doc: strings.Replace(baseYAML(), "  - id: local\n", `  - id: dir
    type: ldap
    url: ldaps://ldap.example.org
    bind_dnn: cn=x
    member_of_attribute: memberOf
    user_search: {base_dn: "dc=x", filter: "(uid={username})", id_attr: uid}
  - id: local
`, 1),
			want: []want{
				{"backends[0].bind_dnn", `unknown key "bind_dnn"`, `did you mean "bind_dn"?`, 16},
				{"backends[0].user_search.id_attr", `unknown key "id_attr"`, "", 18},
			},
		},
		{
			name: "rule keys one level too high",
			doc:  baseYAML() + "  - {name: x, groups: [a], role: member}\n",
			want: []want{{"rules[2].groups", `unknown key "groups"`, "under match:", 21}},
		},
		{
			name: "unknown key in a static user",
			doc:  strings.Replace(baseYAML(), "{username: ada,", "{username: ada, password: x,", 1),
			want: []want{{"backends[0].users[0].password", `unknown key "password"`, "hash-password", 16}},
		},
		{
			name: "scalars of the wrong type",
			doc: baseYAML() + `rate_limit:
  per_user: many
  window: 1 minute
log: {level: debug, format: json}
`,
			want: []want{
				{"rate_limit.per_user", `expected a whole number, got "many"`, "", 22},
				{"rate_limit.window", `expected a duration such as 90s, 15m or 2h, got "1 minute"`, "unit", 23},
			},
		},
		{
			name: "bool and list shapes",
			doc: strings.Replace(baseYAML(), "  app_id: jitsi-gate\n", `  app_id: jitsi-gate
  preview: maybe
  tenants: school-a
`, 1),
			want: []want{
				{"jitsi.preview", `expected true or false, got "maybe"`, "", 8},
				{"jitsi.tenants", `expected a list, got "school-a"`, "- item", 9},
			},
		},
		{
			name: "a value where a mapping belongs",
			doc:  baseYAML() + "ui: plain\n",
			want: []want{{"ui", "expected a mapping", `under "ui:"`, 21}},
		},
		{
			name: "a mapping where a value belongs",
			doc:  baseYAML() + "log: {level: {x: y}}\n",
			want: []want{{"log.level", "expected a text value, got a mapping", "", 21}},
		},
		{
			name: "value swallowed by a comment",
			doc:  baseYAML() + "ui:\n  primary_color: #1a73e8\n  title: jitsi-gate # not this one\n  footer_html: # nor this\n",
			want: []want{{"ui.primary_color", "has no value", `"#1a73e8"`, 22}},
		},
		{
			name: "duplicate key",
			doc:  baseYAML() + "log: {level: debug, level: info}\n",
			want: []want{{"log.level", `key "level" appears twice (first at line 21)`, "", 21}},
		},
		{
			name: "groups_claim must be strings",
			doc: strings.Replace(baseYAML(), "  - id: local\n", `  - id: sso
    type: oidc
    issuer: https://sso.example.org
    client_id: x
    groups_claim: {a: b}
  - id: local
`, 1),
			want: []want{{"backends[0].groups_claim", "expected a text value or a list of them, got a mapping", "", 17}},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ps := parseProblems(t, tt.doc, nil)
			if len(ps) != len(tt.want) {
				t.Errorf("got %d problems, want %d:\n%v", len(ps), len(tt.want), ps)
			}
			for _, w := range tt.want {
				p, ok := findProblem(ps, w.path, w.msg)
				if !ok {
					t.Errorf("no problem %q at %s in:\n%v", w.msg, w.path, ps)
					continue
				}
				if p.Line != w.line {
					t.Errorf("%s: line %d, want %d", w.path, p.Line, w.line)
				}
				if !strings.Contains(p.Hint, w.hint) {
					t.Errorf("%s: hint %q, want it to contain %q", w.path, p.Hint, w.hint)
				}
			}
		})
	}
}

// TestDecodeAndValidationProblemsTogether: a file with an unknown key and a
// semantic error reports both, each once.
func TestDecodeAndValidationProblemsTogether(t *testing.T) {
	doc := strings.Replace(baseYAML(), "  xmpp_domain: meet.jitsi\n", "  xmpp_domian: meet.jitsi\n", 1)
	doc = strings.Replace(doc, "role: member}", "role: memeber}", 1)
	ps := parseProblems(t, doc, nil)
	for _, w := range []struct{ path, msg string }{
		{"jitsi.xmpp_domian", "unknown key"},
		{"jitsi.xmpp_domain", "is required"},
		{"rules[1].role", `"memeber" is not a role`},
	} {
		if _, ok := findProblem(ps, w.path, w.msg); !ok {
			t.Errorf("missing %s %q in:\n%v", w.path, w.msg, ps)
		}
	}
	if len(ps) != 3 {
		t.Errorf("got %d problems, want 3:\n%v", len(ps), ps)
	}
	// Validation problems get the line of their key.
	if p, _ := findProblem(ps, "rules[1].role", ""); p.Line != 20 {
		t.Errorf("rules[1].role line = %d, want 20", p.Line)
	}
}

func TestEnvExpansion(t *testing.T) {
	tests := []struct {
		name  string
		value string // YAML for ui.title, or footer_html
		env   map[string]string
		want  string
	}{
		{"set", "${TITLE}", map[string]string{"TITLE": "Schule"}, "Schule"},
		{"default used when unset", "${TITLE:-Fallback}", nil, "Fallback"},
		{"default used when empty", "${TITLE:-Fallback}", map[string]string{"TITLE": ""}, "Fallback"},
		{"default ignored when set", "${TITLE:-Fallback}", map[string]string{"TITLE": "Set"}, "Set"},
		{"empty default", "x${TITLE:-}y", nil, "xy"},
		{"dollar escape", "cost $$5 and $${TITLE}", map[string]string{"TITLE": "no"}, "cost $5 and ${TITLE}"},
		{"lone dollar kept", "$2a$10$abc", nil, "$2a$10$abc"},
		{"several in one value", "${A}-${B:-b}", map[string]string{"A": "a"}, "a-b"},
		{"yaml specials stay text", "${TITLE}", map[string]string{"TITLE": "a: b # c\n- d"}, "a: b # c\n- d"},
		{"expanded value not expanded again", "${TITLE}", map[string]string{"TITLE": "${HOME}", "HOME": "x"}, "${HOME}"},
		{"null stays text", "${TITLE}", map[string]string{"TITLE": "null"}, "null"},
		{"number stays text in a text field", "${TITLE}", map[string]string{"TITLE": "123"}, "123"},
		{"quoted", `"${TITLE}"`, map[string]string{"TITLE": "true"}, "true"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := mustParse(t, baseYAML()+"ui:\n  title: "+tt.value+"\n", tt.env)
			if c.UI.Title != tt.want {
				t.Errorf("title = %q, want %q", c.UI.Title, tt.want)
			}
		})
	}
}

func TestEnvExpansionTypedAndStructure(t *testing.T) {
	doc := baseYAML() + `rate_limit:
  per_user: ${PER_USER}
  window: ${WINDOW:-2m}
jitsi_extra_key_${NOT_EXPANDED}: 1
`
	ps := parseProblems(t, doc, map[string]string{"PER_USER": "7"})
	// Keys are not expanded: the key stays literally "jitsi_extra_key_${NOT_EXPANDED}".
	if _, ok := findProblem(ps, "jitsi_extra_key_${NOT_EXPANDED}", "unknown key"); !ok || len(ps) != 1 {
		t.Fatalf("want exactly the unknown literal key, got:\n%v", ps)
	}
	c := mustParse(t, strings.Replace(doc, "jitsi_extra_key_${NOT_EXPANDED}: 1\n", "", 1), map[string]string{"PER_USER": "7"})
	if c.RateLimit.PerUser != 7 || c.RateLimit.Window != 2*time.Minute {
		t.Errorf("typed expansion: per_user %d window %s", c.RateLimit.PerUser, c.RateLimit.Window)
	}
	// A list item and a value with YAML structure characters.
	c = mustParse(t, baseYAML()+"ui:\n  footer_html: ${FOOTER}\n", map[string]string{"FOOTER": "{a: [b]}, c: d"})
	if c.UI.FooterHTML != "{a: [b]}, c: d" {
		t.Errorf("footer = %q", c.UI.FooterHTML)
	}
	c = mustParse(t, strings.Replace(baseYAML(), "groups: [teachers]", "groups: [\"${G1}\", x]", 1), map[string]string{"G1": "teachers"})
	if got := c.Backends[0].Users[0].Groups; !slices.Equal(got, []string{"teachers", "x"}) {
		t.Errorf("groups = %v", got)
	}
}

func TestEnvExpansionProblems(t *testing.T) {
	tests := []struct {
		name, value, path, msg string
	}{
		{"unset", "${SESSION_SECRET}", "session.secret", "environment variable SESSION_SECRET is not set"},
		{"unterminated", "${SESSION_SECRET", "session.secret", "unterminated ${"},
		{"bad name", "${1BAD}", "session.secret", `invalid environment variable name "1BAD"`},
		{"nested default", "${A:-${B}}", "session.secret", "not supported"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			doc := strings.Replace(baseYAML(), "secret: fedcba9876543210fedcba9876543210", "secret: "+tt.value, 1)
			ps := parseProblems(t, doc, nil)
			p, ok := findProblem(ps, tt.path, tt.msg)
			if !ok {
				t.Fatalf("no %q at %s:\n%v", tt.msg, tt.path, ps)
			}
			if p.Line != 11 {
				t.Errorf("line %d, want 11", p.Line)
			}
			// The empty secret is not reported a second time as "is required".
			if len(ps) != 1 {
				t.Errorf("want 1 problem, got:\n%v", ps)
			}
		})
	}
}

func TestExpandEnvUnit(t *testing.T) {
	env := envMap(map[string]string{"A": "1", "B": "two"})
	tests := []struct {
		in, want    string
		wantMissing []string
		wantErr     bool
	}{
		{"plain", "plain", nil, false},
		{"${A}${B}", "1two", nil, false},
		{"${X}${Y}${X}", "", []string{"X", "Y"}, false},
		{"${X:-d}", "d", nil, false},
		{"$", "$", nil, false},
		{"a$$", "a$", nil, false},
		{"$A", "$A", nil, false},
		{"${}", "", nil, true},
		{"${A", "", nil, true},
		{"${A B}", "", nil, true},
	}
	for _, tt := range tests {
		got, missing, err := expandEnv(tt.in, env)
		if (err != nil) != tt.wantErr {
			t.Errorf("%q: err %v", tt.in, err)
			continue
		}
		if err == nil && (got != tt.want || !slices.Equal(missing, tt.wantMissing)) {
			t.Errorf("%q = %q %v, want %q %v", tt.in, got, missing, tt.want, tt.wantMissing)
		}
	}
}

func TestSecretFiles(t *testing.T) {
	dir := t.TempDir()
	writeFile(t, dir, "secrets/jwt", "0123456789abcdef0123456789abcdef-from-file\n")
	writeFile(t, dir, "secrets/session", "session-secret-from-file-0123456789abcdef\n\n")
	writeFile(t, dir, "secrets/bind", "bind pw\r\n")
	writeFile(t, dir, "secrets/client", "client-secret")
	doc := strings.Replace(baseYAML(), "    secret: 0123456789abcdef0123456789abcdef\n", "    secret_file: secrets/jwt\n", 1)
	doc = strings.Replace(doc, "  secret: fedcba9876543210fedcba9876543210\n", "  secret_file: "+filepath.Join(dir, "secrets/session")+"\n", 1)
	doc = strings.Replace(doc, "  - id: local\n", `  - id: dir
    type: ldap
    url: ldaps://ldap.example.org
    bind_dn: cn=gate
    bind_password_file: secrets/bind
    member_of_attribute: memberOf
    user_search: {base_dn: "dc=x", filter: "(uid={username})"}
  - id: sso
    type: oidc
    issuer: https://sso.example.org
    client_id: gate
    client_secret_file: secrets/client
  - id: local
`, 1)
	c, err := Parse([]byte(doc), dir, nil)
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct{ name, got, want string }{
		{"jwt secret", c.Jitsi.Signing.Secret, "0123456789abcdef0123456789abcdef-from-file"},
		{"jwt secret file absolute", c.Jitsi.Signing.SecretFile, filepath.Join(dir, "secrets/jwt")},
		{"session secret keeps all but one newline", c.Session.Secret, "session-secret-from-file-0123456789abcdef\n"},
		{"bind password CRLF", c.Backends[0].LDAP.BindPassword, "bind pw"},
		{"client secret without newline", c.Backends[1].OIDC.ClientSecret, "client-secret"},
	}
	for _, tt := range tests {
		if tt.got != tt.want {
			t.Errorf("%s = %q, want %q", tt.name, tt.got, tt.want)
		}
	}
}

// TestStoreAndReservationSecrets: the DSN and the reservation token are
// secrets with _file variants; the postgres driver gets no SQLite path by
// default; open_early and grace keep an explicit 0.
func TestStoreAndReservationSecrets(t *testing.T) {
	dir := t.TempDir()
	writeFile(t, dir, "dsn", "postgres://gate:pw@127.0.0.1:5432/gate\n")
	writeFile(t, dir, "token", "0123456789abcdef0123456789abcdef\n")
	writeFile(t, dir, "api-token", "0123456789abcdef0123456789abcdef-sync\n")
	c, err := Parse([]byte(baseYAML()+`store: {driver: postgres, dsn_file: dsn}
rooms: {timezone: Europe/Vienna, open_early: 0s, grace: 0s}
reservations: {token_file: token, unregistered_rooms: allow, default_duration: 2h}
api: {tokens: [{name: sync, token_file: api-token}, {name: other, token: "${API_TOKEN}"}]}
`), dir, envMap(map[string]string{"API_TOKEN": "fedcba9876543210fedcba9876543210-other"}))
	if err != nil {
		t.Fatal(err)
	}
	openEarly, grace := c.Rooms.Early()
	for _, tt := range []struct {
		name      string
		got, want any
	}{
		{"dsn", c.Store.DSN, "postgres://gate:pw@127.0.0.1:5432/gate"},
		{"no sqlite path for postgres", c.Store.Path, ""},
		{"token", c.Reservations.Token, "0123456789abcdef0123456789abcdef"},
		{"api token from its file", c.API.Tokens[0].Token, "0123456789abcdef0123456789abcdef-sync"},
		{"api token from the environment", c.API.Tokens[1].Token, "fedcba9876543210fedcba9876543210-other"},
		{"enabled", c.Reservations.Enabled(), true},
		{"policy", c.Reservations.UnregisteredRooms, "allow"},
		{"default_duration", c.Reservations.DefaultDuration, 2 * time.Hour},
		{"timezone", c.Rooms.Timezone, "Europe/Vienna"},
		{"open_early 0 kept", openEarly, time.Duration(0)},
		{"grace 0 kept", grace, time.Duration(0)},
	} {
		if !reflect.DeepEqual(tt.got, tt.want) {
			t.Errorf("%s = %#v, want %#v", tt.name, tt.got, tt.want)
		}
	}

	// A problem with the DSN never shows the DSN.
	ps := parseProblemsIn(t, baseYAML()+"store: {driver: postgres, dsn: \"postgres://gate:hunter2@db/gate\", dsn_file: dsn}\n", dir, nil)
	if _, ok := findProblem(ps, "store.dsn_file", "both the value and the _file variant"); !ok {
		t.Errorf("dsn and dsn_file: %v", ps)
	}
	if strings.Contains(ps.Error(), "hunter2") {
		t.Errorf("a problem shows the DSN's password:\n%v", ps)
	}
}

func TestSecretFileProblems(t *testing.T) {
	dir := t.TempDir()
	writeFile(t, dir, "jwt", "0123456789abcdef0123456789abcdef\n")
	tests := []struct {
		name, replace, with, path, msg string
	}{
		{"both set", "    secret: 0123456789abcdef0123456789abcdef\n",
			"    secret: 0123456789abcdef0123456789abcdef\n    secret_file: jwt\n",
			"jitsi.signing.secret_file", "both the value and the _file variant are set"},
		{"unreadable", "    secret: 0123456789abcdef0123456789abcdef\n", "    secret_file: missing/jwt\n",
			"jitsi.signing.secret_file", filepath.Join(dir, "missing/jwt")},
		{"session unreadable", "  secret: fedcba9876543210fedcba9876543210\n", "  secret_file: nope\n",
			"session.secret_file", "cannot read the secret file"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ps := parseProblemsIn(t, strings.Replace(baseYAML(), tt.replace, tt.with, 1), dir, nil)
			if _, ok := findProblem(ps, tt.path, tt.msg); !ok {
				t.Errorf("no %q at %s:\n%v", tt.msg, tt.path, ps)
			}
			if len(ps) != 1 {
				t.Errorf("want 1 problem (no extra 'is required'), got:\n%v", ps)
			}
		})
	}
}

func TestRelativePaths(t *testing.T) {
	dir := t.TempDir()
	writeFile(t, dir, "brand/logo.svg", "<svg/>")
	if err := os.MkdirAll(filepath.Join(dir, "tpl"), 0o755); err != nil {
		t.Fatal(err)
	}
	priv, _ := writeRSAKey(t, filepath.Join(dir), "key", 2048, false)
	doc := strings.Replace(baseYAML(), "    secret: 0123456789abcdef0123456789abcdef\n",
		"    algorithm: RS256\n    private_key_file: key.pem\n    key_id: gate-1\n", 1)
	doc += "ui: {logo_file: brand/logo.svg, templates_dir: ./tpl}\n"
	cfgPath := writeFile(t, dir, "jitsi-gate.yaml", doc)

	// Load from another working directory: paths follow the config file.
	t.Chdir(t.TempDir())
	c, err := Load(cfgPath, nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct{ got, want string }{
		{c.Jitsi.Signing.PrivateKeyFile, priv},
		{c.UI.LogoFile, filepath.Join(dir, "brand/logo.svg")},
		{c.UI.TemplatesDir, filepath.Join(dir, "tpl")},
	} {
		if tt.got != tt.want {
			t.Errorf("path %q, want %q", tt.got, tt.want)
		}
	}
}

func TestLoadMissingFile(t *testing.T) {
	_, err := Load(filepath.Join(t.TempDir(), "nope.yaml"), nil)
	if err == nil || !errors.Is(err, os.ErrNotExist) {
		t.Errorf("Load of a missing file: %v", err)
	}
}

func TestStringList(t *testing.T) {
	tests := []struct {
		value string
		want  StringList
	}{
		{"groups", StringList{"groups"}},
		{"[groups, realm_access.roles]", StringList{"groups", "realm_access.roles"}},
		{"\n      - groups\n      - resource_access.jitsi-gate.roles", StringList{"groups", "resource_access.jitsi-gate.roles"}},
		{`"${CLAIM}"`, StringList{"roles"}},
	}
	for _, tt := range tests {
		doc := strings.Replace(baseYAML(), "  - id: local\n", `  - id: sso
    type: oidc
    issuer: https://sso.example.org
    client_id: gate
    groups_claim: `+tt.value+`
  - id: local
`, 1)
		c := mustParse(t, doc, map[string]string{"CLAIM": "roles"})
		if !slices.Equal(c.Backends[0].OIDC.GroupsClaim, tt.want) {
			t.Errorf("%q: got %v, want %v", tt.value, c.Backends[0].OIDC.GroupsClaim, tt.want)
		}
	}
	// The type on its own, through yaml.v3.
	var s struct{ L StringList }
	if err := yaml.Unmarshal([]byte("l: one"), &s); err != nil || !slices.Equal(s.L, StringList{"one"}) {
		t.Errorf("scalar: %v %v", s.L, err)
	}
	if err := yaml.Unmarshal([]byte("l: [a, b]"), &s); err != nil || !slices.Equal(s.L, StringList{"a", "b"}) {
		t.Errorf("list: %v %v", s.L, err)
	}
	if err := yaml.Unmarshal([]byte("l: {a: b}"), &s); err == nil {
		t.Errorf("mapping accepted")
	}
	if err := yaml.Unmarshal([]byte("l: [[a]]"), &s); err == nil {
		t.Errorf("nested list accepted")
	}
}

func TestExampleIsEmbeddedDefault(t *testing.T) {
	example, err := os.ReadFile("../../config.example.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(example, defaultYAML) {
		t.Fatal("internal/config/default.yaml differs from config.example.yaml; run: cp config.example.yaml internal/config/default.yaml")
	}
	if !bytes.Equal(DefaultYAML(), example) {
		t.Error("DefaultYAML() differs")
	}
}

func TestDefaultConfig(t *testing.T) {
	c, err := Default(func(string) string { return "" })
	if err != nil {
		t.Fatalf("Default() with empty environment: %v", err)
	}
	if err := c.Validate(); err != nil {
		t.Fatalf("Validate: %v", err)
	}
	if !c.Jitsi.Preview || c.Jitsi.URL != "https://meet.example.com" || c.Jitsi.AppID != "jitsi-gate" ||
		c.Jitsi.TokenLifetime != 2*time.Hour || len(c.Backends) != 1 || c.Backends[0].ID != "demo" ||
		c.Backends[0].Label != "Demo accounts" || len(c.Rules) != 2 {
		t.Errorf("unexpected default config: %+v", c)
	}
	if got := paths(c.Warnings()); !slices.Equal(got, []string{"jitsi.preview"}) {
		t.Errorf("warnings = %v, want only jitsi.preview", c.Warnings())
	}
	// The docker-jitsi-meet .env names are honoured.
	c, err = Default(envMap(map[string]string{
		"PUBLIC_URL": "https://jitsi.school.example", "XMPP_DOMAIN": "meet.jitsi", "JWT_APP_ID": "school",
		"JWT_ACCEPTED_AUDIENCES": "jitsi",
	}))
	if err != nil {
		t.Fatal(err)
	}
	if c.Jitsi.URL != "https://jitsi.school.example" || c.Jitsi.XMPPDomain != "meet.jitsi" ||
		c.Jitsi.AppID != "school" || c.Jitsi.Audience != "jitsi" {
		t.Errorf("environment not used: %+v", c.Jitsi)
	}
	// A real secret in the environment (docker-jitsi-meet's .env sourced
	// on the host) would make the demo accounts' tokens valid on that
	// Jitsi: the demo refuses to start instead.
	for _, name := range []string{"JWT_APP_SECRET", "SESSION_SECRET"} {
		_, err = Default(envMap(map[string]string{name: "0123456789abcdef0123456789abcdef"}))
		var ps *Problems
		if !errors.As(err, &ps) || len(*ps) != 3 {
			t.Fatalf("Default() with a real %s = %v, want the 3 demo accounts refused", name, err)
		}
		if _, ok := findProblem(*ps, "backends[0].users[0].password_hash", "demo secrets"); !ok {
			t.Errorf("Default() with a real %s: %v", name, ps)
		}
	}
}

// TestExampleWithoutPreview: an admin who turns preview off but keeps the
// demo secrets and accounts gets told about each of them.
func TestExampleWithoutPreview(t *testing.T) {
	doc := strings.Replace(string(defaultYAML), "  preview: true\n", "  preview: false\n", 1)
	ps := parseProblems(t, doc, nil)
	want := []string{
		"jitsi.signing.secret", "session.secret",
		"backends[0].users[0].password_hash", "backends[0].users[1].password_hash", "backends[0].users[2].password_hash",
	}
	got := paths(ps)
	sort.Strings(got)
	sort.Strings(want)
	if !slices.Equal(got, want) {
		t.Errorf("problems at %v, want %v:\n%v", got, want, ps)
	}
	if p, ok := findProblem(ps, "session.secret", "demo value from config.example.yaml"); !ok || !strings.Contains(p.Message, "SESSION_SECRET") {
		t.Errorf("session secret message: %v", ps)
	}
	// With real secrets, only the demo accounts remain.
	env := map[string]string{"JWT_APP_SECRET": "0123456789abcdef0123456789abcdef", "SESSION_SECRET": "0123456789abcdef0123456789abcdef"}
	ps = parseProblems(t, doc, env)
	if len(ps) != 3 {
		t.Errorf("want the 3 demo accounts, got:\n%v", ps)
	}
}

// TestDemoHashesMatchExample keeps demoPasswordHashes in step with the
// demo users of config.example.yaml, whose password is their user name.
func TestDemoHashesMatchExample(t *testing.T) {
	c, err := Default(nil)
	if err != nil {
		t.Fatal(err)
	}
	var hashes []string
	for _, u := range c.Backends[0].Users {
		hashes = append(hashes, u.PasswordHash)
		if err := bcrypt.CompareHashAndPassword([]byte(u.PasswordHash), []byte(u.Username)); err != nil {
			t.Errorf("demo user %s: password is not the user name: %v", u.Username, err)
		}
		if cost, _ := bcrypt.Cost([]byte(u.PasswordHash)); cost != 10 {
			t.Errorf("demo user %s: cost %d, want 10", u.Username, cost)
		}
	}
	if !slices.Equal(hashes, demoPasswordHashes) {
		t.Errorf("demoPasswordHashes = %v, example has %v", demoPasswordHashes, hashes)
	}
	want := map[string][]string{"teacher": {"teachers"}, "student": {"students"}, "parent": {"parents"}}
	for _, u := range c.Backends[0].Users {
		if !slices.Equal(u.Groups, want[u.Username]) {
			t.Errorf("demo user %s groups %v", u.Username, u.Groups)
		}
	}
}

func TestRS256(t *testing.T) {
	for _, pkcs1 := range []bool{false, true} {
		t.Run("pkcs1="+strconv.FormatBool(pkcs1), func(t *testing.T) {
			dir := t.TempDir()
			priv, _ := writeRSAKey(t, dir, "current", 2048, pkcs1)
			_, oldPub := writeRSAKey(t, dir, "old", 2048, false)
			doc := strings.Replace(baseYAML(), "    secret: 0123456789abcdef0123456789abcdef\n", `    algorithm: RS256
    private_key_file: `+filepath.Base(priv)+`
    key_id: gate-2026-1
    previous_public_keys:
      - {key_id: gate-2025-1, public_key_file: old.pub.pem}
`, 1)
			c, err := Parse([]byte(doc), dir, nil)
			if err != nil {
				t.Fatal(err)
			}
			// The key files are only located here; the wiring reads them.
			s := c.Jitsi.Signing
			if s.PrivateKeyFile != priv || len(s.PreviousPublicKeys) != 1 || s.PreviousPublicKeys[0].PublicKeyFile != oldPub {
				t.Fatalf("key files not resolved: %+v", s)
			}
		})
	}
}

func TestProblemsFormatAndErrorsAs(t *testing.T) {
	ps := Problems{
		{Path: "backends[1].url", Line: 12, Message: "is bad", Hint: "fix it"},
		{Path: "jitsi.app_id", Message: "is required"},
		{Line: 3, Message: "invalid YAML: x"},
	}
	want := "backends[1].url (line 12): is bad (hint: fix it)\njitsi.app_id: is required\nline 3: invalid YAML: x"
	if ps.Error() != want {
		t.Errorf("Error() =\n%s\nwant\n%s", ps.Error(), want)
	}
	var err error = &ps
	var asValue Problems
	var asPtr *Problems
	if !errors.As(err, &asValue) || len(asValue) != 3 {
		t.Error("errors.As into Problems failed")
	}
	if !errors.As(err, &asPtr) || len(*asPtr) != 3 {
		t.Error("errors.As into *Problems failed")
	}
	wrapped := errors.Join(errors.New("ctx"), err)
	if !errors.As(wrapped, &asValue) {
		t.Error("errors.As through a wrapper failed")
	}
}

// TestUnknownKeysAgreeWithTheLibrary checks that every unknown key the
// library's strict mode finds is reported as a problem on the same line,
// including inside the ,inline LDAP/OIDC fields of Backend, with its path.
func TestUnknownKeysAgreeWithTheLibrary(t *testing.T) {
	docs := []string{
		baseYAML(),
		baseYAML() + "servr: {}\nlog: {levl: x}\n",
		strings.Replace(baseYAML(), "  - id: local\n", `  - id: dir
    type: ldap
    url: ldaps://x
    bind_dn: cn=x
    bind_pasword: y
    start_tls: false
    user_search: {base_dn: x, filter: "(uid={username})", id_attribute: uid, nme_attribute: cn}
    group_search: {base_dn: x, filter: "(member={dn})", nested: true, depth: 3}
    member_of_attribute: memberOf
  - id: sso
    type: oidc
    issuer: https://x
    client_id: x
    client_secrets: x
    groups_claim: [a, b]
    auth_params: {prompt: login}
    userinfo: true
    scope: [openid]
  - id: local2
    type: static
    label: Local
    users:
      - {username: z, password_hash: x, groups: [a], nme: x}
  - id: local
`, 1),
		baseYAML() + "rules2: []\n" + `jitsi_x:
  signing: {previous_public_keys: [{key_id: a, public_key_file: b, kid: c}]}
`,
		strings.Replace(baseYAML(), "role: owner}", "role: owner, lobby: true, lobby_bypass: true, features: {recording: true}, rooms: [a], token_lifetime: 1h, mtch: {}}", 1),
	}
	fieldRE := regexp.MustCompile(`^field (\S+) not found in type`)
	for i, doc := range docs {
		var c Config
		var strict []string
		if err := yaml.Load([]byte(doc), &c, yaml.WithKnownFields()); err != nil {
			var le *yaml.LoadErrors
			if !errors.As(err, &le) {
				t.Fatalf("doc %d: %v", i, err)
			}
			for _, e := range le.Errors {
				if m := fieldRE.FindStringSubmatch(e.Message); m != nil {
					strict = append(strict, strconv.Itoa(e.Mark.Line)+":"+m[1])
				}
			}
		}
		var ours []string
		_, perr := Parse([]byte(doc), t.TempDir(), nil)
		var ps Problems
		if pp := (*Problems)(nil); errors.As(perr, &pp) {
			ps = *pp
		}
		for _, p := range ps {
			if strings.HasPrefix(p.Message, "unknown key ") {
				key, _ := strconv.Unquote(strings.TrimPrefix(p.Message, "unknown key "))
				ours = append(ours, strconv.Itoa(p.Line)+":"+key)
				if !strings.HasSuffix(p.Path, key) {
					t.Errorf("doc %d: unknown key %q reported at path %q", i, key, p.Path)
				}
			}
		}
		sort.Strings(strict)
		sort.Strings(ours)
		if !slices.Equal(strict, ours) {
			t.Errorf("doc %d: the library found %v, the problems name %v", i, strict, ours)
		}
		if i > 0 && len(ours) == 0 {
			t.Errorf("doc %d: expected unknown keys", i)
		}
	}
}

// TestEveryFieldHasAKey fills every field of Config, marshals it and
// parses it back strictly: every key the library writes is known, and the
// values survive the round trip.
func TestEveryFieldHasAKey(t *testing.T) {
	var c Config
	fill(reflect.ValueOf(&c).Elem())
	data, err := yaml.Dump(&c)
	if err != nil {
		t.Fatal(err)
	}
	root, syntax := parseDocument(data)
	if syntax != nil {
		t.Fatal(syntax)
	}
	w := &tree{getenv: func(string) string { return "" }, lines: map[string]int{}, paths: map[pos]string{}, keys: map[pos]string{}, envOf: map[string]string{}, expanded: map[*yaml.Node]bool{}}
	w.walk(root, "")
	var back Config
	if err := root.Load(&back, yaml.WithKnownFields()); err != nil || len(w.problems) > 0 {
		t.Fatalf("a marshalled Config is rejected: %v %v\n%s", err, w.problems, data)
	}
	if !reflect.DeepEqual(c, back) {
		t.Errorf("round trip changed the config:\n%+v\n%+v", c, back)
	}
}

// fill sets every settable field to a non-zero value (skipping yaml:"-").
func fill(v reflect.Value) {
	switch v.Kind() {
	case reflect.Struct:
		for i := range v.NumField() {
			if f := v.Type().Field(i); f.Tag.Get("yaml") == "-" || !f.IsExported() {
				continue
			}
			fill(v.Field(i))
		}
	case reflect.String:
		v.SetString("x")
	case reflect.Bool:
		v.SetBool(true)
	case reflect.Int, reflect.Int64:
		v.SetInt(int64(90 * time.Second))
	case reflect.Slice:
		s := reflect.MakeSlice(v.Type(), 1, 1)
		fill(s.Index(0))
		v.Set(s)
	case reflect.Map:
		m := reflect.MakeMap(v.Type())
		e := reflect.New(v.Type().Elem()).Elem()
		fill(e)
		m.SetMapIndex(reflect.ValueOf("k"), e)
		v.Set(m)
	case reflect.Pointer:
		p := reflect.New(v.Type().Elem())
		fill(p.Elem())
		v.Set(p)
	}
}

func TestAliasesAndMergeKeys(t *testing.T) {
	doc := strings.Replace(baseYAML(), "rules:\n", `x-common: &common
  match: {groups: [teachers]}
  rooms: ["math-*"]
rules:
`, 1)
	// x-common is an unknown top-level key: anchors need a home, and
	// jitsi-gate is strict, so it is reported.
	ps := parseProblems(t, doc, nil)
	if _, ok := findProblem(ps, "x-common", "unknown key"); !ok || len(ps) != 1 {
		t.Fatalf("got %v", ps)
	}
	doc = strings.Replace(baseYAML(), "  - {name: teachers, match: {groups: [teachers]}, role: owner}\n", `  - &t {name: teachers, match: {groups: [teachers]}, role: owner, rooms: ["math-*"]}
  - {<<: *t, name: teachers-2, rooms: ["art-*"]}
  - {<<: *t, name: teachers-3, colour: red}
`, 1)
	ps = parseProblems(t, doc, nil)
	if _, ok := findProblem(ps, "rules[2].colour", "unknown key"); !ok || len(ps) != 1 {
		t.Fatalf("got %v", ps)
	}
	c := mustParse(t, strings.Replace(doc, ", colour: red", "", 1), nil)
	if r := c.Rules[1]; r.Name != "teachers-2" || r.Role != "owner" || !slices.Equal(r.Rooms, []string{"art-*"}) ||
		!slices.Equal(r.Match.Groups, []string{"teachers"}) {
		t.Errorf("merged rule = %+v", r)
	}
}

func TestAliasBomb(t *testing.T) {
	var b strings.Builder
	b.WriteString(baseYAML())
	b.WriteString("ui:\n  footer_html: &a0 x\n")
	// Not a real bomb (yaml.v3 guards decoding), but many aliases must not
	// make the walker slow or loop.
	doc := b.String() + "log: {level: *a0}\n"
	ps := parseProblems(t, doc, nil)
	if _, ok := findProblem(ps, "log.level", `"x" is not a log level`); !ok {
		t.Errorf("got %v", ps)
	}
}

// TestEnvVar: which environment variable a value was written as; jitsi-config
// names it in the Jitsi-side settings instead of printing the secret.
func TestEnvVar(t *testing.T) {
	tests := []struct{ secret, want string }{
		{`"${JWT_APP_SECRET}"`, "JWT_APP_SECRET"},
		{`${JWT_APP_SECRET:-0123456789abcdef0123456789abcdef}`, "JWT_APP_SECRET"},
		{`"${GATE_SECRET}"`, "GATE_SECRET"},
		{`"prefix-${JWT_APP_SECRET}"`, ""},
		{`0123456789abcdef0123456789abcdef`, ""},
	}
	env := map[string]string{"JWT_APP_SECRET": "0123456789abcdef0123456789abcdef", "GATE_SECRET": "0123456789abcdef0123456789abcdef"}
	for _, tt := range tests {
		doc := strings.Replace(baseYAML(), "    secret: 0123456789abcdef0123456789abcdef\n", "    secret: "+tt.secret+"\n", 1)
		c := mustParse(t, doc, env)
		if got := c.EnvVar("jitsi.signing.secret"); got != tt.want {
			t.Errorf("secret: %s: EnvVar = %q, want %q", tt.secret, got, tt.want)
		}
	}
	c, err := Default(nil)
	if err != nil {
		t.Fatal(err)
	}
	if got := c.EnvVar("jitsi.signing.secret"); got != "JWT_APP_SECRET" {
		t.Errorf("default config: EnvVar = %q, want JWT_APP_SECRET", got)
	}
}

func TestParseMetrics(t *testing.T) {
	c := mustParse(t, baseYAML()+"metrics:\n  listen: \"${METRICS_LISTEN}\"\n", map[string]string{"METRICS_LISTEN": "127.0.0.1:9090"})
	if c.Metrics.Listen != "127.0.0.1:9090" {
		t.Errorf("metrics.listen = %q, want 127.0.0.1:9090", c.Metrics.Listen)
	}
	ps := parseProblems(t, baseYAML()+"metrics:\n  listen: 9090\n", nil)
	p, ok := findProblem(ps, "metrics.listen", "not a host:port address")
	if !ok {
		t.Fatalf("problems = %v, want metrics.listen not a host:port address", ps)
	}
	if want := strings.Count(baseYAML(), "\n") + 2; p.Line != want {
		t.Errorf("metrics.listen problem at line %d, want %d", p.Line, want)
	}
	ps = parseProblems(t, baseYAML()+"metrics:\n  listen: 127.0.0.1:9090\n  path: /m\n", nil)
	if len(ps) == 0 || !strings.Contains(ps.Error(), "path") {
		t.Errorf("an unknown key under metrics was accepted: %v", ps)
	}
}
