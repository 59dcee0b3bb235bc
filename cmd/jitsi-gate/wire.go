package main

import (
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
	"strings"

	"github.com/microcosm-cc/bluemonday"

	"github.com/jitsi-gate/jitsi-gate/internal/auth"
	"github.com/jitsi-gate/jitsi-gate/internal/auth/ldap"
	"github.com/jitsi-gate/jitsi-gate/internal/auth/oidc"
	"github.com/jitsi-gate/jitsi-gate/internal/auth/static"
	"github.com/jitsi-gate/jitsi-gate/internal/config"
	"github.com/jitsi-gate/jitsi-gate/internal/policy"
	"github.com/jitsi-gate/jitsi-gate/internal/session"
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

// gateway is everything built from a config: what serve runs and what the
// other commands use parts of.
type gateway struct {
	cfg       *config.Config
	policy    *policy.Policy
	signer    *token.Signer
	keys      *token.PublicKeySet
	passwords []auth.PasswordAuthenticator
	redirects []auth.RedirectAuthenticator
	ldaps     map[string]*ldap.Authenticator
	oidcs     []*oidc.Authenticator
}

// build turns a validated config into working components. Errors here are
// the ones only a real attempt finds (an unusable key file, a backend that
// refuses its settings); they are collected and returned together.
func build(cfg *config.Config, logger *slog.Logger) (*gateway, error) {
	g := &gateway{cfg: cfg, ldaps: make(map[string]*ldap.Authenticator)}
	var errs []error

	pol, err := buildPolicy(cfg.Rules)
	if err != nil {
		errs = append(errs, err)
	}
	g.policy = pol

	g.signer, g.keys, err = buildSigner(cfg.Jitsi.Signing)
	if err != nil {
		errs = append(errs, err)
	}

	publicURL := strings.TrimSuffix(cfg.Server.PublicURL, "/")
	for i, b := range cfg.Backends {
		path := fmt.Sprintf("backends[%d] (%s)", i, b.ID)
		switch b.Type {
		case "static":
			users := make([]static.User, 0, len(b.Users))
			for _, u := range b.Users {
				users = append(users, static.User{Username: u.Username, PasswordHash: u.PasswordHash,
					Name: u.Name, Email: u.Email, Groups: u.Groups})
			}
			a, err := static.New(b.ID, b.Label, users)
			if err != nil {
				errs = append(errs, fmt.Errorf("%s: %w", path, err))
				continue
			}
			g.passwords = append(g.passwords, a)
		case "ldap":
			a, err := ldap.New(ldapConfig(b), logger)
			if err != nil {
				errs = append(errs, fmt.Errorf("%s: %w", path, err))
				continue
			}
			g.passwords = append(g.passwords, a)
			g.ldaps[b.ID] = a
		case "oidc":
			a, err := oidc.New(oidcConfig(b, publicURL), logger)
			if err != nil {
				errs = append(errs, fmt.Errorf("%s: %w", path, err))
				continue
			}
			g.redirects = append(g.redirects, a)
			g.oidcs = append(g.oidcs, a)
		default:
			errs = append(errs, fmt.Errorf("%s: unknown type %q", path, b.Type))
		}
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	return g, nil
}

func buildPolicy(rules []config.Rule) (*policy.Policy, error) {
	prs := make([]policy.Rule, 0, len(rules))
	for _, r := range rules {
		prs = append(prs, policy.Rule{
			Name:          r.Name,
			Groups:        r.Match.Groups,
			Backends:      r.Match.Backends,
			Users:         r.Match.Users,
			Tenants:       r.Match.Tenants,
			Role:          policy.Role(r.Role),
			LobbyBypass:   r.LobbyBypass,
			Lobby:         r.Lobby,
			Features:      r.Features,
			Rooms:         r.Rooms,
			TokenLifetime: r.TokenLifetime,
		})
	}
	p, err := policy.Compile(prs)
	if err != nil {
		return nil, fmt.Errorf("rules: %w", err)
	}
	return p, nil
}

// buildSigner loads the signing key. For RS256 it also returns the public
// keys to serve: the current one and retired ones still in rotation.
func buildSigner(s config.Signing) (*token.Signer, *token.PublicKeySet, error) {
	switch s.Algorithm {
	case "HS256":
		signer, err := token.NewHS256([]byte(s.Secret))
		if err != nil {
			return nil, nil, fmt.Errorf("jitsi.signing.secret: %w", err)
		}
		return signer, nil, nil
	case "RS256":
		// The config loader has read and checked the key files.
		key := s.PrivateKey
		if key == nil {
			return nil, nil, fmt.Errorf("jitsi.signing.private_key_file %s: no key loaded", s.PrivateKeyFile)
		}
		signer, err := token.NewRS256(key, s.KeyID)
		if err != nil {
			return nil, nil, fmt.Errorf("jitsi.signing: %w", err)
		}
		pubs := map[string]*rsa.PublicKey{s.KeyID: &key.PublicKey}
		for i, p := range s.PreviousPublicKeys {
			if p.Key == nil {
				return nil, nil, fmt.Errorf("jitsi.signing.previous_public_keys[%d] %s: no key loaded", i, p.PublicKeyFile)
			}
			pubs[p.KeyID] = p.Key
		}
		set, err := token.NewPublicKeySet(pubs)
		if err != nil {
			return nil, nil, fmt.Errorf("jitsi.signing: %w", err)
		}
		return signer, set, nil
	default:
		return nil, nil, fmt.Errorf("jitsi.signing.algorithm: unsupported %q", s.Algorithm)
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

// newHandler builds the web server for g.
func newHandler(g *gateway, logger *slog.Logger) (http.Handler, error) {
	cfg := g.cfg
	publicURL, err := url.Parse(strings.TrimSuffix(cfg.Server.PublicURL, "/"))
	if err != nil {
		return nil, fmt.Errorf("server.public_url: %w", err)
	}
	jitsiURL, err := url.Parse(cfg.Jitsi.URL)
	if err != nil {
		return nil, fmt.Errorf("jitsi.url: %w", err)
	}
	jitsiOrigin := &url.URL{Scheme: jitsiURL.Scheme, Host: jitsiURL.Host}

	var proxies []netip.Prefix
	for _, p := range cfg.Server.TrustedProxies {
		pfx, err := netip.ParsePrefix(p)
		if err != nil {
			return nil, fmt.Errorf("server.trusted_proxies: %w", err)
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
			return nil, fmt.Errorf("ui.logo_file: %w", err)
		}
		ui.Logo, ui.LogoType = logo, logoType(cfg.UI.LogoFile)
	}

	sessions, err := session.NewManager(session.Options{
		Secret:     []byte(cfg.Session.Secret),
		Lifetime:   cfg.Session.Lifetime,
		Secure:     publicURL.Scheme == "https",
		CookieName: cfg.Session.CookieName,
		Path:       cookiePath(publicURL),
	})
	if err != nil {
		return nil, fmt.Errorf("session: %w", err)
	}

	return web.NewServer(web.Options{
		PublicURL: publicURL,
		Jitsi: web.JitsiOptions{
			URL:             jitsiOrigin,
			DefaultTenant:   cfg.Jitsi.PathTenant(),
			Tenants:         cfg.Jitsi.Tenants,
			XMPPDomain:      cfg.Jitsi.XMPPDomain,
			Issuer:          cfg.Jitsi.AppID,
			Audience:        cfg.Jitsi.Audience,
			TokenLifetime:   cfg.Jitsi.TokenLifetime,
			Preview:         cfg.Jitsi.Preview,
			TokenInFragment: cfg.Jitsi.TokenInFragment,
		},
		UI: ui,
		RateLimit: web.RateLimitOptions{
			PerUser: cfg.RateLimit.PerUser, PerIP: cfg.RateLimit.PerIP, Window: cfg.RateLimit.Window,
		},
		TrustedProxies: proxies,
		Version:        version,
	}, web.Deps{
		Logger:     logger,
		Passwords:  g.passwords,
		Redirects:  g.redirects,
		Policy:     g.policy,
		Signer:     g.signer,
		PublicKeys: g.keys,
		Sessions:   sessions,
		Templates:  templates.WithOverrides(cfg.UI.TemplatesDir),
		Static:     staticfiles.FS(),
	})
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
