package main

import (
	"log/slog"

	"github.com/jitsi-gate/jitsi-gate/internal/calfeed"
)

// buildCalendars is the users' calendar feeds over the room registry; nil
// without one. The key of the feed addresses derives from session.secret.
func buildCalendars(g *gateway, title string, logger *slog.Logger, ps *problems) *calfeed.Service {
	if g.store == nil || g.rooms == nil {
		return nil
	}
	feeds, err := calfeed.New(calfeed.Options{Store: g.store, Rooms: g.rooms, Secret: []byte(g.cfg.Session.Secret),
		PublicURL: g.cfg.Server.PublicURL, Title: title, Log: logger})
	if err != nil {
		ps.add("session.secret", err)
		return nil
	}
	return feeds
}
