package auth

import (
	"strings"

	"golang.org/x/text/cases"
	"golang.org/x/text/unicode/norm"
)

// FoldUsername is the form under which two typed usernames count as the
// same person before a backend has answered: NFKC, then Unicode case
// folding, then NFKC again (folding can denormalise). Directories match
// "ſtudent2", "ｓｔｕｄｅｎｔ２" and "ﬅudent2" to the entry "student2", so
// anything keyed on typed text (rate limits, static user lookup) must use
// this form or an attacker multiplies their attempts by the variants.
//
// It is not the identity: the username a rule matches comes from the
// directory entry or the provider, never from what was typed.
func FoldUsername(s string) string {
	s = strings.TrimSpace(s)
	return norm.NFKC.String(cases.Fold().String(norm.NFKC.String(s)))
}
