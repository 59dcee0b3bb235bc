package main

import (
	"context"
	"fmt"
	"io"
	"net/url"
	"strings"
	"time"

	"github.com/jitsi-gate/jitsi-gate/internal/doctor"
	"github.com/jitsi-gate/jitsi-gate/internal/jitsiconf"
)

// runDoctor checks a running Jitsi and this gateway against the config and
// prints manual tests (with ready-made token links) for what cannot be
// checked from outside. Exit status 1 when a check failed.
func runDoctor(ctx context.Context, e env, args []string) error {
	fs := newFlagSet(e, "doctor", "-config FILE [-jitsi https://meet.example.com] [-timeout 10s]")
	configPath := fs.String("config", "", "config file; empty: the built-in demo configuration")
	jitsiURL := fs.String("jitsi", "", "the Jitsi to check (default: jitsi.url from the config); must be the same site as jitsi.url")
	timeout := fs.Duration("timeout", doctor.DefaultTimeout, "give up on each request after this long")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if *timeout <= 0 || *timeout > 5*time.Minute {
		return exitError{code: 2, msg: "jitsi-gate doctor: -timeout must be between 0 and 5m"}
	}
	cfg, opts, err := loadForJitsiConfig(*configPath, e)
	if err != nil {
		return err
	}
	if err := sameJitsi(*jitsiURL, cfg.Jitsi.URL); err != nil {
		return exitError{code: 2, msg: "jitsi-gate doctor: " + err.Error()}
	}
	settings, err := jitsiconf.Build(cfg, opts)
	if err != nil {
		return exitError{code: 1, msg: "jitsi-gate doctor: " + err.Error()}
	}
	g, err := build(ctx, cfg, newLogger(io.Discard, cfg.Log))
	if err != nil {
		printProblems(e.stderr, *configPath, err)
		return exitError{code: 1}
	}
	defer g.Close()
	report, err := doctor.Run(ctx, doctor.Options{
		Config: cfg, Settings: settings, JitsiURL: *jitsiURL, Signer: g.signer, Grants: g.grants, Timeout: *timeout,
	})
	if err != nil {
		return exitError{code: 2, msg: "jitsi-gate " + err.Error()}
	}
	report.Write(e.stdout)
	if report.Failed() {
		return exitError{code: 1, msg: fmt.Sprintf("jitsi-gate doctor: %d check(s) failed", report.Count(doctor.Fail))}
	}
	return nil
}

// sameJitsi refuses a -jitsi other than jitsi.url. Doctor prints real
// tokens signed with the gateway's key (an owner token for the test room);
// handing them to another server would give that server's operator a
// token valid on this Jitsi. Scheme, host and port must match; the path
// (a tenant) may differ.
func sameJitsi(flagURL, configURL string) error {
	if flagURL == "" {
		return nil
	}
	f, err := url.Parse(strings.TrimSpace(flagURL))
	if err != nil || (f.Scheme != "http" && f.Scheme != "https") || f.Host == "" {
		return fmt.Errorf("-jitsi %q is not an http(s) URL", flagURL)
	}
	c, err := url.Parse(configURL)
	if err != nil {
		return fmt.Errorf("jitsi.url %q: %w", configURL, err)
	}
	if !strings.EqualFold(f.Scheme, c.Scheme) || !strings.EqualFold(f.Hostname(), c.Hostname()) || portOf(f) != portOf(c) {
		return fmt.Errorf("-jitsi %s is not jitsi.url %s: doctor prints tokens signed with the gateway's key and only for the Jitsi in jitsi.url; check that one (leave out -jitsi), or fix jitsi.url",
			f.Scheme+"://"+f.Host, configURL)
	}
	return nil
}

// portOf is u's port, or the scheme's default port.
func portOf(u *url.URL) string {
	if p := u.Port(); p != "" {
		return p
	}
	if strings.EqualFold(u.Scheme, "http") {
		return "80"
	}
	return "443"
}
