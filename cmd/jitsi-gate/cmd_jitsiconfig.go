package main

import (
	"context"
	"fmt"
	"slices"
	"strings"

	"github.com/jitsi-gate/jitsi-gate/internal/config"
	"github.com/jitsi-gate/jitsi-gate/internal/jitsiconf"
)

// runJitsiConfig prints the Jitsi-side settings (docker .env, prosody and
// jicofo lines, or config.js lines) that match the gateway's config.
func runJitsiConfig(_ context.Context, e env, args []string) error {
	fs := newFlagSet(e, "jitsi-config", "-config FILE [-format "+strings.Join(jitsiconf.Formats(), "|")+"]")
	configPath := fs.String("config", "", "config file; empty: the built-in demo configuration")
	format := fs.String("format", jitsiconf.FormatEnv,
		"env (docker-jitsi-meet .env), prosody (Debian prosody + jicofo), configjs (config.js lines)")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if !slices.Contains(jitsiconf.Formats(), *format) {
		fs.Usage()
		return exitError{code: 2, msg: fmt.Sprintf("jitsi-gate jitsi-config: unknown format %q (use %s)",
			*format, strings.Join(jitsiconf.Formats(), ", "))}
	}
	cfg, opts, err := loadForJitsiConfig(*configPath, e)
	if err != nil {
		return err
	}
	out, err := jitsiconf.GenerateWith(cfg, *format, opts)
	if err != nil {
		return exitError{code: 1, msg: "jitsi-gate jitsi-config: " + err.Error()}
	}
	fmt.Fprint(e.stdout, out)
	return nil
}

// loadForJitsiConfig loads the config and what only its raw text tells:
// which environment variables the HS256 secret and the reservations token
// come from.
func loadForJitsiConfig(path string, e env) (*config.Config, jitsiconf.Options, error) {
	cfg, err := loadConfig(path, e.getenv)
	if err != nil {
		printProblems(e.stderr, path, err)
		return nil, jitsiconf.Options{}, exitError{code: 1}
	}
	source := path
	if source == "" {
		source = "the built-in demo configuration"
	}
	return cfg, jitsiconf.Options{SecretEnv: cfg.EnvVar("jitsi.signing.secret"), Source: source,
		ReservationsTokenEnv: cfg.EnvVar("reservations.token")}, nil
}
