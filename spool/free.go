package spool

import "syscall"

// DiskReserve is the free space on the spool's file system that appends
// leave untouched: room for the consumers' cursor files (written to a
// temporary file and renamed), whose commits are what let segments be
// deleted. Without it a backlog that fills the disk could never be freed:
// every cursor commit would fail with ENOSPC.
const DiskReserve = 64 << 10

// freeBytes is the space available to this process on dir's file system,
// -1 if unknown.
func freeBytes(dir string) int64 {
	var st syscall.Statfs_t
	if err := syscall.Statfs(dir, &st); err != nil {
		return -1
	}
	return int64(st.Bavail) * int64(st.Bsize)
}
