package web

import (
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/jitsi-gate/jitsi-gate/internal/auth"
	"github.com/jitsi-gate/jitsi-gate/internal/ratelimit"
	"github.com/jitsi-gate/jitsi-gate/internal/session"
)

// maxFormBytes bounds login form bodies.
const maxFormBytes = 16 << 10

// loginPage is the data of login.html.
type loginPage struct {
	Target   target
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

// handleLoginPage is the login page and the target of Jitsi's
// tokenAuthUrl: /login?room={room} or /login?state={state}.
func (s *server) handleLoginPage() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		t, err := s.requestTarget(r)
		if err != nil {
			s.handleError(w, r, err, s.path("/"))
			return
		}
		// Already logged in: straight through.
		if u, err := s.sessions.Load(r); err == nil {
			if t.hasRoom() {
				http.Redirect(w, r, s.joinPath(t), http.StatusSeeOther)
				return
			}
			s.render(w, r, http.StatusOK, "welcome", "welcome.heading", &u, welcomePage{
				Action: s.path("/join"), Login: s.path("/login"), Preview: s.opts.Jitsi.Preview,
			})
			return
		}
		// With a single identity provider there is nothing to choose.
		if len(s.backends) == 1 && !s.backends[0].Password {
			http.Redirect(w, r, s.loginStartPath(s.backends[0].ID, t), http.StatusSeeOther)
			return
		}
		s.renderLogin(w, r, http.StatusOK, t, "", "", "")
	})
}

// requestTarget reads where the user wants to go from Jitsi's {state}
// (state=…) or from room=… and the other target parameters.
func (s *server) requestTarget(r *http.Request) (target, error) {
	q := r.URL.Query()
	if st := q.Get("state"); st != "" {
		return s.targetFromState(st)
	}
	return s.parseTarget(q.Get("room"), q)
}

func (s *server) loginStartPath(backend string, t target) string {
	p := s.path("/login/" + backend)
	q := t.query()
	if t.hasRoom() {
		q.Set("room", t.Room.Safe)
	}
	if len(q) > 0 {
		p += "?" + q.Encode()
	}
	return p
}

func (s *server) renderLogin(w http.ResponseWriter, r *http.Request, status int, t target, errMsg, username, focus string) {
	data := loginPage{Target: t, Room: t.Room.Display, Error: errMsg, Username: username, Focus: focus}
	for _, b := range s.backends {
		data.Backends = append(data.Backends, loginBackend{
			ID: b.ID, Label: b.Label, Password: b.Password, Action: s.loginStartPath(b.ID, t),
		})
	}
	s.render(w, r, status, "login", "login.heading", nil, data)
}

// handlePasswordLogin checks a username and password (POST
// /login/{backend}, fields username and password; the target is in the
// query string) and sends the browser on to /join.
func (s *server) handlePasswordLogin() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ctx := r.Context()
		backendID := r.PathValue("backend")
		b, ok := s.passwords[backendID]
		if !ok {
			s.fail(w, r, http.StatusNotFound, s.path("/login"), "error.unknown_backend", backendID)
			return
		}
		t, err := s.parseTarget(r.URL.Query().Get("room"), r.URL.Query())
		if err != nil {
			s.handleError(w, r, err, s.path("/login"))
			return
		}
		r.Body = http.MaxBytesReader(w, r.Body, maxFormBytes)
		if err := r.ParseForm(); err != nil {
			s.handleError(w, r, &targetError{key: "error.bad_request", err: fmt.Errorf("parse login form: %w", err)}, s.loginPath(t))
			return
		}
		username := strings.TrimSpace(r.PostForm.Get("username"))
		password := r.PostForm.Get("password")
		tr := s.translator(w, r)

		ip := s.clientIP(r)
		attempt, wait, limited := s.countLoginAttempt(backendID, username, ip)
		if limited != "" {
			secs := int(wait.Seconds() + 0.999)
			s.log.WarnContext(ctx, "login rate limited", "backend", backendID, "username", username,
				"client", ip, "limit", limited, "retry_after_s", secs)
			w.Header().Set("Retry-After", fmt.Sprint(secs))
			s.renderLogin(w, r, http.StatusTooManyRequests, t, tr.T("error.rate_limited", secs), username, backendID)
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
			s.log.InfoContext(ctx, "login failed: invalid credentials", "backend", backendID,
				"username", username, "client", ip)
			s.renderLogin(w, r, http.StatusUnauthorized, t, tr.T("error.invalid_credentials"), username, backendID)
			return
		case errors.Is(err, auth.ErrUnavailable):
			s.log.ErrorContext(ctx, "login failed: backend unavailable", "backend", backendID, "err", err)
			w.Header().Set("Retry-After", "30")
			s.renderLogin(w, r, http.StatusServiceUnavailable, t, tr.T("error.unavailable"), username, backendID)
			return
		case err != nil:
			s.handleError(w, r, fmt.Errorf("login at backend %s: %w", backendID, err), s.loginPath(t))
			return
		}
		s.perUser.Reset(attempt.userNetKey)
		s.completeLogin(w, r, id, t, "")
	})
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

// countLoginAttempt counts a password attempt against the client network,
// the username from that network and the username from everywhere, in
// that order, all before the (slow) backend call: concurrent guesses
// cannot all pass a check made before any of them failed. When a limit
// refuses, the counts already taken for this attempt are given back and
// limited names the limit ("ip", "user", "user_global").
//
// The username key is the folded form (auth.FoldUsername), so the variants
// a directory treats as one name share one budget. Keying per network
// keeps someone guessing from elsewhere from locking the user out of their
// own client; the much higher global cap still bounds a guesser spread
// over many networks.
func (s *server) countLoginAttempt(backendID, username, ip string) (a loginAttempt, wait time.Duration, limited string) {
	network := clientNetwork(ip)
	userKey := backendID + "\x00" + auth.FoldUsername(username)
	a.userNetKey = userKey + "\x00" + network
	if ok, wait := s.perIP.Allow(network); !ok {
		return loginAttempt{}, wait, "ip"
	}
	var ok bool
	if a.perUser, ok, wait = s.perUser.Reserve(a.userNetKey); !ok {
		return loginAttempt{}, wait, "user"
	}
	if a.global, ok, wait = s.perUserGlobal.Reserve(userKey); !ok {
		a.perUser.Cancel()
		return loginAttempt{}, wait, "user_global"
	}
	return a, 0, ""
}

// completeLogin starts the session and continues to the room, or to the
// welcome page when no room was chosen yet.
func (s *server) completeLogin(w http.ResponseWriter, r *http.Request, id auth.Identity, t target, logoutHint string) {
	u := session.FromIdentity(id)
	if err := s.sessions.Save(w, r, u); err != nil {
		// Directories can list hundreds of groups, more than a cookie
		// holds; only the groups the rules mention change any decision.
		u.Groups = s.policy.RelevantGroups(id.Groups)
		if err2 := s.sessions.Save(w, r, u); err2 != nil {
			s.handleError(w, r, fmt.Errorf("save session: %w", err), s.loginPath(t))
			return
		}
		s.log.WarnContext(r.Context(), "session keeps only the groups the rules mention", "backend", id.Backend,
			"user", id.Subject, "groups", len(id.Groups), "kept", len(u.Groups))
	}
	if logoutHint != "" {
		if err := s.sessions.SaveLogoutHint(w, r, logoutHint); err != nil {
			s.log.WarnContext(r.Context(), "logout hint not saved; logout at the provider will ask for confirmation", "err", err)
		}
	}
	s.log.InfoContext(r.Context(), "login", "backend", id.Backend, "user", id.Subject,
		"username", id.Username, "groups", id.Groups, "client", s.clientIP(r))
	next := s.path("/")
	if t.hasRoom() {
		next = s.joinPath(t)
	}
	http.Redirect(w, r, next, http.StatusSeeOther)
}
