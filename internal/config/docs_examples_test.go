package config

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"encoding/pem"
	"math/big"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"
)

// The identity-backend examples in docs/examples are what admins copy into
// production, so they are loaded here exactly as jitsi-gate loads a config
// file. An example that stops loading (a renamed key, a new rule in
// Validate) or that draws a warning fails this test instead of confusing
// the next reader.

const docsExamples = "../../docs/examples"

// exampleEnv holds every ${VAR} the examples may use; an example that
// refers to another variable fails to load ("is not set").
var exampleEnv = map[string]string{
	"JWT_APP_SECRET":     "0123456789abcdef0123456789abcdef0123456789abcdef",
	"SESSION_SECRET":     "fedcba9876543210fedcba9876543210fedcba9876543210",
	"LDAP_BIND_PASSWORD": "example-bind-password",
	"OIDC_CLIENT_SECRET": "example-client-secret",
}

// exampleFixtures are the files the examples name relative to themselves
// (ca_file: ldap-ca.pem); the test writes them next to its copy.
var exampleFixtures = []string{"ldap-ca.pem", "ad-ca.pem"}

func TestDocsIdentityExamplesLoad(t *testing.T) {
	caPEM := selfSignedCAPEM(t)
	for _, tc := range []struct {
		dir, backendType string
		min              int
	}{
		{"ldap", "ldap", 2}, // openldap.yaml, active-directory.yaml
		{"keycloak", "oidc", 1},
	} {
		files, err := filepath.Glob(filepath.Join(docsExamples, tc.dir, "*.yaml"))
		if err != nil {
			t.Fatal(err)
		}
		if len(files) < tc.min {
			t.Fatalf("docs/examples/%s: found %d *.yaml files, want at least %d", tc.dir, len(files), tc.min)
		}
		for _, src := range files {
			t.Run(tc.dir+"/"+filepath.Base(src), func(t *testing.T) {
				raw, err := os.ReadFile(src)
				if err != nil {
					t.Fatal(err)
				}
				dir := t.TempDir()
				path := filepath.Join(dir, filepath.Base(src))
				writeFile(t, dir, filepath.Base(src), string(raw))
				for _, name := range exampleFixtures {
					writeFile(t, dir, name, caPEM)
				}

				cfg, err := Load(path, envMap(exampleEnv))
				if err != nil {
					t.Fatalf("%s does not load:\n%v", src, err)
				}
				for _, w := range cfg.Warnings() {
					t.Errorf("%s: warning: %s", src, w.String())
				}
				if cfg.Jitsi.Preview {
					t.Errorf("%s: preview is on in a production example", src)
				}
				var types []string
				for _, b := range cfg.Backends {
					types = append(types, b.Type)
				}
				if !slices.Contains(types, tc.backendType) {
					t.Errorf("%s: backend types %v, want a %s backend", src, types, tc.backendType)
				}
			})
		}
	}
}

// TestKeycloakRealmExampleMatchesConfig: the realm import and the gateway
// config in docs/examples/keycloak describe the same client, so the
// redirect and logout URIs registered in the realm are the ones the gateway
// uses, PKCE S256 is required and a groups mapper feeds groups_claim.
func TestKeycloakRealmExampleMatchesConfig(t *testing.T) {
	dir := filepath.Join(docsExamples, "keycloak")
	cfg, err := Load(filepath.Join(dir, "config.yaml"), envMap(exampleEnv))
	if err != nil {
		t.Fatalf("config.yaml does not load:\n%v", err)
	}
	raw, err := os.ReadFile(filepath.Join(dir, "realm-school.json"))
	if err != nil {
		t.Fatal(err)
	}
	type mapper struct {
		ProtocolMapper string            `json:"protocolMapper"`
		Config         map[string]string `json:"config"`
	}
	var realm struct {
		Realm   string `json:"realm"`
		Clients []struct {
			ClientID            string            `json:"clientId"`
			PublicClient        bool              `json:"publicClient"`
			StandardFlowEnabled bool              `json:"standardFlowEnabled"`
			ImplicitFlow        bool              `json:"implicitFlowEnabled"`
			DirectAccessGrants  bool              `json:"directAccessGrantsEnabled"`
			RedirectURIs        []string          `json:"redirectUris"`
			Attributes          map[string]string `json:"attributes"`
			ProtocolMappers     []mapper          `json:"protocolMappers"`
		} `json:"clients"`
	}
	if err := json.Unmarshal(raw, &realm); err != nil {
		t.Fatalf("realm-school.json is not valid JSON: %v", err)
	}

	var b *Backend
	for i := range cfg.Backends {
		if cfg.Backends[i].Type == "oidc" {
			b = &cfg.Backends[i]
		}
	}
	if b == nil {
		t.Fatal("config.yaml has no oidc backend")
	}
	if !strings.HasSuffix(b.OIDC.Issuer, "/realms/"+realm.Realm) {
		t.Errorf("issuer %q is not the realm %q", b.OIDC.Issuer, realm.Realm)
	}
	found := false
	for _, c := range realm.Clients {
		if c.ClientID != b.OIDC.ClientID {
			continue
		}
		found = true
		if c.PublicClient || !c.StandardFlowEnabled || c.ImplicitFlow || c.DirectAccessGrants {
			t.Errorf("client %s: want a confidential client with the standard flow only, got public=%v standard=%v implicit=%v direct=%v",
				c.ClientID, c.PublicClient, c.StandardFlowEnabled, c.ImplicitFlow, c.DirectAccessGrants)
		}
		if want := cfg.Server.PublicURL + "/callback/" + b.ID; !slices.Contains(c.RedirectURIs, want) {
			t.Errorf("client %s: redirectUris %v lack %s", c.ClientID, c.RedirectURIs, want)
		}
		if got, want := c.Attributes["post.logout.redirect.uris"], cfg.Server.PublicURL+"/logout"; !slices.Contains(strings.Split(got, "##"), want) {
			t.Errorf("client %s: post.logout.redirect.uris %q lacks %s", c.ClientID, got, want)
		}
		if got := c.Attributes["pkce.code.challenge.method"]; got != "S256" {
			t.Errorf("client %s: pkce.code.challenge.method %q, want S256", c.ClientID, got)
		}
		// Every claim the gateway reads groups from is filled by a mapper
		// that writes it into the ID token.
		for _, claim := range b.OIDC.GroupsClaim {
			ok := false
			for _, m := range c.ProtocolMappers {
				ok = ok || (m.Config["claim.name"] == claim && m.Config["id.token.claim"] == "true")
			}
			if !ok {
				t.Errorf("client %s: no protocol mapper puts %q into the ID token", c.ClientID, claim)
			}
		}
	}
	if !found {
		t.Errorf("realm-school.json has no client %q", b.OIDC.ClientID)
	}
}

// selfSignedCAPEM returns a throw-away CA certificate in PEM, standing in
// for the directory's CA that the examples expect next to the config.
func selfSignedCAPEM(t *testing.T) string {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(1),
		Subject:               pkix.Name{CommonName: "docs example CA"},
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().Add(time.Hour),
		IsCA:                  true,
		BasicConstraintsValid: true,
		KeyUsage:              x509.KeyUsageCertSign,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	return string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}))
}
