package segment

import (
	"bytes"
	"errors"
	"fmt"
	"math/rand/v2"
	"path"
	"slices"
	"strings"
	"testing"

	"cloudkafka/core"
	"cloudkafka/core/cover"
	kio "cloudkafka/io"
	"cloudkafka/io/memfs"
)

// deletedNames lists the .deleted files of dir, by base name.
func deletedNames(fsys *memfs.FS, dir string) []string {
	names, _ := fsys.ReadDir(dir)
	return slices.DeleteFunc(names, func(n string) bool { return !strings.HasSuffix(n, deletedExt) })
}

// readSpans reads what a ReadSpans result names, or the first error.
func readSpans(ref *core.RecordsRef) ([]byte, error) {
	var out []byte
	for _, s := range ref.Handle.([]kio.Span) {
		b := make([]byte, s.N)
		if err := s.Read(b); err != nil {
			return nil, err
		}
		out = append(out, b...)
	}
	return out, nil
}

// retainedLog is a log of several segments whose first segments
// retention has moved the log start past, at clock 100: the next Retain
// removes them.
func retainedLog(t *testing.T, delayMs int64) (*memfs.FS, *Log, core.LogConfig, *cover.Counts) {
	t.Helper()
	cov := &cover.Counts{}
	cfg := testCfg()
	cfg.FileDeleteDelayMs, cfg.Coverage = delayMs, cov
	fsys := memfs.New()
	l := openLog(t, fsys, cfg)
	appendN(t, l, cfg, 40, 3, 10)
	if l.Segments() < 4 {
		t.Fatalf("%d segments; want at least 4", l.Segments())
	}
	rc := cfg
	rc.RetentionBytes = l.Size() / 2
	if _, err := l.Retain(100, l.LogEndOffset(), rc); err != nil {
		t.Fatal(err)
	}
	if l.LogStartOffset() == 0 {
		t.Fatal("retention moved no log start")
	}
	return fsys, l, cfg, cov
}

// TestDelayedDeletionKeepsSpans: the segments retention removes leave the
// log at once (reads no longer reach them) but their files stay, renamed
// .deleted, and spans taken before serve their bytes until the delay
// passed; then the files are gone and the spans stale.
func TestDelayedDeletionKeepsSpans(t *testing.T) {
	fsys, l, cfg, cov := retainedLog(t, 1000)
	want := readAll(t, l, 0)
	ref, err := l.ReadSpans(0, l.LogEndOffset(), 1<<30, true)
	if err != nil {
		t.Fatal(err)
	}
	segs, start := l.Segments(), l.LogStartOffset()
	if _, err := l.Retain(200, l.LogEndOffset(), cfg); err != nil {
		t.Fatal(err)
	}
	removed := segs - l.Segments()
	if removed == 0 {
		t.Fatal("the second Retain removed no segment")
	}
	if l.segs[0].base > start {
		t.Fatalf("first segment at %d, past the log start %d", l.segs[0].base, start)
	}
	if _, err := l.Read(0, l.LogEndOffset(), 1<<20, true); !errors.Is(err, ErrOffsetOutOfRange) {
		t.Fatalf("Read(0) after the removal: %v; want ErrOffsetOutOfRange", err)
	}
	if _, err := l.ReadSpans(0, l.LogEndOffset(), 1<<20, true); !errors.Is(err, ErrOffsetOutOfRange) {
		t.Fatalf("ReadSpans(0) after the removal: %v; want ErrOffsetOutOfRange", err)
	}
	if got := deletedNames(fsys, testDir); len(got) != 3*removed {
		t.Fatalf(".deleted files %v; want the 3 files of each of %d segments", got, removed)
	}
	if fsys.Exists(fileName(testDir, 0, logExt)) {
		t.Fatal("the removed segment's .log is still there under its name")
	}
	if due, ok := l.DeletionDueMs(); !ok || due != 1200 {
		t.Fatalf("DeletionDueMs = %d, %v; want 1200, true", due, ok)
	}
	got, err := readSpans(ref)
	if err != nil || !bytes.Equal(got, want) {
		t.Fatalf("spans taken before the removal: %d bytes, %v; want the %d bytes read before", len(got), err, len(want))
	}
	if _, err := l.Retain(1199, l.LogEndOffset(), cfg); err != nil {
		t.Fatal(err)
	}
	if l.PendingDeletions() != removed || cov.Of(cover.SegmentDeletionDelayed) != 0 {
		t.Fatalf("a Retain before the delay passed deleted files: %d pending of %d", l.PendingDeletions(), removed)
	}
	if _, err := l.Retain(1200, l.LogEndOffset(), cfg); err != nil {
		t.Fatal(err)
	}
	if got := deletedNames(fsys, testDir); len(got) != 0 || l.PendingDeletions() != 0 {
		t.Fatalf("after the delay: .deleted files %v, %d pending; want none", got, l.PendingDeletions())
	}
	if _, ok := l.DeletionDueMs(); ok {
		t.Fatal("DeletionDueMs reports a deletion after all were carried out")
	}
	if n := cov.Of(cover.SegmentDeletionDelayed); n != uint64(removed) {
		t.Fatalf("segment-deletion-delayed hit %d times; want %d", n, removed)
	}
	if _, err := readSpans(ref); err == nil {
		t.Fatal("a span of a deleted segment still reads")
	}
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
}

// TestNoDeletionDelayRemovesAtOnce: with file.delete.delay.ms 0 the
// removed segments' files go with the removal and their spans are stale.
func TestNoDeletionDelayRemovesAtOnce(t *testing.T) {
	fsys, l, cfg, _ := retainedLog(t, 0)
	ref, err := l.ReadSpans(0, l.LogEndOffset(), 1<<30, true)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := l.Retain(200, l.LogEndOffset(), cfg); err != nil {
		t.Fatal(err)
	}
	if got := deletedNames(fsys, testDir); len(got) != 0 || fsys.Exists(fileName(testDir, 0, logExt)) {
		t.Fatalf("files left: .deleted %v; want none and no segment 0", got)
	}
	if _, ok := l.DeletionDueMs(); ok {
		t.Fatal("a deletion is pending")
	}
	if _, err := readSpans(ref); err == nil {
		t.Fatal("a span of a deleted segment still reads")
	}
}

// TestCloseAndDeleteCarryOutPendingDeletions: Close removes the pending
// .deleted files at once; so does Delete with the directory.
func TestCloseAndDeleteCarryOutPendingDeletions(t *testing.T) {
	for _, del := range []bool{false, true} {
		fsys, l, cfg, _ := retainedLog(t, 60000)
		if _, err := l.Retain(200, l.LogEndOffset(), cfg); err != nil {
			t.Fatal(err)
		}
		if l.PendingDeletions() == 0 {
			t.Fatal("nothing pending")
		}
		if del {
			if err := l.Delete(); err != nil {
				t.Fatal(err)
			}
			if fsys.Exists(testDir) {
				t.Fatal("Delete left the directory")
			}
			continue
		}
		if err := l.Close(); err != nil {
			t.Fatal(err)
		}
		if got := deletedNames(fsys, testDir); len(got) != 0 {
			t.Fatalf("Close left %v", got)
		}
	}
}

// TestTruncationAndRestartDelayDeletion: the segments a follower's
// TruncateTo and RestartAt remove wait for the delay too, and a segment
// made again at a removed one's base and removed in turn takes its
// .deleted names while the earlier files stay readable until their own
// deletion.
func TestTruncationAndRestartDelayDeletion(t *testing.T) {
	cfg := testCfg()
	cfg.FileDeleteDelayMs = 500
	fsys := memfs.New()
	l := openLog(t, fsys, cfg)
	appendN(t, l, cfg, 40, 3, 10)
	last := l.active().base
	ref, err := l.ReadSpans(last, l.LogEndOffset(), 1<<30, true)
	if err != nil {
		t.Fatal(err)
	}
	want, _ := readSpans(ref)
	if err := l.TruncateTo(last-1, 100, cfg); err != nil {
		t.Fatal(err)
	}
	if due, ok := l.DeletionDueMs(); !ok || due != 600 {
		t.Fatalf("after TruncateTo at 100: due %d, %v; want 600", due, ok)
	}
	if got := deletedNames(fsys, testDir); len(got) != 3 {
		t.Fatalf(".deleted files %v; want the removed segment's 3", got)
	}
	// Appends roll a segment at the same base again; a second truncation
	// removes it: its files take the .deleted names.
	for l.active().base <= last {
		appendN(t, l, cfg, 1, 3, 10)
	}
	segs := l.Segments()
	if err := l.TruncateTo(last-1, 300, cfg); err != nil {
		t.Fatal(err)
	}
	n2 := segs - l.Segments()
	if got := deletedNames(fsys, testDir); len(got) != 3*n2 || l.PendingDeletions() != 1+n2 {
		t.Fatalf(".deleted files %v with %d pending; want the 3 files of each of the %d just removed, and %d pending", got, l.PendingDeletions(), n2, 1+n2)
	}
	if got, err := readSpans(ref); err != nil || !bytes.Equal(got, want) {
		t.Fatalf("the first removed segment's span: %v; want its bytes", err)
	}
	if _, err := l.Retain(600, l.LogEndOffset(), cfg); err != nil {
		t.Fatal(err)
	}
	if got := deletedNames(fsys, testDir); len(got) != 3*n2 || l.PendingDeletions() != n2 {
		t.Fatalf("at 600: .deleted files %v with %d pending; want the second removal's %d", got, l.PendingDeletions(), n2)
	}
	if err := l.RestartAt(l.LogEndOffset()+50, nil, 700, cfg); err != nil {
		t.Fatal(err)
	}
	if due, ok := l.DeletionDueMs(); !ok || due != 800 {
		t.Fatalf("after RestartAt at 700: due %d, %v; want 800 (the earlier one)", due, ok)
	}
	if _, err := l.Retain(1200, l.LogEndOffset(), cfg); err != nil {
		t.Fatal(err)
	}
	if got := deletedNames(fsys, testDir); len(got) != 0 || l.PendingDeletions() != 0 {
		t.Fatalf("at 1200: .deleted files %v, %d pending; want none", got, l.PendingDeletions())
	}
}

// TestOpenRemovesDeletedLeftovers: .deleted files a crash left are
// removed by Open and never taken for segments.
func TestOpenRemovesDeletedLeftovers(t *testing.T) {
	cfg := testCfg()
	cfg.FileDeleteDelayMs = 60000
	fsys, l, _, _ := retainedLog(t, 60000)
	if _, err := l.Retain(200, l.LogEndOffset(), cfg); err != nil {
		t.Fatal(err)
	}
	left := deletedNames(fsys, testDir)
	if len(left) == 0 {
		t.Fatal("nothing renamed")
	}
	start, end := l.LogStartOffset(), l.LogEndOffset()
	want := readAll(t, l, start)
	fsys.ProcessCrash()
	l2 := openLog(t, fsys, cfg)
	if got := deletedNames(fsys, testDir); len(got) != 0 {
		t.Fatalf("Open left %v", got)
	}
	if l2.LogStartOffset() != start || l2.LogEndOffset() != end || !bytes.Equal(readAll(t, l2, start), want) {
		t.Fatalf("reopened [%d, %d); want [%d, %d) with the same batches", l2.LogStartOffset(), l2.LogEndOffset(), start, end)
	}
}

// TestDelayedDeletionCrashAtEveryOperation crashes, before each file
// operation in turn, the Retain that renames the removed segments aside
// and the one that deletes them, and a TruncateTo that renames later
// segments aside, as a power loss or a process crash, and checks that
// the log recovers as after a crash of an immediate deletion: the log
// start and the batches from it kept (a rename lost brings a segment
// below the start back, as a lost removal does), the truncated log a
// prefix of the original, and no .deleted file left.
func TestDelayedDeletionCrashAtEveryOperation(t *testing.T) {
	type step struct {
		name string
		prep func(l *Log, cfg core.LogConfig) // before the crashed call
		run  func(l *Log, cfg core.LogConfig) error
	}
	retain := func(now int64) func(l *Log, cfg core.LogConfig) error {
		return func(l *Log, cfg core.LogConfig) error { _, err := l.Retain(now, l.LogEndOffset(), cfg); return err }
	}
	steps := []step{
		{"retain renames", func(*Log, core.LogConfig) {}, retain(200)},
		{"retain deletes", func(l *Log, cfg core.LogConfig) { retain(200)(l, cfg) }, retain(5000)},
		{"truncate renames", func(*Log, core.LogConfig) {}, func(l *Log, cfg core.LogConfig) error {
			return l.TruncateTo(l.segs[len(l.segs)-3].base+1, 200, cfg)
		}},
	}
	for _, st := range steps {
		count := func() int {
			fsys, l, cfg, _ := retainedLog(t, 1000)
			st.prep(l, cfg)
			ops := 0
			fsys.Inject = func(string, string) error { ops++; return nil }
			if err := st.run(l, cfg); err != nil {
				t.Fatal(err)
			}
			return ops
		}
		ops := count()
		if ops < 3 {
			t.Fatalf("%s: only %d file operations", st.name, ops)
		}
		for k := 0; k < ops; k++ {
			for _, power := range []bool{true, false} {
				fsys, l, cfg, _ := retainedLog(t, 1000)
				if err := l.Sync(); err != nil {
					t.Fatal(err)
				}
				st.prep(l, cfg)
				start, end := l.LogStartOffset(), l.LogEndOffset()
				original := readAll(t, l, start)
				n := 0
				var hit crashAt
				fsys.Inject = func(op, p string) error {
					if n++; n == k+1 {
						hit = crashAt{op, path.Base(p)}
						panic(hit)
					}
					return nil
				}
				func() {
					defer func() { _ = recover() }()
					_ = st.run(l, cfg)
				}()
				fsys.Inject = nil
				if power {
					fsys.Crash(rand.New(rand.NewPCG(uint64(k), 5)))
				} else {
					fsys.ProcessCrash()
				}
				what := fmt.Sprintf("%s: crash before op %d (%s %s, power loss %v)", st.name, k, hit.op, hit.path, power)
				l2, err := Open(fsys, testDir, cfg)
				if err != nil {
					t.Fatalf("%s: reopen: %v", what, err)
				}
				if got := deletedNames(fsys, testDir); len(got) != 0 {
					t.Fatalf("%s: Open left %v", what, got)
				}
				if l2.LogStartOffset() != start || l2.LogEndOffset() > end {
					t.Fatalf("%s: log [%d, %d); want the start %d and an end <= %d", what, l2.LogStartOffset(), l2.LogEndOffset(), start, end)
				}
				if got := readAll(t, l2, start); !bytes.HasPrefix(original, got) {
					t.Fatalf("%s: the recovered batches are not a prefix of the original", what)
				}
				if !strings.HasPrefix(st.name, "truncate") && l2.LogEndOffset() != end {
					t.Fatalf("%s: log end %d; want %d", what, l2.LogEndOffset(), end)
				}
				l2.Close()
			}
		}
	}
}
