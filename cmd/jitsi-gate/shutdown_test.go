package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log"
	"log/slog"
	"net"
	"net/http"
	"net/http/httputil"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// TestServeUntilDoneSequence checks the order of a graceful shutdown on a
// plain handler: draining at once, serving during the delay, the listener
// closed after it, a request in flight finished, and the timeout enforced.
func TestServeUntilDoneSequence(t *testing.T) {
	const delay = 300 * time.Millisecond
	tests := []struct {
		name    string
		slow    time.Duration // how long the request in flight takes
		timeout time.Duration
		wantErr string
	}{
		{"in-flight request finishes", 400 * time.Millisecond, 5 * time.Second, ""},
		{"timeout cuts off a hanging request", 5 * time.Second, 200 * time.Millisecond, "server.shutdown_timeout (200ms)"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			draining := new(atomic.Bool)
			mux := http.NewServeMux()
			mux.HandleFunc("/readyz", func(w http.ResponseWriter, _ *http.Request) {
				if draining.Load() {
					w.WriteHeader(http.StatusServiceUnavailable)
				}
			})
			mux.HandleFunc("/fast", func(http.ResponseWriter, *http.Request) {})
			mux.HandleFunc("/slow", func(w http.ResponseWriter, r *http.Request) {
				select {
				case <-time.After(tt.slow):
				case <-r.Context().Done():
				}
			})
			ln, err := net.Listen("tcp", "127.0.0.1:0")
			if err != nil {
				t.Fatal(err)
			}
			base := "http://" + ln.Addr().String()
			srv := &http.Server{Handler: mux, ReadHeaderTimeout: time.Second}
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			done := make(chan error, 1)
			logger := slog.New(slog.NewTextHandler(io.Discard, nil))
			go func() { done <- serveUntilDone(ctx, srv, ln, draining, delay, tt.timeout, logger) }()

			if got := status(t, base+"/readyz"); got != http.StatusOK {
				t.Fatalf("/readyz before shutdown = %d", got)
			}
			stopAt := time.Now()
			cancel()
			waitFor(t, "draining", draining.Load)
			if got := status(t, base+"/readyz"); got != http.StatusServiceUnavailable {
				t.Errorf("/readyz while draining = %d, want 503", got)
			}
			if got := status(t, base+"/fast"); got != http.StatusOK {
				t.Errorf("request during the delay = %d, want 200", got)
			}
			// A request that is still running when the delay ends.
			slow := make(chan error, 1)
			go func() {
				resp, err := (&http.Client{Timeout: 10 * time.Second}).Get(base + "/slow")
				if err == nil {
					resp.Body.Close()
					if resp.StatusCode != http.StatusOK {
						err = fmt.Errorf("status %d", resp.StatusCode)
					}
				}
				slow <- err
			}()
			time.Sleep(time.Until(stopAt.Add(delay + 100*time.Millisecond)))
			if _, err := net.DialTimeout("tcp", ln.Addr().String(), time.Second); err == nil {
				t.Error("listener still accepts after the delay")
			}

			var runErr error
			select {
			case runErr = <-done:
			case <-time.After(10 * time.Second):
				t.Fatal("serveUntilDone did not return")
			}
			elapsed := time.Since(stopAt)
			slowErr := <-slow
			if tt.wantErr == "" {
				if runErr != nil || slowErr != nil {
					t.Fatalf("serveUntilDone = %v, request in flight = %v; want both nil", runErr, slowErr)
				}
				if elapsed < tt.slow {
					t.Errorf("returned after %s, before the request in flight could finish", elapsed)
				}
				return
			}
			if runErr == nil || !strings.Contains(runErr.Error(), tt.wantErr) {
				t.Errorf("serveUntilDone = %v, want an error containing %q", runErr, tt.wantErr)
			}
			if slowErr == nil {
				t.Error("the hanging request succeeded although the timeout cut it off")
			}
		})
	}
}

// TestServeShutdownFlushesTheAuditLog runs the real program: during the
// delay /readyz is 503 while /healthz and /join still work, and the audit
// line of a token issued during the delay is in the log when run returns.
func TestServeShutdownFlushesTheAuditLog(t *testing.T) {
	addr := freePort(t)
	cfg := strings.Replace(gatewayConfig(t, addr, `{algorithm: HS256, secret: "`+testSecret+`"}`),
		"shutdown_delay: 0s", "shutdown_delay: 700ms", 1)
	p := startProcess(t, addr, cfg)
	c := browser(t)
	login(t, &testGateway{base: p.base}, c, "", "teacher", "teacherpw")

	p.stop()
	waitFor(t, "/readyz 503", func() bool { return status(t, p.base+"/readyz") == http.StatusServiceUnavailable })
	if got := status(t, p.base+"/healthz"); got != http.StatusOK {
		t.Errorf("/healthz while draining = %d, want 200 (the process is alive)", got)
	}
	r := do(t, c, http.MethodGet, p.base+"/join/drain-room", nil)
	if r.status != http.StatusFound || !strings.HasPrefix(r.location, "https://meet.example.com/drain-room?jwt=") {
		t.Fatalf("/join while draining = %d %q, want a redirect to Jitsi", r.status, r.location)
	}
	if err := p.wait(t); err != nil {
		t.Fatalf("run returned %v", err)
	}
	// Read at once: only the final flush can have written these lines.
	logs := p.log.String()
	for _, want := range []string{"shutting down", "room=drain-room", `msg=stopped`} {
		if !strings.Contains(logs, want) {
			t.Errorf("log lacks %q after run returned:\n%s", want, logs)
		}
	}
	if strings.Index(logs, "room=drain-room") > strings.Index(logs, "msg=stopped") {
		t.Error("the audit line of the token issued while draining comes after 'stopped'")
	}
}

// TestRollingRestartLosesNoRequest restarts two gateway processes one after
// the other behind a health-checking reverse proxy while clients keep
// asking for tokens; not one request may fail. The control run with
// shutdown_delay 0s shows the proxy does see failures when the gateway
// closes its listener before the proxy noticed.
func TestRollingRestartLosesNoRequest(t *testing.T) {
	if testing.Short() {
		t.Skip("load test")
	}
	tests := []struct {
		name         string
		delay        string
		wantFailures bool
	}{
		{"graceful", "600ms", false},
		{"control without delay", "0s", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res := rollingRestart(t, tt.delay)
			t.Logf("shutdown_delay %s: %d requests, %d failed (%s), per backend %v, drops seen by the proxy %d",
				tt.delay, res.total, res.failed, res.firstFailure, res.perBackend, res.drops)
			if res.total < 200 {
				t.Fatalf("only %d requests during the restarts; the load did not run", res.total)
			}
			if tt.wantFailures {
				if res.failed == 0 {
					t.Error("the control lost no request: the test would not notice a missing drain")
				}
				return
			}
			if res.drops < 2 {
				t.Errorf("the proxy saw %d backends leave; want both restarts noticed", res.drops)
			}
			if res.failed != 0 {
				t.Errorf("%d of %d requests failed across the rolling restart; first: %s", res.failed, res.total, res.firstFailure)
			}
			for i, n := range res.perBackend {
				if n == 0 {
					t.Errorf("backend %d served no request", i)
				}
			}
		})
	}
}

type restartResult struct {
	total, failed int64
	firstFailure  string
	perBackend    []int64
	drops         int64
}

func rollingRestart(t *testing.T, delay string) restartResult {
	addrs := []string{freePort(t), freePort(t)}
	configs := make([]string, len(addrs))
	procs := make([]*process, len(addrs))
	// Replicas share the store (login records): one SQLite file here,
	// PostgreSQL in production.
	db := filepath.Join(t.TempDir(), "shared.db")
	for i, a := range addrs {
		configs[i] = strings.Replace(gatewayConfig(t, a, `{algorithm: HS256, secret: "`+testSecret+`"}`),
			"shutdown_delay: 0s", "shutdown_delay: "+delay+", shutdown_timeout: 5s", 1) +
			fmt.Sprintf("store: {driver: sqlite, path: %q}\n", db)
		procs[i] = startProcess(t, a, configs[i])
	}
	lb := newTestLB(t, addrs)
	defer lb.close()
	waitFor(t, "both backends in rotation", func() bool { return lb.healthyCount() == len(addrs) })

	// One session for every client: both gateways share the session
	// secret, and the cookie jar sends 127.0.0.1 cookies to any port.
	c := browser(t)
	login(t, &testGateway{base: procs[0].base}, c, "", "teacher", "teacherpw")

	var total, failed atomic.Int64
	var firstFailure atomic.Value
	stopLoad := make(chan struct{})
	var wg sync.WaitGroup
	for w := 0; w < 6; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			client := &http.Client{Jar: c.Jar, Timeout: 10 * time.Second,
				CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
			for i := 0; ; i++ {
				select {
				case <-stopLoad:
					return
				default:
				}
				total.Add(1)
				resp, err := client.Get(fmt.Sprintf("%s/join/room-%d", lb.url, i%50))
				if err == nil {
					_, _ = io.Copy(io.Discard, resp.Body)
					resp.Body.Close()
					if resp.StatusCode != http.StatusFound || !strings.HasPrefix(resp.Header.Get("Location"), "https://meet.example.com/room-") {
						err = fmt.Errorf("status %d, location %q", resp.StatusCode, resp.Header.Get("Location"))
					}
				}
				if err != nil {
					failed.Add(1)
					firstFailure.CompareAndSwap(nil, err.Error())
				}
			}
		}()
	}

	time.Sleep(300 * time.Millisecond)
	for i := range procs {
		t0 := time.Now()
		procs[i].stop()
		if err := procs[i].wait(t); err != nil {
			t.Fatalf("backend %d: run returned %v", i, err)
		}
		t1 := time.Now()
		procs[i] = startProcess(t, addrs[i], configs[i])
		t2 := time.Now()
		waitFor(t, "restarted backend back in rotation", func() bool { return lb.healthyCount() == len(addrs) })
		t.Logf("restart %d: stop %s, start %s, back in rotation %s", i, t1.Sub(t0), t2.Sub(t1), time.Since(t2))
		time.Sleep(200 * time.Millisecond)
	}
	close(stopLoad)
	wg.Wait()

	res := restartResult{total: total.Load(), failed: failed.Load(), drops: lb.drops.Load()}
	if f, ok := firstFailure.Load().(string); ok {
		res.firstFailure = f
	}
	for _, b := range lb.backends {
		res.perBackend = append(res.perBackend, b.served.Load())
	}
	return res
}

// testLB is a small load balancer as the tests need one: round robin over
// the backends whose /readyz answered 200 at the last check (every 50 ms),
// no retries, so a request sent to a backend that stopped listening fails.
type testLB struct {
	url      string
	backends []*lbBackend
	next     atomic.Uint64
	drops    atomic.Int64 // how often a backend left the rotation
	srv      *http.Server
	stop     chan struct{}
	checked  sync.WaitGroup
}

type lbBackend struct {
	addr    string
	healthy atomic.Bool
	served  atomic.Int64
}

func newTestLB(t *testing.T, addrs []string) *testLB {
	t.Helper()
	lb := &testLB{stop: make(chan struct{})}
	for _, a := range addrs {
		lb.backends = append(lb.backends, &lbBackend{addr: a})
	}
	proxy := &httputil.ReverseProxy{
		Rewrite: func(pr *httputil.ProxyRequest) {
			b := lb.pick()
			if b == nil {
				pr.Out.URL.Host = "127.0.0.1:1" // nothing healthy: fails like a dead backend
				return
			}
			b.served.Add(1)
			pr.Out.URL.Scheme, pr.Out.URL.Host = "http", b.addr
		},
		ErrorLog: log.New(io.Discard, "", 0), // failures are counted by the clients
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	lb.url = "http://" + ln.Addr().String()
	lb.srv = &http.Server{Handler: proxy, ReadHeaderTimeout: 5 * time.Second}
	go func() { _ = lb.srv.Serve(ln) }()
	lb.checked.Add(1)
	go lb.healthLoop()
	return lb
}

func (lb *testLB) pick() *lbBackend {
	n := len(lb.backends)
	start := int(lb.next.Add(1))
	for i := 0; i < n; i++ {
		if b := lb.backends[(start+i)%n]; b.healthy.Load() {
			return b
		}
	}
	return nil
}

func (lb *testLB) healthLoop() {
	defer lb.checked.Done()
	client := &http.Client{Timeout: 500 * time.Millisecond}
	tick := time.NewTicker(50 * time.Millisecond)
	defer tick.Stop()
	for {
		for _, b := range lb.backends {
			ok := false
			if resp, err := client.Get("http://" + b.addr + "/readyz"); err == nil {
				_, _ = io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				ok = resp.StatusCode == http.StatusOK
			}
			if was := b.healthy.Swap(ok); was && !ok {
				lb.drops.Add(1)
			}
		}
		select {
		case <-lb.stop:
			return
		case <-tick.C:
		}
	}
}

func (lb *testLB) healthyCount() int {
	n := 0
	for _, b := range lb.backends {
		if b.healthy.Load() {
			n++
		}
	}
	return n
}

func (lb *testLB) close() {
	close(lb.stop)
	lb.checked.Wait()
	_ = lb.srv.Close()
}

// process is one run of the program with its own context, so a test can
// stop it like SIGTERM would and start another on the same port.
type process struct {
	base   string
	log    *syncBuffer
	cancel context.CancelFunc
	done   chan error
	waited bool
}

func startProcess(t *testing.T, addr, cfg string) *process {
	t.Helper()
	path := filepath.Join(t.TempDir(), "config.yaml")
	if err := os.WriteFile(path, []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	p := &process{base: "http://" + addr, log: &syncBuffer{}, cancel: cancel, done: make(chan error, 1)}
	go func() {
		p.done <- runEnv(ctx, []string{"jitsi-gate", "serve", "-config", path},
			env{getenv: func(string) string { return "" }, stdin: strings.NewReader(""), stdout: io.Discard, stderr: p.log, listen: heldListen})
	}()
	t.Cleanup(func() {
		if !p.waited {
			p.stop()
			_ = p.wait(t)
		}
	})
	waitFor(t, "gateway at "+addr+" ready", func() bool {
		select {
		case err := <-p.done:
			p.waited = true
			t.Fatalf("gateway exited early: %v\n%s", err, p.log.String())
		default:
		}
		return status(t, p.base+"/readyz") == http.StatusOK
	})
	return p
}

// stop is what SIGTERM does to the real process: it ends run's context.
func (p *process) stop() { p.cancel() }

func (p *process) wait(t *testing.T) error {
	t.Helper()
	p.waited = true
	select {
	case err := <-p.done:
		return err
	case <-time.After(15 * time.Second):
		return errors.New("gateway did not stop within 15s")
	}
}

// status returns the status code of a GET, or 0 when the request failed.
func status(t *testing.T, u string) int {
	t.Helper()
	resp, err := (&http.Client{Timeout: 2 * time.Second}).Get(u)
	if err != nil {
		return 0
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return resp.StatusCode
}

// waitFor polls cond for up to 10 s.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}
