// Package sso is the authorization server behind Jitsi's inline sign-in
// (config.tokenAuthInline with config.sso.tokenService, served by Jitsi's
// static/sso.html; docs/reference/jitsi-rooms-and-sso.md §2). The meeting
// page opens <public_url>/sso/authorize in a popup; the signed-in user gets
// a one-time code there, which sso.html exchanges at <public_url>/sso/token
// for the Jitsi token /join would mint for that user and room, an id_token
// and a refresh token. Later, mid-meeting, the refresh token gives a fresh
// Jitsi token, re-evaluated under the rules of that moment.
//
// The web layer (web/handle_sso.go) reads the requests and the login
// cookie; this package decides and keeps the grants:
//
//   - Codes and refresh tokens live in the store (internal/store), so all
//     replicas agree, as SHA-256 hashes only. What a grant remembers (the
//     login it came from, the identity, the room, the PKCE challenge and the
//     nonce) is sealed with AES-GCM under a key derived from the grant's own
//     secret: a copy of the database yields neither tokens nor login ids.
//   - A code is single-use, lives CodeLifetime, and is bound to the client,
//     the redirect URI, the S256 challenge, the nonce and the room of the
//     state. Every attempt uses it up.
//   - A refresh token is rotated on every use and bound to the user, the
//     client and the login (internal/signin): logout, the end of the login
//     or a refused group refresh end it, and a replayed one revokes its
//     whole family. Each refresh asks the Granter again, with the groups
//     refreshed as /join does, so a user who lost a group gets the new
//     rights or nothing.
//   - The id_token is signed HS256 with a key derived from the session
//     secret. Only Jitsi's sso.html reads it (the nonce), and only this
//     package verifies it (id_token_hint at logout); it can never pass as a
//     Jitsi token, whatever key Prosody trusts.
package sso

import (
	"context"
	"crypto/aes"
	"crypto/cipher"
	"crypto/hkdf"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"path"
	"regexp"
	"slices"
	"strings"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/jitsi-gate/jitsi-gate/internal/auth"
	"github.com/jitsi-gate/jitsi-gate/internal/grant"
	"github.com/jitsi-gate/jitsi-gate/internal/signin"
	"github.com/jitsi-gate/jitsi-gate/internal/store"
	"github.com/jitsi-gate/jitsi-gate/internal/target"
	"github.com/jitsi-gate/jitsi-gate/internal/token"
)

// Defaults for zero Options fields.
const (
	DefaultCodeLifetime    = time.Minute
	DefaultRefreshLifetime = 8 * time.Hour
)

// Client is a Jitsi web client allowed to sign users in (config.sso.clientId).
type Client struct {
	ID string
	// RedirectURIs are compared as exact strings.
	RedirectURIs []string
}

// Grants is where codes and refresh tokens are kept (*store.Store).
type Grants interface {
	CreateSSOGrant(ctx context.Context, g store.SSOGrant) (store.SSOGrant, error)
	SSOGrant(ctx context.Context, token, kind string) (store.SSOGrant, error)
	UseSSOGrant(ctx context.Context, token, kind string) (store.SSOGrant, error)
	RebindSSOGrant(ctx context.Context, token, backend, subject, loginHash, sealed string) error
	RevokeSSOFamily(ctx context.Context, family string) (int64, error)
	RevokeSSOLogin(ctx context.Context, loginHash string) (int64, error)
}

// Logins checks that a login still counts and refreshes its groups
// (*signin.Keeper).
type Logins interface {
	Check(ctx context.Context, sid string, id auth.Identity) (auth.Identity, bool, error)
}

// Options configure a Server.
type Options struct {
	// Issuer is the id_token "iss": <public_url>/sso.
	Issuer  string
	Clients []Client
	// Secret is the session secret; the id_token key is derived from it.
	Secret []byte
	// CodeLifetime defaults to DefaultCodeLifetime, RefreshLifetime to
	// DefaultRefreshLifetime.
	CodeLifetime, RefreshLifetime time.Duration
	Grants                        Grants
	Logins                        Logins
	// Granter decides and builds the Jitsi token's claims, Signer mints
	// it: the same pair as /join.
	Granter *grant.Granter
	Signer  *token.Signer
	// Jitsi validates the room and tenant of Jitsi's state.
	Jitsi *target.Jitsi
	Now   func() time.Time
	Log   *slog.Logger
}

// Server is the authorization server. It is safe for concurrent use.
type Server struct {
	o       Options
	clients map[string]Client
	idKey   []byte
}

// New checks o and returns a Server.
func New(o Options) (*Server, error) {
	var missing []string
	for name, nil_ := range map[string]bool{"Issuer": o.Issuer == "", "Clients": len(o.Clients) == 0,
		"Grants": o.Grants == nil, "Logins": o.Logins == nil, "Granter": o.Granter == nil,
		"Signer": o.Signer == nil, "Jitsi": o.Jitsi == nil} {
		if nil_ {
			missing = append(missing, name)
		}
	}
	if len(missing) > 0 {
		slices.Sort(missing)
		return nil, fmt.Errorf("sso: missing %s", strings.Join(missing, ", "))
	}
	if len(o.Secret) < 32 {
		return nil, errors.New("sso: the secret must be at least 32 bytes")
	}
	if o.CodeLifetime <= 0 {
		o.CodeLifetime = DefaultCodeLifetime
	}
	if o.RefreshLifetime <= 0 {
		o.RefreshLifetime = DefaultRefreshLifetime
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.Log == nil {
		o.Log = slog.New(slog.DiscardHandler)
	}
	s := &Server{o: o, clients: make(map[string]Client)}
	for _, c := range o.Clients {
		if c.ID == "" || len(c.RedirectURIs) == 0 {
			return nil, fmt.Errorf("sso: client %q needs an id and a redirect URI", c.ID)
		}
		if _, dup := s.clients[c.ID]; dup {
			return nil, fmt.Errorf("sso: client %q listed twice", c.ID)
		}
		s.clients[c.ID] = c
	}
	key, err := hkdf.Key(sha256.New, o.Secret, nil, "jitsi-gate sso id_token HS256", 32)
	if err != nil {
		return nil, fmt.Errorf("sso: derive the id_token key: %w", err)
	}
	s.idKey = key
	return s, nil
}

// Error is an OAuth error (RFC 6749 §4.1.2.1, §5.2). The descriptions are
// shown by Jitsi ("oauth-error") and never contain secrets or the state.
type Error struct {
	Code        string
	Description string
	// Status is the HTTP status of a token endpoint answer.
	Status int
	// redirect is where an authorize error goes ("" when client_id or
	// redirect_uri is wrong: then the browser gets an error page).
	redirect string
}

func (e *Error) Error() string { return e.Code + ": " + e.Description }

// RedirectURL is where an authorize error sends the browser, "" when the
// error must be shown as a page.
func (e *Error) RedirectURL() string { return e.redirect }

func tokenError(status int, code, format string, args ...any) *Error {
	return &Error{Code: code, Description: fmt.Sprintf(format, args...), Status: status}
}

// Request is a checked authorize request.
type Request struct {
	ClientID, RedirectURI string
	// State is echoed byte for byte. It can hold a refresh token: never log it.
	State            string
	Challenge, Nonce string
	// Target is the room and tenant of the state.
	Target target.Target
	// RefreshToken is state.refreshToken of a refresh round ("" when none).
	RefreshToken string
}

// Params are the parameters of r, for the login's continuation back to the
// authorize endpoint (target.Target.Authorize).
func (r Request) Params() url.Values {
	return url.Values{"client_id": {r.ClientID}, "response_type": {"code"}, "redirect_uri": {r.RedirectURI},
		"scope": {"openid"}, "state": {r.State}, "code_challenge": {r.Challenge},
		"code_challenge_method": {"S256"}, "nonce": {r.Nonce}}
}

// pkceRE is an S256 challenge: 32 bytes, base64url without padding.
var pkceRE = regexp.MustCompile(`^[A-Za-z0-9_-]{43}$`)

// verifierRE is a PKCE code verifier (RFC 7636 §4.1).
var verifierRE = regexp.MustCompile(`^[A-Za-z0-9._~-]{43,128}$`)

// maxNonce bounds the nonce echoed into the id_token (Jitsi's is 64 hex).
const maxNonce = 256

// ParseAuthorize checks the parameters of GET /sso/authorize. A wrong
// client or redirect URI is an *Error without RedirectURL (an error page:
// nothing may be sent to an unchecked address); every other problem
// redirects back to the client with error, error_description and state.
func (s *Server) ParseAuthorize(q url.Values) (Request, *Error) {
	req := Request{ClientID: q.Get("client_id"), RedirectURI: q.Get("redirect_uri"), State: q.Get("state"),
		Challenge: q.Get("code_challenge"), Nonce: q.Get("nonce")}
	c, ok := s.clients[req.ClientID]
	if !ok {
		return req, &Error{Code: "unauthorized_client", Description: fmt.Sprintf("unknown client_id %q", truncate(req.ClientID, 64))}
	}
	if !slices.Contains(c.RedirectURIs, req.RedirectURI) {
		return req, &Error{Code: "invalid_request", Description: fmt.Sprintf("redirect_uri %q is not registered for client %s",
			truncate(req.RedirectURI, 200), c.ID)}
	}
	fail := func(code, format string, args ...any) (Request, *Error) {
		e := &Error{Code: code, Description: fmt.Sprintf(format, args...)}
		e.redirect = errorRedirect(req.RedirectURI, e, req.State, q.Has("state"))
		return req, e
	}
	switch {
	case req.State == "":
		return fail("invalid_request", "state is required")
	case q.Get("response_type") != "code":
		return fail("unsupported_response_type", "response_type must be code")
	case q.Get("code_challenge_method") != "S256":
		return fail("invalid_request", "code_challenge_method must be S256")
	case !pkceRE.MatchString(req.Challenge):
		return fail("invalid_request", "code_challenge must be an S256 challenge (43 base64url characters)")
	case req.Nonce == "" || len(req.Nonce) > maxNonce:
		return fail("invalid_request", "nonce is required (at most %d characters)", maxNonce)
	}
	t, err := s.o.Jitsi.FromState(req.State)
	if err != nil {
		return fail("invalid_request", "the state names no valid room: %v", err)
	}
	if !t.HasRoom() {
		return fail("invalid_request", "the state names no room")
	}
	req.Target = target.Target{Room: t.Room, Tenant: t.Tenant}
	var st struct {
		RefreshToken string `json:"refreshToken"`
	}
	if json.Unmarshal([]byte(req.State), &st) == nil {
		req.RefreshToken = st.RefreshToken
	}
	return req, nil
}

// errorRedirect is redirectURI with the error; state only when the request
// had one.
func errorRedirect(redirectURI string, e *Error, state string, hasState bool) string {
	q := url.Values{"error": {e.Code}, "error_description": {e.Description}}
	if hasState {
		q.Set("state", state)
	}
	return redirectURI + "?" + q.Encode()
}

// Login is the signed-in user at the authorize endpoint: the login id of
// the cookie (internal/signin) and the identity, groups already refreshed.
type Login struct {
	ID       string
	Identity auth.Identity
}

// sealed is what a grant remembers, encrypted under its own secret.
type sealed struct {
	LoginID     string        `json:"l"`
	Identity    auth.Identity `json:"i"`
	Target      string        `json:"t"` // target.Target.Encode(): room and tenant
	RedirectURI string        `json:"r,omitempty"`
	Challenge   string        `json:"c,omitempty"`
	Nonce       string        `json:"n,omitempty"`
}

// Authorize answers an authorize request of a signed-in user: the
// redirect to the client with a one-time code, or with an error
// (access_denied when the rules do not admit the user to the room now).
// In a refresh round (the state carries a refresh token of this user and
// client) the refresh token is moved to this login first, so a new
// sign-in in the popup, or one that refreshed the groups, carries it on.
func (s *Server) Authorize(ctx context.Context, req Request, login Login) string {
	now := s.o.Now()
	back := func(code, description string) string {
		return errorRedirect(req.RedirectURI, &Error{Code: code, Description: description}, req.State, true)
	}
	id := login.Identity
	g, err := s.o.Granter.Grant(ctx, grant.Request{Identity: id, Room: req.Target.Room, Tenant: req.Target.Tenant}, now)
	if err != nil {
		s.o.Log.ErrorContext(ctx, "sso: room registry unavailable", "room", req.Target.Room.Safe, "err", err)
		return back("temporarily_unavailable", "the room registry cannot be read; try again in a moment")
	}
	if refusal := refused(g); refusal != "" {
		s.o.Log.InfoContext(ctx, "sso: access denied", "backend", id.Backend, "user", id.Subject,
			"room", req.Target.Room.Safe, "tenant", req.Target.Tenant, "reason", g.Decision.Reason)
		return back("access_denied", refusal)
	}
	if req.RefreshToken != "" {
		s.rebind(ctx, req, login)
	}
	code := newSecret()
	family := newSecret()
	payload := sealed{LoginID: login.ID, Identity: id, Target: req.Target.Encode(), RedirectURI: req.RedirectURI,
		Challenge: req.Challenge, Nonce: req.Nonce}
	if err := s.create(ctx, code, store.SSOCode, family, req.ClientID, payload, now.Add(s.o.CodeLifetime)); err != nil {
		s.o.Log.ErrorContext(ctx, "sso: code not stored", "err", err)
		return back("temporarily_unavailable", "the sign-in could not be recorded; try again in a moment")
	}
	s.o.Log.InfoContext(ctx, "sso: code issued", "client", req.ClientID, "backend", id.Backend, "user", id.Subject,
		"room", req.Target.Room.Safe, "tenant", req.Target.Tenant)
	return req.RedirectURI + "?" + url.Values{"code": {code}, "state": {req.State}}.Encode()
}

// rebind moves the refresh token of a refresh round to login, when it is a
// live token of the same user and client.
func (s *Server) rebind(ctx context.Context, req Request, login Login) {
	g, err := s.o.Grants.SSOGrant(ctx, req.RefreshToken, store.SSORefresh)
	if err != nil || g.ClientID != req.ClientID || g.Backend != login.Identity.Backend || g.Subject != login.Identity.Subject {
		return // the token endpoint refuses it with the reason
	}
	var p sealed
	if err := open(req.RefreshToken, g.Sealed, &p); err != nil {
		return
	}
	if p.LoginID == login.ID && slices.Equal(p.Identity.Groups, login.Identity.Groups) {
		return
	}
	p.LoginID, p.Identity = login.ID, login.Identity
	box, err := seal(req.RefreshToken, p)
	if err == nil {
		err = s.o.Grants.RebindSSOGrant(ctx, req.RefreshToken, g.Backend, g.Subject, loginHash(login.ID), box)
	}
	if err != nil {
		s.o.Log.WarnContext(ctx, "sso: refresh token not moved to the new login", "user", g.Subject, "err", err)
	}
}

// refused is the user-readable reason a grant gives no token, "" when it
// gives one.
func refused(g grant.Grant) string {
	switch {
	case g.Closed:
		return "this room is closed now"
	case !g.Decision.Allowed:
		return "your account is not allowed in this room"
	}
	return ""
}

// TokenResponse is the JSON answer of the token endpoint.
type TokenResponse struct {
	AccessToken  string `json:"access_token"`
	IDToken      string `json:"id_token"`
	RefreshToken string `json:"refresh_token"`
	TokenType    string `json:"token_type"`
	ExpiresIn    int64  `json:"expires_in"`
}

// Issued is a successful token request: the answer, and for the audit log
// who got which rights where.
type Issued struct {
	Response  TokenResponse
	GrantType string
	ClientID  string
	Identity  auth.Identity
	Grant     grant.Grant
	Target    target.Target
}

// Token answers POST /sso/token (form: grant_type authorization_code with
// code, redirect_uri, client_id, code_verifier; or refresh_token with
// refresh_token, client_id). Nothing is minted unless every check passed.
func (s *Server) Token(ctx context.Context, form url.Values) (Issued, *Error) {
	clientID := form.Get("client_id")
	if _, ok := s.clients[clientID]; !ok {
		return Issued{}, tokenError(401, "invalid_client", "unknown client_id %q", truncate(clientID, 64))
	}
	switch gt := form.Get("grant_type"); gt {
	case "authorization_code":
		return s.exchangeCode(ctx, clientID, form)
	case "refresh_token":
		return s.refresh(ctx, clientID, form)
	case "":
		return Issued{}, tokenError(400, "invalid_request", "grant_type is required")
	default:
		return Issued{}, tokenError(400, "unsupported_grant_type", "grant_type %q is not supported", truncate(gt, 64))
	}
}

func (s *Server) exchangeCode(ctx context.Context, clientID string, form url.Values) (Issued, *Error) {
	code, verifier := form.Get("code"), form.Get("code_verifier")
	if code == "" || verifier == "" {
		return Issued{}, tokenError(400, "invalid_request", "code and code_verifier are required")
	}
	// Every attempt uses the code up: a code is tried once.
	g, err := s.o.Grants.UseSSOGrant(ctx, code, store.SSOCode)
	if e := s.grantError(ctx, "code", g, err); e != nil {
		return Issued{}, e
	}
	var p sealed
	if err := open(code, g.Sealed, &p); err != nil {
		return Issued{}, s.internal(ctx, "open code", err)
	}
	switch {
	case g.ClientID != clientID:
		return Issued{}, tokenError(400, "invalid_grant", "the code was issued to another client")
	case p.RedirectURI != form.Get("redirect_uri"):
		return Issued{}, tokenError(400, "invalid_grant", "redirect_uri differs from the one of the authorization request")
	case !verifierRE.MatchString(verifier) || subtle.ConstantTimeCompare([]byte(challengeOf(verifier)), []byte(p.Challenge)) != 1:
		return Issued{}, tokenError(400, "invalid_grant", "code_verifier does not match the code_challenge")
	}
	return s.issue(ctx, "authorization_code", g, p)
}

func (s *Server) refresh(ctx context.Context, clientID string, form url.Values) (Issued, *Error) {
	rt := form.Get("refresh_token")
	if rt == "" {
		return Issued{}, tokenError(400, "invalid_request", "refresh_token is required")
	}
	// Read first, use last: a passing outage (registry, directory) must
	// not cost the meeting its refresh token.
	g, err := s.o.Grants.SSOGrant(ctx, rt, store.SSORefresh)
	if e := s.grantError(ctx, "refresh token", g, err); e != nil {
		return Issued{}, e
	}
	if g.ClientID != clientID {
		return Issued{}, tokenError(400, "invalid_grant", "the refresh token was issued to another client")
	}
	var p sealed
	if err := open(rt, g.Sealed, &p); err != nil {
		return Issued{}, s.internal(ctx, "open refresh token", err)
	}
	return s.issue(ctx, "refresh_token", g, p)
}

// grantError turns the store's answer about a code or refresh token into
// the OAuth error; a replayed one revokes its family.
func (s *Server) grantError(ctx context.Context, what string, g store.SSOGrant, err error) *Error {
	switch {
	case err == nil:
		return nil
	case errors.Is(err, store.ErrNotFound):
		return tokenError(400, "invalid_grant", "unknown %s", what)
	case errors.Is(err, store.ErrUsed):
		// Used twice: one of the two was stolen. Nothing from this
		// family counts any more.
		n, rerr := s.o.Grants.RevokeSSOFamily(ctx, g.Family)
		s.o.Log.WarnContext(ctx, "sso: "+what+" used twice; its grants are revoked", "client", g.ClientID,
			"backend", g.Backend, "user", g.Subject, "revoked", n, "err", rerr)
		return tokenError(400, "invalid_grant", "the %s was already used", what)
	case errors.Is(err, store.ErrRevoked):
		return tokenError(400, "invalid_grant", "the %s was revoked (signed out)", what)
	case errors.Is(err, store.ErrExpired):
		return tokenError(400, "invalid_grant", "the %s has expired", what)
	default:
		return s.internal(ctx, "read "+what, err)
	}
}

func (s *Server) internal(ctx context.Context, doing string, err error) *Error {
	s.o.Log.ErrorContext(ctx, "sso: "+doing, "err", err)
	return tokenError(503, "temporarily_unavailable", "the sign-in service cannot answer now; try again in a moment")
}

// issue checks that the login behind a grant still counts (groups
// refreshed), evaluates the rules now, uses the grant and mints.
func (s *Server) issue(ctx context.Context, grantType string, g store.SSOGrant, p sealed) (Issued, *Error) {
	now := s.o.Now()
	id, _, err := s.o.Logins.Check(ctx, p.LoginID, p.Identity)
	switch {
	case errors.Is(err, signin.ErrEnded):
		s.revokeLogin(ctx, p.LoginID)
		return Issued{}, tokenError(400, "invalid_grant", "the sign-in has ended; sign in again")
	case errors.Is(err, signin.ErrReauthenticate):
		return Issued{}, tokenError(400, "invalid_grant", "the groups of the sign-in are due for a refresh; sign in again")
	case err != nil:
		return Issued{}, s.internal(ctx, "check login", err)
	}
	t, err := s.o.Jitsi.Decode(p.Target)
	if err != nil {
		return Issued{}, tokenError(400, "invalid_grant", "the room of the grant is no longer valid")
	}
	gr, err := s.o.Granter.Grant(ctx, grant.Request{Identity: id, Room: t.Room, Tenant: t.Tenant}, now)
	if err != nil {
		return Issued{}, s.internal(ctx, "room registry", err)
	}
	if refusal := refused(gr); refusal != "" {
		s.o.Log.InfoContext(ctx, "sso: token refused by the rules", "grant_type", grantType, "backend", id.Backend,
			"user", id.Subject, "groups", id.Groups, "room", t.Room.Safe, "tenant", t.Tenant, "reason", gr.Decision.Reason)
		if grantType == "refresh_token" {
			// The rules say no now; the family ends here rather than
			// wait for a rule change that may never come.
			_, _ = s.o.Grants.RevokeSSOFamily(ctx, g.Family)
		}
		return Issued{}, tokenError(400, "invalid_grant", "%s", refusal)
	}
	if grantType == "refresh_token" {
		if _, err := s.o.Grants.UseSSOGrant(ctx, g.Token, store.SSORefresh); err != nil {
			return Issued{}, s.grantError(ctx, "refresh token", g, err)
		}
	}
	access, err := s.o.Signer.Mint(gr.Claims)
	if err != nil {
		return Issued{}, s.internal(ctx, "mint token", err)
	}
	idToken, err := s.idToken(g.ClientID, id, p.Nonce, loginHash(p.LoginID), now, gr.Claims.ExpiresAt)
	if err != nil {
		return Issued{}, s.internal(ctx, "sign id_token", err)
	}
	rt := newSecret()
	next := sealed{LoginID: p.LoginID, Identity: id, Target: p.Target, Nonce: p.Nonce}
	if err := s.create(ctx, rt, store.SSORefresh, g.Family, g.ClientID, next, now.Add(s.o.RefreshLifetime)); err != nil {
		return Issued{}, s.internal(ctx, "store refresh token", err)
	}
	return Issued{
		Response: TokenResponse{AccessToken: access, IDToken: idToken, RefreshToken: rt, TokenType: "Bearer",
			ExpiresIn: int64(gr.Claims.ExpiresAt.Sub(now) / time.Second)},
		GrantType: grantType, ClientID: g.ClientID, Identity: id, Grant: gr, Target: t,
	}, nil
}

func (s *Server) create(ctx context.Context, secret, kind, family, clientID string, p sealed, expires time.Time) error {
	box, err := seal(secret, p)
	if err != nil {
		return err
	}
	_, err = s.o.Grants.CreateSSOGrant(ctx, store.SSOGrant{Token: secret, Kind: kind, Family: family, ClientID: clientID,
		LoginHash: loginHash(p.LoginID), Backend: p.Identity.Backend, Subject: p.Identity.Subject, Sealed: box,
		ExpiresAt: expires})
	return err
}

// EndLogin revokes every grant of the login loginID (logout, or the login
// record ended).
func (s *Server) EndLogin(ctx context.Context, loginID string) error {
	if loginID == "" {
		return nil
	}
	if _, err := s.o.Grants.RevokeSSOLogin(ctx, loginHash(loginID)); err != nil {
		return fmt.Errorf("sso: revoke the grants of a login: %w", err)
	}
	return nil
}

func (s *Server) revokeLogin(ctx context.Context, loginID string) {
	if err := s.EndLogin(ctx, loginID); err != nil {
		s.o.Log.WarnContext(ctx, "sso: grants of an ended login not revoked", "err", err)
	}
}

// EndHint revokes the grants of the login an id_token_hint names (logout
// where the browser sent no login cookie). The hint must be an id_token of
// ours; an expired one counts (a meeting may last longer than its token).
func (s *Server) EndHint(ctx context.Context, hint string) error {
	c := jwt.MapClaims{}
	_, err := jwt.ParseWithClaims(hint, c, func(*jwt.Token) (any, error) { return s.idKey, nil },
		jwt.WithValidMethods([]string{"HS256"}), jwt.WithoutClaimsValidation())
	if err != nil {
		return fmt.Errorf("sso: id_token_hint: %w", err)
	}
	sid, _ := c["sid"].(string)
	if iss, _ := c["iss"].(string); iss != s.o.Issuer || sid == "" {
		return errors.New("sso: id_token_hint is not one of ours")
	}
	if _, err := s.o.Grants.RevokeSSOLogin(ctx, sid); err != nil {
		return fmt.Errorf("sso: revoke the grants of a login: %w", err)
	}
	return nil
}

// LogoutRedirect is where the logout endpoint sends the browser: Jitsi's
// static/logout.html next to a registered redirect URI. postLogout, when
// given, must be one of those pages (no open redirect); clientID picks the
// client when given.
func (s *Server) LogoutRedirect(clientID, postLogout string) (string, error) {
	var allowed []string
	for _, c := range s.o.Clients {
		if clientID != "" && c.ID != clientID {
			continue
		}
		for _, r := range c.RedirectURIs {
			if p, ok := LogoutPage(r); ok {
				allowed = append(allowed, p)
			}
		}
	}
	if len(allowed) == 0 {
		return "", fmt.Errorf("sso: unknown client_id %q", truncate(clientID, 64))
	}
	if postLogout == "" {
		return allowed[0], nil
	}
	if !slices.Contains(allowed, postLogout) {
		return "", fmt.Errorf("sso: post_logout_redirect_uri %q is not the logout page of a registered client", truncate(postLogout, 200))
	}
	return postLogout, nil
}

// LogoutPage is Jitsi's static/logout.html beside the redirect URI
// redirectURI (its sso.html): the post_logout_redirect_uri a client may
// name. jitsi-config writes it into tokenLogoutUrl; LogoutRedirect accepts
// exactly these.
func LogoutPage(redirectURI string) (string, bool) {
	u, err := url.Parse(redirectURI)
	if err != nil {
		return "", false
	}
	u.Path = path.Join(path.Dir(u.Path), "logout.html")
	u.RawPath = ""
	return u.String(), true
}

// FrameOrigins are the origins allowed to frame the logout endpoint (the
// clients' redirect URI origins).
func (s *Server) FrameOrigins() []string {
	var out []string
	for _, c := range s.o.Clients {
		for _, r := range c.RedirectURIs {
			if u, err := url.Parse(r); err == nil {
				if o := u.Scheme + "://" + u.Host; !slices.Contains(out, o) {
					out = append(out, o)
				}
			}
		}
	}
	return out
}

func (s *Server) idToken(clientID string, id auth.Identity, nonce, sid string, now, expires time.Time) (string, error) {
	// A map, not jwt.RegisteredClaims: "aud" stays a JSON string, as
	// OpenID Connect allows for a single audience.
	c := jwt.MapClaims{"iss": s.o.Issuer, "sub": id.Backend + ":" + id.Subject, "aud": clientID,
		"iat": now.Unix(), "exp": expires.Unix(), "nonce": nonce,
		// sid is the hex SHA-256 of the login id: logout by
		// id_token_hint revokes by it.
		"sid": sid, "name": auth.Sanitize(id.DisplayName(), 128)}
	if id.Email != "" {
		c["email"] = auth.Sanitize(id.Email, 254)
	}
	return jwt.NewWithClaims(jwt.SigningMethodHS256, c).SignedString(s.idKey)
}

// challengeOf is the S256 challenge of a verifier (RFC 7636 §4.2).
func challengeOf(verifier string) string {
	h := sha256.Sum256([]byte(verifier))
	return base64.RawURLEncoding.EncodeToString(h[:])
}

// newSecret returns 256 random bits, base64url: codes, refresh tokens and
// family ids.
func newSecret() string {
	b := make([]byte, 32)
	_, _ = rand.Read(b) // crypto/rand.Read never fails (Go 1.24+)
	return base64.RawURLEncoding.EncodeToString(b)
}

// loginHash is how grants name a login: the hex SHA-256 of its id.
func loginHash(loginID string) string {
	h := sha256.Sum256([]byte(loginID))
	return hex.EncodeToString(h[:])
}

// aeadFor is AES-256-GCM under a key derived from a grant's secret.
func aeadFor(secret string) (cipher.AEAD, error) {
	key, err := hkdf.Key(sha256.New, []byte(secret), nil, "jitsi-gate sso grant", 32)
	if err != nil {
		return nil, err
	}
	block, err := aes.NewCipher(key)
	if err != nil {
		return nil, err
	}
	return cipher.NewGCM(block)
}

func seal(secret string, p sealed) (string, error) {
	plain, err := json.Marshal(p)
	if err != nil {
		return "", fmt.Errorf("sso: seal grant: %w", err)
	}
	aead, err := aeadFor(secret)
	if err != nil {
		return "", fmt.Errorf("sso: seal grant: %w", err)
	}
	nonce := make([]byte, aead.NonceSize())
	_, _ = rand.Read(nonce)
	return base64.RawURLEncoding.EncodeToString(aead.Seal(nonce, nonce, plain, nil)), nil
}

func open(secret, box string, p *sealed) error {
	raw, err := base64.RawURLEncoding.DecodeString(box)
	if err != nil {
		return fmt.Errorf("sso: open grant: %w", err)
	}
	aead, err := aeadFor(secret)
	if err != nil {
		return fmt.Errorf("sso: open grant: %w", err)
	}
	if len(raw) < aead.NonceSize() {
		return errors.New("sso: open grant: too short")
	}
	plain, err := aead.Open(nil, raw[:aead.NonceSize()], raw[aead.NonceSize():], nil)
	if err != nil {
		return fmt.Errorf("sso: open grant: %w", err)
	}
	if err := json.Unmarshal(plain, p); err != nil {
		return fmt.Errorf("sso: open grant: %w", err)
	}
	return nil
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "…"
}
