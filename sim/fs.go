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

func newSimFS(n *node) *simFS {
	m := memfs.New()
	w := n.w
	s := &simFS{FS: m, w: w}
	m.Inject = func(op, path string) error {
		w.trace.fold(w.now, trFS, 0, 0, []byte(op+" "+path))
		n.maybeCrashAt(op, path)
		n.noteCleanState(op, path)
		if err := n.maybeDiskFull(op, path); err != nil {
			return err
		}
		return n.maybeIOError(op, path)
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

func (n *node) maybeCrashAt(op, path string) {
	w := n.w
	cp := n.crashAt
	if cp == nil || !n.inBroker || !w.faulting() || n.scrubbing {
		return // (a crash amid the scrubber's reads is a crash between events)
	}
	switch cp.op {
	case "", op:
	case opSyncAfterRoll:
		if op != memfs.OpSync || !strings.HasSuffix(path, ".log") || nextSegment(n.fs.Files(), path) == "" {
			return
		}
	default:
		return
	}
	if cp.skip > 0 {
		cp.skip--
		return
	}
	n.crashAt = nil
	panic(crashNow{op: op, path: path})
}

// handle runs one event through the broker. A crash point unwinds to
// here and becomes a crash; any other panic is a broker bug that ends
// the run with its stack. A paused broker process does not run: the
// event waits, in order, as data waits in a socket buffer.
//
// Requests waiting in the burst inbox go first, in one burst with ev, so
// that nothing overtakes a request that arrived before it.
func (n *node) handle(ev core.Event) {
	evs := append(n.inbox, ev)
	n.inbox = nil
	n.handleBurst(evs)
}

func (n *node) handleBurst(evs []core.Event) {
	if n.paused {
		n.pausedEvents = append(n.pausedEvents, evs...)
		return
	}
	defer n.recoverBroker()
	n.inBroker = true
	n.drv.HandleBurst(evs)
	n.inBroker = false
}

func (n *node) recoverBroker() {
	w := n.w
	n.inBroker = false
	r := recover()
	if r == nil {
		return
	}
	if cn, ok := r.(crashNow); ok {
		w.logf("crash at %s %s", cn.op, cn.path)
		w.count("crash-at-io")
		n.drv, n.up = nil, true // so that crash finds a running broker
		n.crash()
		w.after(1+core.Instant(w.rng.Int64N(int64(n.crashDownMax))), n.restart)
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

func (n *node) maybeIOError(op, path string) error {
	w := n.w
	ep := n.ioErr
	if ep == nil || !n.inBroker || n.drv == nil || !w.faulting() || op != ep.op || !strings.HasSuffix(path, ".log") {
		return nil
	}
	if ep.skip > 0 {
		ep.skip--
		return nil
	}
	n.ioErr = nil
	w.count("io-error")
	w.logf("injected %s error on %s", op, path)
	// The partition goes offline until a restart: the operator restarts
	// the broker (as kill -9) a little later.
	inc := n.incarnation
	w.after(1+core.Instant(w.rng.Int64N(int64(ep.restartMax))), func() {
		if n.up && n.incarnation == inc {
			n.crash()
			w.after(1e6, n.restart)
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
func (n *node) maybeDiskFull(op, path string) error {
	w := n.w
	if op != memfs.OpWrite || w.now >= n.diskFullEnd || !n.inBroker || n.drv == nil {
		return nil
	}
	n.diskFullHits++
	if n.diskFullHits == 1 {
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
//
// Scrubbed completions are not held: the scrubber's pace, one Scrub at a
// time, would otherwise draw from the world's random source every tick.
func (n *node) hold(ev core.Event) bool {
	w := n.w
	f := n.slowDisk
	if _, scrub := ev.(core.Scrubbed); scrub {
		n.scrubbing = false
		return false
	}
	if f == nil || !w.faulting() || w.rng.Float64() >= f.prob {
		return false
	}
	delay := 1 + core.Instant(w.rng.Int64N(int64(f.delayMax)))
	w.disturb(delay)
	w.count("slow-disk")
	inc := n.incarnation
	w.after(delay, func() {
		if !n.up || n.incarnation != inc {
			return // the process that waited for it is gone
		}
		w.trace.fold(w.now, trHeld, 0, 0, nil)
		n.handle(ev)
	})
	return true
}

// pause stops the broker process for d: no ticks, no events handled.
// What arrives meanwhile is handled in order when it resumes.
func (n *node) pause(d core.Instant) {
	w := n.w
	n.paused = true
	w.disturb(d)
	w.trace.fold(w.now, trFault, uint64(d), 0, []byte("pause"))
	inc := n.incarnation
	w.after(d, func() {
		if !n.up || n.incarnation != inc || !n.paused {
			return
		}
		n.paused = false
		// What waited during the pause came before requests still in
		// the burst inbox: handle it first, in order.
		q := append(n.pausedEvents, n.inbox...)
		n.pausedEvents, n.inbox = nil, nil
		n.tick()
		for _, ev := range q {
			if !n.up || n.incarnation != inc || n.paused {
				return // a crash point fired while catching up
			}
			n.handle(ev)
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
func (n *node) flipUnsyncedBit() {
	w := n.w
	var candidates []string
	var from, to []int64
	for _, name := range n.fs.Files() {
		if !strings.HasSuffix(name, ".log") {
			continue
		}
		synced, _ := n.fs.SyncedSize(name)
		written, _ := n.fs.WrittenSize(name)
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
	if err := n.fs.Corrupt(candidates[i], off); err != nil {
		panic(err)
	}
	w.count("bit-flip")
	w.logf("flipped a bit of %s at %d (unsynced %d..%d)", candidates[i], off, from[i], to[i])
}
