package kio

import (
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"path"
	"slices"
	"strings"

	"cloudkafka/core"
)

// Coordinator is the coordination port: a ZooKeeper-shaped store of
// znodes in Kafka's layout. The single-node broker uses FileCoordinator;
// clusters will use ZooKeeper itself.
type Coordinator interface {
	// Load returns every persistent znode, sorted by path.
	Load() ([]core.Znode, error)
	// Apply performs one operation (durably, if it writes) before
	// returning its result.
	Apply(op core.CoordOp) core.CoordResult
	// Session is the current session's id.
	Session() int64
	// TakeWatches returns, and forgets, the session's watch
	// notifications fired since the last call (a coordinator that
	// delivers them otherwise returns none).
	TakeWatches() []core.CoordWatchFired
}

// FileCoordinator is the embedded single-node coordinator: a ZTree whose
// persistent znodes are kept in the directory as a snapshot and a
// write-ahead log. Its session is the process's: ephemeral znodes end
// with it.
//
// # Files
//
//	coordinator.snapshot      JSON (see snapshot): every persistent znode
//	                          as of some moment, and its generation G
//	coordinator.wal           a log of generation G: the writes since
//	                          that moment (see coordwal.go)
//	coordinator.snapshot.tmp  a compaction's snapshot being written
//	coordinator.wal.tmp       a compaction's empty log being written
//
// (The log is not named .log, the suffix of partition segments, so that
// nothing that looks for segments takes it for one.)
//
// A write appends one record to the log and fsyncs it before Apply
// returns: the persistent znodes the write changed, whole (and those a
// session's end changed since the previous record: the child versions of
// its ephemeral znodes' parents). Its cost is its own size, not the
// store's. A write that changes no persistent znode writes nothing. A
// failed append is cut off again (truncate, fsync) and the write fails
// and changes nothing, in memory (ZTree.Rollback) or on disk; if even the
// cut fails, the store is failed (below) and the write's outcome unknown
// (core.ErrCoordConnectionLoss).
//
// # Compaction
//
// Once the log holds more than max(snapshot size, WALBytesMin) bytes of
// records, the write that crossed the bound (after its record is durable)
// compacts, from generation G to G+1:
//
//  1. write coordinator.snapshot.tmp: every persistent znode, G+1; fsync
//  2. write coordinator.wal.tmp: the header of an empty log of G+1; fsync
//  3. rename the snapshot into place; fsync the directory
//  4. rename the log into place; fsync the directory
//
// Open reads the snapshot (generation 0 if absent or written before
// generations existed), then the log:
//
//   - no log, or a log of an older generation: the snapshot is the store
//     (a crash between 3 and 4; a directory from before the log existed);
//     Open writes an empty log of the snapshot's generation, as 2 and 4 do
//   - a log of the same generation: its records are replayed over the
//     snapshot; a torn tail (a crash in an append) is cut off and logged
//   - a log of a newer generation: damage, an error (4 never becomes
//     durable before 3, whose directory fsync comes first)
//
// and then fsyncs the log and the directory: after the death of the
// process alone, what it replays may have been written yet not synced,
// or renamed without the directory's fsync, and writes must not build on
// state a power loss would still take away.
//
// So a crash at any step recovers the same znodes: before 3 is durable,
// the old snapshot and the old log (1 and 2 left temporaries, which Open
// removes); after 3, the new snapshot, with either the old log (older:
// ignored, every record of it being in the snapshot) or the new, empty
// one. Appends are synced one at a time, so only the last record can be
// torn: a damaged record followed by an intact one means the disk lost
// acknowledged data, and Open fails with an error naming it rather than
// drop what follows. (Damage to the last record itself looks like a torn
// append, and is cut off.)
//
// A failed step 1 or 2 leaves the files as they were: compaction is tried
// again once the log has grown by the bound again. A failed rename or
// directory fsync (3, 4) leaves the files in a state that only Open can
// tell, so the store fails: every later write returns the error (reads
// go on) until the process reopens the directory, which recovers one of
// the states above.
type FileCoordinator struct {
	fs      FS
	dir     string
	logf    func(format string, args ...any)
	tree    *ZTree
	session int64
	fired   []core.CoordWatchFired // the session's, not yet taken

	gen           uint64 // the generation of the snapshot and of the open log
	wal           File   // the log, open for appends
	walEnd        int64  // the log's size: header and every durable record
	compactAt     int64  // the log size from which a write compacts
	walBytesMin   int64  // the least a log grows to between compactions
	snapshotBytes int64  // the size of the snapshot (0: none yet)
	// failed, once set, fails every write: the store's files are in a
	// state only Open can tell.
	failed error
	buf    []byte // a record being encoded, reused
}

// The store's files inside the log directory.
const (
	CoordinatorFile    = "coordinator.snapshot"
	CoordinatorWALFile = "coordinator.wal"
)

// DefaultCoordWALBytesMin is how far the log grows, at least, before it
// is compacted into a new snapshot: with a larger snapshot, the
// snapshot's size, so that compaction costs each logged byte O(1).
const DefaultCoordWALBytesMin = 4 << 20

// tmpSuffix names a file being written, before its rename.
const tmpSuffix = ".tmp"

// FileCoordinatorOptions tunes OpenFileCoordinatorWith.
type FileCoordinatorOptions struct {
	// Logf hears what Open repaired (a torn log tail cut off, a stale
	// log replaced) and what failed in a compaction. Nil: discarded.
	Logf func(format string, args ...any)
	// WALBytesMin is the least the log grows to before a compaction,
	// in bytes of records. 0: DefaultCoordWALBytesMin.
	WALBytesMin int64
}

// snapshot is the file format: version 1, znodes sorted by path (their
// versions were added later, without a format change: a file that lacks
// them restores them as 0; so was Generation, the generation of the log
// that continues the snapshot: 0 when absent).
type snapshot struct {
	Version    int          `json:"version"`
	Generation uint64       `json:"generation,omitempty"`
	Znodes     []SavedZnode `json:"znodes"`
}

// OpenFileCoordinator opens, or creates, the store in dir with default
// options.
func OpenFileCoordinator(fs FS, dir string) (*FileCoordinator, error) {
	return OpenFileCoordinatorWith(fs, dir, FileCoordinatorOptions{})
}

// OpenFileCoordinatorWith opens, or creates, the store in dir: it loads
// the snapshot, if any, and replays the log over it (see
// FileCoordinator), repairing what a crash left.
func OpenFileCoordinatorWith(fs FS, dir string, o FileCoordinatorOptions) (*FileCoordinator, error) {
	c := &FileCoordinator{fs: fs, dir: dir, logf: o.Logf, tree: NewZTree(), walBytesMin: o.WALBytesMin}
	if c.logf == nil {
		c.logf = func(string, ...any) {}
	}
	if c.walBytesMin <= 0 {
		c.walBytesMin = DefaultCoordWALBytesMin
	}
	if err := fs.MkdirAll(dir); err != nil {
		return nil, fmt.Errorf("create coordinator directory: %w", err)
	}
	for _, name := range []string{CoordinatorFile, CoordinatorWALFile} {
		if tmp := c.path(name) + tmpSuffix; fs.Exists(tmp) {
			_ = fs.Remove(tmp) // a compaction's leftover; harmless if it stays
		}
	}
	znodes, err := c.loadSnapshot()
	if err != nil {
		return nil, err
	}
	if err := c.recoverWAL(znodes); err != nil {
		return nil, err
	}
	if err := c.tree.Restore(slices.SortedFunc(maps.Values(znodes), func(a, b SavedZnode) int {
		return strings.Compare(a.Path, b.Path)
	})); err != nil {
		c.wal.Close()
		return nil, fmt.Errorf("coordinator store in %s: %w", dir, err)
	}
	c.tree.TrackChanges()
	c.session = c.tree.OpenSession()
	c.compactAt = walHeaderBytes + c.walBound() // a long replayed log compacts at the next write
	return c, nil
}

func (c *FileCoordinator) path(name string) string { return path.Join(c.dir, name) }

// walBound is how many bytes of records the log holds before a
// compaction.
func (c *FileCoordinator) walBound() int64 { return max(c.snapshotBytes, c.walBytesMin) }

// loadSnapshot reads the snapshot's znodes, by path, and its generation.
func (c *FileCoordinator) loadSnapshot() (map[string]SavedZnode, error) {
	znodes := map[string]SavedZnode{}
	name := c.path(CoordinatorFile)
	if !c.fs.Exists(name) {
		return znodes, nil
	}
	buf, err := readWhole(c.fs, name)
	if err != nil {
		return nil, fmt.Errorf("read coordinator snapshot: %w", err)
	}
	var s snapshot
	if err := json.Unmarshal(buf, &s); err != nil || s.Version != 1 {
		return nil, fmt.Errorf("coordinator snapshot %s is corrupt (version %d): %v", name, s.Version, err)
	}
	for _, z := range s.Znodes {
		znodes[z.Path] = z
	}
	c.gen, c.snapshotBytes = s.Generation, int64(len(buf))
	return znodes, nil
}

// recoverWAL replays the log over the snapshot's znodes and opens it for
// appends, or starts an empty one (see FileCoordinator).
func (c *FileCoordinator) recoverWAL(znodes map[string]SavedZnode) error {
	name := c.path(CoordinatorWALFile)
	if !c.fs.Exists(name) {
		return c.startWAL()
	}
	data, err := readWhole(c.fs, name)
	if err != nil {
		return fmt.Errorf("read coordinator log: %w", err)
	}
	gen, err := parseWALHeader(data)
	switch {
	case err != nil:
		return fmt.Errorf("coordinator log %s is corrupt: %w", name, err)
	case gen > c.gen:
		return fmt.Errorf("coordinator log %s is of generation %d, newer than the snapshot's %d: the snapshot was lost", name, gen, c.gen)
	case gen < c.gen:
		c.logf("coordinator: %s is of generation %d, older than the snapshot's %d (a compaction ended by a crash): starting an empty log", name, gen, c.gen)
		return c.startWAL()
	}
	end, torn, err := scanWAL(data, func(changes []ZChange) {
		for _, ch := range changes {
			if ch.Deleted {
				delete(znodes, ch.Znode.Path)
			} else {
				znodes[ch.Znode.Path] = ch.Znode
			}
		}
	})
	if err != nil {
		return fmt.Errorf("coordinator log %s is corrupt: %w", name, err)
	}
	if c.wal, err = c.fs.OpenFile(name, false); err != nil {
		return fmt.Errorf("open coordinator log: %w", err)
	}
	c.walEnd = int64(end)
	if torn != "" {
		c.logf("coordinator: %s: cutting a torn tail of %d bytes after the last intact record (%s)", name, len(data)-end, torn)
		err = c.wal.Truncate(c.walEnd)
	}
	// What was replayed may have been written and never synced (the
	// process died, the machine did not), and its name may not be
	// durable: make both so before anything builds on them.
	if err == nil {
		err = c.wal.Sync()
	}
	if err == nil {
		err = c.fs.SyncDir(c.dir)
	}
	if err != nil {
		c.wal.Close()
		return fmt.Errorf("make coordinator log durable: %w", err)
	}
	return nil
}

// startWAL makes an empty log of the current generation durable, in
// place of any other, and opens it.
func (c *FileCoordinator) startWAL() error {
	name := c.path(CoordinatorWALFile)
	if err := writeTemp(c.fs, name, appendWALHeader(nil, c.gen)); err != nil {
		return fmt.Errorf("start coordinator log: %w", err)
	}
	if err := commitTemp(c.fs, name); err != nil {
		return fmt.Errorf("start coordinator log: %w", err)
	}
	return c.openWAL()
}

func (c *FileCoordinator) openWAL() error {
	f, err := c.fs.OpenFile(c.path(CoordinatorWALFile), false)
	if err != nil {
		return fmt.Errorf("open coordinator log: %w", err)
	}
	c.wal, c.walEnd = f, walHeaderBytes
	return nil
}

// Session implements Coordinator.
func (c *FileCoordinator) Session() int64 { return c.session }

// TakeWatches implements Coordinator.
func (c *FileCoordinator) TakeWatches() []core.CoordWatchFired {
	f := c.fired
	c.fired = nil
	return f
}

// keep holds the notifications of the coordinator's session.
func (c *FileCoordinator) keep(fired []WatchFired) {
	for _, f := range fired {
		if f.Session == c.session {
			c.fired = append(c.fired, core.CoordWatchFired{Path: f.Path, Type: f.Type})
		}
	}
}

// OpenPeerSession opens another session on the store; ClosePeerSession
// ends it as its expiry would.
func (c *FileCoordinator) OpenPeerSession() int64 { return c.tree.OpenSession() }

// ClosePeerSession: see OpenPeerSession.
func (c *FileCoordinator) ClosePeerSession(id int64) { c.keep(c.tree.CloseSession(id)) }

// ExpireSession ends the session as a ZooKeeper session expiry does (its
// ephemeral znodes go) and starts a new one, whose id it returns. The
// simulator uses it; the embedded coordinator's session otherwise lasts
// as long as the process.
func (c *FileCoordinator) ExpireSession() int64 {
	c.tree.CloseSession(c.session)
	c.session = c.tree.OpenSession()
	return c.session
}

// Load implements Coordinator.
func (c *FileCoordinator) Load() ([]core.Znode, error) { return c.tree.Persistent(), nil }

// Apply implements Coordinator. A write is applied to the tree, then its
// record appended to the log and fsynced; if that fails, the write is
// undone: a failed save changes nothing.
func (c *FileCoordinator) Apply(op core.CoordOp) core.CoordResult { return c.apply(c.session, op) }

// ApplyAs performs op for another session of the same store, as another
// broker would (the simulator's peers; the session comes from
// OpenPeerSession), durably as Apply does. Notifications for the
// coordinator's own session are kept for TakeWatches.
func (c *FileCoordinator) ApplyAs(session int64, op core.CoordOp) core.CoordResult {
	return c.apply(session, op)
}

func (c *FileCoordinator) apply(session int64, op core.CoordOp) core.CoordResult {
	switch op.Kind {
	case core.CoordGet, core.CoordExists, core.CoordChildren:
		res, _ := c.tree.Apply(session, op) // reads fire nothing
		return res
	}
	if c.failed != nil {
		return core.CoordResult{Token: op.Token, Err: c.failed}
	}
	c.tree.Begin()
	res, fired := c.tree.Apply(session, op)
	if res.Err != nil {
		c.tree.Rollback() // nothing to undo: a failed operation changes nothing
		return res
	}
	if err := c.persist(); err != nil {
		c.tree.Rollback()
		return core.CoordResult{Token: op.Token, Err: err}
	}
	c.tree.Commit()
	c.keep(fired)
	if c.walEnd >= c.compactAt {
		c.compact()
	}
	return res
}

// persist appends the record of the tree's changes (since the last
// record: a session closed in between changed parents' child versions)
// to the log, durably. Ephemeral znodes alone are not saved: they end
// with the process.
func (c *FileCoordinator) persist() error {
	changes := c.tree.Changes()
	if len(changes) == 0 {
		c.tree.Persisted()
		return nil
	}
	rec, err := appendWALRecord(c.buf[:0], changes)
	if err != nil {
		return err
	}
	if cap(rec) <= walBufBytesMax {
		c.buf = rec
	}
	if err := c.append(rec); err != nil {
		return err
	}
	c.walEnd += int64(len(rec))
	c.tree.Persisted()
	return nil
}

// walBufBytesMax bounds the encoding buffer the coordinator keeps.
const walBufBytesMax = 64 << 10

// append writes rec at the log's end and fsyncs it. On failure it cuts
// the log back to its end; if that fails too, whether rec is on disk is
// unknown, and the store fails.
func (c *FileCoordinator) append(rec []byte) error {
	_, err := c.wal.WriteAt(rec, c.walEnd)
	if err == nil {
		err = c.wal.Sync()
	}
	if err == nil {
		return nil
	}
	cut := c.wal.Truncate(c.walEnd)
	if cut == nil {
		cut = c.wal.Sync()
	}
	if cut != nil {
		c.fail(fmt.Errorf("cut coordinator log after a failed append: %w", cut))
		return fmt.Errorf("%w: coordinator log append failed (%v) and could not be cut back: %v", core.ErrCoordConnectionLoss, err, cut)
	}
	return fmt.Errorf("append to coordinator log: %w", err)
}

// compact writes a snapshot of the tree and starts an empty log (see
// FileCoordinator for the steps and what a crash at each leaves).
func (c *FileCoordinator) compact() {
	gen := c.gen + 1
	data, err := json.Marshal(snapshot{Version: 1, Generation: gen, Znodes: c.tree.Snapshot()})
	if err != nil {
		panic(fmt.Sprintf("coordinator: encode snapshot: %v", err)) // SavedZnode always encodes
	}
	snap, wal := c.path(CoordinatorFile), c.path(CoordinatorWALFile)
	err = writeTemp(c.fs, snap, data)
	if err == nil {
		err = writeTemp(c.fs, wal, appendWALHeader(nil, gen))
	}
	if err != nil {
		c.logf("coordinator: compaction postponed: %v", err)
		c.compactAt = c.walEnd + c.walBound()
		return
	}
	if err := commitTemp(c.fs, snap); err != nil {
		c.fail(fmt.Errorf("compaction: %w", err))
		return
	}
	if err := commitTemp(c.fs, wal); err != nil {
		c.fail(fmt.Errorf("compaction: %w", err))
		return
	}
	c.wal.Close() // the old log's file, unlinked: nothing to lose
	if err := c.openWAL(); err != nil {
		c.fail(fmt.Errorf("compaction: %w", err))
		return
	}
	c.gen, c.snapshotBytes = gen, int64(len(data))
	c.compactAt = c.walEnd + c.walBound()
}

// ErrCoordStoreFailed is the error of every write to a FileCoordinator
// whose files are in a state only a reopen can tell (see
// FileCoordinator): the write did not happen.
var ErrCoordStoreFailed = errors.New("coordinator store failed, restart to recover")

// fail makes every later write fail with err.
func (c *FileCoordinator) fail(err error) {
	c.failed = fmt.Errorf("%w: %w", ErrCoordStoreFailed, err)
	c.logf("coordinator: %v", c.failed)
}

// writeTemp writes data to name's temporary file and fsyncs it: the
// first half of an atomic replace.
func writeTemp(fs FS, name string, data []byte) error {
	return WriteSynced(fs, name+tmpSuffix, data)
}

// WriteSynced makes name hold exactly data, fsynced (the directory entry
// of a new file is not): the first half of an atomic replace, whose
// rename follows.
func WriteSynced(fs FS, name string, data []byte) error {
	f, err := fs.OpenFile(name, true)
	if err != nil {
		return fmt.Errorf("write %s: %w", name, err)
	}
	err = f.Truncate(0)
	if err == nil {
		_, err = f.WriteAt(data, 0)
	}
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("write %s: %w", name, err)
	}
	return nil
}

// commitTemp renames name's temporary file to name and fsyncs the
// directory: the second half.
func commitTemp(fs FS, name string) error {
	if err := fs.Rename(name+tmpSuffix, name); err != nil {
		return fmt.Errorf("replace %s: %w", name, err)
	}
	if err := fs.SyncDir(path.Dir(name)); err != nil {
		return fmt.Errorf("sync directory of %s: %w", name, err)
	}
	return nil
}

// readWhole reads the file name.
func readWhole(fs FS, name string) ([]byte, error) {
	f, err := fs.OpenFile(name, false)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	size, err := f.Size()
	if err != nil {
		return nil, err
	}
	buf := make([]byte, size)
	if size == 0 {
		return buf, nil
	}
	if _, err := f.ReadAt(buf, 0); err != nil {
		return nil, err
	}
	return buf, nil
}
