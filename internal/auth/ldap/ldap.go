package ldap

import (
	"context"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	goldap "github.com/go-ldap/ldap/v3"

	"github.com/jitsi-gate/jitsi-gate/internal/auth"
)

// Authenticator logs users in against one LDAP directory. It holds only
// immutable configuration; every call opens its own connection, so it is
// safe for concurrent use.
type Authenticator struct {
	s   *settings
	log *slog.Logger
	// userAttrs are the attributes a login reads from the user entry.
	userAttrs []string
	// refreshFilter finds a signed-in user again by username (Refresh).
	refreshFilter string
	// ready caches the last readiness probe (see Ready).
	ready readiness
}

// errNoUsername marks a user entry without the username attribute: the
// login cannot be attributed to a name rules can match, so it is refused.
var errNoUsername = errors.New("user entry has no username attribute")

var _ auth.PasswordAuthenticator = (*Authenticator)(nil)

// errAmbiguousUser marks a user search that matched more than one entry: a
// configuration error (the filter or base DN is too wide), never a reason
// to pick one of the entries.
var errAmbiguousUser = errors.New("user search matched more than one entry")

// New validates cfg and builds the TLS configuration. It does not contact
// the directory; Check does. A nil logger discards log output.
func New(cfg Config, logger *slog.Logger) (*Authenticator, error) {
	s, err := validate(cfg)
	if err != nil {
		return nil, err
	}
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	a := &Authenticator{s: s, log: logger.With("backend", s.ID)}
	us := s.UserSearch
	a.userAttrs = uniqueNonEmpty(us.IDAttribute, us.UsernameAttribute, us.NameAttribute, "cn", us.EmailAttribute, s.MemberOfAttribute)
	// Refresh knows the username as the directory stores it in
	// username_attribute, which need not be what the filter compares
	// (filter sAMAccountName, username userPrincipalName): it keeps the
	// filter's other conditions and matches on that attribute.
	a.refreshFilter = "(&" + strings.ReplaceAll(us.Filter, UsernamePlaceholder, "*") +
		"(" + us.UsernameAttribute + "=" + UsernamePlaceholder + "))"
	return a, nil
}

// serviceSession is a connection bound as the service account; the caller
// closes it.
func (a *Authenticator) serviceSession(ctx context.Context) (*session, error) {
	se, err := open(ctx, a.s)
	if err != nil {
		return nil, err
	}
	if err := se.bindService(); err != nil {
		se.close()
		return nil, err
	}
	return se, nil
}

// ID returns the backend id.
func (a *Authenticator) ID() string { return a.s.ID }

// Label returns the title of the login form.
func (a *Authenticator) Label() string { return a.s.Label }

// Login checks username and password against the directory and returns the
// user's identity with groups. See the package documentation for the steps
// and the errors.
func (a *Authenticator) Login(ctx context.Context, username, password string) (auth.Identity, error) {
	username = strings.TrimSpace(username)
	if username == "" || password == "" {
		// Before any bind: a simple bind with an empty password is an
		// "unauthenticated bind" that many servers accept as success.
		return auth.Identity{}, fmt.Errorf("ldap: empty username or password: %w", auth.ErrInvalidCredentials)
	}
	if len(username) > maxUsernameLen || !utf8.ValidString(username) {
		return auth.Identity{}, fmt.Errorf("ldap: username too long or not UTF-8: %w", auth.ErrInvalidCredentials)
	}

	id, err := a.login(ctx, username, password)
	switch {
	case err == nil:
		a.log.DebugContext(ctx, "ldap login", "typed", username, "username", id.Username, "subject", id.Subject, "groups", id.Groups)
	case errors.Is(err, auth.ErrInvalidCredentials):
		// Logged where the reason is known (unknown user / wrong password).
	case errors.Is(err, auth.ErrUnavailable):
		a.log.WarnContext(ctx, "ldap directory unavailable", "username", username, "err", err)
	default:
		a.log.ErrorContext(ctx, "ldap login failed", "username", username, "err", err)
	}
	return id, err
}

func (a *Authenticator) login(ctx context.Context, username, password string) (auth.Identity, error) {
	se, err := a.serviceSession(ctx)
	if err != nil {
		return auth.Identity{}, err
	}
	defer se.close()
	entry, err := a.findUser(ctx, se, username, a.userAttrs)
	if err != nil {
		return auth.Identity{}, err
	}
	// The password goes to the server as typed: it is not part of any
	// filter, so escaping it would only break logins.
	if err := se.bind(entry.DN, password); err != nil {
		if goldap.IsErrorAnyOf(err, goldap.LDAPResultInvalidCredentials, goldap.LDAPResultConstraintViolation) {
			// Active Directory explains locked or expired accounts in the
			// diagnostic message ("data 775"); OpenLDAP says nothing.
			a.log.InfoContext(ctx, "ldap wrong password", "username", username, "dn", entry.DN,
				"server_message", diagnostic(err))
			return auth.Identity{}, fmt.Errorf("ldap: bind as %q: %w", entry.DN, auth.ErrInvalidCredentials)
		}
		return auth.Identity{}, se.fail("bind as user on", err)
	}
	groups, err := a.groups(se, entry, true)
	if err != nil {
		return auth.Identity{}, err
	}
	return a.identity(entry, groups)
}

// findUser runs the user search and insists on exactly one entry.
func (a *Authenticator) findUser(ctx context.Context, se *session, username string, attrs []string) (*goldap.Entry, error) {
	return a.findUserWith(ctx, se, a.s.UserSearch.Filter, username, attrs)
}

// findUserWith is findUser with another filter template.
func (a *Authenticator) findUserWith(ctx context.Context, se *session, tmpl, username string, attrs []string) (*goldap.Entry, error) {
	us := a.s.UserSearch
	filter := buildFilter(tmpl, UsernamePlaceholder, username)
	req := goldap.NewSearchRequest(us.BaseDN, goldap.ScopeWholeSubtree, goldap.NeverDerefAliases,
		2, se.timeLimit(), false, filter, attrs, nil)
	res, err := se.search(req)
	if err != nil && !goldap.IsErrorWithCode(err, goldap.LDAPResultSizeLimitExceeded) {
		return nil, se.fail("search user on", err)
	}
	switch {
	case err == nil && len(res.Entries) == 0:
		a.log.InfoContext(ctx, "ldap unknown user", "username", username)
		return nil, fmt.Errorf("ldap: no entry for user %q: %w", username, auth.ErrInvalidCredentials)
	case err == nil && len(res.Entries) == 1:
		return res.Entries[0], nil
	}
	dns := make([]string, 0, len(res.Entries))
	for _, e := range res.Entries {
		dns = append(dns, e.DN)
	}
	a.log.ErrorContext(ctx, "ldap user search matched several entries; refusing the login, make user_search.filter or base_dn more specific",
		"username", username, "filter", filter, "dns", dns)
	return nil, fmt.Errorf("ldap: search user %q with %s under %q: %w (%s)",
		username, filter, us.BaseDN, errAmbiguousUser, strings.Join(dns, "; "))
}

// identity maps the user entry to an auth.Identity. Every field comes from
// the entry: the typed username is only a search key, and the directory
// matches many spellings of it to one entry.
func (a *Authenticator) identity(e *goldap.Entry, groups []GroupFound) (auth.Identity, error) {
	us := a.s.UserSearch
	raw := e.GetRawAttributeValue(us.UsernameAttribute)
	if len(raw) == 0 {
		return auth.Identity{}, fmt.Errorf("ldap: entry %q has no %s (user_search.username_attribute): %w",
			e.DN, us.UsernameAttribute, errNoUsername)
	}
	username := attributeText(us.UsernameAttribute, raw)
	id := auth.Identity{
		Backend:  a.s.ID,
		Subject:  e.DN,
		Username: username,
		Name:     username,
		Groups:   groupNames(groups),
	}
	if us.IDAttribute != "" {
		if v := e.GetRawAttributeValue(us.IDAttribute); len(v) > 0 {
			id.Subject = attributeText(us.IDAttribute, v)
		}
	}
	for _, attr := range []string{us.NameAttribute, "cn"} {
		if v := e.GetAttributeValue(attr); attr != "" && v != "" {
			id.Name = v
			break
		}
	}
	if us.EmailAttribute != "" {
		id.Email = e.GetAttributeValue(us.EmailAttribute)
	}
	return id, nil
}

// Explanation is what Explain found out about a user, for admins who set up
// group rules ("jitsi-gate explain").
type Explanation struct {
	// DN of the user entry.
	DN string
	// Attributes of the user entry as the service account sees them:
	// ExplainAttributes plus the configured ones (e.g. memberOf), never
	// password material (IsSecretAttribute). Binary values are shown as
	// hex.
	Attributes map[string][]string
	// Identity is what a login would return.
	Identity auth.Identity
	// Groups lists every group found, in discovery order.
	Groups []GroupFound
}

// GroupFound is one group of a user and how it was found.
type GroupFound struct {
	// Name is what rules match on.
	Name string
	// DN of the group entry.
	DN string
	// Via is "direct" (group search on the user's DN), "memberOf" (the
	// user's MemberOfAttribute) or "nested via <DN>" (the group has <DN>,
	// one of the user's groups, as member).
	Via string
}

// Explain looks the user up with the service account, without the user's
// password, and reports the entry, the groups (and how each was found) and
// the identity a login would produce. An unknown user is
// auth.ErrInvalidCredentials.
func (a *Authenticator) Explain(ctx context.Context, username string) (*Explanation, error) {
	username = strings.TrimSpace(username)
	if username == "" {
		return nil, fmt.Errorf("ldap: empty username: %w", auth.ErrInvalidCredentials)
	}
	se, err := a.serviceSession(ctx)
	if err != nil {
		return nil, err
	}
	defer se.close()
	// Never "*": with a privileged service account that returns password
	// hashes (userPassword, unicodePwd, ...), and explain prints them.
	entry, err := a.findUser(ctx, se, username, uniqueNonEmpty(append(slices.Clone(a.userAttrs), ExplainAttributes...)...))
	if err != nil {
		return nil, err
	}
	groups, err := a.groups(se, entry, false)
	if err != nil {
		return nil, err
	}
	id, err := a.identity(entry, groups)
	if err != nil {
		return nil, err
	}
	attrs := make(map[string][]string, len(entry.Attributes))
	for _, at := range entry.Attributes {
		// The server may send what was not asked for (some ignore the
		// attribute list); filter again.
		if IsSecretAttribute(at.Name) {
			continue
		}
		vals := make([]string, len(at.ByteValues))
		for i, v := range at.ByteValues {
			vals[i] = attributeText(at.Name, v)
		}
		attrs[at.Name] = vals
	}
	return &Explanation{
		DN:         entry.DN,
		Attributes: attrs,
		Identity:   id,
		Groups:     groups,
	}, nil
}

// Refresh looks the signed-in user up again with the service account (the
// login's own search, so an account the user filter no longer matches —
// disabled, moved, deleted — is gone) and re-reads the groups. The entry
// must still be the one the login found (its id attribute).
func (a *Authenticator) Refresh(ctx context.Context, id auth.Identity) (auth.Identity, error) {
	se, err := a.serviceSession(ctx)
	if err != nil {
		return auth.Identity{}, err
	}
	defer se.close()
	entry, err := a.findUserWith(ctx, se, a.refreshFilter, id.Username, a.userAttrs)
	if err != nil {
		return auth.Identity{}, err
	}
	groups, err := a.groups(se, entry, false)
	if err != nil {
		return auth.Identity{}, err
	}
	fresh, err := a.identity(entry, groups)
	if err != nil {
		return auth.Identity{}, err
	}
	if fresh.Subject != id.Subject {
		return auth.Identity{}, fmt.Errorf("ldap: %q is now another entry (%s, was %s): %w",
			id.Username, fresh.Subject, id.Subject, auth.ErrInvalidCredentials)
	}
	return fresh, nil
}

// ExplainAttributes are the user attributes Explain reads besides the
// configured ones: what helps an admin see who the entry is and where it
// sits, in OpenLDAP and Active Directory spelling.
var ExplainAttributes = []string{
	"objectClass", "uid", "cn", "sn", "givenName", "displayName", "mail",
	"sAMAccountName", "userPrincipalName", "memberOf", "ou", "title",
	"employeeType", "departmentNumber", "entryUUID", "objectGUID",
}

// secretAttributes hold password material in OpenLDAP, Samba, Kerberos and
// Active Directory schemas (lower case). Names containing "password" or
// "pwd" are treated as secret too (see IsSecretAttribute).
var secretAttributes = map[string]bool{
	"userpassword": true, "authpassword": true, "unicodepwd": true, "dbcspwd": true,
	"ntpwdhistory": true, "lmpwdhistory": true, "supplementalcredentials": true,
	"sambantpassword": true, "sambalmpassword": true, "sambapasswordhistory": true,
	"krbprincipalkey": true, "krb5key": true, "userpkcs12": true,
	"msds-keycredentiallink": true, "msds-managedpassword": true,
	"ms-mcs-admpwd": true, "mslaps-password": true, "mslaps-encryptedpassword": true,
}

// IsSecretAttribute reports whether an LDAP attribute (any case, with or
// without options such as ";binary") may hold a password or key: such
// attributes are never requested or printed.
func IsSecretAttribute(name string) bool {
	n := strings.ToLower(strings.TrimSpace(name))
	n, _, _ = strings.Cut(n, ";")
	return secretAttributes[n] || strings.Contains(n, "password") || strings.Contains(n, "pwd")
}

// Check connects, binds as the service account and makes sure the base DNs
// exist ("check-config -online").
func (a *Authenticator) Check(ctx context.Context) error {
	se, err := a.serviceSession(ctx)
	if err != nil {
		return err
	}
	defer se.close()
	bases := []struct{ key, dn string }{
		{"user_search.base_dn", a.s.UserSearch.BaseDN},
		{"group_search.base_dn", a.s.GroupSearch.BaseDN},
	}
	for _, b := range bases {
		if b.dn == "" {
			continue
		}
		req := goldap.NewSearchRequest(b.dn, goldap.ScopeBaseObject, goldap.NeverDerefAliases,
			1, se.timeLimit(), false, "(objectClass=*)", []string{"1.1"}, nil)
		if _, err := se.search(req); err != nil {
			if goldap.IsErrorWithCode(err, goldap.LDAPResultNoSuchObject) {
				return fmt.Errorf("ldap: %s %q does not exist on %s", b.key, b.dn, a.s.addr)
			}
			return se.fail("read "+b.key+" on", err)
		}
	}
	return nil
}

// ReadyCacheTTL is how long a readiness result is reused: /readyz is
// public, so it must not turn into a way to make the gateway hammer the
// directory with connections and binds.
const ReadyCacheTTL = 5 * time.Second

// readyTimeout bounds one readiness probe (connect, TLS, service bind).
const readyTimeout = 3 * time.Second

// readiness is the cached result of the last probe and the probe in
// flight, if any.
type readiness struct {
	mu       sync.Mutex
	at       time.Time // when err was found; zero: never probed
	err      error
	inflight chan struct{} // closed when the running probe is done
}

// Ready reports whether the directory can be used: it connects and binds
// as the service account (an anonymous bind for anonymous backends) (at most readyTimeout, or the backend's timeout
// when that is shorter). The result is cached for ReadyCacheTTL, and
// concurrent callers share one probe, so at most one probe per TTL reaches
// the directory however often Ready is called. Errors wrap
// auth.ErrUnavailable when the directory cannot be reached.
func (a *Authenticator) Ready(ctx context.Context) error {
	r := &a.ready
	r.mu.Lock()
	if !r.at.IsZero() && time.Since(r.at) < ReadyCacheTTL {
		err := r.err
		r.mu.Unlock()
		return err
	}
	done := r.inflight
	if done == nil {
		done = make(chan struct{})
		r.inflight = done
		// Detached from ctx: an impatient caller must not turn a slow
		// but working directory into a cached failure.
		go a.probe(done)
	}
	r.mu.Unlock()
	select {
	case <-done:
		r.mu.Lock()
		defer r.mu.Unlock()
		return r.err
	case <-ctx.Done():
		return fmt.Errorf("ldap %s: readiness probe still running: %w (%w)", a.s.ID, auth.ErrUnavailable, context.Cause(ctx))
	}
}

func (a *Authenticator) probe(done chan struct{}) {
	ctx, cancel := context.WithTimeout(context.Background(), min(readyTimeout, a.s.Timeout))
	defer cancel()
	err := func() error {
		se, err := open(ctx, a.s)
		if err != nil {
			return err
		}
		defer se.close()
		// rebindService sends an anonymous bind for anonymous backends:
		// an accepted TCP connection alone does not show that the
		// directory answers.
		return se.rebindService()
	}()
	r := &a.ready
	r.mu.Lock()
	r.at, r.err, r.inflight = time.Now(), err, nil
	r.mu.Unlock()
	close(done)
}

// diagnostic is the server's diagnostic message of an LDAP error.
func diagnostic(err error) string {
	var le *goldap.Error
	if errors.As(err, &le) && le.Err != nil {
		return le.Err.Error()
	}
	return ""
}

// binaryAttributes are always binary. Their random bytes are sometimes
// valid UTF-8 by chance, so they are hex-encoded by name, not by content:
// otherwise a user's id would change shape from one user to the next.
var binaryAttributes = map[string]bool{"objectguid": true, "objectsid": true, "msexchmailboxguid": true}

// attributeText returns an attribute value as text: hex for known binary
// attributes and for values that are not UTF-8, the value itself otherwise.
func attributeText(name string, v []byte) string {
	if binaryAttributes[strings.ToLower(name)] || !utf8.Valid(v) {
		return hex.EncodeToString(v)
	}
	return string(v)
}

func uniqueNonEmpty(vals ...string) []string {
	out := make([]string, 0, len(vals))
	for _, v := range vals {
		dup := v == ""
		for _, o := range out {
			dup = dup || strings.EqualFold(o, v)
		}
		if !dup {
			out = append(out, v)
		}
	}
	return out
}
