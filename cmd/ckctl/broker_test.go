package main

// The tests run ckctl in-process against a real broker: TestMain builds the
// cloudkafka binary once, and startBroker runs it as a process on a free
// loopback port with its own data directory. Every wait is bounded and says what it
// waited for.

import (
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"

	"cloudkafka/internal/testaddr"
)

const (
	brokerStartTimeout = 15 * time.Second
	brokerStopTimeout  = 15 * time.Second
	// logTailBytes is how much of the broker's log a failed test shows.
	logTailBytes = 16 << 10
)

// brokerBin is the broker binary that TestMain built.
var brokerBin string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "ckctl-test-")
	if err != nil {
		fmt.Fprintf(os.Stderr, "ckctl tests: creating a directory for the broker binary: %v\n", err)
		os.Exit(1)
	}
	brokerBin = filepath.Join(dir, "cloudkafka")
	build := exec.Command("go", "build", "-o", brokerBin, "cloudkafka/cmd/cloudkafka")
	if out, err := build.CombinedOutput(); err != nil {
		fmt.Fprintf(os.Stderr, "ckctl tests: go build cloudkafka/cmd/cloudkafka failed: %v\n%s", err, out)
		os.RemoveAll(dir)
		os.Exit(1)
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// startBroker starts a broker process with a fresh data directory and
// returns its address. Each override is a key=value broker property. The
// broker is stopped when the test ends, and its log shown if the test
// failed.
func startBroker(t *testing.T, overrides ...string) string {
	t.Helper()
	addr, _ := startBrokerStoppable(t, overrides...)
	return addr
}

// startBrokerStoppable is startBroker, with a function that kills the
// broker before the test ends (SIGKILL: no controlled shutdown).
func startBrokerStoppable(t *testing.T, overrides ...string) (string, func()) {
	t.Helper()
	return startBrokerAt(t, freeAddr(t), overrides...)
}

// freeAddr is a loopback address whose port is free now. Another process
// could take it before the broker binds it; that shows as a start failure.
func freeAddr(t *testing.T) string { return testaddr.Free(t) }

// startBrokerAt is startBrokerStoppable with a PLAINTEXT listener at
// addr. An override of listeners may add others; it must keep that one,
// which the start waits for.
func startBrokerAt(t *testing.T, addr string, overrides ...string) (string, func()) {
	t.Helper()
	args := []string{
		"--override", "listeners=PLAINTEXT://" + addr,
		"--override", "log.dirs=" + filepath.Join(t.TempDir(), "data"),
	}
	for _, kv := range overrides {
		args = append(args, "--override", kv)
	}
	logPath := filepath.Join(t.TempDir(), "broker.log")
	f, err := os.Create(logPath)
	if err != nil {
		t.Fatalf("creating the broker log: %v", err)
	}
	cmd := exec.Command(brokerBin, args...)
	cmd.Stdout, cmd.Stderr = f, f
	if err := cmd.Start(); err != nil {
		f.Close()
		t.Fatalf("starting %s %s: %v", brokerBin, strings.Join(args, " "), err)
	}
	exited := make(chan struct{})
	var waitErr error
	go func() {
		waitErr = cmd.Wait() // published by closing exited
		close(exited)
	}()
	t.Cleanup(func() {
		cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-exited:
		case <-time.After(brokerStopTimeout):
			cmd.Process.Signal(syscall.SIGKILL)
			<-exited
			t.Errorf("broker %s: no exit within %v of SIGTERM; killed it", addr, brokerStopTimeout)
		}
		f.Close()
		if t.Failed() {
			t.Logf("broker %s log:\n%s", addr, logTail(logPath))
		}
	})
	waitListening(t, addr, exited, &waitErr, logPath)
	return addr, func() {
		cmd.Process.Signal(syscall.SIGKILL)
		<-exited
	}
}

// waitListening polls every 50 ms until addr accepts a TCP connection,
// failing the test if the process exits or the time runs out.
func waitListening(t *testing.T, addr string, exited chan struct{}, waitErr *error, logPath string) {
	t.Helper()
	deadline := time.Now().Add(brokerStartTimeout)
	for {
		select {
		case <-exited:
			t.Fatalf("broker exited before accepting connections on %s: %v\n%s", addr, *waitErr, logTail(logPath))
		default:
		}
		c, err := net.DialTimeout("tcp", addr, 200*time.Millisecond)
		if err == nil {
			c.Close()
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("waited %v for the broker to accept TCP connections on %s; last dial error: %v\n%s",
				brokerStartTimeout, addr, err, logTail(logPath))
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func logTail(path string) string {
	data, err := os.ReadFile(path)
	if err != nil {
		return fmt.Sprintf("(reading %s: %v)", path, err)
	}
	if len(data) > logTailBytes {
		return fmt.Sprintf("(last %d bytes)\n%s", logTailBytes, data[len(data)-logTailBytes:])
	}
	return string(data)
}

// testClient returns a franz-go client for addr, closed when the test ends.
func testClient(t *testing.T, addr string, opts ...kgo.Opt) *kgo.Client {
	t.Helper()
	cl, err := kgo.NewClient(append([]kgo.Opt{kgo.SeedBrokers(addr)}, opts...)...)
	if err != nil {
		t.Fatalf("creating a franz-go client: %v", err)
	}
	t.Cleanup(cl.Close)
	return cl
}

func testAdmin(t *testing.T, addr string) *kadm.Client {
	t.Helper()
	return kadm.NewClient(testClient(t, addr))
}

// bounded returns a context that ends after d, cancelled when the test ends.
func bounded(t *testing.T, d time.Duration) context.Context {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), d)
	t.Cleanup(cancel)
	return ctx
}
