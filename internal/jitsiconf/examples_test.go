package jitsiconf

import (
	"bytes"
	"errors"
	"io"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"go.yaml.in/yaml/v4"

	"github.com/jitsi-gate/jitsi-gate/internal/config"
)

// The deployment examples in docs/examples are what newcomers copy, so
// they are tested like code: every example config loads, and every Jitsi
// setting written in them is what jitsi-config generates for that config.

const examples = "../../docs/examples"

var envRefRE = regexp.MustCompile(`\$\{([A-Za-z_][A-Za-z0-9_]*)(:-[^}]*)?\}`)

// exampleEnv fills the variables a config refers to: values from vars
// when set there, the ${VAR:-default} default when there is one, otherwise
// a test value (secrets are left empty in the examples on purpose).
func exampleEnv(raw []byte, vars map[string]string) map[string]string {
	env := map[string]string{}
	for _, m := range envRefs(raw) {
		switch v := vars[m[1]]; {
		case v != "":
			env[m[1]] = v
		case m[2] != "":
			// unset: the config's default applies
		default:
			env[m[1]] = "example-test-value-" + strings.ToLower(m[1]) + "-0123456789abcdef"
		}
	}
	return env
}

// envRefs finds the ${VAR} references outside comment lines.
func envRefs(raw []byte) [][]string {
	var out [][]string
	for _, line := range strings.Split(string(raw), "\n") {
		if strings.HasPrefix(strings.TrimSpace(line), "#") {
			continue
		}
		out = append(out, envRefRE.FindAllStringSubmatch(line, -1)...)
	}
	return out
}

func loadExample(t *testing.T, raw []byte, source string, vars map[string]string) (*config.Config, *Settings) {
	t.Helper()
	env := exampleEnv(raw, vars)
	cfg, err := config.Parse(raw, t.TempDir(), func(k string) string { return env[k] })
	if err != nil {
		t.Fatalf("%s does not load: %v", source, err)
	}
	if cfg.Jitsi.Preview {
		t.Errorf("%s: preview is on in a deployment example", source)
	}
	s, err := Build(cfg, Options{SecretEnv: cfg.EnvVar("jitsi.signing.secret"), Source: source})
	if err != nil {
		t.Fatal(err)
	}
	return cfg, s
}

func TestDockerExampleMatchesGenerated(t *testing.T) {
	dir := filepath.Join(examples, "docker-jitsi-meet")
	read := func(name string) []byte {
		b, err := os.ReadFile(filepath.Join(dir, name))
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	// env.additions: KEY=VALUE lines; secrets are empty for the admin.
	additions := map[string]string{}
	for _, line := range strings.Split(string(read("env.additions")), "\n") {
		line = strings.TrimSpace(line)
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		k, v, ok := strings.Cut(line, "=")
		if !ok {
			t.Fatalf("env.additions: line without '=': %q", line)
		}
		if _, dup := additions[k]; dup {
			t.Fatalf("env.additions sets %s twice", k)
		}
		additions[k] = v
	}
	raw := read("config.yaml")
	cfg, s := loadExample(t, raw, "config.yaml", additions)
	if !s.SecretShared {
		t.Error("the docker example must read the secret from ${JWT_APP_SECRET}, so one .env line serves prosody and jitsi-gate")
	}

	generated, _ := s.Render(FormatEnv)
	gen := parseEnv(t, generated)
	for k, v := range gen {
		got, ok := additions[k]
		switch {
		case !ok:
			t.Errorf("env.additions lacks %s=%s (jitsi-config prints it)", k, v)
		case got != v:
			t.Errorf("env.additions: %s=%s, jitsi-config prints %s=%s", k, got, k, v)
		}
	}
	for _, k := range []string{"JWT_APP_SECRET", "SESSION_SECRET"} {
		if v, ok := additions[k]; !ok || v != "" {
			t.Errorf("env.additions: %s must be present and empty (the admin creates it), got %q", k, v)
		}
	}

	// Every variable config.yaml reads is passed into the container.
	compose := string(read("jitsi-gate.yml"))
	for _, m := range envRefs(raw) {
		if !strings.Contains(compose, "\n      - "+m[1]+"\n") {
			t.Errorf("jitsi-gate.yml does not pass %s (config.yaml reads it)", m[1])
		}
		if _, ok := additions[m[1]]; !ok && m[1] != "XMPP_DOMAIN" {
			t.Errorf("env.additions does not mention %s (config.yaml reads it)", m[1])
		}
	}
	if !strings.Contains(compose, "- jitsi-gate.meet.jitsi") || !strings.Contains(compose, "meet.jitsi:") {
		t.Error("jitsi-gate.yml does not join the meet.jitsi network with the jitsi-gate.meet.jitsi alias")
	}

	// nginx serves the public_url path, unchanged, at the compose alias.
	nginx := string(read("nginx-custom/jitsi-gate.conf"))
	pu, _ := url.Parse(cfg.Server.PublicURL)
	if !strings.Contains(nginx, "location ^~ "+pu.Path+"/ {") {
		t.Errorf("nginx snippet has no `location ^~ %s/ {`", pu.Path)
	}
	_, port, _ := strings.Cut(cfg.Server.Listen, ":")
	if !regexp.MustCompile(`set \$jitsi_gate http://jitsi-gate\.meet\.jitsi:` + port + `;\s+proxy_pass \$jitsi_gate;`).MatchString(nginx) {
		t.Errorf("nginx snippet does not proxy_pass to http://jitsi-gate.meet.jitsi:%s without a path", port)
	}

	if js := string(read("custom-config.js")); !strings.Contains(js, "config.tokenLogoutUrl = '"+s.TokenLogoutURL+"';") {
		t.Errorf("custom-config.js lacks config.tokenLogoutUrl = '%s';", s.TokenLogoutURL)
	}
}

// TestDebianExampleMatchesGenerated: the prosody and config.js files of the
// Debian example are jitsi-config's output for its config.yaml, byte for
// byte (go test ./internal/jitsiconf -update rewrites them).
func TestDebianExampleMatchesGenerated(t *testing.T) {
	dir := filepath.Join(examples, "debian")
	raw, err := os.ReadFile(filepath.Join(dir, "config.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	cfg, s := loadExample(t, raw, "docs/examples/debian/config.yaml", nil)
	for file, format := range map[string]string{
		"prosody-jitsi-gate.cfg.lua": FormatProsody,
		"config.js":                  FormatConfigJS,
	} {
		got, err := s.Render(format)
		if err != nil {
			t.Fatal(err)
		}
		path := filepath.Join(dir, file)
		if *update {
			if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
				t.Fatal(err)
			}
		}
		want, err := os.ReadFile(path)
		if err != nil {
			t.Fatalf("%v (go test ./internal/jitsiconf -update creates it)", err)
		}
		if string(want) != got {
			t.Errorf("%s is not what jitsi-config prints for config.yaml (go test ./internal/jitsiconf -update)", path)
		}
	}

	pu, _ := url.Parse(cfg.Server.PublicURL)
	nginx, err := os.ReadFile(filepath.Join(dir, "nginx-jitsi-gate.conf"))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(nginx), "location ^~ "+pu.Path+"/ {") ||
		!strings.Contains(string(nginx), "proxy_pass http://"+cfg.Server.Listen+";") {
		t.Errorf("nginx-jitsi-gate.conf must have `location ^~ %s/ {` and `proxy_pass http://%s;`", pu.Path, cfg.Server.Listen)
	}
	unit, err := os.ReadFile(filepath.Join(dir, "jitsi-gate.service"))
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"User=jitsi-gate", "NoNewPrivileges=yes", "ProtectSystem=strict", "EnvironmentFile=/etc/jitsi-gate/env",
		"ExecStart=/usr/local/bin/jitsi-gate serve -config /etc/jitsi-gate/config.yaml"} {
		if !strings.Contains(string(unit), "\n"+want+"\n") {
			t.Errorf("jitsi-gate.service lacks %q", want)
		}
	}
	envFile, err := os.ReadFile(filepath.Join(dir, "env"))
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range envRefs(raw) {
		if !strings.Contains(string(envFile), "\n"+m[1]+"=") {
			t.Errorf("env does not set %s (config.yaml reads it)", m[1])
		}
	}
}

// k8sDoc is the part of a manifest the test looks at.
type k8sDoc struct {
	Kind       string            `yaml:"kind"`
	Data       map[string]string `yaml:"data"`
	StringData map[string]string `yaml:"stringData"`
	Spec       struct {
		Replicas int `yaml:"replicas"`
		Template struct {
			Spec struct {
				SecurityContext struct {
					RunAsNonRoot bool `yaml:"runAsNonRoot"`
				} `yaml:"securityContext"`
				Containers []struct {
					Env []struct {
						Name  string `yaml:"name"`
						Value string `yaml:"value"`
					} `yaml:"env"`
					LivenessProbe struct {
						HTTPGet struct{ Path string } `yaml:"httpGet"`
					} `yaml:"livenessProbe"`
					ReadinessProbe struct {
						HTTPGet struct{ Path string } `yaml:"httpGet"`
					} `yaml:"readinessProbe"`
					SecurityContext struct {
						ReadOnlyRootFilesystem   bool  `yaml:"readOnlyRootFilesystem"`
						AllowPrivilegeEscalation *bool `yaml:"allowPrivilegeEscalation"`
						Capabilities             struct {
							Drop []string `yaml:"drop"`
						} `yaml:"capabilities"`
					} `yaml:"securityContext"`
				} `yaml:"containers"`
			} `yaml:"spec"`
		} `yaml:"template"`
	} `yaml:"spec"`
}

func TestKubernetesExample(t *testing.T) {
	raw, err := os.ReadFile(filepath.Join(examples, "kubernetes", "jitsi-gate.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	docs := map[string]k8sDoc{}
	dec, err := yaml.NewLoader(bytes.NewReader(raw))
	if err != nil {
		t.Fatal(err)
	}
	for {
		var d k8sDoc
		if err := dec.Load(&d); errors.Is(err, io.EOF) {
			break
		} else if err != nil {
			t.Fatal(err)
		}
		if d.Kind != "" {
			docs[d.Kind] = d
		}
	}
	for _, kind := range []string{"Secret", "ConfigMap", "Deployment", "Service", "Ingress"} {
		if _, ok := docs[kind]; !ok {
			t.Errorf("no %s in the manifest", kind)
		}
	}
	dep := docs["Deployment"]
	if dep.Spec.Replicas != 2 {
		t.Errorf("replicas = %d, want 2", dep.Spec.Replicas)
	}
	pod := dep.Spec.Template.Spec
	if !pod.SecurityContext.RunAsNonRoot || len(pod.Containers) != 1 {
		t.Fatal("pod must run as non-root with one container")
	}
	c := pod.Containers[0]
	if c.LivenessProbe.HTTPGet.Path != "/healthz" || c.ReadinessProbe.HTTPGet.Path != "/readyz" {
		t.Errorf("probes = %q / %q, want /healthz / /readyz", c.LivenessProbe.HTTPGet.Path, c.ReadinessProbe.HTTPGet.Path)
	}
	sc := c.SecurityContext
	if !sc.ReadOnlyRootFilesystem || sc.AllowPrivilegeEscalation == nil || *sc.AllowPrivilegeEscalation ||
		!slices.Contains(sc.Capabilities.Drop, "ALL") {
		t.Errorf("container securityContext = %+v, want read-only root, no privilege escalation, drop ALL", sc)
	}

	// The config loads with the Deployment's env and the Secret's keys.
	vars := map[string]string{}
	for _, e := range c.Env {
		vars[e.Name] = e.Value
	}
	cfgRaw := []byte(docs["ConfigMap"].Data["config.yaml"])
	for _, m := range envRefs(cfgRaw) {
		_, inEnv := vars[m[1]]
		_, inSecret := docs["Secret"].StringData[m[1]]
		if !inEnv && !inSecret {
			t.Errorf("config.yaml reads %s, which neither the Deployment env nor the Secret sets", m[1])
		}
	}
	_, s := loadExample(t, cfgRaw, "kubernetes ConfigMap", vars)
	if s.TokenAuthURL != "https://meet.example.com/_auth/login?state={state}" {
		t.Errorf("tokenAuthUrl = %s", s.TokenAuthURL)
	}
}

var (
	mdLinkRE    = regexp.MustCompile(`\]\(([^)\s]+)\)`)
	mdHeadingRE = regexp.MustCompile(`(?m)^#{1,6} (.+)$`)
)

// slug is GitHub's heading anchor: lower case, punctuation dropped,
// spaces to '-'.
func slug(h string) string {
	var b strings.Builder
	for _, r := range strings.ToLower(strings.TrimSpace(h)) {
		switch {
		case r == ' ':
			b.WriteByte('-')
		case r == '-' || r == '_' || r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || r > 0x7f:
			b.WriteRune(r)
		}
	}
	return b.String()
}

// TestDocsLinks: relative links in docs/ (and their #anchors) resolve, so
// the how-to does not send a newcomer to a file that moved.
func TestDocsLinks(t *testing.T) {
	var pages []string
	err := filepath.WalkDir("../../docs", func(p string, d os.DirEntry, err error) error {
		if err == nil && d.IsDir() && d.Name() == "reference" {
			// Reference material kept as it was written (its code
			// excerpts look like links); our own pages link into it.
			return filepath.SkipDir
		}
		if err == nil && !d.IsDir() && strings.HasSuffix(p, ".md") {
			pages = append(pages, p)
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(pages) < 5 {
		t.Fatalf("found only %d pages under docs/", len(pages))
	}
	anchors := func(path string) map[string]bool {
		b, err := os.ReadFile(path)
		if err != nil {
			return nil
		}
		m := map[string]bool{}
		for _, h := range mdHeadingRE.FindAllStringSubmatch(string(b), -1) {
			m[slug(h[1])] = true
		}
		return m
	}
	for _, page := range pages {
		b, err := os.ReadFile(page)
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range mdLinkRE.FindAllStringSubmatch(string(b), -1) {
			link := m[1]
			if strings.Contains(link, "://") || strings.HasPrefix(link, "mailto:") {
				continue
			}
			file, anchor, _ := strings.Cut(link, "#")
			target := page
			if file != "" {
				target = filepath.Join(filepath.Dir(page), file)
				if _, err := os.Stat(target); err != nil {
					t.Errorf("%s: link %q: %v", page, link, err)
					continue
				}
			}
			if anchor != "" && strings.HasSuffix(target, ".md") && !anchors(target)[anchor] {
				t.Errorf("%s: link %q: no heading with anchor #%s in %s", page, link, anchor, target)
			}
		}
	}
}
