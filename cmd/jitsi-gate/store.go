package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"strings"

	"github.com/jackc/pgx/v5/pgconn"

	"github.com/jitsi-gate/jitsi-gate/internal/config"
	"github.com/jitsi-gate/jitsi-gate/internal/rooms"
	"github.com/jitsi-gate/jitsi-gate/internal/store"
)

// openStore opens the database of cfg.Store and applies pending
// migrations. What goes wrong comes back as config problems at
// store.path, store.dsn(_file) or store, never showing the DSN: it may
// hold a password. serve and the rooms and migrate commands use it.
func openStore(ctx context.Context, cfg *config.Config, logger *slog.Logger) (*store.Store, error) {
	return openStoreWith(ctx, cfg, logger, false)
}

// openStoreWith is openStore; skipMigrations leaves the schema alone
// (migrate -status).
func openStoreWith(ctx context.Context, cfg *config.Config, logger *slog.Logger, skipMigrations bool) (*store.Store, error) {
	sc := cfg.Store
	st, err := store.Open(ctx, store.Config{
		Driver: sc.Driver, Path: sc.Path, DSN: sc.DSN, SkipMigrations: skipMigrations,
	}, logger)
	if err == nil {
		return st, nil
	}
	ps := &problems{cfg: cfg}
	path := "store.path"
	if sc.Driver == store.DriverPostgres {
		path = "store.dsn"
		if sc.DSNFile != "" {
			path = "store.dsn_file"
		}
	}
	var pe *pgconn.ParseConfigError
	msg := err.Error()
	switch {
	case errors.As(err, &pe):
		// pgx redacts passwords in this message only on a best-effort
		// basis; say nothing about the value.
		ps.list = append(ps.list, cfg.Problem(path, "is not a valid PostgreSQL connection string (the value is not shown: it may hold a password)",
			"postgres://USER:PASSWORD@HOST:5432/DATABASE?sslmode=verify-full, or key=value pairs: host=db dbname=gate user=gate"))
		return nil, ps.err()
	case strings.Contains(msg, "migrat") || strings.Contains(msg, "schema version") || strings.Contains(msg, "prepare statements"):
		path = "store"
	}
	ps.add(path, errors.New(redactDSN(strings.TrimPrefix(msg, "store: "), sc.DSN)))
	return nil, ps.err()
}

// redactDSN removes the DSN and its password from msg, whatever the
// driver put there.
func redactDSN(msg, dsn string) string {
	if dsn == "" {
		return msg
	}
	msg = strings.ReplaceAll(msg, dsn, "[dsn]")
	if u, err := url.Parse(dsn); err == nil && u.User != nil {
		if pw, ok := u.User.Password(); ok && pw != "" {
			msg = strings.ReplaceAll(msg, pw, "xxxxx")
		}
	}
	for _, field := range strings.Fields(dsn) {
		if k, v, ok := strings.Cut(field, "="); ok && strings.EqualFold(k, "password") && v != "" {
			msg = strings.ReplaceAll(msg, strings.Trim(v, "'"), "xxxxx")
		}
	}
	return msg
}

// newRoomService builds the room service of cfg on st; a refused setting
// comes back as a config problem at its key (rooms.timezone, ...).
func newRoomService(cfg *config.Config, st *store.Store, logger *slog.Logger) (*rooms.Service, error) {
	openEarly, _ := cfg.Rooms.Early()
	backends := make([]string, 0, len(cfg.Backends))
	for _, b := range cfg.Backends {
		backends = append(backends, b.ID)
	}
	svc, err := rooms.New(rooms.Options{
		Store:         st,
		Timezone:      cfg.Rooms.Timezone,
		OpenEarly:     openEarly,
		DefaultTenant: cfg.Jitsi.PathTenant(),
		Tenants:       cfg.Jitsi.Tenants,
		Backends:      backends,
		PublicURL:     cfg.Server.PublicURL,
		Log:           logger,
	})
	if err != nil {
		ps := &problems{cfg: cfg}
		path := "rooms"
		switch {
		case strings.Contains(err.Error(), "timezone"):
			path = "rooms.timezone"
		case strings.Contains(err.Error(), "open_early"):
			path = "rooms.open_early"
		case strings.Contains(err.Error(), "tenant"):
			path = "jitsi.url"
		}
		ps.add(path, fmt.Errorf("%s", strings.TrimPrefix(err.Error(), "rooms: ")))
		return nil, ps.err()
	}
	return svc, nil
}
