package kio

import (
	"encoding/json"
	"fmt"
	"path"
	"slices"

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
// persistent znodes are saved, after every write, as one JSON snapshot
// file replaced atomically (write temporary, sync, rename, sync
// directory). Its session is the process's: ephemeral znodes end with it.
type FileCoordinator struct {
	fs      FS
	dir     string
	name    string
	tree    *ZTree
	session int64
	fired   []core.CoordWatchFired // the session's, not yet taken
}

// CoordinatorFile is the snapshot's name inside the log directory.
const CoordinatorFile = "coordinator.snapshot"

// snapshot is the file format: version 1, znodes sorted by path (their
// versions were added later, without a format change: a file that lacks
// them restores them as 0).
type snapshot struct {
	Version int          `json:"version"`
	Znodes  []SavedZnode `json:"znodes"`
}

// OpenFileCoordinator loads the snapshot in dir, if any.
func OpenFileCoordinator(fs FS, dir string) (*FileCoordinator, error) {
	c := &FileCoordinator{fs: fs, dir: dir, name: path.Join(dir, CoordinatorFile), tree: NewZTree()}
	c.session = c.tree.OpenSession()
	if !fs.Exists(c.name) {
		return c, nil
	}
	f, err := fs.OpenFile(c.name, false)
	if err != nil {
		return nil, fmt.Errorf("open coordinator snapshot: %w", err)
	}
	defer f.Close()
	size, err := f.Size()
	if err != nil {
		return nil, fmt.Errorf("size coordinator snapshot: %w", err)
	}
	buf := make([]byte, size)
	if _, err := f.ReadAt(buf, 0); err != nil {
		return nil, fmt.Errorf("read coordinator snapshot: %w", err)
	}
	var s snapshot
	if err := json.Unmarshal(buf, &s); err != nil || s.Version != 1 {
		return nil, fmt.Errorf("coordinator snapshot %s is corrupt (version %d): %v", c.name, s.Version, err)
	}
	if err := c.tree.Restore(s.Znodes); err != nil {
		return nil, fmt.Errorf("coordinator snapshot %s: %w", c.name, err)
	}
	return c, nil
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

// Apply implements Coordinator. A write is applied to a copy of the tree,
// which replaces it once the snapshot is durable: a failed save changes
// nothing.
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
	next := c.tree.Clone()
	res, fired := next.Apply(session, op)
	if res.Err != nil {
		return res
	}
	if snap := next.Snapshot(); !slices.EqualFunc(snap, c.tree.Snapshot(), SavedZnode.equal) {
		// ephemeral nodes alone are not saved: they end with the process
		if err := c.persist(snap); err != nil {
			return core.CoordResult{Token: op.Token, Err: err}
		}
	}
	c.tree = next
	c.keep(fired)
	return res
}

func (c *FileCoordinator) persist(znodes []SavedZnode) error {
	data, err := json.Marshal(snapshot{Version: 1, Znodes: znodes})
	if err != nil {
		return fmt.Errorf("encode coordinator snapshot: %w", err)
	}
	tmp := c.name + ".tmp"
	f, err := c.fs.OpenFile(tmp, true)
	if err != nil {
		return fmt.Errorf("write coordinator snapshot: %w", err)
	}
	if err := writeAllSync(f, data); err != nil {
		f.Close()
		return fmt.Errorf("write coordinator snapshot: %w", err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("close coordinator snapshot: %w", err)
	}
	if err := c.fs.Rename(tmp, c.name); err != nil {
		return fmt.Errorf("replace coordinator snapshot: %w", err)
	}
	if err := c.fs.SyncDir(c.dir); err != nil {
		return fmt.Errorf("sync log directory: %w", err)
	}
	return nil
}

func writeAllSync(f File, data []byte) error {
	if err := f.Truncate(0); err != nil {
		return err
	}
	if _, err := f.WriteAt(data, 0); err != nil {
		return err
	}
	return f.Sync()
}
