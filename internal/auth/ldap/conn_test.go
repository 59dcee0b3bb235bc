package ldap

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"io"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jitsi-gate/jitsi-gate/internal/auth"
)

// These tests need no directory: they use listeners in the test process
// that misbehave on purpose (never answer, refuse, wrong certificate).

// silentServer accepts TCP connections and never sends a byte, like a
// directory whose worker threads are all stuck.
type silentServer struct {
	ln       net.Listener
	accepted atomic.Int64
	mu       sync.Mutex
	conns    []net.Conn
}

func newSilentServer(t *testing.T) *silentServer {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s := &silentServer{ln: ln}
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			s.accepted.Add(1)
			s.mu.Lock()
			s.conns = append(s.conns, c)
			s.mu.Unlock()
			// Read (never answer) until the client hangs up, then close
			// our end too, so leak checks count only the client's files.
			go func() {
				io.Copy(io.Discard, c)
				c.Close()
			}()
		}
	}()
	t.Cleanup(func() {
		ln.Close()
		s.mu.Lock()
		defer s.mu.Unlock()
		for _, c := range s.conns {
			c.Close()
		}
	})
	return s
}

func (s *silentServer) addr() string { return s.ln.Addr().String() }

// closedPort returns a 127.0.0.1 port nobody listens on.
func closedPort(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	return addr
}

func newAuth(t *testing.T, cfg Config) *Authenticator {
	t.Helper()
	a, err := New(cfg, nil)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	return a
}

func TestEmptyInputNeverContactsServer(t *testing.T) {
	srv := newSilentServer(t)
	cfg := validConfig()
	cfg.URL = "ldap://" + srv.addr()
	cfg.Timeout = 2 * time.Second
	a := newAuth(t, cfg)
	tests := []struct{ user, pass string }{
		{"teacher1", ""},
		{"", "teacher1pass"},
		{"   ", "teacher1pass"},
		{"\t\n", ""},
		{strings.Repeat("a", maxUsernameLen+1), "x"},
		{"bad\xffutf8", "x"},
	}
	for _, tt := range tests {
		start := time.Now()
		_, err := a.Login(context.Background(), tt.user, tt.pass)
		if !errors.Is(err, auth.ErrInvalidCredentials) {
			t.Errorf("Login(%q, %q) = %v, want ErrInvalidCredentials", tt.user, tt.pass, err)
		}
		if d := time.Since(start); d > 500*time.Millisecond {
			t.Errorf("Login(%q, %q) took %s; it must not wait for the server", tt.user, tt.pass, d)
		}
	}
	time.Sleep(50 * time.Millisecond) // let a (wrong) dial reach Accept
	if n := srv.accepted.Load(); n != 0 {
		t.Errorf("server saw %d connections for empty input, want 0", n)
	}
}

func TestConnectionRefused(t *testing.T) {
	cfg := validConfig()
	cfg.URL = "ldap://" + closedPort(t)
	cfg.Timeout = 5 * time.Second
	a := newAuth(t, cfg)
	start := time.Now()
	_, err := a.Login(context.Background(), "teacher1", "teacher1pass")
	if !errors.Is(err, auth.ErrUnavailable) {
		t.Fatalf("Login = %v, want ErrUnavailable", err)
	}
	if !strings.Contains(err.Error(), "connection refused") || strings.Contains(err.Error(), "timeout") {
		t.Errorf("error %q does not say (only) connection refused", err)
	}
	t.Logf("refused: %v", err)
	if errors.Is(err, auth.ErrInvalidCredentials) {
		t.Error("an unreachable directory must not look like a wrong password")
	}
	if d := time.Since(start); d > time.Second {
		t.Errorf("refused connection took %s", d)
	}
	if err := a.Check(context.Background()); !errors.Is(err, auth.ErrUnavailable) {
		t.Errorf("Check = %v, want ErrUnavailable", err)
	}
	if _, err := a.Explain(context.Background(), "teacher1"); !errors.Is(err, auth.ErrUnavailable) {
		t.Errorf("Explain = %v, want ErrUnavailable", err)
	}
}

// TestSilentServerTimeout: the server accepts TCP but never answers. Every
// transport must give up after Timeout with ErrUnavailable, whichever step
// hangs (first bind, StartTLS response, TLS handshake).
func TestSilentServerTimeout(t *testing.T) {
	srv := newSilentServer(t)
	const timeout = 300 * time.Millisecond
	modes := []struct {
		name string
		set  func(*Config)
	}{
		{"plain", func(c *Config) { c.URL = "ldap://" + srv.addr() }},
		{"starttls", func(c *Config) { c.URL = "ldap://" + srv.addr(); c.StartTLS = true }},
		{"ldaps", func(c *Config) { c.URL = "ldaps://" + srv.addr() }},
		{"anonymous", func(c *Config) { c.URL = "ldap://" + srv.addr(); c.BindDN, c.BindPassword = "", "" }},
	}
	for _, m := range modes {
		t.Run(m.name, func(t *testing.T) {
			cfg := validConfig()
			m.set(&cfg)
			cfg.Timeout = timeout
			a := newAuth(t, cfg)
			start := time.Now()
			_, err := a.Login(context.Background(), "teacher1", "teacher1pass")
			elapsed := time.Since(start)
			if !errors.Is(err, auth.ErrUnavailable) || !errors.Is(err, context.DeadlineExceeded) {
				t.Fatalf("Login = %v, want ErrUnavailable and DeadlineExceeded", err)
			}
			if !strings.Contains(err.Error(), "timeout after 300ms") {
				t.Errorf("error %q does not say \"timeout after 300ms\"", err)
			}
			if elapsed < timeout-20*time.Millisecond || elapsed > timeout+2*time.Second {
				t.Errorf("gave up after %s, want about %s", elapsed, timeout)
			}
		})
	}
}

func TestContextCancelAndDeadline(t *testing.T) {
	srv := newSilentServer(t)
	cfg := validConfig()
	cfg.URL = "ldap://" + srv.addr()
	cfg.Timeout = 30 * time.Second // the caller's ctx must win
	a := newAuth(t, cfg)

	t.Run("cancel", func(t *testing.T) {
		ctx, cancel := context.WithCancel(context.Background())
		time.AfterFunc(100*time.Millisecond, cancel)
		start := time.Now()
		_, err := a.Login(ctx, "teacher1", "teacher1pass")
		if !errors.Is(err, auth.ErrUnavailable) || !errors.Is(err, context.Canceled) {
			t.Fatalf("Login = %v, want ErrUnavailable and context.Canceled", err)
		}
		if d := time.Since(start); d > 2*time.Second {
			t.Errorf("cancellation took %s to take effect", d)
		}
	})
	t.Run("caller deadline shorter than timeout", func(t *testing.T) {
		ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
		defer cancel()
		start := time.Now()
		_, err := a.Login(ctx, "teacher1", "teacher1pass")
		if !errors.Is(err, auth.ErrUnavailable) || !errors.Is(err, context.DeadlineExceeded) {
			t.Fatalf("Login = %v, want ErrUnavailable and DeadlineExceeded", err)
		}
		if d := time.Since(start); d > 2*time.Second {
			t.Errorf("deadline took %s to take effect", d)
		}
	})
	t.Run("already cancelled", func(t *testing.T) {
		ctx, cancel := context.WithCancel(context.Background())
		cancel()
		before := srv.accepted.Load()
		_, err := a.Login(ctx, "teacher1", "teacher1pass")
		if !errors.Is(err, auth.ErrUnavailable) || !errors.Is(err, context.Canceled) {
			t.Fatalf("Login = %v, want ErrUnavailable and context.Canceled", err)
		}
		time.Sleep(50 * time.Millisecond)
		if n := srv.accepted.Load() - before; n != 0 {
			t.Errorf("dialled %d times with a cancelled ctx", n)
		}
	})
}

// TestTLSCertificateErrors runs a TLS server in the test with certificates
// made here, so both classic mistakes can be provoked: a CA the gateway does
// not trust, and a certificate for another host name.
func TestTLSCertificateErrors(t *testing.T) {
	trusted := newTestCA(t)
	other := newTestCA(t)
	tests := []struct {
		name     string
		serverCA *testCA
		hosts    []string
		clientCA *testCA
		insecure bool
		want     string // "" = handshake succeeds
	}{
		{"unknown authority", other, []string{"127.0.0.1"}, trusted, false, "x509: certificate signed by unknown authority"},
		{"hostname mismatch", trusted, []string{"127.0.0.2", "ldap.example.org"}, trusted, false, "x509: certificate is valid for 127.0.0.2, not 127.0.0.1"},
		{"no IP SAN", trusted, []string{"ldap.example.org"}, trusted, false, "x509: cannot validate certificate for 127.0.0.1 because it doesn't contain any IP SANs"},
		{"insecure skip verify", other, []string{"ldap.example.org"}, trusted, true, ""},
		{"good", trusted, []string{"127.0.0.1"}, trusted, false, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			addr := tlsSilentServer(t, tt.serverCA.issue(t, tt.hosts...))
			cfg := validConfig()
			cfg.URL = "ldaps://" + addr
			cfg.CAFile = writeCAFile(t, tt.clientCA)
			cfg.InsecureSkipVerify = tt.insecure
			cfg.Timeout = 300 * time.Millisecond
			a := newAuth(t, cfg)
			_, err := a.Login(context.Background(), "teacher1", "teacher1pass")
			if !errors.Is(err, auth.ErrUnavailable) {
				t.Fatalf("Login = %v, want ErrUnavailable", err)
			}
			if tt.want == "" {
				// The handshake worked; the silent server then times out.
				if strings.Contains(err.Error(), "TLS handshake") || !strings.Contains(err.Error(), "timeout after") {
					t.Fatalf("want a timeout after a good handshake, got %v", err)
				}
				return
			}
			prefix := "ldap: TLS handshake with " + addr + " failed: "
			if !strings.HasPrefix(err.Error(), prefix) || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("error %q\nwant prefix %q and %q", err, prefix, tt.want)
			}
			var verr *tls.CertificateVerificationError
			if !errors.As(err, &verr) {
				t.Errorf("the certificate error is not in the chain: %v", err)
			}
		})
	}
}

// TestNoLeaksOnFailures: failing logins of every kind leave no goroutine and
// no file descriptor behind.
func TestNoLeaksOnFailures(t *testing.T) {
	srv := newSilentServer(t)
	refused := closedPort(t)
	mk := func(url string, timeout time.Duration) *Authenticator {
		cfg := validConfig()
		cfg.URL, cfg.Timeout = url, timeout
		return newAuth(t, cfg)
	}
	silent := mk("ldap://"+srv.addr(), 30*time.Millisecond)
	silentTLS := mk("ldaps://"+srv.addr(), 30*time.Millisecond)
	cancelled := mk("ldap://"+srv.addr(), 10*time.Second)
	down := mk("ldap://"+refused, time.Second)

	run := func() {
		for range 20 {
			silent.Login(context.Background(), "teacher1", "x")
			silentTLS.Login(context.Background(), "teacher1", "x")
			down.Login(context.Background(), "teacher1", "x")
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Millisecond)
			cancelled.Login(ctx, "teacher1", "x")
			cancel()
		}
	}
	run() // warm up lazily started runtime goroutines
	g0, f0 := runtime.NumGoroutine(), openFDs(t)
	run()
	waitNoLeak(t, g0, f0)
}

// waitNoLeak waits until goroutines and open files are back at the baseline
// (closing happens asynchronously inside go-ldap and the runtime).
func waitNoLeak(t *testing.T, goroutines, fds int) {
	t.Helper()
	deadline := time.Now().Add(3 * time.Second)
	for {
		g, f := runtime.NumGoroutine(), openFDs(t)
		if g <= goroutines && f <= fds {
			return
		}
		if time.Now().After(deadline) {
			buf := make([]byte, 1<<20)
			buf = buf[:runtime.Stack(buf, true)]
			t.Fatalf("leak: goroutines %d -> %d, open fds %d -> %d\n%s", goroutines, g, fds, f, buf)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func openFDs(t *testing.T) int {
	t.Helper()
	ents, err := os.ReadDir("/proc/self/fd")
	if err != nil {
		t.Skipf("cannot count open files: %v", err)
	}
	return len(ents)
}

// tlsSilentServer completes TLS handshakes with cert and then stays silent.
func tlsSilentServer(t *testing.T, cert tls.Certificate) string {
	t.Helper()
	ln, err := tls.Listen("tcp", "127.0.0.1:0", &tls.Config{Certificates: []tls.Certificate{cert}})
	if err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	var conns []net.Conn
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			mu.Lock()
			conns = append(conns, c)
			mu.Unlock()
			go func() {
				io.Copy(io.Discard, c) // handshake, then silence
				c.Close()
			}()
		}
	}()
	t.Cleanup(func() {
		ln.Close()
		mu.Lock()
		defer mu.Unlock()
		for _, c := range conns {
			c.Close()
		}
	})
	return ln.Addr().String()
}

type testCA struct {
	cert *x509.Certificate
	key  *ecdsa.PrivateKey
	pem  []byte
}

func newTestCA(t *testing.T) *testCA {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(time.Now().UnixNano()),
		Subject:               pkix.Name{CommonName: "jitsi-gate ldap test CA"},
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().Add(time.Hour),
		IsCA:                  true,
		BasicConstraintsValid: true,
		KeyUsage:              x509.KeyUsageCertSign,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	return &testCA{cert: cert, key: key, pem: pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})}
}

// issue makes a server certificate for hosts (IP addresses or DNS names).
func (ca *testCA) issue(t *testing.T, hosts ...string) tls.Certificate {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(time.Now().UnixNano()),
		Subject:      pkix.Name{CommonName: hosts[0]},
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().Add(time.Hour),
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	for _, h := range hosts {
		if ip := net.ParseIP(h); ip != nil {
			tmpl.IPAddresses = append(tmpl.IPAddresses, ip)
		} else {
			tmpl.DNSNames = append(tmpl.DNSNames, h)
		}
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca.cert, &key.PublicKey, ca.key)
	if err != nil {
		t.Fatal(err)
	}
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key}
}

func writeCAFile(t *testing.T, ca *testCA) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "ca.pem")
	if err := os.WriteFile(p, ca.pem, 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

// TestReadyIsCachedAndShared: /readyz is public, so however often and
// however concurrently Ready is called, the directory sees at most one
// probe per ReadyCacheTTL, and a slow probe does not hold callers past
// their context.
func TestReadyIsCachedAndShared(t *testing.T) {
	srv := newSilentServer(t)
	cfg := validConfig()
	cfg.URL = "ldap://" + srv.addr()
	cfg.Timeout = 300 * time.Millisecond
	a := newAuth(t, cfg)

	var wg sync.WaitGroup
	errs := make(chan error, 20)
	for range 20 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs <- a.Ready(context.Background())
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if !errors.Is(err, auth.ErrUnavailable) {
			t.Fatalf("Ready against a silent server = %v, want ErrUnavailable", err)
		}
	}
	for range 20 {
		if err := a.Ready(context.Background()); !errors.Is(err, auth.ErrUnavailable) {
			t.Fatalf("cached Ready = %v", err)
		}
	}
	if n := srv.accepted.Load(); n != 1 {
		t.Errorf("40 Ready calls opened %d connections, want 1", n)
	}

	// A caller with a short deadline does not wait for a fresh probe.
	a.ready.mu.Lock()
	a.ready.at = time.Now().Add(-ReadyCacheTTL)
	a.ready.mu.Unlock()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
	defer cancel()
	start := time.Now()
	if err := a.Ready(ctx); !errors.Is(err, auth.ErrUnavailable) || !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("Ready with a short deadline = %v", err)
	}
	if took := time.Since(start); took > 200*time.Millisecond {
		t.Errorf("Ready waited %s past the caller's 20ms deadline", took)
	}
}

func TestReadyConnectionRefused(t *testing.T) {
	cfg := validConfig()
	cfg.URL = "ldap://" + closedPort(t)
	err := newAuth(t, cfg).Ready(context.Background())
	if !errors.Is(err, auth.ErrUnavailable) || !strings.Contains(err.Error(), "connection refused") {
		t.Errorf("Ready with nothing listening = %v", err)
	}
}
