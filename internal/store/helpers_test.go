package store

import (
	"context"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/jitsi-gate/jitsi-gate/internal/testenv"
)

// testDB is one empty database of one driver: a SQLite file in a temp
// directory, or a PostgreSQL database created for the test (dropped at
// cleanup). open opens another *Store on it.
type testDB struct {
	driver string
	cfg    Config
	clock  *fakeClock
}

// open opens a Store on the test database and closes it at cleanup.
func (d *testDB) open(t testing.TB) *Store {
	t.Helper()
	s, err := Open(context.Background(), d.cfg, nil)
	if err != nil {
		t.Fatalf("Open(%s): %v", d.driver, err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

// forEachDriver runs fn as a subtest per driver, each with a fresh
// database. The postgres subtest skips (fails in CI) without the test
// cluster of test/infra/up.sh.
func forEachDriver(t *testing.T, fn func(t *testing.T, d *testDB)) {
	t.Helper()
	for _, driver := range []string{DriverSQLite, DriverPostgres} {
		t.Run(driver, func(t *testing.T) {
			fn(t, newTestDB(t, driver))
		})
	}
}

func newTestDB(t testing.TB, driver string) *testDB {
	t.Helper()
	clock := &fakeClock{t: time.Date(2026, 9, 7, 6, 30, 0, 123456789, time.UTC)}
	d := &testDB{driver: driver, clock: clock}
	switch driver {
	case DriverSQLite:
		d.cfg = Config{Driver: DriverSQLite, Path: filepath.Join(t.TempDir(), "store.db")}
	case DriverPostgres:
		d.cfg = Config{Driver: DriverPostgres, DSN: createPostgresDB(t), MaxOpenConns: 4}
	default:
		t.Fatalf("unknown driver %q", driver)
	}
	d.cfg.Now = clock.Now
	return d
}

// createPostgresDB creates a fresh database on the test cluster (dropped
// when the test ends) and returns its DSN.
func createPostgresDB(t testing.TB) string {
	t.Helper()
	return testenv.PostgresDB(t, "store_test_")
}

// fakeClock is a settable clock for Config.Now.
type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *fakeClock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}
