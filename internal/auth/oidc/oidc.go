// Package oidc logs users in at an OpenID Connect provider (Keycloak,
// Authentik, Entra ID, Dex, Nextcloud, ...) with the authorization code flow,
// PKCE S256 and a nonce. It implements auth.RedirectAuthenticator; the web
// layer owns the HTTP routes and the flow cookie and passes state, nonce and
// the PKCE verifier in.
//
// # Provider outages
//
// New does not contact the provider. Discovery happens on first use (Ready,
// AuthCodeURL, Exchange, LogoutURL, or the background warm-up started with
// Start), so the gateway starts and serves its pages while the provider is
// down. A failed discovery is remembered and retried with exponential
// backoff (Config.RetryInterval, doubling up to a minute); at most one
// discovery runs at a time and callers in between get the remembered error
// at once. Every such error wraps auth.ErrUnavailable. Once discovered, the
// provider's signing keys are cached by go-oidc and only fetched again when a
// token names an unknown key id.
//
// # Claims
//
// The Identity is built from the verified ID token, optionally merged with
// the userinfo response (Config.UserInfo; userinfo values win, and its sub
// must equal the ID token's sub):
//
//   - Subject: Config.IDClaim (default "sub"); required.
//   - Name: Config.NameClaim (default "name"), else preferred_username, else
//     email, else the subject.
//   - Email: Config.EmailClaim (default "email"), may be empty.
//   - Username: preferred_username, else email when email_verified is true
//     (the claim "email"; an unverified address can be anyone's), else the
//     subject.
//   - Groups: the union of every path in Config.GroupsClaims.
//
// A claim path is first looked up as a top-level claim name (so namespaced
// claims such as "https://example.org/groups" work), then as a path of
// object keys split on '.': "realm_access.roles",
// "resource_access.jitsi-gate.roles". A groups claim may be a list of
// strings, a single string, or a list of objects with a "name" field (the
// shape some providers and Dex connectors use); a missing or null claim
// means no groups, any other shape is an error that names the claim.
//
// Keycloak's group mapper with "Full group path" on sends paths such as
// "/school/teachers". Such a value is expanded to "/school/teachers",
// "school/teachers" and the last segment "teachers", so a rule may name the
// group either by its path or by its plain name. Two groups with the same
// name under different parents both yield that plain name; rules that must
// tell them apart should match on the path. Groups are de-duplicated,
// keeping first-seen order.
package oidc

import (
	"context"
	"crypto/subtle"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync"
	"time"

	gooidc "github.com/coreos/go-oidc/v3/oidc"
	"golang.org/x/oauth2"

	"github.com/jitsi-gate/jitsi-gate/internal/auth"
)

const (
	defaultRetryInterval = 2 * time.Second
	maxRetryInterval     = time.Minute
	// discoveryTimeout bounds one discovery attempt; it runs detached from
	// the request that triggered it, so a cancelled request does not cancel
	// it for everybody else.
	discoveryTimeout = 10 * time.Second
	// httpTimeout is the default client timeout for token, JWKS and
	// userinfo requests when Config.HTTPClient is nil.
	httpTimeout = 15 * time.Second
	// maxCauseLen bounds the cause in an unavailable error's message.
	maxCauseLen = 300
)

// reservedParams are authorization request parameters the flow sets itself;
// Config.AuthParams may not touch them (request and request_uri could
// replace all of them at once).
var reservedParams = []string{
	"response_type", "response_mode", "client_id", "redirect_uri", "scope",
	"state", "nonce", "code_challenge", "code_challenge_method",
	"request", "request_uri",
}

// Config configures one OIDC backend.
type Config struct {
	// ID is the backend id (URL segment, audit log); Label the button text.
	ID, Label string
	// Issuer is the provider's issuer URL exactly as it appears in the
	// discovery document and the tokens.
	Issuer string
	// ClientID and ClientSecret identify the gateway at the provider. An
	// empty secret means a public client that relies on PKCE alone.
	ClientID, ClientSecret string
	// Scopes default to openid, profile, email; openid is always added.
	Scopes []string
	// RedirectURL is <public_url>/callback/<id>, given by the caller.
	RedirectURL string
	// GroupsClaims are claim paths whose values are merged into Groups.
	GroupsClaims []string
	// UserInfo merges the userinfo endpoint's claims into the ID token's.
	UserInfo bool
	// NameClaim, EmailClaim, IDClaim default to name, email, sub.
	NameClaim, EmailClaim, IDClaim string
	// AuthParams are extra authorization request parameters (acr_values,
	// prompt, kc_idp_hint, ...). Parameters of the flow itself are refused.
	AuthParams map[string]string
	// HTTPClient is used for discovery, token, JWKS and userinfo requests.
	// Nil means a client with a 15s timeout.
	HTTPClient *http.Client
	// RetryInterval is the first delay after a failed discovery; it doubles
	// up to a minute. Default 2s.
	RetryInterval time.Duration
	// Observe, when set, is told how long each call to the provider took
	// (OpDiscovery, OpExchange, OpUserInfo), whatever its outcome: the
	// gateway's metrics, without this package knowing them. It must be
	// safe for concurrent use.
	Observe func(op string, d time.Duration)
}

// Operations reported to Config.Observe; the same words as the operation
// label of the gateway's metrics.
const (
	// OpDiscovery: fetching the discovery document.
	OpDiscovery = "oidc_discovery"
	// OpExchange: the token endpoint call and the ID token verification
	// (which may fetch the provider's keys).
	OpExchange = "oidc_exchange"
	// OpUserInfo: the userinfo endpoint call.
	OpUserInfo = "oidc_userinfo"
)

// observe reports the time since start of op to Config.Observe, if set.
func (a *Authenticator) observe(op string, start time.Time) {
	if a.cfg.Observe != nil {
		a.cfg.Observe(op, time.Since(start))
	}
}

// Authenticator is an OIDC backend. It is safe for concurrent use.
type Authenticator struct {
	cfg         Config
	scopes      []string
	logger      *slog.Logger
	client      *http.Client
	retryFirst  time.Duration
	retryMax    time.Duration
	nameClaim   string
	emailClaim  string
	idClaim     string
	groupsPaths []string

	mu       sync.Mutex
	disc     *discovered   // nil until discovery succeeded
	err      error         // last discovery error, wraps auth.ErrUnavailable
	next     time.Time     // no new attempt before this after a failure
	backoff  time.Duration // current retry delay
	inflight chan struct{} // closed when the running discovery ends
}

// discovered is what discovery yields; it never changes afterwards.
type discovered struct {
	provider   *gooidc.Provider
	verifier   *gooidc.IDTokenVerifier
	oauth2     oauth2.Config
	endSession string
}

var _ auth.RedirectAuthenticator = (*Authenticator)(nil)

// New checks cfg and returns an Authenticator. It does not contact the
// provider; see the package comment.
func New(cfg Config, logger *slog.Logger) (*Authenticator, error) {
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	var problems []error
	if cfg.ID == "" {
		problems = append(problems, errors.New("missing id"))
	}
	if err := checkURL(cfg.Issuer); err != nil {
		problems = append(problems, fmt.Errorf("issuer: %w", err))
	}
	if cfg.ClientID == "" {
		problems = append(problems, errors.New("missing client_id"))
	}
	if err := checkURL(cfg.RedirectURL); err != nil {
		problems = append(problems, fmt.Errorf("redirect URL: %w", err))
	}
	for k := range cfg.AuthParams {
		if slices.Contains(reservedParams, strings.ToLower(k)) {
			problems = append(problems, fmt.Errorf("auth param %q is set by the login flow and cannot be overridden", k))
		}
	}
	for _, p := range cfg.GroupsClaims {
		if p == "" || slices.Contains(strings.Split(p, "."), "") {
			problems = append(problems, fmt.Errorf("invalid groups claim path %q", p))
		}
	}
	if cfg.RetryInterval < 0 {
		problems = append(problems, errors.New("negative retry interval"))
	}
	if len(problems) > 0 {
		return nil, fmt.Errorf("oidc backend %q: %w", cfg.ID, errors.Join(problems...))
	}

	a := &Authenticator{
		cfg:         cfg,
		logger:      logger.With("backend", cfg.ID),
		client:      cfg.HTTPClient,
		retryFirst:  orDefault(cfg.RetryInterval, defaultRetryInterval),
		nameClaim:   orDefault(cfg.NameClaim, "name"),
		emailClaim:  orDefault(cfg.EmailClaim, "email"),
		idClaim:     orDefault(cfg.IDClaim, "sub"),
		groupsPaths: slices.Clone(cfg.GroupsClaims),
	}
	if a.client == nil {
		a.client = &http.Client{Timeout: httpTimeout}
	}
	a.retryMax = max(maxRetryInterval, a.retryFirst)
	a.scopes = slices.Clone(cfg.Scopes)
	if len(a.scopes) == 0 {
		a.scopes = []string{gooidc.ScopeOpenID, "profile", "email"}
	} else if !slices.Contains(a.scopes, gooidc.ScopeOpenID) {
		a.scopes = append([]string{gooidc.ScopeOpenID}, a.scopes...)
	}
	return a, nil
}

func checkURL(raw string) error {
	if raw == "" {
		return errors.New("missing")
	}
	u, err := url.Parse(raw)
	if err != nil {
		return err
	}
	if (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return fmt.Errorf("%q is not an absolute http(s) URL", raw)
	}
	return nil
}

func orDefault[T comparable](v, def T) T {
	var zero T
	if v == zero {
		return def
	}
	return v
}

// ID implements auth.Backend.
func (a *Authenticator) ID() string { return a.cfg.ID }

// Label implements auth.Backend.
func (a *Authenticator) Label() string { return a.cfg.Label }

// Start runs discovery in the background until it succeeds or ctx ends, so
// that the first login does not wait for it and /readyz turns green as soon
// as the provider is reachable. It returns at once.
func (a *Authenticator) Start(ctx context.Context) {
	go func() {
		for {
			if _, err := a.discover(ctx); err == nil || ctx.Err() != nil {
				return
			}
			a.mu.Lock()
			wait := time.Until(a.next)
			a.mu.Unlock()
			t := time.NewTimer(max(wait, time.Millisecond))
			select {
			case <-ctx.Done():
				t.Stop()
				return
			case <-t.C:
			}
		}
	}()
}

// Ready returns nil once discovery has succeeded. Otherwise it triggers an
// attempt (unless one ran within the backoff) and returns an error wrapping
// auth.ErrUnavailable that says why, e.g. "oidc: discovery of
// http://idp.example: ... connection refused". While an attempt is running
// it waits for it, at most until ctx ends, so /readyz should pass a short
// deadline.
func (a *Authenticator) Ready(ctx context.Context) error {
	_, err := a.discover(ctx)
	return err
}

// discover returns the discovered provider, running or joining a discovery
// attempt when allowed by the backoff.
func (a *Authenticator) discover(ctx context.Context) (*discovered, error) {
	a.mu.Lock()
	if a.disc != nil {
		d := a.disc
		a.mu.Unlock()
		return d, nil
	}
	ch := a.inflight
	if ch == nil {
		if a.err != nil && time.Now().Before(a.next) {
			err := a.err
			a.mu.Unlock()
			return nil, err
		}
		ch = make(chan struct{})
		a.inflight = ch
		go a.runDiscovery(ch)
	}
	a.mu.Unlock()

	select {
	case <-ch:
	case <-ctx.Done():
		return nil, unavailable(ctx.Err(), "waiting for discovery of %s", a.cfg.Issuer)
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.disc != nil {
		return a.disc, nil
	}
	return nil, a.err
}

func (a *Authenticator) runDiscovery(done chan struct{}) {
	ctx, cancel := context.WithTimeout(gooidc.ClientContext(context.Background(), a.client), discoveryTimeout)
	defer cancel()
	start := time.Now()
	d, err := a.doDiscover(ctx)
	a.observe(OpDiscovery, start)

	a.mu.Lock()
	defer a.mu.Unlock()
	defer close(done)
	a.inflight = nil
	if err != nil {
		if a.backoff == 0 {
			a.backoff = a.retryFirst
		} else {
			a.backoff = min(2*a.backoff, a.retryMax)
		}
		a.next = time.Now().Add(a.backoff)
		a.err = unavailable(err, "discovery of %s", a.cfg.Issuer)
		a.logger.Warn("oidc provider discovery failed", "issuer", a.cfg.Issuer, "err", err, "retry_in", a.backoff)
		return
	}
	a.disc, a.err, a.backoff = d, nil, 0
	a.logger.Info("oidc provider discovered", "issuer", a.cfg.Issuer, "end_session", d.endSession != "")
}

func (a *Authenticator) doDiscover(ctx context.Context) (*discovered, error) {
	p, err := gooidc.NewProvider(ctx, a.cfg.Issuer)
	if err != nil {
		return nil, err
	}
	var meta struct {
		EndSession  string   `json:"end_session_endpoint"`
		AuthMethods []string `json:"token_endpoint_auth_methods_supported"`
	}
	if err := p.Claims(&meta); err != nil {
		return nil, fmt.Errorf("decode discovery document: %w", err)
	}
	ep := p.Endpoint()
	switch {
	case a.cfg.ClientSecret == "":
		// Public client: client_id in the body, no secret.
		ep.AuthStyle = oauth2.AuthStyleInParams
	case len(meta.AuthMethods) == 0 || slices.Contains(meta.AuthMethods, "client_secret_basic"):
		// client_secret_basic is the spec default. Being explicit avoids
		// x/oauth2's auto-detection, which repeats a failed request.
		ep.AuthStyle = oauth2.AuthStyleInHeader
	case slices.Contains(meta.AuthMethods, "client_secret_post"):
		ep.AuthStyle = oauth2.AuthStyleInParams
	}
	return &discovered{
		provider: p,
		// Provider.Verifier uses one RemoteKeySet (keys cached) and the
		// HTTP client from the discovery context.
		verifier: p.Verifier(&gooidc.Config{ClientID: a.cfg.ClientID}),
		oauth2: oauth2.Config{
			ClientID:     a.cfg.ClientID,
			ClientSecret: a.cfg.ClientSecret,
			Endpoint:     ep,
			RedirectURL:  a.cfg.RedirectURL,
			Scopes:       a.scopes,
		},
		endSession: meta.EndSession,
	}, nil
}

// AuthCodeURL returns the provider's authorization URL for one login.
func (a *Authenticator) AuthCodeURL(ctx context.Context, state, nonce, verifier string) (string, error) {
	if state == "" || nonce == "" || verifier == "" {
		return "", errors.New("oidc: auth code URL: state, nonce and verifier are required")
	}
	d, err := a.discover(ctx)
	if err != nil {
		return "", err
	}
	opts := make([]oauth2.AuthCodeOption, 0, len(a.cfg.AuthParams)+2)
	// Extra params first: New refused reserved names, and the flow's own
	// options come last so they would win anyway.
	for _, k := range sortedKeys(a.cfg.AuthParams) {
		opts = append(opts, oauth2.SetAuthURLParam(k, a.cfg.AuthParams[k]))
	}
	opts = append(opts, oauth2.S256ChallengeOption(verifier), gooidc.Nonce(nonce))
	return d.oauth2.AuthCodeURL(state, opts...), nil
}

func sortedKeys(m map[string]string) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

// Exchange redeems the code, verifies the ID token and maps its claims to an
// Identity. logoutHint is the raw ID token, for LogoutURL.
//
// Errors: auth.ErrUnavailable when the provider cannot be reached (or
// answers 5xx); *auth.ProviderError (wrapping auth.ErrProvider) when the
// token endpoint refuses the code (invalid_grant for a replayed or expired
// code); any other error means the response could not be trusted.
func (a *Authenticator) Exchange(ctx context.Context, code, verifier, nonce string) (auth.Identity, string, error) {
	if code == "" || verifier == "" || nonce == "" {
		return auth.Identity{}, "", errors.New("oidc: exchange: code, verifier and nonce are required")
	}
	d, err := a.discover(ctx)
	if err != nil {
		return auth.Identity{}, "", err
	}
	ctx = gooidc.ClientContext(ctx, a.client)

	tok, rawID, idt, err := a.exchange(ctx, d, code, verifier)
	if err != nil {
		return auth.Identity{}, "", err
	}
	if subtle.ConstantTimeCompare([]byte(idt.Nonce), []byte(nonce)) != 1 {
		return auth.Identity{}, "", errors.New("oidc: id token nonce does not match the login")
	}
	if idt.AccessTokenHash != "" {
		if err := idt.VerifyAccessToken(tok.AccessToken); err != nil {
			return auth.Identity{}, "", fmt.Errorf("oidc: verify access token hash: %w", err)
		}
	}
	claims, err := decodeClaims(idt.Claims)
	if err != nil {
		return auth.Identity{}, "", fmt.Errorf("oidc: id token claims: %w", err)
	}
	if a.cfg.UserInfo {
		if err := a.mergeUserInfo(ctx, d, tok, idt.Subject, claims); err != nil {
			return auth.Identity{}, "", err
		}
	}
	id, err := a.identity(claims)
	if err != nil {
		return auth.Identity{}, "", err
	}
	return id, rawID, nil
}

// exchange redeems the code at the token endpoint and verifies the ID
// token it returns: the provider's part of a login, timed as OpExchange.
func (a *Authenticator) exchange(ctx context.Context, d *discovered, code, verifier string) (*oauth2.Token, string, *gooidc.IDToken, error) {
	defer a.observe(OpExchange, time.Now())
	tok, err := d.oauth2.Exchange(ctx, code, oauth2.VerifierOption(verifier))
	if err != nil {
		return nil, "", nil, tokenError(err)
	}
	rawID, _ := tok.Extra("id_token").(string)
	if rawID == "" {
		return nil, "", nil, errors.New("oidc: token response has no id_token")
	}
	idt, err := d.verifier.Verify(ctx, rawID)
	if err != nil {
		if isNetwork(err) {
			return nil, "", nil, unavailable(err, "verify id token")
		}
		return nil, "", nil, fmt.Errorf("oidc: verify id token: %w", err)
	}
	return tok, rawID, idt, nil
}

// mergeUserInfo overlays the userinfo claims onto claims. The response is
// only trusted for the same subject.
func (a *Authenticator) mergeUserInfo(ctx context.Context, d *discovered, tok *oauth2.Token, sub string, claims map[string]any) error {
	start := time.Now()
	ui, err := d.provider.UserInfo(ctx, oauth2.StaticTokenSource(tok))
	a.observe(OpUserInfo, start)
	if err != nil {
		if isNetwork(err) {
			return unavailable(err, "userinfo")
		}
		return fmt.Errorf("oidc: userinfo: %w", err)
	}
	if ui.Subject != sub {
		return fmt.Errorf("oidc: userinfo subject %q differs from id token subject %q", ui.Subject, sub)
	}
	extra, err := decodeClaims(ui.Claims)
	if err != nil {
		return fmt.Errorf("oidc: userinfo claims: %w", err)
	}
	for k, v := range extra {
		switch k {
		case "iss", "aud", "exp", "iat", "nbf", "nonce", "azp", "at_hash":
			// Token protocol claims stay as verified.
		default:
			claims[k] = v
		}
	}
	return nil
}

// tokenError classifies an error from the token endpoint.
func tokenError(err error) error {
	var re *oauth2.RetrieveError
	if errors.As(err, &re) {
		if re.ErrorCode != "" {
			return fmt.Errorf("oidc: exchange code: %w", &auth.ProviderError{
				Code:        auth.Sanitize(re.ErrorCode, auth.MaxErrorCodeLen),
				Description: auth.Sanitize(re.ErrorDescription, auth.MaxErrorDescriptionLen),
			})
		}
		if re.Response != nil && re.Response.StatusCode >= 500 {
			return unavailable(fmt.Errorf("token endpoint answered %s", re.Response.Status), "exchange code")
		}
		return fmt.Errorf("oidc: exchange code: %w", err)
	}
	if isNetwork(err) {
		return unavailable(err, "exchange code")
	}
	return fmt.Errorf("oidc: exchange code: %w", err)
}

// isNetwork reports whether err is a transport failure (refused, reset,
// timeout, DNS) rather than an answer from the provider.
func isNetwork(err error) bool {
	var ue *url.Error
	var ne net.Error
	return errors.As(err, &ue) || errors.As(err, &ne) ||
		errors.Is(err, context.DeadlineExceeded)
}

// LogoutURL returns the provider's end_session_endpoint with id_token_hint
// (if given), post_logout_redirect_uri (if given) and client_id, or "" when
// the provider advertises no end_session_endpoint.
func (a *Authenticator) LogoutURL(ctx context.Context, idTokenHint, postLogoutRedirect string) (string, error) {
	d, err := a.discover(ctx)
	if err != nil {
		return "", err
	}
	if d.endSession == "" {
		return "", nil
	}
	u, err := url.Parse(d.endSession)
	if err != nil {
		return "", fmt.Errorf("oidc: end_session_endpoint: %w", err)
	}
	q := u.Query()
	if idTokenHint != "" {
		q.Set("id_token_hint", idTokenHint)
	}
	if postLogoutRedirect != "" {
		q.Set("post_logout_redirect_uri", postLogoutRedirect)
	}
	q.Set("client_id", a.cfg.ClientID)
	u.RawQuery = q.Encode()
	return u.String(), nil
}

// unavailableError carries the cause of an outage and matches both
// auth.ErrUnavailable and the cause with errors.Is/As.
type unavailableError struct {
	msg string
	err error
}

func unavailable(err error, format string, args ...any) error {
	return &unavailableError{msg: fmt.Sprintf(format, args...), err: err}
}

// Error is one line of bounded length: it ends up in /readyz and the log,
// and a proxy's error page may be the body of a failed discovery.
func (e *unavailableError) Error() string {
	return "oidc: " + e.msg + ": " + auth.Sanitize(e.err.Error(), maxCauseLen)
}
func (e *unavailableError) Unwrap() []error { return []error{auth.ErrUnavailable, e.err} }
