//go:build linux || darwin || dragonfly || freebsd || netbsd || openbsd

package spool

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"syscall"
)

const lockName = "LOCK"

// lockDir takes an exclusive, non-blocking flock on dir/LOCK so that two
// processes (or two Opens in one process) never write the same spool. The
// kernel drops the lock when the process dies, so a crash leaves no stale
// lock behind.
func lockDir(dir string) (*os.File, error) {
	f, err := os.OpenFile(filepath.Join(dir, lockName), os.O_CREATE|os.O_RDWR, 0o640)
	if err != nil {
		return nil, fmt.Errorf("lock spool directory: %w", err)
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		f.Close()
		if errors.Is(err, syscall.EWOULDBLOCK) {
			return nil, fmt.Errorf("lock spool directory %s: already open by another Spool", dir)
		}
		return nil, fmt.Errorf("lock spool directory: %w", err)
	}
	return f, nil
}

// unlockDir releases the lock taken by lockDir.
func unlockDir(f *os.File) error { return f.Close() }
