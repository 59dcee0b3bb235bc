// Package ldap is the password backend for OpenLDAP, Active Directory and
// other LDAP directories (go-ldap/ldap/v3). It turns a username and password
// into an auth.Identity whose Groups the rules match on.
//
// # OpenLDAP (inetOrgPerson users, groupOfNames groups)
//
//	backends:
//	  - id: school
//	    type: ldap
//	    label: School account
//	    url: ldaps://ldap.school.example      # or ldap://... with start_tls: true
//	    ca_file: /etc/jitsi-gate/school-ca.pem
//	    bind_dn: cn=gateway,ou=service,dc=school,dc=example
//	    bind_password_file: /run/secrets/ldap-bind
//	    timeout: 5s
//	    user_search:
//	      base_dn: ou=people,dc=school,dc=example
//	      filter: "(&(objectClass=inetOrgPerson)(uid={username}))"
//	      id_attribute: uid                   # Identity.Subject (DN when empty)
//	      username_attribute: uid             # Identity.Username; default: the attribute the filter compares with {username}
//	      name_attribute: displayName         # falls back to cn, then the username
//	      email_attribute: mail
//	    group_search:
//	      base_dn: ou=groups,dc=school,dc=example
//	      filter: "(&(objectClass=groupOfNames)(member={dn}))"
//	      name_attribute: cn
//	      nested: true                        # staff ∋ teachers: teachers are staff too
//
// With the memberof overlay, member_of_attribute: memberOf reads the user's
// direct groups from the user entry instead of (or in addition to) the group
// search. The overlay records direct membership only; nested groups need
// group_search with nested: true.
//
// # Active Directory
//
//	backends:
//	  - id: ad
//	    type: ldap
//	    label: School account (Windows)
//	    url: ldaps://dc1.school.example       # port 3268/3269 = global catalog
//	    bind_dn: CN=jitsi-gate,OU=Service,DC=school,DC=example
//	    bind_password_file: /run/secrets/ad-bind
//	    user_search:
//	      base_dn: DC=school,DC=example
//	      # pre-Windows-2000 name; use (userPrincipalName={username}) for
//	      # name@school.example logins, or both inside (|...)
//	      filter: "(&(objectCategory=person)(objectClass=user)(sAMAccountName={username}))"
//	      id_attribute: objectGUID            # binary; Subject is its hex form
//	      name_attribute: displayName
//	      email_attribute: mail
//	    # direct groups from the user entry:
//	    member_of_attribute: memberOf
//	    # and/or nested groups in one query: LDAP_MATCHING_RULE_IN_CHAIN
//	    # (1.2.840.113556.1.4.1941) makes AD itself walk the nesting, so
//	    # nested: false here; every group is then reported as "direct".
//	    group_search:
//	      base_dn: OU=Groups,DC=school,DC=example
//	      filter: "(&(objectClass=group)(member:1.2.840.113556.1.4.1941:={dn}))"
//	      name_attribute: cn
//
// The matching rule is an ordinary extensible-match filter to this package;
// only AD evaluates it (OpenLDAP answers such a filter with no entries).
//
// # Filters and escaping
//
// {username} in user_search.filter and {dn} in group_search.filter are
// replaced, every occurrence, by the value escaped with ldap.EscapeFilter
// (RFC 4515) exactly once, where the filter is built. So `*`, `(`, `)`, `\`
// and NUL in a username match themselves and cannot widen the search.
// Passwords and the configured bind DN are sent as they are: they are never
// part of a filter. Filters are compiled at startup (New) so a typo fails
// there.
//
// # One login
//
// Every Login uses one connection for its whole life, bounded by
// min(ctx deadline, now+timeout):
//  1. empty username or password → auth.ErrInvalidCredentials without
//     contacting the server (an empty password would be an unauthenticated
//     bind, which servers treat as success);
//  2. dial; TLS for ldaps://, StartTLS when start_tls is set;
//  3. bind as the service account (anonymous when bind_dn and bind_password
//     are both empty);
//  4. user search, size limit 2: no entry → auth.ErrInvalidCredentials
//     (logged as "unknown user"); two or more → a configuration error
//     logged with the DNs, the login is refused;
//  5. bind as the user's DN with the password; invalid credentials →
//     auth.ErrInvalidCredentials (logged as "wrong password" with the
//     server's message, which on AD tells locked/expired accounts apart);
//  6. rebind as the service account and collect groups: memberOf values
//     (the group name is the first RDN value of each DN, no extra lookup),
//     the group search, and with nested: true the groups containing the
//     groups found so far, level by level with a visited set (cycles end,
//     depth cap 16). Group names are deduplicated case-insensitively.
//
// The identity comes from the entry alone: Username is the value of
// user_search.username_attribute (by default the attribute the filter
// compares with {username}), never the typed text. Directories match
// "ſtudent2", "ｓｔｕｄｅｎｔ２" and "ﬅudent2" to uid=student2 (their
// matching rules ignore case and compatibility forms), so a rule for
// student2 must see "student2" whichever form was typed. An entry without
// the attribute is refused as a configuration error.
//
// # Password attributes
//
// Nothing here ever asks for password material: logins read the configured
// attributes, Explain reads those plus ExplainAttributes (never "*"), and
// drops anything IsSecretAttribute reports (userPassword, unicodePwd,
// sambaNTPassword, ...) in case a server sends it anyway. Configuring such
// an attribute as id, username, name or e-mail is refused.
//
// # Readiness
//
// Ready (used by /readyz) connects and binds as the service account, at
// most every ReadyCacheTTL whatever the number of callers.
//
// # Errors
//
// auth.ErrInvalidCredentials: unknown user, wrong password, empty input.
// auth.ErrUnavailable (503): connection refused, timeout ("timeout after
// 5s"), ctx cancelled, the server closing the connection, Busy /
// Unavailable / UnwillingToPerform answers, and TLS problems, whose message
// starts "ldap: TLS handshake with host:port failed:" and names the
// certificate problem. Everything else (wrong service account password,
// base DN that does not exist, filter rejected by the server, ambiguous
// user) is a plain error: a configuration problem (500).
//
// An Authenticator holds no connection and no mutable state; it is safe for
// concurrent use.
package ldap
