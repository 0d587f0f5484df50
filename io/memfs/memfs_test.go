package memfs

import (
	"bytes"
	"errors"
	"io/fs"
	"math/rand/v2"
	"slices"
	"testing"

	kio "cloudkafka/io"
)

func mustOpen(t *testing.T, m *FS, name string) kio.File {
	t.Helper()
	f, err := m.OpenFile(name, true)
	if err != nil {
		t.Fatal(err)
	}
	return f
}

func write(t *testing.T, f kio.File, off int64, s string) {
	t.Helper()
	if _, err := f.WriteAt([]byte(s), off); err != nil {
		t.Fatal(err)
	}
}

func content(t *testing.T, m *FS, name string) string {
	t.Helper()
	b, err := m.ReadFile(name)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func TestCrashKeepsOnlySyncedData(t *testing.T) {
	m := New()
	if err := m.MkdirAll("/d"); err != nil {
		t.Fatal(err)
	}
	f := mustOpen(t, m, "/d/a")
	write(t, f, 0, "hello")
	if err := f.Sync(); err != nil {
		t.Fatal(err)
	}
	if err := m.SyncDir("/d"); err != nil {
		t.Fatal(err)
	}
	write(t, f, 5, " world")
	write(t, f, 0, "J")
	m.Crash(rand.New(rand.NewPCG(1, 2)))
	if got := content(t, m, "/d/a"); got != "hello" {
		t.Fatalf("got %q; want %q", got, "hello")
	}
	if _, err := f.WriteAt([]byte("x"), 0); !errors.Is(err, ErrStale) {
		t.Fatalf("write on stale handle: got %v; want ErrStale", err)
	}
}

func TestNamesNeedSyncDir(t *testing.T) {
	m := New()
	_ = m.MkdirAll("/d")
	f := mustOpen(t, m, "/d/new")
	write(t, f, 0, "data")
	_ = f.Sync()
	old := mustOpen(t, m, "/d/old")
	_ = old.Sync()
	_ = m.SyncDir("/d")
	g := mustOpen(t, m, "/d/unsynced-name")
	_ = g.Sync()
	if err := m.Remove("/d/old"); err != nil {
		t.Fatal(err)
	}
	m.Crash(rand.New(rand.NewPCG(1, 2)))
	names, err := m.ReadDir("/d")
	if err != nil {
		t.Fatal(err)
	}
	if want := []string{"new", "old"}; !slices.Equal(names, want) {
		t.Fatalf("got %v; want %v", names, want)
	}
}

func TestRenameDurableAfterSyncDir(t *testing.T) {
	m := New()
	_ = m.MkdirAll("/d")
	f := mustOpen(t, m, "/d/tmp")
	write(t, f, 0, "v1")
	_ = f.Sync()
	if err := m.Rename("/d/tmp", "/d/final"); err != nil {
		t.Fatal(err)
	}
	_ = m.SyncDir("/d")
	m.Crash(rand.New(rand.NewPCG(1, 2)))
	if got := content(t, m, "/d/final"); got != "v1" {
		t.Fatalf("got %q; want v1", got)
	}
	if m.Exists("/d/tmp") {
		t.Fatal("tmp survived the rename")
	}
}

func TestTornTailIsPrefixOfUnsynced(t *testing.T) {
	for seed := range uint64(50) {
		m := New()
		m.Policy = CrashPolicy{TornTailProb: 1}
		f := mustOpen(t, m, "/f")
		write(t, f, 0, "synced|")
		_ = f.Sync()
		_ = m.SyncDir("/")
		write(t, f, 7, "unsynced-tail")
		m.Crash(rand.New(rand.NewPCG(seed, 0)))
		got := content(t, m, "/f")
		if !bytes.HasPrefix([]byte("synced|unsynced-tail"), []byte(got)) || len(got) < 7 {
			t.Fatalf("seed %d: got %q; want a prefix of the written data at least the synced part", seed, got)
		}
	}
}

func TestCrashIsDeterministic(t *testing.T) {
	run := func() string {
		m := New()
		m.Policy = CrashPolicy{TornTailProb: 0.5, GarbageProb: 0.5, GarbageBytesMax: 16}
		for _, n := range []string{"/a", "/b", "/c"} {
			f := mustOpen(t, m, n)
			write(t, f, 0, "base")
			_ = f.Sync()
			write(t, f, 4, "-unsynced-bytes")
		}
		_ = m.SyncDir("/")
		m.Crash(rand.New(rand.NewPCG(7, 7)))
		return content(t, m, "/a") + content(t, m, "/b") + content(t, m, "/c")
	}
	if a, b := run(), run(); a != b {
		t.Fatalf("got %q then %q; want equal", a, b)
	}
}

func TestInjectFailsWithoutEffect(t *testing.T) {
	m := New()
	boom := errors.New("disk full")
	f := mustOpen(t, m, "/f")
	m.Inject = func(op, path string) error {
		if op == OpWrite || op == OpSync {
			return boom
		}
		return nil
	}
	if _, err := f.WriteAt([]byte("x"), 0); !errors.Is(err, boom) {
		t.Fatalf("got %v; want %v", err, boom)
	}
	if err := f.Sync(); !errors.Is(err, boom) {
		t.Fatalf("got %v; want %v", err, boom)
	}
	if n, _ := f.Size(); n != 0 {
		t.Fatalf("got size %d; want 0", n)
	}
}

func TestCorruptFlipsDurably(t *testing.T) {
	m := New()
	f := mustOpen(t, m, "/f")
	write(t, f, 0, "abc")
	_ = f.Sync()
	_ = m.SyncDir("/")
	if err := m.Corrupt("/f", 1); err != nil {
		t.Fatal(err)
	}
	m.Crash(rand.New(rand.NewPCG(0, 0)))
	if got := content(t, m, "/f"); got != "acc" {
		t.Fatalf("got %q; want %q", got, "acc")
	}
}

func TestDirectoryOps(t *testing.T) {
	m := New()
	if _, err := m.OpenFile("/nodir/f", true); !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("got %v; want ErrNotExist", err)
	}
	_ = m.MkdirAll("/a/b/c")
	mustOpen(t, m, "/a/b/f")
	names, _ := m.ReadDir("/a/b")
	if want := []string{"c", "f"}; !slices.Equal(names, want) {
		t.Fatalf("got %v; want %v", names, want)
	}
	if err := m.Remove("/a/b"); err == nil {
		t.Fatal("removed a non-empty directory")
	}
	if err := m.RemoveAll("/a"); err != nil {
		t.Fatal(err)
	}
	if m.Exists("/a/b/f") || m.Exists("/a") {
		t.Fatal("RemoveAll left entries")
	}
	if err := m.RemoveAll("/a"); err != nil {
		t.Fatalf("RemoveAll of a missing dir: %v", err)
	}
}

func TestReadAtEOF(t *testing.T) {
	m := New()
	f := mustOpen(t, m, "/f")
	write(t, f, 0, "abc")
	buf := make([]byte, 5)
	n, err := f.ReadAt(buf, 1)
	if n != 2 || err == nil {
		t.Fatalf("got n=%d err=%v; want 2 and io.EOF", n, err)
	}
}

// TestIncrementalSync checks that Sync, which copies only what changed
// since the last one, leaves exactly the written image durable after
// appends, overwrites inside the synced prefix, truncation and holes.
func TestIncrementalSync(t *testing.T) {
	m := New()
	f := mustOpen(t, m, "/a")
	if err := m.SyncDir("/"); err != nil {
		t.Fatal(err)
	}
	sync := func() {
		t.Helper()
		if err := f.Sync(); err != nil {
			t.Fatal(err)
		}
	}
	steps := []struct {
		do   func()
		want string
	}{
		{func() { write(t, f, 0, "abcdef") }, "abcdef"},
		{func() { write(t, f, 6, "gh") }, "abcdefgh"},
		{func() { write(t, f, 1, "XY") }, "aXYdefgh"},
		{func() {
			if err := f.Truncate(3); err != nil {
				t.Fatal(err)
			}
		}, "aXY"},
		{func() { write(t, f, 5, "Z") }, "aXY\x00\x00Z"},
		{func() {
			if err := f.Truncate(2); err != nil {
				t.Fatal(err)
			}
			write(t, f, 2, "QRS")
		}, "aXQRS"},
	}
	for i, s := range steps {
		s.do()
		sync()
		m.Crash(rand.New(rand.NewPCG(uint64(i), 0)))
		if got := content(t, m, "/a"); got != s.want {
			t.Fatalf("step %d: after sync and crash got %q; want %q", i, got, s.want)
		}
		f = mustOpen(t, m, "/a")
	}
}

// syncedFile returns an FS holding /f with "synced|" durable and
// "unsynced-tail" written after it.
func syncedFile(t *testing.T, p CrashPolicy) (*FS, kio.File) {
	t.Helper()
	m := New()
	m.Policy = p
	f := mustOpen(t, m, "/f")
	write(t, f, 0, "synced|")
	if err := f.Sync(); err != nil {
		t.Fatal(err)
	}
	if err := m.SyncDir("/"); err != nil {
		t.Fatal(err)
	}
	write(t, f, 7, "unsynced-tail")
	return m, f
}

func TestKeepOnCrashPinsTheSurvivor(t *testing.T) {
	// Whatever the policy would draw (drop all, or keep with garbage),
	// the pin decides, for one crash.
	policies := []CrashPolicy{{}, {TornTailProb: 1, GarbageProb: 1, GarbageBytesMax: 16}}
	for _, p := range policies {
		for _, tc := range []struct {
			size int64
			want string
		}{{7, "synced|"}, {10, "synced|uns"}, {20, "synced|unsynced-tail"}} {
			m, _ := syncedFile(t, p)
			if err := m.KeepOnCrash("/f", tc.size); err != nil {
				t.Fatal(err)
			}
			m.Crash(rand.New(rand.NewPCG(3, 3)))
			if got := content(t, m, "/f"); got != tc.want {
				t.Fatalf("policy %+v, keep %d: got %q; want %q", p, tc.size, got, tc.want)
			}
			if n, _ := m.SyncedSize("/f"); n != int64(len(tc.want)) {
				t.Fatalf("synced size %d; want %d", n, len(tc.want))
			}
			// The pin is spent: the next crash follows the policy.
			f := mustOpen(t, m, "/f")
			write(t, f, int64(len(tc.want)), "more")
			m.Crash(rand.New(rand.NewPCG(3, 3)))
			if p.TornTailProb == 0 && content(t, m, "/f") != tc.want {
				t.Fatalf("second crash kept %q; want %q", content(t, m, "/f"), tc.want)
			}
		}
	}
}

func TestKeepOnCrashRefusesSizesOutsideTheTail(t *testing.T) {
	m, _ := syncedFile(t, CrashPolicy{})
	for _, size := range []int64{-1, 6, 21} {
		if err := m.KeepOnCrash("/f", size); err == nil {
			t.Fatalf("keep %d: got nil; want an error (synced 7, written 20)", size)
		}
	}
	if err := m.KeepOnCrash("/missing", 0); !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("got %v; want ErrNotExist", err)
	}
}

func TestKeepOnCrashCannotInventOrLose(t *testing.T) {
	// A truncation after the pin leaves less to keep; a sync after it
	// makes more durable. The crash clamps to what exists.
	m, f := syncedFile(t, CrashPolicy{})
	if err := m.KeepOnCrash("/f", 20); err != nil {
		t.Fatal(err)
	}
	if err := f.Truncate(12); err != nil {
		t.Fatal(err)
	}
	m.Crash(rand.New(rand.NewPCG(1, 1)))
	if got := content(t, m, "/f"); got != "synced|unsyn" {
		t.Fatalf("got %q; want %q", got, "synced|unsyn")
	}
	m, f = syncedFile(t, CrashPolicy{})
	if err := m.KeepOnCrash("/f", 7); err != nil {
		t.Fatal(err)
	}
	if err := f.Sync(); err != nil {
		t.Fatal(err)
	}
	m.Crash(rand.New(rand.NewPCG(1, 1)))
	if got := content(t, m, "/f"); got != "synced|unsynced-tail" {
		t.Fatalf("got %q; want %q", got, "synced|unsynced-tail")
	}
}

func TestFlipInTailSurvivesOnlyWhenKept(t *testing.T) {
	m, _ := syncedFile(t, CrashPolicy{})
	if err := m.Flip("/f", 8, 0x20); err != nil { // 'n' -> 'N'
		t.Fatal(err)
	}
	if got := content(t, m, "/f"); got != "synced|uNsynced-tail" {
		t.Fatalf("written image %q; want %q", got, "synced|uNsynced-tail")
	}
	if err := m.KeepOnCrash("/f", 9); err != nil {
		t.Fatal(err)
	}
	m.Crash(rand.New(rand.NewPCG(1, 1)))
	if got := content(t, m, "/f"); got != "synced|uN" {
		t.Fatalf("got %q; want %q", got, "synced|uN")
	}
	// A flip in synced data is in both images.
	if err := m.Flip("/f", 0, 0x20); err != nil {
		t.Fatal(err)
	}
	m.Crash(rand.New(rand.NewPCG(1, 1)))
	if got := content(t, m, "/f"); got != "Synced|uN" {
		t.Fatalf("got %q; want %q", got, "Synced|uN")
	}
}

func TestExtendIsDurable(t *testing.T) {
	m, _ := syncedFile(t, CrashPolicy{})
	if err := m.Extend("/f", []byte("x")); err == nil {
		t.Fatal("extend with an unsynced tail: got nil; want an error")
	}
	m.Crash(rand.New(rand.NewPCG(1, 1)))
	if err := m.Extend("/f", []byte("old")); err != nil {
		t.Fatal(err)
	}
	m.Crash(rand.New(rand.NewPCG(1, 1)))
	if got := content(t, m, "/f"); got != "synced|old" {
		t.Fatalf("got %q; want %q", got, "synced|old")
	}
}

func TestCommitNamesIsSyncDirWithoutInject(t *testing.T) {
	m := New()
	m.Inject = func(op, path string) error {
		if op == OpSyncDir {
			return errors.New("refused")
		}
		return nil
	}
	f := mustOpen(t, m, "/new")
	write(t, f, 0, "data")
	if err := f.Sync(); err != nil {
		t.Fatal(err)
	}
	if err := m.CommitNames("/"); err != nil {
		t.Fatal(err)
	}
	m.Crash(rand.New(rand.NewPCG(1, 1)))
	if got := content(t, m, "/new"); got != "data" {
		t.Fatalf("got %q; want %q", got, "data")
	}
	if err := m.CommitNames("/nodir"); !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("got %v; want ErrNotExist", err)
	}
}

func TestCloneIsIndependent(t *testing.T) {
	m := New()
	if err := m.MkdirAll("/d"); err != nil {
		t.Fatal(err)
	}
	f := mustOpen(t, m, "/d/a")
	write(t, f, 0, "synced")
	if err := f.Sync(); err != nil {
		t.Fatal(err)
	}
	if err := m.SyncDir("/d"); err != nil {
		t.Fatal(err)
	}
	write(t, f, 6, "+tail")
	c := m.Clone()
	write(t, f, 0, "CHANGED")
	if got := content(t, c, "/d/a"); got != "synced+tail" {
		t.Errorf("clone's written image: got %q; want %q", got, "synced+tail")
	}
	c.Crash(rand.New(rand.NewPCG(1, 2)))
	if got := content(t, c, "/d/a"); got != "synced" {
		t.Errorf("clone after a crash: got %q; want the synced image %q", got, "synced")
	}
	if got := content(t, m, "/d/a"); got != "CHANGEDtail" {
		t.Errorf("original after the clone crashed: got %q; want %q", got, "CHANGEDtail")
	}
}
