package web

import (
	"errors"
	"log/slog"
	"net/http"
	"net/url"

	"github.com/jitsi-gate/jitsi-gate/internal/auth"
	"github.com/jitsi-gate/jitsi-gate/internal/metrics"
	"github.com/jitsi-gate/jitsi-gate/internal/session"
	"github.com/jitsi-gate/jitsi-gate/internal/signin"
	"github.com/jitsi-gate/jitsi-gate/internal/target"
)

// site is what every page needs: the templates and branding, the paths
// under the public URL, the language, and who is signed in for the page
// header. Handlers get it explicitly, next to the collaborators of their
// own (routes.go).
type site struct {
	log       *slog.Logger
	pages     *pages
	ui        UIOptions
	publicURL *url.URL
	prefix    string // PublicURL path without trailing slash ("" or "/_auth")
	sessions  *session.Manager
	logins    *signin.Keeper
	// metrics counts logins and tokens; nil when off.
	metrics *metrics.Metrics
}

// errNotSignedIn: no login cookie, or one whose login has ended.
var errNotSignedIn = errors.New("not signed in")

// requireSignIn is signedIn for handlers that need a user for target t:
// without a login it sends the browser to sign in (or, for groups that only
// a new sign-in refreshes, to the user's backend) and coming back to retry,
// and when the login records cannot be read it shows 503. ok is false when
// the response is written. retry, when not nil, is the link the 503 page
// offers; it is only built on that path.
func (s *site) requireSignIn(w http.ResponseWriter, r *http.Request, t target.Target, retry func() string) (session.User, bool) {
	u, err := s.signedIn(w, r)
	switch {
	case errors.Is(err, errNotSignedIn):
		http.Redirect(w, r, s.loginPath(t), http.StatusSeeOther)
		return u, false
	case errors.Is(err, signin.ErrReauthenticate):
		// The provider refreshes the groups with a new sign-in (often
		// without a prompt while its own session lasts).
		http.Redirect(w, r, s.loginStartPath(u.Backend, t), http.StatusSeeOther)
		return u, false
	case err != nil:
		link := ""
		if retry != nil {
			link = retry()
		}
		s.storeUnavailable(w, r, link, "login records unavailable", err)
		return u, false
	}
	return u, true
}

// signedIn returns the user of the request's login cookie once the
// server-side record says the login still counts (internal/signin), with
// the record's groups (refreshed from the backend when they were due; the
// cookie does not carry groups). A login that has ended clears the cookie
// and is errNotSignedIn; signin.ErrReauthenticate asks for a new sign-in at
// the user's backend; other errors mean the records cannot be read.
func (s *site) signedIn(w http.ResponseWriter, r *http.Request) (session.User, error) {
	u, err := s.sessions.Load(r)
	if err != nil {
		return session.User{}, errNotSignedIn
	}
	id, _, err := s.logins.Check(r.Context(), u.LoginID, u.Identity)
	switch {
	case errors.Is(err, signin.ErrEnded):
		s.log.InfoContext(r.Context(), "login cookie of an ended login", "backend", u.Backend, "user", u.Subject, "err", err)
		s.sessions.Clear(w, r)
		return session.User{}, errNotSignedIn
	case err != nil:
		return u, err
	}
	u.Identity = id
	return u, nil
}

// path returns the absolute path of a route under the public URL prefix.
func (s *site) path(p string) string { return s.prefix + p }

// pathWith is path plus a query string, when q has any values. It is the
// one builder of gateway links that carry a target.
func (s *site) pathWith(p string, q url.Values) string {
	if len(q) == 0 {
		return s.path(p)
	}
	return s.path(p) + "?" + q.Encode()
}

// absURL returns the public absolute URL of a route (for redirect URIs).
func (s *site) absURL(p string) string {
	u := *s.publicURL
	u.Path = s.prefix + p
	u.RawPath = ""
	u.RawQuery = ""
	u.Fragment = ""
	return u.String()
}

// joinPath is the gateway path that mints the token for t.
func (s *site) joinPath(t target.Target) string {
	return s.pathWith("/join/"+t.Room.Safe, t.Query(false))
}

// loginPath is the login page for t.
func (s *site) loginPath(t target.Target) string { return s.pathWith("/login", t.Query(true)) }

// logoutPath signs out and offers to sign in again for t.
func (s *site) logoutPath(t target.Target) string { return s.pathWith("/logout", t.Query(true)) }

// loginStartPath starts a login at one backend for t.
func (s *site) loginStartPath(backend string, t target.Target) string {
	return s.pathWith("/login/"+backend, t.Query(true))
}

// handleError is the one place that turns an error into a status code and
// a page: specific and actionable for the user, with the cause in the log
// for the admin. It never shows internal details.
func (s *site) handleError(w http.ResponseWriter, r *http.Request, err error, retry string) {
	ctx := r.Context()
	var te *target.Error
	var pe *auth.ProviderError
	switch {
	case errors.As(err, &te):
		s.log.InfoContext(ctx, "bad request", "path", logPath(r.URL.Path), "err", err)
		s.fail(w, r, http.StatusBadRequest, retry, te.Key, te.Args...)
	case errors.Is(err, auth.ErrInvalidCredentials):
		s.fail(w, r, http.StatusUnauthorized, retry, "error.invalid_credentials")
	case errors.As(err, &pe):
		s.log.WarnContext(ctx, "identity provider refused the login", "code", pe.Code, "description", pe.Description)
		if pe.Code == "access_denied" {
			s.fail(w, r, http.StatusForbidden, retry, "error.provider_denied")
			return
		}
		s.fail(w, r, http.StatusBadRequest, retry, "error.provider", pe.Code)
	case errors.Is(err, auth.ErrUnavailable):
		s.log.ErrorContext(ctx, "identity backend unavailable", "err", err)
		w.Header().Set("Retry-After", "30")
		s.fail(w, r, http.StatusServiceUnavailable, retry, "error.unavailable")
	default:
		s.log.ErrorContext(ctx, "internal error", "path", logPath(r.URL.Path), "err", err)
		s.fail(w, r, http.StatusInternalServerError, retry, "error.internal")
	}
}

// storeUnavailable answers a request whose rooms, invites, calendars or
// login records cannot be read (internal/store): logged as msg with err
// and attrs, and a 503 page that asks to try again, with Retry-After for
// clients that honour it.
func (s *site) storeUnavailable(w http.ResponseWriter, r *http.Request, retry, msg string, err error, attrs ...any) {
	s.log.ErrorContext(r.Context(), msg, append(attrs, "err", err)...)
	w.Header().Set("Retry-After", "10")
	s.fail(w, r, http.StatusServiceUnavailable, retry, "error.registry_unavailable")
}

// requestTarget reads where the user wants to go from Jitsi's {state}
// (state=…) or from room=… and the other target parameters.
func requestTarget(j *target.Jitsi, r *http.Request) (target.Target, error) {
	q := r.URL.Query()
	if st := q.Get("state"); st != "" {
		return j.FromState(st)
	}
	return j.Parse(q.Get("room"), q)
}

// notFound is the 404 page for every path routes.go does not know.
func handleNotFound(s *site) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.fail(w, r, http.StatusNotFound, "", "error.not_found")
	})
}

// truncate shortens s to at most n bytes on a rune boundary, for echoing
// user input back into a page.
func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && !runeStart(s[n]) {
		n--
	}
	return s[:n]
}

func runeStart(b byte) bool { return b&0xC0 != 0x80 }
