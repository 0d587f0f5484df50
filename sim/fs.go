package sim

import (
	"errors"
	"runtime/debug"
	"strings"

	"cloudkafka/core"

	kio "cloudkafka/io"
	"cloudkafka/io/memfs"
)

// simFS is the broker's file system: the crashable memfs, with every
// operation folded into the trace (through memfs's Inject hook) and,
// under canaryLyingSync only, a planted bug: Sync of a segment file
// reports success without making anything durable.
type simFS struct {
	*memfs.FS
	w *world
}

func newSimFS(w *world) *simFS {
	m := memfs.New()
	s := &simFS{FS: m, w: w}
	m.Inject = func(op, path string) error {
		w.trace.fold(w.now, trFS, 0, 0, []byte(op+" "+path))
		w.maybeCrashAt(op, path)
		if err := w.maybeDiskFull(op, path); err != nil {
			return err
		}
		return w.maybeIOError(op, path)
	}
	return s
}

func (s *simFS) OpenFile(name string, create bool) (kio.File, error) {
	f, err := s.FS.OpenFile(name, create)
	if err != nil || s.w.cfg.canary != canaryLyingSync || !strings.HasSuffix(name, ".log") {
		return f, err
	}
	return &lyingFile{File: f, w: s.w}, nil
}

// lyingFile skips half of its syncs: the canary for "acknowledged writes
// survive crashes".
type lyingFile struct {
	kio.File
	w *world
}

func (f *lyingFile) Sync() error {
	if f.w.rng.IntN(2) == 0 {
		return nil
	}
	return f.File.Sync()
}

// crashPoint arms a crash at a storage operation: the skip-th next
// operation named op (any operation when op is "") crashes the broker
// before it takes effect. This reaches the states between a write and its
// sync, or in the middle of recovery, that crashes between events never
// see: the driver runs storage effects synchronously within one event.
type crashPoint struct {
	op   string
	skip int
}

// crashNow is the panic that unwinds the broker from a crash point to
// world.handle; nothing of the broker's memory survives it.
type crashNow struct{ op, path string }

func (w *world) maybeCrashAt(op, path string) {
	cp := w.crashAt
	if cp == nil || !w.inBroker || !w.faulting() {
		return
	}
	switch cp.op {
	case "", op:
	case opSyncAfterRoll:
		if op != memfs.OpSync || !strings.HasSuffix(path, ".log") || nextSegment(w.fs.Files(), path) == "" {
			return
		}
	default:
		return
	}
	if cp.skip > 0 {
		cp.skip--
		return
	}
	w.crashAt = nil
	panic(crashNow{op: op, path: path})
}

// handle runs one event through the broker. A crash point unwinds to
// here and becomes a crash; any other panic is a broker bug that ends
// the run with its stack. A paused broker process does not run: the
// event waits, in order, as data waits in a socket buffer.
//
// Requests waiting in the burst inbox go first, in one burst with ev, so
// that nothing overtakes a request that arrived before it.
func (w *world) handle(ev core.Event) {
	evs := append(w.inbox, ev)
	w.inbox = nil
	w.handleBurst(evs)
}

func (w *world) handleBurst(evs []core.Event) {
	if w.paused {
		w.pausedEvents = append(w.pausedEvents, evs...)
		return
	}
	defer w.recoverBroker()
	w.inBroker = true
	w.drv.HandleBurst(evs)
	w.inBroker = false
}

func (w *world) recoverBroker() {
	w.inBroker = false
	r := recover()
	if r == nil {
		return
	}
	if cn, ok := r.(crashNow); ok {
		w.logf("crash at %s %s", cn.op, cn.path)
		w.count("crash-at-io")
		w.drv, w.up = nil, true // so that crash finds a running broker
		w.crash()
		w.after(1+core.Instant(w.rng.Int64N(int64(w.crashDownMax))), w.restart)
		return
	}
	w.fatalf("panic", "broker panicked: %v\n%s", r, debug.Stack())
}

// errInjected is the error an injected IO fault returns, as EIO would.
var errInjected = errors.New("injected IO error")

// ioErrorPoint arms one failing segment-file operation: the skip-th next
// op on a .log file of a running broker fails without effect.
type ioErrorPoint struct {
	op         string
	skip       int
	restartMax core.Instant
}

func (w *world) maybeIOError(op, path string) error {
	ep := w.ioErr
	if ep == nil || !w.inBroker || w.drv == nil || !w.faulting() || op != ep.op || !strings.HasSuffix(path, ".log") {
		return nil
	}
	if ep.skip > 0 {
		ep.skip--
		return nil
	}
	w.ioErr = nil
	w.count("io-error")
	w.logf("injected %s error on %s", op, path)
	// The partition goes offline until a restart: the operator restarts
	// the broker (as kill -9) a little later.
	inc := w.incarnation
	w.after(1+core.Instant(w.rng.Int64N(int64(ep.restartMax))), func() {
		if w.up && w.incarnation == inc {
			w.crash()
			w.after(1e6, w.restart)
		}
	})
	return errInjected
}

// errNoSpace is what a write returns on a full disk, as ENOSPC would.
var errNoSpace = errors.New("no space left on device")

// maybeDiskFull fails every write of the broker, the coordination store's
// snapshot included, while a disk-full window is open. The broker takes
// the partition offline (a storage error) or refuses the metadata change;
// the window's end frees the space and restarts the broker if a write
// failed.
func (w *world) maybeDiskFull(op, path string) error {
	if op != memfs.OpWrite || w.now >= w.diskFullEnd || !w.inBroker || w.drv == nil {
		return nil
	}
	w.diskFullHits++
	if w.diskFullHits == 1 {
		w.count("disk-full")
		w.logf("disk full: write to %s refused", path)
	}
	return errNoSpace
}

// hold is the driver's Hold hook: under a slow disk it keeps a storage
// or coordination completion and hands it to the broker later. The
// operation itself has happened (written, synced, read); only the news
// is late, so a crash meanwhile falls between an operation and its
// acknowledgement. Completions may overtake each other, as with
// asynchronous IO.
func (w *world) hold(ev core.Event) bool {
	f := w.slowDisk
	if f == nil || !w.faulting() || w.rng.Float64() >= f.prob {
		return false
	}
	delay := 1 + core.Instant(w.rng.Int64N(int64(f.delayMax)))
	w.disturb(delay)
	w.count("slow-disk")
	inc := w.incarnation
	w.after(delay, func() {
		if !w.up || w.incarnation != inc {
			return // the process that waited for it is gone
		}
		w.trace.fold(w.now, trHeld, 0, 0, nil)
		w.handle(ev)
	})
	return true
}

// pause stops the broker process for d: no ticks, no events handled.
// What arrives meanwhile is handled in order when it resumes.
func (w *world) pause(d core.Instant) {
	w.paused = true
	w.disturb(d)
	w.trace.fold(w.now, trFault, uint64(d), 0, []byte("pause"))
	inc := w.incarnation
	w.after(d, func() {
		if !w.up || w.incarnation != inc || !w.paused {
			return
		}
		w.paused = false
		// What waited during the pause came before requests still in
		// the burst inbox: handle it first, in order.
		q := append(w.pausedEvents, w.inbox...)
		w.pausedEvents, w.inbox = nil, nil
		w.tick()
		for _, ev := range q {
			if !w.up || w.incarnation != inc || w.paused {
				return // a crash point fired while catching up
			}
			w.handle(ev)
		}
	})
}

// flipUnsyncedBit flips one bit in the written-but-unsynced tail of a
// random segment file, just before a crash: a torn write that left bad
// bytes in the middle of what survives rather than only at its end.
// Recovery must truncate at the damaged batch; nothing acknowledged is
// there, because acknowledgement implies sync. (A flip in synced data is
// media damage that one replica cannot survive; TestSyncedBitFlip shows
// the broker then truncates and never serves the damaged bytes.)
func (w *world) flipUnsyncedBit() {
	var candidates []string
	var from, to []int64
	for _, name := range w.fs.Files() {
		if !strings.HasSuffix(name, ".log") {
			continue
		}
		synced, _ := w.fs.SyncedSize(name)
		written, _ := w.fs.WrittenSize(name)
		if written > synced {
			candidates = append(candidates, name)
			from, to = append(from, synced), append(to, written)
		}
	}
	if len(candidates) == 0 {
		return
	}
	i := w.rng.IntN(len(candidates))
	off := from[i] + w.rng.Int64N(to[i]-from[i])
	if err := w.fs.Corrupt(candidates[i], off); err != nil {
		panic(err)
	}
	w.count("bit-flip")
	w.logf("flipped a bit of %s at %d (unsynced %d..%d)", candidates[i], off, from[i], to[i])
}
