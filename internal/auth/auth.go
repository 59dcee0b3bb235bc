// Package auth is the vocabulary shared by the identity backends and the web
// layer: who a user is (Identity), the two ways a backend can log someone in
// (with a password, or by redirecting to an identity provider), and the
// errors that decide which status code and page a user sees.
//
// Concrete backends live in sub-packages (static, ldap, oidc) and are only
// constructed by cmd/jitsi-gate; everything else talks to these interfaces.
package auth

import (
	"context"
	"errors"
)

// Identity is a logged-in user as a backend reports it. It carries no
// credentials or upstream tokens.
type Identity struct {
	// Backend is the id of the backend that authenticated the user.
	Backend string
	// Subject is a stable, backend-unique user id (LDAP id attribute,
	// OIDC "sub", static username).
	Subject string
	// Username is what the user typed or the provider's preferred username.
	Username string
	// Name is the display name shown in Jitsi.
	Name string
	// Email may be empty.
	Email string
	// Groups are the group names the rules match on. Backends normalise
	// them (LDAP: the configured name attribute; OIDC: claim values, with
	// Keycloak paths expanded).
	Groups []string
}

// DisplayName is how the user is shown (pages, context.user.name): the
// name, or the username when the backend has none.
func (id Identity) DisplayName() string {
	if id.Name != "" {
		return id.Name
	}
	return id.Username
}

// Backend is what every identity backend has.
type Backend interface {
	// ID is the backend's id from the config; it appears in URLs
	// (/login/{id}) and in the audit log.
	ID() string
	// Label is the button or form title shown on the login page.
	Label() string
}

// PasswordAuthenticator checks a username and password (static users, LDAP).
//
// Login returns ErrInvalidCredentials for an unknown user, a wrong password
// and an empty password alike, so the page cannot be used to probe which
// accounts exist. ErrUnavailable means the directory could not be asked
// (down, slow, TLS problem); other errors are configuration or programming
// errors.
type PasswordAuthenticator interface {
	Backend
	Login(ctx context.Context, username, password string) (Identity, error)
}

// Refresher reads a signed-in user's identity again from the backend,
// without a password: the groups they are in now, and whether the account
// still exists and may sign in. ErrInvalidCredentials means the account is
// gone or disabled; ErrUnavailable that the backend cannot be asked now.
// Password backends implement it; a provider login is refreshed by a new
// login.
type Refresher interface {
	Refresh(ctx context.Context, id Identity) (Identity, error)
}

// RedirectAuthenticator logs users in at an external identity provider
// (OIDC authorization code flow with PKCE).
type RedirectAuthenticator interface {
	Backend
	// AuthCodeURL returns the provider URL to send the browser to. The
	// caller generates state, nonce and the PKCE verifier and keeps them in
	// a flow cookie.
	AuthCodeURL(ctx context.Context, state, nonce, verifier string) (string, error)
	// Exchange trades the code for tokens, verifies the ID token (signature,
	// issuer, audience, expiry, nonce) and maps its claims to an Identity.
	// LogoutHint is the raw ID token for RP-initiated logout; it may be empty.
	Exchange(ctx context.Context, code, verifier, nonce string) (id Identity, logoutHint string, err error)
	// LogoutURL returns the provider's end-session URL for RP-initiated
	// logout, or "" when the provider has none.
	LogoutURL(ctx context.Context, idTokenHint, postLogoutRedirect string) (string, error)
	// Ready reports whether the provider is reachable (discovery done).
	ReadinessChecker
}

// ReadinessChecker is a backend that depends on a service which can be
// down (an OIDC provider, an LDAP directory); /readyz asks every such
// backend. Backends without one (static users) are always ready.
type ReadinessChecker interface {
	// Ready returns nil when logins can work right now. It must return
	// within ctx and must be cheap to call often: /readyz is public, so a
	// backend that contacts a service caches the answer.
	Ready(ctx context.Context) error
}

// Sentinel errors. Backends wrap them with detail for the log; the web layer
// maps them to status codes and user-facing messages with errors.Is.
var (
	// ErrInvalidCredentials: wrong username or password (401).
	ErrInvalidCredentials = errors.New("invalid credentials")
	// ErrUnavailable: the identity backend cannot be reached right now (503).
	ErrUnavailable = errors.New("identity backend unavailable")
	// ErrProvider: the identity provider refused or aborted the login, for
	// example the user cancelled (error=access_denied) (4xx).
	ErrProvider = errors.New("identity provider refused the login")
)

// ProviderError is an error reported by an OIDC provider in the callback
// (error, error_description). It wraps ErrProvider.
type ProviderError struct {
	Code        string
	Description string
}

func (e *ProviderError) Error() string {
	if e.Description == "" {
		return "identity provider error: " + e.Code
	}
	return "identity provider error: " + e.Code + ": " + e.Description
}

func (e *ProviderError) Unwrap() error { return ErrProvider }
