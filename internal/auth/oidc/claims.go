package oidc

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"strings"

	"github.com/jitsi-gate/jitsi-gate/internal/auth"
)

// decodeClaims turns a go-oidc Claims method into a map. Numbers stay
// json.Number so that numeric ids are not rounded through float64.
func decodeClaims(claimsFunc func(any) error) (map[string]any, error) {
	var raw json.RawMessage
	if err := claimsFunc(&raw); err != nil {
		return nil, err
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	var m map[string]any
	if err := dec.Decode(&m); err != nil {
		return nil, err
	}
	if m == nil {
		m = map[string]any{}
	}
	return m, nil
}

// lookup finds a claim by its full name first, then as a '.'-separated path
// through nested objects. A missing claim and a JSON null both report false.
func lookup(claims map[string]any, path string) (any, bool) {
	if v, ok := claims[path]; ok {
		return v, v != nil
	}
	var cur any = claims
	for _, seg := range strings.Split(path, ".") {
		obj, ok := cur.(map[string]any)
		if !ok {
			return nil, false
		}
		if cur, ok = obj[seg]; !ok {
			return nil, false
		}
	}
	return cur, cur != nil
}

// stringClaim returns a string (or number) claim, "" when absent.
func stringClaim(claims map[string]any, path string) (string, error) {
	v, ok := lookup(claims, path)
	if !ok {
		return "", nil
	}
	switch v := v.(type) {
	case string:
		return v, nil
	case json.Number:
		return v.String(), nil
	default:
		return "", fmt.Errorf("claim %q is %s, want a string", path, jsonKind(v))
	}
}

// groupsClaim returns the group names in one claim (see the package
// comment for the accepted shapes).
func groupsClaim(claims map[string]any, path string) ([]string, error) {
	v, ok := lookup(claims, path)
	if !ok {
		return nil, nil
	}
	switch v := v.(type) {
	case string:
		return []string{v}, nil
	case []any:
		out := make([]string, 0, len(v))
		for i, e := range v {
			switch e := e.(type) {
			case string:
				out = append(out, e)
			case map[string]any:
				name, ok := e["name"].(string)
				if !ok {
					return nil, fmt.Errorf("groups claim %q: element %d is an object without a string \"name\"", path, i)
				}
				out = append(out, name)
			default:
				return nil, fmt.Errorf("groups claim %q: element %d is %s, want a string or an object with \"name\"", path, i, jsonKind(e))
			}
		}
		return out, nil
	default:
		return nil, fmt.Errorf("groups claim %q is %s, want a list of strings, a string or a list of objects with \"name\"", path, jsonKind(v))
	}
}

// expandGroup returns the names a rule may use for one group value. A
// Keycloak full path "/a/b" yields "/a/b", "a/b" and "b".
func expandGroup(g string) []string {
	if !strings.HasPrefix(g, "/") {
		return []string{g}
	}
	trimmed := strings.Trim(g, "/")
	if trimmed == "" {
		return nil
	}
	out := []string{g, trimmed}
	if i := strings.LastIndex(trimmed, "/"); i >= 0 {
		out = append(out, trimmed[i+1:])
	}
	return out
}

// identity maps verified claims to an Identity.
func (a *Authenticator) identity(claims map[string]any) (auth.Identity, error) {
	var problems []error
	str := func(path string) string {
		s, err := stringClaim(claims, path)
		if err != nil {
			problems = append(problems, err)
		}
		return s
	}
	id := auth.Identity{
		Backend: a.cfg.ID,
		Subject: str(a.idClaim),
		Email:   str(a.emailClaim),
	}
	// Fallback claims are not configured, so a value of an odd type there
	// is ignored rather than failing the login.
	lenient := func(path string) string {
		s, _ := stringClaim(claims, path)
		return s
	}
	preferred := lenient("preferred_username")
	email := firstNonEmpty(id.Email, lenient("email"))
	// Rules match on the username, so an e-mail address only becomes one
	// when the provider vouches for it: at many providers users type any
	// address into their profile, including a teacher's.
	var verifiedEmail string
	if emailVerified(claims) {
		verifiedEmail = lenient("email")
	}
	id.Username = firstNonEmpty(preferred, verifiedEmail, id.Subject)
	id.Name = firstNonEmpty(str(a.nameClaim), preferred, email, id.Subject)

	seen := map[string]bool{}
	for _, path := range a.groupsPaths {
		gs, err := groupsClaim(claims, path)
		if err != nil {
			problems = append(problems, err)
			continue
		}
		for _, g := range gs {
			for _, name := range expandGroup(g) {
				if name != "" && !seen[name] {
					seen[name] = true
					id.Groups = append(id.Groups, name)
				}
			}
		}
	}
	if len(problems) > 0 {
		return auth.Identity{}, fmt.Errorf("oidc: map claims: %w", errors.Join(problems...))
	}
	if id.Subject == "" {
		return auth.Identity{}, fmt.Errorf("oidc: map claims: id claim %q is missing or empty", a.idClaim)
	}
	return id, nil
}

// emailVerified reports whether the standard email_verified claim is true.
// Some providers (AWS Cognito, older Keycloak mappers) send it as the
// string "true".
func emailVerified(claims map[string]any) bool {
	v, _ := lookup(claims, "email_verified")
	switch v := v.(type) {
	case bool:
		return v
	case string:
		return strings.EqualFold(v, "true")
	}
	return false
}

func firstNonEmpty(vs ...string) string {
	for _, v := range vs {
		if v != "" {
			return v
		}
	}
	return ""
}

// jsonKind names the JSON type of a decoded value for error messages.
func jsonKind(v any) string {
	switch v.(type) {
	case nil:
		return "null"
	case bool:
		return "a boolean"
	case json.Number, float64:
		return "a number"
	case string:
		return "a string"
	case []any:
		return "a list"
	case map[string]any:
		return "an object"
	default:
		return fmt.Sprintf("%T", v)
	}
}
