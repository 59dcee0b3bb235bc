package web

import (
	"log/slog"
	"net/http"
	"net/url"
	"runtime/debug"
	"strings"
	"time"

	"github.com/jitsi-gate/jitsi-gate/internal/metrics"
)

type middleware func(http.Handler) http.Handler

// chain applies middlewares so that the first one listed runs first.
func chain(h http.Handler, m ...middleware) http.Handler {
	for i := len(m) - 1; i >= 0; i-- {
		h = m[i](h)
	}
	return h
}

// logRequests writes one debug line per request. The query string is left
// out on purpose: it carries OIDC codes and Jitsi state.
func logRequests(log *slog.Logger, cl clients) middleware {
	return func(next http.Handler) http.Handler { return logRequestsTo(log, cl, next) }
}

func logRequestsTo(log *slog.Logger, cl clients, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !log.Enabled(r.Context(), slog.LevelDebug) {
			// The common case: no access log, no wrapper on the hot path.
			next.ServeHTTP(w, r)
			return
		}
		start := time.Now()
		rec := &metrics.StatusRecorder{ResponseWriter: w}
		next.ServeHTTP(rec, r)
		log.DebugContext(r.Context(), "request", "method", r.Method, "path", logPath(r.URL.Path),
			"status", rec.Status(), "duration", time.Since(start), "client", cl.ip(r))
	})
}

// recoverPanics turns a panic into a 500 page; the stack goes to the log,
// never to the browser.
func recoverPanics(s *site) middleware {
	return func(next http.Handler) http.Handler { return recoverPanicsIn(s, next) }
}

func recoverPanicsIn(s *site, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		defer func() {
			if v := recover(); v != nil {
				if v == http.ErrAbortHandler {
					panic(v)
				}
				s.log.ErrorContext(r.Context(), "panic in handler", "panic", v, "path", logPath(r.URL.Path), "stack", string(debug.Stack()))
				s.fail(w, r, http.StatusInternalServerError, "", "error.internal")
			}
		}()
		next.ServeHTTP(w, r)
	})
}

// secureHeaders sets a strict CSP (no inline script or style, nothing from
// other origins) and keeps pages out of caches and frames. form-action must
// allow Jitsi: after a login POST the browser follows redirects to it.
func secureHeaders(jitsi *url.URL, staticPrefix string) middleware {
	return func(next http.Handler) http.Handler { return secureHeadersFor(jitsi, staticPrefix, next) }
}

func secureHeadersFor(jitsi *url.URL, static string, next http.Handler) http.Handler {
	jitsiOrigin := jitsi.Scheme + "://" + jitsi.Host
	csp := strings.Join([]string{
		"default-src 'none'",
		"script-src 'self'",
		"style-src 'self'",
		"img-src 'self' data:",
		"connect-src 'self'",
		"form-action 'self' " + jitsiOrigin + " org.jitsi.meet: jitsi-meet:",
		"frame-ancestors 'none'",
		"base-uri 'none'",
	}, "; ")
	// Built once: these headers are the same on every response. The
	// slices are only read by net/http; handlers replace, never append.
	fixed := map[string][]string{
		"Content-Security-Policy": {csp},
		"X-Content-Type-Options":  {"nosniff"},
		"X-Frame-Options":         {"DENY"},
		// Tokens travel in URLs: never leak them to another site.
		"Referrer-Policy": {"no-referrer"},
	}
	noStore := []string{"no-store"}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		for k, v := range fixed {
			h[k] = v
		}
		if !strings.HasPrefix(r.URL.Path, static) {
			h["Cache-Control"] = noStore
		}
		next.ServeHTTP(w, r)
	})
}

// documentOnlyHeaders are the secureHeaders that only act on a response
// the browser renders.
var documentOnlyHeaders = []string{"Content-Security-Policy", "X-Frame-Options", "X-Content-Type-Options"}

// crossOrigin refuses cross-site form posts (login CSRF) with the standard
// library's Fetch-metadata check, showing our own error page.
func crossOrigin(s *site) middleware {
	return func(next http.Handler) http.Handler { return crossOriginFor(s, next) }
}

func crossOriginFor(s *site, next http.Handler) http.Handler {
	cop := http.NewCrossOriginProtection()
	u := s.publicURL
	// Behind a proxy that rewrites Host, browsers without Sec-Fetch-Site
	// still send Origin: trust the public origin explicitly.
	_ = cop.AddTrustedOrigin(u.Scheme + "://" + u.Host)
	// The inline sign-in's token endpoint reads no cookie and answers CORS
	// for the Jitsi origin itself (handle_sso.go).
	cop.AddInsecureBypassPattern("POST " + s.path("/sso/token"))
	cop.SetDenyHandler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.log.WarnContext(r.Context(), "cross-origin request refused", "path", logPath(r.URL.Path),
			"origin", r.Header.Get("Origin"), "sec_fetch_site", r.Header.Get("Sec-Fetch-Site"))
		if s.isAPI(r) {
			writeAPIError(w, http.StatusForbidden, "", "requests from another site may not change rooms")
			return
		}
		s.fail(w, r, http.StatusForbidden, s.path("/"), "error.cross_origin")
	}))
	return cop.Handler(next)
}

// Bounds on the Cookie header. The server already refuses headers over
// 64 KB in total (cmd/jitsi-gate/serve.go); the gateway's own cookies are
// a few KB (session.MaxFlowBytes and the user cookie), so a Cookie header
// over maxCookieHeaderBytes is refused with 431, and at most maxOwnCookies
// of ours are looked at.
const (
	maxCookieHeaderBytes = 32 << 10
	maxOwnCookies        = 16
)

// ownCookies hands the handlers a Cookie header holding only the gateway's
// cookies (names starting with the session cookie name, and the language
// cookie). The gateway shares its domain with Jitsi and whatever else runs
// there, and net/http parses the whole header on every Cookie lookup, so
// without this a request with hundreds of foreign cookies costs several
// times one with a single cookie. The filter is one pass with
// strings.Index over the header; the common case (only our cookies) passes
// the request on unchanged.
func ownCookies(s *site, cl clients) middleware {
	prefixes := []string{s.sessions.CookiePrefix()}
	if !strings.HasPrefix(langCookie, prefixes[0]) {
		prefixes = append(prefixes, langCookie)
	}
	return func(next http.Handler) http.Handler { return ownCookiesWith(s, cl, prefixes, next) }
}

func ownCookiesWith(s *site, cl clients, prefixes []string, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		lines := r.Header["Cookie"]
		if len(lines) == 0 {
			next.ServeHTTP(w, r)
			return
		}
		size := 0
		for _, l := range lines {
			size += len(l)
		}
		if size > maxCookieHeaderBytes {
			s.log.WarnContext(r.Context(), "request refused: Cookie header too large", "path", logPath(r.URL.Path),
				"bytes", size, "limit", maxCookieHeaderBytes, "client", cl.ip(r))
			s.fail(w, withCookieHeader(r, ""), http.StatusRequestHeaderFieldsTooLarge, s.path("/"), "error.cookies_too_large")
			return
		}
		if kept, dropped := ownCookieHeader(lines, prefixes); dropped {
			r = withCookieHeader(r, kept)
		}
		next.ServeHTTP(w, r)
	})
}

// withCookieHeader returns a shallow copy of r whose Cookie header is
// cookie ("" for none); r itself is not modified.
func withCookieHeader(r *http.Request, cookie string) *http.Request {
	r2 := new(http.Request)
	*r2 = *r
	r2.Header = r.Header.Clone()
	if cookie == "" {
		delete(r2.Header, "Cookie")
	} else {
		r2.Header["Cookie"] = []string{cookie}
	}
	return r2
}

// ownCookieHeader returns the cookies of lines (Cookie header values)
// whose names start with one of prefixes, in their order, at most
// maxOwnCookies, joined as one header value; dropped reports whether any
// cookie was left out. It jumps from one prefix occurrence to the next
// instead of splitting every cookie, and an occurrence counts only at the
// start of a cookie (not inside another cookie's value).
func ownCookieHeader(lines []string, prefixes []string) (kept string, dropped bool) {
	// The kept cookies as (line, start, end); the header is only rebuilt
	// when something was dropped.
	type span struct{ line, start, end int }
	var spans [maxOwnCookies]span
	n, total := 0, 0
	var nextBuf [4]int
	next := nextBuf[:0]
	if len(prefixes) <= len(nextBuf) {
		next = nextBuf[:len(prefixes)]
	} else {
		next = make([]int, len(prefixes))
	}
	for li, line := range lines {
		total += strings.Count(line, ";") + 1
		for i, p := range prefixes {
			next[i] = strings.Index(line, p)
		}
		for {
			at := -1
			for _, i := range next {
				if i >= 0 && (at < 0 || i < at) {
					at = i
				}
			}
			if at < 0 {
				break
			}
			end := len(line)
			if semi := strings.IndexByte(line[at:], ';'); semi >= 0 {
				end = at + semi
			}
			if atCookieStart(line, at) {
				if n < maxOwnCookies {
					spans[n] = span{li, at, end}
				}
				n++
			}
			// Whether or not it was ours, nothing of ours starts before
			// the next ';'.
			for i, p := range prefixes {
				if next[i] >= 0 && next[i] < end {
					if j := strings.Index(line[end:], p); j >= 0 {
						next[i] = end + j
					} else {
						next[i] = -1
					}
				}
			}
		}
	}
	if n == total && len(lines) == 1 {
		return lines[0], false
	}
	var b strings.Builder
	for i := range min(n, maxOwnCookies) {
		if i > 0 {
			b.WriteString("; ")
		}
		sp := spans[i]
		b.WriteString(strings.TrimRight(lines[sp.line][sp.start:sp.end], " \t"))
	}
	return b.String(), true
}

// atCookieStart reports whether position i of a Cookie header value is the
// start of a cookie name: only blanks between it and the previous ';' or
// the start.
func atCookieStart(line string, i int) bool {
	j := i - 1
	for j >= 0 && (line[j] == ' ' || line[j] == '\t') {
		j--
	}
	return j < 0 || line[j] == ';'
}
