package metrics

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"time"

	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// Path is where the metrics listener serves the scrape.
const Path = "/metrics"

// shutdownTimeout bounds how long a scrape in flight may take once the
// listener's context is done.
const shutdownTimeout = 5 * time.Second

// Handler serves the registry in the Prometheus text and OpenMetrics
// formats, and counts its own scrapes (promhttp_metric_handler_requests_total).
// A nil *Metrics answers 404: metrics are off.
func (m *Metrics) Handler() http.Handler {
	if m == nil {
		return http.NotFoundHandler()
	}
	return promhttp.InstrumentMetricHandler(m.reg, promhttp.HandlerFor(m.reg, promhttp.HandlerOpts{
		ErrorLog:          promLogger{m.log},
		Registry:          m.reg,
		EnableOpenMetrics: true,
		// A scrape that hangs (a gauge function stuck on a lock) must not
		// pile up goroutines.
		Timeout: 10 * time.Second,
	}))
}

// promLogger passes the handler's errors (a collector that failed) to slog.
type promLogger struct{ log *slog.Logger }

func (l promLogger) Println(v ...any) { l.log.Error("metrics: " + fmt.Sprint(v...)) }

// Serve runs the metrics listener on listen (host:port) until ctx is done,
// then gives a scrape in flight a few seconds and returns nil. It returns
// at once with nil when m is nil or listen is empty (metrics off), and with
// an error when the address cannot be bound. To fail the start-up on a bad
// address before serving, bind with net.Listen and call ServeListener.
func (m *Metrics) Serve(ctx context.Context, listen string, logger *slog.Logger) error {
	if m == nil || listen == "" {
		return nil
	}
	ln, err := net.Listen("tcp", listen)
	if err != nil {
		return fmt.Errorf("metrics listener on %s: %w", listen, err)
	}
	return m.ServeListener(ctx, ln, logger)
}

// ServeListener is Serve on a listener the caller bound; it closes ln.
func (m *Metrics) ServeListener(ctx context.Context, ln net.Listener, logger *slog.Logger) error {
	if m == nil {
		return ln.Close()
	}
	if logger == nil {
		logger = m.log
	}
	mux := http.NewServeMux()
	mux.Handle("GET "+Path, m.Handler())
	srv := &http.Server{
		Handler:           mux,
		ReadHeaderTimeout: 5 * time.Second,
		ReadTimeout:       10 * time.Second,
		WriteTimeout:      30 * time.Second,
		IdleTimeout:       2 * time.Minute,
		ErrorLog:          slog.NewLogLogger(logger.Handler(), slog.LevelWarn),
		BaseContext:       func(net.Listener) context.Context { return context.WithoutCancel(ctx) },
	}
	stopped := make(chan struct{})
	serveFailed := make(chan struct{})
	go func() {
		defer close(stopped)
		select {
		case <-ctx.Done():
		case <-serveFailed:
			return
		}
		sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), shutdownTimeout)
		defer cancel()
		if err := srv.Shutdown(sctx); err != nil {
			logger.Warn("metrics listener did not stop cleanly", "err", err)
			_ = srv.Close()
		}
	}()
	logger.Info("metrics listening", "addr", ln.Addr().String(), "path", Path)
	err := srv.Serve(ln)
	if !errors.Is(err, http.ErrServerClosed) {
		// Serve failed on its own (the listener broke): release the
		// shutdown goroutine.
		close(serveFailed)
		<-stopped
		_ = srv.Close()
		return fmt.Errorf("metrics listener on %s: %w", ln.Addr(), err)
	}
	<-stopped
	return nil
}
