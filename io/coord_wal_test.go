package kio_test

import (
	"bytes"
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"

	"pgregory.net/rapid"

	"cloudkafka/core"
	kio "cloudkafka/io"
	"cloudkafka/io/memfs"
)

const (
	coordDir = "/data"
	walPath  = coordDir + "/" + kio.CoordinatorWALFile
	snapPath = coordDir + "/" + kio.CoordinatorFile
)

// crashPoint is the panic a planted crash raises: the process dies
// inside a file-system operation, before it takes effect.
type crashPoint struct{ op, path string }

var errInjected = errors.New("injected IO error")

// fault arms one fault at the file system: the skip-th next operation
// (any, or only those named op and, if set, on path) crashes the
// process, or fails with errInjected.
type fault struct {
	armed bool
	skip  int
	op    string
	path  string
	crash bool
	hit   crashPoint // the operation the fault hit
}

func (f *fault) inject(op, path string) error {
	if !f.armed || (f.op != "" && op != f.op) || (f.path != "" && path != f.path) {
		return nil
	}
	if f.skip > 0 {
		f.skip--
		return nil
	}
	f.armed = false
	f.hit = crashPoint{op, path}
	if f.crash {
		panic(f.hit)
	}
	return errInjected
}

// catchCrash turns a planted crash back into a result.
func catchCrash(crashed *bool) {
	if r := recover(); r != nil {
		if _, ok := r.(crashPoint); !ok {
			panic(r)
		}
		*crashed = true
	}
}

func tryApply(c *kio.FileCoordinator, op core.CoordOp) (res core.CoordResult, crashed bool) {
	defer catchCrash(&crashed)
	return c.Apply(op), false
}

func tryOpen(fs kio.FS, o kio.FileCoordinatorOptions) (c *kio.FileCoordinator, err error, crashed bool) {
	defer catchCrash(&crashed)
	c, err = kio.OpenFileCoordinatorWith(fs, coordDir, o)
	return c, err, false
}

// znodeDiff describes how got differs from want, znode by znode.
func znodeDiff(got, want []kio.SavedZnode) string {
	g, w := map[string]kio.SavedZnode{}, map[string]kio.SavedZnode{}
	var paths []string
	for _, z := range got {
		g[z.Path] = z
		paths = append(paths, z.Path)
	}
	for _, z := range want {
		w[z.Path] = z
		paths = append(paths, z.Path)
	}
	slices.Sort(paths)
	var b strings.Builder
	for _, p := range slices.Compact(paths) {
		gz, gok := g[p]
		wz, wok := w[p]
		if gok != wok || !sameZnodes([]kio.SavedZnode{gz}, []kio.SavedZnode{wz}) {
			fmt.Fprintf(&b, "\n  %s: got %v; want %v", p, znodeString(gz, gok), znodeString(wz, wok))
		}
	}
	return b.String()
}

func znodeString(z kio.SavedZnode, ok bool) string {
	if !ok {
		return "none"
	}
	return fmt.Sprintf("%q v%d cv%d creates %d", z.Data, z.Version, z.CVersion, z.Creates)
}

func sameZnodes(a, b []kio.SavedZnode) bool {
	return slices.EqualFunc(a, b, func(x, y kio.SavedZnode) bool {
		return x.Path == y.Path && bytes.Equal(x.Data, y.Data) && x.Version == y.Version && x.CVersion == y.CVersion && x.Creates == y.Creates
	})
}

// drawWrite draws a write on a few colliding paths; some data is large,
// so that the log reaches small compaction bounds quickly.
func drawWrite(t *rapid.T) core.CoordOp {
	path := rapid.SampledFrom([]string{"/a", "/a/b", "/a/c", "/a/b/d", "/b", "/b/x/y", "/s/n"}).Draw(t, "path")
	version := rapid.SampledFrom([]int32{core.CoordAnyVersion, 0, 1}).Draw(t, "version")
	data := bytes.Repeat([]byte{byte('a' + rapid.IntRange(0, 25).Draw(t, "byte"))}, rapid.SampledFrom([]int{0, 3, 40, 300}).Draw(t, "size"))
	var op core.CoordOp
	switch rapid.IntRange(0, 4).Draw(t, "kind") {
	case 0, 1:
		op = core.CoordOp{Kind: core.CoordCreate, Path: path, Data: data, Parents: rapid.IntRange(0, 3).Draw(t, "parents") > 0,
			Ephemeral: rapid.IntRange(0, 4).Draw(t, "ephemeral") == 0, Sequential: rapid.IntRange(0, 4).Draw(t, "sequential") == 0}
	case 2, 3:
		op = core.CoordOp{Kind: core.CoordSet, Path: path, Data: data, Version: version, Upsert: rapid.Bool().Draw(t, "upsert")}
	default:
		op = core.CoordOp{Kind: core.CoordDelete, Path: path, Version: version, Recursive: rapid.Bool().Draw(t, "recursive")}
	}
	if rapid.IntRange(0, 6).Draw(t, "guarded") == 0 {
		op.Guard = &core.CoordGuard{Path: rapid.SampledFrom([]string{"/a", "/b"}).Draw(t, "guard"), Version: version}
	}
	return op
}

// crashWorld is a coordinator over a crashable file system, beside a
// model tree that applies the same operations in memory: what the
// coordinator acknowledged (acked) and what it would hold with the
// operation whose outcome is unknown (maybe).
type crashWorld struct {
	fs     *memfs.FS
	f      *fault
	rng    *rand.Rand
	opts   kio.FileCoordinatorOptions
	c      *kio.FileCoordinator
	model  *kio.ZTree
	ms     int64            // the model's session
	acked  []kio.SavedZnode // every acknowledged write
	maybe  []kio.SavedZnode // acked plus the write in flight, or nil
	repair []string         // what Open logged
}

// powerLoss crashes the machine (or only the process), reopens the
// store, crashing again if a crash point fires in recovery, and checks
// it recovered the acknowledged writes, and at most the one in flight.
func (w *crashWorld) powerLoss(t *rapid.T) {
	if rapid.IntRange(0, 3).Draw(t, "processOnly") == 0 {
		w.fs.ProcessCrash()
	} else {
		if rapid.Bool().Draw(t, "commitNames") {
			_ = w.fs.CommitNames(coordDir) // the file system committed names on its own
		}
		w.fs.Crash(w.rng)
	}
	for {
		if rapid.IntRange(0, 3).Draw(t, "faultInOpen") == 0 {
			*w.f = fault{armed: true, skip: rapid.IntRange(0, 16).Draw(t, "openSkip"), crash: rapid.Bool().Draw(t, "openCrash")}
		}
		c, err, crashed := tryOpen(w.fs, w.opts)
		w.f.armed = false
		switch {
		case crashed:
			w.fs.Crash(w.rng)
			continue
		case errors.Is(err, errInjected):
			continue
		case err != nil:
			t.Fatalf("reopen: %v (repairs logged: %q)", err, w.repair)
		}
		w.c = c
		break
	}
	got := w.c.SavedZnodes()
	if !sameZnodes(got, w.acked) && (w.maybe == nil || !sameZnodes(got, w.maybe)) {
		inFlight := " none in flight"
		if w.maybe != nil {
			inFlight = znodeDiff(got, w.maybe)
		}
		t.Fatalf("recovered, against the acknowledged writes:%s\nagainst those and the write in flight:%s", znodeDiff(got, w.acked), inFlight)
	}
	w.model = kio.NewZTree()
	if err := w.model.Restore(got); err != nil {
		t.Fatal(err)
	}
	w.model.TrackChanges()
	w.ms = w.model.OpenSession()
	w.acked, w.maybe = got, nil
}

// write applies op to both, and checks the coordinator against the
// model; it reports whether the process must now restart (it crashed,
// or its store failed).
func (w *crashWorld) write(t *rapid.T, op core.CoordOp) (restart bool) {
	w.model.Begin()
	want, _ := w.model.Apply(w.ms, op)
	got, crashed := tryApply(w.c, op)
	switch {
	case crashed:
		if want.Err == nil {
			w.maybe = w.model.Snapshot()
		}
		w.model.Rollback()
		return true
	case got.Err == nil:
		if want.Err != nil || got.Path != want.Path || got.Stat != want.Stat {
			t.Fatalf("%+v: got %+v; the model says %+v", op, got, want)
		}
		w.model.Commit()
		w.model.Persisted()
		w.acked = w.model.Snapshot()
	case want.Err != nil && got.Err.Error() == want.Err.Error():
		w.model.Rollback() // the tree refused it
	case errors.Is(got.Err, core.ErrCoordConnectionLoss):
		w.maybe = w.model.Snapshot()
		w.model.Rollback()
		return true
	case errors.Is(got.Err, errInjected) || errors.Is(got.Err, kio.ErrCoordStoreFailed):
		w.model.Rollback() // a storage error: the write did not happen
		return errors.Is(got.Err, kio.ErrCoordStoreFailed)
	default:
		t.Fatalf("%+v: got error %v; the model says %v", op, got.Err, want.Err)
	}
	if live := w.c.SavedZnodes(); !sameZnodes(live, w.model.Snapshot()) {
		t.Fatalf("after %+v (err %v) the coordinator differs from the model:%s", op, got.Err, znodeDiff(live, w.model.Snapshot()))
	}
	return false
}

// TestFileCoordinatorCrashes: random writes, session expiries, crashes
// (of the machine or the process, at any file-system operation: inside
// appends, compactions and recovery itself, torn tails with garbage
// included) and IO errors. After every crash the store holds exactly the
// acknowledged writes, and at most the write in flight besides; a write
// that failed with a storage error is not there; and the results match
// an in-memory model's.
func TestFileCoordinatorCrashes(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		w := &crashWorld{fs: memfs.New(), f: &fault{}, rng: rand.New(rand.NewPCG(rapid.Uint64().Draw(t, "seed"), 1))}
		w.fs.Policy = memfs.CrashPolicy{TornTailProb: 0.6, GarbageProb: 0.5, GarbageBytesMax: 8}
		w.fs.Inject = w.f.inject
		w.opts = kio.FileCoordinatorOptions{WALBytesMin: rapid.Int64Range(1, 600).Draw(t, "walBytesMin"),
			Logf: func(format string, args ...any) { w.repair = append(w.repair, fmt.Sprintf(format, args...)) }}
		w.acked = kio.NewZTree().Snapshot()
		w.powerLoss(t) // opens the empty store
		for range rapid.IntRange(1, 80).Draw(t, "steps") {
			switch rapid.IntRange(0, 19).Draw(t, "step") {
			case 0:
				w.powerLoss(t)
				continue
			case 1:
				w.c.ExpireSession()
				w.model.CloseSession(w.ms)
				w.ms = w.model.OpenSession()
				continue
			case 2, 3, 4:
				*w.f = fault{armed: true, skip: rapid.IntRange(0, 24).Draw(t, "skip"), crash: rapid.IntRange(0, 2).Draw(t, "crash") > 0}
			}
			if w.write(t, drawWrite(t)) {
				w.powerLoss(t)
			}
		}
		w.f.armed = false
		w.powerLoss(t)
	})
}

// compactingWrites is a fixed history of writes under a compaction bound
// of 64 bytes: several of them compact.
func compactingWrites() []core.CoordOp {
	var ops []core.CoordOp
	for i := range 12 {
		p := fmt.Sprintf("/brokers/topics/t/partitions/%d/state", i%5)
		if i < 5 {
			ops = append(ops, core.CoordOp{Kind: core.CoordCreate, Path: p, Data: []byte(fmt.Sprintf(`{"leader":%d}`, i)), Parents: true})
		} else {
			ops = append(ops, core.CoordOp{Kind: core.CoordSet, Path: p, Data: []byte(fmt.Sprintf(`{"leader":%d}`, i)), Version: core.CoordAnyVersion})
		}
	}
	return append(ops, core.CoordOp{Kind: core.CoordDelete, Path: "/brokers/topics/t", Version: core.CoordAnyVersion, Recursive: true})
}

// sweepMode is how TestFileCoordinatorCompactionFaults ends a write.
type sweepMode struct {
	crash  bool // a power loss at the operation; else it fails, and the history goes on
	commit bool // the file system commits the directory's names before the power loss
	// rest, after an IO error: the history goes on to its end before the
	// power loss, rather than for one more write
	rest bool
}

// TestFileCoordinatorCompactionFaults: for each write of a history under
// a small compaction bound and each file-system operation that write
// performs (a compaction's included), a power loss at that operation, with
// and without the directory's names committed early by the file system,
// recovers the state before or after the write; and an IO error there
// fails the write cleanly or fails the store, and what the next write,
// or the rest of the history, then acknowledges survives a power loss
// (again with and without the names committed early). Every step of a
// compaction (writing either temporary file, either rename, either
// directory sync) is hit.
func TestFileCoordinatorCompactionFaults(t *testing.T) {
	ops := compactingWrites()
	hit := map[string]bool{}
	for i := range ops {
		for k := 0; ; k++ {
			reached := false
			for _, mode := range []sweepMode{{crash: true}, {crash: true, commit: true},
				{}, {commit: true}, {rest: true}, {commit: true, rest: true}} {
				f, ok := sweepFault(t, ops, i, k, mode)
				if !ok {
					continue
				}
				reached = true
				hit[f.op+" "+strings.TrimPrefix(f.path, coordDir+"/")] = true
			}
			if !reached {
				break // k is past the write's last operation
			}
		}
	}
	for _, step := range []string{
		"write coordinator.snapshot.tmp", "sync coordinator.snapshot.tmp",
		"write coordinator.wal.tmp", "sync coordinator.wal.tmp",
		"rename coordinator.snapshot.tmp", "rename coordinator.wal.tmp",
		"syncdir /data", "write coordinator.wal", "sync coordinator.wal",
	} {
		if !hit[step] {
			t.Errorf("no fault hit %q; hit %v", step, hit)
		}
	}
}

// sweepFault runs ops[:i] on a fresh store, then ops[i] with a fault at
// its k-th file-system operation, and checks what recovery finds. It
// reports the operation hit, or false when ops[i] has fewer than k+1.
func sweepFault(t *testing.T, ops []core.CoordOp, i, k int, mode sweepMode) (crashPoint, bool) {
	t.Helper()
	opts := kio.FileCoordinatorOptions{WALBytesMin: 64}
	fs := memfs.New()
	fs.Policy = memfs.CrashPolicy{TornTailProb: 1}
	f := &fault{}
	fs.Inject = f.inject
	c, err := kio.OpenFileCoordinatorWith(fs, coordDir, opts)
	if err != nil {
		t.Fatal(err)
	}
	model := kio.NewZTree()
	model.TrackChanges()
	apply := func(op core.CoordOp) (applied bool) {
		model.Begin()
		want, _ := model.Apply(0, op)
		res := c.Apply(op)
		switch {
		case res.Err == nil && want.Err == nil:
			model.Commit()
			return true
		case res.Err != nil && (errors.Is(res.Err, errInjected) || errors.Is(res.Err, kio.ErrCoordStoreFailed)):
		case res.Err == nil || want.Err == nil || res.Err.Error() != want.Err.Error():
			t.Fatalf("write %d, fault %d: %+v: got %v; the model says %v", i, k, op, res.Err, want.Err)
		}
		model.Rollback()
		return false
	}
	for _, op := range ops[:i] {
		if !apply(op) {
			t.Fatalf("%+v failed without a fault", op)
		}
	}
	before := c.SavedZnodes()
	*f = fault{armed: true, skip: k, crash: mode.crash}
	if !mode.crash {
		apply(ops[i])
		if f.armed {
			return crashPoint{}, false
		}
		next := ops[i+1 : min(i+2, len(ops))]
		if mode.rest {
			next = ops[i+1:]
		}
		for _, op := range next {
			apply(op)
		}
		if mode.commit {
			_ = fs.CommitNames(coordDir)
		}
		fs.Crash(rand.New(rand.NewPCG(uint64(i), uint64(k))))
		checkRecovered(t, fs, opts, fmt.Sprintf("write %d, IO error at %+v, then %d writes (names committed: %v)", i, f.hit, len(next), mode.commit), model.Snapshot())
		return f.hit, true
	}
	model.Begin()
	model.Apply(0, ops[i])
	after := model.Snapshot()
	model.Rollback()
	if _, crashed := tryApply(c, ops[i]); !crashed {
		return crashPoint{}, false
	}
	if mode.commit {
		_ = fs.CommitNames(coordDir)
	}
	fs.Crash(rand.New(rand.NewPCG(uint64(i), uint64(k))))
	checkRecovered(t, fs, opts, fmt.Sprintf("write %d, crash at %+v (names committed early: %v)", i, f.hit, mode.commit), before, after)
	return f.hit, true
}

// checkRecovered reopens the store and checks it holds one of wants.
func checkRecovered(t *testing.T, fs *memfs.FS, opts kio.FileCoordinatorOptions, what string, wants ...[]kio.SavedZnode) {
	t.Helper()
	r, err := kio.OpenFileCoordinatorWith(fs, coordDir, opts)
	if err != nil {
		t.Fatalf("%s: reopen: %v", what, err)
	}
	got := r.SavedZnodes()
	for _, want := range wants {
		if sameZnodes(got, want) {
			return
		}
	}
	for _, want := range wants {
		t.Errorf("%s: not the state wanted:%s", what, znodeDiff(got, want))
	}
}

// walWrites applies n sets of distinct data to /w, each a log record,
// and returns the log's size before each record and after the last.
func walWrites(t testing.TB, fs *memfs.FS, c *kio.FileCoordinator, n int) []int64 {
	t.Helper()
	var ends []int64
	for i := range n {
		size, _ := fs.WrittenSize(walPath)
		ends = append(ends, size)
		if res := c.Apply(core.CoordOp{Kind: core.CoordSet, Path: "/w", Data: []byte(fmt.Sprintf("value %d", i)), Version: core.CoordAnyVersion, Upsert: true}); res.Err != nil {
			t.Fatalf("set %d: %v", i, res.Err)
		}
	}
	size, _ := fs.WrittenSize(walPath)
	return append(ends, size)
}

func openLogged(t *testing.T, fs *memfs.FS) (*kio.FileCoordinator, []string, error) {
	t.Helper()
	var logged []string
	c, err := kio.OpenFileCoordinatorWith(fs, coordDir, kio.FileCoordinatorOptions{
		Logf: func(format string, args ...any) { logged = append(logged, fmt.Sprintf(format, args...)) }})
	return c, logged, err
}

func dataOf(t *testing.T, c *kio.FileCoordinator, path string) string {
	t.Helper()
	res := c.Apply(core.CoordOp{Kind: core.CoordGet, Path: path})
	if res.Err != nil {
		return res.Err.Error()
	}
	return string(res.Data)
}

// TestFileCoordinatorTornTail: a crash in the middle of an append leaves
// any prefix of its record, the last bytes maybe garbage. Open cuts that
// tail off at the last intact record, says so, and the store holds every
// write before it and takes new ones.
func TestFileCoordinatorTornTail(t *testing.T) {
	for _, garbage := range []bool{false, true} {
		for keep := 1; ; keep++ {
			fs := memfs.New()
			c := openCoord(t, fs)
			ends := walWrites(t, fs, c, 3)
			recBytes := int(ends[3] - ends[2])
			if keep >= recBytes {
				break
			}
			// the fourth append is written, then the machine dies before its fsync
			f := &fault{armed: true, op: memfs.OpSync, path: walPath, crash: true}
			fs.Inject = f.inject
			if _, crashed := tryApply(c, core.CoordOp{Kind: core.CoordSet, Path: "/w", Data: []byte("value 9"), Version: core.CoordAnyVersion}); !crashed {
				t.Fatal("the fourth set did not reach its fsync")
			}
			fs.Inject = nil
			if garbage {
				if err := fs.Flip(walPath, ends[3]+int64(keep)-1, 0x5a); err != nil {
					t.Fatal(err)
				}
			}
			if err := fs.KeepOnCrash(walPath, ends[3]+int64(keep)); err != nil {
				t.Fatal(err)
			}
			fs.Crash(rand.New(rand.NewPCG(1, uint64(keep))))
			r, logged, err := openLogged(t, fs)
			if err != nil {
				t.Fatalf("keep %d of %d bytes (garbage %v): reopen: %v", keep, recBytes, garbage, err)
			}
			if got := dataOf(t, r, "/w"); got != "value 2" {
				t.Errorf("keep %d of %d bytes (garbage %v): /w got %q; want %q", keep, recBytes, garbage, got, "value 2")
			}
			if len(logged) != 1 || !strings.Contains(logged[0], "torn tail") {
				t.Errorf("keep %d: logged %q; want one line about a torn tail", keep, logged)
			}
			if size, _ := fs.SyncedSize(walPath); size != ends[3] {
				t.Errorf("keep %d: the log's durable size after Open is %d; want %d, cut at the last intact record", keep, size, ends[3])
			}
			if res := r.Apply(core.CoordOp{Kind: core.CoordSet, Path: "/w", Data: []byte("after"), Version: core.CoordAnyVersion}); res.Err != nil {
				t.Fatal(res.Err)
			}
			fs.Crash(rand.New(rand.NewPCG(2, uint64(keep))))
			if got := dataOf(t, openCoord(t, fs), "/w"); got != "after" {
				t.Errorf("keep %d: a write after the cut, after another crash: got %q; want %q", keep, got, "after")
			}
		}
	}
}

// TestFileCoordinatorDamage: damage that a crash cannot explain (a
// record that fails its checks with an intact record after it, a bad
// header) or that would take too long to tell from a torn append (a
// long tail of plausible record lengths) fails Open with an error naming
// it, rather than dropping acknowledged writes; damage to the last
// record is indistinguishable from a torn append, and is cut off.
func TestFileCoordinatorDamage(t *testing.T) {
	for _, tc := range []struct {
		name string
		// damage returns the error Open must give (a substring), or ""
		// when Open must succeed and cut the log back to the third record
		damage func(fs *memfs.FS, ends []int64) string
	}{
		{"payload of a middle record", func(fs *memfs.FS, ends []int64) string {
			_ = fs.Corrupt(walPath, ends[1]+12)
			return "damaged (record CRC mismatch), yet an intact record follows"
		}},
		{"CRC of a middle record", func(fs *memfs.FS, ends []int64) string {
			_ = fs.Corrupt(walPath, ends[1]+5)
			return "damaged (record CRC mismatch), yet an intact record follows"
		}},
		{"length of a middle record, past the end", func(fs *memfs.FS, ends []int64) string {
			_ = fs.Flip(walPath, ends[1]+1, 0x40)
			return "past the end of the file"
		}},
		{"length of a middle record, shorter", func(fs *memfs.FS, ends []int64) string {
			_ = fs.Flip(walPath, ends[1]+3, 0x04)
			return "yet an intact record follows"
		}},
		{"header", func(fs *memfs.FS, ends []int64) string {
			_ = fs.Corrupt(walPath, 9)
			return "header CRC mismatch"
		}},
		{"a long tail of plausible lengths", func(fs *memfs.FS, ends []int64) string {
			_ = fs.Extend(walPath, bytes.Repeat([]byte{0x00, 0x0f, 0xff, 0xff}, 1<<19))
			return "too many to tell a torn append from damage"
		}},
		{"last record", func(fs *memfs.FS, ends []int64) string {
			_ = fs.Corrupt(walPath, ends[3]+10)
			return ""
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			fs := memfs.New()
			ends := walWrites(t, fs, openCoord(t, fs), 4)
			want := tc.damage(fs, ends)
			c, logged, err := openLogged(t, fs)
			switch {
			case want != "" && (err == nil || !strings.Contains(err.Error(), want)):
				t.Fatalf("Open: got %v; want an error containing %q", err, want)
			case want != "":
				return
			case err != nil:
				t.Fatalf("Open: %v", err)
			}
			if got := dataOf(t, c, "/w"); got != "value 2" || len(logged) != 1 {
				t.Errorf("got /w %q, logged %q; want %q and one line", got, logged, "value 2")
			}
		})
	}
}

// TestFileCoordinatorLostSnapshot: a log of a newer generation than the
// snapshot beside it means the snapshot that log continues is gone: Open
// fails rather than replay the log over the wrong znodes.
func TestFileCoordinatorLostSnapshot(t *testing.T) {
	fs := memfs.New()
	c, err := kio.OpenFileCoordinatorWith(fs, coordDir, kio.FileCoordinatorOptions{WALBytesMin: 1})
	if err != nil {
		t.Fatal(err)
	}
	walWrites(t, fs, c, 2) // each compacts: generation 2
	if err := fs.Remove(snapPath); err != nil {
		t.Fatal(err)
	}
	if _, err := kio.OpenFileCoordinator(fs, coordDir); err == nil || !strings.Contains(err.Error(), "newer than the snapshot's") {
		t.Errorf("Open: got %v; want the error that the log is newer than the snapshot", err)
	}
}

// TestFileCoordinatorLegacySnapshot: a directory holding only a snapshot
// as written before the log existed (no generation) opens as it did, and
// its first writes go to a new log of generation 0 until a compaction.
func TestFileCoordinatorLegacySnapshot(t *testing.T) {
	fs := memfs.New()
	if err := fs.MkdirAll(coordDir); err != nil {
		t.Fatal(err)
	}
	f, err := fs.OpenFile(snapPath, true)
	if err != nil {
		t.Fatal(err)
	}
	legacy := `{"version":1,"znodes":[{"Path":"/","Data":null,"CVersion":1,"Creates":1},` +
		`{"Path":"/cluster","Data":null,"CVersion":1,"Creates":1},{"Path":"/cluster/id","Data":"YWJj","Version":3}]}`
	if _, err := f.WriteAt([]byte(legacy), 0); err != nil {
		t.Fatal(err)
	}
	if err := f.Sync(); err != nil {
		t.Fatal(err)
	}
	if err := fs.SyncDir(coordDir); err != nil {
		t.Fatal(err)
	}
	c := openCoord(t, fs)
	if got := dataOf(t, c, "/cluster/id"); got != "abc" {
		t.Fatalf("/cluster/id: got %q; want abc", got)
	}
	if res := c.Apply(core.CoordOp{Kind: core.CoordSet, Path: "/cluster/id", Data: []byte("def"), Version: 3}); res.Err != nil {
		t.Fatalf("set at the legacy version 3: %v", res.Err)
	}
	if snap, _ := fs.ReadFile(snapPath); string(snap) != legacy {
		t.Errorf("the snapshot was rewritten by a small write: %s", snap)
	}
	fs.Crash(rand.New(rand.NewPCG(3, 4)))
	r := openCoord(t, fs)
	if got := dataOf(t, r, "/cluster/id"); got != "def" {
		t.Errorf("/cluster/id after a crash: got %q; want def", got)
	}
}

// countingFS counts the bytes written through it.
type countingFS struct {
	kio.FS
	written int64
}

type countingFile struct {
	kio.File
	fs *countingFS
}

func (c *countingFS) OpenFile(name string, create bool) (kio.File, error) {
	f, err := c.FS.OpenFile(name, create)
	if err != nil {
		return nil, err
	}
	return &countingFile{File: f, fs: c}, nil
}

func (f *countingFile) WriteAt(p []byte, off int64) (int, error) {
	f.fs.written += int64(len(p))
	return f.File.WriteAt(p, off)
}

// TestFileCoordinatorWriteCost: with 2,000 znodes stored, one more set
// writes about its own record, not the store: less than twice the bytes
// of its path and data plus a few dozen of framing. And creating the
// 2,000, with a compaction bound small enough that the log is compacted
// many times over, writes on average a small constant per create:
// compaction costs each logged byte O(1), not O(znodes).
func TestFileCoordinatorWriteCost(t *testing.T) {
	const n = 2000
	for _, walBytesMin := range []int64{0, 4096} {
		fs := &countingFS{FS: memfs.New()}
		c, err := kio.OpenFileCoordinatorWith(fs, coordDir, kio.FileCoordinatorOptions{WALBytesMin: walBytesMin})
		if err != nil {
			t.Fatal(err)
		}
		fs.written = 0
		for i := range n {
			op := core.CoordOp{Kind: core.CoordCreate, Path: fmt.Sprintf("/brokers/topics/t/partitions/%d/state", i),
				Data: []byte(`{"controller_epoch":1,"leader":0,"version":1,"leader_epoch":0,"isr":[0]}`), Parents: true}
			if res := c.Apply(op); res.Err != nil {
				t.Fatal(res.Err)
			}
		}
		perCreate := fs.written / n
		path, data := "/brokers/topics/t/partitions/1000/state", []byte(`{"controller_epoch":1,"leader":0,"version":1,"leader_epoch":1,"isr":[0]}`)
		fs.written = 0
		if res := c.Apply(core.CoordOp{Kind: core.CoordSet, Path: path, Data: data, Version: 0}); res.Err != nil {
			t.Fatal(res.Err)
		}
		t.Logf("WALBytesMin %d: %d bytes per create on average; the set wrote %d bytes", walBytesMin, perCreate, fs.written)
		if limit := int64(2*(len(path)+len(data)) + 32); fs.written > limit {
			t.Errorf("WALBytesMin %d: a set among %d znodes wrote %d bytes; want at most %d", walBytesMin, 2*n, fs.written, limit)
		}
		if perCreate > 1024 {
			t.Errorf("WALBytesMin %d: %d creates wrote %d bytes each on average; want at most 1024", walBytesMin, n, perCreate)
		}
	}
}

// FuzzCoordinatorWAL: whatever bytes follow a log's header, Open never
// panics; when it opens the store, it opens it to the same znodes again
// without another repair (what it cut, it cut durably).
func FuzzCoordinatorWAL(f *testing.F) {
	seed := memfs.New()
	walWrites(f, seed, openCoordF(f, seed), 3)
	valid, _ := seed.ReadFile(walPath)
	f.Add(valid[20:])
	f.Add(valid[20 : len(valid)-3])
	f.Add(append(slices.Clone(valid[20:40]), valid[50:]...))
	f.Add([]byte{0, 0, 0, 5, 1, 2, 3, 4, 1, 'P', 1, '/', 0})
	f.Fuzz(func(t *testing.T, tail []byte) {
		fs := memfs.New()
		openCoord(t, fs) // an empty log of generation 0
		if err := fs.Extend(walPath, tail); err != nil {
			t.Fatal(err)
		}
		r, _, err := openLogged(t, fs)
		if err != nil {
			return // damage reported
		}
		fs.Crash(rand.New(rand.NewPCG(0, 0)))
		again, logged, err := openLogged(t, fs)
		if err != nil || len(logged) != 0 {
			t.Fatalf("second open: %v, logged %q; want a clean open", err, logged)
		}
		if got, want := again.SavedZnodes(), r.SavedZnodes(); !sameZnodes(got, want) {
			t.Fatalf("second open differs:%s", znodeDiff(got, want))
		}
	})
}

func openCoordF(f *testing.F, fs *memfs.FS) *kio.FileCoordinator {
	c, err := kio.OpenFileCoordinator(fs, coordDir)
	if err != nil {
		f.Fatal(err)
	}
	return c
}
