package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"sync/atomic"
	"time"
)

// Timeouts of the HTTP server. Pages are small; a slow client must not be
// able to hold connections open (slowloris).
const (
	readHeaderTimeout = 5 * time.Second
	readTimeout       = 15 * time.Second
	writeTimeout      = 30 * time.Second
	idleTimeout       = 2 * time.Minute
)

// pruneStore deletes, once an hour, the records of logins and of inline
// sign-in grants (codes, refresh tokens) that ended more than a day ago.
// Every replica does it; the deletes are idempotent.
func pruneStore(ctx context.Context, g *gateway, logger *slog.Logger) {
	t := time.NewTicker(time.Hour)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case now := <-t.C:
			for _, p := range []struct {
				what  string
				prune func(context.Context, time.Time) (int64, error)
			}{
				{"ended logins", g.store.DeleteExpiredSessions},
				{"ended sign-in grants", g.store.DeleteExpiredSSOGrants},
			} {
				n, err := p.prune(ctx, now.Add(-24*time.Hour))
				if err != nil && ctx.Err() == nil {
					logger.WarnContext(ctx, "pruning "+p.what, "err", err)
				} else if n > 0 {
					logger.InfoContext(ctx, "pruned "+p.what, "count", n)
				}
			}
		}
	}
}

func runServe(ctx context.Context, e env, args []string) error {
	fs := newFlagSet(e, "serve", "[-config FILE] [-listen ADDR]")
	configPath := fs.String("config", e.getenv(configEnv), "config file (YAML); default $"+configEnv+"; empty: the built-in demo configuration")
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
	g, err := build(ctx, cfg, logger)
	if err != nil {
		printProblems(e.stderr, *configPath, err)
		return exitError{code: 1, msg: "jitsi-gate: not starting because of the configuration problems above"}
	}
	defer g.Close()
	handler, draining := g.handler, g.draining
	for _, o := range g.oidcs {
		// Discovery in the background: pages work while a provider is down.
		o.Start(ctx)
	}
	go pruneStore(ctx, g, logger)

	addr := cfg.Server.Listen
	if *listen != "" {
		addr = *listen
	}
	ln, err := e.listen("tcp", addr)
	if err != nil {
		return fmt.Errorf("listen on %s: %w", addr, err)
	}
	// Both listeners are bound before anything is served: a metrics port
	// that is taken fails the start like server.listen does.
	stopMetrics, err := startMetrics(ctx, e, g, logger)
	if err != nil {
		ln.Close()
		return err
	}
	defer stopMetrics()
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

	// The deferred logOut.Close writes the last buffered log lines (audit
	// lines of the requests that finished during the shutdown) after the
	// server has stopped.
	delay, timeout := cfg.Server.Drain()
	return serveUntilDone(ctx, srv, ln, draining, delay, timeout, logger)
}

// startMetrics binds metrics.listen and serves /metrics on it until the
// returned stop is called, which serve does once the gateway's own server
// has stopped: the numbers of the shutdown (server.shutdown_delay
// included) can still be scraped. With metrics off it does nothing.
func startMetrics(ctx context.Context, e env, g *gateway, logger *slog.Logger) (stop func(), err error) {
	addr := g.cfg.Metrics.Listen
	if g.metrics == nil || addr == "" {
		return func() {}, nil
	}
	ln, err := e.listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("metrics.listen: listen on %s: %w", addr, err)
	}
	mctx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	done := make(chan struct{})
	go func() {
		defer close(done)
		if err := g.metrics.ServeListener(mctx, ln, logger); err != nil {
			// The gateway keeps serving; only the numbers are gone.
			logger.Error("metrics listener stopped", "err", err)
		}
	}()
	return func() {
		cancel()
		<-done
	}, nil
}

// serveUntilDone serves on ln until ctx ends, then shuts down gracefully:
//
//  1. draining turns true at once, so /readyz answers 503 and load
//     balancers take this instance out of rotation;
//  2. the listener keeps accepting and serving for delay, the time a load
//     balancer needs to notice (a few of its health-check intervals);
//  3. http.Server.Shutdown closes the listener and idle connections and
//     waits up to timeout for requests in flight; what is still running
//     then is cut off and reported as an error.
func serveUntilDone(ctx context.Context, srv *http.Server, ln net.Listener, draining *atomic.Bool,
	delay, timeout time.Duration, logger *slog.Logger) error {
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	select {
	case err := <-errc:
		return fmt.Errorf("serve: %w", err)
	case <-ctx.Done():
	}
	draining.Store(true)
	logger.Info("shutting down: /readyz answers 503; still serving during server.shutdown_delay",
		"shutdown_delay", delay, "shutdown_timeout", timeout)
	if delay > 0 {
		t := time.NewTimer(delay)
		select {
		case <-t.C:
		case err := <-errc:
			t.Stop()
			return fmt.Errorf("serve: %w", err)
		}
	}
	logger.Info("closing the listener; waiting for requests in flight", "shutdown_timeout", timeout)
	sctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	if err := srv.Shutdown(sctx); err != nil {
		_ = srv.Close() // cut off what is still running
		<-errc
		return fmt.Errorf("shutdown: requests still running after server.shutdown_timeout (%s) were cut off: %w", timeout, err)
	}
	if err := <-errc; err != nil && !errors.Is(err, http.ErrServerClosed) {
		return fmt.Errorf("serve: %w", err)
	}
	logger.Info("stopped")
	return nil
}
