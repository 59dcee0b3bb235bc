package oidctest

import (
	"crypto/sha256"
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"testing"
)

const redirect = "http://127.0.0.1:18080/callback/oidc"

// authorize gets a code for client with the given PKCE challenge.
func authorize(t *testing.T, p *Provider, client, challenge string) string {
	t.Helper()
	q := url.Values{
		"response_type": {"code"}, "client_id": {client}, "redirect_uri": {redirect},
		"scope": {"openid"}, "state": {"st"}, "nonce": {"no"},
	}
	if challenge != "" {
		q.Set("code_challenge", challenge)
		q.Set("code_challenge_method", "S256")
	}
	cb := p.Authorize(t, p.Issuer()+PathAuthorize+"?"+q.Encode())
	if cb.Query().Get("state") != "st" || cb.Query().Get("code") == "" {
		t.Fatalf("callback = %s", cb)
	}
	return cb.Query().Get("code")
}

func s256(v string) string {
	sum := sha256.Sum256([]byte(v))
	return b64(sum[:])
}

// TestTokenEndpoint checks the fake's own rules, which the oidc and web
// tests rely on to catch client mistakes.
func TestTokenEndpoint(t *testing.T) {
	const verifier = "verifier-0123456789-0123456789-0123456789"
	tests := []struct {
		name      string
		client    string
		challenge string
		form      url.Values // besides grant_type and code
		basic     [2]string  // client id and secret for Basic auth, if set
		wantCode  string     // "" = success
		wantAuth  string
	}{
		{"confidential with basic auth and PKCE", ClientID, s256(verifier),
			url.Values{"redirect_uri": {redirect}, "code_verifier": {verifier}}, [2]string{ClientID, ClientSecret}, "", "basic"},
		{"confidential with client_secret_post, no PKCE", ClientID, "",
			url.Values{"redirect_uri": {redirect}, "client_id": {ClientID}, "client_secret": {ClientSecret}}, [2]string{}, "", "post"},
		{"public with PKCE", PublicClientID, s256(verifier),
			url.Values{"redirect_uri": {redirect}, "client_id": {PublicClientID}, "code_verifier": {verifier}}, [2]string{}, "", "none"},
		{"wrong secret", ClientID, "",
			url.Values{"redirect_uri": {redirect}}, [2]string{ClientID, "nope"}, "invalid_client", "basic"},
		{"public client without PKCE", PublicClientID, "",
			url.Values{"redirect_uri": {redirect}, "client_id": {PublicClientID}}, [2]string{}, "invalid_request", "none"},
		{"wrong verifier", ClientID, s256(verifier),
			url.Values{"redirect_uri": {redirect}, "code_verifier": {"other"}}, [2]string{ClientID, ClientSecret}, "invalid_grant", "basic"},
		{"missing verifier", PublicClientID, s256(verifier),
			url.Values{"redirect_uri": {redirect}, "client_id": {PublicClientID}}, [2]string{}, "invalid_grant", "none"},
		{"other redirect_uri", ClientID, "",
			url.Values{"redirect_uri": {"http://127.0.0.1:1/cb"}}, [2]string{ClientID, ClientSecret}, "invalid_grant", "basic"},
		{"code of another client", PublicClientID, s256(verifier),
			url.Values{"redirect_uri": {redirect}, "code_verifier": {verifier}}, [2]string{ClientID, ClientSecret}, "invalid_grant", "basic"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := New(t)
			code := authorize(t, p, tt.client, tt.challenge)
			form := url.Values{"grant_type": {"authorization_code"}, "code": {code}}
			for k, v := range tt.form {
				form[k] = v
			}
			req, _ := http.NewRequest(http.MethodPost, p.Issuer()+PathToken, strings.NewReader(form.Encode()))
			req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			if tt.basic[0] != "" {
				req.SetBasicAuth(tt.basic[0], tt.basic[1])
			}
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			var body map[string]any
			if err := json.NewDecoder(resp.Body).Decode(&body); err != nil {
				t.Fatal(err)
			}
			gotCode, _ := body["error"].(string)
			if gotCode != tt.wantCode {
				t.Fatalf("error = %q (%v), want %q", gotCode, body, tt.wantCode)
			}
			if tt.wantCode == "" && (resp.StatusCode != http.StatusOK || body["id_token"] == nil) {
				t.Fatalf("status %s, body %v: want tokens", resp.Status, body)
			}
			trs := p.TokenRequests()
			if len(trs) != 1 || trs[0].ClientAuth != tt.wantAuth || trs[0].Error != tt.wantCode {
				t.Errorf("recorded %+v, want client auth %q and error %q", trs, tt.wantAuth, tt.wantCode)
			}
		})
	}
}

func TestAuthorizeRefusesUnknownClient(t *testing.T) {
	p := New(t)
	c := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	q := url.Values{"response_type": {"code"}, "client_id": {"stranger"}, "redirect_uri": {redirect}, "scope": {"openid"}}
	resp, err := c.Get(p.Issuer() + PathAuthorize + "?" + q.Encode())
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusBadRequest || resp.Header.Get("Location") != "" {
		t.Fatalf("unknown client: %s, Location %q; want 400 without redirect", resp.Status, resp.Header.Get("Location"))
	}
}

func TestDownAndHits(t *testing.T) {
	p := New(t)
	get := func() int {
		resp, err := http.Get(p.Issuer() + PathDiscovery)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	if s := get(); s != http.StatusOK {
		t.Fatalf("up: %d", s)
	}
	p.Down()
	if s := get(); s != http.StatusServiceUnavailable {
		t.Fatalf("down: %d", s)
	}
	p.Up()
	if s := get(); s != http.StatusOK {
		t.Fatalf("up again: %d", s)
	}
	if n := p.Hits(PathDiscovery); n != 3 {
		t.Fatalf("hits = %d, want 3", n)
	}
}
