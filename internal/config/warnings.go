package config

import (
	"fmt"
	"net/url"
	"slices"
	"strings"
)

// serverSideFeatures are the features Jitsi enforces on the server; once
// a token has context.features, every one of them that is missing is off,
// for moderators too (docs/reference/jitsi-contract.md §1.7).
var serverSideFeatures = []string{
	"recording", "livestreaming", "transcription", "outbound-call",
	"create-polls", "send-groupchat", "file-upload",
}

// Warnings returns advice about a valid configuration: things that work
// but are probably not what the admin wants.
func (c *Config) Warnings() []Problem {
	var w collector
	if c.Jitsi.Preview && c.Jitsi.PreviewRealTokens {
		w.add("jitsi.preview_real_tokens", "previewed tokens are signed with the real key and work on Jitsi",
			"only for debugging a Jitsi setup; remove it afterwards")
	}
	if c.Jitsi.Preview {
		w.add("jitsi.preview", "preview is on: users see their token and its claims instead of being sent to Jitsi",
			"fine for a demo or for debugging; turn it off in production")
	}
	if u, err := url.Parse(c.Server.PublicURL); err == nil && u.Scheme == "http" && !isLoopbackHost(u.Hostname()) {
		w.add("server.public_url", "is http: the login cookie is not marked Secure and passwords cross the network in clear text",
			"serve jitsi-gate over https (behind the Jitsi nginx, e.g. https://meet.example.com/_auth)")
	}

	for i, b := range c.Backends {
		p := index("backends", i)
		if b.Type != "ldap" {
			continue
		}
		l := b.LDAP
		if l.MemberOfAttribute == "" && l.GroupSearch.BaseDN == "" {
			w.add(p, "reads no groups (neither member_of_attribute nor group_search is set)",
				"rules that match groups never match users of this backend; set member_of_attribute: memberOf or group_search")
		}
		if l.InsecureSkipVerify {
			w.add(p+".insecure_skip_verify", "the LDAP server certificate is not checked",
				"set ca_file to the CA that signed it instead")
		}
		if u, err := url.Parse(l.URL); err == nil && u.Scheme == "ldap" && !l.StartTLS && !isLoopbackHost(u.Hostname()) {
			w.add(p+".url", "passwords are sent to the LDAP server unencrypted",
				"use ldaps://host:636, or start_tls: true")
		}
	}

	if len(c.Rules) == 0 {
		w.add("rules", "there are no rules: every login is denied", "add rules; see config.example.yaml")
	}
	owner := false
	catchAll := -1
	urlTenant := c.Jitsi.PathTenant()
	for i, r := range c.Rules {
		p := index("rules", i)
		if r.Role == "owner" {
			owner = true
		}
		if catchAll >= 0 {
			w.add(p, fmt.Sprintf("is never reached: rules[%d] (%s) above it matches every user in every room", catchAll, c.Rules[catchAll].Name),
				"rules are tried top to bottom and the first match decides; move this rule up")
		} else if r.matchesEveryone() {
			catchAll = i
		}
		for k, t := range r.Match.Tenants {
			switch {
			case urlTenant != "" && t != urlTenant:
				w.add(index(p+".match.tenants", k), fmt.Sprintf("%q never matches: jitsi.url fixes the tenant to %q", t, urlTenant), "")
			case len(c.Jitsi.Tenants) > 0 && !slices.Contains(c.Jitsi.Tenants, t):
				w.add(index(p+".match.tenants", k), fmt.Sprintf("%q never matches: it is not in jitsi.tenants", t), "")
			}
		}
		if len(r.Features) > 0 && r.Role != "deny" {
			var missing []string
			for _, f := range serverSideFeatures {
				if _, ok := r.Features[f]; !ok {
					missing = append(missing, f)
				}
			}
			if len(missing) > 0 {
				w.add(p+".features", "Jitsi treats every feature a token does not list as off, for moderators too; not listed: "+strings.Join(missing, ", "),
					"list each feature with true or false, or remove features to keep Jitsi's moderator defaults")
			}
		}
	}
	if len(c.Rules) > 0 && !owner {
		w.add("rules", "no rule has role: owner, so nobody becomes a moderator",
			"give teachers or staff role: owner")
	}
	if len(c.Backends) > 1 {
		for i, b := range c.Backends {
			if b.Type == "oidc" {
				w.add(index("backends", i), "usernames are not unique across backends: a room organizer or rule user written without a backend (teacher1) is that name in every backend, and a provider may let people choose their preferred_username",
					"write BACKEND:username (e.g. ldap:teacher1) in rooms' organizers and participants and in match.users")
				break
			}
		}
	}
	return w.problems
}

// matchesEveryone reports whether a rule matches every identity in every
// room, so that no rule after it is ever tried.
func (r Rule) matchesEveryone() bool {
	m := r.Match
	return len(m.Groups) == 0 && len(m.Backends) == 0 && len(m.Users) == 0 && len(m.Tenants) == 0 && len(m.RoomRole) == 0 &&
		slices.Contains(r.Rooms, "*")
}
