package config

import (
	"errors"
	"fmt"
	"reflect"
	"regexp"
	"slices"
	"strings"
	"time"

	"go.yaml.in/yaml/v4"
)

// How a document becomes a Config: the library decodes strictly
// (go.yaml.in/yaml/v4's Node.Load with WithKnownFields), and a pre-pass over
// the node tree does what the library cannot:
//   - ${VAR} expansion on scalar nodes, so a value from the environment can
//     never change the YAML structure;
//   - the line of every key path, so the problems that components report
//     later (a key file that is not a key, a bad LDAP filter) point at the
//     admin's line;
//   - duplicate keys and values swallowed by a " #" comment.
// The library's errors carry the node position; they are turned into
// problems with the key path, plain words and a hint.

var (
	configType   = reflect.TypeFor[Config]()
	durationType = reflect.TypeFor[time.Duration]()
)

// maxVisits bounds the work on documents that abuse aliases (a config file
// has a few hundred nodes).
const maxVisits = 100000

type pos struct{ line, column int }

type tree struct {
	getenv   func(string) string
	lines    map[string]int      // key path -> line of the key
	paths    map[pos]string      // position of a value node -> key path
	keys     map[pos]string      // position of a key node -> key path
	expanded map[*yaml.Node]bool // scalars already expanded (aliases share nodes)
	env      []string            // names of the environment variables referenced
	envOf    map[string]string   // key path -> the variable its whole value is (${NAME} or ${NAME:-d})
	problems Problems
	visits   int
	aliases  int // alias nesting depth
}

func (w *tree) problem(path string, line int, msg, hint string) {
	w.problems = append(w.problems, Problem{Path: path, Line: line, Message: msg, Hint: hint})
}

// lineOf returns the line of path, or of its closest parent in the file.
func lineOf(lines map[string]int, path string) int {
	for path != "" {
		if l, ok := lines[path]; ok {
			return l
		}
		i := strings.LastIndexAny(path, ".[")
		if i < 0 {
			return 0
		}
		path = path[:i]
	}
	return 0
}

func (w *tree) at(n *yaml.Node, path string) {
	p := pos{n.Line, n.Column}
	if _, ok := w.paths[p]; !ok {
		w.paths[p] = path
	}
}

// walk expands and indexes the tree below n; it knows nothing of the Go
// types (the library checks those).
func (w *tree) walk(n *yaml.Node, path string) {
	w.visits++
	if w.visits > maxVisits {
		if w.visits == maxVisits+1 {
			w.problem(path, n.Line, "the document is too large (too many aliases?)", "")
		}
		return
	}
	w.at(n, path)
	switch n.Kind {
	case yaml.AliasNode:
		if n.Alias == nil || w.aliases > 32 {
			w.problem(path, n.Line, "alias cannot be resolved (does it refer to itself?)", "")
			return
		}
		w.aliases++
		defer func() { w.aliases-- }()
		w.walk(n.Alias, path)
	case yaml.ScalarNode:
		w.expand(n, path)
	case yaml.SequenceNode:
		for i, item := range n.Content {
			child := index(path, i)
			w.lines[child] = item.Line
			w.walk(item, child)
		}
	case yaml.MappingNode:
		seen := map[string]int{}
		for i := 0; i+1 < len(n.Content); i += 2 {
			k, v := n.Content[i], n.Content[i+1]
			if k.Kind != yaml.ScalarNode {
				w.problem(path, k.Line, "keys must be plain words", "")
				continue
			}
			if k.ShortTag() == "!!merge" {
				w.walk(v, path)
				continue
			}
			child := join(path, k.Value)
			if first, dup := seen[k.Value]; dup {
				w.problem(child, k.Line, fmt.Sprintf("key %q appears twice (first at line %d)", k.Value, first),
					"remove one of them")
				continue
			}
			seen[k.Value] = k.Line
			w.lines[child] = k.Line
			w.keys[pos{k.Line, k.Column}] = child
			w.checkSwallowedValue(k, v, child)
			w.walk(v, child)
		}
	}
}

// checkSwallowedValue catches "primary_color: #1a73e8": YAML reads
// everything from " #" on as a comment, so the key silently has no value.
// A comment that starts right after the # (no space) was almost certainly
// meant as the value. The comment is not quoted: it may be a secret.
func (w *tree) checkSwallowedValue(key, value *yaml.Node, path string) {
	c := key.LineComment
	if !isNull(value) || value.Value != "" || len(c) < 2 || c[0] != '#' || c[1] == ' ' || c[1] == '#' {
		return
	}
	w.problem(path, key.Line, "has no value: YAML reads the text after # as a comment",
		`quote the value, e.g. "#1a73e8"`)
}

var (
	unknownFieldRE = regexp.MustCompile(`^field (\S+) not found in type `)
	constructRE    = regexp.MustCompile(`^cannot (?:construct|unmarshal) (!!\w+)(?: ` + "`" + `([^` + "`" + `]*)` + "`" + `)? into `)
)

// loadErrorProblems turns the library's strict-decoding errors into
// problems with the key path, plain words and a hint.
func (w *tree) loadErrorProblems(err error) Problems {
	var le *yaml.LoadErrors
	if !errors.As(err, &le) {
		return Problems{{Message: "cannot decode: " + err.Error()}}
	}
	var ps Problems
	for _, e := range le.Errors {
		at := pos{e.Mark.Line, e.Mark.Column}
		path, ok := w.keys[at]
		if !ok {
			path = w.paths[at]
		}
		p := Problem{Path: path, Line: e.Mark.Line, Message: e.Message}
		if strings.HasPrefix(e.Message, "mapping key ") && strings.Contains(e.Message, "already defined") {
			continue // the pre-pass reports duplicates with the key path
		}
		if m := unknownFieldRE.FindStringSubmatch(e.Message); m != nil {
			parent := parentPath(path)
			p.Message = fmt.Sprintf("unknown key %q", m[1])
			p.Hint = unknownKeyHint(parent, m[1], structKeys(typeAt(parent)))
		} else if m := constructRE.FindStringSubmatch(e.Message); m != nil {
			p.Message, p.Hint = mismatch(typeAt(path), m[1], m[2], path)
		}
		ps = append(ps, p)
	}
	return ps
}

// mismatch explains a value of the wrong shape or type at path.
func mismatch(t reflect.Type, tag, value, path string) (msg, hint string) {
	got := fmt.Sprintf("%q", value)
	switch tag {
	case "!!map":
		got = "a mapping"
	case "!!seq":
		got = "a list"
	}
	if t == nil {
		return "has a value of the wrong kind: " + got, ""
	}
	switch {
	case t == durationType:
		hint = "use a number with a unit: s, m or h (there is no d; 30 days is 720h)"
		if isDigits(value) {
			hint = fmt.Sprintf("add a unit, e.g. %ss or %sm", value, value)
		}
	case t.Kind() == reflect.Slice && tag != "!!map" && tag != "!!seq":
		hint = `write one "- item" per line, or [a, b]`
	case t.Kind() == reflect.Struct && tag != "!!map" && tag != "!!seq":
		hint = `indent the keys that belong here under "` + lastKey(path) + `:"`
	}
	return fmt.Sprintf("expected %s, got %s", describe(t), got), hint
}

func parentPath(path string) string {
	if i := strings.LastIndexAny(path, ".["); i >= 0 {
		return path[:i]
	}
	return ""
}

// typeAt is the Go type that the key path decodes into, or nil.
func typeAt(path string) reflect.Type {
	t := configType
	for path != "" {
		for t.Kind() == reflect.Pointer {
			t = t.Elem()
		}
		if strings.HasPrefix(path, "[") {
			end := strings.IndexByte(path, ']')
			if end < 0 || (t.Kind() != reflect.Slice && t.Kind() != reflect.Array) {
				return nil
			}
			t, path = t.Elem(), strings.TrimPrefix(path[end+1:], ".")
			continue
		}
		key := path
		if i := strings.IndexAny(path, ".["); i >= 0 {
			key = path[:i]
		}
		path = strings.TrimPrefix(path[len(key):], ".")
		switch t.Kind() {
		case reflect.Struct:
			ft, ok := structKeys(t)[key]
			if !ok {
				return nil
			}
			t = ft
		case reflect.Map:
			t = t.Elem()
		default:
			return nil
		}
	}
	return t
}

// expand replaces ${VAR}, ${VAR:-default} and $$ in a scalar value, once.
func (w *tree) expand(n *yaml.Node, path string) {
	if w.expanded[n] {
		return
	}
	w.expanded[n] = true
	if !strings.Contains(n.Value, "$") {
		return
	}
	if m := wholeEnvRE.FindStringSubmatch(strings.TrimSpace(n.Value)); m != nil {
		w.envOf[path] = m[1]
	}
	for _, m := range envRefRE.FindAllStringSubmatch(n.Value, -1) {
		if !slices.Contains(w.env, m[1]) {
			w.env = append(w.env, m[1])
		}
	}
	out, missing, err := expandEnv(n.Value, w.getenv)
	if err != nil {
		w.problem(path, n.Line, err.Error(), `write ${NAME} or ${NAME:-default}; write $$ for a literal "$"`)
		return
	}
	for _, name := range missing {
		w.problem(path, n.Line, fmt.Sprintf("environment variable %s is not set", name),
			fmt.Sprintf("set %s, or give a default: ${%s:-value}", name, name))
	}
	n.Value = out
	// The parser tagged the unexpanded text (e.g. "${PORT}" is a !!str).
	// Resolve the tag again from the new text, as if it had been written
	// there, so a number or boolean from the environment decodes into a
	// number or boolean field. Quoted values stay strings.
	if n.Style&(yaml.TaggedStyle|yaml.DoubleQuotedStyle|yaml.SingleQuotedStyle|yaml.LiteralStyle|yaml.FoldedStyle) == 0 {
		n.Tag = plainTag(out)
	}
}

// plainTag is the tag YAML gives s written as a plain scalar: !!int for
// "7", !!bool for "true"; anything that would not stay one plain scalar
// (": ", newlines, "[") is text, and so is "null".
func plainTag(s string) string {
	var doc yaml.Node
	if strings.ContainsAny(s, "\n\r") || yaml.Load([]byte(s), &doc) != nil ||
		len(doc.Content) != 1 || doc.Content[0].Kind != yaml.ScalarNode || doc.Content[0].Value != s {
		return "!!str"
	}
	if tag := doc.Content[0].ShortTag(); tag != "!!null" {
		return tag
	}
	return "!!str"
}

var (
	envNameRE = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*$`)
	envRefRE  = regexp.MustCompile(`\$\{([A-Za-z_][A-Za-z0-9_]*)`)
	// wholeEnvRE is a value that is exactly one reference.
	wholeEnvRE = regexp.MustCompile(`^\$\{([A-Za-z_][A-Za-z0-9_]*)(:-[^}]*)?\}$`)
)

// expandEnv expands ${VAR} and ${VAR:-default} (default when VAR is unset or
// empty) and turns $$ into $. Any other $ is kept, so bcrypt hashes
// ($2a$10$...) need no escaping. Expanded values are not expanded again.
// It returns the names of unset variables that have no default. Errors
// never quote the value, which may be a secret.
func expandEnv(s string, getenv func(string) string) (string, []string, error) {
	var b strings.Builder
	var missing []string
	for i := 0; i < len(s); {
		if s[i] != '$' || i+1 == len(s) {
			b.WriteByte(s[i])
			i++
			continue
		}
		switch s[i+1] {
		case '$':
			b.WriteByte('$')
			i += 2
		case '{':
			end := strings.IndexByte(s[i+2:], '}')
			if end < 0 {
				return "", nil, fmt.Errorf("unterminated ${ (missing })")
			}
			expr := s[i+2 : i+2+end]
			name, def, hasDef := strings.Cut(expr, ":-")
			if !envNameRE.MatchString(name) {
				return "", nil, fmt.Errorf("invalid environment variable name %q in ${...}", name)
			}
			if strings.Contains(def, "${") {
				return "", nil, fmt.Errorf("a ${...} inside the default of ${%s:-...} is not supported", name)
			}
			v := getenv(name)
			if v == "" {
				if hasDef {
					v = def
				} else if !slices.Contains(missing, name) {
					missing = append(missing, name)
				}
			}
			b.WriteString(v)
			i += 2 + end + 1
		default:
			b.WriteByte('$')
			i++
		}
	}
	return b.String(), missing, nil
}

func isNull(n *yaml.Node) bool {
	return n.Kind == yaml.ScalarNode && n.ShortTag() == "!!null"
}

func isDigits(s string) bool {
	if s == "" {
		return false
	}
	for _, c := range s {
		if c < '0' || c > '9' {
			return false
		}
	}
	return true
}

// structKeys maps the YAML keys of struct type t to their field types,
// flattening ",inline" structs the way yaml.v3 does.
func structKeys(t reflect.Type) map[string]reflect.Type {
	keys := map[string]reflect.Type{}
	for i := range t.NumField() {
		f := t.Field(i)
		if !f.IsExported() {
			continue
		}
		tag := f.Tag.Get("yaml")
		if tag == "-" {
			continue
		}
		name, flags, _ := strings.Cut(tag, ",")
		if slices.Contains(strings.Split(flags, ","), "inline") && f.Type.Kind() == reflect.Struct {
			for k, v := range structKeys(f.Type) {
				keys[k] = v
			}
			continue
		}
		if name == "" {
			name = strings.ToLower(f.Name)
		}
		keys[name] = f.Type
	}
	return keys
}

func describe(t reflect.Type) string {
	if t == durationType {
		return "a duration such as 90s, 15m or 2h"
	}
	switch t.Kind() {
	case reflect.Bool:
		return "true or false"
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return "a whole number"
	case reflect.String:
		return "a text value"
	case reflect.Slice:
		return "a list"
	case reflect.Struct, reflect.Map:
		return "a mapping (key: value lines)"
	case reflect.Pointer:
		return describe(t.Elem())
	}
	return t.String()
}

func lastKey(path string) string {
	if i := strings.LastIndexByte(path, '.'); i >= 0 {
		return path[i+1:]
	}
	if path == "" {
		return "the top level"
	}
	return path
}

// movedKeys are keys admins put one level too high or low; the hint says
// where they belong. The map key is "<parent kind>/<key>".
var movedKeys = map[string]string{
	"jitsi/secret":           "the HS256 secret belongs under jitsi.signing: (secret: ...)",
	"jitsi/app_secret":       "the HS256 secret belongs under jitsi.signing: (secret: ...)",
	"jitsi/algorithm":        "it belongs under jitsi.signing:",
	"jitsi/private_key_file": "it belongs under jitsi.signing:",
	"jitsi/key_id":           "it belongs under jitsi.signing:",
	"jitsi/kid":              "write key_id under jitsi.signing:",
	"jitsi/lobby_bypass":     "lobby_bypass is set per rule (rules[].lobby_bypass)",
	"/secret":                "secrets belong under jitsi.signing: or session:",
	"/jwt":                   "token settings belong under jitsi:",
	"/users":                 "static users belong to a backend: backends: [{id: demo, type: static, users: [...]}]",
	"backend/host":           "write url: ldaps://host:636 (or ldap://host:389)",
	"backend/port":           "write the port in url: ldaps://host:636",
	"backend/base_dn":        "it belongs under user_search: (or group_search:)",
	"backend/filter":         "it belongs under user_search: (or group_search:)",
	"backend/password":       "write bind_password (LDAP service account) or password_hash (static user)",
	"backend/name":           "the button text is label:",
	"backend/groups":         "groups are set per static user (users[].groups)",
	"rule/groups":            "it belongs under match: (match: {groups: [...]})",
	"rule/users":             "it belongs under match: (match: {users: [...]})",
	"rule/backends":          "it belongs under match: (match: {backends: [...]})",
	"rule/tenants":           "it belongs under match: (match: {tenants: [...]})",
	"rule/moderator":         "write role: owner (moderator) or role: member",
	"rule/room":              "write rooms: [pattern, ...]",
	"user/password":          "write password_hash: with a bcrypt hash from `jitsi-gate hash-password`",
	"user/group":             "write groups: [name, ...]",
	"match/group":            "write groups: [name, ...]",
}

// unknownKeyHint suggests the key the admin probably meant.
func unknownKeyHint(parent, key string, keys map[string]reflect.Type) string {
	last := lastKey(parent)
	base, _, indexed := strings.Cut(last, "[")
	kind := base
	switch {
	case parent == "":
		kind = ""
	case base == "backends" && indexed:
		kind = "backend"
	case base == "rules" && indexed:
		kind = "rule"
	case base == "users" && indexed:
		kind = "user"
	}
	if h, ok := movedKeys[kind+"/"+key]; ok {
		return h
	}
	names := make([]string, 0, len(keys))
	for k := range keys {
		names = append(names, k)
	}
	slices.Sort(names)
	if s := closest(key, names); s != "" {
		return fmt.Sprintf("did you mean %q?", s)
	}
	if len(names) <= 12 {
		return "valid keys here: " + strings.Join(names, ", ")
	}
	return "see config.example.yaml for the keys of this section"
}

// closest returns the candidate nearest to s (case, - and _ ignored), or ""
// if none is close enough to be a typo.
func closest(s string, candidates []string) string {
	norm := func(x string) string { return strings.ReplaceAll(strings.ToLower(x), "-", "_") }
	ns := norm(s)
	best, bestD := "", 1<<30
	for _, c := range candidates {
		d := editDistance(ns, norm(c))
		if d < bestD {
			best, bestD = c, d
		}
	}
	limit := 2
	if len(s) <= 4 {
		limit = 1
	}
	if bestD <= limit {
		return best
	}
	return ""
}

// editDistance is the optimal string alignment distance: insertions,
// deletions, substitutions and swaps of neighbours ("ldpa" → "ldap") each
// count 1.
func editDistance(a, b string) int {
	ra, rb := []rune(a), []rune(b)
	d := make([][]int, len(ra)+1)
	for i := range d {
		d[i] = make([]int, len(rb)+1)
		d[i][0] = i
	}
	for j := range d[0] {
		d[0][j] = j
	}
	for i := 1; i <= len(ra); i++ {
		for j := 1; j <= len(rb); j++ {
			cost := 1
			if ra[i-1] == rb[j-1] {
				cost = 0
			}
			d[i][j] = min(d[i-1][j]+1, d[i][j-1]+1, d[i-1][j-1]+cost)
			if i > 1 && j > 1 && ra[i-1] == rb[j-2] && ra[i-2] == rb[j-1] {
				d[i][j] = min(d[i][j], d[i-2][j-2]+1)
			}
		}
	}
	return d[len(ra)][len(rb)]
}
