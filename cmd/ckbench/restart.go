package main

import (
	"bufio"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// The restart suite measures how long a broker takes to serve again
// after a restart, against the data it holds: it writes -restart-bytes
// of record values into -restart-partitions partitions (1 MiB batches of
// 64 KiB records, acks=1, as fast as the broker takes them), then times,
// from the process's start until Metadata shows every partition led:
//
//   - as a baseline, a restart after SIGTERM before any data is written;
//   - a restart after SIGTERM (the clean shutdown marker: no log is read);
//   - a restart after SIGKILL of that idle broker (the recovery points
//     checkpointed at its start cover everything);
//   - with -restart-tail-bytes, a restart after SIGKILL right after
//     writing that much more (what lies past the recovery points is
//     checked);
//   - with -restart-full, a restart after SIGTERM with the marker and the
//     recovery point checkpoint removed: every batch is checked, as
//     every start did before the checkpoints.
//
// The page cache is warm for each (the data was just written or read),
// or, with -restart-cold, emptied of the data before each start, as
// after a reboot; the broker's own log says what each start trusted and
// checked.

const suiteRestart = "restart"

// restartOpts are the suite's flags.
var restartOpts struct {
	bytes      int64
	partitions int
	tail       int64
	full       bool
	dir        string
	waitMax    time.Duration
	cold       bool
}

// restartFlags registers the suite's flags.
func restartFlags(fs *flag.FlagSet) {
	fs.Int64Var(&restartOpts.bytes, "restart-bytes", 10<<30, "restart suite: bytes of record values written before the restarts")
	fs.IntVar(&restartOpts.partitions, "restart-partitions", 500, "restart suite: partitions the bytes are spread over")
	fs.Int64Var(&restartOpts.tail, "restart-tail-bytes", 512<<20, "restart suite: bytes written right before an extra SIGKILL (0: no such round)")
	fs.BoolVar(&restartOpts.full, "restart-full", true, "restart suite: also time a full recovery (marker and recovery point checkpoint removed)")
	fs.StringVar(&restartOpts.dir, "restart-dir", "", "restart suite: directory for the broker's data (default: a new temporary directory, removed afterwards)")
	fs.DurationVar(&restartOpts.waitMax, "restart-wait", 20*time.Minute, "restart suite: bound on a start, a stop, and the writing")
	fs.BoolVar(&restartOpts.cold, "restart-cold", false, "restart suite: before each start, evict the data's pages from the page cache (sync, then posix_fadvise DONTNEED), as after a reboot")
}

// restartRound is one timed start.
type restartRound struct {
	name    string
	elapsed time.Duration
	logFrom int64 // where the start's lines begin in the broker's log
	stats   loadStats
	// killed: the broker was stopped with SIGKILL, writtenSince bytes of
	// values after its recovery points were last checkpointed (at its
	// start, or at most log.flush.offset.checkpoint.interval.ms before).
	killed       bool
	writtenSince int64
}

// restartReport is what the suite measured: its rounds, the size of the
// segments and the partitions they are spread over.
type restartReport struct {
	rounds     []restartRound
	size       int64
	partitions int
}

const restartAfterTerm = "after SIGTERM"

// loadStats sums what the broker's log says it did with each log.
type loadStats struct {
	modes            map[string]int
	trusted, checked int64
}

// runRestartSuite runs the suite if -suites names it.
func runRestartSuite(ctx context.Context, o options, rep *restartReport) error {
	if !o.runs(suiteRestart) {
		return nil
	}
	if o.brokers != "" {
		return errors.New("restart suite: it starts its own broker; run it without -brokers")
	}
	r := restartOpts
	if r.bytes < 1<<20 || r.partitions < 1 || r.partitions > 100000 || r.tail < 0 {
		return fmt.Errorf("restart suite: -restart-bytes %d (want at least 1 MiB), -restart-partitions %d (want 1 to 100000), -restart-tail-bytes %d", r.bytes, r.partitions, r.tail)
	}
	dir := r.dir
	if dir == "" {
		tmp, err := os.MkdirTemp("", "ckbench-restart-")
		if err != nil {
			return err
		}
		defer os.RemoveAll(tmp)
		dir = tmp
	}
	rounds, size, err := benchRestart(ctx, o, dir)
	readRoundStats(rounds, filepath.Join(dir, "broker.log"))
	*rep = restartReport{rounds: rounds, size: size, partitions: r.partitions}
	if err != nil {
		return fmt.Errorf("restart suite: %w", err)
	}
	return nil
}

// restartBroker is the suite's broker: its binary, address, data and log.
type restartBroker struct {
	bin, addr, data, logPath string
	args                     []string
	p                        *brokerProc
}

func benchRestart(ctx context.Context, o options, dir string) ([]restartRound, int64, error) {
	bin, err := brokerBinary(ctx, o, dir)
	if err != nil {
		return nil, 0, err
	}
	addr, err := freeAddr()
	if err != nil {
		return nil, 0, err
	}
	b := &restartBroker{bin: bin, addr: addr, data: filepath.Join(dir, "data"), logPath: filepath.Join(dir, "broker.log")}
	for _, kv := range append([]string{"listeners=PLAINTEXT://" + addr, "log.dirs=" + b.data, "admin.listener="}, splitList(o.brokerArgs)...) {
		b.args = append(b.args, "--override", kv)
	}
	if _, err := b.start(ctx, false); err != nil {
		return nil, 0, err
	}
	defer func() { b.stop() }()
	const topic = "restart"
	if err := createRestartTopic(ctx, b, topic, restartOpts.partitions); err != nil {
		return nil, 0, err
	}
	if err := waitLogDirs(b.data, topic, restartOpts.partitions); err != nil {
		return nil, 0, err
	}
	var rounds []restartRound
	round := func(name string, prepare func() error) error {
		if err := prepare(); err != nil {
			return err
		}
		if restartOpts.cold {
			if err := dropCache(b.data); err != nil {
				return err
			}
		}
		rd, err := b.start(ctx, true)
		rd.name = name
		rounds = append(rounds, rd)
		return err
	}
	if err := round("after SIGTERM, no data yet (baseline)", func() error { b.stop(); return nil }); err != nil {
		return rounds, 0, err
	}
	start := time.Now()
	if err := writeBytes(ctx, addr, topic, restartOpts.bytes, restartOpts.partitions); err != nil {
		return rounds, 0, err
	}
	wrote := time.Since(start)
	size, _ := logBytes(b.data)
	fmt.Printf("\nrestart: wrote %.2f GB of values (%.2f GB of segments) into %d partitions in %v (%.0f MB/s)\n",
		float64(restartOpts.bytes)/1e9, float64(size)/1e9, restartOpts.partitions, wrote.Round(time.Millisecond), float64(restartOpts.bytes)/1e6/wrote.Seconds())

	stopped := time.Duration(0)
	if err := round(restartAfterTerm, func() error { stopped = b.stop(); return nil }); err != nil {
		return rounds, size, err
	}
	fmt.Printf("restart: the clean shutdown (SIGTERM until exit) took %v\n", stopped.Round(time.Millisecond))
	if err := round("after SIGKILL", func() error { b.kill(); return nil }); err != nil {
		return rounds, size, err
	}
	rounds[len(rounds)-1].killed = true
	if t := restartOpts.tail; t > 0 {
		name := fmt.Sprintf("after SIGKILL, %.2f GB just written", float64(t)/1e9)
		if err := round(name, func() error {
			if err := writeBytes(ctx, addr, topic, t, restartOpts.partitions); err != nil {
				return err
			}
			b.kill()
			return nil
		}); err != nil {
			return rounds, size, err
		}
		rounds[len(rounds)-1].killed, rounds[len(rounds)-1].writtenSince = true, t
	}
	if restartOpts.full {
		if err := round("full recovery (no marker, no checkpoint)", func() error {
			b.stop()
			for _, f := range []string{".kafka_cleanshutdown", "recovery-point-offset-checkpoint"} {
				if err := os.Remove(filepath.Join(b.data, f)); err != nil && !os.IsNotExist(err) {
					return err
				}
			}
			return nil
		}); err != nil {
			return rounds, size, err
		}
	}
	size, _ = logBytes(b.data)
	return rounds, size, nil
}

// start spawns the broker and waits until Metadata shows every partition
// of the topic led (before it exists: until Metadata answers). With
// timed, it returns how long that took and what the log says the start
// did.
func (b *restartBroker) start(ctx context.Context, timed bool) (restartRound, error) {
	from := int64(0)
	if fi, err := os.Stat(b.logPath); err == nil {
		from = fi.Size()
	}
	began := time.Now()
	p, err := spawnBroker(b.bin, b.args, b.logPath, false)
	if err != nil {
		return restartRound{}, err
	}
	b.p = p
	want := 0
	if timed {
		want = restartOpts.partitions
	}
	if err := waitLed(ctx, b.addr, p, "restart", want); err != nil {
		return restartRound{}, fmt.Errorf("%w; broker log was %s", err, tailFile(b.logPath))
	}
	return restartRound{elapsed: time.Since(began), logFrom: from}, nil
}

// readRoundStats reads, for each round, what the broker logged from its
// start to the next round's.
func readRoundStats(rounds []restartRound, logPath string) {
	for i := range rounds {
		to := int64(-1)
		if i+1 < len(rounds) {
			to = rounds[i+1].logFrom
		}
		rounds[i].stats, _ = readLoadStats(logPath, rounds[i].logFrom, to)
	}
}

// dropCache evicts the pages of every file under dir from the page
// cache: sync (a dirty page stays), then posix_fadvise(DONTNEED).
func dropCache(dir string) error {
	syscall.Sync()
	return filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		f, err := os.Open(path)
		if err != nil {
			return err
		}
		defer f.Close()
		const fadvDontNeed = 4 // POSIX_FADV_DONTNEED
		if _, _, errno := syscall.Syscall6(syscall.SYS_FADVISE64, f.Fd(), 0, 0, fadvDontNeed, 0, 0); errno != 0 {
			return fmt.Errorf("posix_fadvise %s: %w", path, errno)
		}
		return nil
	})
}

// stop sends SIGTERM and waits for the exit, however long the final
// syncs take; it returns how long.
func (b *restartBroker) stop() time.Duration {
	if b.p == nil {
		return 0
	}
	began := time.Now()
	select {
	case <-b.p.exited:
	default:
		b.p.cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-b.p.exited:
		case <-time.After(restartOpts.waitMax):
			fmt.Fprintf(os.Stderr, "ckbench: broker did not exit %v after SIGTERM; killing it\n", restartOpts.waitMax)
			b.p.cmd.Process.Kill()
			<-b.p.exited
		}
	}
	b.p.logf.Close()
	b.p = nil
	return time.Since(began)
}

// kill ends the broker with SIGKILL.
func (b *restartBroker) kill() {
	b.p.kill()
	b.p.logf.Close()
	b.p = nil
}

// waitLed polls Metadata every 5 ms until the topic shows want
// partitions, each with a leader and no error (want 0: until Metadata
// answers at all).
func waitLed(ctx context.Context, addr string, p *brokerProc, topic string, want int) error {
	deadline := time.Now().Add(restartOpts.waitMax)
	var cl *kgo.Client
	defer func() {
		if cl != nil {
			cl.Close()
		}
	}()
	for time.Now().Before(deadline) {
		select {
		case <-p.exited:
			return fmt.Errorf("broker exited while starting: %v", p.err)
		case <-ctx.Done():
			return ctx.Err()
		default:
		}
		if cl == nil {
			var err error
			if cl, err = kgo.NewClient(kgo.SeedBrokers(addr), kgo.RequestRetries(0)); err != nil {
				return err
			}
		}
		req := kmsg.NewPtrMetadataRequest() // no topics: all of them
		req.AllowAutoTopicCreation = false
		if want > 0 {
			rt := kmsg.NewMetadataRequestTopic()
			rt.Topic = kmsg.StringPtr(topic)
			req.Topics = append(req.Topics, rt)
		}
		rctx, cancel := context.WithTimeout(ctx, time.Second)
		resp, err := req.RequestWith(rctx, cl)
		cancel()
		if err == nil && (want == 0 || allLed(resp, want)) {
			return nil
		}
		time.Sleep(5 * time.Millisecond)
	}
	return fmt.Errorf("the broker did not show %d partitions of %s led within %v", want, topic, restartOpts.waitMax)
}

func allLed(resp *kmsg.MetadataResponse, want int) bool {
	if len(resp.Topics) != 1 || resp.Topics[0].ErrorCode != 0 || len(resp.Topics[0].Partitions) != want {
		return false
	}
	for _, p := range resp.Topics[0].Partitions {
		if p.ErrorCode != 0 || p.Leader < 0 {
			return false
		}
	}
	return true
}

func createRestartTopic(ctx context.Context, b *restartBroker, topic string, partitions int) error {
	cl, err := kgo.NewClient(kgo.SeedBrokers(b.addr))
	if err != nil {
		return err
	}
	defer cl.Close()
	resp, err := kadm.NewClient(cl).CreateTopic(ctx, int32(partitions), 1, nil, topic)
	if err == nil {
		err = resp.Err
	}
	if err != nil {
		return fmt.Errorf("creating %s: %w", topic, err)
	}
	return waitLed(ctx, b.addr, b.p, topic, partitions)
}

// waitLogDirs waits until the broker created the directory of each of
// the topic's partitions (a partition is led before its log exists).
func waitLogDirs(data, topic string, partitions int) error {
	deadline := time.Now().Add(restartOpts.waitMax)
	for time.Now().Before(deadline) {
		n := 0
		for p := range partitions {
			if _, err := os.Stat(filepath.Join(data, fmt.Sprintf("%s-%d", topic, p))); err == nil {
				n++
			}
		}
		if n == partitions {
			return nil
		}
		time.Sleep(10 * time.Millisecond)
	}
	return fmt.Errorf("the broker did not create the %d log directories of %s within %v", partitions, topic, restartOpts.waitMax)
}

// restartRecordBytes is the value size: 16 records fill a 1 MiB batch.
const restartRecordBytes = 64 << 10

// writeBytes produces n bytes of values round-robin over the partitions
// with acks=1, and waits for every acknowledgement.
func writeBytes(ctx context.Context, addr, topic string, n int64, partitions int) error {
	cl, err := kgo.NewClient(kgo.SeedBrokers(addr), kgo.DefaultProduceTopic(topic),
		kgo.RequiredAcks(kgo.LeaderAck()), kgo.DisableIdempotentWrite(), kgo.ProducerBatchCompression(kgo.NoCompression()),
		kgo.ProducerBatchMaxBytes(1<<20), kgo.ProducerLinger(10*time.Millisecond), kgo.MaxBufferedBytes(512<<20),
		kgo.RecordPartitioner(kgo.ManualPartitioner()))
	if err != nil {
		return err
	}
	defer cl.Close()
	value := make([]byte, restartRecordBytes)
	for i := range value {
		value[i] = byte(i*7 + i>>8)
	}
	var failed atomic.Value
	var wg sync.WaitGroup
	records := (n + restartRecordBytes - 1) / restartRecordBytes
	for i := int64(0); i < records && failed.Load() == nil; i++ {
		wg.Add(1)
		r := &kgo.Record{Value: value, Partition: int32(i % int64(partitions))}
		cl.Produce(ctx, r, func(_ *kgo.Record, err error) {
			if err != nil {
				failed.CompareAndSwap(nil, err)
			}
			wg.Done()
		})
	}
	wg.Wait()
	if err, _ := failed.Load().(error); err != nil {
		return fmt.Errorf("producing: %w", err)
	}
	return nil
}

// loadLine matches the driver's line for each log it opened.
var loadLine = regexp.MustCompile(`recovered \S+: log start \d+, log end \d+ \(([^:]+): \d+ segments trusted, (\d+) bytes trusted, (\d+) bytes checked\)`)

// readLoadStats sums the load lines of the log from byte from on, up to
// byte to (-1: the end).
func readLoadStats(path string, from, to int64) (loadStats, error) {
	st := loadStats{modes: map[string]int{}}
	f, err := os.Open(path)
	if err != nil {
		return st, err
	}
	defer f.Close()
	if _, err := f.Seek(from, 0); err != nil {
		return st, err
	}
	var r io.Reader = f
	if to >= 0 {
		r = io.LimitReader(f, to-from)
	}
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		m := loadLine.FindStringSubmatch(sc.Text())
		if m == nil {
			continue
		}
		st.modes[m[1]]++
		t, _ := strconv.ParseInt(m[2], 10, 64)
		c, _ := strconv.ParseInt(m[3], 10, 64)
		st.trusted += t
		st.checked += c
	}
	return st, sc.Err()
}

// logBytes sums the sizes of the .log files under dir.
func logBytes(dir string) (int64, error) {
	var n int64
	err := filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || !strings.HasSuffix(path, ".log") {
			return err
		}
		fi, err := d.Info()
		if err == nil {
			n += fi.Size()
		}
		return err
	})
	return n, err
}

// restartNotes are the README's lines on the suite's rounds.
func restartNotes(r restartReport) []string {
	if len(r.rounds) == 0 {
		return nil
	}
	var times []string
	for _, rd := range r.rounds {
		times = append(times, fmt.Sprintf("%s %.2f s (%.2f GB checked)", rd.name, rd.elapsed.Seconds(), float64(rd.stats.checked)/1e9))
	}
	cache := "page cache warm"
	if restartOpts.cold {
		cache = "page cache emptied of the data before each start"
	}
	return []string{fmt.Sprintf("restart until every partition is led, %.2f GB of segments in %d partitions (%s): %s",
		float64(r.size)/1e9, r.partitions, cache, strings.Join(times, "; "))}
}

func printRestart(r restartReport) {
	rounds, size := r.rounds, r.size
	if len(rounds) == 0 {
		return
	}
	cache := "page cache warm"
	if restartOpts.cold {
		cache = "page cache emptied of the data before each start"
	}
	fmt.Printf("\nrestart until Metadata shows all %d partitions led, %.2f GB of segments (%s):\n", restartOpts.partitions, float64(size)/1e9, cache)
	fmt.Printf("  %-44s %10s  %10s  %10s  %s\n", "start", "time", "trusted", "checked", "logs")
	for _, r := range rounds {
		var modes []string
		for _, m := range []string{"loaded after a clean shutdown", "recovered from its recovery point", "recovered fully"} {
			if n := r.stats.modes[m]; n > 0 {
				modes = append(modes, fmt.Sprintf("%d %s", n, m))
			}
		}
		fmt.Printf("  %-44s %10v  %8.2f GB  %8.2f GB  %s\n", r.name, r.elapsed.Round(time.Millisecond),
			float64(r.stats.trusted)/1e9, float64(r.stats.checked)/1e9, strings.Join(modes, ", "))
	}
}
