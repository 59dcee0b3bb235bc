package web

import (
	"io/fs"
	"net/http"
	"path"
	"strings"
)

// routes is the whole HTTP surface. Admins put these paths into Jitsi's
// config (tokenAuthUrl, tokenLogoutUrl, asap_key_server), so they are a
// public interface: change them only with a deprecation path.
//
// Every route lives under the path of server.public_url (e.g. /_auth when
// nginx forwards https://meet.example.com/_auth/ unchanged); /healthz and
// /readyz are also served at the root for container health checks.
func (s *server) routes() http.Handler {
	mux := http.NewServeMux()
	p := s.path

	mux.Handle("GET "+p("/{$}"), s.handleWelcome())
	mux.Handle("GET "+p("/login"), s.handleLoginPage())
	mux.Handle("POST "+p("/login/{backend}"), s.handlePasswordLogin())
	mux.Handle("GET "+p("/login/{backend}"), s.handleLoginStart())
	mux.Handle("GET "+p("/callback/{backend}"), s.handleCallback())
	mux.Handle("GET "+p("/join"), s.handleJoinForm())
	mux.Handle("GET "+p("/join/{room}"), s.handleJoin())
	mux.Handle("GET "+p("/logout"), s.handleLogout())

	mux.Handle("GET "+p("/asap/{file}"), s.handleASAPKey())
	mux.Handle("GET "+p("/.well-known/jwks.json"), s.handleJWKS())

	mux.Handle("GET "+p("/healthz"), s.handleHealthz())
	mux.Handle("GET "+p("/readyz"), s.handleReadyz())
	if s.prefix != "" {
		mux.Handle("GET /healthz", s.handleHealthz())
		mux.Handle("GET /readyz", s.handleReadyz())
	}

	mux.Handle("GET "+p("/static/theme.css"), s.handleThemeCSS())
	mux.Handle("GET "+p("/static/logo"), s.handleLogo())
	mux.Handle("GET "+p("/static/"), http.StripPrefix(p("/static/"), staticFiles(s.static, s.handleNotFound())))

	mux.Handle(p("/"), s.handleNotFound())

	return chain(mux, s.recoverPanics, s.ownCookies, s.logRequests, s.secureHeaders, s.crossOrigin)
}

// staticFiles serves the embedded CSS, JS and images with a cache lifetime
// short enough that an upgrade shows up the same day. Only regular files
// are served: a directory (with or without a trailing slash) is notFound,
// never a listing or an index.html, so what static/ holds is not
// enumerable.
func staticFiles(fsys fs.FS, notFound http.Handler) http.Handler {
	files := http.FileServerFS(fsys)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		name := strings.TrimPrefix(path.Clean("/"+r.URL.Path), "/")
		if name == "" || strings.HasSuffix(r.URL.Path, "/") {
			notFound.ServeHTTP(w, r)
			return
		}
		if fi, err := fs.Stat(fsys, name); err != nil || !fi.Mode().IsRegular() {
			notFound.ServeHTTP(w, r)
			return
		}
		w.Header().Set("Cache-Control", "public, max-age=3600")
		files.ServeHTTP(w, r)
	})
}

func (s *server) handleNotFound() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.fail(w, r, http.StatusNotFound, "", "error.not_found")
	})
}
