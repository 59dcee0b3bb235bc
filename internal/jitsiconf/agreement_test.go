package jitsiconf

import (
	"bufio"
	"context"
	"crypto/rsa"
	"errors"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/jitsi-gate/jitsi-gate/internal/auth"
	"github.com/jitsi-gate/jitsi-gate/internal/config"
	"github.com/jitsi-gate/jitsi-gate/internal/grant"
	"github.com/jitsi-gate/jitsi-gate/internal/jitsiverify"
	"github.com/jitsi-gate/jitsi-gate/internal/policy"
	"github.com/jitsi-gate/jitsi-gate/internal/room"
	"github.com/jitsi-gate/jitsi-gate/internal/token"
)

// parseEnv reads KEY=VALUE lines of the generated .env (comments skipped),
// the way docker compose reads them.
func parseEnv(t *testing.T, text string) map[string]string {
	t.Helper()
	env := map[string]string{}
	sc := bufio.NewScanner(strings.NewReader(text))
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		k, v, ok := strings.Cut(line, "=")
		if !ok {
			t.Fatalf("env line without '=': %q", line)
		}
		if _, dup := env[k]; dup {
			t.Fatalf("env sets %s twice", k)
		}
		env[k] = v
	}
	return env
}

func splitList(s string) []string {
	var out []string
	for _, v := range strings.Split(s, ",") {
		if v = strings.TrimSpace(v); v != "" {
			out = append(out, v)
		}
	}
	return out
}

var (
	luaStringOpt = regexp.MustCompile(`(?m)^\s*([a-z_]+) = "([^"]*)"\s*$`)
	luaListOpt   = regexp.MustCompile(`(?m)^\s*([a-z_]+) = \{ ((?:"[^"]*"(?:, )?)*) \}\s*$`)
	luaBoolOpt   = regexp.MustCompile(`(?m)^\s*([a-z_]+) = (true|false)\s*$`)
	luaQuoted    = regexp.MustCompile(`"([^"]*)"`)
	luaModule    = regexp.MustCompile(`(?m)^\s+"([a-z_]+)";\s*$`)
)

// parseProsody reads the option lines of the generated prosody snippet.
func parseProsody(text string) (strs map[string]string, lists map[string][]string, bools map[string]bool, modules []string) {
	strs, lists, bools = map[string]string{}, map[string][]string{}, map[string]bool{}
	for _, m := range luaStringOpt.FindAllStringSubmatch(text, -1) {
		strs[m[1]] = m[2]
	}
	for _, m := range luaListOpt.FindAllStringSubmatch(text, -1) {
		for _, q := range luaQuoted.FindAllStringSubmatch(m[2], -1) {
			lists[m[1]] = append(lists[m[1]], q[1])
		}
	}
	for _, m := range luaBoolOpt.FindAllStringSubmatch(text, -1) {
		bools[m[1]] = m[2] == "true"
	}
	for _, m := range luaModule.FindAllStringSubmatch(text, -1) {
		modules = append(modules, m[1])
	}
	return strs, lists, bools, modules
}

// keyServer serves keys on a local server where jitsi-gate's route serves
// them (GET <public_url path>/asap/<sha256hex(kid)>.pem, web/routes.go) and
// returns the generated asap_key_server URL moved to that server: a
// generated URL with another path finds no key.
func keyServer(t *testing.T, publicURL, generated string, keys *token.PublicKeySet) string {
	t.Helper()
	pu, err := url.Parse(publicURL)
	if err != nil {
		t.Fatal(err)
	}
	gu, err := url.Parse(generated)
	if err != nil {
		t.Fatal(err)
	}
	prefix := pu.Path + "/asap/"
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		file, ok := strings.CutPrefix(r.URL.Path, prefix)
		if !ok {
			http.NotFound(w, r)
			return
		}
		pem, ok := keys.PEM(file)
		if !ok {
			http.NotFound(w, r)
			return
		}
		_, _ = w.Write(pem)
	}))
	t.Cleanup(srv.Close)
	return srv.URL + gu.Path
}

// gatewayParts builds the policy and signer from cfg the way
// cmd/jitsi-gate does (buildPolicy/buildSigner), with the packages the
// /join handler uses.
func gatewayParts(t *testing.T, cfg *config.Config) (*policy.Policy, *token.Signer, *token.PublicKeySet) {
	t.Helper()
	var rules []policy.Rule
	for _, r := range cfg.Rules {
		rules = append(rules, policy.Rule{
			Name: r.Name, Groups: r.Match.Groups, Backends: r.Match.Backends, Users: r.Match.Users,
			Tenants: r.Match.Tenants, Role: policy.Role(r.Role), LobbyBypass: r.LobbyBypass, Lobby: r.Lobby,
			Features: r.Features, Rooms: r.Rooms, TokenLifetime: r.TokenLifetime,
		})
	}
	pol, err := policy.Compile(rules)
	if err != nil {
		t.Fatal(err)
	}
	s := cfg.Jitsi.Signing
	switch s.Algorithm {
	case "HS256":
		signer, err := token.NewHS256([]byte(s.Secret))
		if err != nil {
			t.Fatal(err)
		}
		return pol, signer, nil
	case "RS256":
		key, err := token.ReadPrivateKeyFile(s.PrivateKeyFile)
		if err != nil {
			t.Fatal(err)
		}
		signer, err := token.NewRS256(key, s.KeyID)
		if err != nil {
			t.Fatal(err)
		}
		keys, err := token.NewPublicKeySet(map[string]*rsa.PublicKey{s.KeyID: &key.PublicKey})
		if err != nil {
			t.Fatal(err)
		}
		return pol, signer, keys
	}
	t.Fatalf("algorithm %q", s.Algorithm)
	return nil, nil, nil
}

// wrongSigner signs with a key prosody does not have: another secret, or
// another RSA key under the same kid.
func wrongSigner(t *testing.T, cfg *config.Config) *token.Signer {
	t.Helper()
	if cfg.Jitsi.Signing.Algorithm == "RS256" {
		key, err := token.GenerateKey(2048)
		if err != nil {
			t.Fatal(err)
		}
		s, err := token.NewRS256(key, cfg.Jitsi.Signing.KeyID)
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	s, err := token.NewHS256([]byte("a-wrong-secret-that-prosody-does-not-know-0123"))
	if err != nil {
		t.Fatal(err)
	}
	return s
}

type joinCase struct {
	user      string
	groups    []string
	room      string
	tenant    string
	wantOwner bool
}

var agreementJoins = map[string][]joinCase{
	"hs256": {
		{user: "teacher", groups: []string{"teachers"}, room: "Mathe-Übung", wantOwner: true},
		{user: "student", groups: []string{"students"}, room: "math-101"},
	},
	"rs256-tenant-lobby": {
		{user: "teacher", groups: []string{"teachers"}, room: "physics", tenant: "school-b", wantOwner: true},
		{user: "teacher", groups: []string{"teachers"}, room: "physics", wantOwner: true},
		{user: "guest", groups: []string{"guests"}, room: "open-day", tenant: "school-a"},
		{user: "student", groups: []string{"students"}, room: "Straße", tenant: "school-a"},
	},
}

// TestGeneratedSettingsAcceptMintedTokens is the agreement test the issue
// asks for: tokens minted by the gateway's own code from a config pass the
// contract verifier configured only from what jitsi-config prints for the
// same config (the .env and, separately, the prosody snippet); a token
// signed with a wrong secret or key does not.
func TestGeneratedSettingsAcceptMintedTokens(t *testing.T) {
	for _, name := range goldenConfigs {
		t.Run(name, func(t *testing.T) {
			cfg, opts := loadTestConfig(t, name)
			s, err := Build(cfg, opts)
			if err != nil {
				t.Fatal(err)
			}
			envText, _ := s.Render(FormatEnv)
			prosodyText, _ := s.Render(FormatProsody)
			env := parseEnv(t, envText)
			strs, lists, bools, modules := parseProsody(prosodyText)
			pol, signer, keys := gatewayParts(t, cfg)

			// The two renderings say the same thing.
			if env["JWT_APP_ID"] != strs["app_id"] {
				t.Errorf("app_id: env %q, prosody %q", env["JWT_APP_ID"], strs["app_id"])
			}
			if !slices.Equal(splitList(env["JWT_ACCEPTED_ISSUERS"]), lists["asap_accepted_issuers"]) ||
				!slices.Equal(splitList(env["JWT_ACCEPTED_AUDIENCES"]), lists["asap_accepted_audiences"]) {
				t.Errorf("issuers/audiences differ: env %q/%q, prosody %v/%v", env["JWT_ACCEPTED_ISSUERS"],
					env["JWT_ACCEPTED_AUDIENCES"], lists["asap_accepted_issuers"], lists["asap_accepted_audiences"])
			}
			if env["JWT_ASAP_KEYSERVER"] != strs["asap_key_server"] {
				t.Errorf("asap_key_server: env %q, prosody %q", env["JWT_ASAP_KEYSERVER"], strs["asap_key_server"])
			}
			if (env["JWT_ENABLE_DOMAIN_VERIFICATION"] == "1") != bools["enable_domain_verification"] ||
				(env["JWT_ALLOW_EMPTY"] == "1") != bools["allow_empty_token"] || bools["allow_empty_token"] {
				t.Errorf("domain verification / allow_empty_token differ or allow empty tokens: env %v, prosody %v", env, bools)
			}
			wantMUC := append([]string{ModTokenVerification}, splitList(env["XMPP_MUC_MODULES"])...)
			wantHost := splitList(env["XMPP_MODULES"])
			if env["PROSODY_RESERVATION_ENABLED"] == "true" {
				// docker adds reservations to the VirtualHost itself
				wantHost = append(wantHost, ModReservations)
			}
			if want := append(wantHost, wantMUC...); !slices.Equal(modules, want) {
				t.Errorf("prosody modules %v, env host %q + MUC %v", modules, env["XMPP_MODULES"], wantMUC)
			}
			if env["ENABLE_AUTH"] != "1" || env["AUTH_TYPE"] != "jwt" || env["JICOFO_ENABLE_AUTH"] != "0" ||
				env["ENABLE_AUTO_OWNER"] != "false" || env["ENABLE_GUESTS"] != "0" || strs["authentication"] != "token" {
				t.Errorf("auth settings wrong: env %v, prosody authentication %q", env, strs["authentication"])
			}
			if env["TOKEN_AUTH_URL"] != cfg.Server.PublicURL+"/login?state={state}" {
				t.Errorf("TOKEN_AUTH_URL = %q", env["TOKEN_AUTH_URL"])
			}

			// Verifiers configured only from the generated text.
			fromEnv := &jitsiverify.Config{
				AppID:                    env["JWT_APP_ID"],
				AcceptedIssuers:          splitList(env["JWT_ACCEPTED_ISSUERS"]),
				AcceptedAudiences:        splitList(env["JWT_ACCEPTED_AUDIENCES"]),
				EnableDomainVerification: env["JWT_ENABLE_DOMAIN_VERIFICATION"] == "1",
				XMPPDomain:               s.XMPPDomain,
			}
			fromProsody := &jitsiverify.Config{
				AppID:                    strs["app_id"],
				AcceptedIssuers:          lists["asap_accepted_issuers"],
				AcceptedAudiences:        lists["asap_accepted_audiences"],
				EnableDomainVerification: bools["enable_domain_verification"],
				XMPPDomain:               regexp.MustCompile(`VirtualHost "([^"]+)"`).FindStringSubmatch(prosodyText)[1],
			}
			switch cfg.Jitsi.Signing.Algorithm {
			case "HS256":
				// The output names where the secret is, never the secret:
				// take it from there, as the admin does.
				if _, set := env["JWT_APP_SECRET"]; set || !s.SecretShared {
					t.Fatalf("the test config reads ${JWT_APP_SECRET}; env must not set it again")
				}
				if strs["app_secret"] != "<value of JWT_APP_SECRET>" {
					t.Fatalf("prosody app_secret = %q", strs["app_secret"])
				}
				fromEnv.AppSecret = testEnv["JWT_APP_SECRET"]
				fromProsody.AppSecret = testEnv["JWT_APP_SECRET"]
			case "RS256":
				fromEnv.ASAPKeyServer = keyServer(t, cfg.Server.PublicURL, env["JWT_ASAP_KEYSERVER"], keys)
				fromProsody.ASAPKeyServer = keyServer(t, cfg.Server.PublicURL, strs["asap_key_server"], keys)
			}

			now := time.Now()
			wrong := wrongSigner(t, cfg)
			for _, jc := range agreementJoins[name] {
				rn, err := room.Parse(jc.room)
				if err != nil {
					t.Fatal(err)
				}
				tenant := jc.tenant
				if tenant == "" {
					tenant = cfg.Jitsi.PathTenant()
				}
				d := pol.Evaluate(policy.Request{
					Identity: auth.Identity{Backend: "local", Subject: jc.user, Username: jc.user, Groups: jc.groups},
					Room:     rn.Display, Tenant: tenant,
				})
				if !d.Allowed {
					t.Fatalf("%s in %s/%s: denied: %s", jc.user, tenant, jc.room, d.Reason)
				}
				claims := grant.Claims(grant.Settings{Issuer: cfg.Jitsi.AppID, Audience: cfg.Jitsi.Audience,
					XMPPDomain: cfg.Jitsi.XMPPDomain, TokenLifetime: cfg.Jitsi.TokenLifetime},
					auth.Identity{Backend: "local", Subject: jc.user, Username: jc.user}, d, rn.Safe, tenant, now)
				good, err := signer.Mint(claims)
				if err != nil {
					t.Fatal(err)
				}
				bad, err := wrong.Mint(claims)
				if err != nil {
					t.Fatal(err)
				}
				for vname, v := range map[string]*jitsiverify.Config{"env": fromEnv, "prosody": fromProsody} {
					got, err := v.Verify(context.Background(), good)
					if err != nil {
						t.Errorf("%s/%s (%s settings): minted token rejected: %v", tenant, rn.Safe, vname, err)
						continue
					}
					if err := got.CheckRoom(rn.Safe, tenant); err != nil {
						t.Errorf("%s/%s (%s settings): %v", tenant, rn.Safe, vname, err)
					}
					if got.Owner() != jc.wantOwner {
						t.Errorf("%s (%s settings): owner = %v, want %v", jc.user, vname, got.Owner(), jc.wantOwner)
					}
					if _, err := v.Verify(context.Background(), bad); !errors.Is(err, jitsiverify.ErrInvalidSignature) {
						t.Errorf("%s/%s (%s settings): token with a wrong key: err = %v, want %v",
							tenant, rn.Safe, vname, err, jitsiverify.ErrInvalidSignature)
					}
				}
			}
		})
	}
}
