package web

import (
	"errors"
	"net/http"

	"github.com/jitsi-gate/jitsi-gate/internal/auth"
)

// handleError is the one place that turns an error into a status code and
// a page: specific and actionable for the user, with the cause in the log
// for the admin. It never shows internal details.
func (s *server) handleError(w http.ResponseWriter, r *http.Request, err error, retry string) {
	ctx := r.Context()
	var te *targetError
	var pe *auth.ProviderError
	switch {
	case errors.As(err, &te):
		s.log.InfoContext(ctx, "bad request", "path", r.URL.Path, "err", err)
		s.fail(w, r, http.StatusBadRequest, retry, te.key, te.args...)
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
		s.log.ErrorContext(ctx, "internal error", "path", r.URL.Path, "err", err)
		s.fail(w, r, http.StatusInternalServerError, retry, "error.internal")
	}
}
