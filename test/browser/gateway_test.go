package browser

import (
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"go.yaml.in/yaml/v4"

	"github.com/jitsi-gate/jitsi-gate/internal/testenv"
)

// Secrets and names shared by every gateway config and the Jitsi stand-in.
const (
	jwtSecret     = "browser-test-jwt-secret-0123456789abcdef"
	sessionSecret = "browser-test-session-secret-0123456789abcdef"
	appID         = "jitsi-gate"
	xmppDomain    = "meet.jitsi"
)

// binDir holds the gateway binary built for this run (see TestMain).
var (
	binDir   string
	buildMu  sync.Mutex
	buildOut string
	builtBin string
	buildErr error
)

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "jitsi-gate-browser-")
	if err != nil {
		fmt.Fprintln(os.Stderr, "browser tests: temp dir:", err)
		os.Exit(1)
	}
	binDir = dir
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// gatewayBinary builds cmd/jitsi-gate once per test binary run. It is built
// lazily, after the test has found its services, so `go test ./...` on a
// machine without Chromium pays nothing.
func gatewayBinary(t *testing.T) string {
	t.Helper()
	buildMu.Lock()
	defer buildMu.Unlock()
	if builtBin == "" && buildErr == nil {
		bin := filepath.Join(binDir, "jitsi-gate")
		start := time.Now()
		cmd := exec.Command("go", "build", "-o", bin, "github.com/jitsi-gate/jitsi-gate/cmd/jitsi-gate")
		out, err := cmd.CombinedOutput()
		buildOut = string(out)
		if err != nil {
			buildErr = fmt.Errorf("go build ./cmd/jitsi-gate: %w", err)
		} else {
			builtBin = bin
			t.Logf("built the gateway in %s", time.Since(start).Round(time.Millisecond))
		}
	}
	if buildErr != nil {
		t.Fatalf("%v\n%s", buildErr, buildOut)
	}
	return builtBin
}

// gatewayOptions selects what a test's gateway config contains.
type gatewayOptions struct {
	jitsiURL        string // the stand-in's URL
	ldap            *testenv.LDAPEnv
	oidc            *testenv.OIDCEnv // backend id "dex" (Dex has redirect URIs for /callback/dex)
	preview         bool
	sessionLifetime string   // default 8h
	tenants         []string // jitsi.tenants
	port            int      // 0: any free port; OIDC needs a testenv.FreeCallbackPort
	// ssoRedirect, when set, switches on the inline sign-in for client
	// "jitsi" with this redirect URI (the stand-in's static/sso.html).
	ssoRedirect string
	manageRooms bool // teachers may manage rooms (and invite guests)
	// rooms turns on the room registry (SQLite in the test's directory)
	// with rules that know the room (roomRules).
	rooms bool
}

// roomRules are the rules of a school that plans rooms (docs/rooms.md):
// the organizer moderates, colleagues and invited participants join as
// members, nobody else gets into a registered room; teachers plan rooms,
// admins see them all.
var roomRules = []any{
	map[string]any{"name": "admins", "match": map[string]any{"groups": []string{"admins"}}, "role": "owner", "admin": true},
	map[string]any{"name": "organizers", "match": map[string]any{"room_role": []string{"organizer"}}, "role": "owner"},
	map[string]any{"name": "teachers-in-registered-rooms", "match": map[string]any{"groups": []string{"teachers"}, "room_role": []string{"registered"}}, "role": "member"},
	map[string]any{"name": "participants", "match": map[string]any{"room_role": []string{"participant"}}, "role": "member"},
	map[string]any{"name": "registered-rooms-only-for-the-invited", "match": map[string]any{"room_role": []string{"registered"}}, "role": "deny"},
	map[string]any{"name": "teachers", "match": map[string]any{"groups": []string{"teachers"}}, "role": "owner", "lobby_bypass": true, "manage_rooms": true},
	map[string]any{"name": "students", "match": map[string]any{"groups": []string{"students"}}, "role": "member"},
}

// config renders the YAML for o with the gateway at base.
func (o gatewayOptions) config(base string) ([]byte, error) {
	lifetime := o.sessionLifetime
	if lifetime == "" {
		lifetime = "8h"
	}
	jitsi := map[string]any{
		"url":            o.jitsiURL,
		"xmpp_domain":    xmppDomain,
		"app_id":         appID,
		"audience":       appID,
		"signing":        map[string]any{"algorithm": "HS256", "secret": jwtSecret},
		"token_lifetime": "1h",
		"preview":        o.preview,
	}
	if o.preview {
		// The page test checks the previewed token against the stand-in.
		jitsi["preview_real_tokens"] = true
	}
	if len(o.tenants) > 0 {
		jitsi["tenants"] = o.tenants
	}
	var backends []any
	if e := o.ldap; e != nil {
		backends = append(backends, map[string]any{
			"id": "ldap", "type": "ldap", "label": "School account",
			"url": e.URL, "start_tls": true, "ca_file": e.CAFile,
			"bind_dn": e.BindDN, "bind_password": e.BindPassword,
			"timeout": "10s",
			"user_search": map[string]any{
				"base_dn":         "ou=people," + e.BaseDN,
				"filter":          "(&(objectClass=inetOrgPerson)(uid={username}))",
				"id_attribute":    "uid",
				"name_attribute":  "displayName",
				"email_attribute": "mail",
			},
			"group_search": map[string]any{
				"base_dn":        "ou=groups," + e.BaseDN,
				"filter":         "(member={dn})",
				"name_attribute": "cn",
				"nested":         true,
			},
		})
	}
	if e := o.oidc; e != nil {
		backends = append(backends, map[string]any{
			"id": "dex", "type": "oidc", "label": "School login (Dex)",
			"issuer": e.Issuer, "client_id": e.ClientID, "client_secret": e.ClientSecret,
			"scopes":       []string{"openid", "profile", "email", "groups"},
			"groups_claim": "groups",
		})
	}
	cfg := map[string]any{
		"server":   map[string]any{"listen": strings.TrimPrefix(base, "http://"), "public_url": base},
		"jitsi":    jitsi,
		"session":  map[string]any{"secret": sessionSecret, "lifetime": lifetime},
		"backends": backends,
		"rules": []any{
			map[string]any{"name": "teachers", "match": map[string]any{"groups": []string{"teachers"}},
				"role": "owner", "lobby_bypass": true, "rooms": []string{"*"}},
			map[string]any{"name": "students", "match": map[string]any{"groups": []string{"students"}},
				"role": "member", "rooms": []string{"*"}},
		},
		"log": map[string]any{"level": "debug", "format": "text"},
	}
	if o.ssoRedirect != "" {
		cfg["sso"] = map[string]any{"clients": []any{map[string]any{"client_id": "jitsi", "redirect_uris": []string{o.ssoRedirect}}}}
	}
	if o.manageRooms {
		cfg["rules"].([]any)[0].(map[string]any)["manage_rooms"] = true
	}
	if o.rooms {
		cfg["rules"] = roomRules
		// Relative to the config file, which lives in the test's own
		// directory.
		cfg["store"] = map[string]any{"driver": "sqlite", "path": "rooms.db"}
		cfg["rooms"] = map[string]any{"timezone": "Europe/Berlin", "open_early": "10m"}
	}
	return yaml.Dump(cfg)
}

// gateway is a running jitsi-gate subprocess.
type gateway struct {
	URL string // http://127.0.0.1:PORT, also its public_url
	log *syncBuffer
}

// startGateway writes the config for o, starts the real binary with it and
// waits for /healthz. The process is stopped when the test ends; its log is
// printed when the test failed.
func startGateway(t *testing.T, o gatewayOptions) *gateway {
	t.Helper()
	bin := gatewayBinary(t)
	var lastErr error
	for attempt := 0; attempt < 3; attempt++ {
		port := o.port
		if port == 0 {
			port = freePort(t)
		} else if attempt > 0 {
			port = testenv.FreeCallbackPort(t) // the one we were given was taken meanwhile
		}
		g, err := tryStartGateway(t, bin, o, port)
		if err == nil {
			return g
		}
		lastErr = err
		if !errors.Is(err, errPortTaken) {
			break
		}
	}
	t.Fatalf("start gateway: %v", lastErr)
	return nil
}

var errPortTaken = errors.New("port taken")

func tryStartGateway(t *testing.T, bin string, o gatewayOptions, port int) (*gateway, error) {
	t.Helper()
	base := fmt.Sprintf("http://127.0.0.1:%d", port)
	cfg, err := o.config(base)
	if err != nil {
		return nil, fmt.Errorf("render config: %w", err)
	}
	dir := t.TempDir()
	cfgPath := filepath.Join(dir, "config.yaml")
	if err := os.WriteFile(cfgPath, cfg, 0o600); err != nil {
		return nil, fmt.Errorf("write config: %w", err)
	}
	g := &gateway{URL: base, log: &syncBuffer{}}
	cmd := exec.Command(bin, "serve", "-config", cfgPath, "-listen", fmt.Sprintf("127.0.0.1:%d", port))
	cmd.Stdout, cmd.Stderr = g.log, g.log
	cmd.Dir = dir
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("start %s: %w", bin, err)
	}
	exited := make(chan error, 1)
	// done is closed once the process is reaped; waitHealthy may have
	// taken the exit status from exited already (a gateway that refused
	// its config), and stop must not wait for it again.
	done := make(chan struct{})
	go func() { exited <- cmd.Wait(); close(done) }()

	stop := func() {
		_ = cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			_ = cmd.Process.Kill()
			<-done
		}
	}
	if err := waitHealthy(base, exited, 20*time.Second); err != nil {
		stop()
		out := g.log.String()
		if strings.Contains(out, "address already in use") {
			return nil, fmt.Errorf("%w: %d", errPortTaken, port)
		}
		return nil, fmt.Errorf("%w\nconfig:\n%s\ngateway log:\n%s", err, cfg, out)
	}
	t.Cleanup(func() {
		stop()
		if t.Failed() {
			t.Logf("gateway %s log:\n%s", base, g.log.String())
		}
	})
	return g, nil
}

// waitHealthy polls /healthz until it answers 200, the process exits, or
// the timeout passes.
func waitHealthy(base string, exited <-chan error, timeout time.Duration) error {
	client := &http.Client{Timeout: 2 * time.Second}
	deadline := time.Now().Add(timeout)
	for {
		select {
		case err := <-exited:
			return fmt.Errorf("gateway exited before it was healthy: %v", err)
		default:
		}
		resp, err := client.Get(base + "/healthz")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return nil
			}
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("gateway not healthy at %s/healthz after %s (last error: %v)", base, timeout, err)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// freePort returns a port on 127.0.0.1 that is free right now.
func freePort(t *testing.T) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("find free port: %v", err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// syncBuffer is a bytes.Buffer safe for the writer goroutines of a process.
type syncBuffer = testenv.SyncBuffer
