package web

import (
	"encoding/json"
	"net/http"
	"slices"
	"strings"

	"github.com/jitsi-gate/jitsi-gate/internal/session"
	"github.com/jitsi-gate/jitsi-gate/internal/sso"
	"github.com/jitsi-gate/jitsi-gate/internal/target"
)

// mountSSO adds Jitsi's inline sign-in (internal/sso): the popup's
// authorize endpoint, the token endpoint sso.html posts to, and the logout
// Jitsi loads in a hidden iframe. The token endpoint reads no cookie (a
// code or refresh token in the body is its only credential), so it is
// exempt from the cross-origin form check (crossOrigin) and answers CORS
// for the Jitsi origin itself.
func mountSSO(mux *http.ServeMux, s *site, jitsi *target.Jitsi, srv *sso.Server, cl clients) {
	mux.Handle("GET "+s.path("/sso/authorize"), handleSSOAuthorize(s, srv))
	mux.Handle(s.path("/sso/token"), handleSSOToken(s, jitsi, srv, cl))
	mux.Handle("GET "+s.path("/sso/logout"), handleSSOLogout(s, srv))
}

// ssoAuthorizePath continues a login to the inline sign-in: always our own
// authorize endpoint, with only the authorize parameters, which it checks
// again.
func (s *site) ssoAuthorizePath(t target.Target) string {
	return s.pathWith("/sso/authorize", target.KeepAuthorizeParams(t.Authorize))
}

// handleSSOAuthorize is Jitsi's tokenAuthUrl in inline mode (GET
// /sso/authorize). A signed-in user is sent straight back with a code (a
// refresh round passes here too); anyone else signs in first, with any
// backend, and the login continues here (target.Target.Authorize). The
// state is never logged: in a refresh round it holds the refresh token.
func handleSSOAuthorize(s *site, srv *sso.Server) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ctx := r.Context()
		req, aerr := srv.ParseAuthorize(r.URL.Query())
		if aerr != nil {
			s.log.InfoContext(ctx, "sso: authorize request refused", "client", truncate(req.ClientID, 64),
				"error", aerr.Code, "description", aerr.Description)
			if loc := aerr.RedirectURL(); loc != "" {
				http.Redirect(w, r, loc, http.StatusFound)
				return
			}
			s.fail(w, r, http.StatusBadRequest, "", "error.sso_request", aerr.Description)
			return
		}
		t := req.Target
		t.Authorize = req.Params()
		u, ok := s.requireSignIn(w, r, t, func() string { return s.ssoAuthorizePath(t) })
		if !ok {
			return
		}
		http.Redirect(w, r, srv.Authorize(ctx, req, sso.Login{ID: u.LoginID, Identity: u.Identity}), http.StatusFound)
	})
}

// maxTokenFormBytes bounds token request bodies (a code or refresh token
// and a verifier).
const maxTokenFormBytes = 8 << 10

// handleSSOToken is POST /sso/token for Jitsi's sso.html, with CORS for
// the Jitsi origin only: a request from any other origin is refused before
// anything is looked at.
func handleSSOToken(s *site, jitsi *target.Jitsi, srv *sso.Server, cl clients) http.Handler {
	allowed := []string{jitsi.URL.Scheme + "://" + jitsi.URL.Host}
	for _, o := range srv.FrameOrigins() {
		if !slices.Contains(allowed, o) {
			allowed = append(allowed, o)
		}
	}
	own := s.publicURL.Scheme + "://" + s.publicURL.Host
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ctx := r.Context()
		h := w.Header()
		h.Set("Vary", "Origin")
		origin := r.Header.Get("Origin")
		cors := slices.Contains(allowed, origin)
		if origin != "" && !cors && origin != own {
			s.log.WarnContext(ctx, "sso: token request from a foreign origin refused", "origin", truncate(origin, 200), "client", cl.ip(r))
			writeOAuthError(w, http.StatusForbidden, "invalid_request", "this origin may not use the token endpoint")
			return
		}
		if cors {
			h.Set("Access-Control-Allow-Origin", origin)
		}
		switch r.Method {
		case http.MethodOptions:
			// The form POST of sso.html is a simple request; a preflight
			// only comes from clients that add headers.
			if !cors {
				writeOAuthError(w, http.StatusForbidden, "invalid_request", "no cross-origin access for this origin")
				return
			}
			h.Set("Access-Control-Allow-Methods", "POST")
			h.Set("Access-Control-Allow-Headers", "Content-Type")
			h.Set("Access-Control-Max-Age", "600")
			w.WriteHeader(http.StatusNoContent)
			return
		case http.MethodPost:
		default:
			h.Set("Allow", "POST, OPTIONS")
			writeOAuthError(w, http.StatusMethodNotAllowed, "invalid_request", "use POST")
			return
		}
		ct := r.Header.Get("Content-Type")
		if mt, _, _ := strings.Cut(ct, ";"); strings.TrimSpace(strings.ToLower(mt)) != "application/x-www-form-urlencoded" {
			writeOAuthError(w, http.StatusBadRequest, "invalid_request", "the body must be application/x-www-form-urlencoded")
			return
		}
		r.Body = http.MaxBytesReader(w, r.Body, maxTokenFormBytes)
		if err := r.ParseForm(); err != nil {
			writeOAuthError(w, http.StatusBadRequest, "invalid_request", "the form cannot be read")
			return
		}
		is, terr := srv.Token(ctx, r.PostForm)
		if terr != nil {
			s.log.InfoContext(ctx, "sso: token request refused", "grant_type", truncate(r.PostForm.Get("grant_type"), 32),
				"error", terr.Code, "description", terr.Description, "client", cl.ip(r))
			if terr.Status == http.StatusUnauthorized {
				h.Set("WWW-Authenticate", `Basic realm="jitsi-gate sso"`)
			}
			writeOAuthError(w, terr.Status, terr.Code, terr.Description)
			return
		}
		auditSSOToken(s, r, is, cl)
		h.Set("Content-Type", "application/json")
		h.Set("Pragma", "no-cache")
		_ = json.NewEncoder(w).Encode(is.Response)
	})
}

// auditSSOToken is the audit line of the token endpoint, like /join's.
func auditSSOToken(s *site, r *http.Request, is sso.Issued, cl clients) {
	u := session.User{Identity: is.Identity}
	tokenIssued(s, r, u, is.Grant, is.Target, cl)
	s.log.InfoContext(r.Context(), "sso: tokens issued", "grant_type", is.GrantType, "sso_client", is.ClientID,
		"user", is.Identity.Subject, "expires_in", is.Response.ExpiresIn)
}

func writeOAuthError(w http.ResponseWriter, status int, code, description string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(map[string]string{"error": code, "error_description": description})
}

// handleSSOLogout is Jitsi's tokenLogoutUrl in inline mode (GET
// /sso/logout?client_id=…&post_logout_redirect_uri=…&id_token_hint=…),
// loaded in a hidden iframe on the meeting page: it ends the login (the
// cookie's, or the one the id_token_hint names when the iframe sends no
// cookie) with its refresh tokens, and sends the iframe to Jitsi's
// static/logout.html, which tells the meeting page. It alone may be framed,
// and only by the Jitsi origin. The identity provider's own session is
// left alone: its logout page cannot run in a hidden iframe.
func handleSSOLogout(s *site, srv *sso.Server) http.Handler {
	frameAncestors := strings.Join(srv.FrameOrigins(), " ")
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ctx := r.Context()
		q := r.URL.Query()
		dest, err := srv.LogoutRedirect(q.Get("client_id"), q.Get("post_logout_redirect_uri"))
		if err != nil {
			s.log.InfoContext(ctx, "sso: logout request refused", "err", err)
			s.fail(w, r, http.StatusBadRequest, "", "error.sso_request", err.Error())
			return
		}
		h := w.Header()
		if csp := h.Get("Content-Security-Policy"); csp != "" {
			h.Set("Content-Security-Policy", strings.Replace(csp, "frame-ancestors 'none'", "frame-ancestors "+frameAncestors, 1))
		}
		h.Del("X-Frame-Options")

		if u, err := s.sessions.Load(r); err == nil {
			s.sessions.Clear(w, r)
			if err := s.logins.End(ctx, u.LoginID); err != nil {
				s.log.ErrorContext(ctx, "sso logout: login record not revoked", "user", u.Subject, "err", err)
			}
			if err := srv.EndLogin(ctx, u.LoginID); err != nil {
				s.log.ErrorContext(ctx, "sso logout: refresh tokens not revoked", "user", u.Subject, "err", err)
			}
			s.log.InfoContext(ctx, "logout", "backend", u.Backend, "user", u.Subject, "via", "sso")
		}
		if hint := q.Get("id_token_hint"); hint != "" {
			if err := srv.EndHint(ctx, hint); err != nil {
				s.log.InfoContext(ctx, "sso logout: id_token_hint not used", "err", err)
			}
		}
		http.Redirect(w, r, dest, http.StatusFound)
	})
}
