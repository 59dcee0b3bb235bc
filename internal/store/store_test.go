package store

import (
	"bytes"
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"
)

func TestMigrateRecordsVersion(t *testing.T) {
	forEachDriver(t, func(t *testing.T, d *testDB) {
		ctx := context.Background()
		s := d.open(t)
		latest := s.LatestVersion()
		if latest < 1 {
			t.Fatalf("LatestVersion() = %d: no migrations embedded", latest)
		}
		v, err := s.Version(ctx)
		if err != nil || v != latest {
			t.Fatalf("Version() = %d, %v; want %d", v, err, latest)
		}
		// Migrating an up-to-date database does nothing.
		if err := s.Migrate(ctx); err != nil {
			t.Fatalf("second Migrate: %v", err)
		}
		var applied int
		q := rebind(s.driver, "SELECT COUNT(*) FROM "+migrationTable+" WHERE version_id = ? AND is_applied")
		if err := s.write.QueryRowContext(ctx, q, latest).Scan(&applied); err != nil {
			t.Fatalf("read %s: %v", migrationTable, err)
		}
		if applied != 1 {
			t.Errorf("%s has %d rows for version %d, want 1", migrationTable, applied, latest)
		}
	})
}

func TestSkipMigrations(t *testing.T) {
	forEachDriver(t, func(t *testing.T, d *testDB) {
		ctx := context.Background()
		cfg := d.cfg
		cfg.SkipMigrations = true
		s, err := Open(ctx, cfg, nil)
		if err != nil {
			t.Fatal(err)
		}
		defer s.Close()
		if v, err := s.Version(ctx); err != nil || v != 0 {
			t.Errorf("Version() of a new database = %d, %v; want 0", v, err)
		}
		if _, err := s.RoomByName(ctx, "", "x"); err == nil || errors.Is(err, ErrNotFound) {
			t.Errorf("RoomByName on an unmigrated database: %v, want a database error (not ErrNotFound)", err)
		}
		if err := s.Migrate(ctx); err != nil {
			t.Fatal(err)
		}
		if _, err := s.RoomByName(ctx, "", "x"); !errors.Is(err, ErrNotFound) {
			t.Errorf("RoomByName after Migrate: %v, want ErrNotFound", err)
		}
	})
}

// TestMigrationsMatchAcrossDialects: every migration exists for both
// drivers under the same name, so both reach the same version.
func TestMigrationsMatchAcrossDialects(t *testing.T) {
	names := map[string][]string{}
	for _, driver := range []string{DriverSQLite, DriverPostgres} {
		entries, err := fs.ReadDir(migrationFiles, "migrations/"+driver)
		if err != nil {
			t.Fatal(err)
		}
		for _, e := range entries {
			names[driver] = append(names[driver], e.Name())
		}
	}
	if len(names[DriverSQLite]) == 0 || !slices.Equal(names[DriverSQLite], names[DriverPostgres]) {
		t.Errorf("migrations differ: sqlite %v, postgres %v", names[DriverSQLite], names[DriverPostgres])
	}
}

// TestConcurrentMigration: replicas starting at the same moment on one new
// database all come up, and every migration is applied once (advisory lock
// on PostgreSQL, file lock on SQLite). Without the locks most runs fail with
// "table rooms already exists" or a duplicate key in pg_type.
func TestConcurrentMigration(t *testing.T) {
	forEachDriver(t, func(t *testing.T, d *testDB) {
		ctx := context.Background()
		const replicas = 6
		stores := make([]*Store, replicas)
		errs := make([]error, replicas)
		var wg sync.WaitGroup
		start := make(chan struct{})
		for i := range replicas {
			wg.Go(func() {
				<-start
				stores[i], errs[i] = Open(ctx, d.cfg, nil)
			})
		}
		close(start)
		wg.Wait()
		for i, err := range errs {
			if err != nil {
				t.Errorf("replica %d: Open: %v", i, err)
				continue
			}
			defer stores[i].Close()
		}
		if t.Failed() {
			return
		}
		s := stores[0]
		var rows, versions int
		if err := s.write.QueryRowContext(ctx,
			"SELECT COUNT(*), COUNT(DISTINCT version_id) FROM "+migrationTable+" WHERE version_id > 0").Scan(&rows, &versions); err != nil {
			t.Fatal(err)
		}
		// Count the migrations, not the latest number: numbers may have gaps
		// while branches that took the numbers in between are not merged.
		if n := len(s.migrator.ListSources()); rows != n || versions != n {
			t.Errorf("%s: %d rows for %d versions, want each of the %d migrations once", migrationTable, rows, versions, n)
		}
		// All of them work on the one schema.
		for i, st := range stores {
			if _, err := st.CreateRoom(ctx, Room{Name: fmt.Sprint("replica-", i)}); err != nil {
				t.Errorf("replica %d: CreateRoom: %v", i, err)
			}
		}
	})
}

// TestTwoHandlesSeeEachOther: two Stores on one database (two replicas on
// one PostgreSQL) see each other's writes at once: nothing is cached.
func TestTwoHandlesSeeEachOther(t *testing.T) {
	forEachDriver(t, func(t *testing.T, d *testDB) {
		ctx := context.Background()
		a, b := d.open(t), d.open(t)
		if _, err := b.RoomByName(ctx, "", "shared"); !errors.Is(err, ErrNotFound) {
			t.Fatalf("before create: %v, want ErrNotFound", err)
		}
		created, err := a.CreateRoom(ctx, Room{Name: "shared", Password: "pw1"})
		if err != nil {
			t.Fatal(err)
		}
		got, err := b.RoomByName(ctx, "", "shared")
		if err != nil || got.ID != created.ID || got.Password != "pw1" {
			t.Fatalf("b after a's create: %+v, %v", got, err)
		}
		got.Password = "pw2"
		updated, err := b.UpdateRoom(ctx, got, got.Version)
		if err != nil {
			t.Fatal(err)
		}
		if again, err := a.RoomByName(ctx, "", "shared"); err != nil || again.Password != "pw2" || again.Version != updated.Version {
			t.Errorf("a after b's update: %+v, %v", again, err)
		}
		if _, err := a.UpdateRoom(ctx, created, created.Version); !errors.Is(err, ErrStale) {
			t.Errorf("a's update with the version it read: %v, want ErrStale", err)
		}

		sess, err := a.CreateSession(ctx, Session{Backend: "ldap", Subject: "u", ExpiresAt: d.clock.Now().Add(time.Hour)})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := b.Session(ctx, sess.ID); err != nil {
			t.Errorf("b reads a's session: %v", err)
		}
		if err := b.RevokeSession(ctx, sess.ID); err != nil {
			t.Fatal(err)
		}
		if _, err := a.Session(ctx, sess.ID); !errors.Is(err, ErrRevoked) {
			t.Errorf("a after b's logout: %v, want ErrRevoked", err)
		}

		if err := a.DeleteRoom(ctx, created.ID); err != nil {
			t.Fatal(err)
		}
		if _, err := b.Room(ctx, created.ID); !errors.Is(err, ErrNotFound) {
			t.Errorf("b after a's delete: %v, want ErrNotFound", err)
		}
	})
}

// TestSQLiteSurvivesReopen: the data is in the file, which only its owner
// can read.
func TestSQLiteSurvivesReopen(t *testing.T) {
	d := newTestDB(t, DriverSQLite)
	ctx := context.Background()
	s, err := Open(ctx, d.cfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	room, err := s.CreateRoom(ctx, fullRoom())
	if err != nil {
		t.Fatal(err)
	}
	sess, err := s.CreateSession(ctx, Session{Backend: "b", Subject: "s", ExpiresAt: d.clock.Now().Add(time.Hour)})
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range []string{d.cfg.Path, d.cfg.Path + "-wal"} {
		fi, err := os.Stat(f)
		if err != nil {
			t.Fatalf("stat %s: %v", f, err)
		}
		if perm := fi.Mode().Perm(); perm != 0o600 {
			t.Errorf("%s has mode %v, want 0600 (it holds room passwords)", filepath.Base(f), perm)
		}
	}
	if err := s.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}

	s2 := d.open(t)
	got, err := s2.RoomByName(ctx, room.Tenant, room.Name)
	if err != nil {
		t.Fatalf("after reopen: %v", err)
	}
	if got.String() != room.String() || got.Password != room.Password {
		t.Errorf("after reopen:\n%v\nwant\n%v", got, room)
	}
	if _, err := s2.Session(ctx, sess.ID); err != nil {
		t.Errorf("session after reopen: %v", err)
	}
}

func TestSQLiteConnectionSettings(t *testing.T) {
	d := newTestDB(t, DriverSQLite)
	s := d.open(t)
	ctx := context.Background()
	pools := []struct {
		name string
		db   *sql.DB
	}{{"write", s.write}, {"read", s.read}}
	for _, tt := range []struct{ pragma, want string }{
		{"journal_mode", "wal"},
		{"foreign_keys", "1"},
		{"busy_timeout", "5000"},
	} {
		for _, p := range pools {
			var got string
			if err := p.db.QueryRowContext(ctx, "PRAGMA "+tt.pragma).Scan(&got); err != nil {
				t.Fatalf("%s pool: PRAGMA %s: %v", p.name, tt.pragma, err)
			}
			if got != tt.want {
				t.Errorf("%s pool: PRAGMA %s = %s, want %s", p.name, tt.pragma, got, tt.want)
			}
		}
	}
	if got := s.write.Stats().MaxOpenConnections; got != 1 {
		t.Errorf("write pool allows %d connections, want 1 (SQLite has one writer)", got)
	}
	if _, err := s.read.ExecContext(ctx, "DELETE FROM rooms"); err == nil {
		t.Error("the read pool accepted a write")
	}
}

func TestOpenErrors(t *testing.T) {
	dir := t.TempDir()
	tests := []struct {
		name string
		cfg  Config
		want string
	}{
		{"no driver", Config{}, "no driver configured"},
		{"unknown driver", Config{Driver: "mysql"}, `unknown driver "mysql"`},
		{"sqlite without path", Config{Driver: DriverSQLite}, "sqlite needs a path"},
		{"sqlite with dsn", Config{Driver: DriverSQLite, DSN: "x", Path: "y"}, "sqlite takes path, not dsn"},
		{"sqlite in a missing directory", Config{Driver: DriverSQLite, Path: filepath.Join(dir, "nope", "db")}, "does not exist"},
		{"sqlite path with ?", Config{Driver: DriverSQLite, Path: filepath.Join(dir, "a?b")}, "must not contain '?'"},
		{"sqlite path is a directory", Config{Driver: DriverSQLite, Path: dir}, "sqlite database"},
		{"postgres without dsn", Config{Driver: DriverPostgres}, "postgres needs a dsn"},
		{"postgres with path", Config{Driver: DriverPostgres, Path: "x", DSN: "y"}, "postgres takes dsn, not path"},
		{"postgres bad dsn", Config{Driver: DriverPostgres, DSN: "postgres://u:hunter2@127.0.0.1:notaport/db"}, "postgres dsn"},
		// Port 1 on the loopback: nothing listens there.
		{"postgres unreachable", Config{Driver: DriverPostgres, DSN: "postgres://u:hunter2@127.0.0.1:1/db?connect_timeout=5"}, "connect to postgres 127.0.0.1:1/db"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var logged bytes.Buffer
			s, err := Open(context.Background(), tt.cfg, slog.New(slog.NewTextHandler(&logged, nil)))
			if err == nil {
				s.Close()
				t.Fatalf("Open succeeded, want an error containing %q", tt.want)
			}
			if !strings.Contains(err.Error(), tt.want) {
				t.Errorf("Open: %v, want it to contain %q", err, tt.want)
			}
			if strings.Contains(err.Error()+logged.String(), "hunter2") {
				t.Errorf("the password leaked: %v / %s", err, logged.String())
			}
		})
	}
}

// BenchmarkRoomByName is the /join and reservation hot path: one room
// looked up among 2,000.
func BenchmarkRoomByName(b *testing.B) {
	for _, driver := range []string{DriverSQLite, DriverPostgres} {
		b.Run(driver, func(b *testing.B) {
			d := newTestDB(b, driver)
			s := d.open(b)
			ctx := context.Background()
			rooms := make([]Room, 2000)
			for i := range rooms {
				rooms[i] = fullRoom()
				rooms[i].Name = fmt.Sprintf("room-%04d", i)
			}
			if _, err := s.ImportRooms(ctx, rooms); err != nil {
				b.Fatal(err)
			}
			b.Run("serial", func(b *testing.B) {
				i := 0
				for b.Loop() {
					if _, err := s.RoomByName(ctx, "school1", rooms[i%len(rooms)].Name); err != nil {
						b.Fatal(err)
					}
					i++
				}
			})
			b.Run("parallel", func(b *testing.B) {
				b.RunParallel(func(pb *testing.PB) {
					i := 0
					for pb.Next() {
						if _, err := s.RoomByName(ctx, "school1", rooms[i%len(rooms)].Name); err != nil {
							b.Error(err)
							return
						}
						i += 7
					}
				})
			})
			b.Run("missing", func(b *testing.B) {
				for b.Loop() {
					if _, err := s.RoomByName(ctx, "school1", "no-such-room"); !errors.Is(err, ErrNotFound) {
						b.Fatal(err)
					}
				}
			})
		})
	}
}
