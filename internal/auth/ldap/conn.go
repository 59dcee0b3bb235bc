package ldap

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"strings"
	"time"

	goldap "github.com/go-ldap/ldap/v3"

	"github.com/jitsi-gate/jitsi-gate/internal/auth"
)

// session is one connection used for one login (or explain, or check). It
// lives at most until deadline = min(ctx deadline, now+Timeout).
//
// go-ldap's Bind and Search take no context, so the deadline is enforced on
// the raw TCP connection: SetDeadline makes every read and write fail once
// it passes, and a context.AfterFunc pulls the deadline into the past when
// ctx is cancelled earlier. Either way go-ldap's reader fails, the pending
// request returns, and close releases everything.
type session struct {
	s        *settings
	conn     *goldap.Conn
	parent   context.Context // the caller's ctx
	ctx      context.Context // parent bounded by deadline
	deadline time.Time
	// ownDeadline is true when the deadline is the configured Timeout and
	// not an earlier deadline of the caller's ctx.
	ownDeadline bool
	release     func()
}

// open dials the server, does TLS (ldaps:// or StartTLS) and returns a
// session. Errors are already classified (see session.fail).
func open(ctx context.Context, s *settings) (*session, error) {
	defer s.observe(OpConnect, time.Now())
	se := &session{s: s, parent: ctx, deadline: time.Now().Add(s.Timeout), ownDeadline: true}
	if d, ok := ctx.Deadline(); ok && d.Before(se.deadline) {
		se.deadline, se.ownDeadline = d, false
	}
	var cancel context.CancelFunc
	se.ctx, cancel = context.WithDeadline(ctx, se.deadline)

	dialer := net.Dialer{Timeout: s.Timeout}
	// Errors are classified before cancel: fail looks at se.ctx.
	raw, err := dialer.DialContext(se.ctx, "tcp", s.addr)
	if err != nil {
		err = se.fail("connect to", err)
		cancel()
		return nil, err
	}
	if err := raw.SetDeadline(se.deadline); err != nil {
		err = se.fail("connect to", err)
		cancel()
		raw.Close()
		return nil, err
	}
	stop := context.AfterFunc(se.ctx, func() {
		// time.Unix(1, 0) is in the past: pending reads and writes fail now.
		_ = raw.SetDeadline(time.Unix(1, 0))
	})

	var nc net.Conn = raw
	if s.ldaps {
		tc := tls.Client(raw, s.tls)
		if err := tc.HandshakeContext(se.ctx); err != nil {
			err = se.tlsFail("", err)
			stop()
			cancel()
			raw.Close()
			return nil, err
		}
		nc = tc
	}
	se.conn = goldap.NewConn(nc, s.ldaps)
	se.conn.Start()
	// go-ldap's own per-request timer; the raw deadline is what really
	// bounds the session, this only makes go-ldap give up at the same time.
	se.conn.SetTimeout(time.Until(se.deadline))
	se.release = func() {
		stop()
		cancel()
		se.conn.Close()
	}

	if s.StartTLS {
		if err := se.conn.StartTLS(s.tls); err != nil {
			err = se.tlsFail(" (StartTLS)", err)
			se.close()
			return nil, err
		}
	}
	return se, nil
}

// close releases the connection and its goroutines. It is safe to call
// more than once.
func (se *session) close() {
	if se.release != nil {
		se.release()
		se.release = nil
	}
}

// bindService binds as the service account, or does nothing when the
// backend is anonymous (a fresh LDAPv3 connection is anonymous already).
func (se *session) bindService() error {
	if se.s.anonymous {
		return nil
	}
	if err := se.bind(se.s.BindDN, se.s.BindPassword); err != nil {
		if goldap.IsErrorWithCode(err, goldap.LDAPResultInvalidCredentials) {
			// Not auth.ErrInvalidCredentials: the gateway's own account is
			// wrong, every login fails; that is a configuration error.
			return fmt.Errorf("ldap: bind as service account %q on %s: wrong bind_dn or bind_password: %w",
				se.s.BindDN, se.s.addr, err)
		}
		return se.fail("bind as service account on", err)
	}
	return nil
}

// rebindService returns the connection to the service identity after the
// user's bind, so group searches run with the configured rights.
func (se *session) rebindService() error {
	if se.s.anonymous {
		if err := se.anonymousBind(); err != nil {
			return se.fail("anonymous rebind on", err)
		}
		return nil
	}
	return se.bindService()
}

// bind, anonymousBind and search are the connection's operations, timed
// for Config.Observe.
func (se *session) bind(dn, password string) error {
	defer se.s.observe(OpBind, time.Now())
	return se.conn.Bind(dn, password)
}

func (se *session) anonymousBind() error {
	defer se.s.observe(OpBind, time.Now())
	return se.conn.UnauthenticatedBind("")
}

func (se *session) search(req *goldap.SearchRequest) (*goldap.SearchResult, error) {
	defer se.s.observe(OpSearch, time.Now())
	return se.conn.Search(req)
}

// observe reports the time since start of op to Config.Observe, if set.
func (s *settings) observe(op string, start time.Time) {
	if s.Observe != nil {
		s.Observe(op, time.Since(start))
	}
}

// timeLimit is the server-side search time limit in whole seconds.
func (se *session) timeLimit() int {
	secs := int((se.s.Timeout + time.Second - 1) / time.Second)
	return max(secs, 1)
}

// unavailableError is an error the user sees as "directory unavailable"
// (auth.ErrUnavailable, 503) and the admin reads in the log: its message is
// self-contained and names the cause (refused, timeout, certificate, ...).
type unavailableError struct {
	msg   string
	cause error
}

func (e *unavailableError) Error() string { return e.msg }

func (e *unavailableError) Unwrap() []error { return []error{auth.ErrUnavailable, e.cause} }

func unavailable(cause error, format string, args ...any) error {
	return &unavailableError{msg: fmt.Sprintf(format, args...), cause: cause}
}

// unavailableCodes are server answers that mean "not now" rather than "your
// request is wrong".
var unavailableCodes = []uint16{
	goldap.ErrorNetwork,
	goldap.LDAPResultBusy,
	goldap.LDAPResultUnavailable,
	goldap.LDAPResultUnwillingToPerform,
	goldap.LDAPResultTimeLimitExceeded,
	goldap.LDAPResultAdminLimitExceeded,
}

// fail classifies err from operation op ("search user on", ...):
//   - ctx cancelled or the deadline passed → ErrUnavailable ("timeout after 5s")
//   - network errors and busy/unavailable/unwilling answers → ErrUnavailable
//   - anything else (bad filter, missing base DN, ...) → a plain error,
//     which the web layer treats as a configuration problem (500).
func (se *session) fail(op string, err error) error {
	if err == nil {
		return nil
	}
	where := fmt.Sprintf("ldap: %s %s", op, se.s.addr)
	switch {
	case se.parent.Err() != nil:
		cause := context.Cause(se.parent)
		return unavailable(errors.Join(cause, err), "%s: %v (%v)", where, cause, err)
	case se.ctx.Err() != nil || !time.Now().Before(se.deadline) || isTimeout(err):
		if se.ownDeadline {
			return unavailable(errors.Join(context.DeadlineExceeded, err),
				"%s: timeout after %s (%v)", where, se.s.Timeout, err)
		}
		return unavailable(errors.Join(context.DeadlineExceeded, err),
			"%s: request deadline exceeded (%v)", where, err)
	case goldap.IsErrorAnyOf(err, unavailableCodes...):
		return unavailable(err, "%s: %v", where, err)
	}
	var ne net.Error
	if errors.As(err, &ne) {
		return unavailable(err, "%s: %v", where, err)
	}
	return fmt.Errorf("%s: %w", where, err)
}

// tlsFail makes TLS problems recognisable in the log: the message starts
// "ldap: TLS handshake with HOST:PORT failed:" followed by Go's reason
// (x509: certificate signed by unknown authority, certificate is valid
// for X, not Y, ...).
func (se *session) tlsFail(mode string, err error) error {
	if se.parent.Err() != nil || se.ctx.Err() != nil || !time.Now().Before(se.deadline) {
		return se.fail("TLS handshake"+mode+" with", err)
	}
	reason := err.Error()
	var le *goldap.Error
	if errors.As(err, &le) && le.Err != nil {
		reason = le.Err.Error()
		// go-ldap's StartTLS reports "TLS handshake failed (<reason>)".
		if r, ok := strings.CutPrefix(reason, "TLS handshake failed ("); ok {
			reason = strings.TrimSuffix(r, ")")
		} else if le.ResultCode != goldap.ErrorNetwork {
			reason = "server refused StartTLS: " + err.Error()
		}
	}
	return unavailable(err, "ldap: TLS handshake with %s%s failed: %s", se.s.addr, mode, reason)
}

func isTimeout(err error) bool {
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout()
}
