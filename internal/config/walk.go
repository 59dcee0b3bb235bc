package config

import (
	"fmt"
	"reflect"
	"regexp"
	"slices"
	"strings"
	"time"

	"gopkg.in/yaml.v3"
)

// Why a walker instead of Decoder.KnownFields(true): the ${VAR} expansion
// has to happen on the node tree (so a value can never change the YAML
// structure), and yaml.v3 can only decode a node tree without KnownFields
// (Node.Decode has no options; go-yaml#460 is the same limitation inside
// custom unmarshalers). Re-encoding the expanded tree and decoding that
// strictly would work but report line numbers of the re-encoded text, not
// of the admin's file. So the walker checks the tree against the Go types
// itself: unknown and duplicate keys, lists where values belong and the
// other way round, and every scalar decoded into its field type. It knows
// the line of every key, reports each problem with its key path, and
// collects them all. A test checks that it rejects exactly what
// KnownFields(true) rejects, including inside the inlined LDAP/OIDC fields.

var (
	configType     = reflect.TypeFor[Config]()
	durationType   = reflect.TypeFor[time.Duration]()
	stringListType = reflect.TypeFor[StringList]()
)

// maxVisits bounds the work on documents that abuse aliases (a config file
// has a few hundred nodes).
const maxVisits = 100000

type walker struct {
	getenv   func(string) string
	lines    map[string]int      // key path -> line of the key
	expanded map[*yaml.Node]bool // scalars already expanded (aliases share nodes)
	problems Problems
	visits   int
	aliases  int // alias nesting depth
}

func (w *walker) problem(path string, line int, msg, hint string) {
	w.problems = append(w.problems, Problem{Path: path, Line: line, Message: msg, Hint: hint})
}

// lineOf returns the line of path, or of its closest parent in the file.
func (w *walker) lineOf(path string) int {
	for path != "" {
		if l, ok := w.lines[path]; ok {
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

func (w *walker) walk(n *yaml.Node, t reflect.Type, path string) {
	w.visits++
	if w.visits > maxVisits {
		if w.visits == maxVisits+1 {
			w.problem(path, n.Line, "the document is too large (too many aliases?)", "")
		}
		return
	}
	if n.Kind == yaml.AliasNode {
		if n.Alias == nil || w.aliases > 32 {
			w.problem(path, n.Line, "alias cannot be resolved (does it refer to itself?)", "")
			return
		}
		w.aliases++
		defer func() { w.aliases-- }()
		n = n.Alias
	}
	if isNull(n) {
		return // the zero value; Validate decides whether that is fine
	}
	if t == stringListType {
		w.stringList(n, path)
		return
	}
	switch t.Kind() {
	case reflect.Pointer:
		w.walk(n, t.Elem(), path)
	case reflect.Struct:
		if t == durationType { // not a struct, but be explicit
			w.scalar(n, t, path)
			return
		}
		if !w.want(n, yaml.MappingNode, t, path) {
			return
		}
		keys := structKeys(t)
		for _, kv := range w.pairs(n, path) {
			ft, ok := keys[kv.key.Value]
			child := join(path, kv.key.Value)
			if !ok {
				w.problem(child, kv.key.Line, fmt.Sprintf("unknown key %q", kv.key.Value), unknownKeyHint(path, kv.key.Value, keys))
				continue
			}
			w.lines[child] = kv.key.Line
			w.checkSwallowedValue(kv, child)
			w.walk(kv.value, ft, child)
		}
	case reflect.Slice:
		if !w.want(n, yaml.SequenceNode, t, path) {
			return
		}
		for i, item := range n.Content {
			child := index(path, i)
			w.lines[child] = item.Line
			w.walk(item, t.Elem(), child)
		}
	case reflect.Map:
		if !w.want(n, yaml.MappingNode, t, path) {
			return
		}
		for _, kv := range w.pairs(n, path) {
			child := join(path, kv.key.Value)
			w.lines[child] = kv.key.Line
			w.checkSwallowedValue(kv, child)
			w.walk(kv.value, t.Elem(), child)
		}
	default:
		w.scalar(n, t, path)
	}
}

// want reports whether n is of kind k, and records a problem if not.
func (w *walker) want(n *yaml.Node, k yaml.Kind, t reflect.Type, path string) bool {
	if n.Kind == k {
		return true
	}
	hint := ""
	if k == yaml.SequenceNode && n.Kind == yaml.ScalarNode {
		hint = `write one "- item" per line, or [a, b]`
	}
	if k == yaml.MappingNode && n.Kind == yaml.ScalarNode {
		hint = `indent the keys that belong here under "` + lastKey(path) + `:"`
	}
	w.problem(path, n.Line, fmt.Sprintf("expected %s, got %s", describe(t), nodeDesc(n)), hint)
	return false
}

type keyValue struct{ key, value *yaml.Node }

// checkSwallowedValue catches "primary_color: #1a73e8": YAML reads
// everything from " #" on as a comment, so the key silently has no value.
// A comment that starts right after the # (no space) was almost certainly
// meant as the value. The comment is not quoted: it may be a secret.
func (w *walker) checkSwallowedValue(kv keyValue, path string) {
	c := kv.key.LineComment
	if !isNull(kv.value) || kv.value.Value != "" || len(c) < 2 || c[0] != '#' || c[1] == ' ' || c[1] == '#' {
		return
	}
	w.problem(path, kv.key.Line, "has no value: YAML reads the text after # as a comment",
		`quote the value, e.g. "#1a73e8"`)
}

// pairs returns the key/value pairs of a mapping node, reporting duplicate
// and non-string keys. Merge keys (<<: *anchor) are followed; explicit keys
// win over merged ones, as in yaml.v3.
func (w *walker) pairs(n *yaml.Node, path string) []keyValue {
	var out []keyValue
	seen := map[string]int{}
	var merged []*yaml.Node
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], n.Content[i+1]
		if k.Kind != yaml.ScalarNode {
			w.problem(path, k.Line, "keys must be plain words", "")
			continue
		}
		if k.ShortTag() == "!!merge" {
			merged = append(merged, v)
			continue
		}
		if first, dup := seen[k.Value]; dup {
			w.problem(join(path, k.Value), k.Line, fmt.Sprintf("key %q appears twice (first at line %d)", k.Value, first),
				"remove one of them")
			continue
		}
		seen[k.Value] = k.Line
		out = append(out, keyValue{k, v})
	}
	for _, m := range merged {
		for _, src := range mergeSources(m) {
			if src.Kind != yaml.MappingNode {
				w.problem(path, m.Line, "<< must refer to a mapping", "")
				continue
			}
			for _, kv := range w.pairs(src, path) {
				if _, ok := seen[kv.key.Value]; ok {
					continue
				}
				seen[kv.key.Value] = kv.key.Line
				out = append(out, kv)
			}
		}
	}
	return out
}

func mergeSources(n *yaml.Node) []*yaml.Node {
	deref := func(n *yaml.Node) *yaml.Node {
		if n.Kind == yaml.AliasNode && n.Alias != nil {
			return n.Alias
		}
		return n
	}
	n = deref(n)
	if n.Kind != yaml.SequenceNode {
		return []*yaml.Node{n}
	}
	out := make([]*yaml.Node, 0, len(n.Content))
	for _, c := range n.Content {
		out = append(out, deref(c))
	}
	return out
}

func (w *walker) stringList(n *yaml.Node, path string) {
	switch n.Kind {
	case yaml.ScalarNode:
		w.expand(n, path)
	case yaml.SequenceNode:
		for i, item := range n.Content {
			child := index(path, i)
			w.lines[child] = item.Line
			if item.Kind == yaml.AliasNode && item.Alias != nil {
				item = item.Alias
			}
			if item.Kind != yaml.ScalarNode {
				w.problem(child, item.Line, "expected a text value, got "+nodeDesc(item), "")
				continue
			}
			w.expand(item, child)
		}
	default:
		w.problem(path, n.Line, "expected a text value or a list of them, got "+nodeDesc(n), "")
	}
}

// scalar checks that n is a single value that decodes into t.
func (w *walker) scalar(n *yaml.Node, t reflect.Type, path string) {
	if n.Kind != yaml.ScalarNode {
		w.problem(path, n.Line, fmt.Sprintf("expected %s, got %s", describe(t), nodeDesc(n)), "")
		return
	}
	w.expand(n, path)
	if err := n.Decode(reflect.New(t).Interface()); err != nil {
		hint := ""
		if t == durationType {
			hint = "use a number with a unit: s, m or h (there is no d; 30 days is 720h)"
			if isDigits(n.Value) {
				hint = fmt.Sprintf("add a unit, e.g. %ss or %sm", n.Value, n.Value)
			}
		}
		w.problem(path, n.Line, fmt.Sprintf("expected %s, got %q", describe(t), n.Value), hint)
	}
}

// expand replaces ${VAR}, ${VAR:-default} and $$ in a scalar value, once.
func (w *walker) expand(n *yaml.Node, path string) {
	if w.expanded[n] {
		return
	}
	w.expanded[n] = true
	if !strings.Contains(n.Value, "$") {
		return
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
		n.Tag = ""
		tag := n.ShortTag()
		if tag == "!!null" {
			tag = "!!str" // FOO=null stays the text "null"
		}
		n.Tag = tag
	}
}

var envNameRE = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*$`)

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

func nodeDesc(n *yaml.Node) string {
	switch n.Kind {
	case yaml.MappingNode:
		return "a mapping"
	case yaml.SequenceNode:
		return "a list"
	}
	return fmt.Sprintf("%q", n.Value)
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
