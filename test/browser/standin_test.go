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

	"github.com/jitsi-gate/jitsi-gate/internal/jitsiverify"
)

// jitsiStandIn plays the Jitsi web page: the gateway is configured with
// jitsi.url pointing here, so after a login the browser lands here. It
// records every request and checks each token with the independent
// contract verifier, for the room and tenant of the URL it was sent to,
// the way Prosody would.
type jitsiStandIn struct {
	URL string
	srv *httptest.Server

	mu     sync.Mutex
	visits []visit
}

// visit is one page load at the stand-in.
type visit struct {
	RequestURI     string // as the browser sent it (no #fragment: browsers keep it)
	Tenant         string // first path segment when there are two
	RoomSafe       string // last path segment, percent-encoded as sent
	AcceptLanguage string
	JWT            string
	Token          *jitsiverify.Verified // nil when Err != nil
	Err            error                 // why the token was refused
}

func newJitsiStandIn(t *testing.T) *jitsiStandIn {
	t.Helper()
	j := &jitsiStandIn{}
	j.srv = httptest.NewServer(http.HandlerFunc(j.serve))
	j.URL = j.srv.URL
	t.Cleanup(j.srv.Close)
	return j
}

func (j *jitsiStandIn) verifier() *jitsiverify.Config {
	return &jitsiverify.Config{
		AppID: appID, AppSecret: jwtSecret, AcceptedAudiences: []string{appID},
		EnableDomainVerification: true, XMPPDomain: xmppDomain,
	}
}

// verify checks jwt for roomSafe in tenant as Prosody would.
func (j *jitsiStandIn) verify(r *http.Request, jwt, roomSafe, tenant string) (*jitsiverify.Verified, error) {
	if jwt == "" {
		return nil, fmt.Errorf("no jwt in the URL")
	}
	tok, err := j.verifier().Verify(r.Context(), jwt)
	if err != nil {
		return nil, fmt.Errorf("verify: %w", err)
	}
	if err := tok.CheckRoom(roomSafe, tenant); err != nil {
		return nil, fmt.Errorf("room %q tenant %q: %w", roomSafe, tenant, err)
	}
	return tok, nil
}

func (j *jitsiStandIn) serve(w http.ResponseWriter, r *http.Request) {
	if r.URL.Path == "/favicon.ico" {
		http.NotFound(w, r)
		return
	}
	// The raw path: the room arrives percent-encoded exactly as Jitsi's
	// getBackendSafeRoomName writes it (mathe-%c3%bcbung), and that is the
	// form the token's room claim must have.
	rawPath, _, _ := strings.Cut(r.RequestURI, "?")
	segs := strings.Split(strings.Trim(rawPath, "/"), "/")
	v := visit{RequestURI: r.RequestURI, AcceptLanguage: r.Header.Get("Accept-Language"), JWT: r.URL.Query().Get("jwt")}
	switch len(segs) {
	case 1:
		v.RoomSafe = segs[0]
	case 2:
		v.Tenant, v.RoomSafe = segs[0], segs[1]
	default:
		v.Err = fmt.Errorf("path %q is neither /room nor /tenant/room", rawPath)
	}
	if v.Err == nil {
		v.Token, v.Err = j.verify(r, v.JWT, v.RoomSafe, v.Tenant)
	}
	j.mu.Lock()
	j.visits = append(j.visits, v)
	j.mu.Unlock()

	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	room, _ := url.PathUnescape(v.RoomSafe)
	if v.Err != nil {
		w.WriteHeader(http.StatusUnauthorized)
		fmt.Fprintf(w, `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Jitsi stand-in</title><link rel="icon" href="data:,"></head>
<body><h1 id="rejected">Jitsi stand-in: token rejected</h1><p>%s</p></body></html>`, html.EscapeString(v.Err.Error()))
		return
	}
	role := "member"
	if v.Token.Owner() {
		role = "owner"
	}
	fmt.Fprintf(w, `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Jitsi stand-in</title><link rel="icon" href="data:,"></head>
<body><h1 id="joined">joined %s as %s</h1><p id="user">%s</p><p id="tenant">%s</p></body></html>`,
		html.EscapeString(room), role, html.EscapeString(fmt.Sprint(v.Token.User["name"])), html.EscapeString(v.Tenant))
}

// Visits returns a copy of the recorded visits.
func (j *jitsiStandIn) Visits() []visit {
	j.mu.Lock()
	defer j.mu.Unlock()
	return append([]visit(nil), j.visits...)
}

// onlyVisit fails the test unless exactly one visit was recorded and its
// token was accepted; it returns that visit.
func (j *jitsiStandIn) onlyVisit(t *testing.T) visit {
	t.Helper()
	vs := j.Visits()
	if len(vs) != 1 {
		t.Fatalf("Jitsi stand-in saw %d visits, want 1: %+v", len(vs), vs)
	}
	return j.accepted(t, vs[0])
}

// lastVisit fails the test unless there are n visits; it returns the last,
// which must carry an accepted token.
func (j *jitsiStandIn) lastVisit(t *testing.T, n int) visit {
	t.Helper()
	vs := j.Visits()
	if len(vs) != n {
		t.Fatalf("Jitsi stand-in saw %d visits, want %d: %+v", len(vs), n, vs)
	}
	return j.accepted(t, vs[n-1])
}

func (j *jitsiStandIn) accepted(t *testing.T, v visit) visit {
	t.Helper()
	if v.Err != nil {
		t.Fatalf("Jitsi stand-in refused the token of %s: %v", v.RequestURI, v.Err)
	}
	return v
}

// noVisits fails the test when the browser was sent to Jitsi.
func (j *jitsiStandIn) noVisits(t *testing.T) {
	t.Helper()
	if vs := j.Visits(); len(vs) != 0 {
		t.Fatalf("Jitsi stand-in was visited, want no visit: %+v", vs)
	}
}
