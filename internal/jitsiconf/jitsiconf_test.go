package jitsiconf

import (
	"flag"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/jitsi-gate/jitsi-gate/internal/config"
)

var update = flag.Bool("update", false, "rewrite testdata/*.golden from the current output")

// testEnv is the environment the testdata configs are loaded with: the
// docker-jitsi-meet .env variables plus the session secret.
var testEnv = map[string]string{
	"PUBLIC_URL":             "https://meet.example.com",
	"JWT_APP_ID":             "jitsi-gate",
	"JWT_ACCEPTED_AUDIENCES": "jitsi-gate-aud",
	"JWT_APP_SECRET":         "golden-test-jwt-secret-0123456789abcdefghijklmnop",
	"SESSION_SECRET":         "golden-test-session-secret-0123456789abcdefghijk",
	"RESERVATIONS_TOKEN":     "goldentestreservationstoken0123456789abcdef",
}

// reservationsTokenFile is the contents of testdata/reservations-token.
const reservationsTokenFile = "goldenfilereservationstoken0123456789abcdef"

func getenv(k string) string { return testEnv[k] }

// loadTestConfig loads testdata/name.yaml and the options the command
// would pass for it.
func loadTestConfig(t *testing.T, name string) (*config.Config, Options) {
	t.Helper()
	path := filepath.Join("testdata", name+".yaml")
	cfg, err := config.Load(path, getenv)
	if err != nil {
		t.Fatalf("load %s: %v", path, err)
	}
	// The loader made the token file's path absolute; the golden files
	// must not depend on where the repository is checked out.
	if f := cfg.Reservations.TokenFile; f != "" {
		abs, err := filepath.Abs("testdata")
		if err != nil {
			t.Fatal(err)
		}
		if rel, err := filepath.Rel(abs, f); err == nil && !strings.HasPrefix(rel, "..") {
			cfg.Reservations.TokenFile = filepath.Join("testdata", rel)
		}
	}
	return cfg, Options{SecretEnv: cfg.EnvVar("jitsi.signing.secret"), Source: "testdata/" + name + ".yaml",
		ReservationsTokenEnv: cfg.EnvVar("reservations.token")}
}

var goldenConfigs = []string{"hs256", "rs256-tenant-lobby"}

func TestGolden(t *testing.T) {
	for _, name := range goldenConfigs {
		cfg, opts := loadTestConfig(t, name)
		for _, format := range Formats() {
			t.Run(name+"/"+format, func(t *testing.T) {
				got, err := GenerateWith(cfg, format, opts)
				if err != nil {
					t.Fatal(err)
				}
				golden := filepath.Join("testdata", name+"."+format+".golden")
				if *update {
					if err := os.WriteFile(golden, []byte(got), 0o644); err != nil {
						t.Fatal(err)
					}
				}
				want, err := os.ReadFile(golden)
				if err != nil {
					t.Fatalf("%v (run go test ./internal/jitsiconf -update to create it)", err)
				}
				if got != string(want) {
					t.Errorf("output differs from %s (run with -update after checking the change):\n--- got\n%s", golden, got)
				}
				if strings.Contains(got, testEnv["JWT_APP_SECRET"]) || strings.Contains(got, testEnv["SESSION_SECRET"]) ||
					strings.Contains(got, testEnv["RESERVATIONS_TOKEN"]) || strings.Contains(got, reservationsTokenFile) {
					t.Errorf("output contains a secret")
				}
				if strings.Contains(got, "BEGIN") {
					t.Errorf("output contains key material")
				}
			})
		}
	}
}

func TestGenerateDefaultFormatIsEnv(t *testing.T) {
	cfg, _ := loadTestConfig(t, "hs256")
	def, err := Generate(cfg, "")
	if err != nil {
		t.Fatal(err)
	}
	env, err := Generate(cfg, FormatEnv)
	if err != nil {
		t.Fatal(err)
	}
	if def != env {
		t.Error(`Generate(cfg, "") differs from format env`)
	}
	if _, err := Generate(cfg, "yaml"); err == nil || !strings.Contains(err.Error(), "unknown format") {
		t.Errorf("format yaml: err = %v, want unknown format", err)
	}
}

func boolPtr(b bool) *bool { return &b }

func TestBuildModulesFromRules(t *testing.T) {
	base := func() *config.Config {
		cfg := &config.Config{
			Server: config.Server{Listen: "127.0.0.1:8080", PublicURL: "https://meet.example.com/_auth"},
			Jitsi: config.Jitsi{URL: "https://meet.example.com", XMPPDomain: "meet.jitsi", AppID: "gate",
				Signing: config.Signing{Algorithm: "HS256", Secret: "x"}},
		}
		cfg.ApplyDefaults()
		return cfg
	}
	tests := []struct {
		name      string
		rules     []config.Rule
		wantMUC   []string
		wantHost  []string
		wantWarns []string // substrings
		noWarns   []string
	}{
		{
			name:     "no rules",
			wantMUC:  []string{"token_verification"},
			noWarns:  []string{"token_affiliation is", "token_lobby_ondemand every", "features"},
			wantHost: nil,
		},
		{
			name:    "only deny rules issue no token",
			rules:   []config.Rule{{Name: "d", Role: "deny"}},
			wantMUC: []string{"token_verification"},
		},
		{
			name:    "member only needs token_affiliation",
			rules:   []config.Rule{{Name: "s", Role: "member"}},
			wantMUC: []string{"token_verification", "token_affiliation"},
			wantWarns: []string{"token_affiliation is in Jitsi core", "list token_affiliation_legacy instead",
				"/prosody-plugins-contrib/token_affiliation_legacy/", "on Debian nothing installs it"},
		},
		{
			// The "Lobby always on" recipe: the autostart modules need
			// persistent_lobby on the VirtualHost.
			name:     "lobby_bypass true",
			rules:    []config.Rule{{Name: "t", Role: "owner", LobbyBypass: boolPtr(true)}},
			wantMUC:  []string{"token_verification", "token_affiliation", "token_lobby_bypass"},
			wantHost: []string{"persistent_lobby"},
		},
		{
			name:    "lobby_bypass false needs no module",
			rules:   []config.Rule{{Name: "t", Role: "owner", LobbyBypass: boolPtr(false)}},
			wantMUC: []string{"token_verification", "token_affiliation"},
		},
		{
			name: "lobby true",
			rules: []config.Rule{
				{Name: "t", Role: "owner", LobbyBypass: boolPtr(true)},
				{Name: "g", Role: "member", Lobby: boolPtr(true)},
			},
			wantMUC:   []string{"token_verification", "token_affiliation", "token_lobby_bypass", "token_lobby_ondemand"},
			wantHost:  []string{"persistent_lobby"},
			wantWarns: []string{"every token user without lobby:true skips an active lobby", "(rules with lobby: true: g)"},
		},
		{
			name:      "features",
			rules:     []config.Rule{{Name: "t", Role: "owner", Features: map[string]bool{"recording": true}}},
			wantMUC:   []string{"token_verification", "token_affiliation"},
			wantWarns: []string{"rules t set features", "every feature not listed is OFF"},
		},
		{
			name:      "rule tenants",
			rules:     []config.Rule{{Name: "t", Role: "owner", Match: config.Match{Tenants: []string{"school-a"}}}},
			wantMUC:   []string{"token_verification", "token_affiliation"},
			wantWarns: []string{`tenants (school-a) need muc_mapper_domain_base = "meet.jitsi"`},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := base()
			cfg.Rules = tt.rules
			s, err := Build(cfg, Options{})
			if err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(s.MUCModules, tt.wantMUC) {
				t.Errorf("MUCModules = %v, want %v", s.MUCModules, tt.wantMUC)
			}
			if !slices.Equal(s.HostModules, tt.wantHost) {
				t.Errorf("HostModules = %v, want %v", s.HostModules, tt.wantHost)
			}
			all := strings.Join(s.Warnings, "\n")
			for _, w := range append(tt.wantWarns, "jicofo auth must be off", "or every token holder becomes moderator",
				"do not load muc_allowners", "muc_wait_for_host needs wait_for_host_disable_auto_owners = true") {
				if !strings.Contains(all, w) {
					t.Errorf("warnings lack %q:\n%s", w, all)
				}
			}
			for _, w := range tt.noWarns {
				if strings.Contains(all, w) {
					t.Errorf("warnings contain %q:\n%s", w, all)
				}
			}
			env := s.renderEnv()
			extra := s.extraMUCModules()
			if len(extra) == 0 {
				if strings.Contains(env, "\nXMPP_MUC_MODULES=") {
					t.Errorf("env sets XMPP_MUC_MODULES although no extra module is needed:\n%s", env)
				}
			} else if !strings.Contains(env, "\nXMPP_MUC_MODULES="+strings.Join(extra, ",")+"\n") {
				t.Errorf("env lacks XMPP_MUC_MODULES=%s:\n%s", strings.Join(extra, ","), env)
			}
			if hasHost := strings.Contains(env, "\nXMPP_MODULES=persistent_lobby\n"); hasHost != (len(tt.wantHost) > 0) {
				t.Errorf("env XMPP_MODULES=persistent_lobby present = %v, want %v", hasHost, len(tt.wantHost) > 0)
			}
		})
	}
}

func TestBuildSecretReference(t *testing.T) {
	tests := []struct {
		name            string
		opts            Options
		secretFile      string
		wantRef         string
		wantPlaceholder string
		wantEnvLine     string // "" = no JWT_APP_SECRET= line
	}{
		{"written in the file", Options{}, "", "<same value as jitsi.signing.secret>", "<same value as jitsi.signing.secret>",
			"JWT_APP_SECRET=<same value as jitsi.signing.secret>"},
		{"shared .env variable", Options{SecretEnv: "JWT_APP_SECRET"}, "", "${JWT_APP_SECRET}", "<value of JWT_APP_SECRET>", ""},
		{"another variable", Options{SecretEnv: "GATE_SECRET"}, "", "<same value as ${GATE_SECRET}>", "<same value as ${GATE_SECRET}>",
			"JWT_APP_SECRET=<same value as ${GATE_SECRET}>"},
		{"secret file", Options{SecretEnv: "JWT_APP_SECRET"}, "/run/secrets/jwt", "<contents of /run/secrets/jwt>", "<contents of /run/secrets/jwt>",
			"JWT_APP_SECRET=<contents of /run/secrets/jwt>"},
	}
	const secret = "the-real-secret-must-never-be-printed-0123456789"
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := &config.Config{
				Server: config.Server{Listen: ":8080", PublicURL: "https://meet.example.com/_auth"},
				Jitsi: config.Jitsi{URL: "https://meet.example.com", XMPPDomain: "meet.jitsi", AppID: "gate",
					Signing: config.Signing{Algorithm: "HS256", Secret: secret, SecretFile: tt.secretFile}},
			}
			cfg.ApplyDefaults()
			s, err := Build(cfg, tt.opts)
			if err != nil {
				t.Fatal(err)
			}
			if s.SecretRef != tt.wantRef || s.SecretPlaceholder != tt.wantPlaceholder {
				t.Errorf("SecretRef, SecretPlaceholder = %q, %q, want %q, %q", s.SecretRef, s.SecretPlaceholder, tt.wantRef, tt.wantPlaceholder)
			}
			for _, f := range Formats() {
				out, _ := s.Render(f)
				if strings.Contains(out, secret) {
					t.Errorf("format %s prints the secret", f)
				}
			}
			env := s.renderEnv()
			hasLine := strings.Contains(env, "\nJWT_APP_SECRET=")
			if tt.wantEnvLine == "" && hasLine {
				t.Errorf("env sets JWT_APP_SECRET although the gateway reads the same variable:\n%s", env)
			}
			if tt.wantEnvLine != "" && !strings.Contains(env, "\n"+tt.wantEnvLine+"\n") {
				t.Errorf("env lacks %q:\n%s", tt.wantEnvLine, env)
			}
			if !strings.Contains(s.renderProsody(), `app_secret = "`+tt.wantPlaceholder+`"`) {
				t.Errorf("prosody lacks app_secret = %q", tt.wantPlaceholder)
			}
		})
	}
}

func TestBuildURLs(t *testing.T) {
	tests := []struct {
		name, publicURL, jitsiURL, listen, alg string
		wantAuth, wantLogout, wantJitsi        string
		wantASAP, wantInternal                 string
	}{
		{
			name: "hs256 under /_auth", publicURL: "https://meet.example.com/_auth/", jitsiURL: "https://meet.example.com/",
			listen: "0.0.0.0:8080", alg: "HS256",
			wantAuth: "https://meet.example.com/_auth/login?state={state}", wantLogout: "https://meet.example.com/_auth/logout",
			wantJitsi: "https://meet.example.com",
		},
		{
			name: "rs256 own host, tenant in jitsi.url", publicURL: "https://login.example.com", jitsiURL: "https://meet.example.com/school-a",
			listen: "127.0.0.1:9000", alg: "RS256",
			wantAuth: "https://login.example.com/login?state={state}", wantLogout: "https://login.example.com/logout",
			wantJitsi: "https://meet.example.com",
			wantASAP:  "https://login.example.com/asap", wantInternal: "http://jitsi-gate.meet.jitsi:9000/asap",
		},
		{
			name: "rs256 under a path", publicURL: "https://meet.example.com/_auth", jitsiURL: "https://meet.example.com",
			listen: ":8080", alg: "RS256",
			wantAuth: "https://meet.example.com/_auth/login?state={state}", wantLogout: "https://meet.example.com/_auth/logout",
			wantJitsi: "https://meet.example.com",
			wantASAP:  "https://meet.example.com/_auth/asap", wantInternal: "http://jitsi-gate.meet.jitsi:8080/_auth/asap",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := &config.Config{
				Server: config.Server{Listen: tt.listen, PublicURL: tt.publicURL},
				Jitsi: config.Jitsi{URL: tt.jitsiURL, XMPPDomain: "meet.jitsi", AppID: "gate",
					Signing: config.Signing{Algorithm: tt.alg, Secret: "s", KeyID: "k1"}},
			}
			cfg.ApplyDefaults()
			s, err := Build(cfg, Options{})
			if err != nil {
				t.Fatal(err)
			}
			for _, c := range []struct{ what, got, want string }{
				{"TokenAuthURL", s.TokenAuthURL, tt.wantAuth},
				{"TokenLogoutURL", s.TokenLogoutURL, tt.wantLogout},
				{"JitsiURL", s.JitsiURL, tt.wantJitsi},
				{"ASAPKeyServer", s.ASAPKeyServer, tt.wantASAP},
				{"ASAPKeyServerInternal", s.ASAPKeyServerInternal, tt.wantInternal},
			} {
				if c.got != c.want {
					t.Errorf("%s = %q, want %q", c.what, c.got, c.want)
				}
			}
			if strings.HasSuffix(s.ASAPKeyServer, "/") {
				t.Error("asap_key_server ends in /: prosody would fetch //<hash>.pem")
			}
		})
	}
}

func TestBuildRejectsBadInput(t *testing.T) {
	if _, err := Build(nil, Options{}); err == nil {
		t.Error("Build(nil) succeeded")
	}
	cfg := &config.Config{
		Server: config.Server{PublicURL: "https://meet.example.com/_auth"},
		Jitsi:  config.Jitsi{URL: "https://meet.example.com", XMPPDomain: "meet.jitsi", AppID: "gate", Signing: config.Signing{Algorithm: "ES256"}},
	}
	if _, err := Build(cfg, Options{}); err == nil || !strings.Contains(err.Error(), "ES256") {
		t.Errorf("algorithm ES256: err = %v", err)
	}
	cfg.Jitsi.Signing.Algorithm = "HS256"
	cfg.Server.PublicURL = "/relative"
	if _, err := Build(cfg, Options{}); err == nil || !strings.Contains(err.Error(), "public_url") {
		t.Errorf("relative public_url: err = %v", err)
	}
}
