package web

import (
	"io/fs"
	"net/http"
	"path"
	"strings"
	"time"

	"github.com/jitsi-gate/jitsi-gate/internal/metrics"
	"github.com/jitsi-gate/jitsi-gate/internal/target"
	"github.com/jitsi-gate/jitsi-gate/internal/token"
)

// routes is the whole HTTP surface, and each handler's dependencies are
// visible where it is mounted. Admins put these paths into Jitsi's config
// (tokenAuthUrl, tokenLogoutUrl, asap_key_server), so they are a public
// interface: change them only with a deprecation path.
//
// Every route lives under the path of server.public_url (e.g. /_auth when
// nginx forwards https://meet.example.com/_auth/ unchanged); /healthz and
// /readyz are also served at the root for container health checks.
func routes(opts Options, deps Deps, s *site, jitsi *target.Jitsi, backends *backendSet, signer *token.Signer, now func() time.Time) http.Handler {
	mux := http.NewServeMux()
	p := s.path
	cl := clients{trusted: opts.TrustedProxies}
	pv := preview{on: opts.Jitsi.Preview, realTokens: opts.Jitsi.PreviewRealTokens}
	limits := newLoginLimits(opts.RateLimit)
	limits.publish(deps.Metrics, deps.Logger)
	login := &loginFinisher{site: s, sessions: deps.Sessions, logins: deps.Logins, clients: cl, log: deps.Logger, now: now}
	notFound := handleNotFound(s)
	api := newRoomAPI(s, deps, jitsi)
	pages := newRoomPages(s, deps, jitsi, now)
	dash := &dashboard{rooms: deps.Rooms, policy: deps.Grants.Policy(), backends: backends, now: now}

	mux.Handle("GET "+p("/{$}"), handleWelcome(s, pv.on, dash))
	mux.Handle("GET "+p("/login"), handleLoginPage(s, jitsi, backends))
	mux.Handle("POST "+p("/login/{backend}"), handlePasswordLogin(s, jitsi, backends, limits, cl, login))
	mux.Handle("GET "+p("/login/{backend}"), handleLoginStart(s, jitsi, backends, deps.Sessions))
	mux.Handle("GET "+p("/callback/{backend}"), handleCallback(s, jitsi, backends, deps.Sessions, login))
	mux.Handle("GET "+p("/join"), handleJoinForm(s, jitsi, pv.on, dash))
	mux.Handle("GET "+p("/join/{room}"), handleJoin(s, jitsi, deps.Grants, signer, cl, pv, now))
	mux.Handle("GET "+p("/logout"), handleLogout(s, jitsi, backends))
	// Guest invitations (handle_invite.go) and the organizers' page for them.
	guests := newGuestPages(s, opts.Invites, deps, jitsi, signer, cl, pv, now)
	mux.Handle("GET "+p("/invite/{code}"), guests.page())
	mux.Handle("POST "+p("/invite/{code}"), guests.redeem())
	mux.Handle("GET "+p("/rooms/{id}/invites"), guests.organizerPage())
	mux.Handle("POST "+p("/rooms/{id}/invites"), guests.organizerAction())

	if deps.Reservations != nil {
		// Prosody's mod_reservations; the handler routes and authenticates
		// below this prefix itself, outside the page middleware's CSRF
		// check (it is a bearer-token API, not a browser form).
		mux.Handle(p("/reservations/"), deps.Reservations)
	}
	// The JSON room API (handle_api.go, docs/api.yaml).
	mux.Handle("GET "+p("/api/v1/rooms"), api.list())
	mux.Handle("POST "+p("/api/v1/rooms"), api.create())
	mux.Handle("GET "+p("/api/v1/rooms/{id}"), api.get())
	mux.Handle("PUT "+p("/api/v1/rooms/{id}"), api.update())
	mux.Handle("DELETE "+p("/api/v1/rooms/{id}"), api.remove())
	mux.Handle("GET "+p("/api/v1/rooms/{id}/invites"), api.listInvites())
	mux.Handle("POST "+p("/api/v1/rooms/{id}/invites"), api.createInvite())
	mux.Handle("DELETE "+p("/api/v1/rooms/{id}/invites/{invite}"), api.revokeInvite())
	mux.Handle(p("/api/"), api.notFound())
	if deps.SSO != nil {
		mountSSO(mux, s, jitsi, deps.SSO, cl) // Jitsi's inline sign-in: handle_sso.go
	}
	// Calendar feeds and room .ics files (handle_calendar.go).
	mux.Handle("GET "+p("/calendar"), handleCalendarPage(s, deps.Calendars))
	mux.Handle("POST "+p("/calendar/new"), handleCalendarRenew(s, deps.Calendars))
	mux.Handle("GET "+p("/calendar/{file}"), handleCalendarFeed(s, deps.Calendars))
	mux.Handle("GET "+p("/rooms/{file}"), handleRoomCalendar(s, deps.Rooms, deps.Grants.Policy(), deps.Calendars))
	// The room pages (handle_rooms.go, handle_rooms_import.go).
	mux.Handle("GET "+p("/rooms"), pages.list())
	mux.Handle("GET "+p("/rooms/new"), pages.newForm())
	mux.Handle("POST "+p("/rooms/new"), pages.create())
	mux.Handle("GET "+p("/rooms/{id}/edit"), pages.editForm())
	mux.Handle("POST "+p("/rooms/{id}/edit"), pages.update())
	mux.Handle("GET "+p("/rooms/{id}/delete"), pages.confirmDelete())
	mux.Handle("POST "+p("/rooms/{id}/delete"), pages.remove())
	mux.Handle("GET "+p("/rooms/import"), pages.importForm())
	mux.Handle("POST "+p("/rooms/import"), pages.importPost())
	mux.Handle("GET "+p("/rooms/export"), pages.export())
	mux.Handle("GET "+p("/asap/{file}"), handleASAPKey(deps.PublicKeys, deps.Logger, cl))
	mux.Handle("GET "+p("/.well-known/jwks.json"), handleJWKS(deps.PublicKeys))

	healthz := handleHealthz(opts.Version)
	readyz := handleReadyz(deps.Logger, backends, deps.Store, opts.Draining)
	mux.Handle("GET "+p("/healthz"), healthz)
	mux.Handle("GET "+p("/readyz"), readyz)
	if s.prefix != "" {
		mux.Handle("GET /healthz", healthz)
		mux.Handle("GET /readyz", readyz)
	}

	mux.Handle("GET "+p("/static/theme.css"), handleThemeCSS(opts.UI.PrimaryColor))
	mux.Handle("GET "+p("/static/logo"), handleLogo(opts.UI, deps.Static))
	mux.Handle("GET "+p("/static/"), http.StripPrefix(p("/static/"), staticFiles(deps.Static, notFound)))

	mux.Handle(p("/"), notFound)

	return chain(mux,
		// Outermost, so refused and failed requests are counted too; by
		// route pattern, never the raw path.
		deps.Metrics.HTTPMiddleware(metrics.MuxRoute(mux)),
		recoverPanics(s),
		ownCookies(s, cl),
		logRequests(deps.Logger, cl),
		secureHeaders(opts.Jitsi.URL, p("/static/")),
		crossOrigin(s),
	)
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
