// Command jitsi-gate is the login front door for self-hosted Jitsi Meet:
// users sign in (static users, LDAP, OIDC), admin-written rules turn their
// groups into Jitsi rights, and the browser is sent to the meeting with a
// fresh, short-lived token.
//
// main only wires the process to run; everything else is testable through
// run.
package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/signal"
	"syscall"
)

// version is set at build time with -ldflags "-X main.version=…".
var version = "dev"

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := run(ctx, os.Args, os.Getenv, os.Stdin, os.Stdout, os.Stderr)
	stop()
	if err != nil {
		var ee exitError
		if errors.As(err, &ee) {
			if ee.msg != "" {
				fmt.Fprintln(os.Stderr, ee.msg)
			}
			os.Exit(ee.code)
		}
		fmt.Fprintln(os.Stderr, "jitsi-gate:", err)
		os.Exit(1)
	}
}
