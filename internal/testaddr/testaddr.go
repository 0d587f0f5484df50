// Package testaddr hands tests free loopback addresses for the brokers
// they start.
package testaddr

import (
	"fmt"
	"math/rand/v2"
	"net"
	"os"
	"strconv"
	"strings"
	"sync"
	"testing"
)

// handedOut holds the addresses Free returned.
var (
	mu        sync.Mutex
	handedOut = map[string]bool{}
)

// lowestPort is the bottom of the range Free draws from.
const lowestPort = 10000

// Free returns a loopback address with a free port, never one it
// returned before in this process: two listeners of one broker on one
// port fail. The port is drawn below the system's ephemeral range, so
// that no listener bound to port 0 and no outgoing connection of the
// tests running meanwhile in other processes takes it before the broker
// binds it.
func Free(t testing.TB) string {
	t.Helper()
	mu.Lock()
	defer mu.Unlock()
	top := ephemeralLow() - 1
	for range 1000 {
		addr := fmt.Sprintf("127.0.0.1:%d", lowestPort+rand.IntN(top-lowestPort+1))
		if handedOut[addr] {
			continue
		}
		l, err := net.Listen("tcp", addr)
		if err != nil {
			continue
		}
		l.Close()
		handedOut[addr] = true
		return addr
	}
	t.Fatalf("finding a free port in %d-%d: none of 1000 tried was free", lowestPort, top)
	return ""
}

// ephemeralLow is the lowest port the system hands out for port 0 and
// outgoing connections (Linux's ip_local_port_range), 32768 when it
// cannot be read.
func ephemeralLow() int {
	b, err := os.ReadFile("/proc/sys/net/ipv4/ip_local_port_range")
	if err != nil {
		return 32768
	}
	f := strings.Fields(string(b))
	if len(f) < 1 {
		return 32768
	}
	low, err := strconv.Atoi(f[0])
	if err != nil || low <= lowestPort+1000 {
		return 32768
	}
	return low
}
