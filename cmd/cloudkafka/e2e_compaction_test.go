package main

// Log compaction end to end: a real broker process, franz-go clients,
// cleanup.policy=compact with small segments and a quick cleaner.

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
)

// compactedTopicConfigs make a topic compact quickly: small segments that
// roll every 100 ms of appends, any dirty byte cleanable.
func compactedTopicConfigs(deleteRetentionMs int) map[string]string {
	return map[string]string{"cleanup.policy": "compact", "segment.bytes": "4096", "segment.ms": "100",
		"min.cleanable.dirty.ratio": "0.01", "delete.retention.ms": strconv.Itoa(deleteRetentionMs)}
}

func createTopicWithConfigs(t *testing.T, b *broker, topic string, configs map[string]string) {
	t.Helper()
	adm := kadm.NewClient(newClient(t, b))
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	cfg := map[string]*string{}
	for k, v := range configs {
		cfg[k] = kadm.StringPtr(v)
	}
	if resp, err := adm.CreateTopic(ctx, 1, 1, cfg, topic); err != nil {
		t.Fatalf("CreateTopics %s with %v: got error %v (%s); want success", topic, configs, err, resp.ErrMessage)
	}
}

// partitionLogBytes sums the .log files of a partition directory.
func partitionLogBytes(t *testing.T, dir string) int64 {
	t.Helper()
	names, err := os.ReadDir(dir)
	if err != nil {
		t.Fatalf("listing %s: %v", dir, err)
	}
	var n int64
	for _, e := range names {
		if strings.HasSuffix(e.Name(), ".log") {
			info, err := e.Info()
			if err == nil {
				n += info.Size()
			}
		}
	}
	return n
}

// written is one acknowledged record of a key.
type written struct {
	offset int64
	value  string // "" for a tombstone
}

// TestCompaction writes many updates of 20 keys and deletes 5 of them
// with tombstones; while a filler key keeps segments rolling, the log
// must come to hold exactly the latest value of every live key, at the
// offset it was written at, and nothing of the deleted keys once
// delete.retention.ms has passed; and take a fraction of the bytes on
// disk. A record without a key is refused with INVALID_RECORD.
func TestCompaction(t *testing.T) {
	b := startBroker(t, "log.cleaner.backoff.ms=20")
	const topic, keys, updates, deleted = "compacted", 20, 40, 5
	createTopicWithConfigs(t, b, topic, compactedTopicConfigs(1000))
	cl := newClient(t, b, kgo.DefaultProduceTopic(topic))
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()

	if err := cl.ProduceSync(ctx, &kgo.Record{Value: []byte("no key")}).FirstErr(); !errors.Is(err, kerr.InvalidRecord) {
		t.Fatalf("producing a record without a key to a compacted topic: got %v; want INVALID_RECORD", err)
	}
	latest := map[string]written{}
	payload := 0 // bytes of keys and values written
	produce := func(rs ...*kgo.Record) {
		t.Helper()
		for _, r := range rs {
			payload += len(r.Key) + len(r.Value)
		}
		res := cl.ProduceSync(ctx, rs...)
		if err := res.FirstErr(); err != nil {
			t.Fatalf("producing: %v", err)
		}
		for _, r := range res {
			latest[string(r.Record.Key)] = written{r.Record.Offset, string(r.Record.Value)}
		}
	}
	for u := range updates {
		var rs []*kgo.Record
		for k := range keys {
			rs = append(rs, &kgo.Record{Key: []byte(fmt.Sprintf("key-%02d", k)), Value: []byte(fmt.Sprintf("value %d of key %d", u, k))})
		}
		produce(rs...)
	}
	for k := range deleted {
		produce(&kgo.Record{Key: []byte(fmt.Sprintf("key-%02d", k))}) // a tombstone: null value
	}
	dir := filepath.Join(b.dataDir, topic+"-0")
	// (the cleaner may have run already: the log files' size now is no
	// measure of what was written; the keys and values are a lower bound)
	before := int64(payload)

	// Wait, bounded, for what compaction keeps, writing a filler record
	// every 100 ms so that segments roll and the cleaner has work.
	deadline := time.Now().Add(30 * time.Second)
	var problems []string
	for i := 0; ; i++ {
		produce(&kgo.Record{Key: []byte("filler"), Value: []byte(strconv.Itoa(i))})
		problems = compactionProblems(consumeAll(t, b, topic, 30*time.Second), latest, deleted)
		if len(problems) == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("waited 30s for the log to hold exactly the latest value of every live key and no deleted key; still:\n  %s",
				strings.Join(problems, "\n  "))
		}
		time.Sleep(100 * time.Millisecond)
	}
	after := partitionLogBytes(t, dir)
	t.Logf("%d bytes of keys and values written; the partition's .log files hold %d after compaction", before, after)
	if after*4 > before {
		t.Errorf("compaction left %d bytes on disk of at least %d written; want under a quarter", after, before)
	}
}

// compactionProblems compares a consumed log with what compaction must
// keep: the latest value of every live key at its offset, no record of
// the first deleted keys (their tombstones gone too), offsets going up.
// The filler key is not judged.
func compactionProblems(got []seen, latest map[string]written, deleted int) []string {
	var out []string
	byKey := map[string][]seen{}
	prev := int64(-1)
	for _, r := range got {
		if r.offset <= prev {
			out = append(out, fmt.Sprintf("offset %d after %d", r.offset, prev))
		}
		prev = r.offset
		byKey[string(r.key)] = append(byKey[string(r.key)], r)
	}
	for k, w := range latest {
		if k == "filler" {
			continue
		}
		rs := byKey[k]
		isDeleted := false
		if n, err := strconv.Atoi(strings.TrimPrefix(k, "key-")); err == nil && n < deleted {
			isDeleted = true
		}
		switch {
		case isDeleted && len(rs) > 0:
			out = append(out, fmt.Sprintf("deleted %s still has %d records (latest at %d, value %q)", k, len(rs), rs[len(rs)-1].offset, rs[len(rs)-1].value))
		case !isDeleted && (len(rs) != 1 || rs[0].offset != w.offset || string(rs[0].value) != w.value):
			var offs []int64
			for _, r := range rs {
				offs = append(offs, r.offset)
			}
			out = append(out, fmt.Sprintf("%s at offsets %v; want only its latest value %q at %d", k, offs, w.value, w.offset))
		}
	}
	sort.Strings(out)
	return out
}

// TestCompactionCrash writes keyed records and tombstones without pause
// while the cleaner runs every few milliseconds, SIGKILLs the broker in
// the middle of a clean (when a clean's output file shows up in the
// partition directory; after 10 s of looking, whenever), and restarts it:
// every key still has its latest acknowledged record (or a later one of a
// write the crash left in doubt), every record read sits at the offset it
// was acknowledged at, and below the cleaner checkpoint no key appears
// twice.
func TestCompactionCrash(t *testing.T) {
	b := startBroker(t, "log.cleaner.backoff.ms=5", "log.flush.interval.messages=1")
	const topic, keys = "compacted-crash", 30
	cfg := compactedTopicConfigs(600000)
	cfg["segment.bytes"] = "131072" // larger cleans, more likely to be caught in the middle
	createTopicWithConfigs(t, b, topic, cfg)
	dir := filepath.Join(b.dataDir, topic+"-0")
	acked, sent := streamKeyedUntilCleaned(t, b, topic, dir, keys)
	b.Restart()

	checkpoint := readCleanerCheckpoint(t, dir)
	got := consumeAll(t, b, topic, 60*time.Second)
	last := map[string]written{}
	for _, w := range acked {
		if cur, ok := last[w.key]; !ok || w.offset > cur.offset {
			last[w.key] = w.written
		}
	}
	atOffset := map[int64]keyed{}
	for _, w := range acked {
		atOffset[w.offset] = w
	}
	var p problems
	p.t = t
	maxByKey := map[string]int64{}
	belowCheckpoint := map[string]int{}
	for _, r := range got {
		k, v := string(r.key), string(r.value)
		if w, ok := atOffset[r.offset]; ok && (w.key != k || w.value != v) {
			p.add("offset %d holds %s=%q; %s=%q was acknowledged there", r.offset, k, short(v), w.key, short(w.value))
		}
		if _, ok := atOffset[r.offset]; !ok && !sent[k+"="+v] {
			p.add("offset %d holds %s=%q, which was never produced", r.offset, k, short(v))
		}
		maxByKey[k] = max(maxByKey[k], r.offset)
		if r.offset < checkpoint {
			if belowCheckpoint[k]++; belowCheckpoint[k] == 2 {
				p.add("key %s appears twice below the cleaner checkpoint %d", k, checkpoint)
			}
		}
	}
	for k, w := range last {
		if got, ok := maxByKey[k]; !ok || got < w.offset {
			p.add("key %s: its latest acknowledged record (offset %d, value %q) is gone; the latest record read is at %d", k, w.offset, short(w.value), got)
		}
	}
	p.done("the compacted log after SIGKILL")
	t.Logf("%d records acknowledged before SIGKILL; %d read after restart; cleaner checkpoint %d", len(acked), len(got), checkpoint)
}

type keyed struct {
	key string
	written
}

// streamKeyedUntilCleaned produces keyed records (a tenth tombstones)
// until the cleaner has checkpointed and at least 2000 are acknowledged,
// then goes on until a clean's output file (.cleaned or .swap) shows up
// in dir, or 10 s pass, and SIGKILLs the broker with records still in
// flight. It returns the acknowledged records and every key=value
// produced.
func streamKeyedUntilCleaned(t *testing.T, b *broker, topic, dir string, keys int) ([]keyed, map[string]bool) {
	t.Helper()
	cl, err := kgo.NewClient(kgo.SeedBrokers(b.addr), kgo.DefaultProduceTopic(topic),
		kgo.MaxBufferedRecords(1000), kgo.RecordDeliveryTimeout(20*time.Second),
		kgo.ProducerBatchMaxBytes(16<<10)) // under segment.bytes
	if err != nil {
		t.Fatalf("creating the producer: %v", err)
	}
	var mu sync.Mutex
	var acked []keyed
	sent := map[string]bool{}
	var firstErr error
	killed := false
	rng := rand.New(rand.NewPCG(1, 2))
	var lookFrom time.Time // when the cleaner had checkpointed and 2000 records were acknowledged
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	for seq := 0; ctx.Err() == nil; seq++ {
		k := fmt.Sprintf("k%02d", rng.IntN(keys))
		var v []byte
		if rng.IntN(10) > 0 {
			v = []byte(fmt.Sprintf("v%d %s", seq, strings.Repeat("x", rng.IntN(2000))))
		}
		sent[k+"="+string(v)] = true
		cl.Produce(ctx, &kgo.Record{Key: []byte(k), Value: v}, func(r *kgo.Record, err error) {
			mu.Lock()
			defer mu.Unlock()
			if err == nil {
				acked = append(acked, keyed{k, written{r.Offset, string(v)}})
			} else if firstErr == nil && !killed {
				firstErr = err
			}
		})
		mu.Lock()
		n, ferr := len(acked), firstErr
		mu.Unlock()
		if ferr != nil {
			cl.Close()
			t.Fatalf("producing before the crash, seq %d: got %v; want success", seq, ferr)
		}
		if n >= 2000 && lookFrom.IsZero() && readCleanerCheckpoint(t, dir) > 0 {
			lookFrom = time.Now()
		}
		if !lookFrom.IsZero() && (cleanInProgress(dir) || time.Since(lookFrom) > 10*time.Second) {
			mu.Lock()
			killed = true
			mu.Unlock()
			b.Kill()
			break
		}
	}
	if !killed {
		cl.Close()
		t.Fatalf("producing for 60s: the cleaner never checkpointed or fewer than 2000 records were acknowledged")
	}
	t.Logf("killed %v after the cleaner checkpointed; a clean was in progress: %v", time.Since(lookFrom).Round(time.Millisecond), cleanInProgress(dir))
	closed := make(chan struct{})
	go func() { cl.Close(); close(closed) }()
	select {
	case <-closed:
	case <-time.After(30 * time.Second):
		t.Fatalf("closing the producer after SIGKILL: still blocked after 30s")
	}
	mu.Lock()
	defer mu.Unlock()
	return append([]keyed(nil), acked...), sent
}

// short cuts a record value for a message.
func short(v string) string {
	if len(v) > 16 {
		return v[:16] + "..."
	}
	return v
}

// cleanInProgress says whether dir holds a clean's output file.
func cleanInProgress(dir string) bool {
	names, err := os.ReadDir(dir)
	if err != nil {
		return false
	}
	for _, e := range names {
		if strings.HasSuffix(e.Name(), ".log.cleaned") || strings.HasSuffix(e.Name(), ".log.swap") {
			return true
		}
	}
	return false
}

// readCleanerCheckpoint reads the partition's cleaner checkpoint (Kafka's
// checkpoint text, one entry), or 0 when there is none yet.
func readCleanerCheckpoint(t *testing.T, dir string) int64 {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(dir, "cleaner-offset-checkpoint"))
	if errors.Is(err, os.ErrNotExist) {
		return 0
	}
	if err != nil {
		t.Fatalf("reading the cleaner checkpoint: %v", err)
	}
	lines := strings.Split(strings.TrimSpace(string(data)), "\n")
	fields := strings.Fields(lines[len(lines)-1])
	if len(lines) != 3 || len(fields) != 3 {
		t.Fatalf("cleaner checkpoint %q: want Kafka's checkpoint text with one entry", data)
	}
	n, err := strconv.ParseInt(fields[2], 10, 64)
	if err != nil {
		t.Fatalf("cleaner checkpoint %q: %v", data, err)
	}
	return n
}
