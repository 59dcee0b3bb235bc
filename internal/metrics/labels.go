package metrics

import (
	"slices"
	"sync"
	"unicode/utf8"
)

// maxLabelLen bounds one label value; longer values are recorded as Other.
// Route patterns with a public_url path are the longest expected values.
const maxLabelLen = 128

// labelSet bounds the values of one label. A closed set (fixed non-empty)
// maps anything outside it to Other. An open set records the first limit
// distinct values as they are and every later new one as Other, so a
// caller that passes raw input by mistake costs at most limit series.
type labelSet struct {
	fixed []string
	known map[string]bool // fixed, as a set; nil for an open set
	limit int

	mu   sync.RWMutex
	seen map[string]bool
}

func newLabelSet(fixed []string, limit int) *labelSet {
	s := &labelSet{limit: limit, seen: map[string]bool{}}
	for _, v := range fixed {
		if v == "" || !usable(v) || slices.Contains(s.fixed, v) {
			continue
		}
		if s.known == nil {
			s.known = map[string]bool{}
		}
		s.fixed = append(s.fixed, v)
		s.known[v] = true
	}
	return s
}

// usable reports whether v can be a label value at all: the client library
// panics on invalid UTF-8, and long values are a sign of raw input.
func usable(v string) bool {
	return len(v) <= maxLabelLen && utf8.ValidString(v)
}

// value returns the label value to record for v.
func (s *labelSet) value(v string) string {
	switch {
	case v == "":
		return None
	case s.known != nil:
		if s.known[v] {
			return v
		}
		return Other
	case !usable(v):
		return Other
	}
	s.mu.RLock()
	ok := s.seen[v]
	s.mu.RUnlock()
	if ok {
		return v
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.seen[v] {
		return v
	}
	if len(s.seen) >= s.limit {
		return Other
	}
	s.seen[v] = true
	return v
}
