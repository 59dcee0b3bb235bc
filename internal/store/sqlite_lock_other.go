//go:build !(linux || darwin || freebsd || netbsd || openbsd || dragonfly)

package store

import (
	"os"
	"sync"
)

// Without flock(2), migrations are serialised within this process only
// (SQLite files are for one process anyway).
var (
	lockedFilesMu sync.Mutex
	lockedFiles   = map[string]bool{}
)

func tryLockFile(f *os.File) (bool, error) {
	lockedFilesMu.Lock()
	defer lockedFilesMu.Unlock()
	if lockedFiles[f.Name()] {
		return false, nil
	}
	lockedFiles[f.Name()] = true
	return true, nil
}

func unlockFile(f *os.File) error {
	lockedFilesMu.Lock()
	defer lockedFilesMu.Unlock()
	delete(lockedFiles, f.Name())
	return nil
}
