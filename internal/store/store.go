// Package store is jitsi-gate's database: the room registry, the
// server-side session records and the users' calendar feed addresses. It runs on SQLite (embedded, the default: one
// gateway process, a file next to the config) or PostgreSQL (several
// replicas behind a load balancer share one database).
//
// # Opening
//
//	st, err := store.Open(ctx, store.Config{Driver: "sqlite", Path: "/var/lib/jitsi-gate/store.db"}, logger)
//	st, err := store.Open(ctx, store.Config{Driver: "postgres", DSN: "postgres://gate@db/gate"}, logger)
//	defer st.Close()
//
// Open applies the schema migrations embedded in the binary (migrations/,
// one directory per dialect) before it returns; Migrate and Version are there
// for a `migrate` command. On PostgreSQL, replicas that start at the same time
// take turns through an advisory lock, so each migration runs exactly once.
// Migrations are run by pressly/goose and recorded in the schema_migrations
// table; each runs in its own transaction.
//
// SQLite runs in WAL mode with a busy timeout and foreign keys on. Writes go
// through a single connection (SQLite allows one writer at a time; queuing in
// Go avoids SQLITE_BUSY), reads through a small pool of read-only connections
// that WAL lets run beside the writer. The database file is created 0600. Only
// one process may use a SQLite file; use PostgreSQL for several replicas.
//
// # Behaviour callers can rely on
//
//   - Nothing is cached: every call reads the database, so two processes on
//     one PostgreSQL see each other's writes at once. Callers that want a
//     cache must bound its staleness themselves.
//   - Errors: ErrNotFound, ErrConflict (a room with that tenant and name
//     exists), ErrStale (the room changed since the caller read it),
//     ErrInvalid (the input breaks a rule listed on the type), ErrRevoked and
//     ErrExpired (sessions) are sentinels for errors.Is. Every other error is
//     a database failure, wrapped with what was being done; callers should
//     treat it as "try again later" (HTTP 500/503), never as "no such room".
//   - Times are stored as microseconds since the Unix epoch: every time
//     returned is in UTC and truncated to the microsecond, and the values
//     the store sets (CreatedAt, UpdatedAt, ...) are returned by the call
//     that set them, so the caller never needs to re-read.
//   - Secrets: Room.Password is stored in plain text because Prosody must
//     be handed it; it is redacted by Room's String, GoString and LogValue,
//     and the store never logs it. Session ids are stored only as SHA-256
//     hashes.
//
// # Changing the schema
//
// Add a file NNNNN_what.sql (the next number, goose's "-- +goose Up" and
// "-- +goose Down" sections) to BOTH migrations/sqlite and
// migrations/postgres, with the same number, and never edit a file that
// has been released: databases record which numbers they have applied. The
// whole test suite runs against both drivers, so a migration missing from
// one of them fails it.
//
// The store checks only what it needs to store a record unambiguously (see
// Room and Session). Whether a timezone exists, whether weekly slots
// overlap, whether a name is a valid Jitsi room: that is the caller's
// business (the room service), which can give a better message.
package store

import (
	"context"
	"database/sql"
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/stdlib"
	"github.com/pressly/goose/v3"
	"github.com/pressly/goose/v3/lock"
	"modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"
)

// Drivers accepted in Config.Driver.
const (
	DriverSQLite   = "sqlite"
	DriverPostgres = "postgres"
)

// Sentinel errors; test with errors.Is.
var (
	// ErrNotFound: no record with that id or name.
	ErrNotFound = errors.New("not found")
	// ErrConflict: the write would create a second room with the same
	// tenant and name.
	ErrConflict = errors.New("conflict: a room with this tenant and name already exists")
	// ErrStale: the record's version is not the one the caller expected
	// (someone else changed it in between); re-read and retry.
	ErrStale = errors.New("stale: the record was changed by someone else")
	// ErrInvalid: the input breaks one of the rules documented on its type.
	ErrInvalid = errors.New("invalid")
	// ErrRevoked: the session was revoked (logout, suspension). Session
	// returns the record together with this error.
	ErrRevoked = errors.New("session revoked")
	// ErrExpired: the session's ExpiresAt has passed. Session returns the
	// record together with this error.
	ErrExpired = errors.New("session expired")
)

// Config selects and configures the database.
type Config struct {
	// Driver is DriverSQLite or DriverPostgres.
	Driver string
	// Path is the SQLite database file (sqlite only). It is created with
	// mode 0600 if missing; its directory must exist.
	Path string
	// DSN is the PostgreSQL connection string (postgres only), URL
	// (postgres://user:pass@host:5432/db?sslmode=verify-full) or key=value
	// form. It is never logged.
	DSN string
	// MaxOpenConns bounds the PostgreSQL pool (default 16) and the SQLite
	// read pool (default: the number of CPUs, at least 4). SQLite always
	// writes through one connection.
	MaxOpenConns int
	// SkipMigrations makes Open leave the schema alone (for a migrate
	// command that only reports the version). The other methods fail on a
	// database that is not migrated.
	SkipMigrations bool
	// Now is the clock for CreatedAt, UpdatedAt, session expiry and so on;
	// nil means time.Now. Tests set it.
	Now func() time.Time
}

// Store is an open database. It is safe for concurrent use.
type Store struct {
	driver string
	// write takes every write; read takes the reads. On PostgreSQL both are
	// the same pool; on SQLite write has one connection and read several
	// read-only ones.
	write, read *sql.DB
	migrator    *goose.Provider
	log         *slog.Logger
	now         func() time.Time
	q           queries
	// hot holds the lookups on the /join path as prepared statements (on
	// SQLite, parsing the query costs as much as running it). It is set by
	// Migrate: statements can only be prepared once the tables exist.
	hot atomic.Pointer[hotStatements]
}

// hotStatements are prepared on the read pool.
type hotStatements struct {
	roomByName, roomByID, sessionByHash *sql.Stmt
}

func (h *hotStatements) close() error {
	return errors.Join(h.roomByName.Close(), h.roomByID.Close(), h.sessionByHash.Close())
}

// prepareHot prepares the hot statements once.
func (s *Store) prepareHot(ctx context.Context) error {
	if s.hot.Load() != nil {
		return nil
	}
	var h hotStatements
	var err error
	prep := func(q string) *sql.Stmt {
		if err != nil {
			return nil
		}
		var st *sql.Stmt
		st, err = s.read.PrepareContext(ctx, q)
		return st
	}
	h.roomByName, h.roomByID, h.sessionByHash = prep(s.q.roomByName), prep(s.q.roomByID), prep(s.q.sessionByHash)
	if err != nil {
		for _, st := range []*sql.Stmt{h.roomByName, h.roomByID, h.sessionByHash} {
			if st != nil {
				st.Close()
			}
		}
		return fmt.Errorf("store: prepare statements: %w", err)
	}
	if !s.hot.CompareAndSwap(nil, &h) {
		return h.close() // a concurrent Migrate was first
	}
	return nil
}

// queryRow runs one of the hot queries: prepared when it is ready, else
// (an unmigrated database) as plain text.
func (s *Store) queryRow(ctx context.Context, pick func(*hotStatements) *sql.Stmt, query string, args ...any) *sql.Row {
	if h := s.hot.Load(); h != nil {
		return pick(h).QueryRowContext(ctx, args...)
	}
	return s.read.QueryRowContext(ctx, query, args...)
}

//go:embed migrations
var migrationFiles embed.FS

// migrationTable records the applied migrations (one row per version).
const migrationTable = "schema_migrations"

// sqliteBusyTimeout is how long a SQLite connection waits for a lock held by
// another connection (a backup tool, the sqlite3 shell) before failing.
const sqliteBusyTimeout = 5 * time.Second

// Open opens the database, applies pending migrations (unless
// cfg.SkipMigrations) and checks that it answers. logger may be nil.
func Open(ctx context.Context, cfg Config, logger *slog.Logger) (*Store, error) {
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	s := &Store{driver: cfg.Driver, log: logger.With("component", "store"), now: cfg.Now}
	if s.now == nil {
		s.now = time.Now
	}
	var dialect goose.Dialect
	var opts []goose.ProviderOption
	switch cfg.Driver {
	case DriverSQLite:
		if cfg.DSN != "" {
			return nil, fmt.Errorf("store: sqlite takes path, not dsn")
		}
		path, err := s.openSQLite(ctx, cfg)
		if err != nil {
			return nil, err
		}
		dialect = goose.DialectSQLite3
		opts = append(opts, goose.WithSessionLocker(&sqliteMigrationLock{path: path}))
	case DriverPostgres:
		if cfg.Path != "" {
			return nil, fmt.Errorf("store: postgres takes dsn, not path")
		}
		if err := s.openPostgres(ctx, cfg); err != nil {
			return nil, err
		}
		dialect = goose.DialectPostgres
		// Replicas starting together: the first takes the advisory lock and
		// migrates, the others poll once a second (for up to 10 minutes: a
		// long migration on a big database) and then find nothing to do.
		locker, err := lock.NewPostgresSessionLocker(lock.WithLockTimeout(1, 600))
		if err != nil {
			s.closeDBs()
			return nil, fmt.Errorf("store: migration lock: %w", err)
		}
		opts = append(opts, goose.WithSessionLocker(locker))
	case "":
		return nil, fmt.Errorf("store: no driver configured (want %q or %q)", DriverSQLite, DriverPostgres)
	default:
		return nil, fmt.Errorf("store: unknown driver %q (want %q or %q)", cfg.Driver, DriverSQLite, DriverPostgres)
	}
	s.q = buildQueries(cfg.Driver)

	dir, err := fs.Sub(migrationFiles, "migrations/"+cfg.Driver)
	if err != nil {
		s.closeDBs()
		return nil, fmt.Errorf("store: migrations for %s: %w", cfg.Driver, err)
	}
	opts = append(opts, goose.WithTableName(migrationTable), goose.WithDisableGlobalRegistry(true))
	s.migrator, err = goose.NewProvider(dialect, s.write, dir, opts...)
	if err != nil {
		s.closeDBs()
		return nil, fmt.Errorf("store: load migrations: %w", err)
	}
	if !cfg.SkipMigrations {
		if err := s.Migrate(ctx); err != nil {
			s.closeDBs()
			return nil, err
		}
	}
	return s, nil
}

// openSQLite opens the two pools and returns the database file's absolute
// path.
func (s *Store) openSQLite(ctx context.Context, cfg Config) (string, error) {
	if cfg.Path == "" {
		return "", fmt.Errorf("store: sqlite needs a path (the database file)")
	}
	path, err := filepath.Abs(cfg.Path)
	if err != nil {
		return "", fmt.Errorf("store: sqlite path %q: %w", cfg.Path, err)
	}
	// The driver reads connection options after a '?'.
	if strings.ContainsRune(path, '?') {
		return "", fmt.Errorf("store: sqlite path %q: must not contain '?'", cfg.Path)
	}
	if fi, err := os.Stat(filepath.Dir(path)); err != nil || !fi.IsDir() {
		return "", fmt.Errorf("store: sqlite path %q: directory %s does not exist", cfg.Path, filepath.Dir(path))
	}
	// Create the file ourselves so that it is 0600 (SQLite would use 0644).
	// SQLite gives the -wal and -shm files the same mode as the database.
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return "", fmt.Errorf("store: sqlite database %s: %w", path, err)
	}
	fi, statErr := f.Stat()
	if err := f.Close(); err != nil {
		return "", fmt.Errorf("store: sqlite database %s: %w", path, err)
	}
	if statErr == nil && fi.Mode().Perm()&0o077 != 0 {
		s.log.Warn("store: the database file is readable by other users; it holds room passwords",
			"path", path, "mode", fi.Mode().Perm().String())
	}

	busy := strconv.FormatInt(sqliteBusyTimeout.Milliseconds(), 10)
	// _txlock=immediate: a write transaction takes the write lock at BEGIN,
	// so two writers queue instead of one failing with SQLITE_BUSY when it
	// upgrades from reading. synchronous=NORMAL is durable in WAL mode except
	// for the last transactions on power loss, and much faster.
	writeDSN := path + "?_busy_timeout=" + busy + "&_journal_mode=WAL&_synchronous=NORMAL&_foreign_keys=1&_txlock=immediate"
	readDSN := path + "?_busy_timeout=" + busy + "&_foreign_keys=1&_query_only=1"

	s.write, err = sql.Open("sqlite", writeDSN)
	if err != nil {
		return "", fmt.Errorf("store: open sqlite %s: %w", path, err)
	}
	s.write.SetMaxOpenConns(1)
	s.write.SetMaxIdleConns(1)
	s.write.SetConnMaxIdleTime(0)
	s.write.SetConnMaxLifetime(0)
	// The first connection switches the file to WAL before any reader opens.
	if err := s.write.PingContext(ctx); err != nil {
		s.write.Close()
		return "", fmt.Errorf("store: open sqlite %s: %w", path, err)
	}

	readers := cfg.MaxOpenConns
	if readers <= 0 {
		readers = max(4, runtime.NumCPU())
	}
	s.read, err = sql.Open("sqlite", readDSN)
	if err != nil {
		s.write.Close()
		return "", fmt.Errorf("store: open sqlite %s: %w", path, err)
	}
	s.read.SetMaxOpenConns(readers)
	s.read.SetMaxIdleConns(readers)
	if err := s.read.PingContext(ctx); err != nil {
		s.closeDBs()
		return "", fmt.Errorf("store: open sqlite %s: %w", path, err)
	}
	s.log.Info("store: opened sqlite", "path", path)
	return path, nil
}

func (s *Store) openPostgres(ctx context.Context, cfg Config) error {
	if cfg.DSN == "" {
		return fmt.Errorf("store: postgres needs a dsn")
	}
	conf, err := pgx.ParseConfig(cfg.DSN)
	if err != nil {
		// pgx's message redacts the password but may echo the rest.
		return fmt.Errorf("store: postgres dsn: %w", err)
	}
	db := stdlib.OpenDB(*conf)
	conns := cfg.MaxOpenConns
	if conns <= 0 {
		conns = 16
	}
	db.SetMaxOpenConns(conns)
	// Keep the pool warm: the /join path must not pay for a TCP + auth
	// handshake after a quiet minute.
	db.SetMaxIdleConns(conns)
	db.SetConnMaxIdleTime(5 * time.Minute)
	db.SetConnMaxLifetime(time.Hour)
	if err := db.PingContext(ctx); err != nil {
		db.Close()
		return fmt.Errorf("store: connect to postgres %s:%d/%s: %w", conf.Host, conf.Port, conf.Database, err)
	}
	s.write, s.read = db, db
	s.log.Info("store: connected to postgres", "host", conf.Host, "port", conf.Port, "database", conf.Database)
	return nil
}

// Migrate applies every embedded migration the database does not have yet,
// each in its own transaction, and logs what it applied. It is safe to call
// on an up-to-date database and, on PostgreSQL, from several processes at
// once.
func (s *Store) Migrate(ctx context.Context) error {
	results, err := s.migrator.Up(ctx)
	for _, r := range results {
		if r.Error == nil {
			s.log.Info("store: applied migration", "file", r.Source.Path, "version", r.Source.Version, "took", r.Duration)
		}
	}
	if err != nil {
		return fmt.Errorf("store: migrate %s schema: %w", s.driver, err)
	}
	current, err := s.Version(ctx)
	if err != nil {
		return err
	}
	if err := s.prepareHot(ctx); err != nil {
		return err
	}
	if latest := s.LatestVersion(); current > latest {
		// An older binary on a newer schema: fine during a rolling upgrade
		// (migrations only add), worth a line when it lasts.
		s.log.Warn("store: the database schema is newer than this jitsi-gate",
			"schema_version", current, "known_version", latest)
	}
	return nil
}

// Version returns the highest migration version recorded in the database
// (0 for an empty database).
func (s *Store) Version(ctx context.Context) (int64, error) {
	v, err := s.migrator.GetDBVersion(ctx)
	if err != nil {
		return 0, fmt.Errorf("store: read schema version: %w", err)
	}
	return v, nil
}

// LatestVersion returns the newest migration version embedded in this
// binary: the version Migrate brings the database to.
func (s *Store) LatestVersion() int64 {
	var latest int64
	for _, src := range s.migrator.ListSources() {
		latest = max(latest, src.Version)
	}
	return latest
}

// Driver returns DriverSQLite or DriverPostgres.
func (s *Store) Driver() string { return s.driver }

// Ping checks that the database answers (for /readyz).
func (s *Store) Ping(ctx context.Context) error {
	if err := s.read.PingContext(ctx); err != nil {
		return fmt.Errorf("store: ping %s: %w", s.driver, err)
	}
	return nil
}

// Close closes the database. On SQLite it checkpoints the WAL into the main
// file.
func (s *Store) Close() error {
	return s.closeDBs()
}

func (s *Store) closeDBs() error {
	var errs []error
	if h := s.hot.Swap(nil); h != nil {
		errs = append(errs, h.close())
	}
	if s.read != nil && s.read != s.write {
		errs = append(errs, s.read.Close())
	}
	if s.write != nil {
		errs = append(errs, s.write.Close())
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("store: close: %w", err)
	}
	return nil
}

// isUniqueViolation reports whether err is a UNIQUE (or primary key)
// constraint failure in either dialect.
func isUniqueViolation(err error) bool {
	var se *sqlite.Error
	if errors.As(err, &se) {
		return se.Code() == sqlite3.SQLITE_CONSTRAINT_UNIQUE || se.Code() == sqlite3.SQLITE_CONSTRAINT_PRIMARYKEY
	}
	var pe *pgconn.PgError
	if errors.As(err, &pe) {
		return pe.Code == "23505" // unique_violation
	}
	return false
}

// rollback ends a transaction that is being abandoned; its error is of no
// interest (the transaction failed already, or was committed).
func rollback(tx *sql.Tx) { _ = tx.Rollback() }

// dbTime converts a time to the stored form (µs since the epoch); the zero
// time is NULL.
func dbTime(t time.Time) sql.NullInt64 {
	if t.IsZero() {
		return sql.NullInt64{}
	}
	return sql.NullInt64{Int64: t.UnixMicro(), Valid: true}
}

// goTime converts a stored time back; NULL is the zero time.
func goTime(v sql.NullInt64) time.Time {
	if !v.Valid {
		return time.Time{}
	}
	return time.UnixMicro(v.Int64).UTC()
}

// truncTime is t as the store will return it after a round trip.
func truncTime(t time.Time) time.Time {
	if t.IsZero() {
		return time.Time{}
	}
	return time.UnixMicro(t.UnixMicro()).UTC()
}

// rebind turns the '?' placeholders of a query into PostgreSQL's $1, $2...
// Queries are written once with '?'; none contains a literal '?'.
func rebind(driver, query string) string {
	if driver != DriverPostgres {
		return query
	}
	var b strings.Builder
	b.Grow(len(query) + 16)
	n := 0
	for _, r := range query {
		if r == '?' {
			n++
			b.WriteByte('$')
			b.WriteString(strconv.Itoa(n))
			continue
		}
		b.WriteRune(r)
	}
	return b.String()
}
