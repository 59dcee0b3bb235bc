// Package metrics is jitsi-gate's Prometheus instrumentation: a registry of
// its own (never the global default, so tests and several gateways in one
// process do not share counters), the Go and process collectors, and a
// small typed API the web layer and the identity backends call.
//
// A nil *Metrics is valid and records nothing: with metrics switched off
// (metrics.listen empty) callers hold a nil pointer and call the same
// methods, without ifs.
//
// Every label value is bounded. Results, roles, operations, reservation
// decisions and invite events come from fixed sets (anything else is
// recorded as "other"); backend ids and rule names come from the
// configuration (Options) or, when not given, the first few distinct values
// seen; HTTP routes are ServeMux patterns, never raw paths. A scrape
// therefore stays the same size however many users, rooms or junk URLs the
// gateway sees.
package metrics

import (
	"fmt"
	"log/slog"
	"runtime"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/common/model"
)

// namespace prefixes every jitsi-gate metric.
const namespace = "jitsi_gate"

// Login results (the result label of jitsi_gate_logins_total).
const (
	// LoginSuccess: the backend confirmed the user; a session was started.
	LoginSuccess = "success"
	// LoginBadCredentials: wrong user name or password.
	LoginBadCredentials = "bad_credentials"
	// LoginDenied: the identity provider or the user refused the login
	// (OIDC error=access_denied, consent cancelled) or the provider's
	// answer did not verify.
	LoginDenied = "denied"
	// LoginUnavailable: the backend could not be reached or answered
	// with an error.
	LoginUnavailable = "unavailable"
	// LoginRateLimited: refused before the backend was asked.
	LoginRateLimited = "rate_limited"
	// LoginError: anything else that went wrong inside the gateway.
	LoginError = "error"
)

// Roles a token is issued with (the role label of
// jitsi_gate_tokens_issued_total); the same words as the rules' role.
const (
	RoleOwner  = "owner"
	RoleMember = "member"
)

// Backend operations (the operation label of
// jitsi_gate_backend_request_duration_seconds).
const (
	// OpLDAPConnect: dial, TLS handshake and StartTLS.
	OpLDAPConnect = "ldap_connect"
	// OpLDAPBind: a simple bind, as the service account or as the user.
	OpLDAPBind = "ldap_bind"
	// OpLDAPSearch: one search (the user's entry or a round of groups).
	OpLDAPSearch = "ldap_search"
	// OpOIDCDiscovery: fetching the provider's discovery document.
	OpOIDCDiscovery = "oidc_discovery"
	// OpOIDCExchange: the token endpoint call and ID token verification.
	OpOIDCExchange = "oidc_exchange"
	// OpOIDCUserInfo: the userinfo endpoint call.
	OpOIDCUserInfo = "oidc_userinfo"
	// OpStaticVerify: the bcrypt comparison of a static user.
	OpStaticVerify = "static_verify"
)

// Reservation decisions (the decision label of
// jitsi_gate_reservation_decisions_total): the answers to Prosody's
// reservation requests.
const (
	// ReservationAllowed: a registered room inside its window (or without
	// a schedule) was reserved.
	ReservationAllowed = "allowed"
	// ReservationAllowedUnregistered: a room not in the registry was
	// allowed because unregistered rooms are.
	ReservationAllowedUnregistered = "allowed_unregistered"
	// ReservationClosed: a registered room outside its window was refused.
	ReservationClosed = "closed"
	// ReservationUnregistered: a room not in the registry was refused.
	ReservationUnregistered = "unregistered"
	// ReservationUnauthorized: the request lacked the API token.
	ReservationUnauthorized = "unauthorized"
	// ReservationError: the registry could not be asked or answered with
	// something unusable.
	ReservationError = "error"
)

// Invite events (the event label of jitsi_gate_invites_total).
const (
	InviteCreated  = "created"
	InviteRedeemed = "redeemed"
	InviteRejected = "rejected" // expired, used up, revoked or forged
	InviteRevoked  = "revoked"
)

// Other is recorded for a label value outside its set; None for an empty
// value where one was expected (an unnamed rule, a request no route
// matched).
const (
	Other = "other"
	None  = "none"
)

// Limits of the label sets that are not fixed.
const (
	maxBackends = 32
	maxRules    = 128
	maxRoutes   = 256
)

// Histogram buckets in seconds. Backends reach up to the LDAP timeout
// (default 10s) and beyond; HTTP handlers answer in milliseconds.
var (
	backendBuckets = []float64{.001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 30}
	httpBuckets    = []float64{.0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10}
)

// Options configure New.
type Options struct {
	// Version is the gateway's version, for jitsi_gate_build_info.
	Version string
	// Backends are the configured backend ids. Their login counters start
	// at 0 (so rate() and dashboards work before the first login), and any
	// other id is recorded as "other". Empty: the first 32 distinct ids
	// seen are recorded as they are.
	Backends []string
	// Rules are the configured rule names, treated like Backends (first
	// 128 distinct names when empty).
	Rules []string
	// Log receives errors of the /metrics handler; nil discards them.
	Log *slog.Logger
}

// Metrics holds the gateway's collectors. The zero value is not usable;
// a nil *Metrics records nothing.
type Metrics struct {
	reg *prometheus.Registry
	log *slog.Logger

	logins          *prometheus.CounterVec
	tokens          *prometheus.CounterVec
	accessDenied    *prometheus.CounterVec
	backendDuration *prometheus.HistogramVec
	reservations    *prometheus.CounterVec
	invites         *prometheus.CounterVec
	httpRequests    *prometheus.CounterVec
	httpDuration    *prometheus.HistogramVec

	backends, rules, routes                    *labelSet
	results, roles, ops, decisions, inviteKind *labelSet
}

// New builds the registry with every jitsi-gate metric, the Go runtime and
// process collectors, and jitsi_gate_build_info.
func New(opts Options) (*Metrics, error) {
	log := opts.Log
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	m := &Metrics{
		reg: prometheus.NewRegistry(),
		log: log,

		logins: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: namespace, Name: "logins_total",
			Help: "Login attempts by backend and result (success, bad_credentials, denied, unavailable, rate_limited, error).",
		}, []string{"backend", "result"}),
		tokens: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: namespace, Name: "tokens_issued_total",
			Help: "Jitsi tokens issued, by the rule that decided and the role it granted.",
		}, []string{"rule", "role"}),
		accessDenied: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: namespace, Name: "access_denied_total",
			Help: "Signed-in users refused a room, by the deny rule that decided (none: no rule applied).",
		}, []string{"rule"}),
		backendDuration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Namespace: namespace, Name: "backend_request_duration_seconds",
			Help:    "Duration of identity backend operations (LDAP connect/bind/search, OIDC discovery/exchange/userinfo, bcrypt).",
			Buckets: backendBuckets,
		}, []string{"backend", "operation"}),
		reservations: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: namespace, Name: "reservation_decisions_total",
			Help: "Answers to Prosody's room reservation requests, by decision.",
		}, []string{"decision"}),
		invites: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: namespace, Name: "invites_total",
			Help: "Invitation links by event (created, redeemed, rejected, revoked).",
		}, []string{"event"}),
		httpRequests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: namespace, Name: "http_requests_total",
			Help: "HTTP requests by route pattern and status code.",
		}, []string{"route", "code"}),
		httpDuration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Namespace: namespace, Name: "http_request_duration_seconds",
			Help:    "HTTP request duration by route pattern.",
			Buckets: httpBuckets,
		}, []string{"route"}),

		backends:   newLabelSet(opts.Backends, maxBackends),
		rules:      newLabelSet(opts.Rules, maxRules),
		routes:     newLabelSet(nil, maxRoutes),
		results:    newLabelSet([]string{LoginSuccess, LoginBadCredentials, LoginDenied, LoginUnavailable, LoginRateLimited, LoginError}, 0),
		roles:      newLabelSet([]string{RoleOwner, RoleMember}, 0),
		ops:        newLabelSet([]string{OpLDAPConnect, OpLDAPBind, OpLDAPSearch, OpOIDCDiscovery, OpOIDCExchange, OpOIDCUserInfo, OpStaticVerify}, 0),
		decisions:  newLabelSet([]string{ReservationAllowed, ReservationAllowedUnregistered, ReservationClosed, ReservationUnregistered, ReservationUnauthorized, ReservationError}, 0),
		inviteKind: newLabelSet([]string{InviteCreated, InviteRedeemed, InviteRejected, InviteRevoked}, 0),
	}

	version := opts.Version
	if version == "" {
		version = "unknown"
	}
	buildInfo := prometheus.NewGauge(prometheus.GaugeOpts{
		Namespace: namespace, Name: "build_info",
		Help:        "Always 1; the labels name the jitsi-gate version and the Go version it was built with.",
		ConstLabels: prometheus.Labels{"version": version, "go_version": runtime.Version()},
	})
	buildInfo.Set(1)

	for _, c := range []prometheus.Collector{
		collectors.NewGoCollector(),
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
		buildInfo,
		m.logins, m.tokens, m.accessDenied, m.backendDuration,
		m.reservations, m.invites, m.httpRequests, m.httpDuration,
	} {
		if err := m.reg.Register(c); err != nil {
			return nil, fmt.Errorf("register metrics collector: %w", err)
		}
	}

	// Counters that exist from the start make rate() and increase() work
	// from the first scrape and show the dashboards a 0 instead of "no
	// data". Only the configured combinations: a handful of series.
	for _, b := range opts.Backends {
		for _, r := range m.results.fixed {
			m.logins.WithLabelValues(m.backends.value(b), r)
		}
	}
	for _, rule := range opts.Rules {
		for _, role := range m.roles.fixed {
			m.tokens.WithLabelValues(m.rules.value(rule), role)
		}
	}
	return m, nil
}

// Login records one login attempt at backend with result (one of the
// Login* constants).
func (m *Metrics) Login(backend, result string) {
	if m == nil {
		return
	}
	m.logins.WithLabelValues(m.backends.value(backend), m.results.value(result)).Inc()
}

// TokenIssued records a Jitsi token minted by rule with role (RoleOwner or
// RoleMember).
func (m *Metrics) TokenIssued(rule, role string) {
	if m == nil {
		return
	}
	m.tokens.WithLabelValues(m.rules.value(rule), m.roles.value(role)).Inc()
}

// AccessDenied records a signed-in user refused a room by rule ("" when no
// rule applied).
func (m *Metrics) AccessDenied(rule string) {
	if m == nil {
		return
	}
	m.accessDenied.WithLabelValues(m.rules.value(rule)).Inc()
}

// ObserveBackend records how long one backend operation (one of the Op*
// constants) took, whatever its outcome.
func (m *Metrics) ObserveBackend(backend, op string, d time.Duration) {
	if m == nil {
		return
	}
	m.backendDuration.WithLabelValues(m.backends.value(backend), m.ops.value(op)).Observe(d.Seconds())
}

// BackendObserver returns ObserveBackend bound to one backend, for an
// identity backend's options: the backend packages then need no import of
// this one. Nil-safe like every method.
func (m *Metrics) BackendObserver(backend string) func(op string, d time.Duration) {
	return func(op string, d time.Duration) { m.ObserveBackend(backend, op, d) }
}

// Reservation records one answer to Prosody's reservation API (one of the
// Reservation* constants).
func (m *Metrics) Reservation(decision string) {
	if m == nil {
		return
	}
	m.reservations.WithLabelValues(m.decisions.value(decision)).Inc()
}

// Invite records an invitation event (one of the Invite* constants).
func (m *Metrics) Invite(event string) {
	if m == nil {
		return
	}
	m.invites.WithLabelValues(m.inviteKind.value(event)).Inc()
}

// RateLimiterKeys publishes the size of a rate limiter as
// jitsi_gate_rate_limiter_keys{limiter=name}; size is called at every
// scrape and must be safe for concurrent use (ratelimit.Limiter.Len is).
func (m *Metrics) RateLimiterKeys(name string, size func() int) error {
	if m == nil {
		return nil
	}
	g := prometheus.NewGaugeFunc(prometheus.GaugeOpts{
		Namespace:   namespace,
		Name:        "rate_limiter_keys",
		Help:        "Keys (user names or client addresses) a login rate limiter currently holds.",
		ConstLabels: prometheus.Labels{"limiter": name},
	}, func() float64 { return float64(size()) })
	if err := m.reg.Register(g); err != nil {
		return fmt.Errorf("register rate limiter %q size: %w", name, err)
	}
	return nil
}

// RegisterGaugeFunc publishes f as the gauge jitsi_gate_<name> (the prefix
// is added when missing), read at every scrape, for a size or state that
// has no method of its own. It fails on an invalid or already registered
// name.
func (m *Metrics) RegisterGaugeFunc(name, help string, f func() float64) error {
	if m == nil {
		return nil
	}
	if !strings.HasPrefix(name, namespace+"_") {
		name = namespace + "_" + name
	}
	// The client accepts any UTF-8 name; Prometheus conventions (and
	// older servers) need the classic [a-zA-Z_:][a-zA-Z0-9_:]*.
	if !model.IsValidLegacyMetricName(name) {
		return fmt.Errorf("register gauge %q: not a valid metric name (letters, digits and _ only)", name)
	}
	if err := m.reg.Register(prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: name, Help: help}, f)); err != nil {
		return fmt.Errorf("register gauge %s: %w", name, err)
	}
	return nil
}

// Registry is the registry behind Handler, for tests and for collectors
// this package does not know.
func (m *Metrics) Registry() *prometheus.Registry {
	if m == nil {
		return nil
	}
	return m.reg
}
