package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/twmb/franz-go/pkg/kfake"
)

const (
	brokerStartTimeout = 15 * time.Second
	brokerStopTimeout  = 10 * time.Second
)

// benchTarget is one target of the produce, group and legacy suites,
// started once and kept up until every run on it is done.
type benchTarget struct {
	kind  string // one of allTargets
	label string // what the tables call it: kind, or cloudkafka@host:port for -brokers
	seeds []string
	stop  func()
	// cpu reads the CPU time the target's process has used; nil when
	// the target is not a process of its own (kfake and the sink run
	// inside ckbench, -brokers is another's).
	cpu func() (time.Duration, error)
	// proc is the broker process and dir its temporary directory (its
	// log.dirs is a subdirectory) when ckbench started it; else nil
	// and "".
	proc *brokerProc
	dir  string
	// queuedStatus is what the broker said of queued.max.request.bytes
	// at start (overrideStatus); "" when it was not passed.
	queuedStatus string
	// rssResetFailed is set once resetting the peak RSS failed: the
	// peaks are then since the broker started.
	rssResetFailed bool
}

// startTarget starts (or, with -brokers, names) the target of kind.
func startTarget(ctx context.Context, o options, kind string) (*benchTarget, error) {
	switch {
	case kind == targetKfake:
		c, err := kfake.NewCluster(kfake.NumBrokers(1))
		if err != nil {
			return nil, fmt.Errorf("starting kfake: %w", err)
		}
		return &benchTarget{kind: kind, label: kind, seeds: c.ListenAddrs(), stop: c.Close}, nil
	case kind == targetSink:
		s, err := startSink()
		if err != nil {
			return nil, err
		}
		return &benchTarget{kind: kind, label: kind, seeds: []string{s.addr()}, stop: s.close}, nil
	case o.brokers != "" && kind == targetCloudKafka:
		return &benchTarget{kind: kind, label: kind + "@" + o.brokers, seeds: splitList(o.brokers), stop: func() {}}, nil
	default:
		var overrides []string
		if kind == targetDurable {
			overrides = durableOverrides
		}
		if o.queuedMaxRequestBytes == 0 {
			return startBrokerTarget(ctx, o, kind, overrides)
		}
		t, err := startBrokerTarget(ctx, o, kind, append(overrides, fmt.Sprintf("queued.max.request.bytes=%d", o.queuedMaxRequestBytes)))
		if err != nil {
			return nil, err
		}
		t.queuedStatus = overrideStatus(tailFile(t.proc.logf.Name()), "queued.max.request.bytes")
		return t, nil
	}
}

// startBroker starts a Cloud Kafka broker as startBrokerTarget does,
// for the suites that need only its address, a way to stop it and its
// CPU time.
func startBroker(ctx context.Context, o options) ([]string, func(), func() (time.Duration, error), error) {
	t, err := startBrokerTarget(ctx, o, targetCloudKafka, nil)
	if err != nil {
		return nil, nil, nil, err
	}
	return t.seeds, t.stop, t.cpu, nil
}

// startBrokerTarget builds (unless -broker-bin) and runs a Cloud Kafka
// broker on a free loopback port with a temporary data directory and
// the given overrides.
func startBrokerTarget(ctx context.Context, o options, kind string, overrides []string) (*benchTarget, error) {
	dir, err := os.MkdirTemp("", "ckbench-")
	if err != nil {
		return nil, err
	}
	bin, err := brokerBinary(ctx, o, dir)
	if err != nil {
		os.RemoveAll(dir)
		return nil, err
	}
	addr, err := freeAddr()
	if err != nil {
		os.RemoveAll(dir)
		return nil, err
	}
	p, err := startBrokerProc(bin, dir, "broker", addr, append([]string{"num.partitions=1"}, overrides...), o)
	if err != nil {
		os.RemoveAll(dir)
		return nil, err
	}
	return &benchTarget{kind: kind, label: kind, seeds: []string{addr}, stop: func() { p.stop(); os.RemoveAll(dir) },
		cpu: p.cpu, proc: p, dir: dir}, nil
}

// brokerBinary is -broker-bin, or ./cmd/cloudkafka built into dir.
func brokerBinary(ctx context.Context, o options, dir string) (string, error) {
	if o.brokerBin != "" {
		return o.brokerBin, nil
	}
	bin := filepath.Join(dir, "cloudkafka")
	root, err := moduleRoot()
	if err != nil {
		return "", err
	}
	build := exec.CommandContext(ctx, "go", "build", "-o", bin, "./cmd/cloudkafka")
	build.Dir = root
	if out, err := build.CombinedOutput(); err != nil {
		return "", fmt.Errorf("building the broker: %w\n%s", err, out)
	}
	return bin, nil
}

// brokerProc is one broker process.
type brokerProc struct {
	cmd    *exec.Cmd
	logf   *os.File
	exited chan struct{} // closed once the process has been waited for
	err    error         // cmd.Wait's result, set before exited closes
}

// startBrokerProc runs bin listening on addr with log.dirs dir/name and
// its output appended to dir/name.log, the given overrides (key=value)
// and then -broker-overrides, and waits until it accepts connections.
// A broker started again with the same dir, name and addr is the same
// broker restarted. dir is the caller's to remove.
func startBrokerProc(bin, dir, name, addr string, overrides []string, o options) (*brokerProc, error) {
	overrides = append([]string{
		"listeners=PLAINTEXT://" + addr,
		"log.dirs=" + filepath.Join(dir, name),
		// A group that was empty rebalances at once, as kfake's do.
		"group.initial.rebalance.delay.ms=0",
	}, overrides...)
	var args []string
	for _, kv := range append(overrides, splitList(o.brokerArgs)...) {
		args = append(args, "--override", kv)
	}
	p, err := spawnBroker(bin, args, filepath.Join(dir, name+".log"), o.brokerLogOut)
	if err != nil {
		return nil, err
	}
	if err := waitListening(addr, p); err != nil {
		p.stop()
		return nil, fmt.Errorf("%w; broker log was %s", err, tailFile(p.logf.Name()))
	}
	return p, nil
}

// spawnBroker starts bin with args, its output appended to logPath (and
// copied to stderr if logOut), without waiting for it to listen.
func spawnBroker(bin string, args []string, logPath string, logOut bool) (*brokerProc, error) {
	logf, err := os.OpenFile(logPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return nil, err
	}
	p := &brokerProc{cmd: exec.Command(bin, args...), logf: logf, exited: make(chan struct{})}
	var logw io.Writer = logf
	if logOut {
		logw = io.MultiWriter(logf, os.Stderr)
	}
	p.cmd.Stdout, p.cmd.Stderr = logw, logw
	if err := p.cmd.Start(); err != nil {
		logf.Close()
		return nil, fmt.Errorf("starting %s: %w", bin, err)
	}
	go func() {
		p.err = p.cmd.Wait()
		close(p.exited)
	}()
	return p, nil
}

// stop sends SIGTERM and waits, then SIGKILL if the broker does not exit
// within brokerStopTimeout. Stopping a broker that has exited does
// nothing.
func (p *brokerProc) stop() {
	select {
	case <-p.exited:
	default:
		p.cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-p.exited:
		case <-time.After(brokerStopTimeout):
			fmt.Fprintf(os.Stderr, "ckbench: broker did not exit %v after SIGTERM; killing it\n", brokerStopTimeout)
			p.cmd.Process.Kill()
			<-p.exited
		}
	}
	p.logf.Close()
}

// cpu is the CPU time (user and system) the broker process has used so
// far, from /proc/<pid>/stat (Linux).
func (p *brokerProc) cpu() (time.Duration, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", p.cmd.Process.Pid))
	if err != nil {
		return 0, err
	}
	return procCPU(string(b))
}

// clockTicks is the kernel's USER_HZ, the unit of /proc's CPU times: 100
// on every Linux architecture Go runs on.
const clockTicks = 100

// procCPU reads utime and stime (fields 14 and 15) of a /proc/<pid>/stat
// line; the command name (field 2, in parentheses) may hold spaces.
func procCPU(stat string) (time.Duration, error) {
	i := strings.LastIndexByte(stat, ')')
	if i < 0 {
		return 0, fmt.Errorf("/proc stat %q: no command name", stat)
	}
	fields := strings.Fields(stat[i+1:]) // from field 3 (state) on
	if len(fields) < 13 {
		return 0, fmt.Errorf("/proc stat %q: %d fields after the name; want at least 13", stat, len(fields))
	}
	var ticks int64
	for _, f := range fields[11:13] {
		n, err := strconv.ParseInt(f, 10, 64)
		if err != nil {
			return 0, fmt.Errorf("/proc stat %q: %v", stat, err)
		}
		ticks += n
	}
	return time.Duration(ticks) * time.Second / clockTicks, nil
}

// kill sends SIGKILL, as a crash would end the broker, and waits for the
// process. The log file stays open for stop.
func (p *brokerProc) kill() {
	p.cmd.Process.Kill()
	<-p.exited
}

// waitListening polls until addr accepts a TCP connection, the process
// exits, or brokerStartTimeout passes.
func waitListening(addr string, p *brokerProc) error {
	deadline := time.Now().Add(brokerStartTimeout)
	for time.Now().Before(deadline) {
		select {
		case <-p.exited:
			return fmt.Errorf("broker exited before listening on %s: %v", addr, p.err)
		default:
		}
		c, err := net.DialTimeout("tcp", addr, 200*time.Millisecond)
		if err == nil {
			c.Close()
			return nil
		}
		time.Sleep(50 * time.Millisecond)
	}
	return fmt.Errorf("broker did not accept TCP connections on %s within %v", addr, brokerStartTimeout)
}

func freeAddr() (string, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", fmt.Errorf("finding a free port: %w", err)
	}
	defer l.Close()
	return l.Addr().String(), nil
}

// moduleRoot finds the directory of go.mod, from which ./cmd/cloudkafka builds.
func moduleRoot() (string, error) {
	out, err := exec.Command("go", "env", "GOMOD").Output()
	if err != nil {
		return "", fmt.Errorf("go env GOMOD: %w", err)
	}
	mod := strings.TrimSpace(string(out))
	if mod == "" || mod == os.DevNull {
		return "", errors.New("not inside the cloudkafka module: run ckbench from the repository, or pass -broker-bin or -brokers")
	}
	return filepath.Dir(mod), nil
}

func tailFile(path string) string {
	b, err := os.ReadFile(path)
	if err != nil {
		return "(unreadable: " + err.Error() + ")"
	}
	if len(b) > 4000 {
		b = b[len(b)-4000:]
	}
	return "\n" + string(b)
}

func roundLatency(d time.Duration) time.Duration {
	switch {
	case d >= 10*time.Millisecond:
		return d.Round(time.Millisecond)
	case d >= 10*time.Microsecond:
		return d.Round(time.Microsecond)
	default:
		return d
	}
}
