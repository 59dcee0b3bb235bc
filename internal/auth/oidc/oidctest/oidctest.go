// Package oidctest is an in-process OpenID Provider for tests: discovery,
// JWKS, an authorization endpoint that logs the user in at once, a token
// endpoint that checks client authentication, PKCE and single use of codes,
// userinfo and an end-session endpoint. It listens on 127.0.0.1 and is meant
// to be imported from _test.go files only.
//
// Two clients are registered: ClientID/ClientSecret (confidential) and
// PublicClientID (public, must use PKCE). Any absolute redirect URI is
// accepted; the token request must repeat the one of the authorization
// request.
//
// Knobs change what the next logins see: SetClaims and SetUserInfoClaims
// are snapshotted when /authorize is called; SetIDTokenMutator,
// SetTokenResponseMutator, SetSignWithForeignKey and SetTokenError act when
// /token is called. All knobs stay until changed.
//
// Down makes every endpoint answer 503 Service Unavailable (the listener
// stays open, as behind a reverse proxy whose backend is gone); Up restores
// service. Close stops the listener for connection-refused tests. Hits counts
// requests per endpoint path, including those answered 503.
package oidctest

import (
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"maps"
	"math/big"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"
)

// Registered clients.
const (
	ClientID       = "jitsi-gate"
	ClientSecret   = "jitsi-gate-secret"
	PublicClientID = "jitsi-gate-public"
)

// Endpoint paths, relative to Issuer(); use them with Hits.
const (
	PathDiscovery  = "/.well-known/openid-configuration"
	PathJWKS       = "/keys"
	PathAuthorize  = "/authorize"
	PathToken      = "/token"
	PathUserInfo   = "/userinfo"
	PathEndSession = "/logout"
)

// DefaultSubject is the "sub" of ID tokens when the claims set none.
const DefaultSubject = "user-1"

// DefaultClaims returns the user claims used until SetClaims is called.
func DefaultClaims() map[string]any {
	return map[string]any{
		"sub":                DefaultSubject,
		"name":               "Test User",
		"preferred_username": "testuser",
		"email":              "testuser@example.org",
		"email_verified":     true,
	}
}

// AuthRequest is a request the authorization endpoint received.
type AuthRequest struct {
	ClientID, RedirectURI, ResponseType, Scope, State, Nonce string
	CodeChallenge, CodeChallengeMethod                       string
	// Params is the whole query, including extra parameters.
	Params url.Values
}

// TokenRequest is a request the token endpoint received.
type TokenRequest struct {
	ClientID string
	// ClientAuth is "basic", "post" or "none".
	ClientAuth   string
	CodeVerifier string
	// PKCEVerified: the authorization request had a code_challenge and the
	// code_verifier matched it.
	PKCEVerified bool
	// Error is the OAuth error code answered, "" when tokens were issued.
	Error string
}

type grant struct {
	clientID, redirectURI, nonce, challenge, method string
	claims, userinfo                                map[string]any
}

type tokenErr struct {
	status            int
	code, description string
}

// Provider is a running test OpenID Provider.
type Provider struct {
	srv        *httptest.Server
	key        *rsa.PrivateKey
	foreignKey *rsa.PrivateKey
	kid        string

	mu           sync.Mutex
	down         bool
	hits         map[string]int
	claims       map[string]any
	userinfo     map[string]any
	idMutator    func(map[string]any)
	respMutator  func(map[string]any)
	foreign      bool
	tokenErr     *tokenErr
	authErr      *tokenErr
	noEndSession bool
	codes        map[string]*grant
	usedCodes    map[string]bool
	access       map[string]*grant
	authReqs     []AuthRequest
	tokenReqs    []TokenRequest
	logoutReqs   []url.Values
}

// New starts a provider on 127.0.0.1; it is closed when the test ends.
func New(t testing.TB) *Provider {
	t.Helper()
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatalf("oidctest: generate key: %v", err)
	}
	p := &Provider{
		key:       key,
		kid:       "oidctest-" + randomString(6),
		hits:      map[string]int{},
		claims:    DefaultClaims(),
		codes:     map[string]*grant{},
		usedCodes: map[string]bool{},
		access:    map[string]*grant{},
	}
	mux := http.NewServeMux()
	mux.HandleFunc("GET "+PathDiscovery, p.serveDiscovery)
	mux.HandleFunc("GET "+PathJWKS, p.serveJWKS)
	mux.HandleFunc("GET "+PathAuthorize, p.serveAuthorize)
	mux.HandleFunc("POST "+PathToken, p.serveToken)
	mux.HandleFunc("GET "+PathUserInfo, p.serveUserInfo)
	mux.HandleFunc("GET "+PathEndSession, p.serveEndSession)
	p.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p.mu.Lock()
		p.hits[r.URL.Path]++
		down := p.down
		p.mu.Unlock()
		if down {
			http.Error(w, "oidctest: provider is down", http.StatusServiceUnavailable)
			return
		}
		mux.ServeHTTP(w, r)
	}))
	t.Cleanup(p.srv.Close)
	return p
}

// Issuer is the issuer URL (http://127.0.0.1:PORT, no trailing slash).
func (p *Provider) Issuer() string { return p.srv.URL }

// Close stops the server; later requests get "connection refused".
func (p *Provider) Close() { p.srv.Close() }

// Down makes every endpoint answer 503 until Up.
func (p *Provider) Down() { p.set(func() { p.down = true }) }

// Up ends Down.
func (p *Provider) Up() { p.set(func() { p.down = false }) }

// Hits returns how many requests reached path (one of the Path constants).
func (p *Provider) Hits(path string) int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.hits[path]
}

// SetClaims sets the user claims of the following logins. They are merged
// over iss, sub (DefaultSubject), aud, iat, exp, nonce and at_hash, so they
// may replace any of them. Nil restores DefaultClaims. Nested values
// (realm_access.roles) are maps; lists may be []string or []any.
func (p *Provider) SetClaims(claims map[string]any) {
	if claims == nil {
		claims = DefaultClaims()
	}
	p.set(func() { p.claims = maps.Clone(claims) })
}

// SetUserInfoClaims sets what the userinfo endpoint returns for the
// following logins: {"sub": <id token sub>} plus these claims (which may
// replace sub). Nil means the same claims as the ID token.
func (p *Provider) SetUserInfoClaims(claims map[string]any) {
	p.set(func() { p.userinfo = maps.Clone(claims) })
}

// SetIDTokenMutator sets a function that may change the complete ID token
// claims right before signing (wrong nonce, aud, iss, exp, ...). Nil
// removes it.
func (p *Provider) SetIDTokenMutator(f func(claims map[string]any)) {
	p.set(func() { p.idMutator = f })
}

// SetTokenResponseMutator sets a function that may change the token
// response JSON (e.g. delete "id_token"). Nil removes it.
func (p *Provider) SetTokenResponseMutator(f func(resp map[string]any)) {
	p.set(func() { p.respMutator = f })
}

// SetSignWithForeignKey makes the token endpoint sign ID tokens with a key
// that is not in the JWKS (same kid), so signature checks fail.
func (p *Provider) SetSignWithForeignKey(on bool) { p.set(func() { p.foreign = on }) }

// SetTokenError makes the token endpoint answer every request with this
// HTTP status and, if code is not empty, an OAuth error JSON body. Status 0
// restores normal operation.
func (p *Provider) SetTokenError(status int, code, description string) {
	p.set(func() {
		p.tokenErr = nil
		if status != 0 {
			p.tokenErr = &tokenErr{status, code, description}
		}
	})
}

// SetAuthorizeError makes the authorization endpoint redirect back with
// error=code (e.g. "access_denied", a cancelled login) instead of a code.
// An empty code restores normal operation.
func (p *Provider) SetAuthorizeError(code, description string) {
	p.set(func() {
		p.authErr = nil
		if code != "" {
			p.authErr = &tokenErr{code: code, description: description}
		}
	})
}

// SetEndSessionEndpoint controls whether discovery advertises
// end_session_endpoint (default true). Relying parties read it at
// discovery, so set it before the first one.
func (p *Provider) SetEndSessionEndpoint(on bool) { p.set(func() { p.noEndSession = !on }) }

// AuthRequests returns the authorization requests received so far.
func (p *Provider) AuthRequests() []AuthRequest {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]AuthRequest(nil), p.authReqs...)
}

// TokenRequests returns the token requests received so far.
func (p *Provider) TokenRequests() []TokenRequest {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]TokenRequest(nil), p.tokenReqs...)
}

// LogoutRequests returns the queries of end-session requests so far.
func (p *Provider) LogoutRequests() []url.Values {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]url.Values(nil), p.logoutReqs...)
}

// Authorize plays the browser: it GETs authURL (the relying party's
// AuthCodeURL), expects a redirect and returns its target, the relying
// party's callback URL with code and state (or error).
func (p *Provider) Authorize(t testing.TB, authURL string) *url.URL {
	t.Helper()
	c := &http.Client{
		Timeout:       10 * time.Second,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
	resp, err := c.Get(authURL)
	if err != nil {
		t.Fatalf("oidctest: authorize: %v", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusFound {
		t.Fatalf("oidctest: authorize: status %s, want 302", resp.Status)
	}
	loc, err := resp.Location()
	if err != nil {
		t.Fatalf("oidctest: authorize: %v", err)
	}
	return loc
}

func (p *Provider) set(f func()) {
	p.mu.Lock()
	defer p.mu.Unlock()
	f()
}

func (p *Provider) serveDiscovery(w http.ResponseWriter, _ *http.Request) {
	iss := p.Issuer()
	doc := map[string]any{
		"issuer":                                iss,
		"authorization_endpoint":                iss + PathAuthorize,
		"token_endpoint":                        iss + PathToken,
		"jwks_uri":                              iss + PathJWKS,
		"userinfo_endpoint":                     iss + PathUserInfo,
		"response_types_supported":              []string{"code"},
		"subject_types_supported":               []string{"public"},
		"id_token_signing_alg_values_supported": []string{"RS256"},
		"code_challenge_methods_supported":      []string{"S256", "plain"},
		"scopes_supported":                      []string{"openid", "profile", "email", "groups"},
		"token_endpoint_auth_methods_supported": []string{"client_secret_basic", "client_secret_post", "none"},
	}
	p.mu.Lock()
	if !p.noEndSession {
		doc["end_session_endpoint"] = iss + PathEndSession
	}
	p.mu.Unlock()
	writeJSON(w, http.StatusOK, doc)
}

func (p *Provider) serveJWKS(w http.ResponseWriter, _ *http.Request) {
	pub := p.key.PublicKey
	writeJSON(w, http.StatusOK, map[string]any{"keys": []map[string]string{{
		"kty": "RSA",
		"alg": "RS256",
		"use": "sig",
		"kid": p.kid,
		"n":   b64(pub.N.Bytes()),
		"e":   b64(big.NewInt(int64(pub.E)).Bytes()),
	}}})
}

func (p *Provider) serveAuthorize(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	req := AuthRequest{
		ClientID:            q.Get("client_id"),
		RedirectURI:         q.Get("redirect_uri"),
		ResponseType:        q.Get("response_type"),
		Scope:               q.Get("scope"),
		State:               q.Get("state"),
		Nonce:               q.Get("nonce"),
		CodeChallenge:       q.Get("code_challenge"),
		CodeChallengeMethod: q.Get("code_challenge_method"),
		Params:              q,
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	p.authReqs = append(p.authReqs, req)

	// Never redirect to an unchecked client or redirect URI.
	if req.ClientID != ClientID && req.ClientID != PublicClientID {
		http.Error(w, "oidctest: unknown client_id", http.StatusBadRequest)
		return
	}
	back, err := url.Parse(req.RedirectURI)
	if err != nil || !back.IsAbs() {
		http.Error(w, "oidctest: invalid redirect_uri", http.StatusBadRequest)
		return
	}
	bq := back.Query()
	if req.State != "" {
		bq.Set("state", req.State)
	}
	switch {
	case p.authErr != nil:
		bq.Set("error", p.authErr.code)
		if p.authErr.description != "" {
			bq.Set("error_description", p.authErr.description)
		}
	case req.ResponseType != "code":
		bq.Set("error", "unsupported_response_type")
	case !strings.Contains(" "+req.Scope+" ", " openid "):
		bq.Set("error", "invalid_scope")
	default:
		code := randomString(16)
		p.codes[code] = &grant{
			clientID:    req.ClientID,
			redirectURI: req.RedirectURI,
			nonce:       req.Nonce,
			challenge:   req.CodeChallenge,
			method:      req.CodeChallengeMethod,
			claims:      maps.Clone(p.claims),
			userinfo:    maps.Clone(p.userinfo),
		}
		bq.Set("code", code)
	}
	back.RawQuery = bq.Encode()
	http.Redirect(w, r, back.String(), http.StatusFound)
}

func (p *Provider) serveToken(w http.ResponseWriter, r *http.Request) {
	if err := r.ParseForm(); err != nil {
		writeJSON(w, http.StatusBadRequest, oauthError("invalid_request", err.Error()))
		return
	}
	tr := TokenRequest{ClientAuth: "none", CodeVerifier: r.PostForm.Get("code_verifier")}
	var secret string
	if id, sec, ok := r.BasicAuth(); ok {
		// RFC 6749 2.3.1: both parts are form-urlencoded.
		id, _ = url.QueryUnescape(id)
		sec, _ = url.QueryUnescape(sec)
		tr.ClientID, secret, tr.ClientAuth = id, sec, "basic"
	} else {
		tr.ClientID = r.PostForm.Get("client_id")
		if secret = r.PostForm.Get("client_secret"); secret != "" {
			tr.ClientAuth = "post"
		}
	}

	p.mu.Lock()
	defer p.mu.Unlock()
	fail := func(status int, code, desc string) {
		tr.Error = code
		p.tokenReqs = append(p.tokenReqs, tr)
		if code == "" {
			http.Error(w, desc, status)
			return
		}
		writeJSON(w, status, oauthError(code, desc))
	}
	if e := p.tokenErr; e != nil {
		fail(e.status, e.code, e.description)
		return
	}
	switch {
	case tr.ClientID == ClientID && secret == ClientSecret:
	case tr.ClientID == PublicClientID && secret == "":
	default:
		fail(http.StatusUnauthorized, "invalid_client", "client authentication failed")
		return
	}
	if r.PostForm.Get("grant_type") != "authorization_code" {
		fail(http.StatusBadRequest, "unsupported_grant_type", "")
		return
	}
	code := r.PostForm.Get("code")
	g := p.codes[code]
	if g == nil {
		desc := "unknown code"
		if p.usedCodes[code] {
			desc = "code already used"
		}
		fail(http.StatusBadRequest, "invalid_grant", desc)
		return
	}
	// A code is consumed by its first use, successful or not.
	delete(p.codes, code)
	p.usedCodes[code] = true

	if g.clientID != tr.ClientID {
		fail(http.StatusBadRequest, "invalid_grant", "code was issued to another client")
		return
	}
	if r.PostForm.Get("redirect_uri") != g.redirectURI {
		fail(http.StatusBadRequest, "invalid_grant", "redirect_uri does not match")
		return
	}
	switch {
	case g.challenge != "":
		if !pkceMatches(g.method, g.challenge, tr.CodeVerifier) {
			fail(http.StatusBadRequest, "invalid_grant", "code_verifier does not match code_challenge")
			return
		}
		tr.PKCEVerified = true
	case tr.ClientID == PublicClientID:
		fail(http.StatusBadRequest, "invalid_request", "public clients must use PKCE")
		return
	case tr.CodeVerifier != "":
		fail(http.StatusBadRequest, "invalid_request", "code_verifier without code_challenge")
		return
	}

	accessToken := randomString(24)
	now := time.Now()
	claims := map[string]any{
		"iss":     p.Issuer(),
		"sub":     DefaultSubject,
		"aud":     g.clientID,
		"iat":     now.Unix(),
		"exp":     now.Add(time.Hour).Unix(),
		"at_hash": halfHash(accessToken),
	}
	if g.nonce != "" {
		claims["nonce"] = g.nonce
	}
	maps.Copy(claims, g.claims)
	sub := claims["sub"]
	if p.idMutator != nil {
		p.idMutator(claims)
	}
	key := p.key
	if p.foreign {
		if p.foreignKey == nil {
			k, err := rsa.GenerateKey(rand.Reader, 2048)
			if err != nil {
				fail(http.StatusInternalServerError, "server_error", err.Error())
				return
			}
			p.foreignKey = k
		}
		key = p.foreignKey
	}
	idToken, err := sign(key, p.kid, claims)
	if err != nil {
		fail(http.StatusInternalServerError, "server_error", err.Error())
		return
	}
	ui := map[string]any{"sub": sub}
	if g.userinfo != nil {
		maps.Copy(ui, g.userinfo)
	} else {
		maps.Copy(ui, g.claims)
	}
	p.access[accessToken] = &grant{userinfo: ui}

	resp := map[string]any{
		"access_token": accessToken,
		"token_type":   "Bearer",
		"expires_in":   3600,
		"id_token":     idToken,
	}
	if p.respMutator != nil {
		p.respMutator(resp)
	}
	p.tokenReqs = append(p.tokenReqs, tr)
	w.Header().Set("Cache-Control", "no-store")
	writeJSON(w, http.StatusOK, resp)
}

func (p *Provider) serveUserInfo(w http.ResponseWriter, r *http.Request) {
	tok, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
	p.mu.Lock()
	g := p.access[tok]
	p.mu.Unlock()
	if !ok || g == nil {
		w.Header().Set("WWW-Authenticate", `Bearer error="invalid_token"`)
		writeJSON(w, http.StatusUnauthorized, oauthError("invalid_token", ""))
		return
	}
	writeJSON(w, http.StatusOK, g.userinfo)
}

func (p *Provider) serveEndSession(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	p.mu.Lock()
	p.logoutReqs = append(p.logoutReqs, q)
	p.mu.Unlock()
	if to := q.Get("post_logout_redirect_uri"); to != "" {
		http.Redirect(w, r, to, http.StatusFound)
		return
	}
	fmt.Fprintln(w, "logged out")
}

func pkceMatches(method, challenge, verifier string) bool {
	if verifier == "" {
		return false
	}
	switch method {
	case "S256":
		sum := sha256.Sum256([]byte(verifier))
		return b64(sum[:]) == challenge
	case "", "plain":
		return verifier == challenge
	default:
		return false
	}
}

// sign returns a compact RS256 JWS of claims.
func sign(key *rsa.PrivateKey, kid string, claims map[string]any) (string, error) {
	header, err := json.Marshal(map[string]string{"alg": "RS256", "typ": "JWT", "kid": kid})
	if err != nil {
		return "", err
	}
	payload, err := json.Marshal(claims)
	if err != nil {
		return "", err
	}
	input := b64(header) + "." + b64(payload)
	sum := sha256.Sum256([]byte(input))
	sig, err := rsa.SignPKCS1v15(rand.Reader, key, crypto.SHA256, sum[:])
	if err != nil {
		return "", err
	}
	return input + "." + b64(sig), nil
}

// halfHash is the at_hash of an access token for RS256.
func halfHash(s string) string {
	sum := sha256.Sum256([]byte(s))
	return b64(sum[:len(sum)/2])
}

func oauthError(code, desc string) map[string]string {
	m := map[string]string{"error": code}
	if desc != "" {
		m["error_description"] = desc
	}
	return m
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

func b64(b []byte) string { return base64.RawURLEncoding.EncodeToString(b) }

func randomString(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return b64(b)
}
