package browser

import (
	"fmt"
	"html"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
)

// meetingStandIn plays the Jitsi web client of the inline sign-in
// (tokenAuthInline with config.sso), written for this test from the
// contract in docs/reference/jitsi-rooms-and-sso.md §2.1; no Jitsi code is
// copied. It serves:
//
//   - /<room>: the meeting page. Its #login button does what Jitsi's
//     getTokenAuthUrl and loginWithPopup do: a random 64-character PKCE
//     verifier in sessionStorage.code_verifier, its S256 challenge for
//     {code_challenge}, the JSON state (room, roomSafe, tenant, and the
//     refresh token once it holds one) URI-encoded for {state}, a 32-byte hex
//     nonce in sessionStorage.oauth_nonce appended as &nonce=, and
//     window.open of 500×600. It keeps what the popup posts (oauth-success
//     from its own origin only) in window.ssoResult. #logout loads
//     tokenLogoutUrl&id_token_hint=… in a hidden iframe and waits for
//     logout-success.
//   - /static/sso.html: the popup's landing page. It requires state;
//     with state.refreshToken it posts grant_type=refresh_token, otherwise
//     grant_type=authorization_code with the code, redirect_uri
//     (location.origin + pathname), client_id and the verifier; on the code
//     path the id_token's nonce must equal sessionStorage.oauth_nonce. It
//     posts {type:'oauth-success', accessToken, idToken, refreshToken} (or
//     oauth-error) to window.opener at its own origin, then closes.
//   - /static/logout.html: posts {type:'logout-success'} to its parent.
//
// One deviation: the real sso.html always posts to
// https://{tokenService}/token; the tests run without TLS on 127.0.0.1,
// so the stand-in posts to the gateway's own scheme.
type meetingStandIn struct {
	URL string
	srv *httptest.Server

	mu sync.Mutex
	// set once the gateway runs (its URL is known only then)
	tokenAuthURL, tokenService, tokenLogoutURL string
}

func newMeetingStandIn(t *testing.T) *meetingStandIn {
	t.Helper()
	m := &meetingStandIn{}
	m.srv = httptest.NewServer(http.HandlerFunc(m.serve))
	m.URL = m.srv.URL
	t.Cleanup(m.srv.Close)
	return m
}

// configure sets what Jitsi's config.js would say, from the gateway at gw.
func (m *meetingStandIn) configure(gw string) {
	m.mu.Lock()
	defer m.mu.Unlock()
	// What `jitsi-gate jitsi-config -format configjs` prints for this
	// gateway (internal/jitsiconf tests pin that text).
	m.tokenAuthURL = gw + "/sso/authorize?client_id=jitsi&response_type=code&scope=openid&state={state}" +
		"&redirect_uri=" + url.QueryEscape(m.URL+"/static/sso.html") +
		"&code_challenge={code_challenge}&code_challenge_method=S256"
	m.tokenService = gw + "/sso"
	m.tokenLogoutURL = gw + "/sso/logout?client_id=jitsi&post_logout_redirect_uri=" +
		url.QueryEscape(m.URL+"/static/logout.html")
}

func (m *meetingStandIn) serve(w http.ResponseWriter, r *http.Request) {
	m.mu.Lock()
	authURL, service, logoutURL := m.tokenAuthURL, m.tokenService, m.tokenLogoutURL
	m.mu.Unlock()
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	config := fmt.Sprintf(`<script>var config = {tokenAuthUrl: %q, tokenAuthInline: true, sso: {tokenService: %q, clientId: "jitsi"}, tokenLogoutUrl: %q};</script>`,
		authURL, service, logoutURL)
	switch r.URL.Path {
	case "/favicon.ico":
		http.NotFound(w, r)
	case "/static/sso.html":
		fmt.Fprint(w, `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>sso</title><link rel="icon" href="data:,">`+config+`</head>
<body><p id="status">working</p><script>`+ssoHTMLScript+`</script></body></html>`)
	case "/static/logout.html":
		fmt.Fprint(w, `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>logout</title><link rel="icon" href="data:,"></head>
<body><script>window.parent.postMessage({type: 'logout-success'}, window.location.origin);</script></body></html>`)
	default:
		room := strings.Trim(r.URL.Path, "/")
		fmt.Fprintf(w, `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>meeting</title><link rel="icon" href="data:,">%s</head>
<body><h1 id="meeting" data-room=%q>meeting %s</h1><button id="login">log in</button><button id="logout">log out</button>
<p id="messages"></p><script>%s</script></body></html>`, config, html.EscapeString(room), html.EscapeString(room), meetingScript)
	}
}

// meetingScript is the meeting page's side (Jitsi's loginWithPopup and
// its message handler, and the hidden-iframe logout).
const meetingScript = `
var held = {};
function b64url(bytes) {
  var s = ''; bytes.forEach(function (b) { s += String.fromCharCode(b); });
  return btoa(s).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');
}
function hex(bytes) { return Array.from(bytes, function (b) { return ('0' + b.toString(16)).slice(-2); }).join(''); }
window.addEventListener('message', function (e) {
  if (e.origin !== window.location.origin) { return; }
  document.getElementById('messages').textContent += e.data.type + ' ';
  if (e.data.type === 'oauth-success') {
    held = {accessToken: e.data.accessToken, idToken: e.data.idToken, refreshToken: e.data.refreshToken || held.refreshToken};
    window.ssoResult = JSON.stringify({accessToken: e.data.accessToken, idToken: e.data.idToken, refreshToken: held.refreshToken});
  } else if (e.data.type === 'oauth-error') {
    window.ssoResult = JSON.stringify({error: e.data.error});
  } else if (e.data.type === 'logout-success') {
    window.loggedOut = true;
  }
});
document.getElementById('login').addEventListener('click', async function () {
  window.ssoResult = undefined;
  var chars = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789';
  var rnd = crypto.getRandomValues(new Uint8Array(64)), verifier = '';
  rnd.forEach(function (b) { verifier += chars[b % chars.length]; });
  sessionStorage.setItem('code_verifier', verifier);
  var challenge = b64url(new Uint8Array(await crypto.subtle.digest('SHA-256', new TextEncoder().encode(verifier))));
  var room = document.getElementById('meeting').dataset.room;
  var state = {room: room, roomSafe: room, tenant: ''};
  if (held.refreshToken) { state.refreshToken = held.refreshToken; }
  var url = config.tokenAuthUrl.replace('{state}', encodeURIComponent(JSON.stringify(state)))
    .replace('{code_challenge}', challenge);
  var nonce = hex(crypto.getRandomValues(new Uint8Array(32)));
  sessionStorage.setItem('oauth_nonce', nonce);
  window.open(url + '&nonce=' + nonce, 'login', 'width=500,height=600');
});
document.getElementById('logout').addEventListener('click', function () {
  var f = document.createElement('iframe');
  f.style.display = 'none';
  f.src = config.tokenLogoutUrl + (config.tokenLogoutUrl.indexOf('?') < 0 ? '?' : '&') +
    'id_token_hint=' + encodeURIComponent(held.idToken);
  document.body.appendChild(f);
});
`

// ssoHTMLScript is the popup landing page's side (Jitsi's static/sso.html).
const ssoHTMLScript = `
(async function () {
  function done(msg) {
    document.getElementById('status').textContent = msg.type + (msg.error ? ': ' + msg.error : '');
    (window.opener || window.parent).postMessage(msg, window.location.origin);
    if (window.opener) { setTimeout(function () { window.close(); }, 200); }
  }
  try {
    var params = new URLSearchParams(window.location.search);
    if (!params.get('state')) { throw new Error('no state'); }
    var state = JSON.parse(decodeURIComponent(params.get('state')));
    if (params.get('error')) { done({type: 'oauth-error', error: params.get('error_description') || params.get('error')}); return; }
    var body;
    if (state.refreshToken) {
      body = 'grant_type=refresh_token&refresh_token=' + encodeURIComponent(state.refreshToken) +
        '&client_id=' + encodeURIComponent(config.sso.clientId);
    } else {
      var verifier = sessionStorage.getItem('code_verifier');
      if (!params.get('code') || !verifier || !sessionStorage.getItem('oauth_nonce')) { throw new Error('missing code, verifier or nonce'); }
      body = 'grant_type=authorization_code&code=' + encodeURIComponent(params.get('code')) +
        '&redirect_uri=' + encodeURIComponent(window.location.origin + window.location.pathname) +
        '&client_id=' + encodeURIComponent(config.sso.clientId) + '&code_verifier=' + encodeURIComponent(verifier);
    }
    var resp = await fetch(config.sso.tokenService + '/token', {method: 'POST',
      headers: {'Content-Type': 'application/x-www-form-urlencoded'}, body: body});
    var data = await resp.json();
    if (!resp.ok) { throw new Error(data.error_description || data.error || ('HTTP ' + resp.status)); }
    if (!data.access_token || !data.id_token) { throw new Error('answer without access_token or id_token'); }
    var claims = JSON.parse(atob(data.id_token.split('.')[1].replace(/-/g, '+').replace(/_/g, '/')));
    if (!state.refreshToken && claims.nonce !== sessionStorage.getItem('oauth_nonce')) { throw new Error('nonce mismatch'); }
    done({type: 'oauth-success', accessToken: data.access_token, idToken: data.id_token, refreshToken: data.refresh_token});
  } catch (e) {
    done({type: 'oauth-error', error: String(e.message || e)});
  }
})();
`
