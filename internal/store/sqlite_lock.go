package store

import (
	"context"
	"database/sql"
	"fmt"
	"os"
	"time"
)

// sqliteMigrationLock serialises migrations on one SQLite file, like the
// advisory lock does on PostgreSQL, so that two Stores opened on the same
// file at the same moment do not both try to apply a migration. It takes an
// exclusive lock (see tryLockFile) on a file of its own beside the database,
// <database>-migrate.lock, released by the kernel if the process dies. Not
// on the database file: closing any descriptor of that file would drop the
// POSIX locks SQLite's own connections in this process hold on it, and
// another process could then take itself for the last one and remove the
// WAL under them.
type sqliteMigrationLock struct {
	path string // the database file
	f    *os.File
}

// lockPath is the lock file of the database at path.
func (l *sqliteMigrationLock) lockPath() string { return l.path + "-migrate.lock" }

// sqliteLockPoll is how often a waiting Store retries the lock.
const sqliteLockPoll = 20 * time.Millisecond

// sqliteLockTimeout bounds the wait, as on PostgreSQL.
const sqliteLockTimeout = 10 * time.Minute

// SessionLock implements goose's lock.SessionLocker; the connection is not
// needed.
func (l *sqliteMigrationLock) SessionLock(ctx context.Context, _ *sql.Conn) error {
	f, err := os.OpenFile(l.lockPath(), os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return fmt.Errorf("migration lock: %w", err)
	}
	deadline := time.Now().Add(sqliteLockTimeout)
	for {
		ok, err := tryLockFile(f)
		if err != nil {
			f.Close()
			return fmt.Errorf("migration lock on %s: %w", l.path, err)
		}
		if ok {
			l.f = f
			return nil
		}
		if time.Now().After(deadline) {
			f.Close()
			return fmt.Errorf("migration lock on %s: still held by another process after %s", l.path, sqliteLockTimeout)
		}
		select {
		case <-ctx.Done():
			f.Close()
			return fmt.Errorf("migration lock on %s: %w", l.path, ctx.Err())
		case <-time.After(sqliteLockPoll):
		}
	}
}

// SessionUnlock releases the lock taken by SessionLock.
func (l *sqliteMigrationLock) SessionUnlock(context.Context, *sql.Conn) error {
	if l.f == nil {
		return nil
	}
	err := unlockFile(l.f)
	if cerr := l.f.Close(); err == nil {
		err = cerr
	}
	l.f = nil
	if err != nil {
		return fmt.Errorf("migration unlock on %s: %w", l.path, err)
	}
	return nil
}
