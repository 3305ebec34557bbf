//go:build !(linux || darwin || dragonfly || freebsd || netbsd || openbsd)

package spool

import (
	"os"
	"path/filepath"
)

// lockDir only creates dir/LOCK: this platform has no flock(2) in package syscall, so nothing
// stops two processes from opening the same spool. callpulse runs on Linux.
func lockDir(dir string) (*os.File, error) {
	return os.OpenFile(filepath.Join(dir, "LOCK"), os.O_CREATE|os.O_RDWR, 0o640)
}

func unlockDir(f *os.File) error { return f.Close() }
