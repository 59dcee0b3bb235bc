// Package web is the HTTP side of jitsi-gate: the pages, the login flows,
// the /join endpoint that mints Jitsi tokens, and the public keys Prosody
// fetches. Handlers are plain net/http; every dependency comes in through
// NewServer, and routes.go lists the whole surface.
package web

import (
	"crypto/rand"
	"errors"
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
	"github.com/jitsi-gate/jitsi-gate/internal/policy"
	"github.com/jitsi-gate/jitsi-gate/internal/ratelimit"
	"github.com/jitsi-gate/jitsi-gate/internal/session"
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
	// TrustedProxies are the peers whose X-Forwarded-For is believed.
	TrustedProxies []netip.Prefix
	// Version is shown in /healthz.
	Version string
	// Draining, once true, makes /readyz answer 503 so load balancers stop
	// sending requests while serve finishes the ones in flight (graceful
	// shutdown). nil: never draining.
	Draining *atomic.Bool
}

// JitsiOptions describe the Jitsi deployment tokens are minted for.
type JitsiOptions struct {
	// URL is the Jitsi origin (scheme and host, no path).
	URL *url.URL
	// DefaultTenant is the tenant from the path of jitsi.url ("" for none).
	DefaultTenant string
	// Tenants is the allow-list of tenants; empty allows any valid tenant
	// (or only DefaultTenant when that is set).
	Tenants       []string
	XMPPDomain    string
	Issuer        string
	Audience      string
	TokenLifetime time.Duration
	Preview       bool
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
	Policy    *policy.Policy
	Signer    *token.Signer
	// PublicKeys are served to Prosody for RS256; nil for HS256.
	PublicKeys *token.PublicKeySet
	Sessions   *session.Manager
	// Templates holds the page templates (embedded, possibly overlaid by
	// ui.templates_dir); Static holds CSS, JS and images.
	Templates fs.FS
	Static    fs.FS
	// Now is the clock (tests); nil means time.Now.
	Now func() time.Time
}

// server holds what the handlers share. It is unexported: handlers are
// built by maker functions in routes.go from its fields.
type server struct {
	opts      Options
	log       *slog.Logger
	pages     *pages
	backends  []backendInfo
	passwords map[string]auth.PasswordAuthenticator
	redirects map[string]auth.RedirectAuthenticator
	policy    *policy.Policy
	signer    *token.Signer
	keys      *token.PublicKeySet
	sessions  *session.Manager
	static    fs.FS
	now       func() time.Time
	prefix    string // PublicURL path without trailing slash ("" or "/_auth")
	// perUser is keyed by backend, folded username and client network;
	// perUserGlobal by backend and folded username; perIP by network.
	perUser       *ratelimit.Limiter
	perUserGlobal *ratelimit.Limiter
	perIP         *ratelimit.Limiter
}

// backendInfo is what the login page needs to show a backend.
type backendInfo struct {
	ID       string
	Label    string
	Password bool // a username/password form; otherwise a button
}

// NewServer builds the gateway's http.Handler.
func NewServer(opts Options, deps Deps) (http.Handler, error) {
	if err := checkDeps(opts, deps); err != nil {
		return nil, err
	}
	s := &server{
		opts:      opts,
		log:       deps.Logger,
		passwords: make(map[string]auth.PasswordAuthenticator),
		redirects: make(map[string]auth.RedirectAuthenticator),
		policy:    deps.Policy,
		signer:    deps.Signer,
		keys:      deps.PublicKeys,
		sessions:  deps.Sessions,
		static:    deps.Static,
		now:       deps.Now,
		prefix:    strings.TrimSuffix(opts.PublicURL.Path, "/"),
		perUser:   ratelimit.New(opts.RateLimit.PerUser, opts.RateLimit.Window, 0),
		perIP:     ratelimit.New(opts.RateLimit.PerIP, opts.RateLimit.Window, 0),
	}
	globalLimit := opts.RateLimit.PerUserGlobal
	if globalLimit == 0 {
		globalLimit = 10 * opts.RateLimit.PerUser
	}
	s.perUserGlobal = ratelimit.New(globalLimit, opts.RateLimit.Window, 0)
	if s.now == nil {
		s.now = time.Now
	}
	if opts.Jitsi.Preview && !opts.Jitsi.PreviewRealTokens {
		throwaway, err := token.NewHS256([]byte(rand.Text() + rand.Text()))
		if err != nil {
			return nil, fmt.Errorf("preview signer: %w", err)
		}
		s.signer = throwaway
	}
	for _, b := range deps.Passwords {
		if err := s.addBackend(b.ID(), b.Label(), true); err != nil {
			return nil, err
		}
		s.passwords[b.ID()] = b
	}
	for _, b := range deps.Redirects {
		if err := s.addBackend(b.ID(), b.Label(), false); err != nil {
			return nil, err
		}
		s.redirects[b.ID()] = b
	}
	p, err := parsePages(deps.Templates)
	if err != nil {
		return nil, err
	}
	s.pages = p
	return s.routes(), nil
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
	if deps.Policy == nil {
		missing = append(missing, "Policy")
	}
	if deps.Signer == nil {
		missing = append(missing, "Signer")
	}
	if deps.Sessions == nil {
		missing = append(missing, "Sessions")
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

func (s *server) addBackend(id, label string, password bool) error {
	for _, b := range s.backends {
		if b.ID == id {
			return fmt.Errorf("web: duplicate backend id %q", id)
		}
	}
	if id == "" {
		return errors.New("web: backend with empty id")
	}
	s.backends = append(s.backends, backendInfo{ID: id, Label: label, Password: password})
	return nil
}

// path returns the absolute path of a route under the public URL prefix.
func (s *server) path(p string) string { return s.prefix + p }

// absURL returns the public absolute URL of a route (for redirect URIs).
func (s *server) absURL(p string) string {
	u := *s.opts.PublicURL
	u.Path = s.prefix + p
	u.RawPath = ""
	u.RawQuery = ""
	u.Fragment = ""
	return u.String()
}

// refuseWhileDraining answers /readyz with 503 once serve has begun its
// graceful shutdown, without asking the backends, and reports whether it
// did.
func (s *server) refuseWhileDraining(w http.ResponseWriter) bool {
	if s.opts.Draining == nil || !s.opts.Draining.Load() {
		return false
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(http.StatusServiceUnavailable)
	_, _ = w.Write([]byte(`{"status":"shutting down"}` + "\n"))
	return true
}
