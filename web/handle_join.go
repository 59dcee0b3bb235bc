package web

import (
	"fmt"
	"html/template"
	"log/slog"
	"net/http"
	"net/url"
	"time"

	"github.com/jitsi-gate/jitsi-gate/internal/grant"
	"github.com/jitsi-gate/jitsi-gate/internal/policy"
	"github.com/jitsi-gate/jitsi-gate/internal/rooms"
	"github.com/jitsi-gate/jitsi-gate/internal/session"
	"github.com/jitsi-gate/jitsi-gate/internal/target"
	"github.com/jitsi-gate/jitsi-gate/internal/token"
)

// deniedPage is the data of denied.html.
type deniedPage struct {
	Name     string
	Groups   []string
	Room     string
	Rule     string // the deny rule that matched, "" when no rule matched
	Welcome  string
	SwitchTo string // logout, then login again for this room
}

// previewPage is the data of preview.html.
type previewPage struct {
	URL     string
	Rule    string
	Role    string
	Header  string
	Claims  string
	Token   string
	Lobby   bool
	Welcome string
	// Throwaway: the token is signed with a key no Jitsi has.
	Throwaway bool
}

// appPage is the data of app.html (Jitsi desktop app hand-over).
type appPage struct {
	// AppURL is a jitsi-meet:// link built only from the configured Jitsi
	// host and the validated room, so it may bypass html/template's URL
	// scheme filter.
	AppURL     template.URL
	BrowserURL string
}

// preview says whether /join shows the token instead of redirecting, and
// whether that token is signed with the real key.
type preview struct {
	on, realTokens bool
}

// handleJoin mints a fresh token for a logged-in user and sends the
// browser to Jitsi (GET /join/{room}). Without a session the user is sent
// to the login page and comes back here after it.
func handleJoin(s *site, jitsi *target.Jitsi, grants *grant.Granter, signer *token.Signer, cl clients, pv preview, now func() time.Time) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ctx := r.Context()
		var q url.Values // most links have no query: nothing to parse
		if r.URL.RawQuery != "" {
			q = r.URL.Query()
		}
		t, err := jitsi.Parse(r.PathValue("room"), q)
		if err != nil {
			s.handleError(w, r, err, s.path("/"))
			return
		}
		u, ok := s.requireSignIn(w, r, t, func() string { return s.joinPath(t) })
		if !ok {
			return
		}
		g, err := grants.Grant(ctx, grant.Request{Identity: u.Identity, Room: t.Room, Tenant: t.Tenant}, now())
		if err != nil {
			s.storeUnavailable(w, r, s.joinPath(t), "room registry unavailable", err, "room", t.Room.Safe, "tenant", t.Tenant)
			return
		}
		d := g.Decision
		if g.Closed {
			s.log.InfoContext(ctx, "room closed", "backend", u.Backend, "user", u.Subject, "rule", d.Rule,
				"room", t.Room.Safe, "tenant", t.Tenant, "room_role", g.RoomRole)
			renderClosed(s, w, r, &u, g.Room, g.Availability, s.joinPath(t),
				g.RoomRole == policy.RoomOrganizer && g.Room.Schedule.OpenEarly > 0, now())
			return
		}
		if !d.Allowed {
			s.metrics.AccessDenied(d.Rule)
			s.log.InfoContext(ctx, "access denied", "backend", u.Backend, "user", u.Subject,
				"groups", u.Groups, "room", t.Room.Safe, "tenant", t.Tenant, "reason", d.Reason)
			s.render(w, r, http.StatusForbidden, "denied", "denied.heading", &u, deniedPage{
				Name: u.DisplayName(), Groups: u.Groups, Room: t.Room.Display, Rule: d.Rule,
				Welcome: s.path("/"), SwitchTo: s.logoutPath(t),
			})
			return
		}
		jwt, err := signer.Mint(g.Claims)
		if err != nil {
			s.handleError(w, r, fmt.Errorf("mint token: %w", err), s.path("/"))
			return
		}
		tokenIssued(s, r, u, g, t, cl)

		dest := jitsi.RoomURL(t, jwt)
		switch {
		case pv.on:
			s.render(w, r, http.StatusOK, "preview", "preview.heading", &u, previewOf(s, dest, jwt, g, pv))
		case t.App == target.AppElectron:
			s.render(w, r, http.StatusOK, "app", "app.heading", &u, appPage{
				AppURL:     template.URL(jitsi.ElectronURL(t, jwt)),
				BrowserURL: jitsi.BrowserURL(t, jwt),
			})
		default:
			h := w.Header()
			// A redirect carries no document, so the page headers
			// (content policy, framing, sniffing) have nothing to act
			// on; every meeting link is answered here, so they are left
			// off. no-store and no-referrer stay: the Location holds the
			// token.
			for _, k := range documentOnlyHeaders {
				delete(h, k)
			}
			h.Set("Location", dest)
			w.WriteHeader(http.StatusFound)
		}
	})
}

// closedPage is the data of closed.html.
type closedPage struct {
	Title   string
	Opens   string // "on Monday, 30 November at 08:00", "" when no date is left
	Early   bool   // the user is an organizer and may come open_early before
	Retry   string
	Welcome string
}

// renderClosed tells a user when the room opens (403: no token now): a
// user the rules admit (/join) or a guest (an invitation). retry is the
// link that asks again; early says the user is an organizer who may come
// open_early before a slot.
func renderClosed(s *site, w http.ResponseWriter, r *http.Request, u *session.User, rm *rooms.Room, a rooms.Availability, retry string, early bool, now time.Time) {
	p := closedPage{Title: roomTitle(rm), Retry: retry, Welcome: s.path("/"), Early: early}
	if a.HasNext {
		p.Opens = s.translator(r).When(a.OpensAt, now)
		if secs := int(a.OpensAt.Sub(now).Seconds()); secs > 0 {
			w.Header().Set("Retry-After", fmt.Sprint(secs))
		}
	}
	s.render(w, r, http.StatusForbidden, "closed", "closed.heading", u, p)
}

// tokenIssued records a token of /join or the inline sign-in: the
// metric, and the audit line (who got which rights where, never the
// token). The line is written for every token, so it uses typed attributes
// (key-value pairs as ...any cost an allocation each) and a record without
// a caller PC (Logger.LogAttrs walks the stack for one; the gateway's log
// never shows the source).
func tokenIssued(s *site, r *http.Request, u session.User, g grant.Grant, t target.Target, cl clients) {
	s.metrics.TokenIssued(g.Decision.Rule, string(g.Decision.Role))
	ctx := r.Context()
	h := s.log.Handler()
	if !h.Enabled(ctx, slog.LevelInfo) {
		return
	}
	rec := slog.NewRecord(time.Now(), slog.LevelInfo, "token issued", 0)
	rec.AddAttrs(slog.String("backend", u.Backend), slog.String("user", u.Subject),
		slog.String("username", u.Username), slog.String("rule", g.Decision.Rule), slog.String("role", string(g.Decision.Role)),
		slog.String("room", t.Room.Safe), slog.String("tenant", t.Tenant), slog.String("sub", g.Claims.Subject),
		slog.String("expires", g.Claims.ExpiresAt.UTC().Format("2006-01-02T15:04:05Z")), slog.String("client", cl.ip(r)))
	_ = h.Handle(ctx, rec) // nowhere to report a failing log output
}

// previewOf shows the token the way Jitsi reads it.
func previewOf(s *site, dest, jwt string, g grant.Grant, pv preview) previewPage {
	header, claims, err := token.Inspect(jwt)
	if err != nil {
		header, claims = err.Error(), ""
	}
	return previewPage{URL: dest, Rule: g.Decision.Rule, Role: string(g.Decision.Role), Token: jwt, Welcome: s.path("/"),
		Header: header, Claims: claims, Throwaway: !pv.realTokens}
}

// handleLogout ends the session (GET /logout, usable as Jitsi's
// tokenLogoutUrl). For a provider login it continues to the provider's
// end-session endpoint so the user is logged out there too.
func handleLogout(s *site, jitsi *target.Jitsi, backends *backendSet) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		// A room to sign in to again ("sign in with another account"); it
		// is a room name, never a URL, so it cannot redirect anywhere else.
		t, err := jitsi.Parse(r.URL.Query().Get("room"), r.URL.Query())
		if err != nil {
			t = target.Target{}
		}
		u, err := s.sessions.Load(r)
		hint := s.sessions.LoadLogoutHint(r)
		s.sessions.Clear(w, r)
		if err == nil {
			// On the server too: a copied cookie is worth nothing now, on
			// every replica.
			if err := s.logins.End(r.Context(), u.LoginID); err != nil {
				s.log.ErrorContext(r.Context(), "logout: login record not revoked", "user", u.Subject, "err", err)
			}
			s.log.InfoContext(r.Context(), "logout", "backend", u.Backend, "user", u.Subject)
			if b, ok := backends.redirects[u.Backend]; ok {
				endURL, err := b.LogoutURL(r.Context(), hint, s.absURL("/logout"))
				if err != nil {
					s.log.WarnContext(r.Context(), "provider logout URL unavailable; logged out of the gateway only",
						"backend", u.Backend, "err", err)
				} else if endURL != "" {
					http.Redirect(w, r, endURL, http.StatusFound)
					return
				}
			}
		}
		s.render(w, r, http.StatusOK, "loggedout", "loggedout.heading", nil, struct{ Login string }{s.loginPath(t)})
	})
}
