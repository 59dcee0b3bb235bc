package metrics

import (
	"net/http"
	"strconv"
	"time"
)

// PatternRoute names a request by the ServeMux pattern that matched it
// (r.Pattern, e.g. "GET /join/{room}"); it is empty when no pattern did.
func PatternRoute(r *http.Request) string { return r.Pattern }

// MuxRoute names a request by the pattern of mux that serves it: r.Pattern
// once mux has run, or else mux's answer for the request. The fallback
// covers requests a middleware in front of mux answered itself (a refused
// cross-origin POST), and a middleware that passed mux a copy of the
// request (r.WithContext), which leaves r.Pattern empty on the original.
func MuxRoute(mux *http.ServeMux) func(*http.Request) string {
	return func(r *http.Request) string {
		if r.Pattern != "" {
			return r.Pattern
		}
		_, pattern := mux.Handler(r)
		return pattern
	}
}

// HTTPMiddleware counts requests in jitsi_gate_http_requests_total by route
// and status code and times them in jitsi_gate_http_request_duration_seconds
// by route. route is asked after the request was served and must return a
// value from a small set: a ServeMux pattern, never the raw path (nil means
// PatternRoute, which needs this middleware's request to be the one the mux
// saw; MuxRoute does not). Requests no route matched are recorded as
// "none". A nil *Metrics returns a middleware that adds nothing.
func (m *Metrics) HTTPMiddleware(route func(*http.Request) string) func(http.Handler) http.Handler {
	if m == nil {
		return func(next http.Handler) http.Handler { return next }
	}
	if route == nil {
		route = PatternRoute
	}
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			start := time.Now()
			rec := &StatusRecorder{ResponseWriter: w}
			next.ServeHTTP(rec, r)
			rt := m.routes.value(route(r))
			m.httpRequests.WithLabelValues(rt, codeLabel(rec.status)).Inc()
			m.httpDuration.WithLabelValues(rt).Observe(time.Since(start).Seconds())
		})
	}
}

// codeLabel is the status code as a label: 200 when the handler wrote
// nothing (net/http sends 200), Other outside the valid range.
func codeLabel(code int) string {
	switch {
	case code == 0:
		return "200"
	case code < 100 || code > 599:
		return Other
	}
	return codeLabels[code-100]
}

// codeLabels are the valid codes as strings, made once: strconv.Itoa
// allocates for numbers this large, on every request.
var codeLabels = func() (l [500]string) {
	for i := range l {
		l[i] = strconv.Itoa(100 + i)
	}
	return l
}()

// StatusRecorder remembers the final status code of a response (for the
// request metrics here and the gateway's access log). Unwrap and Flush
// keep http.ResponseController and streaming working through it.
type StatusRecorder struct {
	http.ResponseWriter
	status int
}

func (r *StatusRecorder) WriteHeader(code int) {
	// 1xx (other than 101 Switching Protocols) are interim responses: the
	// final code is still to come.
	if r.status == 0 && (code >= 200 || code == http.StatusSwitchingProtocols) {
		r.status = code
	}
	r.ResponseWriter.WriteHeader(code)
}

func (r *StatusRecorder) Write(b []byte) (int, error) {
	if r.status == 0 {
		r.status = http.StatusOK
	}
	return r.ResponseWriter.Write(b)
}

func (r *StatusRecorder) Flush() {
	if r.status == 0 {
		r.status = http.StatusOK
	}
	_ = http.NewResponseController(r.ResponseWriter).Flush()
}

func (r *StatusRecorder) Unwrap() http.ResponseWriter { return r.ResponseWriter }

// Status is the final status code written, 200 when the handler wrote a
// body without one, 0 when it wrote nothing (net/http then sends 200).
func (r *StatusRecorder) Status() int { return r.status }
