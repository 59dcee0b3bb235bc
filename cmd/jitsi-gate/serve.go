package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"time"
)

// Timeouts of the HTTP server. Pages are small; a slow client must not be
// able to hold connections open (slowloris).
const (
	readHeaderTimeout = 5 * time.Second
	readTimeout       = 15 * time.Second
	writeTimeout      = 30 * time.Second
	idleTimeout       = 2 * time.Minute
	shutdownTimeout   = 10 * time.Second
)

func runServe(ctx context.Context, e env, args []string) error {
	fs := newFlagSet(e, "serve", "[-config FILE] [-listen ADDR]")
	configPath := fs.String("config", "", "config file (YAML); empty: the built-in demo configuration")
	listen := fs.String("listen", "", "listen address, overrides server.listen (e.g. 127.0.0.1:0 in tests)")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	cfg, err := loadConfig(*configPath, e.getenv)
	if err != nil {
		printProblems(e.stderr, *configPath, err)
		return exitError{code: 1, msg: "jitsi-gate: not starting because of the configuration problems above"}
	}
	logOut := newBufferedLog(e.stderr)
	defer logOut.Close()
	logger := newLogger(logOut, cfg.Log)
	for _, w := range cfg.Warnings() {
		logger.Warn("configuration", "key", w.Path, "advice", w.Message, "hint", w.Hint)
	}
	g, err := build(cfg, logger)
	if err != nil {
		printProblems(e.stderr, *configPath, err)
		return exitError{code: 1, msg: "jitsi-gate: not starting because of the configuration problems above"}
	}
	handler := g.handler
	for _, o := range g.oidcs {
		// Discovery in the background: pages work while a provider is down.
		o.Start(ctx)
	}

	addr := cfg.Server.Listen
	if *listen != "" {
		addr = *listen
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return fmt.Errorf("listen on %s: %w", addr, err)
	}
	srv := &http.Server{
		Handler:           handler,
		ReadHeaderTimeout: readHeaderTimeout,
		ReadTimeout:       readTimeout,
		WriteTimeout:      writeTimeout,
		IdleTimeout:       idleTimeout,
		MaxHeaderBytes:    64 << 10,
		ErrorLog:          slog.NewLogLogger(logger.Handler(), slog.LevelWarn),
	}
	logger.Info("jitsi-gate listening", "addr", ln.Addr().String(), "public_url", cfg.Server.PublicURL,
		"jitsi", cfg.Jitsi.URL, "algorithm", cfg.Jitsi.Signing.Algorithm, "backends", len(cfg.Backends),
		"rules", len(cfg.Rules), "preview", cfg.Jitsi.Preview, "version", version)
	if *configPath == "" {
		logger.Warn("running the built-in DEMO configuration: demo users, demo secrets, preview on; use -config for a real deployment")
	}

	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	select {
	case err := <-errc:
		return fmt.Errorf("serve: %w", err)
	case <-ctx.Done():
	}
	logger.Info("shutting down")
	sctx, cancel := context.WithTimeout(context.Background(), shutdownTimeout)
	defer cancel()
	if err := srv.Shutdown(sctx); err != nil {
		return fmt.Errorf("shutdown: %w", err)
	}
	if err := <-errc; err != nil && !errors.Is(err, http.ErrServerClosed) {
		return fmt.Errorf("serve: %w", err)
	}
	return nil
}
