// Command bench measures the gateway's /join against a bare net/http 302
// handler on this machine, side by side in interleaved rounds, /join on a
// registered room (a room registry lookup, SQLite) against the rule-only
// /join in the same rounds, the RS256 token signature against a raw
// crypto/rsa signature, and Prosody's reservation API (POST /conference)
// under an open-loop load of -reservations-rate requests per second.
//
//	go run ./test/bench                       # quick: 3 rounds of 2 s (< 60 s)
//	go run ./test/bench -rounds 6 -duration 10s -conns 64
//	test/bench.sh [flags]                     # the same, from anywhere
//
// Every target runs as a process of its own on 127.0.0.1 (the bare handler
// is this program started again with JITSI_GATE_BENCH_SERVE_BARE set), so each server gets the
// same treatment from the scheduler; the gateway is the real binary, built
// from ./cmd/jitsi-gate, with a static-user config, the audit log on (read
// through a pipe, as a log collector would) and a session cookie from a real
// password login. The load generator keeps -conns HTTP/1.1 connections open
// and sends the next request on a connection as soon as the previous answer
// is read (closed loop, like wrk). Rounds rotate the order of the targets,
// and the report takes the median over rounds.
package main

import (
	"bufio"
	"cmp"
	"context"
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"errors"
	"flag"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"time"

	"golang.org/x/crypto/bcrypt"

	"github.com/jitsi-gate/jitsi-gate/internal/auth"
	"github.com/jitsi-gate/jitsi-gate/internal/grant"
	"github.com/jitsi-gate/jitsi-gate/internal/policy"
	"github.com/jitsi-gate/jitsi-gate/internal/reservation/prosodytest"
	"github.com/jitsi-gate/jitsi-gate/internal/token"
)

// Targets the report checks against (README, "Performance").
const (
	targetHSThroughput = 0.6 // /join HS256 req/s ≥ 0.6 × bare
	targetHSP99        = 2.0 // /join HS256 p99 ≤ 2 × bare
	targetRSMint       = 1.1 // RS256 mint ≤ 1.1 × a raw RSA-2048 signature
	targetRoomCost     = 1.2 // /join on a registered room: req/s ≥ rule-only / 1.2
	targetResP99       = 5 * time.Millisecond
)

type options struct {
	rounds   int
	duration time.Duration
	warmup   time.Duration
	conns    int
	gateway  string
	signOps  time.Duration
	// resRate and resDuration are the reservation API load: an open loop
	// of resRate POSTs per second for resDuration (after a second of
	// warm-up).
	resRate     int
	resDuration time.Duration
}

func main() {
	log.SetFlags(0)
	log.SetPrefix("bench: ")
	var o options
	flag.IntVar(&o.rounds, "rounds", 3, "interleaved rounds (the report takes the median)")
	flag.DurationVar(&o.duration, "duration", 2*time.Second, "measured load per target and round")
	flag.DurationVar(&o.warmup, "warmup", 300*time.Millisecond, "load before each measurement, not counted")
	flag.IntVar(&o.conns, "conns", 32, "keep-alive connections of the load generator")
	flag.StringVar(&o.gateway, "gateway", "", "jitsi-gate binary to run (default: go build ./cmd/jitsi-gate)")
	flag.DurationVar(&o.signOps, "sign-time", time.Second, "per round: how long to time RS256 mint and raw RSA each")
	flag.IntVar(&o.resRate, "reservations-rate", 200, "reservation API load: POSTs per second (open loop)")
	flag.DurationVar(&o.resDuration, "reservations-duration", 5*time.Second, "reservation API load: how long, after 1 s of warm-up")
	flag.Parse()
	if addr := os.Getenv(serveBareEnv); addr != "" {
		log.Fatal(runBare(addr))
	}
	if o.rounds < 1 || o.duration <= 0 || o.conns < 1 || o.warmup < 0 || o.signOps <= 0 || o.resRate < 1 || o.resDuration <= 0 {
		log.Fatal("-rounds, -duration, -conns, -sign-time, -reservations-rate and -reservations-duration must be positive")
	}
	if err := run(o, os.Stdout); err != nil {
		log.Fatal(err)
	}
}

// serveBareEnv makes the program (or its test binary) serve the bare
// handler on the address it holds instead of running the benchmark.
const serveBareEnv = "JITSI_GATE_BENCH_SERVE_BARE"

// bareLocation has the size of a real /join Location (an HS256 token).
var bareLocation = "https://meet.example.com/math-101?jwt=" + strings.Repeat("x", 360)

func runBare(addr string) error {
	h := http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Location", bareLocation)
		w.WriteHeader(http.StatusFound)
	})
	srv := &http.Server{Addr: addr, Handler: h, ReadHeaderTimeout: 5 * time.Second}
	return srv.ListenAndServe()
}

// target is one server under load.
type target struct {
	name    string
	addr    string
	request []byte // the raw HTTP/1.1 request, cookie included
	cookie  string // the session cookie of a gateway target
	// health: the answer is /healthz's 200, not a 302 to Jitsi.
	health bool
}

// floorTarget is the HS256 gateway's /healthz with the same session cookie:
// the same server, middleware, request size and timeouts as /join without
// the work of /join (session, rules, token, audit line). It shows how much
// of the bare handler's throughput is left for that work.
const floorTarget = "floor"

func run(o options, out io.Writer) error {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	dir, err := os.MkdirTemp("", "jitsi-gate-bench")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)

	bin := o.gateway
	if bin == "" {
		bin = filepath.Join(dir, "jitsi-gate")
		build := exec.CommandContext(ctx, "go", "build", "-o", bin, "github.com/jitsi-gate/jitsi-gate/cmd/jitsi-gate")
		build.Stdout, build.Stderr = os.Stderr, os.Stderr
		if err := build.Run(); err != nil {
			return fmt.Errorf("build the gateway: %w", err)
		}
	}
	self, err := os.Executable()
	if err != nil {
		return err
	}

	bareAddr, err := freeAddr()
	if err != nil {
		return err
	}
	bare := exec.CommandContext(ctx, self)
	bare.Env = append(os.Environ(), serveBareEnv+"="+bareAddr)
	bare.Stderr = os.Stderr
	if err := bare.Start(); err != nil {
		return fmt.Errorf("start the bare handler: %w", err)
	}
	defer stop(bare)
	if err := waitUp(bareAddr, "/"); err != nil {
		return fmt.Errorf("bare handler: %w", err)
	}
	targets := []target{{name: "bare 302", addr: bareAddr, request: rawGET(bareAddr, "/join/math-101", "")}}

	rsKey, err := token.GenerateKey(2048)
	if err != nil {
		return err
	}
	keyFile := filepath.Join(dir, "rs256.pem")
	if err := os.WriteFile(keyFile, token.EncodePrivateKeyPEM(rsKey), 0o600); err != nil {
		return err
	}
	const hsSigning = `{algorithm: HS256, secret: "bench-secret-0123456789abcdef0123456789abcdef"}`
	var resAddr string
	for _, g := range []struct {
		name, signing string
		rooms         bool
	}{
		{"/join HS256", hsSigning, false},
		{"/join RS256", fmt.Sprintf(`{algorithm: RS256, private_key_file: %q, key_id: bench-1}`, keyFile), false},
		// The same rules and token as /join HS256, but math-101 is a
		// registered room with a time window, and the reservation API on.
		{roomTarget, hsSigning, true},
	} {
		t, proc, err := startGateway(ctx, bin, dir, g.name, g.signing, g.rooms)
		if proc != nil {
			defer stop(proc)
		}
		if err != nil {
			return fmt.Errorf("%s: %w", g.name, err)
		}
		targets = append(targets, t)
		if g.name == "/join HS256" {
			targets = append(targets, target{name: floorTarget, addr: t.addr, request: rawGET(t.addr, "/healthz", t.cookie), health: true})
		}
		if g.rooms {
			resAddr = t.addr
		}
	}

	fmt.Fprintf(out, "jitsi-gate bench: %d round(s) × %s per target (+%s warm-up), %d keep-alive connections\n",
		o.rounds, o.duration, o.warmup, o.conns)
	results := make(map[string][]loadResult)
	for r := 0; r < o.rounds; r++ {
		for i := range targets {
			t := targets[(i+r)%len(targets)] // rotate the order per round
			res, err := load(t, o)
			if err != nil {
				return fmt.Errorf("round %d, %s: %w", r+1, t.name, err)
			}
			results[t.name] = append(results[t.name], res)
			fmt.Fprintf(out, "  round %d  %-12s %9.0f req/s  p50 %-9s p99 %s\n", r+1, t.name, res.rps, ms(res.p50), ms(res.p99))
		}
	}
	signResults, err := signRounds(rsKey, o)
	if err != nil {
		return err
	}
	fmt.Fprintf(out, "  reservation API: POST /conference, %d req/s for %s (open loop, after 1 s warm-up)\n", o.resRate, o.resDuration)
	res, err := reservationLoad(resAddr, o.resRate, time.Second, o.resDuration)
	if err != nil {
		return fmt.Errorf("reservation API: %w", err)
	}
	report(out, targets, results, signResults, res)
	return nil
}

// roomTarget is the /join target whose room is registered.
const roomTarget = "/join room"

// startGateway writes a static-user config, starts the binary and logs in.
// With rooms, the gateway has a SQLite room registry in which math-101
// (organizer: the bench user, a window around now) and the reservation
// API's load rooms are registered, and the reservation API is on.
func startGateway(ctx context.Context, bin, dir, name, signing string, rooms bool) (target, *exec.Cmd, error) {
	addr, err := freeAddr()
	if err != nil {
		return target{}, nil, err
	}
	hash, err := bcrypt.GenerateFromPassword([]byte("benchpw"), bcrypt.MinCost)
	if err != nil {
		return target{}, nil, err
	}
	cfg := fmt.Sprintf(`
server: {listen: %q, public_url: "http://%s", shutdown_delay: 0s}
jitsi:
  url: https://meet.example.com
  xmpp_domain: meet.jitsi
  app_id: jitsi-gate
  signing: %s
session: {secret: "bench-session-secret-0123456789abcdef0123"}
backends:
  - id: demo
    type: static
    users:
      - {username: teacher, password_hash: %q, name: "Tina Teacher", email: tina@example.org, groups: [teachers, staff, math]}
rules:
  - {name: suspended, match: {groups: [suspended]}, role: deny}
  - {name: teachers, match: {groups: [teachers]}, role: owner, lobby_bypass: true, features: {recording: true, livestreaming: false}}
  - {name: students, match: {groups: [students]}, role: member}
log: {level: info}
`, addr, addr, signing, hash)
	base := filepath.Join(dir, strings.NewReplacer("/", "", " ", "-").Replace(name))
	if rooms {
		// The rule that decides is the organizer's; the token is the one
		// of the rule-only target.
		cfg = strings.Replace(cfg, "rules:\n", "rules:\n  - {name: organizers, match: {room_role: [organizer]}, role: owner, lobby_bypass: true, features: {recording: true, livestreaming: false}}\n", 1)
		cfg += fmt.Sprintf("store: {driver: sqlite, path: %q}\nreservations: {token: %q}\n", base+".db", reservationsToken)
	}
	path := base + ".yaml"
	if err := os.WriteFile(path, []byte(cfg), 0o600); err != nil {
		return target{}, nil, err
	}
	if rooms {
		if err := registerRooms(ctx, bin, dir, path); err != nil {
			return target{}, nil, err
		}
	}
	cmd := exec.CommandContext(ctx, bin, "serve", "-config", path)
	cmd.Env = append(os.Environ(), "JITSI_GATE_CONFIG=")
	// The audit log goes through a pipe, read and dropped here.
	cmd.Stdout, cmd.Stderr = io.Discard, io.Discard
	if err := cmd.Start(); err != nil {
		return target{}, nil, fmt.Errorf("start %s: %w", bin, err)
	}
	if err := waitUp(addr, "/healthz"); err != nil {
		return target{}, cmd, err
	}
	cookie, err := login(addr)
	if err != nil {
		return target{}, cmd, err
	}
	return target{name: name, addr: addr, request: rawGET(addr, "/join/math-101", cookie), cookie: cookie}, cmd, nil
}

// reservationsToken is the reservation API token of the rooms target.
const reservationsToken = "bench-reservations-token-0123456789abcdef"

// loadRooms is how many rooms the reservation load cycles through: at
// 200 req/s each is asked about once a second, so about half the lookups
// miss the registry's 1 s cache and go to the database.
const loadRooms = 200

// registerRooms registers math-101 (open from an hour ago for three hours)
// and the load rooms with the binary's own rooms commands.
func registerRooms(ctx context.Context, bin, dir, cfgPath string) error {
	now := time.Now().Truncate(time.Minute)
	create := exec.CommandContext(ctx, bin, "rooms", "create", "-config", cfgPath, "-name", "math-101", "-organizers", "teacher",
		"-start", now.Add(-time.Hour).Format(time.RFC3339), "-end", now.Add(3*time.Hour).Format(time.RFC3339))
	if out, err := create.CombinedOutput(); err != nil {
		return fmt.Errorf("rooms create: %w\n%s", err, out)
	}
	var csv strings.Builder
	csv.WriteString("name,organizers\n")
	for i := range loadRooms {
		fmt.Fprintf(&csv, "load-%03d,teacher\n", i)
	}
	csvPath := filepath.Join(dir, "load-rooms.csv")
	if err := os.WriteFile(csvPath, []byte(csv.String()), 0o600); err != nil {
		return err
	}
	imp := exec.CommandContext(ctx, bin, "rooms", "import", "-config", cfgPath, csvPath)
	if out, err := imp.CombinedOutput(); err != nil {
		return fmt.Errorf("rooms import: %w\n%s", err, out)
	}
	return nil
}

func login(addr string) (string, error) {
	c := &http.Client{Timeout: 10 * time.Second,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := c.PostForm("http://"+addr+"/login/demo", url.Values{"username": {"teacher"}, "password": {"benchpw"}})
	if err != nil {
		return "", fmt.Errorf("login: %w", err)
	}
	resp.Body.Close()
	for _, ck := range resp.Cookies() {
		if ck.Name == "jitsi_gate" {
			return ck.Name + "=" + ck.Value, nil
		}
	}
	return "", fmt.Errorf("login answered %s without a session cookie", resp.Status)
}

func rawGET(addr, path, cookie string) []byte {
	var b strings.Builder
	fmt.Fprintf(&b, "GET %s HTTP/1.1\r\nHost: %s\r\nUser-Agent: jitsi-gate-bench\r\n", path, addr)
	if cookie != "" {
		fmt.Fprintf(&b, "Cookie: %s\r\n", cookie)
	}
	b.WriteString("\r\n")
	return []byte(b.String())
}

type loadResult struct {
	rps      float64
	p50, p99 time.Duration
}

// load runs the closed-loop load against t: warm-up, then the measured
// duration; every answer must be a 302.
func load(t target, o options) (loadResult, error) {
	start := time.Now()
	measureFrom := start.Add(o.warmup)
	end := measureFrom.Add(o.duration)
	lat := make([][]time.Duration, o.conns)
	errs := make([]error, o.conns)
	var wg sync.WaitGroup
	for i := 0; i < o.conns; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			lat[i], errs[i] = connLoop(t, measureFrom, end)
		}()
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		return loadResult{}, err
	}
	all := slices.Concat(lat...)
	if len(all) == 0 {
		return loadResult{}, errors.New("no request completed")
	}
	slices.Sort(all)
	return loadResult{
		rps: float64(len(all)) / o.duration.Seconds(),
		p50: all[len(all)*50/100],
		p99: all[min(len(all)-1, len(all)*99/100)],
	}, nil
}

func connLoop(t target, measureFrom, end time.Time) ([]time.Duration, error) {
	conn, err := net.DialTimeout("tcp", t.addr, 5*time.Second)
	if err != nil {
		return nil, err
	}
	defer conn.Close()
	if err := conn.SetDeadline(end.Add(10 * time.Second)); err != nil {
		return nil, err
	}
	br := bufio.NewReaderSize(conn, 8192)
	lat := make([]time.Duration, 0, 4096)
	for {
		sent := time.Now()
		if !sent.Before(end) {
			return lat, nil
		}
		if _, err := conn.Write(t.request); err != nil {
			return lat, fmt.Errorf("write: %w", err)
		}
		resp, err := http.ReadResponse(br, nil)
		if err != nil {
			return lat, fmt.Errorf("read: %w", err)
		}
		_, _ = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if t.health {
			if resp.StatusCode != http.StatusOK {
				return lat, fmt.Errorf("answer %s; want 200", resp.Status)
			}
		} else if resp.StatusCode != http.StatusFound || !strings.HasPrefix(resp.Header.Get("Location"), "https://meet.example.com/math-101?jwt=") {
			return lat, fmt.Errorf("answer %s, Location %q; want a 302 to Jitsi", resp.Status, resp.Header.Get("Location"))
		}
		if resp.Close {
			return lat, errors.New("the server closed the keep-alive connection")
		}
		if sent.After(measureFrom) {
			lat = append(lat, time.Since(sent))
		}
	}
}

type signResult struct{ mint, raw time.Duration } // per operation

// signRounds times token.Signer.Mint (RS256, the claims /join signs) and a
// raw RSA-2048 PKCS#1 v1.5 SHA-256 signature of a payload of the same
// size, alternating, one goroutine each time.
func signRounds(key *rsa.PrivateKey, o options) ([]signResult, error) {
	signer, err := token.NewRS256(key, "bench-1")
	if err != nil {
		return nil, err
	}
	pol, err := policy.Compile([]policy.Rule{{Name: "teachers", Groups: []string{"teachers"}, Role: policy.Owner}})
	if err != nil {
		return nil, err
	}
	d := pol.Evaluate(policy.Request{Room: "math-101",
		Identity: auth.Identity{Backend: "demo", Subject: "teacher", Username: "teacher", Groups: []string{"teachers"}}})
	if !d.Allowed {
		return nil, fmt.Errorf("the benchmark rule denied the token: %s", d.Reason)
	}
	claims := grant.Claims(grant.Settings{Issuer: "jitsi-gate", Audience: "jitsi-gate", XMPPDomain: "meet.jitsi",
		TokenLifetime: time.Hour}, auth.Identity{Backend: "demo", Subject: "teacher", Username: "teacher",
		Name: "Tina Teacher", Email: "tina@example.org"}, d, "math-101", "", time.Now())
	sample, err := signer.Mint(claims)
	if err != nil {
		return nil, err
	}
	signingInput := []byte(sample[:strings.LastIndexByte(sample, '.')])
	var out []signResult
	for r := 0; r < o.rounds; r++ {
		mint, err := perOp(o.signOps, func() error { _, err := signer.Mint(claims); return err })
		if err != nil {
			return nil, err
		}
		raw, err := perOp(o.signOps, func() error {
			sum := sha256.Sum256(signingInput)
			_, err := rsa.SignPKCS1v15(rand.Reader, key, crypto.SHA256, sum[:])
			return err
		})
		if err != nil {
			return nil, err
		}
		out = append(out, signResult{mint: mint, raw: raw})
	}
	return out, nil
}

func perOp(d time.Duration, f func() error) (time.Duration, error) {
	start := time.Now()
	n := 0
	for time.Since(start) < d {
		if err := f(); err != nil {
			return 0, err
		}
		n++
	}
	return time.Since(start) / time.Duration(n), nil
}

// resResult is the reservation API's open-loop measurement.
type resResult struct {
	sent          int
	p50, p99, max time.Duration
}

// reservationLoad sends rate POST /conference per second, the way
// Prosody's mod_reservations does, for warmup+d on keep-alive
// connections, each request at its scheduled time whether or not earlier
// ones have been answered (open loop). Latency counts from the scheduled
// time, so a stalled server is not hidden by a waiting client. Every
// tenth room is unregistered (403), the others are registered (200).
func reservationLoad(addr string, rate int, warmup, d time.Duration) (resResult, error) {
	tr := &http.Transport{MaxIdleConnsPerHost: 256, IdleConnTimeout: time.Minute}
	defer tr.CloseIdleConnections()
	client := &http.Client{Transport: tr, Timeout: 10 * time.Second}
	interval := time.Second / time.Duration(rate)
	skip := int(warmup / interval)
	n := skip + int(d/interval)
	lat := make([]time.Duration, n)
	errs := make([]error, n)
	var wg sync.WaitGroup
	start := time.Now().Add(50 * time.Millisecond)
	for i := range n {
		at := start.Add(time.Duration(i) * interval)
		time.Sleep(time.Until(at))
		wg.Add(1)
		go func() {
			defer wg.Done()
			node, want := fmt.Sprintf("load-%03d", i%loadRooms), http.StatusOK
			if i%10 == 9 {
				node, want = fmt.Sprintf("unregistered-%d", i), http.StatusForbidden
			}
			req, err := prosodytest.NewRequest(http.MethodPost, "http://"+addr+"/reservations/conference",
				prosodytest.CreateBody(node, at), "Bearer "+reservationsToken)
			if err != nil {
				errs[i] = err
				return
			}
			resp, err := client.Do(req)
			if err != nil {
				errs[i] = err
				return
			}
			_, _ = io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			lat[i] = time.Since(at)
			if resp.StatusCode != want {
				errs[i] = fmt.Errorf("%s: %s, want %d", node, resp.Status, want)
			}
		}()
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		return resResult{}, err
	}
	m := slices.Clone(lat[skip:])
	slices.Sort(m)
	return resResult{sent: len(m), p50: m[len(m)*50/100], p99: m[min(len(m)-1, len(m)*99/100)], max: m[len(m)-1]}, nil
}

func report(out io.Writer, targets []target, results map[string][]loadResult, sign []signResult, res resResult) {
	med := func(name string, f func(loadResult) float64) float64 {
		vs := make([]float64, 0, len(results[name]))
		for _, r := range results[name] {
			vs = append(vs, f(r))
		}
		return median(vs)
	}
	rps := func(r loadResult) float64 { return r.rps }
	p50 := func(r loadResult) float64 { return float64(r.p50) }
	p99 := func(r loadResult) float64 { return float64(r.p99) }
	bare := targets[0].name
	fmt.Fprintf(out, "\nmedian over rounds:\n")
	fmt.Fprintf(out, "  %-12s %9s %8s %9s %9s %9s\n", "target", "req/s", "× bare", "p50", "p99", "p99 × bare")
	for _, t := range targets {
		fmt.Fprintf(out, "  %-12s %9.0f %7.2f× %9s %9s %8.2f×\n", t.name, med(t.name, rps), med(t.name, rps)/med(bare, rps),
			ms(time.Duration(med(t.name, p50))), ms(time.Duration(med(t.name, p99))), med(t.name, p99)/med(bare, p99))
	}
	var mints, raws []float64
	for _, s := range sign {
		mints, raws = append(mints, float64(s.mint)), append(raws, float64(s.raw))
	}
	mint, raw := median(mints), median(raws)
	fmt.Fprintf(out, "  RS256 mint %s per token, raw RSA-2048 PKCS#1 v1.5 SHA-256 signature %s: %.2f×\n",
		time.Duration(mint).Round(time.Microsecond), time.Duration(raw).Round(time.Microsecond), mint/raw)

	fmt.Fprintf(out, "  reservation API POST /conference at a fixed rate: %d requests, p50 %s, p99 %s, max %s\n",
		res.sent, ms(res.p50), ms(res.p99), ms(res.max))

	hs := "/join HS256"
	roomCost := med(hs, rps) / med(roomTarget, rps)
	fmt.Fprintf(out, "  /join on a registered room costs %.2f× the rule-only /join HS256 (req/s ratio), p99 %.2f×\n",
		roomCost, med(roomTarget, p99)/med(hs, p99))
	floor := med(floorTarget, rps) / med(bare, rps)
	fmt.Fprintf(out, "  floor (the gateway's /healthz, same cookie and middleware): %.2f× bare; /join HS256 reaches %.2f× the floor\n",
		floor, med(hs, rps)/med(floorTarget, rps))
	fmt.Fprintf(out, "\ntargets:\n")
	check(out, fmt.Sprintf("/join HS256 req/s ≥ %.1f× bare", targetHSThroughput), med(hs, rps)/med(bare, rps) >= targetHSThroughput)
	check(out, fmt.Sprintf("/join HS256 p99 ≤ %.1f× bare", targetHSP99), med(hs, p99)/med(bare, p99) <= targetHSP99)
	check(out, fmt.Sprintf("RS256 mint ≤ %.1f× raw RSA", targetRSMint), mint/raw <= targetRSMint)
	check(out, fmt.Sprintf("/join room ≤ %.1f× rule-only", targetRoomCost), roomCost <= targetRoomCost)
	check(out, fmt.Sprintf("reservation POST p99 < %s", ms(targetResP99)), res.p99 < targetResP99)
}

func check(out io.Writer, what string, ok bool) {
	mark := "met"
	if !ok {
		mark = "MISSED"
	}
	fmt.Fprintf(out, "  %-34s %s\n", what, mark)
}

func median(vs []float64) float64 {
	if len(vs) == 0 {
		return 0
	}
	s := slices.Clone(vs)
	slices.SortFunc(s, cmp.Compare[float64])
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}

func ms(d time.Duration) string { return fmt.Sprintf("%.2fms", float64(d)/float64(time.Millisecond)) }

func freeAddr() (string, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	defer ln.Close()
	return ln.Addr().String(), nil
}

func waitUp(addr, path string) error {
	c := &http.Client{Timeout: time.Second,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	deadline := time.Now().Add(15 * time.Second)
	for {
		resp, err := c.Get("http://" + addr + path)
		if err == nil {
			resp.Body.Close()
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("not answering at %s: %w", addr, err)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func stop(cmd *exec.Cmd) {
	if cmd.Process == nil {
		return
	}
	_ = cmd.Process.Signal(os.Interrupt)
	done := make(chan struct{})
	go func() { _ = cmd.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		_ = cmd.Process.Kill()
		<-done
	}
}
