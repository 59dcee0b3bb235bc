package ldap

import (
	"strings"

	goldap "github.com/go-ldap/ldap/v3"
)

// groups collects the user's groups on the session's connection:
//  1. the DNs in the user's MemberOfAttribute (Via "memberOf");
//  2. the group search with {dn} = the user's DN (Via "direct");
//  3. with Nested, level by level upward: the group search with {dn} = each
//     group found so far (Via "nested via <that group's DN>").
//
// A visited set of normalised DNs makes cycles and diamonds harmless, and
// the walk stops after maxNestingDepth levels. rebind switches the
// connection back from the user to the service account first.
func (a *Authenticator) groups(se *session, user *goldap.Entry, rebind bool) ([]GroupFound, error) {
	var found []GroupFound
	seen := make(map[string]bool)
	add := func(g GroupFound) bool {
		k := dnKey(g.DN)
		if seen[k] {
			return false
		}
		seen[k] = true
		found = append(found, g)
		return true
	}

	if attr := a.s.MemberOfAttribute; attr != "" {
		for _, dn := range user.GetAttributeValues(attr) {
			add(GroupFound{Name: rdnValue(dn), DN: dn, Via: "memberOf"})
		}
	}

	gs := a.s.GroupSearch
	if gs.BaseDN == "" {
		return found, nil
	}
	if rebind {
		if err := se.rebindService(); err != nil {
			return nil, err
		}
	}

	direct, err := a.searchGroups(se, user.DN)
	if err != nil {
		return nil, err
	}
	for _, g := range direct {
		g.Via = "direct"
		add(g)
	}
	if !gs.Nested {
		return found, nil
	}

	frontier := make([]string, 0, len(found))
	for _, g := range found {
		frontier = append(frontier, g.DN)
	}
	for depth := 1; len(frontier) > 0; depth++ {
		if depth > maxNestingDepth {
			a.log.Warn("ldap nested groups deeper than the limit; ignoring the rest",
				"user", user.DN, "limit", maxNestingDepth, "next", frontier)
			break
		}
		var next []string
		for _, child := range frontier {
			parents, err := a.searchGroups(se, child)
			if err != nil {
				return nil, err
			}
			for _, p := range parents {
				p.Via = "nested via " + child
				if add(p) {
					next = append(next, p.DN)
				}
			}
		}
		frontier = next
	}
	return found, nil
}

// searchGroups returns the groups whose filter matches memberDN (a user or
// a group).
func (a *Authenticator) searchGroups(se *session, memberDN string) ([]GroupFound, error) {
	gs := a.s.GroupSearch
	req := goldap.NewSearchRequest(gs.BaseDN, goldap.ScopeWholeSubtree, goldap.NeverDerefAliases,
		0, se.timeLimit(), false, buildFilter(gs.Filter, DNPlaceholder, memberDN),
		[]string{gs.NameAttribute}, nil)
	res, err := se.search(req)
	if err != nil {
		return nil, se.fail("search groups on", err)
	}
	out := make([]GroupFound, 0, len(res.Entries))
	for _, e := range res.Entries {
		name := e.GetAttributeValue(gs.NameAttribute)
		if name == "" {
			name = rdnValue(e.DN)
		}
		out = append(out, GroupFound{Name: name, DN: e.DN})
	}
	return out, nil
}

// groupNames returns the group names, deduplicated case-insensitively
// (LDAP compares cn case-insensitively); the first spelling wins.
func groupNames(groups []GroupFound) []string {
	names := make([]string, 0, len(groups))
	seen := make(map[string]bool, len(groups))
	for _, g := range groups {
		k := strings.ToLower(g.Name)
		if g.Name == "" || seen[k] {
			continue
		}
		seen[k] = true
		names = append(names, g.Name)
	}
	return names
}

// rdnValue is the unescaped value of the first RDN of dn ("cn=a\,b,ou=x" →
// "a,b"), or dn itself when it does not parse.
func rdnValue(dn string) string {
	d, err := goldap.ParseDN(dn)
	if err != nil || len(d.RDNs) == 0 || len(d.RDNs[0].Attributes) == 0 {
		return dn
	}
	return d.RDNs[0].Attributes[0].Value
}

// dnKey normalises a DN for the visited set: the same entry may be spelled
// with different case, spacing or escaping in member values.
func dnKey(dn string) string {
	d, err := goldap.ParseDN(dn)
	if err != nil {
		return strings.ToLower(dn)
	}
	return strings.ToLower(d.String())
}
