package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"sort"
	"strings"
)

// exitError ends the process with a specific code (flag errors: 2; config
// problems: 1) after its message has already been printed, or with msg.
type exitError struct {
	code int
	msg  string
}

func (e exitError) Error() string {
	if e.msg != "" {
		return e.msg
	}
	return fmt.Sprintf("exit status %d", e.code)
}

// env is what a command may use of the process: arguments, environment
// and standard streams. Tests pass their own.
type env struct {
	getenv func(string) string
	stdin  io.Reader
	stdout io.Writer
	stderr io.Writer
	// listen opens the server's listeners; net.Listen. Tests hand over
	// listeners they bound on 127.0.0.1:0 before writing the config.
	listen func(network, address string) (net.Listener, error)
}

type command struct {
	summary string
	run     func(ctx context.Context, e env, args []string) error
}

func commands() map[string]command {
	return map[string]command{
		"serve":         {"run the gateway (the default command)", runServe},
		"check-config":  {"check a config file and report every problem", runCheckConfig},
		"hash-password": {"read a password on stdin and print its bcrypt hash for a static user", runHashPassword},
		"token":         {"mint a token for a user and room from the config's rules (for testing Jitsi)", runToken},
		"keygen":        {"create an RS256 signing key and print its key_id", runKeygen},
		"explain":       {"show a user's directory entry, groups, matching rule and token claims (no password needed)", runExplain},
		"healthcheck":   {"exit 0 when the gateway's /healthz answers 200 (Docker HEALTHCHECK)", runHealthcheck},
		"jitsi-config":  {"print the Jitsi-side settings (.env, prosody, config.js) that match the config", runJitsiConfig},
		"doctor":        {"check a running Jitsi and this gateway against the config; print manual tests", runDoctor},
		"rooms":         {"create, change, list, import and export registered rooms (docs/rooms.md)", runRooms},
		"migrate":       {"apply the database schema migrations and print the version", runMigrate},
		"version":       {"print the version", runVersion},
	}
}

// run is the whole program: main passes the process's arguments,
// environment and streams; tests pass their own.
func run(ctx context.Context, args []string, getenv func(string) string, stdin io.Reader, stdout, stderr io.Writer) error {
	return runEnv(ctx, args, env{getenv: getenv, stdin: stdin, stdout: stdout, stderr: stderr, listen: net.Listen})
}

// runEnv is run with the process's parts in e.
func runEnv(ctx context.Context, args []string, e env) error {
	stdout, stderr := e.stdout, e.stderr
	if e.listen == nil {
		e.listen = net.Listen
	}
	rest := args[1:]
	name := "serve"
	if len(rest) > 0 && !strings.HasPrefix(rest[0], "-") {
		name, rest = rest[0], rest[1:]
	}
	if name == "help" || (len(rest) == 1 && name == "serve" && (rest[0] == "-h" || rest[0] == "-help" || rest[0] == "--help")) {
		usage(stdout)
		return nil
	}
	cmd, ok := commands()[name]
	if !ok {
		usage(stderr)
		return exitError{code: 2, msg: fmt.Sprintf("jitsi-gate: unknown command %q", name)}
	}
	err := cmd.run(ctx, e, rest)
	if errors.Is(err, flag.ErrHelp) {
		return nil
	}
	return err
}

func usage(w io.Writer) {
	fmt.Fprintln(w, "Usage: jitsi-gate [command] [flags]")
	fmt.Fprintln(w)
	fmt.Fprintln(w, "Commands:")
	cmds := commands()
	names := make([]string, 0, len(cmds))
	for n := range cmds {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		fmt.Fprintf(w, "  %-14s %s\n", n, cmds[n].summary)
	}
	fmt.Fprintln(w)
	fmt.Fprintln(w, "Run 'jitsi-gate COMMAND -h' for the flags of a command.")
	fmt.Fprintln(w, "Without -config, serve and the other commands use the built-in demo configuration.")
}

// newFlagSet returns a flag set that prints errors and usage to e.stderr
// and does not exit the process.
func newFlagSet(e env, name, usageLine string) *flag.FlagSet {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(e.stderr)
	fs.Usage = func() {
		fmt.Fprintf(e.stderr, "Usage: jitsi-gate %s %s\n\nFlags:\n", name, usageLine)
		fs.PrintDefaults()
	}
	return fs
}

// parseFlags parses and turns flag errors into exit status 2.
func parseFlags(fs *flag.FlagSet, args []string) error {
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return err
		}
		return exitError{code: 2}
	}
	if fs.NArg() > 0 {
		fs.Usage()
		return exitError{code: 2, msg: fmt.Sprintf("jitsi-gate %s: unexpected argument %q", fs.Name(), fs.Arg(0))}
	}
	return nil
}

func runVersion(_ context.Context, e env, args []string) error {
	fs := newFlagSet(e, "version", "")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	fmt.Fprintln(e.stdout, "jitsi-gate", version)
	return nil
}
