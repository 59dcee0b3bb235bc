package config

import (
	"fmt"
	"strings"
)

// Problem is one thing wrong (or, from Warnings, worth a second look) in
// the configuration.
type Problem struct {
	// Path is the key path, e.g. "backends[1].user_search.filter" or
	// "rules[0].rooms[2]". Empty for problems with the file as a whole
	// (YAML syntax errors).
	Path string
	// Line is the line in the YAML file the problem was found at, when
	// known (0 otherwise). Parse fills it in for validation problems too.
	Line int
	// Message says what is wrong. It never contains a secret.
	Message string
	// Hint says how to fix it; may be empty.
	Hint string
}

// String renders the problem as one line:
// "backends[1].url (line 12): ... (hint: ...)".
func (p Problem) String() string {
	var b strings.Builder
	switch {
	case p.Path != "" && p.Line > 0:
		fmt.Fprintf(&b, "%s (line %d): ", p.Path, p.Line)
	case p.Path != "":
		b.WriteString(p.Path + ": ")
	case p.Line > 0:
		fmt.Fprintf(&b, "line %d: ", p.Line)
	}
	b.WriteString(p.Message)
	if p.Hint != "" {
		b.WriteString(" (hint: " + p.Hint + ")")
	}
	return b.String()
}

// Problems is every problem found in a configuration. Parse, Load and
// Validate return it as a *Problems error; errors.As works with both a
// *Problems and a Problems target.
type Problems []Problem

// Error lists the problems, one per line.
func (p Problems) Error() string {
	lines := make([]string, len(p))
	for i, pr := range p {
		lines[i] = pr.String()
	}
	return strings.Join(lines, "\n")
}

// As lets errors.As fill a Problems (not only a *Problems) target.
func (p *Problems) As(target any) bool {
	if t, ok := target.(*Problems); ok && p != nil {
		*t = *p
		return true
	}
	return false
}

// collector gathers problems with their key paths.
type collector struct {
	problems Problems
}

func (c *collector) add(path, msg, hint string) {
	c.problems = append(c.problems, Problem{Path: path, Message: msg, Hint: hint})
}

// join builds a key path: join("backends[1]", "url") = "backends[1].url".
func join(parent, key string) string {
	if parent == "" {
		return key
	}
	return parent + "." + key
}

// index builds a list element path: index("rules", 2) = "rules[2]".
func index(parent string, i int) string {
	return fmt.Sprintf("%s[%d]", parent, i)
}
