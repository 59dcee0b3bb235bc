package config

import (
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"golang.org/x/crypto/bcrypt"
)

// testHash is a cheap (MinCost) bcrypt hash of "password".
var testHash = func() string {
	h, err := bcrypt.GenerateFromPassword([]byte("password"), bcrypt.MinCost)
	if err != nil {
		panic(err)
	}
	return string(h)
}()

// baseYAML is a small valid production-style configuration.
func baseYAML() string {
	return `
server:
  public_url: https://meet.example.com/_auth
jitsi:
  url: https://meet.example.com
  xmpp_domain: meet.jitsi
  app_id: jitsi-gate
  signing:
    secret: 0123456789abcdef0123456789abcdef
session:
  secret: fedcba9876543210fedcba9876543210
backends:
  - id: local
    type: static
    users:
      - {username: ada, password_hash: "` + testHash + `", groups: [teachers]}
      - {username: bob, password_hash: "` + testHash + `", groups: [students]}
rules:
  - {name: teachers, match: {groups: [teachers]}, role: owner}
  - {name: students, match: {groups: [students]}, role: member}
`
}

func envMap(m map[string]string) func(string) string {
	return func(k string) string { return m[k] }
}

func mustParse(t *testing.T, doc string, env map[string]string) *Config {
	t.Helper()
	c, err := Parse([]byte(doc), t.TempDir(), envMap(env))
	if err != nil {
		t.Fatalf("Parse: unexpected problems:\n%v", err)
	}
	return c
}

// parseProblems parses doc and returns its problems; it fails the test if
// there are none.
func parseProblems(t *testing.T, doc string, env map[string]string) Problems {
	t.Helper()
	return parseProblemsIn(t, doc, t.TempDir(), env)
}

func parseProblemsIn(t *testing.T, doc, dir string, env map[string]string) Problems {
	t.Helper()
	c, err := Parse([]byte(doc), dir, envMap(env))
	if err == nil {
		t.Fatalf("Parse succeeded, want problems (config %+v)", c)
	}
	if c != nil {
		t.Errorf("Parse returned a config together with an error")
	}
	var ps Problems
	if !errors.As(err, &ps) {
		t.Fatalf("error %T is not Problems: %v", err, err)
	}
	return ps
}

// findProblem returns the problem at path whose message contains substr.
func findProblem(ps Problems, path, substr string) (Problem, bool) {
	for _, p := range ps {
		if p.Path == path && strings.Contains(p.Message, substr) {
			return p, true
		}
	}
	return Problem{}, false
}

func paths(ps []Problem) []string {
	out := make([]string, len(ps))
	for i, p := range ps {
		out[i] = p.Path
	}
	return out
}

// writeRSAKey writes an RSA key of the given size as PEM (PKCS#8 or
// PKCS#1) plus its SPKI public key, and returns the two file names.
func writeRSAKey(t *testing.T, dir, name string, bits int, pkcs1 bool) (priv, pub string) {
	t.Helper()
	k, err := rsa.GenerateKey(rand.Reader, bits)
	if err != nil {
		t.Fatal(err)
	}
	var block *pem.Block
	if pkcs1 {
		block = &pem.Block{Type: "RSA PRIVATE KEY", Bytes: x509.MarshalPKCS1PrivateKey(k)}
	} else {
		der, err := x509.MarshalPKCS8PrivateKey(k)
		if err != nil {
			t.Fatal(err)
		}
		block = &pem.Block{Type: "PRIVATE KEY", Bytes: der}
	}
	priv = filepath.Join(dir, name+".pem")
	if err := os.WriteFile(priv, pem.EncodeToMemory(block), 0o600); err != nil {
		t.Fatal(err)
	}
	der, err := x509.MarshalPKIXPublicKey(&k.PublicKey)
	if err != nil {
		t.Fatal(err)
	}
	pub = filepath.Join(dir, name+".pub.pem")
	if err := os.WriteFile(pub, pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der}), 0o644); err != nil {
		t.Fatal(err)
	}
	return priv, pub
}

func writeFile(t *testing.T, dir, name, content string) string {
	t.Helper()
	p := filepath.Join(dir, name)
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}
