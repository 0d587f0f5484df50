package realio

import (
	"errors"
	"fmt"
	"net"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"cloudkafka/core"
	"cloudkafka/internal/zktest"
	"cloudkafka/io/coordtest"
)

// zkStore runs the conformance suite on a real ZooKeeper: each store is
// a fresh chroot, each session a client connection of its own.
type zkStore struct {
	server *zktest.Server
	chroot string
}

type zkSession struct {
	z     *ZooKeeper
	mu    sync.Mutex
	cond  *sync.Cond
	inbox []coordtest.Watch
}

var zkStores atomic.Int64

func (s *zkStore) Session(t *testing.T) coordtest.Session {
	t.Helper()
	sess := &zkSession{}
	sess.cond = sync.NewCond(&sess.mu)
	z, err := DialZooKeeper(ZooKeeperConfig{Connect: s.server.Addr + s.chroot, SessionTimeout: 6 * time.Second,
		OnWatch: func(path string, typ core.CoordWatchType) {
			sess.mu.Lock()
			sess.inbox = append(sess.inbox, coordtest.Watch{Path: path, Type: typ})
			sess.cond.Broadcast()
			sess.mu.Unlock()
		}}, nil)
	if err != nil {
		t.Fatalf("DialZooKeeper: %v", err)
	}
	sess.z = z
	t.Cleanup(z.Close)
	return sess
}

func (s *zkSession) ID() int64                           { return s.z.SessionID() }
func (s *zkSession) Do(op core.CoordOp) core.CoordResult { return s.z.Apply(op) }
func (s *zkSession) Expire(*testing.T)                   { s.z.Close() }

// Watches waits up to 5 s for want notifications, then 200 ms more for
// any that should not come.
func (s *zkSession) Watches(t *testing.T, want int) []coordtest.Watch {
	deadline := time.Now().Add(5 * time.Second)
	s.mu.Lock()
	for len(s.inbox) < want && time.Now().Before(deadline) {
		s.mu.Unlock()
		time.Sleep(10 * time.Millisecond)
		s.mu.Lock()
	}
	s.mu.Unlock()
	time.Sleep(200 * time.Millisecond)
	s.mu.Lock()
	defer s.mu.Unlock()
	got := s.inbox
	s.inbox = nil
	return got
}

// TestZooKeeperConformance: the ZooKeeper client passes the coordination
// port's conformance suite against a real server, the same scenarios as
// the in-memory tree the simulator uses (io's TestZTreeConformance).
func TestZooKeeperConformance(t *testing.T) {
	server := zktest.Start(t)
	coordtest.Run(t, func(t *testing.T) coordtest.Store {
		return &zkStore{server: server, chroot: fmt.Sprintf("/conformance-%d", zkStores.Add(1))}
	})
}

// TestZooKeeperConnectErrors: a malformed zookeeper.connect is refused
// with a message naming it, and an unreachable ensemble fails within the
// connection timeout.
func TestZooKeeperConnectErrors(t *testing.T) {
	for _, connect := range []string{"", "a:1,,b:2", "h:1/bad/", "h:1/a//b"} {
		if _, err := DialZooKeeper(ZooKeeperConfig{Connect: connect, SessionTimeout: time.Second}, nil); err == nil || !strings.Contains(err.Error(), "zookeeper.connect") {
			t.Errorf("zookeeper.connect %q: got %v; want an error naming zookeeper.connect", connect, err)
		}
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close() // nothing listens there now
	start := time.Now()
	_, err = DialZooKeeper(ZooKeeperConfig{Connect: addr, SessionTimeout: 6 * time.Second, ConnectionTimeout: 500 * time.Millisecond}, nil)
	if err == nil || !strings.Contains(err.Error(), "zookeeper.connection.timeout.ms") {
		t.Errorf("an unreachable ensemble: got %v; want a connection timeout error", err)
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Errorf("an unreachable ensemble: DialZooKeeper took %s; want about the 500ms connection timeout", d)
	}
}

// TestZooKeeperChroot: nodes created under a chroot live below it on the
// server, and paths come back relative to it.
func TestZooKeeperChroot(t *testing.T) {
	server := zktest.Start(t)
	z, err := DialZooKeeper(ZooKeeperConfig{Connect: server.Addr + "/kafka/prod", SessionTimeout: 6 * time.Second}, nil)
	if err != nil {
		t.Fatalf("DialZooKeeper with a chroot: %v", err)
	}
	defer z.Close()
	res := z.Apply(core.CoordOp{Kind: core.CoordCreate, Path: "/brokers/seqid/s", Parents: true, Sequential: true})
	if res.Err != nil || res.Path != "/brokers/seqid/s0000000000" {
		t.Fatalf("sequential create under a chroot: got %q, %v; want /brokers/seqid/s0000000000", res.Path, res.Err)
	}
	root, err := DialZooKeeper(ZooKeeperConfig{Connect: server.Addr, SessionTimeout: 6 * time.Second}, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer root.Close()
	if res := root.Apply(core.CoordOp{Kind: core.CoordExists, Path: "/kafka/prod/brokers/seqid/s0000000000"}); res.Err != nil {
		t.Errorf("the node seen without the chroot: %v", res.Err)
	}
	if res := root.Apply(core.CoordOp{Kind: core.CoordExists, Path: "/brokers"}); !errors.Is(res.Err, core.ErrCoordNoNode) {
		t.Errorf("/brokers outside the chroot: got %v; want NoNode", res.Err)
	}
}
