package realio

import (
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"cloudkafka/core"
	"cloudkafka/io/coordtest"
)

// zooKeeperClasspath is where Debian's zookeeper package puts the server.
const zooKeeperClasspath = "/etc/zookeeper/conf:/usr/share/java/zookeeper.jar"

// zkServer is a standalone ZooKeeper server started for a test.
type zkServer struct {
	addr string
	cmd  *exec.Cmd
	log  string
}

// startZooKeeper starts Debian's ZooKeeper server on a free loopback
// port with its data in a temporary directory, and stops it when the
// test ends. Without it (or java) the test fails under CI=true, where
// make deps installs it, and is skipped elsewhere.
func startZooKeeper(t *testing.T) *zkServer {
	t.Helper()
	java, err := exec.LookPath("java")
	if err == nil {
		_, err = os.Stat("/usr/share/java/zookeeper.jar")
	}
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("ZooKeeper (Debian package zookeeper) is required under CI=true (make deps installs it): %v", err)
		}
		t.Skipf("ZooKeeper is not installed (run make deps): %v", err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := ln.Addr().(*net.TCPAddr).Port
	ln.Close()
	dir := t.TempDir()
	s := &zkServer{addr: fmt.Sprintf("127.0.0.1:%d", port), log: filepath.Join(dir, "zookeeper.log")}
	logFile, err := os.Create(s.log)
	if err != nil {
		t.Fatal(err)
	}
	// ZooKeeperServerMain: port, data directory, tick time (ms), max client connections.
	s.cmd = exec.Command(java, "-Xmx256m", "-Dzookeeper.admin.enableServer=false", "-Dzookeeper.4lw.commands.whitelist=*",
		"-cp", zooKeeperClasspath, "org.apache.zookeeper.server.ZooKeeperServerMain",
		fmt.Sprint(port), filepath.Join(dir, "data"), "500", "200")
	s.cmd.Stdout, s.cmd.Stderr = logFile, logFile
	if err := s.cmd.Start(); err != nil {
		t.Fatalf("starting ZooKeeper: %v", err)
	}
	t.Cleanup(func() {
		s.cmd.Process.Kill()
		s.cmd.Wait()
		logFile.Close()
		if t.Failed() {
			if out, err := os.ReadFile(s.log); err == nil {
				t.Logf("ZooKeeper's output (the last 4 KiB):\n%s", tail(out, 4<<10))
			}
		}
	})
	deadline := time.Now().Add(60 * time.Second)
	for {
		if ruok(s.addr) {
			return s
		}
		if time.Now().After(deadline) {
			out, _ := os.ReadFile(s.log)
			t.Fatalf("ZooKeeper on %s did not answer ruok within 60s:\n%s", s.addr, tail(out, 4<<10))
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// ruok asks the four-letter "ruok" command.
func ruok(addr string) bool {
	c, err := net.DialTimeout("tcp", addr, time.Second)
	if err != nil {
		return false
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(2 * time.Second))
	if _, err := c.Write([]byte("ruok")); err != nil {
		return false
	}
	buf := make([]byte, 4)
	n, _ := c.Read(buf)
	return string(buf[:n]) == "imok"
}

func tail(b []byte, n int) []byte {
	if len(b) > n {
		return b[len(b)-n:]
	}
	return b
}

// zkStore runs the conformance suite on a real ZooKeeper: each store is
// a fresh chroot, each session a client connection of its own.
type zkStore struct {
	server *zkServer
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
	z, err := DialZooKeeper(ZooKeeperConfig{Connect: s.server.addr + s.chroot, SessionTimeout: 6 * time.Second,
		OnWatch: func(path string, typ core.CoordWatchType) {
			sess.mu.Lock()
			sess.inbox = append(sess.inbox, coordtest.Watch{Path: path, Type: typ})
			sess.cond.Broadcast()
			sess.mu.Unlock()
		}}, t.Logf)
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
	server := startZooKeeper(t)
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
	server := startZooKeeper(t)
	z, err := DialZooKeeper(ZooKeeperConfig{Connect: server.addr + "/kafka/prod", SessionTimeout: 6 * time.Second}, t.Logf)
	if err != nil {
		t.Fatalf("DialZooKeeper with a chroot: %v", err)
	}
	defer z.Close()
	res := z.Apply(core.CoordOp{Kind: core.CoordCreate, Path: "/brokers/seqid/s", Parents: true, Sequential: true})
	if res.Err != nil || res.Path != "/brokers/seqid/s0000000000" {
		t.Fatalf("sequential create under a chroot: got %q, %v; want /brokers/seqid/s0000000000", res.Path, res.Err)
	}
	root, err := DialZooKeeper(ZooKeeperConfig{Connect: server.addr, SessionTimeout: 6 * time.Second}, t.Logf)
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
