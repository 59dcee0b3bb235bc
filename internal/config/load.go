package config

import (
	"bytes"
	_ "embed"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"go.yaml.in/yaml/v4"
)

// defaultYAML is config.example.yaml (a test keeps the two identical), so
// the binary runs with no config file at all and shows the demo.
//
//go:embed default.yaml
var defaultYAML []byte

// DefaultYAML returns a copy of the embedded default configuration, which
// is the annotated config.example.yaml.
func DefaultYAML() []byte {
	return bytes.Clone(defaultYAML)
}

// Default parses the embedded default configuration (the demo: static
// users, preview on) with getenv for the ${VAR} references in it.
func Default(getenv func(string) string) (*Config, error) {
	return Parse(defaultYAML, ".", getenv)
}

// Load reads the YAML file at path and parses it; relative file names in it
// are relative to the directory of path.
func Load(path string, getenv func(string) string) (*Config, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("config: %w", err)
	}
	return Parse(data, filepath.Dir(path), getenv)
}

// Parse turns YAML into a Config: strict decoding (unknown keys are
// problems), ${VAR} expansion from getenv, defaults, *_file secrets read and
// relative paths resolved against baseDir, keys parsed, then Validate.
// Every problem found is returned at once, as a *Problems error.
func Parse(data []byte, baseDir string, getenv func(string) string) (*Config, error) {
	if getenv == nil {
		getenv = func(string) string { return "" }
	}
	root, syntax := parseDocument(data)
	if syntax != nil {
		return nil, &Problems{*syntax}
	}

	w := &tree{getenv: getenv, lines: map[string]int{}, paths: map[pos]string{}, keys: map[pos]string{}, envOf: map[string]string{}, expanded: map[*yaml.Node]bool{}}
	cfg := &Config{}
	if root != nil {
		w.walk(root, "")
		// With problems the decode still fills in what it can, so
		// validation below can look at the rest.
		if err := root.Load(cfg, yaml.WithKnownFields()); err != nil {
			w.problems = append(w.problems, w.loadErrorProblems(err)...)
		}
	}
	decodeProblems := w.problems

	cfg.ApplyDefaults()
	var files collector
	cfg.resolveFiles(baseDir, &files)

	var all Problems
	all = append(all, decodeProblems...)
	all = append(all, files.problems...)
	if err := cfg.Validate(); err != nil {
		var vp Problems
		errors.As(err, &vp)
		for _, p := range vp {
			// A key that could not be decoded (or read from its file) has
			// its zero value now; repeating "is required" for it is noise.
			if coveredBy(p.Path, decodeProblems) || coveredBy(p.Path, files.problems) {
				continue
			}
			all = append(all, p)
		}
	}
	if len(all) > 0 {
		for i := range all {
			if all[i].Line == 0 && all[i].Path != "" {
				all[i].Line = lineOf(w.lines, all[i].Path)
			}
		}
		return nil, &all
	}
	cfg.lines, cfg.envOf = w.lines, w.envOf
	return cfg, nil
}

// coveredBy reports whether path, or a parent of it, already has a problem
// in ps. A problem with "x_file" covers "x" too.
func coveredBy(path string, ps Problems) bool {
	for _, p := range ps {
		if p.Path == "" {
			continue
		}
		for _, q := range []string{p.Path, strings.TrimSuffix(p.Path, "_file")} {
			if path == q || isUnder(path, q) {
				return true
			}
		}
	}
	return false
}

// isUnder reports whether path is strictly below parent.
func isUnder(path, parent string) bool {
	if !strings.HasPrefix(path, parent) || len(path) == len(parent) {
		return false
	}
	c := path[len(parent)]
	return c == '.' || c == '['
}

// parseDocument parses data into a node tree. It returns the root mapping
// (nil for an empty document) or a syntax problem with its line number.
func parseDocument(data []byte) (*yaml.Node, *Problem) {
	dec, err := yaml.NewLoader(bytes.NewReader(data))
	if err != nil {
		return nil, syntaxProblem(err)
	}
	var doc yaml.Node
	if err := dec.Load(&doc); err != nil {
		if errors.Is(err, io.EOF) {
			return nil, nil // empty file: every required key will be reported
		}
		return nil, syntaxProblem(err)
	}
	var extra yaml.Node
	if err := dec.Load(&extra); err == nil {
		return nil, &Problem{Line: extra.Line, Message: "the file holds more than one YAML document",
			Hint: `remove the "---" line; jitsi-gate reads one document`}
	} else if !errors.Is(err, io.EOF) {
		return nil, syntaxProblem(err)
	}
	if doc.Kind != yaml.DocumentNode || len(doc.Content) == 0 {
		return nil, nil
	}
	root := doc.Content[0]
	if root.Kind == yaml.ScalarNode && root.ShortTag() == "!!null" {
		return nil, nil // only comments
	}
	if root.Kind != yaml.MappingNode {
		return nil, &Problem{Line: root.Line, Message: "the file must be a YAML mapping (server:, jitsi:, ...)",
			Hint: "start from config.example.yaml"}
	}
	return root, nil
}

func syntaxProblem(err error) *Problem {
	p := &Problem{Message: "invalid YAML: " + err.Error(),
		Hint: `check the indentation (spaces, not tabs) and quote values that contain ": " or " #"`}
	var le *yaml.LoadError
	if errors.As(err, &le) {
		// An unclosed quote or bracket is found at the end of the file;
		// its start is where the admin looks. A misplaced key is found
		// where it stands.
		p.Line = le.Mark.Line
		if le.ContextMark.Line > 0 && !strings.HasPrefix(le.Message, "did not find expected key") {
			p.Line = le.ContextMark.Line
		}
		p.Message = "invalid YAML: " + le.Message
	}
	return p
}

// UnmarshalYAML accepts a single string or a list of strings.
func (l *StringList) UnmarshalYAML(n *yaml.Node) error {
	switch n.Kind {
	case yaml.ScalarNode:
		if n.ShortTag() == "!!null" {
			*l = nil
			return nil
		}
		*l = StringList{n.Value}
		return nil
	case yaml.SequenceNode:
		out := make(StringList, 0, len(n.Content))
		for _, item := range n.Content {
			if item.Kind == yaml.AliasNode && item.Alias != nil {
				item = item.Alias
			}
			if item.Kind != yaml.ScalarNode {
				return fmt.Errorf("expected a text value, got a %s", kindName(item))
			}
			out = append(out, item.Value)
		}
		*l = out
		return nil
	}
	return fmt.Errorf("expected a text value or a list of them, got a %s", kindName(n))
}

func kindName(n *yaml.Node) string {
	switch n.Kind {
	case yaml.MappingNode:
		return "mapping"
	case yaml.SequenceNode:
		return "list"
	case yaml.AliasNode:
		return "alias"
	}
	return "value"
}

// resolveFiles makes every file name absolute (relative to baseDir) and
// reads the *_file secrets into their fields.
func (c *Config) resolveFiles(baseDir string, col *collector) {
	if abs, err := filepath.Abs(baseDir); err == nil {
		baseDir = abs
	}
	resolve := func(p *string) {
		if *p != "" && !filepath.IsAbs(*p) {
			*p = filepath.Join(baseDir, *p)
		}
	}
	secret := func(path string, value, file *string) {
		if *file == "" {
			return
		}
		resolve(file)
		if *value != "" {
			col.add(path, "both the value and the _file variant are set",
				"keep one of them; the _file variant keeps the secret out of the config")
			return
		}
		data, err := os.ReadFile(*file)
		if err != nil {
			col.add(path, "cannot read the secret file: "+err.Error(),
				"check the path and that the jitsi-gate user may read it")
			return
		}
		s := string(data)
		s = strings.TrimSuffix(s, "\n")
		s = strings.TrimSuffix(s, "\r")
		*value = s
	}

	s := &c.Jitsi.Signing
	secret("jitsi.signing.secret_file", &s.Secret, &s.SecretFile)
	resolve(&s.PrivateKeyFile)
	for i := range s.PreviousPublicKeys {
		resolve(&s.PreviousPublicKeys[i].PublicKeyFile)
	}
	secret("session.secret_file", &c.Session.Secret, &c.Session.SecretFile)
	for i := range c.Backends {
		b := &c.Backends[i]
		p := index("backends", i)
		secret(join(p, "bind_password_file"), &b.LDAP.BindPassword, &b.LDAP.BindPasswordFile)
		secret(join(p, "client_secret_file"), &b.OIDC.ClientSecret, &b.OIDC.ClientSecretFile)
		resolve(&b.LDAP.CAFile)
	}
	resolve(&c.UI.LogoFile)
	resolve(&c.UI.TemplatesDir)
	resolve(&c.Store.Path)
	secret("store.dsn_file", &c.Store.DSN, &c.Store.DSNFile)
	secret("reservations.token_file", &c.Reservations.Token, &c.Reservations.TokenFile)
	for i := range c.API.Tokens {
		t := &c.API.Tokens[i]
		secret(join(index("api.tokens", i), "token_file"), &t.Token, &t.TokenFile)
	}
}
