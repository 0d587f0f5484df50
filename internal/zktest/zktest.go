// Package zktest starts a real ZooKeeper server (Debian's zookeeper
// package) for tests: standalone, on a free loopback port, with its data
// in the test's temporary directory.
package zktest

import (
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

// zooKeeperClasspath is where Debian's zookeeper package puts the server.
const zooKeeperClasspath = "/etc/zookeeper/conf:/usr/share/java/zookeeper.jar"

// Server is a standalone ZooKeeper server started for a test.
type Server struct {
	Addr string
	cmd  *exec.Cmd
	log  string
	stop sync.Once
}

// Require checks that Debian's ZooKeeper server and java are installed
// and returns java's path. Without them the test fails under CI=true,
// where make deps installs them, and is skipped elsewhere.
func Require(t *testing.T) string {
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
	return java
}

// Start starts Debian's ZooKeeper server on a free loopback port with
// its data in a temporary directory, and stops it when the test ends.
func Start(t *testing.T) *Server {
	t.Helper()
	Require(t)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := ln.Addr().(*net.TCPAddr).Port
	ln.Close()
	return StartOn(t, port)
}

// StartOn starts the server on a given loopback port (for a test that
// had clients wait for it there).
func StartOn(t *testing.T, port int) *Server {
	t.Helper()
	java := Require(t)
	dir := t.TempDir()
	s := &Server{Addr: fmt.Sprintf("127.0.0.1:%d", port), log: filepath.Join(dir, "zookeeper.log")}
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
		s.Stop()
		logFile.Close()
		if t.Failed() {
			if out, err := os.ReadFile(s.log); err == nil {
				t.Logf("ZooKeeper's output (the last 4 KiB):\n%s", tail(out, 4<<10))
			}
		}
	})
	deadline := time.Now().Add(60 * time.Second)
	for {
		if ruok(s.Addr) {
			return s
		}
		if time.Now().After(deadline) {
			out, _ := os.ReadFile(s.log)
			t.Fatalf("ZooKeeper on %s did not answer ruok within 60s:\n%s", s.Addr, tail(out, 4<<10))
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// Stop kills the server (its sessions die with it: a server started
// afresh on the port knows none of them). Stopping twice is fine.
func (s *Server) Stop() {
	s.stop.Do(func() {
		s.cmd.Process.Kill()
		s.cmd.Wait()
	})
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

// ZkCli is Debian's ZooKeeper shell.
const ZkCli = "/usr/share/zookeeper/bin/zkCli.sh"

// Cli runs one zkCli.sh command (as "get", "/brokers/ids/1") against the
// server, as an operator would, and returns the lines it printed (its
// connection notices come first or interleaved: callers pick the lines
// of the command's output by their shape).
func (s *Server) Cli(t *testing.T, args ...string) []string {
	t.Helper()
	cmd := exec.Command(ZkCli, append([]string{"-server", s.Addr}, args...)...)
	timer := time.AfterFunc(30*time.Second, func() { cmd.Process.Kill() })
	defer timer.Stop()
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("zkCli.sh %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return strings.Split(strings.TrimRight(string(out), "\n"), "\n")
}
