package testenv

import (
	"os"
	"testing"
)

// Nginx returns the path of the nginx binary for the front-door tests
// (GATEWAY_TEST_NGINX, else Debian's /usr/sbin/nginx, installed by
// test/infra/install.sh), or skips (fails in CI) when there is none. The
// tests start their own nginx on 127.0.0.1 with a temporary config.
func Nginx(t testing.TB) string {
	t.Helper()
	path := os.Getenv("GATEWAY_TEST_NGINX")
	if path == "" {
		path = "/usr/sbin/nginx"
	}
	if fi, err := os.Stat(path); err != nil || fi.IsDir() || fi.Mode()&0o111 == 0 {
		unavailable(t, "no nginx at %s (set GATEWAY_TEST_NGINX, or apt-get install nginx, or run test/infra/install.sh)", path)
		return ""
	}
	return path
}
