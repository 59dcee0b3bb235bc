package ldap

import (
	"context"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"strings"
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
}

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
	a.userAttrs = uniqueNonEmpty(us.IDAttribute, us.NameAttribute, "cn", us.EmailAttribute, s.MemberOfAttribute)
	return a, nil
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
		a.log.DebugContext(ctx, "ldap login", "username", username, "subject", id.Subject, "groups", id.Groups)
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
	se, err := open(ctx, a.s)
	if err != nil {
		return auth.Identity{}, err
	}
	defer se.close()

	if err := se.bindService(); err != nil {
		return auth.Identity{}, err
	}
	entry, err := a.findUser(ctx, se, username, a.userAttrs)
	if err != nil {
		return auth.Identity{}, err
	}
	// The password goes to the server as typed: it is not part of any
	// filter, so escaping it would only break logins.
	if err := se.conn.Bind(entry.DN, password); err != nil {
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
	return a.identity(username, entry, groups), nil
}

// findUser runs the user search and insists on exactly one entry.
func (a *Authenticator) findUser(ctx context.Context, se *session, username string, attrs []string) (*goldap.Entry, error) {
	us := a.s.UserSearch
	filter := buildFilter(us.Filter, UsernamePlaceholder, username)
	req := goldap.NewSearchRequest(us.BaseDN, goldap.ScopeWholeSubtree, goldap.NeverDerefAliases,
		2, se.timeLimit(), false, filter, attrs, nil)
	res, err := se.conn.Search(req)
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

// identity maps the user entry to an auth.Identity.
func (a *Authenticator) identity(username string, e *goldap.Entry, groups []GroupFound) auth.Identity {
	us := a.s.UserSearch
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
	return id
}

// Explanation is what Explain found out about a user, for admins who set up
// group rules ("jitsi-gate explain").
type Explanation struct {
	// DN of the user entry.
	DN string
	// Attributes of the user entry as the service account sees them
	// (all user attributes plus the configured ones, e.g. memberOf).
	// Binary values are shown as hex.
	Attributes map[string][]string
	// Identity is what a login would return (Username as given).
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
	se, err := open(ctx, a.s)
	if err != nil {
		return nil, err
	}
	defer se.close()
	if err := se.bindService(); err != nil {
		return nil, err
	}
	entry, err := a.findUser(ctx, se, username, append([]string{"*"}, a.userAttrs...))
	if err != nil {
		return nil, err
	}
	groups, err := a.groups(se, entry, false)
	if err != nil {
		return nil, err
	}
	attrs := make(map[string][]string, len(entry.Attributes))
	for _, at := range entry.Attributes {
		vals := make([]string, len(at.ByteValues))
		for i, v := range at.ByteValues {
			vals[i] = attributeText(at.Name, v)
		}
		attrs[at.Name] = vals
	}
	return &Explanation{
		DN:         entry.DN,
		Attributes: attrs,
		Identity:   a.identity(username, entry, groups),
		Groups:     groups,
	}, nil
}

// Check connects, binds as the service account and makes sure the base DNs
// exist ("check-config -online").
func (a *Authenticator) Check(ctx context.Context) error {
	se, err := open(ctx, a.s)
	if err != nil {
		return err
	}
	defer se.close()
	if err := se.bindService(); err != nil {
		return err
	}
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
		if _, err := se.conn.Search(req); err != nil {
			if goldap.IsErrorWithCode(err, goldap.LDAPResultNoSuchObject) {
				return fmt.Errorf("ldap: %s %q does not exist on %s", b.key, b.dn, a.s.addr)
			}
			return se.fail("read "+b.key+" on", err)
		}
	}
	return nil
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
