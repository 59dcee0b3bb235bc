package web

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"regexp"
	"sync"
	"time"

	"github.com/jitsi-gate/jitsi-gate/internal/auth"
)

// asapFile is the only shape Prosody asks for: lowercase hex SHA-256 of the
// kid plus ".pem". Anything else is a 404 before any lookup.
var asapFile = regexp.MustCompile(`^[0-9a-f]{64}\.pem$`)

// handleASAPKey serves RS256 public keys where Prosody's asap_key_server
// fetches them (GET /asap/<sha256hex(kid)>.pem). Prosody caches a key per
// kid until it restarts, so a day of HTTP caching changes nothing.
func (s *server) handleASAPKey() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		file := r.PathValue("file")
		if s.keys == nil || !asapFile.MatchString(file) {
			s.plainNotFound(w)
			return
		}
		pem, ok := s.keys.PEM(file)
		if !ok {
			s.log.InfoContext(r.Context(), "public key requested for an unknown kid", "file", file, "client", s.clientIP(r))
			s.plainNotFound(w)
			return
		}
		w.Header().Set("Content-Type", "application/x-pem-file")
		w.Header().Set("Cache-Control", "public, max-age=86400")
		_, _ = w.Write(pem)
	})
}

// handleJWKS serves the same keys as a JWKS for Prosody's cache_keys_url.
func (s *server) handleJWKS() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if s.keys == nil {
			s.plainNotFound(w)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		// Prosody refreshes 60 s before max-age runs out.
		w.Header().Set("Cache-Control", "public, max-age=3600")
		_, _ = w.Write(s.keys.JWKS())
	})
}

func (s *server) plainNotFound(w http.ResponseWriter) {
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.WriteHeader(http.StatusNotFound)
	_, _ = w.Write([]byte("not found\n"))
}

// handleHealthz says the process is up (liveness; the Docker HEALTHCHECK).
func (s *server) handleHealthz() http.Handler {
	body, _ := json.Marshal(map[string]string{"status": "ok", "version": s.opts.Version})
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
func (s *server) handleReadyz() http.Handler {
	ready, notReady := []byte(`{"status":"ready"}`+"\n"), []byte(`{"status":"not ready"}`+"\n")
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if s.refuseWhileDraining(w) {
			return
		}
		// A backend that does not answer must not hang the probe.
		ctx, cancel := context.WithTimeout(r.Context(), readyzTimeout)
		defer cancel()
		errs := make([]error, len(s.backends))
		var wg sync.WaitGroup
		for i, b := range s.backends {
			var rc auth.ReadinessChecker
			if rb, ok := s.redirects[b.ID]; ok {
				rc = rb
			} else if pc, ok := s.passwords[b.ID].(auth.ReadinessChecker); ok {
				rc = pc
			}
			if rc == nil {
				continue
			}
			wg.Add(1)
			go func() {
				defer wg.Done()
				errs[i] = rc.Ready(ctx)
			}()
		}
		wg.Wait()
		allReady := true
		for i, err := range errs {
			if err != nil {
				allReady = false
				s.log.WarnContext(r.Context(), "readyz: backend not ready", "backend", s.backends[i].ID, "err", err)
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
func (s *server) handleThemeCSS() http.Handler {
	css := ":root{}\n"
	if c := s.opts.UI.PrimaryColor; c != "" {
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
func (s *server) handleLogo() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "public, max-age=3600")
		if s.opts.UI.Logo != nil {
			w.Header().Set("Content-Type", s.opts.UI.LogoType)
			_, _ = w.Write(s.opts.UI.Logo)
			return
		}
		http.ServeFileFS(w, r, s.static, "img/logo.svg")
	})
}
