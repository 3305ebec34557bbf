// Package freeport finds a free TCP port on loopback for a server a test
// or a tool starts.
package freeport

import (
	"net"
	"testing"
)

// Get returns a port that was free on 127.0.0.1 a moment ago.
func Get() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

// For is Get for a test: it fails t when no port is free.
func For(t testing.TB) int {
	t.Helper()
	p, err := Get()
	if err != nil {
		t.Fatal(err)
	}
	return p
}
