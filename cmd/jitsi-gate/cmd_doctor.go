package main

import (
	"context"
	"fmt"
	"io"
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
	jitsiURL := fs.String("jitsi", "", "the Jitsi to check (default: jitsi.url from the config)")
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
	settings, err := jitsiconf.Build(cfg, opts)
	if err != nil {
		return exitError{code: 1, msg: "jitsi-gate doctor: " + err.Error()}
	}
	g, err := build(cfg, newLogger(io.Discard, cfg.Log))
	if err != nil {
		printProblems(e.stderr, *configPath, err)
		return exitError{code: 1}
	}
	report, err := doctor.Run(ctx, doctor.Options{
		Config: cfg, Settings: settings, JitsiURL: *jitsiURL, Signer: g.signer, Timeout: *timeout,
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
