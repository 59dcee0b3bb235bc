package config

import (
	"strings"
	"testing"
	"time"
)

// TestShutdownSettings checks that an explicit 0s delay is kept (not
// replaced by the default) and that the defaults apply when the keys are
// absent.
func TestShutdownSettings(t *testing.T) {
	tests := []struct {
		name                   string
		server                 string
		wantDelay, wantTimeout time.Duration
	}{
		{"defaults", "", DefaultShutdownDelay, DefaultShutdownTimeout},
		{"explicit zero delay", "  shutdown_delay: 0s\n", 0, DefaultShutdownTimeout},
		{"both set", "  shutdown_delay: 2s\n  shutdown_timeout: 1m\n", 2 * time.Second, time.Minute},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			doc := strings.Replace(baseYAML(), "server:\n", "server:\n"+tt.server, 1)
			if tt.server != "" && doc == baseYAML() {
				t.Fatal("baseYAML has no server: block to extend")
			}
			c := mustParse(t, doc, nil)
			delay, timeout := c.Server.Drain()
			if delay != tt.wantDelay || timeout != tt.wantTimeout {
				t.Errorf("Drain() = %s, %s; want %s, %s", delay, timeout, tt.wantDelay, tt.wantTimeout)
			}
		})
	}
}
