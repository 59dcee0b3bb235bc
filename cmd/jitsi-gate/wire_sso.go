package main

import (
	"log/slog"
	"net/url"
	"strings"

	"github.com/jitsi-gate/jitsi-gate/internal/sso"
)

// buildSSO is Jitsi's inline sign-in (sso.clients), served at
// <public_url>/sso/; nil when it is off. Its grants live in the store, so
// replicas on one PostgreSQL agree.
func buildSSO(g *gateway, publicURL *url.URL, logger *slog.Logger, ps *problems) *sso.Server {
	c := g.cfg.SSO
	if !c.Enabled() || g.store == nil || g.grants == nil || g.signer == nil || g.logins == nil || g.jitsi == nil {
		return nil
	}
	clients := make([]sso.Client, 0, len(c.Clients))
	for _, cl := range c.Clients {
		clients = append(clients, sso.Client{ID: cl.ClientID, RedirectURIs: cl.RedirectURIs})
	}
	srv, err := sso.New(sso.Options{
		Issuer:          strings.TrimSuffix(publicURL.String(), "/") + "/sso",
		Clients:         clients,
		Secret:          []byte(g.cfg.Session.Secret),
		RefreshLifetime: c.RefreshTokenLifetime,
		Grants:          g.store,
		Logins:          g.logins,
		Granter:         g.grants,
		Signer:          g.signer,
		Jitsi:           g.jitsi,
		Log:             logger,
	})
	if err != nil {
		ps.add("sso", err)
		return nil
	}
	return srv
}
