package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"strings"
	"time"

	"github.com/jitsi-gate/jitsi-gate/internal/auth"
	"github.com/jitsi-gate/jitsi-gate/internal/auth/static"
	"github.com/jitsi-gate/jitsi-gate/internal/config"
	"github.com/jitsi-gate/jitsi-gate/internal/grant"
	"github.com/jitsi-gate/jitsi-gate/internal/room"
	"github.com/jitsi-gate/jitsi-gate/internal/target"
	"github.com/jitsi-gate/jitsi-gate/internal/token"
)

// printProblems writes config problems one per line, or the error as is.
func printProblems(w io.Writer, path string, err error) {
	name := path
	if name == "" {
		name = "built-in demo configuration"
	}
	var ps *config.Problems
	if errors.As(err, &ps) {
		fmt.Fprintf(w, "%s: %d problem(s):\n", name, len(*ps))
		for _, p := range *ps {
			fmt.Fprintf(w, "  - %s\n", p.String())
		}
		return
	}
	fmt.Fprintf(w, "%s: %v\n", name, err)
}

func runCheckConfig(ctx context.Context, e env, args []string) error {
	fs := newFlagSet(e, "check-config", "-config FILE")
	configPath := fs.String("config", "", "config file to check; empty: the built-in demo configuration")
	online := fs.Bool("online", false, "also connect to every identity backend: LDAP connect + service bind + base DNs, OIDC discovery")
	timeout := fs.Duration("timeout", 10*time.Second, "with -online: give each backend this long")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	cfg, err := loadConfig(*configPath, e.getenv)
	if err != nil {
		printProblems(e.stdout, *configPath, err)
		return exitError{code: 1}
	}
	// Build every component too: that finds what only a real attempt
	// finds (a key file that is not a key, a backend refusing its settings).
	logger := newLogger(io.Discard, cfg.Log)
	g, err := build(ctx, cfg, logger)
	if err != nil {
		printProblems(e.stdout, *configPath, err)
		return exitError{code: 1}
	}
	defer g.Close()
	for _, w := range cfg.Warnings() {
		fmt.Fprintf(e.stdout, "warning: %s\n", w.String())
	}
	if *online && !checkOnline(ctx, e.stdout, g, *timeout) {
		return exitError{code: 1}
	}
	fmt.Fprintf(e.stdout, "%s: OK (%d backend(s), %d rule(s), %s tokens for %s)\n", nameOf(*configPath),
		len(cfg.Backends), len(cfg.Rules), cfg.Jitsi.Signing.Algorithm, cfg.Jitsi.URL)
	return nil
}

func nameOf(path string) string {
	if path == "" {
		return "built-in demo configuration"
	}
	return path
}

func runHashPassword(_ context.Context, e env, args []string) error {
	fs := newFlagSet(e, "hash-password", "< password")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	line, err := bufio.NewReader(io.LimitReader(e.stdin, 4096)).ReadString('\n')
	if err != nil && !errors.Is(err, io.EOF) {
		return fmt.Errorf("read password: %w", err)
	}
	password := strings.TrimRight(line, "\r\n")
	hash, err := static.HashPassword(password)
	if err != nil {
		return exitError{code: 1, msg: "jitsi-gate hash-password: " + err.Error()}
	}
	fmt.Fprintln(e.stdout, hash)
	return nil
}

// runToken mints a token for a user and room the way /join would, from the
// config's rules, so an admin can test Jitsi without a browser (like jitok,
// but with the real rules).
func runToken(ctx context.Context, e env, args []string) error {
	fs := newFlagSet(e, "token", "-config FILE -user NAME -groups a,b -room ROOM [-tenant T] [-json]")
	configPath := fs.String("config", "", "config file; empty: the built-in demo configuration")
	user := fs.String("user", "", "username (context.user.id is <backend>:<user>)")
	name := fs.String("name", "", "display name (default: the username)")
	email := fs.String("email", "", "e-mail address")
	groups := fs.String("groups", "", "comma-separated groups the rules see")
	backend := fs.String("backend", "", "backend id the rules see (default: the first backend)")
	roomName := fs.String("room", "", "room name, as typed or as Jitsi shows it")
	tenant := fs.String("tenant", "", "tenant (default: the one in jitsi.url, if any)")
	asJSON := fs.Bool("json", false, "print the URL, claims and token as JSON")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if *user == "" || *roomName == "" {
		fs.Usage()
		return exitError{code: 2, msg: "jitsi-gate token: -user and -room are required"}
	}
	g, err := loadGateway(ctx, *configPath, e)
	if err != nil {
		return err
	}
	defer g.Close()
	cfg := g.cfg
	rn, err := room.Parse(*roomName)
	if err != nil {
		return exitError{code: 1, msg: "jitsi-gate token: room: " + err.Error()}
	}
	t, err := g.jitsi.Tenant(*tenant)
	if err != nil {
		return exitError{code: 1, msg: "jitsi-gate token: -tenant: " + unwrapTarget(err)}
	}
	be := *backend
	if be == "" && len(cfg.Backends) > 0 {
		be = cfg.Backends[0].ID
	}
	var gs []string
	for _, g := range strings.Split(*groups, ",") {
		if g = strings.TrimSpace(g); g != "" {
			gs = append(gs, g)
		}
	}
	id := auth.Identity{Backend: be, Subject: *user, Username: *user, Name: *name, Email: *email, Groups: gs}
	gr, err := g.grants.Grant(ctx, grant.Request{Identity: id, Room: rn, Tenant: t}, time.Now())
	if err != nil {
		return fmt.Errorf("rules: %w", err)
	}
	d, claims := gr.Decision, gr.Claims
	if !d.Allowed {
		return exitError{code: 3, msg: "jitsi-gate token: denied: " + d.Reason}
	}
	jwt, err := g.signer.Mint(claims)
	if err != nil {
		return fmt.Errorf("mint: %w", err)
	}
	// Always ?jwt=: the command prints a link to paste anywhere.
	dest := (&target.Jitsi{URL: g.jitsi.URL}).RoomURL(target.Target{Room: rn, Tenant: t}, jwt)
	if *asJSON {
		_, payload, err := token.Inspect(jwt)
		if err != nil {
			return err
		}
		enc := json.NewEncoder(e.stdout)
		enc.SetIndent("", "  ")
		return enc.Encode(map[string]any{"url": dest, "rule": d.Rule, "role": d.Role,
			"claims": json.RawMessage(payload), "token": jwt})
	}
	fmt.Fprintf(e.stderr, "rule %q: role %s, room %s, expires %s\n", d.Rule, d.Role, rn.Safe,
		claims.ExpiresAt.UTC().Format(time.RFC3339))
	fmt.Fprintln(e.stdout, dest)
	return nil
}

// unwrapTarget is the admin's words for a target error (the cause, not
// the page's message key).
func unwrapTarget(err error) string {
	var te *target.Error
	if errors.As(err, &te) {
		return te.Err.Error()
	}
	return err.Error()
}

func runKeygen(_ context.Context, e env, args []string) error {
	fs := newFlagSet(e, "keygen", "-out key.pem [-bits 2048] [-prefix jitsi-gate]")
	out := fs.String("out", "", "file to write the PEM private key to (mode 0600; must not exist)")
	bits := fs.Int("bits", 2048, "RSA key size (2048, 3072 or 4096)")
	prefix := fs.String("prefix", "jitsi-gate", "prefix of the generated key_id")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if *out == "" {
		fs.Usage()
		return exitError{code: 2, msg: "jitsi-gate keygen: -out is required"}
	}
	if *bits != 2048 && *bits != 3072 && *bits != 4096 {
		return exitError{code: 2, msg: "jitsi-gate keygen: -bits must be 2048, 3072 or 4096"}
	}
	key, err := token.GenerateKey(*bits)
	if err != nil {
		return fmt.Errorf("generate key: %w", err)
	}
	f, err := os.OpenFile(*out, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return exitError{code: 1, msg: fmt.Sprintf("jitsi-gate keygen: %v (refusing to overwrite an existing key)", err)}
	}
	if _, err := f.Write(token.EncodePrivateKeyPEM(key)); err != nil {
		f.Close()
		return fmt.Errorf("write %s: %w", *out, err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("write %s: %w", *out, err)
	}
	kid := token.NewKeyID(&key.PublicKey, *prefix)
	fmt.Fprintf(e.stdout, "Wrote %s. Put this in the config:\n\n", *out)
	fmt.Fprintf(e.stdout, "jitsi:\n  signing:\n    algorithm: RS256\n    private_key_file: %s\n    key_id: %s\n\n", *out, kid)
	fmt.Fprintf(e.stdout, "Prosody fetches the public key from <public_url>/asap/%s\n", token.ASAPFileName(kid))
	return nil
}

// configEnv names the config file when -config is not given, for serve
// and healthcheck alike: the Dockerfile sets it, so the HEALTHCHECK probes
// the port of server.listen in the mounted config.
const configEnv = "JITSI_GATE_CONFIG"

func runHealthcheck(ctx context.Context, e env, args []string) error {
	fs := newFlagSet(e, "healthcheck", "[-config FILE | -url http://127.0.0.1:8080/healthz]")
	target := fs.String("url", "", "health endpoint to ask (default: /healthz on server.listen of -config, else "+defaultHealthURL+")")
	configPath := fs.String("config", e.getenv(configEnv), "config file whose server.listen to probe (default: $"+configEnv+")")
	timeout := fs.Duration("timeout", 3*time.Second, "give up after this long")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if *target == "" {
		*target = defaultHealthURL
		if *configPath != "" {
			cfg, err := loadConfig(*configPath, e.getenv)
			if err != nil {
				printProblems(e.stderr, *configPath, err)
				return exitError{code: 1, msg: "jitsi-gate healthcheck: cannot read server.listen from the config"}
			}
			*target = healthURL(cfg.Server.Listen)
		}
	}
	ctx, cancel := context.WithTimeout(ctx, *timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, *target, nil)
	if err != nil {
		return exitError{code: 2, msg: "jitsi-gate healthcheck: " + err.Error()}
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return exitError{code: 1, msg: "jitsi-gate healthcheck: " + err.Error()}
	}
	defer resp.Body.Close()
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 1<<16))
	if resp.StatusCode != http.StatusOK {
		return exitError{code: 1, msg: fmt.Sprintf("jitsi-gate healthcheck: %s answered %s", *target, resp.Status)}
	}
	fmt.Fprintln(e.stdout, "ok")
	return nil
}

const defaultHealthURL = "http://127.0.0.1:8080/healthz"

// healthURL is the /healthz URL (served at the root whatever the public
// URL's path) of a listener at listen: the wildcard addresses are probed
// on the loopback address of their family.
func healthURL(listen string) string {
	host, port, err := net.SplitHostPort(listen)
	if err != nil { // validated by the config; keep the old default
		return defaultHealthURL
	}
	switch host {
	case "", "0.0.0.0":
		host = "127.0.0.1"
	case "::":
		host = "::1"
	}
	return "http://" + net.JoinHostPort(host, port) + "/healthz"
}

// checkOnline contacts every identity backend and prints one line each.
func checkOnline(ctx context.Context, w io.Writer, g *gateway, timeout time.Duration) bool {
	ok := true
	for id, l := range g.ldaps {
		cctx, cancel := context.WithTimeout(ctx, timeout)
		err := l.Check(cctx)
		cancel()
		if err != nil {
			ok = false
			fmt.Fprintf(w, "backend %s (ldap): FAILED: %v\n", id, err)
			continue
		}
		fmt.Fprintf(w, "backend %s (ldap): connected, service bind and base DNs OK\n", id)
	}
	for _, o := range g.oidcs {
		cctx, cancel := context.WithTimeout(ctx, timeout)
		err := o.Ready(cctx)
		cancel()
		if err != nil {
			ok = false
			fmt.Fprintf(w, "backend %s (oidc): FAILED: %v\n", o.ID(), err)
			continue
		}
		fmt.Fprintf(w, "backend %s (oidc): discovery OK\n", o.ID())
	}
	return ok
}
