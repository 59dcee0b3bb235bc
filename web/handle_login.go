package web

import (
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"time"

	"github.com/jitsi-gate/jitsi-gate/internal/auth"
	"github.com/jitsi-gate/jitsi-gate/internal/metrics"
	"github.com/jitsi-gate/jitsi-gate/internal/ratelimit"
	"github.com/jitsi-gate/jitsi-gate/internal/session"
	"github.com/jitsi-gate/jitsi-gate/internal/signin"
	"github.com/jitsi-gate/jitsi-gate/internal/target"
)

// maxFormBytes bounds login form bodies.
const maxFormBytes = 16 << 10

// loginPage is the data of login.html.
type loginPage struct {
	Target   target.Target
	Room     string // Display form of the room, "" when none
	Backends []loginBackend
	Error    string // translated message after a failed attempt
	Username string // kept after a failed attempt
	Focus    string // id of the backend whose form had the error
}

type loginBackend struct {
	ID, Label string
	Password  bool
	// Action is the form action (password) or the button link (redirect).
	Action string
}

func renderLogin(s *site, backends *backendSet, w http.ResponseWriter, r *http.Request, status int, t target.Target, errMsg, username, focus string) {
	data := loginPage{Target: t, Room: t.Room.Display, Error: errMsg, Username: username, Focus: focus}
	for _, b := range backends.list {
		data.Backends = append(data.Backends, loginBackend{
			ID: b.ID, Label: b.Label, Password: b.Password, Action: s.loginStartPath(b.ID, t),
		})
	}
	s.render(w, r, status, "login", "login.heading", nil, data)
}

// handleLoginPage is the login page and the target of Jitsi's
// tokenAuthUrl: /login?room={room} or /login?state={state}.
func handleLoginPage(s *site, jitsi *target.Jitsi, backends *backendSet) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		t, err := requestTarget(jitsi, r)
		if err != nil {
			s.handleError(w, r, err, s.path("/"))
			return
		}
		// Already logged in: straight through.
		if _, err := s.signedIn(w, r); err == nil {
			http.Redirect(w, r, s.afterLogin(t), http.StatusSeeOther)
			return
		}
		// With a single identity provider there is nothing to choose.
		if len(backends.list) == 1 && !backends.list[0].Password {
			http.Redirect(w, r, s.loginStartPath(backends.list[0].ID, t), http.StatusSeeOther)
			return
		}
		renderLogin(s, backends, w, r, http.StatusOK, t, "", "", "")
	})
}

// handlePasswordLogin checks a username and password (POST
// /login/{backend}, fields username and password; the target is in the
// query string) and sends the browser on to /join.
func handlePasswordLogin(s *site, jitsi *target.Jitsi, backends *backendSet, limits *loginLimits, cl clients, login *loginFinisher) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ctx := r.Context()
		backendID := r.PathValue("backend")
		b, ok := backends.passwords[backendID]
		if !ok {
			s.fail(w, r, http.StatusNotFound, s.path("/login"), "error.unknown_backend", backendID)
			return
		}
		t, err := jitsi.Parse(r.URL.Query().Get("room"), r.URL.Query())
		if err != nil {
			s.handleError(w, r, err, s.path("/login"))
			return
		}
		r.Body = http.MaxBytesReader(w, r.Body, maxFormBytes)
		if err := r.ParseForm(); err != nil {
			s.handleError(w, r, &target.Error{Key: "error.bad_request", Err: fmt.Errorf("parse login form: %w", err)}, s.loginPath(t))
			return
		}
		username := strings.TrimSpace(r.PostForm.Get("username"))
		password := r.PostForm.Get("password")
		tr := s.translator(r)

		ip := cl.ip(r)
		attempt, wait, limited := limits.count(backendID, username, ip)
		if limited != "" {
			secs := int(wait.Seconds() + 0.999)
			s.log.WarnContext(ctx, "login rate limited", "backend", backendID, "username", username,
				"client", ip, "limit", limited, "retry_after_s", secs)
			s.metrics.Login(backendID, metrics.LoginRateLimited)
			w.Header().Set("Retry-After", fmt.Sprint(secs))
			renderLogin(s, backends, w, r, http.StatusTooManyRequests, t, tr.T("error.rate_limited", secs), username, backendID)
			return
		}

		id, err := b.Login(ctx, username, password)
		if !errors.Is(err, auth.ErrInvalidCredentials) {
			// Only wrong passwords count against the user; an outage or
			// a success gives the attempt back.
			attempt.giveBack()
		}
		switch {
		case errors.Is(err, auth.ErrInvalidCredentials):
			s.metrics.Login(backendID, metrics.LoginBadCredentials)
			s.log.InfoContext(ctx, "login failed: invalid credentials", "backend", backendID,
				"username", username, "client", ip)
			renderLogin(s, backends, w, r, http.StatusUnauthorized, t, tr.T("error.invalid_credentials"), username, backendID)
			return
		case errors.Is(err, auth.ErrUnavailable):
			s.metrics.Login(backendID, metrics.LoginUnavailable)
			s.log.ErrorContext(ctx, "login failed: backend unavailable", "backend", backendID, "err", err)
			w.Header().Set("Retry-After", "30")
			renderLogin(s, backends, w, r, http.StatusServiceUnavailable, t, tr.T("error.unavailable"), username, backendID)
			return
		case err != nil:
			s.metrics.Login(backendID, metrics.LoginError)
			s.handleError(w, r, fmt.Errorf("login at backend %s: %w", backendID, err), s.loginPath(t))
			return
		}
		limits.reset(attempt)
		login.finish(w, r, id, t, "")
	})
}

// loginLimits slow down password guessing. Client networks are IPv4
// addresses and IPv6 /64s.
type loginLimits struct {
	// perUser is keyed by backend, folded username and client network;
	// perUserGlobal by backend and folded username; perIP by network.
	perUser, perUserGlobal, perIP *ratelimit.Limiter
}

func newLoginLimits(o RateLimitOptions) *loginLimits {
	global := o.PerUserGlobal
	if global == 0 {
		global = 10 * o.PerUser
	}
	return &loginLimits{
		perUser:       ratelimit.New(o.PerUser, o.Window, 0),
		perUserGlobal: ratelimit.New(global, o.Window, 0),
		perIP:         ratelimit.New(o.PerIP, o.Window, 0),
	}
}

// publish exports the number of keys each limiter holds
// (jitsi_gate_rate_limiter_keys); the metrics registry reads Len at every
// scrape. A registration that fails (a second server on the same Metrics)
// costs only the gauge, so it is logged, not fatal.
func (l *loginLimits) publish(m *metrics.Metrics, log *slog.Logger) {
	for _, lim := range []struct {
		name string
		l    *ratelimit.Limiter
	}{{"per_user", l.perUser}, {"per_user_global", l.perUserGlobal}, {"per_ip", l.perIP}} {
		if err := m.RateLimiterKeys(lim.name, lim.l.Len); err != nil {
			log.Warn("rate limiter size not exported", "limiter", lim.name, "err", err)
		}
	}
}

// loginAttempt is one password attempt counted against the username (per
// client network and globally) before the backend is asked.
type loginAttempt struct {
	userNetKey string
	perUser    ratelimit.Reservation
	global     ratelimit.Reservation
}

func (a loginAttempt) giveBack() {
	a.perUser.Cancel()
	a.global.Cancel()
}

// count counts a password attempt against the client network, the
// username from that network and the username from everywhere, in that
// order, all before the (slow) backend call: concurrent guesses cannot all
// pass a check made before any of them failed. When a limit refuses, the
// counts already taken for this attempt are given back and limited names
// the limit ("ip", "user", "user_global").
//
// The username key is the folded form (auth.FoldUsername), so the variants
// a directory treats as one name share one budget. Keying per network
// keeps someone guessing from elsewhere from locking the user out of their
// own client; the much higher global cap still bounds a guesser spread
// over many networks.
func (l *loginLimits) count(backendID, username, ip string) (a loginAttempt, wait time.Duration, limited string) {
	network := clientNetwork(ip)
	userKey := backendID + "\x00" + auth.FoldUsername(username)
	a.userNetKey = userKey + "\x00" + network
	if ok, wait := l.perIP.Allow(network); !ok {
		return loginAttempt{}, wait, "ip"
	}
	var ok bool
	if a.perUser, ok, wait = l.perUser.Reserve(a.userNetKey); !ok {
		return loginAttempt{}, wait, "user"
	}
	if a.global, ok, wait = l.perUserGlobal.Reserve(userKey); !ok {
		a.perUser.Cancel()
		return loginAttempt{}, wait, "user_global"
	}
	return a, 0, ""
}

// reset forgets the failed attempts of a user who just signed in from this
// network.
func (l *loginLimits) reset(a loginAttempt) { l.perUser.Reset(a.userNetKey) }

// loginFinisher starts the session after any successful login and sends
// the browser on.
type loginFinisher struct {
	site     *site
	sessions *session.Manager
	logins   *signin.Keeper
	clients  clients
	log      *slog.Logger
	now      func() time.Time
}

// finish starts the session and continues to the room, or to the welcome
// page when no room was chosen yet. It counts the login as a success once
// the session is saved, or as an error.
func (l *loginFinisher) finish(w http.ResponseWriter, r *http.Request, id auth.Identity, t target.Target, logoutHint string) {
	s := l.site
	u := session.FromIdentity(id)
	u.IssuedAt = l.now()
	u.ExpiresAt = u.IssuedAt.Add(l.sessions.Lifetime())
	// The groups live in the login record, not in the cookie: a
	// directory can list hundreds, more than a cookie holds, and room
	// participants may name any of them.
	u.Groups = nil
	sid, err := l.logins.Start(r.Context(), id, u.ExpiresAt)
	if err != nil {
		s.metrics.Login(id.Backend, metrics.LoginError)
		s.handleError(w, r, fmt.Errorf("start login: %w", err), s.loginPath(t))
		return
	}
	u.LoginID = sid
	if err := l.sessions.Save(w, r, u); err != nil {
		s.metrics.Login(id.Backend, metrics.LoginError)
		s.handleError(w, r, fmt.Errorf("save session: %w", err), s.loginPath(t))
		return
	}
	if logoutHint != "" {
		if err := l.sessions.SaveLogoutHint(w, r, logoutHint); err != nil {
			l.log.WarnContext(r.Context(), "logout hint not saved; logout at the provider will ask for confirmation", "err", err)
		}
	}
	s.metrics.Login(id.Backend, metrics.LoginSuccess)
	l.log.InfoContext(r.Context(), "login", "backend", id.Backend, "user", id.Subject,
		"username", id.Username, "groups", id.Groups, "client", l.clients.ip(r))
	http.Redirect(w, r, s.afterLogin(t), http.StatusSeeOther)
}

// afterLogin is where a signed-in user goes for t: back to Jitsi's inline
// sign-in in the popup, to the room, or, with nothing to sign in for, to
// the welcome page (the user's day).
func (s *site) afterLogin(t target.Target) string {
	switch {
	case t.Authorize != nil:
		return s.ssoAuthorizePath(t)
	case t.HasRoom():
		return s.joinPath(t)
	}
	return s.path("/")
}
