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
	if cp == nil || !w.inBroker || !w.faulting() || (cp.op != "" && cp.op != op) {
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
// the run with its stack.
func (w *world) handle(ev core.Event) {
	defer w.recoverBroker()
	w.inBroker = true
	w.drv.Handle(ev)
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
