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
	"strings"
	"syscall"
	"text/tabwriter"
	"time"

	"github.com/twmb/franz-go/pkg/kfake"
)

const (
	brokerStartTimeout = 15 * time.Second
	brokerStopTimeout  = 10 * time.Second
)

// startTarget returns the seed brokers of target and a function that stops
// whatever startTarget started.
func startTarget(ctx context.Context, o options, target string) ([]string, func(), error) {
	switch {
	case target == targetKfake:
		c, err := kfake.NewCluster(kfake.NumBrokers(1))
		if err != nil {
			return nil, nil, fmt.Errorf("starting kfake: %w", err)
		}
		return c.ListenAddrs(), c.Close, nil
	case o.brokers != "":
		return splitList(o.brokers), func() {}, nil
	default:
		return startBroker(ctx, o)
	}
}

// startBroker builds (unless -broker-bin) and runs a Cloud Kafka broker on a
// free loopback port with a temporary data directory.
func startBroker(ctx context.Context, o options) ([]string, func(), error) {
	dir, err := os.MkdirTemp("", "ckbench-")
	if err != nil {
		return nil, nil, err
	}
	bin, err := brokerBinary(ctx, o, dir)
	if err != nil {
		os.RemoveAll(dir)
		return nil, nil, err
	}
	addr, stop, err := runBroker(bin, dir, "broker", []string{"num.partitions=1"}, o)
	if err != nil {
		os.RemoveAll(dir)
		return nil, nil, err
	}
	return []string{addr}, func() { stop(); os.RemoveAll(dir) }, nil
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

// runBroker runs bin on a free loopback port (startBrokerProc) and
// returns its address and a function that stops it (brokerProc.stop).
func runBroker(bin, dir, name string, overrides []string, o options) (string, func(), error) {
	addr, err := freeAddr()
	if err != nil {
		return "", nil, err
	}
	p, err := startBrokerProc(bin, dir, name, addr, overrides, o)
	if err != nil {
		return "", nil, err
	}
	return addr, p.stop, nil
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

// printTable prints one row per result, with the ratio of records/s to the
// kfake row of the same cell when there is one.
func printTable(w io.Writer, results []result) {
	ref := map[cell]result{}
	for _, r := range results {
		if r.target == targetKfake {
			ref[r.cell] = r
		}
	}
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "target\tsize\tacks\tpartitions\trecords/s\tMB/s\tp50\tp99\tconsume rec/s\tproduce vs kfake\tconsume vs kfake\t")
	for _, r := range results {
		prodRatio, consRatio := "-", "-"
		if k, ok := ref[r.cell]; ok {
			prodRatio = fmt.Sprintf("%.2f", r.produceRate()/k.produceRate())
			consRatio = fmt.Sprintf("%.2f", r.consumeRate()/k.consumeRate())
		}
		fmt.Fprintf(tw, "%s\t%d B\t%s\t%d\t%.0f\t%.1f\t%s\t%s\t%.0f\t%s\t%s\t\n",
			r.target, r.cell.size, r.cell.acks, r.cell.partitions, r.produceRate(), r.produceMBps(),
			roundLatency(r.latencyP50), roundLatency(r.latencyP99), r.consumeRate(), prodRatio, consRatio)
	}
	tw.Flush()
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
