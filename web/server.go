// Package web is the HTTP side of jitsi-gate: the pages, the login flows,
// the /join endpoint that mints Jitsi tokens, and the public keys Prosody
// fetches. Handlers are plain net/http; every dependency comes in through
// NewServer, and routes.go lists the whole surface.
package web

import (
	"crypto/rand"
	"fmt"
	"html/template"
	"io/fs"
	"log/slog"
	"net/http"
	"net/netip"
	"net/url"
	"strings"
	"sync/atomic"
	"time"

	"github.com/jitsi-gate/jitsi-gate/internal/auth"
	"github.com/jitsi-gate/jitsi-gate/internal/calfeed"
	"github.com/jitsi-gate/jitsi-gate/internal/grant"
	"github.com/jitsi-gate/jitsi-gate/internal/invites"
	"github.com/jitsi-gate/jitsi-gate/internal/metrics"
	"github.com/jitsi-gate/jitsi-gate/internal/rooms"
	"github.com/jitsi-gate/jitsi-gate/internal/session"
	"github.com/jitsi-gate/jitsi-gate/internal/signin"
	"github.com/jitsi-gate/jitsi-gate/internal/sso"
	"github.com/jitsi-gate/jitsi-gate/internal/target"
	"github.com/jitsi-gate/jitsi-gate/internal/token"
)

// Options are the settings of the web layer, already validated by the
// config package and converted by cmd/jitsi-gate.
type Options struct {
	// PublicURL is how browsers reach the gateway. Its path (e.g. /_auth)
	// prefixes every route.
	PublicURL *url.URL
	Jitsi     JitsiOptions
	UI        UIOptions
	RateLimit RateLimitOptions
	// Invites bound the guest invitation pages (handle_invite.go).
	Invites InviteOptions
	// TrustedProxies are the peers whose X-Forwarded-For is believed.
	TrustedProxies []netip.Prefix
	// Version is shown in /healthz.
	Version string
	// Draining, once true, makes /readyz answer 503 so load balancers stop
	// sending requests while serve finishes the ones in flight (graceful
	// shutdown). nil: never draining.
	Draining *atomic.Bool
}

// JitsiOptions describe the Jitsi deployment the browser is sent to. What
// the tokens say (issuer, audience, lifetimes) is the Granter's business.
type JitsiOptions struct {
	// URL is the Jitsi origin (scheme and host, no path).
	URL *url.URL
	// DefaultTenant is the tenant from the path of jitsi.url ("" for none).
	DefaultTenant string
	// Tenants is the allow-list of tenants; empty allows any valid tenant
	// (or only DefaultTenant when that is set).
	Tenants []string
	Preview bool
	// PreviewRealTokens signs previewed tokens with Deps.Signer. Off (the
	// default), the preview shows a token signed with a throw-away key made
	// at start, which no Jitsi accepts.
	PreviewRealTokens bool
	TokenInFragment   bool
}

// UIOptions are the school's branding.
type UIOptions struct {
	Title           string
	PrimaryColor    string
	FooterHTML      template.HTML // already sanitised
	Logo            []byte        // nil: the embedded default logo
	LogoType        string        // Content-Type of Logo
	DefaultLanguage string
}

// RateLimitOptions bound password guessing. Client networks are IPv4
// addresses and IPv6 /64s.
type RateLimitOptions struct {
	// PerUser limits failed attempts per username and client network.
	PerUser int
	// PerUserGlobal limits failed attempts per username from all networks;
	// 0 means 10 × PerUser.
	PerUserGlobal int
	// PerIP limits attempts per client network.
	PerIP  int
	Window time.Duration
}

// Deps are the collaborators of the web layer.
type Deps struct {
	Logger    *slog.Logger
	Passwords []auth.PasswordAuthenticator
	Redirects []auth.RedirectAuthenticator
	// Grants evaluates the rules and builds token claims.
	Grants *grant.Granter
	Signer *token.Signer
	// PublicKeys are served to Prosody for RS256; nil for HS256.
	PublicKeys *token.PublicKeySet
	Sessions   *session.Manager
	// Logins are the server-side records of the sessions.
	Logins *signin.Keeper
	// Store is asked by /readyz; nil: not asked.
	Store Pinger
	// Reservations is Prosody's reservation API, mounted at
	// <public_url>/reservations/ (it checks its own bearer token); nil
	// when reservations are off.
	Reservations http.Handler
	// Rooms is the room registry behind the JSON API
	// (<public_url>/api/v1/rooms); nil: the API answers 404.
	Rooms *rooms.Service
	// Calendars are the users' calendar feeds (<public_url>/calendar);
	// nil: those routes answer 404.
	Calendars *calfeed.Service
	// APITokens are the scripts' bearer tokens for the JSON API (admin
	// rights).
	APITokens []APIToken
	// SSO is Jitsi's inline sign-in at <public_url>/sso/; nil when off.
	SSO *sso.Server
	// Invites are the guest invitations (<public_url>/invite/<code>);
	// nil: those routes answer 404.
	Invites *invites.Service
	// Templates holds the page templates (embedded, possibly overlaid by
	// ui.templates_dir); Static holds CSS, JS and images.
	Templates fs.FS
	Static    fs.FS
	// Metrics counts requests, logins, tokens and rate limiter sizes; nil
	// when metrics are off (every method is nil-safe).
	Metrics *metrics.Metrics
	// Now is the clock (tests); nil means time.Now.
	Now func() time.Time
}

// NewServer builds the gateway's http.Handler: it checks the options,
// builds the parts the handlers share and hands each handler exactly what
// it uses (routes.go).
func NewServer(opts Options, deps Deps) (http.Handler, error) {
	if err := checkDeps(opts, deps); err != nil {
		return nil, err
	}
	pages, err := parsePages(deps.Templates)
	if err != nil {
		return nil, err
	}
	backends, err := newBackendSet(deps.Passwords, deps.Redirects)
	if err != nil {
		return nil, err
	}
	now := deps.Now
	if now == nil {
		now = time.Now
	}
	signer := deps.Signer
	if opts.Jitsi.Preview && !opts.Jitsi.PreviewRealTokens {
		throwaway, err := token.NewHS256([]byte(rand.Text() + rand.Text()))
		if err != nil {
			return nil, fmt.Errorf("preview signer: %w", err)
		}
		signer = throwaway
	}
	s := &site{
		log:       deps.Logger,
		pages:     pages,
		ui:        opts.UI,
		publicURL: opts.PublicURL,
		prefix:    strings.TrimSuffix(opts.PublicURL.Path, "/"),
		sessions:  deps.Sessions,
		logins:    deps.Logins,
		metrics:   deps.Metrics,
	}
	jitsi := &target.Jitsi{
		URL:             opts.Jitsi.URL,
		DefaultTenant:   opts.Jitsi.DefaultTenant,
		Tenants:         opts.Jitsi.Tenants,
		TokenInFragment: opts.Jitsi.TokenInFragment,
	}
	return routes(opts, deps, s, jitsi, backends, signer, now), nil
}

func checkDeps(opts Options, deps Deps) error {
	var missing []string
	if opts.PublicURL == nil {
		missing = append(missing, "Options.PublicURL")
	}
	if opts.Jitsi.URL == nil {
		missing = append(missing, "Options.Jitsi.URL")
	}
	if deps.Logger == nil {
		missing = append(missing, "Logger")
	}
	if deps.Grants == nil {
		missing = append(missing, "Grants")
	}
	if deps.Signer == nil {
		missing = append(missing, "Signer")
	}
	if deps.Sessions == nil {
		missing = append(missing, "Sessions")
	}
	if deps.Logins == nil {
		missing = append(missing, "Logins")
	}
	if deps.Templates == nil || deps.Static == nil {
		missing = append(missing, "Templates/Static")
	}
	if len(deps.Passwords)+len(deps.Redirects) == 0 {
		missing = append(missing, "at least one backend")
	}
	if len(missing) > 0 {
		return fmt.Errorf("web: NewServer: missing %s", strings.Join(missing, ", "))
	}
	return nil
}
