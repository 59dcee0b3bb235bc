package store

import (
	"context"
	"fmt"
	"os"
	"strings"
	"syscall"
	"testing"
)

// TestMigrationLockKeepsSQLiteLocks: after Open has migrated (taking and
// releasing the migration lock), SQLite's connections of this process still
// hold their POSIX lock on the database file. A lock taken on the database
// file itself would drop it on close (POSIX drops every lock of a process
// on a file when any of its descriptors closes), and another process could
// then remove the WAL while this one uses it. /proc/locks is Linux's list.
func TestMigrationLockKeepsSQLiteLocks(t *testing.T) {
	d := newTestDB(t, DriverSQLite)
	s := d.open(t)
	if _, err := s.RoomByName(context.Background(), "", "no-such-room"); err == nil {
		t.Fatal("want not found")
	}
	fi, err := os.Stat(d.cfg.Path)
	if err != nil {
		t.Fatal(err)
	}
	ino := fi.Sys().(*syscall.Stat_t).Ino
	locks, err := os.ReadFile("/proc/locks")
	if err != nil {
		t.Skipf("no /proc/locks: %v", err)
	}
	pid, n := fmt.Sprint(os.Getpid()), 0
	for _, line := range strings.Split(string(locks), "\n") {
		f := strings.Fields(line)
		// 1: POSIX  ADVISORY  READ 1234 08:01:123456 128 128
		if len(f) >= 6 && f[1] == "POSIX" && f[4] == pid && strings.HasSuffix(f[5], fmt.Sprintf(":%d", ino)) {
			n++
		}
	}
	if n == 0 {
		t.Errorf("this process holds no POSIX lock on %s after Open; SQLite's locks were dropped", d.cfg.Path)
	}
	if _, err := os.Stat(d.cfg.Path + "-migrate.lock"); err != nil {
		t.Errorf("migration lock file: %v", err)
	}
}
