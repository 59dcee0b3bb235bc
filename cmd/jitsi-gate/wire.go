package main

import (
	"context"
	"crypto/rsa"
	"errors"
	"fmt"
	"html/template"
	"io"
	"log/slog"
	"net/http"
	"net/netip"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync/atomic"
	"time"

	"github.com/microcosm-cc/bluemonday"

	"github.com/jitsi-gate/jitsi-gate/internal/auth"
	"github.com/jitsi-gate/jitsi-gate/internal/auth/ldap"
	"github.com/jitsi-gate/jitsi-gate/internal/auth/oidc"
	"github.com/jitsi-gate/jitsi-gate/internal/auth/static"
	"github.com/jitsi-gate/jitsi-gate/internal/config"
	"github.com/jitsi-gate/jitsi-gate/internal/grant"
	"github.com/jitsi-gate/jitsi-gate/internal/invites"
	"github.com/jitsi-gate/jitsi-gate/internal/metrics"
	"github.com/jitsi-gate/jitsi-gate/internal/policy"
	"github.com/jitsi-gate/jitsi-gate/internal/reservation"
	"github.com/jitsi-gate/jitsi-gate/internal/room"
	"github.com/jitsi-gate/jitsi-gate/internal/rooms"
	"github.com/jitsi-gate/jitsi-gate/internal/session"
	"github.com/jitsi-gate/jitsi-gate/internal/signin"
	"github.com/jitsi-gate/jitsi-gate/internal/store"
	"github.com/jitsi-gate/jitsi-gate/internal/target"
	"github.com/jitsi-gate/jitsi-gate/internal/token"
	staticfiles "github.com/jitsi-gate/jitsi-gate/static"
	"github.com/jitsi-gate/jitsi-gate/templates"
	"github.com/jitsi-gate/jitsi-gate/web"
)

// loadConfig reads the file named by -config, or the embedded demo
// configuration when path is empty.
func loadConfig(path string, getenv func(string) string) (*config.Config, error) {
	if path == "" {
		return config.Default(getenv)
	}
	return config.Load(path, getenv)
}

// newLogger builds the process logger from the log section.
func newLogger(w io.Writer, c config.Log) *slog.Logger {
	var level slog.Level
	_ = level.UnmarshalText([]byte(c.Level)) // validated by config
	opts := &slog.HandlerOptions{Level: level}
	if c.Format == "json" {
		return slog.New(slog.NewJSONHandler(w, opts))
	}
	return slog.New(slog.NewTextHandler(w, opts))
}

// loadGateway loads the config at path (the built-in demo for "") and
// builds the gateway, printing every problem to stderr. The commands that
// mint or explain tokens use it, so they see what serve would run.
func loadGateway(ctx context.Context, path string, e env) (*gateway, error) {
	cfg, err := loadConfig(path, e.getenv)
	if err == nil {
		var g *gateway
		if g, err = build(ctx, cfg, newLogger(io.Discard, cfg.Log)); err == nil {
			return g, nil
		}
	}
	printProblems(e.stderr, path, err)
	return nil, exitError{code: 1}
}

// gateway is everything built from a config: what serve runs and what the
// other commands use parts of.
type gateway struct {
	cfg       *config.Config
	policy    *policy.Policy
	grants    *grant.Granter
	jitsi     *target.Jitsi
	signer    *token.Signer
	keys      *token.PublicKeySet
	passwords []auth.PasswordAuthenticator
	redirects []auth.RedirectAuthenticator
	ldaps     map[string]*ldap.Authenticator
	statics   map[string]*static.Authenticator
	oidcs     []*oidc.Authenticator
	sessions  *session.Manager
	logins    *signin.Keeper
	store     *store.Store
	rooms     *rooms.Service
	// metrics is nil unless metrics.listen is set; serve runs its
	// listener.
	metrics *metrics.Metrics
	invites *invites.Service
	handler http.Handler
	// draining turns /readyz to 503 during a graceful shutdown (serve.go).
	draining *atomic.Bool
}

// build turns a parsed config into the running parts, exactly as serve
// runs them (check-config calls it too, so whatever check-config accepts,
// serve starts). Each component checks its own settings in its
// constructor; what they refuse comes back as config problems with the
// key path and line, all at once. The caller closes g (the store).
func build(ctx context.Context, cfg *config.Config, logger *slog.Logger) (*gateway, error) {
	g := &gateway{cfg: cfg, ldaps: make(map[string]*ldap.Authenticator),
		statics: make(map[string]*static.Authenticator), draining: new(atomic.Bool)}
	ps := &problems{cfg: cfg}
	g.metrics = buildMetrics(cfg, logger, ps)

	st, err := openStore(ctx, cfg, logger)
	if err != nil {
		ps.add("store", err)
	} else {
		g.store = st
		if g.rooms, err = newRoomService(cfg, st, logger); err != nil {
			ps.add("rooms", err)
		} else if g.invites, err = newInviteService(cfg, st, g.rooms, logger, g.metrics); err != nil {
			ps.add("invites", err)
		}
	}

	g.policy = buildPolicy(cfg.Rules, ps)
	if g.policy != nil {
		_, grace := cfg.Rooms.Early()
		var registry grant.Rooms
		if g.rooms != nil {
			registry = g.rooms
		}
		g.grants, err = grant.New(g.policy, grant.Settings{Issuer: cfg.Jitsi.AppID, Audience: cfg.Jitsi.Audience,
			XMPPDomain: cfg.Jitsi.XMPPDomain, TokenLifetime: cfg.Jitsi.TokenLifetime, RoomGrace: grace}, registry)
		if err != nil {
			ps.add("jitsi", err)
		}
	}
	g.signer, g.keys = buildSigner(cfg.Jitsi.Signing, ps)
	g.jitsi = buildJitsi(cfg, ps)

	publicURL := strings.TrimSuffix(cfg.Server.PublicURL, "/")
	for i, b := range cfg.Backends {
		path := fmt.Sprintf("backends[%d]", i)
		switch b.Type {
		case "static":
			users := make([]static.User, 0, len(b.Users))
			for _, u := range b.Users {
				users = append(users, static.User{Username: u.Username, PasswordHash: u.PasswordHash,
					Name: u.Name, Email: u.Email, Groups: u.Groups})
			}
			a, err := static.New(b.ID, b.Label, users, static.Observe(g.observer(b.ID)))
			if err != nil {
				ps.add(path, err)
				continue
			}
			g.passwords = append(g.passwords, a)
			g.statics[b.ID] = a
		case "ldap":
			lc := ldapConfig(b)
			lc.Observe = g.observer(b.ID)
			a, err := ldap.New(lc, logger)
			if err != nil {
				ps.add(path, err)
				continue
			}
			g.passwords = append(g.passwords, a)
			g.ldaps[b.ID] = a
		case "oidc":
			oc := oidcConfig(b, publicURL)
			oc.Observe = g.observer(b.ID)
			a, err := oidc.New(oc, logger)
			if err != nil {
				ps.add(path, err)
				continue
			}
			g.redirects = append(g.redirects, a)
			g.oidcs = append(g.oidcs, a)
		default:
			ps.add(path+".type", fmt.Errorf("unknown type %q", b.Type))
		}
	}

	publicU, err := url.Parse(publicURL)
	if err != nil {
		ps.add("server.public_url", err)
		return nil, ps.err()
	}
	sessions, err := session.NewManager(session.Options{
		Secret:     []byte(cfg.Session.Secret),
		Lifetime:   cfg.Session.Lifetime,
		Secure:     publicU.Scheme == "https",
		CookieName: cfg.Session.CookieName,
		Path:       cookiePath(publicU),
	})
	if err != nil {
		ps.add("session", err)
	}
	g.sessions = sessions

	if g.store != nil {
		refreshers := make(map[string]auth.Refresher)
		for id, a := range g.ldaps {
			refreshers[id] = a
		}
		for id, a := range g.statics {
			refreshers[id] = a
		}
		g.logins, err = signin.New(signin.Options{Records: g.store, Refreshers: refreshers,
			RefreshGroups: cfg.Session.RefreshGroups, Log: logger})
		if err != nil {
			ps.add("session.refresh_groups", err)
		}
	}

	if err := ps.err(); err != nil {
		g.Close()
		return nil, err
	}
	g.handler = newHandler(g, publicU, logger, ps)
	if err := ps.err(); err != nil {
		g.Close()
		return nil, err
	}
	return g, nil
}

// buildMetrics is the Prometheus registry when metrics.listen is set, nil
// otherwise. The configured backend ids and rule names are its label
// values, so their counters start at 0.
func buildMetrics(cfg *config.Config, logger *slog.Logger, ps *problems) *metrics.Metrics {
	if cfg.Metrics.Listen == "" {
		return nil
	}
	opts := metrics.Options{Version: version, Log: logger}
	for _, b := range cfg.Backends {
		opts.Backends = append(opts.Backends, b.ID)
	}
	for _, r := range cfg.Rules {
		opts.Rules = append(opts.Rules, r.Name)
	}
	m, err := metrics.New(opts)
	if err != nil {
		ps.add("metrics", err)
	}
	return m
}

// observer times a backend's operations into the metrics; nil when
// metrics are off, so the backends do not even read the clock.
func (g *gateway) observer(backend string) func(op string, d time.Duration) {
	if g.metrics == nil {
		return nil
	}
	return g.metrics.BackendObserver(backend)
}

// Close releases what build opened (the store).
func (g *gateway) Close() {
	if g.store != nil {
		_ = g.store.Close()
		g.store = nil
	}
}

// minReservationsToken is the shortest reservations.token accepted: it is
// the only thing between the internet and Prosody's decision to create a
// room.
const minReservationsToken = 32

// buildReservations is Prosody's mod_reservations API over the room
// registry, mounted at <public_url>/reservations; nil when reservations
// are off (no token).
func buildReservations(g *gateway, prefix string, logger *slog.Logger, ps *problems) http.Handler {
	rc := g.cfg.Reservations
	if !rc.Enabled() || g.rooms == nil {
		return nil
	}
	if len(rc.Token) < minReservationsToken {
		key := "reservations.token"
		if rc.TokenFile != "" {
			key = "reservations.token_file" // name the setting the admin wrote
		}
		ps.add(key, fmt.Errorf("is %d bytes, need at least %d (openssl rand -hex 32)", len(rc.Token), minReservationsToken))
		return nil
	}
	_, grace := g.cfg.Rooms.Early()
	if grace == 0 {
		grace = -1 // the handler reads 0 as "default"
	}
	policy := reservation.Deny
	if rc.UnregisteredRooms == "allow" {
		policy = reservation.Allow
	}
	var observe func(string)
	if g.metrics != nil {
		observe = g.metrics.Reservation
	}
	h, err := reservation.New(reservation.Options{
		Token: rc.Token, Prefix: prefix + "/reservations", Rooms: g.rooms.ReservationRooms(), Log: logger,
		Grace: grace, DefaultDuration: rc.DefaultDuration, UnregisteredRooms: policy, Observe: observe,
	})
	if err != nil {
		ps.add("reservations", err)
		return nil
	}
	return h
}

// problems collects what the components refuse, as config problems.
type problems struct {
	cfg  *config.Config
	list config.Problems
}

// policyErrRE finds the rule a policy error is about.
var policyErrRE = regexp.MustCompile(`^policy: (rules\[\d+\])(?: \("[^"]*"\))?: `)

// add records err at path. Errors that name their own setting (a session
// option, a policy rule) are moved to that key.
func (p *problems) add(path string, err error) {
	if joined, ok := err.(interface{ Unwrap() []error }); ok {
		for _, e := range joined.Unwrap() {
			p.add(path, e)
		}
		return
	}
	var already *config.Problems
	if errors.As(err, &already) {
		// A component that reports config problems itself (the store).
		p.list = append(p.list, *already...)
		return
	}
	msg, hint := err.Error(), ""
	var se *session.SettingError
	switch {
	case errors.As(err, &se):
		path, msg, hint = "session."+se.Setting, se.Message, se.Hint
	case policyErrRE.MatchString(msg):
		m := policyErrRE.FindStringSubmatch(msg)
		path, msg = m[1], msg[len(m[0]):]
	}
	p.list = append(p.list, p.cfg.Problem(path, msg, hint))
}

func (p *problems) err() error {
	if len(p.list) == 0 {
		return nil
	}
	return &p.list
}

func buildPolicy(rules []config.Rule, ps *problems) *policy.Policy {
	prs := make([]policy.Rule, 0, len(rules))
	for _, r := range rules {
		prs = append(prs, policy.Rule{
			Name:          r.Name,
			Groups:        r.Match.Groups,
			Backends:      r.Match.Backends,
			Users:         r.Match.Users,
			Tenants:       r.Match.Tenants,
			RoomRoles:     r.Match.RoomRole,
			Role:          policy.Role(r.Role),
			LobbyBypass:   r.LobbyBypass,
			Lobby:         r.Lobby,
			Features:      r.Features,
			Rooms:         r.Rooms,
			TokenLifetime: r.TokenLifetime,
			ManageRooms:   r.ManageRooms,
			Admin:         r.Admin,
		})
	}
	p, err := policy.Compile(prs)
	if err != nil {
		ps.add("rules", err)
	}
	return p
}

// buildJitsi is the Jitsi deployment targets point into: the origin of
// jitsi.url, its tenant and the allowed tenants. Tenants are path segments
// next to Jitsi's own (static, libs, ...), checked by the room package.
func buildJitsi(cfg *config.Config, ps *problems) *target.Jitsi {
	u, err := url.Parse(cfg.Jitsi.URL)
	if err != nil {
		ps.add("jitsi.url", err)
		return nil
	}
	for i, t := range cfg.Jitsi.Tenants {
		if _, err := room.ParseTenant(t); err != nil {
			ps.add(fmt.Sprintf("jitsi.tenants[%d]", i), err)
		}
	}
	if t := cfg.Jitsi.PathTenant(); t != "" {
		if _, err := room.ParseTenant(t); err != nil {
			ps.add("jitsi.url", err)
		}
	}
	return &target.Jitsi{
		URL:             &url.URL{Scheme: u.Scheme, Host: u.Host},
		DefaultTenant:   cfg.Jitsi.PathTenant(),
		Tenants:         cfg.Jitsi.Tenants,
		TokenInFragment: cfg.Jitsi.TokenInFragment,
	}
}

// buildSigner loads the signing key. For RS256 it also returns the public
// keys to serve: the current one and retired ones still in rotation.
func buildSigner(s config.Signing, ps *problems) (*token.Signer, *token.PublicKeySet) {
	const p = "jitsi.signing"
	switch s.Algorithm {
	case "HS256":
		signer, err := token.NewHS256([]byte(s.Secret))
		if err != nil {
			ps.add(p+".secret", err)
		}
		return signer, nil
	case "RS256":
		key, err := token.ReadPrivateKeyFile(s.PrivateKeyFile)
		if err != nil {
			ps.add(p+".private_key_file", err)
			return nil, nil
		}
		signer, err := token.NewRS256(key, s.KeyID)
		if err != nil {
			ps.add(p, err)
			return nil, nil
		}
		pubs := map[string]*rsa.PublicKey{s.KeyID: &key.PublicKey}
		for i, pk := range s.PreviousPublicKeys {
			k, err := token.ReadPublicKeyFile(pk.PublicKeyFile)
			if err != nil {
				ps.add(fmt.Sprintf("%s.previous_public_keys[%d].public_key_file", p, i), err)
				continue
			}
			pubs[pk.KeyID] = k
		}
		set, err := token.NewPublicKeySet(pubs)
		if err != nil {
			ps.add(p+".previous_public_keys", err)
		}
		return signer, set
	default:
		ps.add(p+".algorithm", fmt.Errorf("unsupported %q", s.Algorithm))
		return nil, nil
	}
}

func ldapConfig(b config.Backend) ldap.Config {
	l := b.LDAP
	return ldap.Config{
		ID: b.ID, Label: b.Label,
		URL: l.URL, StartTLS: l.StartTLS, CAFile: l.CAFile, InsecureSkipVerify: l.InsecureSkipVerify,
		BindDN: l.BindDN, BindPassword: l.BindPassword, Timeout: l.Timeout,
		UserSearch: ldap.UserSearch{
			BaseDN: l.UserSearch.BaseDN, Filter: l.UserSearch.Filter, IDAttribute: l.UserSearch.IDAttribute,
			UsernameAttribute: l.UserSearch.UsernameAttribute,
			NameAttribute:     l.UserSearch.NameAttribute, EmailAttribute: l.UserSearch.EmailAttribute,
		},
		GroupSearch: ldap.GroupSearch{
			BaseDN: l.GroupSearch.BaseDN, Filter: l.GroupSearch.Filter,
			NameAttribute: l.GroupSearch.NameAttribute, Nested: l.GroupSearch.Nested,
		},
		MemberOfAttribute: l.MemberOfAttribute,
	}
}

func oidcConfig(b config.Backend, publicURL string) oidc.Config {
	o := b.OIDC
	return oidc.Config{
		ID: b.ID, Label: b.Label,
		Issuer: o.Issuer, ClientID: o.ClientID, ClientSecret: o.ClientSecret,
		Scopes: o.Scopes, RedirectURL: publicURL + "/callback/" + b.ID,
		GroupsClaims: o.GroupsClaim, UserInfo: o.UserInfo,
		NameClaim: o.NameClaim, EmailClaim: o.EmailClaim, IDClaim: o.IDClaim,
		AuthParams: o.AuthParams,
	}
}

// newHandler builds the web server for g; what it refuses goes to ps.
func newHandler(g *gateway, publicURL *url.URL, logger *slog.Logger, ps *problems) http.Handler {
	cfg := g.cfg

	var proxies []netip.Prefix
	for i, p := range cfg.Server.TrustedProxies {
		pfx, err := netip.ParsePrefix(p)
		if err != nil {
			ps.add(fmt.Sprintf("server.trusted_proxies[%d]", i), err)
			continue
		}
		proxies = append(proxies, pfx)
	}

	ui := web.UIOptions{
		Title:           cfg.UI.Title,
		PrimaryColor:    cfg.UI.PrimaryColor,
		FooterHTML:      template.HTML(bluemonday.UGCPolicy().Sanitize(cfg.UI.FooterHTML)), // sanitised here, once
		DefaultLanguage: cfg.UI.DefaultLanguage,
	}
	if cfg.UI.LogoFile != "" {
		logo, err := os.ReadFile(cfg.UI.LogoFile)
		if err != nil {
			ps.add("ui.logo_file", fmt.Errorf("cannot read: %w", err))
		}
		ui.Logo, ui.LogoType = logo, logoType(cfg.UI.LogoFile)
	}
	if dir := cfg.UI.TemplatesDir; dir != "" {
		if st, err := os.Stat(dir); err != nil {
			ps.add("ui.templates_dir", fmt.Errorf("cannot read: %w", err))
		} else if !st.IsDir() {
			ps.add("ui.templates_dir", fmt.Errorf("%s is not a directory", dir))
		}
	}
	prefix := strings.TrimSuffix(publicURL.Path, "/")
	reservations := buildReservations(g, prefix, logger, ps)
	inlineSignIn := buildSSO(g, publicURL, logger, ps)
	if len(ps.list) > 0 {
		return nil
	}

	h, err := web.NewServer(web.Options{
		PublicURL: publicURL,
		Jitsi: web.JitsiOptions{
			URL:               g.jitsi.URL,
			DefaultTenant:     g.jitsi.DefaultTenant,
			Tenants:           g.jitsi.Tenants,
			Preview:           cfg.Jitsi.Preview,
			PreviewRealTokens: cfg.Jitsi.PreviewRealTokens,
			TokenInFragment:   cfg.Jitsi.TokenInFragment,
		},
		UI: ui,
		RateLimit: web.RateLimitOptions{
			PerUser: cfg.RateLimit.PerUser, PerUserGlobal: cfg.RateLimit.PerUserGlobal,
			PerIP: cfg.RateLimit.PerIP, Window: cfg.RateLimit.Window,
		},
		Invites:        web.InviteOptions{PerIP: cfg.Invites.RateLimit.PerIP, Window: cfg.Invites.RateLimit.Window},
		TrustedProxies: proxies,
		Version:        version,
		Draining:       g.draining,
	}, web.Deps{
		Logger:       logger,
		Passwords:    g.passwords,
		Redirects:    g.redirects,
		Grants:       g.grants,
		Signer:       g.signer,
		PublicKeys:   g.keys,
		Sessions:     g.sessions,
		Logins:       g.logins,
		Store:        g.store,
		Reservations: reservations,
		Rooms:        g.rooms,
		Invites:      g.invites,
		Calendars:    buildCalendars(g, ui.Title, logger, ps),
		APITokens:    apiTokens(cfg.API),
		Metrics:      g.metrics,
		SSO:          inlineSignIn,
		Templates:    templates.WithOverrides(cfg.UI.TemplatesDir),
		Static:       staticfiles.FS(),
	})
	if err != nil {
		// Templates overridden by the admin are parsed here.
		ps.add("ui.templates_dir", err)
		return nil
	}
	return h
}

// apiTokens are the JSON API's bearer tokens (api.tokens).
func apiTokens(c config.API) []web.APIToken {
	out := make([]web.APIToken, 0, len(c.Tokens))
	for _, t := range c.Tokens {
		out = append(out, web.APIToken{Name: t.Name, Token: t.Token})
	}
	return out
}

func cookiePath(u *url.URL) string {
	if u.Path == "" {
		return "/"
	}
	return u.Path
}

func logoType(name string) string {
	switch strings.ToLower(filepath.Ext(name)) {
	case ".svg":
		return "image/svg+xml"
	case ".png":
		return "image/png"
	case ".jpg", ".jpeg":
		return "image/jpeg"
	case ".webp":
		return "image/webp"
	default:
		return "application/octet-stream"
	}
}
