package web

import (
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"net/http"

	"github.com/jitsi-gate/jitsi-gate/internal/auth"
	"github.com/jitsi-gate/jitsi-gate/internal/metrics"
	"github.com/jitsi-gate/jitsi-gate/internal/session"
	"github.com/jitsi-gate/jitsi-gate/internal/target"
)

// randomToken returns 32 random bytes, base64url-encoded: state, nonce and
// PKCE verifier (RFC 7636 allows 43–128 characters; this is 43).
func randomToken() string {
	b := make([]byte, 32)
	_, _ = rand.Read(b) // crypto/rand.Read never fails (Go 1.24+).
	return base64.RawURLEncoding.EncodeToString(b)
}

// handleLoginStart begins a login at an identity provider (GET
// /login/{backend}?room=… or ?state=…, so tokenAuthUrl can point straight
// at one provider): it remembers state, nonce, PKCE verifier and
// the target in a short-lived encrypted flow cookie and redirects to the
// provider. For a password backend it shows the login page.
func handleLoginStart(s *site, jitsi *target.Jitsi, backends *backendSet, sessions *session.Manager) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		backendID := r.PathValue("backend")
		t, err := requestTarget(jitsi, r)
		if err != nil {
			s.handleError(w, r, err, s.path("/"))
			return
		}
		if _, ok := backends.passwords[backendID]; ok {
			http.Redirect(w, r, s.loginPath(t), http.StatusSeeOther)
			return
		}
		b, ok := backends.redirects[backendID]
		if !ok {
			s.fail(w, r, http.StatusNotFound, s.path("/login"), "error.unknown_backend", backendID)
			return
		}
		f := session.Flow{
			Backend:  backendID,
			State:    randomToken(),
			Nonce:    randomToken(),
			Verifier: randomToken(),
			Target:   t.Encode(),
		}
		authURL, err := b.AuthCodeURL(r.Context(), f.State, f.Nonce, f.Verifier)
		if err != nil {
			// A provider that is down stops logins here, before any
			// callback: counted, so "backend down" alerts see it.
			s.metrics.Login(backendID, loginFailure(err))
			s.handleError(w, r, fmt.Errorf("start login at %s: %w", backendID, err), s.loginPath(t))
			return
		}
		if err := sessions.SaveFlow(w, r, f); err != nil {
			s.handleError(w, r, fmt.Errorf("save login flow: %w", err), s.loginPath(t))
			return
		}
		http.Redirect(w, r, authURL, http.StatusFound)
	})
}

// handleCallback finishes a provider login (GET /callback/{backend}). The
// state picks the flow cookie of its own login (a browser may have several
// in progress, one per tab) and must match it before anything else is
// looked at: a callback that belongs to no login here gets the generic
// "start again" page, whatever error text it carries, and its code is never
// exchanged. The flow cookie is cleared first, so neither state nor code
// can be replayed in this browser; other logins in progress stay.
func handleCallback(s *site, jitsi *target.Jitsi, backends *backendSet, sessions *session.Manager, login *loginFinisher) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ctx := r.Context()
		backendID := r.PathValue("backend")
		b, ok := backends.redirects[backendID]
		if !ok {
			s.fail(w, r, http.StatusNotFound, s.path("/login"), "error.unknown_backend", backendID)
			return
		}
		q := r.URL.Query()
		state := q.Get("state")
		f, err := sessions.LoadFlow(r, state)
		sessions.ClearFlow(w, state)
		// A callback that belongs to no login of this browser is not
		// counted as a login (anyone can send one); it shows as a 400 of
		// the callback route in the HTTP metrics.
		switch {
		case errors.Is(err, session.ErrOtherFlow):
			s.log.WarnContext(ctx, "callback state belongs to no login flow of this browser", "backend", backendID)
			s.fail(w, r, http.StatusBadRequest, s.path("/login"), "error.flow_state")
			return
		case err != nil || f.Backend != backendID:
			s.log.InfoContext(ctx, "callback without a matching login flow", "backend", backendID, "err", err)
			s.fail(w, r, http.StatusBadRequest, s.path("/login"), "error.flow_missing")
			return
		}
		t, err := jitsi.Decode(f.Target)
		if err != nil {
			s.metrics.Login(backendID, metrics.LoginError)
			s.handleError(w, r, err, s.path("/login"))
			return
		}
		retry := s.loginPath(t)
		// Only now, with the state proven ours, is the provider's error
		// text worth showing.
		if perr := auth.CallbackError(q); perr != nil {
			s.metrics.Login(backendID, metrics.LoginDenied)
			s.handleError(w, r, perr, retry)
			return
		}
		code := q.Get("code")
		if code == "" {
			s.metrics.Login(backendID, metrics.LoginDenied)
			s.handleError(w, r, &target.Error{Key: "error.bad_request", Err: errors.New("callback without code")}, retry)
			return
		}
		id, hint, err := b.Exchange(ctx, code, f.Verifier, f.Nonce)
		switch {
		case err == nil:
		case errors.Is(err, auth.ErrUnavailable), errors.Is(err, auth.ErrProvider):
			s.metrics.Login(backendID, loginFailure(err))
			s.handleError(w, r, fmt.Errorf("finish login at %s: %w", backendID, err), retry)
			return
		default:
			// The provider's answer did not verify (signature, issuer,
			// audience, expiry, nonce) or its claims have the wrong shape:
			// no session, and the admin's log says which.
			s.metrics.Login(backendID, metrics.LoginDenied)
			s.log.ErrorContext(ctx, "provider answer refused", "backend", backendID, "err", err)
			s.fail(w, r, http.StatusUnauthorized, retry, "error.login_unverified")
			return
		}
		login.finish(w, r, id, t, hint)
	})
}

// loginFailure is the login result an error of a provider login counts
// as: the provider down, the provider refusing (an expired or replayed
// code), or anything else.
func loginFailure(err error) string {
	switch {
	case errors.Is(err, auth.ErrUnavailable):
		return metrics.LoginUnavailable
	case errors.Is(err, auth.ErrProvider):
		return metrics.LoginDenied
	}
	return metrics.LoginError
}
