package rooms

import (
	"context"
	"log/slog"
	"path/filepath"
	"testing"
	"time"

	"github.com/jitsi-gate/jitsi-gate/internal/store"
	"github.com/jitsi-gate/jitsi-gate/internal/testenv"
)

// testDB is one empty database of one driver; open opens another store
// handle on it (a second gateway process, as far as caches go).
type testDB struct {
	driver string
	cfg    store.Config
}

func (d *testDB) open(t testing.TB) *store.Store {
	t.Helper()
	st, err := store.Open(context.Background(), d.cfg, nil)
	if err != nil {
		t.Fatalf("store.Open(%s): %v", d.driver, err)
	}
	t.Cleanup(func() { st.Close() })
	return st
}

// forEachDriver runs fn once on SQLite and once on PostgreSQL (skipped, or
// failed in CI, without the test cluster of test/infra/up.sh), each with
// a fresh database.
func forEachDriver(t *testing.T, fn func(t *testing.T, d *testDB)) {
	t.Helper()
	for _, driver := range []string{store.DriverSQLite, store.DriverPostgres} {
		t.Run(driver, func(t *testing.T) {
			fn(t, newTestDB(t, driver))
		})
	}
}

func newTestDB(t testing.TB, driver string) *testDB {
	t.Helper()
	d := &testDB{driver: driver}
	switch driver {
	case store.DriverSQLite:
		d.cfg = store.Config{Driver: driver, Path: filepath.Join(t.TempDir(), "rooms.db")}
	case store.DriverPostgres:
		d.cfg = store.Config{Driver: driver, DSN: testenv.PostgresDB(t, "rooms_test_"), MaxOpenConns: 4}
	}
	return d
}

// testOptions are the options of the service under test: Berlin time,
// 10 minutes early, no default tenant.
func testOptions(st *store.Store) Options {
	return Options{
		Store:     st,
		Timezone:  "Europe/Berlin",
		OpenEarly: 10 * time.Minute,
		PublicURL: "https://meet.example.com/_auth/",
		Backends:  []string{"ldap", "demo"},
	}
}

func newService(t testing.TB, st *store.Store, mutate ...func(*Options)) *Service {
	t.Helper()
	opts := testOptions(st)
	for _, m := range mutate {
		m(&opts)
	}
	s, err := New(opts)
	if err != nil {
		t.Fatalf("rooms.New: %v", err)
	}
	return s
}

func mustCreate(t testing.TB, s *Service, spec Spec) *Room {
	t.Helper()
	r, err := s.Create(context.Background(), spec, "test")
	if err != nil {
		t.Fatalf("Create(%q): %v", spec.Name, err)
	}
	return r
}

// berlin is Europe/Berlin, loaded once.
var berlin = func() *time.Location {
	l, err := time.LoadLocation("Europe/Berlin")
	if err != nil {
		panic(err)
	}
	return l
}()

func discardLogger() *slog.Logger { return slog.New(slog.DiscardHandler) }
