package main

// The end-to-end harness: TestMain builds the broker binary once, and
// startBroker runs it as a real process on a free loopback port with its own
// data directory. Tests drive it with production Kafka clients (franz-go,
// sarama, kafka-go, kcat, confluent-kafka-python) and check what comes back.
//
// Every wait here is bounded and says what it waited for.

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"sort"
	"strconv"
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
	dir, err := os.MkdirTemp("", "cloudkafka-e2e-")
	if err != nil {
		fmt.Fprintf(os.Stderr, "e2e: creating a directory for the broker binary: %v\n", err)
		os.Exit(1)
	}
	brokerBin = filepath.Join(dir, "cloudkafka")
	build := exec.Command("go", "build", "-o", brokerBin, ".")
	if out, err := build.CombinedOutput(); err != nil {
		fmt.Fprintf(os.Stderr, "e2e: go build -o %s . failed: %v\n%s", brokerBin, err, out)
		os.RemoveAll(dir)
		os.Exit(1)
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// broker is one broker process under test. It is driven from the test's
// goroutine only.
type broker struct {
	t       *testing.T
	addr    string   // host:port of the PLAINTEXT listener
	dataDir string   // log.dirs; survives Kill and Restart
	args    []string // command line, the same for every start
	logDir  string
	starts  int // processes started so far; names the log files

	cmd     *exec.Cmd
	logFile *os.File
	exited  chan struct{} // closed when the current process has exited
	waitErr error         // the process's exit status, valid after exited
}

// startBroker starts a broker with a fresh data directory on a free port.
// Each override is a key=value Kafka property. The broker is stopped when the
// test ends, and its log is shown if the test failed.
func startBroker(t *testing.T, overrides ...string) *broker {
	t.Helper()
	return startBrokerAt(t, freeAddr(t), overrides...)
}

// startBrokerAt is startBroker listening on addr, for a test that must
// know the address before the broker starts (to put something in front
// of it, say).
func startBrokerAt(t *testing.T, addr string, overrides ...string) *broker {
	t.Helper()
	b := &broker{
		t:       t,
		addr:    addr,
		dataDir: filepath.Join(t.TempDir(), "data"),
		logDir:  t.TempDir(),
	}
	b.args = []string{
		"--override", "listeners=PLAINTEXT://" + addr,
		"--override", "log.dirs=" + b.dataDir,
	}
	for _, kv := range overrides {
		b.args = append(b.args, "--override", kv)
	}
	t.Cleanup(b.cleanup)
	b.start()
	return b
}

// freeAddr finds a loopback port that is free now. Another process could
// take it before the broker binds it; tests do not run in parallel, so that
// is rare, and it shows as a clear start failure.
func freeAddr(t *testing.T) string { return testaddr.Free(t) }

func (b *broker) start() {
	b.t.Helper()
	b.starts++
	logPath := filepath.Join(b.logDir, fmt.Sprintf("broker-%d.log", b.starts))
	f, err := os.Create(logPath)
	if err != nil {
		b.t.Fatalf("creating the broker log: %v", err)
	}
	cmd := exec.Command(brokerBin, b.args...)
	cmd.Stdout, cmd.Stderr = f, f
	if err := cmd.Start(); err != nil {
		f.Close()
		b.t.Fatalf("starting %s %s: %v", brokerBin, strings.Join(b.args, " "), err)
	}
	b.cmd, b.logFile, b.exited, b.waitErr = cmd, f, make(chan struct{}), nil
	exited := b.exited
	go func() {
		err := cmd.Wait()
		b.waitErr = err // published by closing exited
		close(exited)
	}()
	b.waitListening()
}

// waitListening polls every 50 ms until the listener accepts a TCP
// connection on a socket the broker's own process listens on, failing
// the test if the process exits or the time runs out. Checking the
// owner matters: the address was free when the test picked it, and a
// process of another package's tests may have bound it since, in which
// case the broker cannot start and the dial would reach the other one.
func (b *broker) waitListening() {
	b.t.Helper()
	deadline := time.Now().Add(brokerStartTimeout)
	for {
		select {
		case <-b.exited:
			b.t.Fatalf("broker exited before accepting connections on %s: %v\n%s", b.addr, b.waitErr, b.logTail())
		default:
		}
		c, err := net.DialTimeout("tcp", b.addr, 200*time.Millisecond)
		if err == nil {
			c.Close()
			if err = listensOn(b.cmd.Process.Pid, b.addr); err == nil {
				return
			}
		}
		if time.Now().After(deadline) {
			b.t.Fatalf("waited %v for the broker to accept TCP connections on %s; last dial error: %v\n%s",
				brokerStartTimeout, b.addr, err, b.logTail())
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// listensOn says whether process pid holds the TCP socket listening on
// addr (an IPv4 host:port), from /proc/net/tcp and the process's open
// descriptors.
func listensOn(pid int, addr string) error {
	ap, err := netip.ParseAddrPort(addr)
	if err != nil || !ap.Addr().Is4() {
		return fmt.Errorf("listensOn %s: want an IPv4 address and port", addr)
	}
	ip := ap.Addr().As4()
	// /proc/net/tcp writes the address as the 32-bit word in host
	// (little-endian) order, then the port: 127.0.0.1:9092 is
	// 0100007F:2384. State 0A is LISTEN.
	local := fmt.Sprintf("%02X%02X%02X%02X:%04X", ip[3], ip[2], ip[1], ip[0], ap.Port())
	table, err := os.ReadFile("/proc/net/tcp")
	if err != nil {
		return err
	}
	inode := ""
	for _, line := range strings.Split(string(table), "\n")[1:] {
		f := strings.Fields(line)
		if len(f) > 9 && f[1] == local && f[3] == "0A" {
			inode = f[9]
		}
	}
	if inode == "" {
		return fmt.Errorf("no socket listens on %s", addr)
	}
	fds, err := os.ReadDir(fmt.Sprintf("/proc/%d/fd", pid))
	if err != nil {
		return err
	}
	for _, fd := range fds {
		if l, err := os.Readlink(fmt.Sprintf("/proc/%d/fd/%s", pid, fd.Name())); err == nil && l == "socket:["+inode+"]" {
			return nil
		}
	}
	return fmt.Errorf("another process listens on %s", addr)
}

func (b *broker) running() bool {
	if b.cmd == nil {
		return false
	}
	select {
	case <-b.exited:
		return false
	default:
		return true
	}
}

// Kill sends SIGKILL and waits for the process to be gone.
func (b *broker) Kill() {
	b.t.Helper()
	if !b.running() {
		b.t.Fatalf("Kill: the broker is not running")
	}
	b.cmd.Process.Signal(syscall.SIGKILL)
	select {
	case <-b.exited:
	case <-time.After(brokerStopTimeout):
		b.t.Fatalf("waited %v for the broker to die after SIGKILL", brokerStopTimeout)
	}
	b.logFile.Close()
}

// killDuringFsync waits, bounded, until one of the broker's threads is
// inside fsync or fdatasync, as /proc/<pid>/task/<tid>/syscall shows,
// then calls before and sends SIGKILL there. It may run on any
// goroutine; waitKilled, on the test's, waits for the process to be
// gone. An error says no thread was seen in an fsync within
// fsyncWaitMax.
func (b *broker) killDuringFsync(before func()) error {
	syncs := fsyncSyscalls[runtime.GOARCH]
	if syncs == nil {
		return fmt.Errorf("killDuringFsync: no fsync syscall numbers known for %s", runtime.GOARCH)
	}
	deadline := time.Now().Add(fsyncWaitMax)
	for polls := 0; ; polls++ {
		if tid, ok := threadInSyscall(b.cmd.Process.Pid, syncs); ok {
			before()
			b.cmd.Process.Signal(syscall.SIGKILL)
			b.t.Logf("SIGKILL while thread %d of the broker was in an fsync (after %d polls)", tid, polls)
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("killDuringFsync: no broker thread seen in fsync or fdatasync within %v (%d polls)", fsyncWaitMax, polls)
		}
	}
}

// waitKilled waits for the process killDuringFsync killed to be gone.
func (b *broker) waitKilled() {
	b.t.Helper()
	select {
	case <-b.exited:
	case <-time.After(brokerStopTimeout):
		b.t.Fatalf("waited %v for the broker to die after SIGKILL", brokerStopTimeout)
	}
	b.logFile.Close()
}

// fsyncWaitMax bounds how long KillDuringFsync looks for an fsync.
const fsyncWaitMax = 20 * time.Second

// fsyncSyscalls are the numbers of fsync and fdatasync per GOARCH.
var fsyncSyscalls = map[string][]int{"amd64": {74, 75}, "arm64": {82, 83}}

// threadInSyscall reports a thread of process pid that is inside one of
// the syscalls nums now.
func threadInSyscall(pid int, nums []int) (int, bool) {
	tasks, err := os.ReadDir(fmt.Sprintf("/proc/%d/task", pid))
	if err != nil {
		return 0, false
	}
	for _, task := range tasks {
		raw, err := os.ReadFile(fmt.Sprintf("/proc/%d/task/%s/syscall", pid, task.Name()))
		if err != nil {
			continue
		}
		fields := strings.Fields(string(raw))
		if len(fields) == 0 {
			continue
		}
		n, err := strconv.Atoi(fields[0])
		if err == nil && slices.Contains(nums, n) {
			tid, _ := strconv.Atoi(task.Name())
			return tid, true
		}
	}
	return 0, false
}

// Stop sends SIGTERM and waits, bounded, for a clean exit (status 0). A
// broker that does not exit in time is killed and the test fails.
func (b *broker) Stop() {
	b.t.Helper()
	if !b.running() {
		b.t.Fatalf("Stop: the broker is not running")
	}
	b.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-b.exited:
		if b.waitErr != nil {
			b.t.Errorf("broker exit after SIGTERM: got %v; want exit status 0", b.waitErr)
		}
	case <-time.After(brokerStopTimeout):
		b.cmd.Process.Signal(syscall.SIGKILL)
		<-b.exited
		b.t.Errorf("broker exit after SIGTERM: got no exit within %v; want exit status 0 (killed it)", brokerStopTimeout)
	}
	b.logFile.Close()
}

// Restart starts the broker again on the same port and data directory. The
// previous process must have been stopped or killed.
func (b *broker) Restart() {
	b.t.Helper()
	if b.running() {
		b.t.Fatalf("Restart: the broker is still running; Stop or Kill it first")
	}
	b.start()
}

func (b *broker) cleanup() {
	if b.running() {
		b.cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-b.exited:
		case <-time.After(brokerStopTimeout):
			b.cmd.Process.Signal(syscall.SIGKILL)
			<-b.exited
		}
		b.logFile.Close()
	}
	if b.t.Failed() {
		b.t.Logf("broker %s, data in %s:\n%s", b.addr, b.dataDir, b.logTail())
	}
}

// logTail returns the end of every log this broker wrote.
func (b *broker) logTail() string {
	var sb strings.Builder
	for i := 1; i <= b.starts; i++ {
		path := filepath.Join(b.logDir, fmt.Sprintf("broker-%d.log", i))
		data, err := os.ReadFile(path)
		if err != nil {
			fmt.Fprintf(&sb, "--- %s: %v\n", path, err)
			continue
		}
		if len(data) > logTailBytes {
			data = data[len(data)-logTailBytes:]
			fmt.Fprintf(&sb, "--- %s (last %d bytes):\n%s\n", path, logTailBytes, data)
			continue
		}
		fmt.Fprintf(&sb, "--- %s:\n%s\n", path, data)
	}
	return sb.String()
}

// ---- franz-go helpers shared by the tests ----

// newClient returns a franz-go client for b, closed when the test ends.
func newClient(t *testing.T, b *broker, opts ...kgo.Opt) *kgo.Client {
	t.Helper()
	cl, err := kgo.NewClient(append([]kgo.Opt{kgo.SeedBrokers(b.addr)}, opts...)...)
	if err != nil {
		t.Fatalf("creating a franz-go client: %v", err)
	}
	t.Cleanup(cl.Close)
	return cl
}

// createTopic creates topic with the given partition count and one replica.
func createTopic(t *testing.T, b *broker, topic string, partitions int32) {
	t.Helper()
	adm := kadm.NewClient(newClient(t, b))
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	resp, err := adm.CreateTopic(ctx, partitions, 1, nil, topic)
	if err != nil {
		t.Fatalf("CreateTopics %s (%d partitions): got error %v (%s); want success", topic, partitions, err, resp.ErrMessage)
	}
	if resp.NumPartitions != partitions && resp.NumPartitions != -1 && resp.NumPartitions != 0 {
		t.Errorf("CreateTopics %s: got %d partitions in the response; want %d", topic, resp.NumPartitions, partitions)
	}
}

// endOffsets returns each partition's high watermark.
func endOffsets(t *testing.T, b *broker, topic string) map[int32]int64 {
	t.Helper()
	adm := kadm.NewClient(newClient(t, b))
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	listed, err := adm.ListEndOffsets(ctx, topic)
	if err != nil {
		t.Fatalf("ListOffsets(latest) %s: %v", topic, err)
	}
	ends := map[int32]int64{}
	var firstErr error
	listed.Each(func(o kadm.ListedOffset) {
		if o.Err != nil && firstErr == nil {
			firstErr = o.Err
		}
		ends[o.Partition] = o.Offset
	})
	if firstErr != nil {
		t.Fatalf("ListOffsets(latest) %s: partition error %v", topic, firstErr)
	}
	if len(ends) == 0 {
		t.Fatalf("ListOffsets(latest) %s: got no partitions; want at least one", topic)
	}
	return ends
}

// seen is a record as a consumer returned it.
type seen struct {
	partition int32
	offset    int64
	key       []byte
	value     []byte
	headers   []kgo.RecordHeader
}

// consumeAll reads every partition of topic from the start, without a
// consumer group, up to the high watermarks that ListOffsets reports now.
func consumeAll(t *testing.T, b *broker, topic string, timeout time.Duration) []seen {
	t.Helper()
	ends := endOffsets(t, b, topic)
	assign := map[int32]kgo.Offset{}
	for p := range ends {
		assign[p] = kgo.NewOffset().AtStart()
	}
	cl := newClient(t, b, kgo.ConsumePartitions(map[string]map[int32]kgo.Offset{topic: assign}),
		kgo.FetchMaxWait(500*time.Millisecond))
	defer cl.Close()
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	next := map[int32]int64{} // the offset after the last record seen, per partition
	var out []seen
	for !caughtUp(next, ends) {
		fetches := cl.PollFetches(ctx)
		if ctx.Err() != nil {
			t.Fatalf("consuming %s: waited %v; got through %v; want high watermarks %v", topic, timeout, next, ends)
		}
		for _, fe := range fetches.Errors() {
			t.Fatalf("consuming %s partition %d: got error %v; want none", topic, fe.Partition, fe.Err)
		}
		fetches.EachRecord(func(r *kgo.Record) {
			out = append(out, seen{r.Partition, r.Offset, r.Key, r.Value, r.Headers})
			next[r.Partition] = r.Offset + 1
		})
	}
	return out
}

func caughtUp(next, ends map[int32]int64) bool {
	for p, end := range ends {
		if next[p] < end {
			return false
		}
	}
	return true
}

// ---- checking what came back ----

// pos is where a record was acknowledged: a partition and an offset.
type pos struct {
	partition int32
	offset    int64
}

// seqValue encodes a sequence number in a record value; parseSeq reads it
// back. The tag keeps records of different runs apart.
func seqValue(tag string, seq int) string { return fmt.Sprintf("%s %09d", tag, seq) }

func parseSeq(tag string, value []byte) (int, bool) {
	rest, ok := bytes.CutPrefix(value, []byte(tag+" "))
	if !ok || len(rest) < 9 {
		return 0, false
	}
	n, err := strconv.Atoi(string(rest[:9]))
	return n, err == nil
}

// expect says what a log must hold.
type expect struct {
	tag string
	// acked maps each acknowledged sequence number to where the producer was
	// told it landed; an offset of -1 means the client did not report one.
	acked map[int]pos
	// exactly, when positive, says the log holds sequence numbers
	// 0..exactly-1 and nothing else.
	exactly int
	// value, when set, gives the full expected value of a sequence number
	// (values may carry more than the sequence number).
	value func(seq int) string
}

// problems collects check failures and reports the first few of them.
type problems struct {
	t     testing.TB
	count int
}

const problemsShown = 20

func (p *problems) add(format string, args ...any) {
	p.t.Helper()
	p.count++
	if p.count <= problemsShown {
		p.t.Errorf(format, args...)
	}
}

func (p *problems) done(what string) {
	p.t.Helper()
	if p.count > problemsShown {
		p.t.Errorf("%s: %d problems in all; showed the first %d", what, p.count, problemsShown)
	}
}

// checkLog checks a consumed log: offsets contiguous from 0 in every
// partition, sequence numbers increasing within a partition (one producer
// keeps order per partition), no sequence number twice, every acknowledged
// record present where its acknowledgement said.
func checkLog(t testing.TB, what string, got []seen, want expect) map[int]pos {
	t.Helper()
	p := &problems{t: t}
	at := map[int]pos{}
	next := map[int32]int64{}
	lastSeq := map[int32]int{}
	for _, r := range got {
		if r.offset != next[r.partition] {
			p.add("%s: partition %d: got offset %d; want %d (offsets contiguous from 0)", what, r.partition, r.offset, next[r.partition])
		}
		next[r.partition] = r.offset + 1
		seq, ok := parseSeq(want.tag, r.value)
		if !ok {
			p.add("%s: partition %d offset %d: got value %.60q; want %q followed by a sequence number", what, r.partition, r.offset, r.value, want.tag)
			continue
		}
		if want.value != nil && string(r.value) != want.value(seq) {
			p.add("%s: seq %d: got value %.80q; want %.80q", what, seq, r.value, want.value(seq))
		}
		if prev, ok := at[seq]; ok {
			p.add("%s: seq %d: got it twice, at %d/%d and %d/%d; want it once", what, seq, prev.partition, prev.offset, r.partition, r.offset)
		}
		at[seq] = pos{r.partition, r.offset}
		if last, ok := lastSeq[r.partition]; ok && seq <= last {
			p.add("%s: partition %d offset %d: got seq %d after seq %d; want increasing (producer order)", what, r.partition, r.offset, seq, last)
		}
		lastSeq[r.partition] = seq
	}
	for _, seq := range sortedSeqs(want.acked) {
		a := want.acked[seq]
		g, ok := at[seq]
		switch {
		case !ok:
			p.add("%s: acknowledged seq %d (partition %d offset %d): got nothing; want it in the log", what, seq, a.partition, a.offset)
		case g.partition != a.partition || (a.offset >= 0 && g.offset != a.offset):
			p.add("%s: seq %d: got partition %d offset %d; want partition %d offset %d as acknowledged", what, seq, g.partition, g.offset, a.partition, a.offset)
		}
	}
	if want.exactly > 0 {
		if len(got) != want.exactly {
			p.add("%s: got %d records; want %d", what, len(got), want.exactly)
		}
		for seq := 0; seq < want.exactly; seq++ {
			if _, ok := at[seq]; !ok {
				p.add("%s: seq %d: got nothing; want it in the log", what, seq)
			}
		}
	}
	p.done(what)
	return at
}

func sortedSeqs(m map[int]pos) []int {
	s := make([]int, 0, len(m))
	for k := range m {
		s = append(s, k)
	}
	sort.Ints(s)
	return s
}

// ---- external tools ----

// requireTool reports a missing external tool: fatal under CI=true, where
// scripts/deps.sh must have installed it, and a skip elsewhere.
func requireTool(t *testing.T, what string, err error) {
	t.Helper()
	if err == nil {
		return
	}
	if os.Getenv("CI") == "true" {
		t.Fatalf("%s is required under CI=true (make deps installs it): %v", what, err)
	}
	t.Skipf("%s is not available (run make deps): %v", what, err)
}

// runTool runs an external command with stdin, bounded by timeout, and
// returns its standard output; a non-zero exit fails the test.
func runTool(t *testing.T, timeout time.Duration, stdin string, name string, args ...string) string {
	t.Helper()
	stdout, stderr, err := runToolStatus(t, timeout, stdin, name, args...)
	if err != nil {
		t.Fatalf("%s %s: got %v; want exit status 0; stderr:\n%s", name, strings.Join(args, " "), err, stderr)
	}
	if stderr != "" {
		t.Logf("%s stderr:\n%s", name, stderr)
	}
	return stdout
}

// runToolStatus runs an external command with stdin, bounded by
// timeout, and returns both outputs and its exit status (a non-zero one
// is no failure here); running past timeout fails the test.
func runToolStatus(t *testing.T, timeout time.Duration, stdin string, name string, args ...string) (stdout, stderr string, err error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, name, args...)
	cmd.Stdin = strings.NewReader(stdin)
	var out, errOut bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errOut
	err = cmd.Run()
	if errors.Is(ctx.Err(), context.DeadlineExceeded) {
		t.Fatalf("%s %s: still running after %v; stderr:\n%s", name, strings.Join(args, " "), timeout, errOut.String())
	}
	return out.String(), errOut.String(), err
}

// errorRecorder is a testing.TB that keeps Errorf messages instead of
// failing, so that a test can check that a checker fails when it should.
type errorRecorder struct {
	testing.TB
	errs []string
}

func (r *errorRecorder) Helper() {}

func (r *errorRecorder) Errorf(format string, args ...any) {
	r.errs = append(r.errs, fmt.Sprintf(format, args...))
}

// TestCheckLogCatchesFaults is the canary for checkLog: each planted fault
// must be reported, and the clean log must not be.
func TestCheckLogCatchesFaults(t *testing.T) {
	const tag = "canary"
	rec := func(p int32, o int64, seq int) seen {
		return seen{partition: p, offset: o, value: []byte(seqValue(tag, seq))}
	}
	clean := []seen{rec(0, 0, 0), rec(1, 0, 1), rec(0, 1, 2), rec(1, 1, 3)}
	acked := map[int]pos{0: {0, 0}, 1: {1, 0}, 2: {0, 1}, 3: {1, 1}}
	tests := []struct {
		name string
		log  []seen
		want string // a fragment of the expected report; empty: no report
	}{
		{"clean", clean, ""},
		{"lost acknowledged record", []seen{rec(0, 0, 0), rec(1, 0, 1), rec(0, 1, 2)}, "acknowledged seq 3"},
		{"offset gap", []seen{rec(0, 0, 0), rec(1, 0, 1), rec(0, 2, 2), rec(1, 1, 3)}, "want 1 (offsets contiguous"},
		{"duplicate", append(append([]seen{}, clean...), rec(0, 2, 2)), "got it twice"},
		{"reordered", []seen{rec(0, 0, 2), rec(1, 0, 1), rec(0, 1, 0), rec(1, 1, 3)}, "want increasing"},
		{"moved", []seen{rec(0, 0, 0), rec(1, 0, 3), rec(0, 1, 2), rec(1, 1, 1)}, "as acknowledged"},
		{"garbage value", []seen{rec(0, 0, 0), rec(1, 0, 1), rec(0, 1, 2), {partition: 1, offset: 1, value: []byte("x")}}, "followed by a sequence number"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := &errorRecorder{TB: t}
			checkLog(r, tt.name, tt.log, expect{tag: tag, acked: acked, exactly: 4})
			report := strings.Join(r.errs, "\n")
			switch {
			case tt.want == "" && report != "":
				t.Errorf("checkLog on a clean log: got report %q; want none", report)
			case tt.want != "" && !strings.Contains(report, tt.want):
				t.Errorf("checkLog: got report %q; want one containing %q", report, tt.want)
			}
		})
	}
}

// TestListensOn: the start check tells the broker's listening socket
// from another process's on the same address.
func TestListensOn(t *testing.T) {
	l, err := net.Listen("tcp", freeAddr(t))
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	if err := listensOn(os.Getpid(), l.Addr().String()); err != nil {
		t.Errorf("listensOn(this process, its listener): %v; want nil", err)
	}
	if err := listensOn(os.Getppid(), l.Addr().String()); err == nil {
		t.Errorf("listensOn(the parent process, this process's listener): nil; want an error")
	}
	if err := listensOn(os.Getpid(), freeAddr(t)); err == nil {
		t.Errorf("listensOn(this process, an address nobody listens on): nil; want an error")
	}
}
