package config

import (
	"bytes"
	_ "embed"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"

	"gopkg.in/yaml.v3"
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

	w := &walker{getenv: getenv, lines: map[string]int{}, expanded: map[*yaml.Node]bool{}}
	cfg := &Config{}
	if root != nil {
		w.walk(root, configType, "")
		// The walker has checked every key and scalar, so this decode only
		// fails when the walker missed something; its errors are then
		// reported as they are. With walker problems the decode still fills
		// in what it can, so validation below can look at the rest.
		if err := root.Decode(cfg); err != nil && len(w.problems) == 0 {
			w.problems = append(w.problems, decodeErrorProblems(err)...)
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
				all[i].Line = w.lineOf(all[i].Path)
			}
		}
		return nil, &all
	}
	if err := cfg.loadKeys(); err != nil {
		// Validate has parsed the same files; this only fails if they
		// changed in between.
		return nil, &Problems{{Path: "jitsi.signing", Message: err.Error()}}
	}
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

var lineRE = regexp.MustCompile(`^(?:yaml: )?line (\d+): `)

// parseDocument parses data into a node tree. It returns the root mapping
// (nil for an empty document) or a syntax problem with its line number.
func parseDocument(data []byte) (*yaml.Node, *Problem) {
	dec := yaml.NewDecoder(bytes.NewReader(data))
	var doc yaml.Node
	if err := dec.Decode(&doc); err != nil {
		if errors.Is(err, io.EOF) {
			return nil, nil // empty file: every required key will be reported
		}
		return nil, syntaxProblem(err)
	}
	var extra yaml.Node
	if err := dec.Decode(&extra); err == nil {
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
	msg := err.Error()
	p := &Problem{Hint: `check the indentation (spaces, not tabs) and quote values that contain ": " or " #"`}
	if m := lineRE.FindStringSubmatch(msg); m != nil {
		p.Line, _ = strconv.Atoi(m[1])
		msg = msg[len(m[0]):]
	}
	msg = strings.TrimPrefix(msg, "yaml: ")
	// yaml.v3 reports scanner errors with 1-based line numbers but parser
	// errors ("did not find expected ...") with the 0-based line of the
	// construct being parsed (and none at all for line 0). Shift those so
	// the admin is pointed at the right line.
	for _, prefix := range []string{"did not find expected", "found duplicate", "found incompatible", "found undefined tag"} {
		if strings.HasPrefix(msg, prefix) {
			p.Line++
			break
		}
	}
	p.Message = "invalid YAML: " + msg
	return p
}

// decodeErrorProblems turns a yaml.v3 decode error into problems.
func decodeErrorProblems(err error) Problems {
	var te *yaml.TypeError
	if !errors.As(err, &te) {
		return Problems{{Message: "cannot decode: " + err.Error()}}
	}
	var ps Problems
	for _, e := range te.Errors {
		p := Problem{Message: e}
		if m := lineRE.FindStringSubmatch(e); m != nil {
			p.Line, _ = strconv.Atoi(m[1])
			p.Message = e[len(m[0]):]
		}
		ps = append(ps, p)
	}
	return ps
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
				return typeError("line %d: expected a string, got a %s", item.Line, kindName(item))
			}
			out = append(out, item.Value)
		}
		*l = out
		return nil
	}
	return typeError("line %d: expected a string or a list of strings, got a %s", n.Line, kindName(n))
}

// typeError returns a *yaml.TypeError: yaml.v3 aborts the whole decode on
// any other error from an UnmarshalYAML, but keeps going after this one.
func typeError(format string, args ...any) error {
	return &yaml.TypeError{Errors: []string{fmt.Sprintf(format, args...)}}
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
}

// loadKeys fills Signing.PrivateKey and PublicKey.Key from their files.
func (c *Config) loadKeys() error {
	s := &c.Jitsi.Signing
	if s.Algorithm != "RS256" {
		return nil
	}
	k, err := loadPrivateKey(s.PrivateKeyFile)
	if err != nil {
		return err
	}
	s.PrivateKey = k
	for i := range s.PreviousPublicKeys {
		pk, err := loadPublicKey(s.PreviousPublicKeys[i].PublicKeyFile)
		if err != nil {
			return err
		}
		s.PreviousPublicKeys[i].Key = pk
	}
	return nil
}
