package doctor

import (
	"bytes"
	"context"
	"crypto/rsa"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/jitsi-gate/jitsi-gate/internal/config"
	"github.com/jitsi-gate/jitsi-gate/internal/grant"
	"github.com/jitsi-gate/jitsi-gate/internal/policy"
	"github.com/jitsi-gate/jitsi-gate/internal/token"
)

const testSecret = "doctor-test-jwt-secret-0123456789abcdefghijklmn"

// stockConfigJS is the shape of Jitsi's config.js: every option documented
// in comments, the real values in the object, custom-config.js appended.
const stockConfigJS = `/* eslint-disable comma-dangle */
var config = {
    hosts: {
        domain: 'meet.jitsi',
        // When using authentication, domain for guest users.
        // anonymousdomain: 'guest.example.com',
        muc: 'muc.meet.jitsi',
    },
    // tokenAuthUrl: 'https://myservice.com/auth/{room}',
    // tokenLogoutUrl: 'https://myservice.com/logout',
    /* tokenAuthUrl: 'https://block-comment.example/{room}', */
    p2p: { enabled: true, note: "a // inside a string is not a comment" },
};
`

type standIn struct {
	jitsi, gate *httptest.Server
	configJS    func(gateURL string) (int, string)
	health      int
	keys        *token.PublicKeySet
	// reservations serves /_auth/reservations/ when set.
	reservations http.Handler
}

func newStandIn(t *testing.T) *standIn {
	t.Helper()
	s := &standIn{health: http.StatusOK}
	s.gate = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch {
		case r.URL.Path == "/_auth/healthz":
			w.WriteHeader(s.health)
		case strings.HasPrefix(r.URL.Path, "/_auth/reservations/") && s.reservations != nil:
			s.reservations.ServeHTTP(w, r)
		case strings.HasPrefix(r.URL.Path, "/_auth/asap/") && s.keys != nil:
			pem, ok := s.keys.PEM(strings.TrimPrefix(r.URL.Path, "/_auth/asap/"))
			if !ok {
				http.NotFound(w, r)
				return
			}
			_, _ = w.Write(pem)
		default:
			http.NotFound(w, r)
		}
	}))
	t.Cleanup(s.gate.Close)
	s.jitsi = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/config.js" || s.configJS == nil {
			http.NotFound(w, r)
			return
		}
		code, body := s.configJS(s.gate.URL + "/_auth")
		w.WriteHeader(code)
		_, _ = w.Write([]byte(body))
	}))
	t.Cleanup(s.jitsi.Close)
	return s
}

func goodConfigJS(pub string) (int, string) {
	return 200, stockConfigJS + "config.tokenAuthUrl = '" + pub + "/login?state={state}';\n" +
		"config.tokenLogoutUrl = '" + pub + "/logout';\n"
}

// testConfig parses a gateway config pointing at the stand-ins; extra
// YAML is appended (top-level keys).
func testConfig(t *testing.T, s *standIn, signing string, extra ...string) *config.Config {
	t.Helper()
	return testConfigAt(t, s, s.jitsi.URL, signing, extra...)
}

// testConfigAt is testConfig with jitsi.url jitsiURL (a tenant path).
func testConfigAt(t *testing.T, s *standIn, jitsiURL, signing string, extra ...string) *config.Config {
	t.Helper()
	y := `
server: {listen: "127.0.0.1:0", public_url: "` + s.gate.URL + `/_auth"}
jitsi:
  url: "` + jitsiURL + `"
  xmpp_domain: meet.jitsi
  app_id: jitsi-gate
  signing: ` + signing + `
session: {secret: "doctor-test-session-secret-0123456789abcdefghij"}
backends:
  - id: local
    type: static
    users: [{username: t, password_hash: "$2a$10$AmFuIb4C01duOGAuG0UOjOZHrIB.XwvwTzH82GjFOfWMb485PbXvW", groups: [teachers]}]
rules:
  - {name: students, match: {groups: [students]}, role: member}
  - {name: teachers, match: {groups: [teachers]}, role: owner, lobby_bypass: true}
` + strings.Join(extra, "\n")
	cfg, err := config.Parse([]byte(y), t.TempDir(), nil)
	if err != nil {
		t.Fatalf("config: %v", err)
	}
	return cfg
}

// testGrants compiles cfg's rules the way cmd/jitsi-gate's wiring does.
func testGrants(t *testing.T, cfg *config.Config) *grant.Granter {
	t.Helper()
	var rules []policy.Rule
	for _, r := range cfg.Rules {
		rules = append(rules, policy.Rule{Name: r.Name, Groups: r.Match.Groups, Backends: r.Match.Backends,
			Users: r.Match.Users, Tenants: r.Match.Tenants, RoomRoles: r.Match.RoomRole, Role: policy.Role(r.Role), LobbyBypass: r.LobbyBypass,
			Lobby: r.Lobby, Features: r.Features, Rooms: r.Rooms, TokenLifetime: r.TokenLifetime})
	}
	p, err := policy.Compile(rules)
	if err != nil {
		t.Fatal(err)
	}
	g, err := grant.New(p, grant.Settings{Issuer: cfg.Jitsi.AppID, Audience: cfg.Jitsi.Audience,
		XMPPDomain: cfg.Jitsi.XMPPDomain, TokenLifetime: cfg.Jitsi.TokenLifetime}, nil)
	if err != nil {
		t.Fatal(err)
	}
	return g
}

func hsSigner(t *testing.T) *token.Signer {
	t.Helper()
	s, err := token.NewHS256([]byte(testSecret))
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func findCheck(r *Report, substr string) *Check {
	for _, sec := range r.Sections {
		for i := range sec.Checks {
			if strings.Contains(sec.Checks[i].Title, substr) {
				return &sec.Checks[i]
			}
		}
	}
	return nil
}

func TestRunConfigJSVariants(t *testing.T) {
	tests := []struct {
		name      string
		configJS  func(pub string) (int, string)
		health    int
		wantFail  bool
		want      map[string]Status // title substring → status
		wantFails int
		wantWarns int
	}{
		{
			name:     "good",
			configJS: goodConfigJS,
			want: map[string]Status{
				"fetched config.js":                     OK,
				"tokenAuthUrl points at this gateway":   OK,
				"tokenLogoutUrl points at this gateway": OK,
				"no guest domain":                       OK,
				"/_auth/healthz answered 200":           OK,
			},
		},
		{
			name: "object literal form, double quotes",
			configJS: func(pub string) (int, string) {
				return 200, strings.Replace(stockConfigJS, "    p2p:", "    tokenAuthUrl: \""+pub+"/login?room={room}&state={state}\",\n"+
					"    tokenLogoutUrl: \""+pub+"/logout\",\n    p2p:", 1)
			},
			want: map[string]Status{"tokenAuthUrl points at this gateway": OK, "tokenLogoutUrl points at this gateway": OK},
		},
		{
			name:      "tokenAuthUrl only in comments",
			configJS:  func(string) (int, string) { return 200, stockConfigJS },
			wantFail:  true,
			want:      map[string]Status{"tokenAuthUrl is not set": Fail, "tokenLogoutUrl is not set": Warn},
			wantFails: 1, wantWarns: 1,
		},
		{
			name: "tokenAuthUrl elsewhere",
			configJS: func(pub string) (int, string) {
				return 200, stockConfigJS + "config.tokenAuthUrl = 'https://other.example/auth/{room}';\n"
			},
			wantFail: true,
			want:     map[string]Status{"tokenAuthUrl is https://other.example/auth/{room}, not this gateway": Fail},
		},
		{
			name: "a look-alike prefix is not this gateway",
			configJS: func(pub string) (int, string) {
				return 200, stockConfigJS + "config.tokenAuthUrl = '" + pub + "/login-elsewhere?state={state}';\n"
			},
			wantFail: true,
			want:     map[string]Status{"not this gateway": Fail},
		},
		{
			name: "the last assignment wins",
			configJS: func(pub string) (int, string) {
				_, good := goodConfigJS(pub)
				return 200, good + "config.tokenAuthUrl = 'https://later.example/{room}';\n"
			},
			wantFail: true,
			want:     map[string]Status{"tokenAuthUrl is https://later.example/{room}": Fail},
		},
		{
			name: "no placeholders",
			configJS: func(pub string) (int, string) {
				return 200, stockConfigJS + "config.tokenAuthUrl = '" + pub + "/login';\nconfig.tokenLogoutUrl = '" + pub + "/logout';\n"
			},
			want:      map[string]Status{"neither {state} nor {room}": Warn},
			wantWarns: 1,
		},
		{
			name: "room without state",
			configJS: func(pub string) (int, string) {
				return 200, stockConfigJS + "config.tokenAuthUrl = '" + pub + "/login?room={room}';\nconfig.tokenLogoutUrl = '" + pub + "/logout';\n"
			},
			want:      map[string]Status{"has {room} but no {state}": Warn},
			wantWarns: 1,
		},
		{
			name: "logout elsewhere",
			configJS: func(pub string) (int, string) {
				return 200, stockConfigJS + "config.tokenAuthUrl = '" + pub + "/login?state={state}';\nconfig.tokenLogoutUrl = 'https://sso.example/logout';\n"
			},
			wantFail: true,
			want:     map[string]Status{"tokenLogoutUrl is https://sso.example/logout, not this gateway": Fail},
		},
		{
			name: "guest domain",
			configJS: func(pub string) (int, string) {
				_, good := goodConfigJS(pub)
				return 200, good + "config.hosts.anonymousdomain = 'guest.meet.jitsi';\n"
			},
			wantFail: true,
			want:     map[string]Status{"hosts.anonymousdomain is set (guest.meet.jitsi)": Fail},
		},
		{
			name: "guest domain in the object",
			configJS: func(pub string) (int, string) {
				_, good := goodConfigJS(pub)
				return 200, strings.Replace(good, "        // anonymousdomain: 'guest.example.com',", "        anonymousdomain: 'guest.example.com',", 1)
			},
			wantFail: true,
			want:     map[string]Status{"hosts.anonymousdomain is set (guest.example.com)": Fail},
		},
		{
			name: "tokenAuthUrl from an expression",
			configJS: func(pub string) (int, string) {
				return 200, stockConfigJS + "config.tokenAuthUrl = authBase + '/login';\nconfig.tokenLogoutUrl = '" + pub + "/logout';\n"
			},
			want:      map[string]Status{"tokenAuthUrl is set to an expression (authBase + '/login')": Warn},
			wantWarns: 1,
		},
		{
			name:     "config.js missing",
			configJS: func(string) (int, string) { return 404, "not found" },
			wantFail: true,
			want:     map[string]Status{"config.js answered HTTP 404": Fail},
		},
		{
			name:     "config.js too big",
			configJS: func(string) (int, string) { return 200, strings.Repeat("x", MaxBody+1) },
			wantFail: true,
			want:     map[string]Status{"cannot fetch config.js": Fail},
		},
		{
			name:     "gateway unhealthy",
			configJS: goodConfigJS,
			health:   http.StatusServiceUnavailable,
			wantFail: true,
			want:     map[string]Status{"/_auth/healthz answered HTTP 503": Fail},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := newStandIn(t)
			s.configJS = tt.configJS
			if tt.health != 0 {
				s.health = tt.health
			}
			cfg := testConfig(t, s, `{algorithm: HS256, secret: "`+testSecret+`"}`)
			r, err := Run(context.Background(), Options{Config: cfg, Grants: testGrants(t, cfg), Signer: hsSigner(t), JitsiURL: s.jitsi.URL})
			if err != nil {
				t.Fatal(err)
			}
			var out bytes.Buffer
			r.Write(&out)
			if r.Failed() != tt.wantFail {
				t.Errorf("Failed() = %v, want %v\n%s", r.Failed(), tt.wantFail, out.String())
			}
			for sub, st := range tt.want {
				c := findCheck(r, sub)
				if c == nil {
					t.Errorf("no check %q in\n%s", sub, out.String())
					continue
				}
				if c.Status != st {
					t.Errorf("check %q: status %s, want %s", sub, c.Status.Symbol(), st.Symbol())
				}
			}
			if tt.wantFails > 0 && r.Count(Fail) != tt.wantFails {
				t.Errorf("%d ✗, want %d\n%s", r.Count(Fail), tt.wantFails, out.String())
			}
			if !tt.wantFail && r.Count(Warn) != tt.wantWarns {
				t.Errorf("%d !, want %d\n%s", r.Count(Warn), tt.wantWarns, out.String())
			}
			if strings.Contains(out.String(), testSecret) {
				t.Error("the report prints the signing secret")
			}
		})
	}
}

func TestRunGatewayDown(t *testing.T) {
	s := newStandIn(t)
	s.configJS = goodConfigJS
	cfg := testConfig(t, s, `{algorithm: HS256, secret: "`+testSecret+`"}`)
	s.gate.Close()
	r, err := Run(context.Background(), Options{Config: cfg, Grants: testGrants(t, cfg), Signer: hsSigner(t), JitsiURL: s.jitsi.URL, Timeout: 2 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	if c := findCheck(r, "cannot reach "); c == nil || c.Status != Fail {
		t.Errorf("want a ✗ cannot reach check, got %+v", r.Sections)
	}
}

func TestRunOtherJitsiThanConfigured(t *testing.T) {
	s := newStandIn(t)
	s.configJS = goodConfigJS
	cfg := testConfig(t, s, `{algorithm: HS256, secret: "`+testSecret+`"}`)
	other := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		code, body := goodConfigJS(s.gate.URL + "/_auth")
		w.WriteHeader(code)
		_, _ = w.Write([]byte(body))
	}))
	defer other.Close()
	r, err := Run(context.Background(), Options{Config: cfg, Grants: testGrants(t, cfg), Signer: hsSigner(t), JitsiURL: other.URL + "/some-tenant"})
	if err != nil {
		t.Fatal(err)
	}
	if c := findCheck(r, "but the gateway sends users to jitsi.url"); c == nil || c.Status != Warn {
		t.Errorf("want a ! about the other Jitsi, got %+v", r.Sections)
	}
	if r.JitsiURL != other.URL {
		t.Errorf("JitsiURL = %q, want the origin %q", r.JitsiURL, other.URL)
	}
}

func TestRunRejectsBadInput(t *testing.T) {
	s := newStandIn(t)
	cfg := testConfig(t, s, `{algorithm: HS256, secret: "`+testSecret+`"}`)
	for _, tt := range []struct {
		name string
		opts Options
	}{
		{"no config", Options{Signer: hsSigner(t)}},
		{"no rules", Options{Config: cfg, Signer: hsSigner(t)}},
		{"no signer", Options{Config: cfg}},
		{"not http", Options{Config: cfg, Grants: testGrants(t, cfg), Signer: hsSigner(t), JitsiURL: "ftp://meet.example.com"}},
		{"no host", Options{Config: cfg, Grants: testGrants(t, cfg), Signer: hsSigner(t), JitsiURL: "https://"}},
	} {
		if _, err := Run(context.Background(), tt.opts); err == nil {
			t.Errorf("%s: Run succeeded", tt.name)
		}
	}
}

// TestManualTestTokens checks the two links the admin is asked to open:
// the first carries a token the configured key verifies, with the owner
// rule's rights; the second the same claims under a key Jitsi cannot know.
func TestManualTestTokens(t *testing.T) {
	key, err := token.GenerateKey(2048)
	if err != nil {
		t.Fatal(err)
	}
	keyFile := filepath.Join(t.TempDir(), "key.pem")
	if err := os.WriteFile(keyFile, token.EncodePrivateKeyPEM(key), 0o600); err != nil {
		t.Fatal(err)
	}
	const kid = "doctor-test-1"
	rsSigner, err := token.NewRS256(key, kid)
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name    string
		signing string
		signer  *token.Signer
		verify  any
	}{
		{"HS256", `{algorithm: HS256, secret: "` + testSecret + `"}`, hsSigner(t), []byte(testSecret)},
		{"RS256", `{algorithm: RS256, private_key_file: "` + keyFile + `", key_id: ` + kid + `}`, rsSigner, &key.PublicKey},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := newStandIn(t)
			s.configJS = goodConfigJS
			keys, err := token.NewPublicKeySet(map[string]*rsa.PublicKey{kid: &key.PublicKey})
			if err != nil {
				t.Fatal(err)
			}
			s.keys = keys
			cfg := testConfig(t, s, tt.signing)
			now := time.Now()
			r, err := Run(context.Background(), Options{Config: cfg, Grants: testGrants(t, cfg), Signer: tt.signer, Now: func() time.Time { return now }})
			if err != nil {
				t.Fatal(err)
			}
			var out bytes.Buffer
			r.Write(&out)
			if r.Failed() {
				t.Fatalf("unexpected ✗:\n%s", out.String())
			}
			if tt.name == "RS256" {
				if c := findCheck(r, "serves the public key for kid "+kid); c == nil || c.Status != OK {
					t.Errorf("no ✓ for the served key:\n%s", out.String())
				}
			}
			if len(r.Manual) != 3 {
				t.Fatalf("%d manual tests, want 3", len(r.Manual))
			}
			prefix := s.jitsi.URL + "/" + TestRoom
			parse := func(u string) (*jwt.Token, error) {
				if !strings.HasPrefix(u, prefix+"?jwt=") {
					t.Fatalf("link %q does not start with %s?jwt=", u, prefix)
				}
				return jwt.Parse(strings.TrimPrefix(u, prefix+"?jwt="), func(*jwt.Token) (any, error) { return tt.verify, nil },
					jwt.WithValidMethods([]string{tt.name}), jwt.WithIssuer("jitsi-gate"), jwt.WithAudience("jitsi-gate"))
			}
			good, err := parse(r.Manual[0].URL)
			if err != nil {
				t.Fatalf("good token does not verify with the configured key: %v", err)
			}
			mc := good.Claims.(jwt.MapClaims)
			user := mc["context"].(map[string]any)["user"].(map[string]any)
			if mc["room"] != TestRoom || mc["sub"] != "meet.jitsi" || user["moderator"] != true || user["lobby_bypass"] != true {
				t.Errorf("good token claims = %v, want room %s, sub meet.jitsi, the teachers rule's rights", mc, TestRoom)
			}
			exp, _ := mc.GetExpirationTime()
			if exp == nil || exp.Sub(now) > TestTokenLifetime+time.Second {
				t.Errorf("exp %v is more than %s after now", exp, TestTokenLifetime)
			}
			if tt.name == "RS256" && good.Header["kid"] != kid {
				t.Errorf("kid = %v, want %s", good.Header["kid"], kid)
			}
			bad, err := parse(r.Manual[1].URL)
			if err == nil {
				t.Fatal("the wrong-key token verifies with the configured key")
			}
			if tt.name == "RS256" && (bad == nil || bad.Header["kid"] != kid) {
				t.Errorf("wrong-key token must keep kid %s so prosody fetches the real key", kid)
			}
			if !strings.Contains(r.Manual[0].IfNot, "token_affiliation_legacy") ||
				!strings.Contains(r.Manual[0].IfNot, "/prosody-plugins/mod_token_affiliation.lua") {
				t.Errorf("the accepted-token test does not say how to tell core token_affiliation from the legacy one: %s", r.Manual[0].IfNot)
			}
			if r.Manual[2].URL != prefix {
				t.Errorf("no-token link = %q, want %q", r.Manual[2].URL, prefix)
			}
			for _, want := range []string{"allow_empty_token", "anonymousdomain", `authentication = "token"`, "doesn't bother"} {
				if !strings.Contains(r.Manual[1].IfNot, want) {
					t.Errorf("wrong-key instructions lack %q", want)
				}
			}
		})
	}
}

func TestRunRS256KeyMismatch(t *testing.T) {
	key, _ := token.GenerateKey(2048)
	other, _ := token.GenerateKey(2048)
	keyFile := filepath.Join(t.TempDir(), "key.pem")
	if err := os.WriteFile(keyFile, token.EncodePrivateKeyPEM(key), 0o600); err != nil {
		t.Fatal(err)
	}
	signer, err := token.NewRS256(key, "k1")
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name   string
		served map[string]*rsa.PublicKey
		want   string
	}{
		{"another key under the kid", map[string]*rsa.PublicKey{"k1": &other.PublicKey}, "is not the public half of private_key_file"},
		{"kid not served", map[string]*rsa.PublicKey{"k2": &key.PublicKey}, "answered HTTP 404"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := newStandIn(t)
			s.configJS = goodConfigJS
			s.keys, err = token.NewPublicKeySet(tt.served)
			if err != nil {
				t.Fatal(err)
			}
			cfg := testConfig(t, s, `{algorithm: RS256, private_key_file: "`+keyFile+`", key_id: k1}`)
			r, err := Run(context.Background(), Options{Config: cfg, Grants: testGrants(t, cfg), Signer: signer})
			if err != nil {
				t.Fatal(err)
			}
			if c := findCheck(r, tt.want); c == nil || c.Status != Fail {
				var out bytes.Buffer
				r.Write(&out)
				t.Errorf("want ✗ %q:\n%s", tt.want, out.String())
			}
		})
	}
}

func TestFindOption(t *testing.T) {
	tests := []struct {
		name, code, option string
		want               jsValue
	}{
		{"object", `var config = { tokenAuthUrl: 'https://a/login?state={state}', };`, "tokenAuthUrl",
			jsValue{Found: true, Literal: true, Value: "https://a/login?state={state}", Raw: "'https://a/login?state={state}'"}},
		{"assignment", `config.tokenAuthUrl="https://b/x";`, "tokenAuthUrl",
			jsValue{Found: true, Literal: true, Value: "https://b/x", Raw: `"https://b/x"`}},
		{"not the AutoRedirect option", `config.tokenAuthUrlAutoRedirect = true;`, "tokenAuthUrl", jsValue{}},
		{"not a longer name", `mytokenAuthUrl: 'x'`, "tokenAuthUrl", jsValue{}},
		{"comparison is no assignment", `if (config.tokenAuthUrl == 'x') {}`, "tokenAuthUrl", jsValue{}},
		{"undefined", `config.hosts.anonymousdomain = undefined;`, "anonymousdomain", jsValue{Found: true, Raw: "undefined"}},
		{"escaped quote", `tokenAuthUrl: 'it\'s'`, "tokenAuthUrl", jsValue{Found: true, Literal: true, Value: "it's", Raw: `'it\'s'`}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := findOption(tt.code, tt.option); got != tt.want {
				t.Errorf("findOption = %+v, want %+v", got, tt.want)
			}
		})
	}
}

func TestStripJSComments(t *testing.T) {
	tests := []struct{ in, want string }{
		{"a // b\nc", "a \nc"},
		{"a /* b\n b */ c", "a   c"},
		{`x = "// not a comment"; // yes`, `x = "// not a comment"; `},
		{`x = 'a /* b */ c'`, `x = 'a /* b */ c'`},
		{"x = `tpl // ${y}`", "x = `tpl // ${y}`"},
		{"a /* unterminated", "a "},
	}
	for _, tt := range tests {
		if got := stripJSComments(tt.in); got != tt.want {
			t.Errorf("stripJSComments(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}
