package web

import (
	"fmt"
	"html/template"
	"net/http"

	"github.com/jitsi-gate/jitsi-gate/internal/grant"
	"github.com/jitsi-gate/jitsi-gate/internal/policy"
	"github.com/jitsi-gate/jitsi-gate/internal/session"
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

// handleJoin mints a fresh token for a logged-in user and sends the
// browser to Jitsi (GET /join/{room}). Without a session the user is sent
// to the login page and comes back here after it.
func (s *server) handleJoin() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ctx := r.Context()
		t, err := s.parseTarget(r.PathValue("room"), r.URL.Query())
		if err != nil {
			s.handleError(w, r, err, s.path("/"))
			return
		}
		u, err := s.sessions.Load(r)
		if err != nil {
			http.Redirect(w, r, s.loginPath(t), http.StatusSeeOther)
			return
		}
		d := s.policy.Evaluate(policy.Request{
			Identity: u.Identity(),
			Room:     t.Room.Display,
			Tenant:   t.Tenant,
		})
		if !d.Allowed {
			s.log.InfoContext(ctx, "access denied", "backend", u.Backend, "user", u.Subject,
				"groups", u.Groups, "room", t.Room.Safe, "tenant", t.Tenant, "reason", d.Reason)
			s.render(w, r, http.StatusForbidden, "denied", "denied.heading", &u, deniedPage{
				Name: displayName(u), Groups: u.Groups, Room: t.Room.Display, Rule: d.Rule,
				Welcome: s.path("/"), SwitchTo: s.logoutPath(t),
			})
			return
		}
		claims := s.claims(u, t, d)
		jwt, err := s.signer.Mint(claims)
		if err != nil {
			s.handleError(w, r, fmt.Errorf("mint token: %w", err), s.path("/"))
			return
		}
		// The audit line: who got which rights where. Never the token.
		s.log.InfoContext(ctx, "token issued", "backend", u.Backend, "user", u.Subject,
			"username", u.Username, "rule", d.Rule, "role", string(d.Role), "room", t.Room.Safe,
			"tenant", t.Tenant, "sub", claims.Subject, "expires", claims.ExpiresAt.UTC().Format("2006-01-02T15:04:05Z"),
			"client", s.clientIP(r))

		dest := s.jitsiURL(t, jwt)
		switch {
		case s.opts.Jitsi.Preview:
			s.render(w, r, http.StatusOK, "preview", "preview.heading", &u, s.preview(dest, jwt, d))
		case t.App == appElectron:
			s.render(w, r, http.StatusOK, "app", "app.heading", &u, appPage{
				AppURL:     template.URL(s.electronURL(t, jwt)),
				BrowserURL: s.jitsiURL(target{Room: t.Room, Tenant: t.Tenant, Config: t.Config}, jwt),
			})
		default:
			w.Header().Set("Location", dest)
			w.WriteHeader(http.StatusFound)
		}
	})
}

// claims builds the token claims from the session and the decision.
func (s *server) claims(u session.User, t target, d policy.Decision) token.Claims {
	return grant.Claims(grant.Settings{
		Issuer:        s.opts.Jitsi.Issuer,
		Audience:      s.opts.Jitsi.Audience,
		XMPPDomain:    s.opts.Jitsi.XMPPDomain,
		TokenLifetime: s.opts.Jitsi.TokenLifetime,
	}, grant.User{Backend: u.Backend, Subject: u.Subject, Username: u.Username, Name: u.Name, Email: u.Email},
		d, t.Room.Safe, t.Tenant, s.now())
}

func displayName(u session.User) string {
	if u.Name != "" {
		return u.Name
	}
	return u.Username
}

// preview shows the token the way Jitsi reads it.
func (s *server) preview(dest, jwt string, d policy.Decision) previewPage {
	header, claims, err := token.Inspect(jwt)
	if err != nil {
		header, claims = err.Error(), ""
	}
	return previewPage{URL: dest, Rule: d.Rule, Role: string(d.Role), Token: jwt, Welcome: s.path("/"),
		Header: header, Claims: claims, Throwaway: !s.opts.Jitsi.PreviewRealTokens}
}

// handleLogout ends the session (GET /logout, usable as Jitsi's
// tokenLogoutUrl). For a provider login it continues to the provider's
// end-session endpoint so the user is logged out there too.
func (s *server) handleLogout() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		// A room to sign in to again ("sign in with another account"); it
		// is a room name, never a URL, so it cannot redirect anywhere else.
		t, err := s.parseTarget(r.URL.Query().Get("room"), r.URL.Query())
		if err != nil {
			t = target{}
		}
		u, err := s.sessions.Load(r)
		hint := s.sessions.LoadLogoutHint(r)
		s.sessions.Clear(w, r)
		if err == nil {
			s.log.InfoContext(r.Context(), "logout", "backend", u.Backend, "user", u.Subject)
			if b, ok := s.redirects[u.Backend]; ok {
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

// logoutPath signs out and offers to sign in again for the same target.
func (s *server) logoutPath(t target) string {
	q := t.query()
	if t.hasRoom() {
		q.Set("room", t.Room.Safe)
	}
	if len(q) == 0 {
		return s.path("/logout")
	}
	return s.path("/logout?" + q.Encode())
}
