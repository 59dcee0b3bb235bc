// Package doctor checks, from the outside, that a running Jitsi and a
// running jitsi-gate agree with each other and with the gateway's config:
// Jitsi's config.js sends users to this gateway, no guest domain lets
// people in without a token, the gateway answers at its public URL and
// serves the RS256 key prosody will fetch, and its reservation API answers
// Prosody's request as mod_reservations expects. What cannot be checked from
// outside (does prosody really reject a forged token?) it turns into exact
// manual tests with ready-made links.
//
// It is best effort: every check runs, each ends as ✓ (fine), ! (worth a
// look) or ✗ (broken), and the report says what each finding means.
package doctor

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/jitsi-gate/jitsi-gate/internal/auth"
	"github.com/jitsi-gate/jitsi-gate/internal/config"
	"github.com/jitsi-gate/jitsi-gate/internal/grant"
	"github.com/jitsi-gate/jitsi-gate/internal/jitsiconf"
	"github.com/jitsi-gate/jitsi-gate/internal/policy"
	"github.com/jitsi-gate/jitsi-gate/internal/room"
	"github.com/jitsi-gate/jitsi-gate/internal/target"
	"github.com/jitsi-gate/jitsi-gate/internal/token"
)

// Limits for what doctor fetches.
const (
	DefaultTimeout = 10 * time.Second
	// MaxBody caps every response body read (config.js is ~100 kB).
	MaxBody = 2 << 20
	// TestTokenLifetime is short: the test tokens are printed to a
	// terminal and an owner token cannot be revoked.
	TestTokenLifetime = 10 * time.Minute
	// TestRoom is the room the test tokens are for.
	TestRoom = "jitsi-gate-doctor"
)

// Status is the outcome of one check.
type Status int

// The outcomes.
const (
	OK   Status = iota // ✓
	Warn               // !
	Fail               // ✗
)

// Symbol is the mark printed in front of a check.
func (s Status) Symbol() string {
	switch s {
	case OK:
		return "✓"
	case Warn:
		return "!"
	default:
		return "✗"
	}
}

// Check is one finding.
type Check struct {
	Status Status
	// Title is one line; Detail explains what it means and what to do.
	Title, Detail string
}

// Section groups checks under a heading.
type Section struct {
	Title  string
	Checks []Check
}

// ManualTest is something only a person with a browser can try.
type ManualTest struct {
	Title  string
	URL    string
	Expect string
	// IfNot says what it means when the expectation fails.
	IfNot string
}

// Report is everything doctor found.
type Report struct {
	GatewayURL, JitsiURL string
	Sections             []Section
	Manual               []ManualTest
}

// Count returns how many checks ended with status s.
func (r *Report) Count(s Status) int {
	n := 0
	for _, sec := range r.Sections {
		for _, c := range sec.Checks {
			if c.Status == s {
				n++
			}
		}
	}
	return n
}

// Failed reports whether any check failed (✗).
func (r *Report) Failed() bool { return r.Count(Fail) > 0 }

// Options are the inputs of Run.
type Options struct {
	// Config is the gateway's parsed config.
	Config *config.Config
	// Settings are the Jitsi-side settings derived from Config
	// (jitsiconf.Build); nil: Run derives them.
	Settings *jitsiconf.Settings
	// JitsiURL is the Jitsi to check; "" means jitsi.url.
	JitsiURL string
	// Signer mints the test token: the gateway's own signer.
	Signer *token.Signer
	// Grants are the gateway's rules: the test token is what they give a
	// made-up teacher.
	Grants *grant.Granter
	// Client makes the requests; nil: a client with Timeout.
	Client *http.Client
	// Timeout bounds each request (default DefaultTimeout).
	Timeout time.Duration
	// Now is the clock for the test tokens (default time.Now).
	Now func() time.Time
}

// Run performs every check and returns the report. It returns an error
// only when it cannot start (no config, no signer); everything that goes
// wrong on the way is a finding in the report.
func Run(ctx context.Context, opts Options) (*Report, error) {
	cfg := opts.Config
	if cfg == nil {
		return nil, errors.New("doctor: no config")
	}
	if opts.Signer == nil {
		return nil, errors.New("doctor: no signer")
	}
	if opts.Grants == nil {
		return nil, errors.New("doctor: no rules (Grants)")
	}
	s := opts.Settings
	if s == nil {
		var err error
		if s, err = jitsiconf.Build(cfg, jitsiconf.Options{}); err != nil {
			return nil, fmt.Errorf("doctor: %w", err)
		}
	}
	if opts.Timeout <= 0 {
		opts.Timeout = DefaultTimeout
	}
	if opts.Client == nil {
		opts.Client = &http.Client{Timeout: opts.Timeout}
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	jitsiRaw := opts.JitsiURL
	if jitsiRaw == "" {
		jitsiRaw = cfg.Jitsi.URL
	}
	ju, err := url.Parse(strings.TrimRight(jitsiRaw, "/"))
	if err != nil || (ju.Scheme != "http" && ju.Scheme != "https") || ju.Host == "" {
		return nil, fmt.Errorf("doctor: Jitsi URL %q is not an http(s) URL", jitsiRaw)
	}
	jitsiOrigin := (&url.URL{Scheme: ju.Scheme, Host: ju.Host}).String()

	d := &run{opts: opts, s: s}
	r := &Report{GatewayURL: s.PublicURL, JitsiURL: jitsiOrigin}
	r.Sections = append(r.Sections, d.checkJitsi(ctx, jitsiOrigin))
	r.Sections = append(r.Sections, d.checkGateway(ctx))
	if s.Reservations != nil {
		r.Sections = append(r.Sections, d.checkReservations(ctx))
	}
	r.Manual = d.manualTests(jitsiOrigin)
	if d.tokenProblem != nil {
		r.Sections = append(r.Sections, Section{Title: "Test tokens", Checks: []Check{*d.tokenProblem}})
	}
	return r, nil
}

type run struct {
	opts         Options
	s            *jitsiconf.Settings
	tokenProblem *Check
}

// get fetches u with the size cap. It returns the body, the status code
// and an error for transport problems and oversized bodies.
func (d *run) get(ctx context.Context, u string) ([]byte, int, error) {
	ctx, cancel := context.WithTimeout(ctx, d.opts.Timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return nil, 0, err
	}
	req.Header.Set("User-Agent", "jitsi-gate-doctor")
	return d.exchange(req)
}

// exchange sends req and reads at most MaxBody bytes of the answer.
func (d *run) exchange(req *http.Request) ([]byte, int, error) {
	resp, err := d.opts.Client.Do(req)
	if err != nil {
		return nil, 0, err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, MaxBody+1))
	if err != nil {
		return nil, resp.StatusCode, fmt.Errorf("read body: %w", err)
	}
	if len(body) > MaxBody {
		return nil, resp.StatusCode, fmt.Errorf("response is larger than %d bytes", MaxBody)
	}
	return body, resp.StatusCode, nil
}

func (d *run) checkJitsi(ctx context.Context, jitsiOrigin string) Section {
	sec := Section{Title: "Jitsi web client (" + jitsiOrigin + "/config.js)"}
	add := func(st Status, title, detail string) {
		sec.Checks = append(sec.Checks, Check{Status: st, Title: title, Detail: detail})
	}

	if cfgURL, err := url.Parse(d.opts.Config.Jitsi.URL); err == nil {
		if o := (&url.URL{Scheme: cfgURL.Scheme, Host: cfgURL.Host}).String(); o != jitsiOrigin {
			add(Warn, "checking "+jitsiOrigin+", but the gateway sends users to jitsi.url "+d.opts.Config.Jitsi.URL,
				"tokens are only useful on the Jitsi in jitsi.url; check that one, or fix jitsi.url.")
		}
	}

	body, status, err := d.get(ctx, jitsiOrigin+"/config.js")
	switch {
	case err != nil:
		add(Fail, "cannot fetch config.js: "+err.Error(),
			"is -jitsi the address users open in their browser? Nothing else on this page could be checked.")
		return sec
	case status != http.StatusOK:
		add(Fail, fmt.Sprintf("config.js answered HTTP %d", status),
			"is -jitsi the address users open in their browser? Nothing else on this page could be checked.")
		return sec
	}
	add(OK, fmt.Sprintf("fetched config.js (%d bytes)", len(body)), "")
	code := stripJSComments(strings.ToValidUTF8(string(body), "\uFFFD"))

	// tokenAuthUrl
	auth := findOption(code, "tokenAuthUrl")
	wantAuth := d.s.PublicURL + "/login"
	switch {
	case auth.isUnset():
		add(Fail, "tokenAuthUrl is not set",
			"Jitsi will not send users without a token to jitsi-gate. Set it to "+d.s.TokenAuthURL+
				" (docker: TOKEN_AUTH_URL in .env; Debian: config.tokenAuthUrl in /etc/jitsi/meet/<host>-config.js).")
	case !auth.Literal:
		add(Warn, "tokenAuthUrl is set to an expression ("+auth.Raw+"), not a plain string",
			"doctor cannot check it; it should evaluate to "+d.s.TokenAuthURL+".")
	case !pointsAt(auth.Value, wantAuth):
		add(Fail, "tokenAuthUrl is "+auth.Value+", not this gateway",
			"set it to "+d.s.TokenAuthURL+" (docker: TOKEN_AUTH_URL; Debian: config.tokenAuthUrl). "+
				"Otherwise users are sent to another login page, or tokens come from another issuer.")
	default:
		add(OK, "tokenAuthUrl points at this gateway: "+auth.Value, "")
		hasState, hasRoom := strings.Contains(auth.Value, "{state}"), strings.Contains(auth.Value, "{room}")
		switch {
		case !hasState && !hasRoom:
			add(Warn, "tokenAuthUrl has neither {state} nor {room}",
				"jitsi-gate cannot tell which room the user wanted: they land on the welcome page and must type it "+
					"again. Use "+d.s.TokenAuthURL+".")
		case !hasState:
			add(Warn, "tokenAuthUrl has {room} but no {state}",
				"{state} carries the tenant and Jitsi's exact room name (roomSafe); without it tenants are lost "+
					"and unusual room names may not match. Use "+d.s.TokenAuthURL+".")
		}
	}

	// tokenLogoutUrl
	logout := findOption(code, "tokenLogoutUrl")
	switch {
	case logout.isUnset():
		add(Warn, "tokenLogoutUrl is not set",
			"Jitsi's logout does not end the jitsi-gate session, so the next visit logs in silently as the same "+
				"user (a problem on shared computers). Set config.tokenLogoutUrl = '"+d.s.TokenLogoutURL+"' "+
				"(docker: in ${CONFIG}/web/custom-config.js).")
	case !logout.Literal:
		add(Warn, "tokenLogoutUrl is set to an expression ("+logout.Raw+")", "it should evaluate to "+d.s.TokenLogoutURL+".")
	case !pointsAt(logout.Value, d.s.PublicURL+"/logout"):
		add(Fail, "tokenLogoutUrl is "+logout.Value+", not this gateway",
			"set it to "+d.s.TokenLogoutURL+"; otherwise logging out of Jitsi leaves the jitsi-gate session alive.")
	default:
		add(OK, "tokenLogoutUrl points at this gateway: "+logout.Value, "")
	}

	// conferenceRequestUrl sends the conference request over HTTP straight
	// to jicofo, past Prosody's reservation check
	// (docs/reference/jitsi-rooms-and-sso.md §1.2).
	if d.s.Reservations != nil {
		if cr := findOption(code, "conferenceRequestUrl"); cr.isUnset() {
			add(OK, "conferenceRequestUrl is not set (conference requests go through Prosody's reservation check)", "")
		} else {
			v := cr.Value
			if !cr.Literal {
				v = cr.Raw
			}
			add(Fail, "conferenceRequestUrl is set ("+v+"): rooms are created past the reservation check",
				"with it the web client asks jicofo over HTTP to create the conference and Prosody's mod_reservations "+
					"never sees the request, so unregistered rooms and rooms outside their times open anyway. Remove it "+
					"(docker sets it only for JaaS; Debian: config.js), and block /conference-request/v1 in nginx "+
					"(docs/rooms.md).")
		}
	}

	// hosts.anonymousdomain
	anon := findOption(code, "anonymousdomain")
	if anon.isUnset() {
		add(OK, "no guest domain (hosts.anonymousdomain is not set)", "")
	} else {
		v := anon.Value
		if !anon.Literal {
			v = anon.Raw
		}
		add(Fail, "hosts.anonymousdomain is set ("+v+"): a guest domain",
			"with a guest domain, people without a token join as anonymous guests and Jitsi never sends them to "+
				"jitsi-gate; anyone can then create rooms or wait to be let in. Remove it (docker: ENABLE_GUESTS=0; "+
				"Debian: remove anonymousdomain from config.js and the guest VirtualHost from prosody).")
	}
	return sec
}

// pointsAt reports whether u is base or base followed by a query or path.
func pointsAt(u, base string) bool {
	if !strings.HasPrefix(u, base) {
		return false
	}
	rest := u[len(base):]
	return rest == "" || rest[0] == '?' || rest[0] == '#'
}

func (d *run) checkGateway(ctx context.Context) Section {
	sec := Section{Title: "jitsi-gate at its public URL (" + d.s.PublicURL + ")"}
	add := func(st Status, title, detail string) {
		sec.Checks = append(sec.Checks, Check{Status: st, Title: title, Detail: detail})
	}

	health := d.s.PublicURL + "/healthz"
	_, status, err := d.get(ctx, health)
	switch {
	case err != nil:
		add(Fail, "cannot reach "+health+": "+err.Error(),
			"browsers cannot reach jitsi-gate at server.public_url. Is it running, and does the reverse proxy forward "+
				"this path (nginx: location ^~ /_auth/ { proxy_pass http://jitsi-gate:8080; })?")
	case status != http.StatusOK:
		add(Fail, fmt.Sprintf("%s answered HTTP %d", health, status),
			"something answers at server.public_url, but not jitsi-gate (or not with the same path). Check the proxy "+
				"location and that public_url includes the path it is served under.")
	default:
		add(OK, health+" answered 200", "")
	}

	if d.s.Algorithm != "RS256" {
		return sec
	}
	kid := d.s.KeyID
	keyURL := d.s.ASAPKeyServer + "/" + token.ASAPFileName(kid)
	body, status, err := d.get(ctx, keyURL)
	switch {
	case err != nil:
		add(Fail, "cannot fetch the public key "+keyURL+": "+err.Error(),
			"prosody fetches this URL (asap_key_server) to check every RS256 token; if it cannot, every login fails "+
				"with \"could not obtain public key\".")
		return sec
	case status != http.StatusOK:
		add(Fail, fmt.Sprintf("public key %s answered HTTP %d", keyURL, status),
			"prosody accepts only 200; every login would fail with \"could not obtain public key\".")
		return sec
	}
	pub, err := token.ParsePublicKeyPEM(body)
	if err != nil {
		add(Fail, "public key "+keyURL+" is not a PEM public key: "+err.Error(), "")
		return sec
	}
	if want := d.opts.Signer.PublicKey(); want != nil && !pub.Equal(want) {
		add(Fail, "the key served for kid "+kid+" is not the public half of private_key_file",
			"another jitsi-gate (an old replica, another config) answers at this URL, or the key changed without a new "+
				"key_id. Every replica needs the same key; a new key needs a new key_id.")
		return sec
	}
	add(OK, "serves the public key for kid "+kid+" at "+keyURL, "")
	return sec
}

// testGrant asks the real rules for the doctor's test token: an identity
// made to fit the first owner rule (its first backend, user and group), so
// the token has the rights a teacher gets, or a member rule's when no owner
// rule admits it. The lifetime is capped at TestTokenLifetime.
func testGrant(ctx context.Context, cfg *config.Config, grants *grant.Granter, now time.Time) (grant.Grant, string, bool) {
	for _, role := range []string{string(policy.Owner), string(policy.Member)} {
		for _, r := range cfg.Rules {
			if r.Role != role {
				continue
			}
			id := auth.Identity{Subject: "jitsi-gate-doctor", Username: "jitsi-gate-doctor", Name: "jitsi-gate doctor"}
			if len(cfg.Backends) > 0 {
				id.Backend = cfg.Backends[0].ID
			}
			if len(r.Match.Backends) > 0 {
				id.Backend = r.Match.Backends[0]
			}
			if len(r.Match.Users) > 0 {
				backend, user := policy.SplitUser(r.Match.Users[0])
				if backend != "" {
					id.Backend = backend
				}
				id.Subject, id.Username = user, user
			}
			if len(r.Match.Groups) > 0 {
				id.Groups = []string{r.Match.Groups[0]}
			}
			tenant := cfg.Jitsi.PathTenant()
			if len(r.Match.Tenants) > 0 {
				tenant = r.Match.Tenants[0]
			}
			g, err := grants.Grant(ctx, grant.Request{Identity: id, Room: testRoomName, Tenant: tenant}, now)
			if err != nil || !g.Decision.Allowed || string(g.Decision.Role) != role {
				continue
			}
			if g.Claims.ExpiresAt.After(now.Add(TestTokenLifetime)) {
				g.Claims.ExpiresAt = now.Add(TestTokenLifetime)
			}
			return g, tenant, true
		}
	}
	return grant.Grant{}, "", false
}

// testRoomName is TestRoom as the room package reads it.
var testRoomName = room.Name{Safe: TestRoom, Display: TestRoom}

// wrongSigner signs like signer but with a key Jitsi cannot know: a random
// secret for HS256, a fresh RSA key under the same kid for RS256 (so
// prosody fetches the real key for that kid and the signature fails).
func wrongSigner(signer *token.Signer) (*token.Signer, error) {
	if signer.Algorithm() == "RS256" {
		key, err := rsa.GenerateKey(rand.Reader, token.MinRSABits)
		if err != nil {
			return nil, err
		}
		return token.NewRS256(key, signer.KeyID())
	}
	b := make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		return nil, err
	}
	return token.NewHS256([]byte(hex.EncodeToString(b)))
}

func (d *run) manualTests(jitsiOrigin string) []ManualTest {
	g, tenant, ok := testGrant(context.Background(), d.opts.Config, d.opts.Grants, d.opts.Now())
	if !ok {
		d.tokenProblem = &Check{Status: Fail, Title: "no owner or member rule admits a test user to " + TestRoom,
			Detail: "the rules deny every identity doctor can make up; jitsi-gate explain shows how a real user fares"}
		return nil
	}
	claims, dec := g.Claims, g.Decision
	origin, err := url.Parse(jitsiOrigin)
	if err != nil {
		d.tokenProblem = &Check{Status: Fail, Title: "cannot read the Jitsi address: " + err.Error()}
		return nil
	}
	jitsi := &target.Jitsi{URL: origin}
	room := target.Target{Room: testRoomName, Tenant: tenant}

	good, err := d.opts.Signer.Mint(claims)
	if err != nil {
		d.tokenProblem = &Check{Status: Fail, Title: "cannot mint a test token: " + err.Error()}
		return nil
	}
	ws, err := wrongSigner(d.opts.Signer)
	if err != nil {
		d.tokenProblem = &Check{Status: Fail, Title: "cannot create a wrong key: " + err.Error()}
		return nil
	}
	bad, err := ws.Mint(claims)
	if err != nil {
		d.tokenProblem = &Check{Status: Fail, Title: "cannot mint the wrong-key token: " + err.Error()}
		return nil
	}
	role := "a member"
	if dec.Moderator {
		role = "moderator"
	}
	wrong := "secret"
	if d.opts.Signer.Algorithm() == "RS256" {
		wrong = "key (same kid " + d.opts.Signer.KeyID() + ")"
	}
	mins := int(TestTokenLifetime / time.Minute)
	return []ManualTest{
		{
			Title: fmt.Sprintf("A token from this gateway (rule %q) is accepted", dec.Rule),
			URL:   jitsi.RoomURL(room, good),
			Expect: fmt.Sprintf("you join %s as %s (valid %d minutes; it is a real token, do not share it).",
				TestRoom, role, mins),
			IfNot: "\"Authentication failed\": prosody rejected it; its log says why (grep 'Error verifying token' " +
				"/var/log/prosody/prosody.log, docker: docker compose logs prosody): app_id/secret/issuer/audience " +
				"differ from `jitsi-gate jitsi-config`. \"Not allowed to join\" with room-mismatch: jitsi.xmpp_domain " +
				"is not prosody's XMPP domain. You join but are not moderator: jicofo auth is on, or token_affiliation " +
				"is not loaded: older Jitsi has no core token_affiliation (doctor cannot see prosody's plugins over " +
				"HTTP; check: ls /usr/share/jitsi-meet/prosody-plugins/mod_token_affiliation.lua, docker: docker " +
				"compose exec prosody ls /prosody-plugins/mod_token_affiliation.lua); without it list jitsi-contrib's " +
				"token_affiliation_legacy instead (docker bundles it as /prosody-plugins-contrib/token_affiliation_legacy/; " +
				"on Debian install it, see docs/howto.md).",
		},
		{
			Title: "Jitsi rejects a token signed with a wrong " + wrong,
			URL:   jitsi.RoomURL(room, bad),
			Expect: "\"Authentication failed\" / \"Sorry, you're not allowed to join this call\". " +
				"Open it in a private window so no earlier session helps.",
			IfNot: "if you get in, Jitsi does not check tokens at all (the forum's \"Jitsi doesn't bother\" trap): " +
				"the VirtualHost users log into does not use authentication = \"token\" (docker: ENABLE_AUTH=1 and " +
				"AUTH_TYPE=jwt are not in effect; recreate the containers after changing .env), or the token never " +
				"reaches prosody and a login without a token is allowed: allow_empty_token = true (JWT_ALLOW_EMPTY=1) " +
				"or a guest domain (hosts.anonymousdomain / ENABLE_GUESTS=1). Fix this before anything else.",
		},
		{
			Title:  "Without a token Jitsi sends you to this gateway",
			URL:    jitsi.RoomURL(room, ""),
			Expect: "in a private window you are redirected to " + d.s.PublicURL + "/login?… and, after logging in, back to the room.",
			IfNot: "you see a username/password dialog: tokenAuthUrl is not set. You join as a guest: a guest domain or " +
				"allow_empty_token lets people in without a token.",
		},
	}
}

// Write prints the report for a person.
func (r *Report) Write(w io.Writer) {
	fmt.Fprintf(w, "jitsi-gate doctor: gateway %s, Jitsi %s\n", r.GatewayURL, r.JitsiURL)
	for _, sec := range r.Sections {
		fmt.Fprintf(w, "\n%s\n", sec.Title)
		for _, c := range sec.Checks {
			fmt.Fprintf(w, "  %s %s\n", c.Status.Symbol(), c.Title)
			if c.Detail != "" && c.Status != OK {
				for _, line := range jitsiconf.Wrap(c.Detail, 92) {
					fmt.Fprintf(w, "      %s\n", line)
				}
			}
		}
	}
	if len(r.Manual) > 0 {
		fmt.Fprintf(w, "\nManual tests (open each link in a private browser window)\n")
		for i, m := range r.Manual {
			fmt.Fprintf(w, "  %d. %s\n     %s\n", i+1, m.Title, m.URL)
			for _, line := range jitsiconf.Wrap("Expected: "+m.Expect, 92) {
				fmt.Fprintf(w, "     %s\n", line)
			}
			for _, line := range jitsiconf.Wrap("If not: "+m.IfNot, 92) {
				fmt.Fprintf(w, "     %s\n", line)
			}
		}
	}
	fails, warns := r.Count(Fail), r.Count(Warn)
	fmt.Fprintf(w, "\n%d problem(s) ✗, %d warning(s) !\n", fails, warns)
}
