package web

import (
	"context"
	"encoding/json"
	"fmt"
	"io/fs"
	"log/slog"
	"net/http"
	"regexp"
	"sync"
	"sync/atomic"
	"time"

	"github.com/jitsi-gate/jitsi-gate/internal/token"
)

// asapFile is the only shape Prosody asks for: lowercase hex SHA-256 of the
// kid plus ".pem". Anything else is a 404 before any lookup.
var asapFile = regexp.MustCompile(`^[0-9a-f]{64}\.pem$`)

// handleASAPKey serves RS256 public keys where Prosody's asap_key_server
// fetches them (GET /asap/<sha256hex(kid)>.pem). Prosody caches a key per
// kid until it restarts, so a day of HTTP caching changes nothing.
func handleASAPKey(keys *token.PublicKeySet, log *slog.Logger, cl clients) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		file := r.PathValue("file")
		if keys == nil || !asapFile.MatchString(file) {
			plainNotFound(w)
			return
		}
		pem, ok := keys.PEM(file)
		if !ok {
			log.InfoContext(r.Context(), "public key requested for an unknown kid", "file", file, "client", cl.ip(r))
			plainNotFound(w)
			return
		}
		w.Header().Set("Content-Type", "application/x-pem-file")
		w.Header().Set("Cache-Control", "public, max-age=86400")
		_, _ = w.Write(pem)
	})
}

// handleJWKS serves the same keys as a JWKS for Prosody's cache_keys_url.
func handleJWKS(keys *token.PublicKeySet) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if keys == nil {
			plainNotFound(w)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		// Prosody refreshes 60 s before max-age runs out.
		w.Header().Set("Cache-Control", "public, max-age=3600")
		_, _ = w.Write(keys.JWKS())
	})
}

func plainNotFound(w http.ResponseWriter) {
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.WriteHeader(http.StatusNotFound)
	_, _ = w.Write([]byte("not found\n"))
}

// handleHealthz says the process is up (liveness; the Docker HEALTHCHECK).
func handleHealthz(version string) http.Handler {
	body, _ := json.Marshal(map[string]string{"status": "ok", "version": version})
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write(body)
	})
}

// readyzTimeout bounds how long /readyz waits for the backends' probes.
const readyzTimeout = 2 * time.Second

// handleReadyz says whether every identity backend that depends on an
// outside service (OIDC provider, LDAP directory) can be used right now
// (readiness): 200 {"status":"ready"} or 503 {"status":"not ready"}. The
// endpoint is public, so the answer names no backend and no reason; those
// go to the log. The backends cache their probes (see
// auth.ReadinessChecker), so polling /readyz does not load the directory.
func handleReadyz(log *slog.Logger, backends *backendSet, store Pinger, draining *atomic.Bool) http.Handler {
	ready, notReady := []byte(`{"status":"ready"}`+"\n"), []byte(`{"status":"not ready"}`+"\n")
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if refuseWhileDraining(w, draining) {
			return
		}
		// A backend that does not answer must not hang the probe.
		ctx, cancel := context.WithTimeout(r.Context(), readyzTimeout)
		defer cancel()
		errs := make([]error, len(backends.list))
		var wg sync.WaitGroup
		for i, b := range backends.list {
			rc := backends.readiness(b.ID)
			if rc == nil {
				continue
			}
			wg.Add(1)
			go func() {
				defer wg.Done()
				errs[i] = rc.Ready(ctx)
			}()
		}
		var storeErr error
		if store != nil {
			// Logins, rooms and invites live there: without it nothing works.
			storeErr = store.Ping(ctx)
		}
		wg.Wait()
		allReady := storeErr == nil
		if storeErr != nil {
			log.WarnContext(r.Context(), "readyz: store not ready", "err", storeErr)
		}
		for i, err := range errs {
			if err != nil {
				allReady = false
				log.WarnContext(r.Context(), "readyz: backend not ready", "backend", backends.list[i].ID, "err", err)
			}
		}
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("Cache-Control", "no-store")
		if !allReady {
			w.WriteHeader(http.StatusServiceUnavailable)
			_, _ = w.Write(notReady)
			return
		}
		_, _ = w.Write(ready)
	})
}

// handleThemeCSS turns ui.primary_color into a stylesheet, so the pages
// need no inline styles (the CSP forbids them).
func handleThemeCSS(primaryColor string) http.Handler {
	css := ":root{}\n"
	if c := primaryColor; c != "" {
		// Validated by the config as #rgb or #rrggbb.
		css = fmt.Sprintf(":root{--primary:%s;}\n", c)
	}
	modified := time.Now()
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/css; charset=utf-8")
		w.Header().Set("Cache-Control", "public, max-age=3600")
		w.Header().Set("Last-Modified", modified.UTC().Format(http.TimeFormat))
		_, _ = w.Write([]byte(css))
	})
}

// handleLogo serves ui.logo_file, or the embedded default logo.
func handleLogo(ui UIOptions, static fs.FS) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "public, max-age=3600")
		if ui.Logo != nil {
			w.Header().Set("Content-Type", ui.LogoType)
			_, _ = w.Write(ui.Logo)
			return
		}
		http.ServeFileFS(w, r, static, "img/logo.svg")
	})
}

// Pinger is a dependency /readyz asks (the store).
type Pinger interface {
	Ping(ctx context.Context) error
}

// refuseWhileDraining answers /readyz with 503 once serve has begun its
// graceful shutdown, without asking the backends, and reports whether it
// did.
func refuseWhileDraining(w http.ResponseWriter, draining *atomic.Bool) bool {
	if draining == nil || !draining.Load() {
		return false
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(http.StatusServiceUnavailable)
	_, _ = w.Write([]byte(`{"status":"shutting down"}` + "\n"))
	return true
}
