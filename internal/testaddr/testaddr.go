// Package testaddr hands tests free loopback addresses for the brokers
// they start.
package testaddr

import (
	"net"
	"sync"
	"testing"
)

// handedOut holds the addresses Free returned.
var (
	mu        sync.Mutex
	handedOut = map[string]bool{}
)

// Free returns a loopback address with a free port, never one it
// returned before in this process: the system may give a port just
// closed again, and two listeners of one broker on one port fail.
func Free(t testing.TB) string {
	t.Helper()
	mu.Lock()
	defer mu.Unlock()
	for range 100 {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatalf("finding a free port: %v", err)
		}
		addr := l.Addr().String()
		l.Close()
		if !handedOut[addr] {
			handedOut[addr] = true
			return addr
		}
	}
	t.Fatal("finding a free port: every port offered was handed out already")
	return ""
}
