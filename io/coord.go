package kio

import (
	"encoding/json"
	"errors"
	"fmt"
	"path"
	"sort"
	"strings"

	"cloudkafka/core"
)

// Coordinator is the coordination port: a ZooKeeper-shaped store of
// znodes in Kafka's layout. The single-node broker uses FileCoordinator;
// clusters will use ZooKeeper itself.
type Coordinator interface {
	// Load returns every znode, sorted by path.
	Load() ([]core.Znode, error)
	// Apply performs one write durably before returning.
	Apply(op core.CoordOp) error
}

// ErrNodeExists is returned by a create of an existing znode.
var ErrNodeExists = errors.New("znode exists")

// FileCoordinator is the embedded single-node coordinator: the znode tree
// held in memory and persisted, after every write, as one JSON snapshot
// file replaced atomically (write temporary, sync, rename, sync directory).
type FileCoordinator struct {
	fs    FS
	dir   string
	name  string
	nodes map[string][]byte
}

// CoordinatorFile is the snapshot's name inside the log directory.
const CoordinatorFile = "coordinator.snapshot"

// snapshot is the file format: version 1, znodes sorted by path.
type snapshot struct {
	Version int          `json:"version"`
	Znodes  []core.Znode `json:"znodes"`
}

// OpenFileCoordinator loads the snapshot in dir, if any.
func OpenFileCoordinator(fs FS, dir string) (*FileCoordinator, error) {
	c := &FileCoordinator{fs: fs, dir: dir, name: path.Join(dir, CoordinatorFile), nodes: map[string][]byte{}}
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
	for _, z := range s.Znodes {
		c.nodes[z.Path] = z.Data
	}
	return c, nil
}

// Load implements Coordinator.
func (c *FileCoordinator) Load() ([]core.Znode, error) {
	out := make([]core.Znode, 0, len(c.nodes))
	// order-independent: collected, then sorted
	for p, d := range c.nodes {
		out = append(out, core.Znode{Path: p, Data: d})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Path < out[j].Path })
	return out, nil
}

// Apply implements Coordinator.
func (c *FileCoordinator) Apply(op core.CoordOp) error {
	next := make(map[string][]byte, len(c.nodes)+1)
	// order-independent: copied into a map
	for p, d := range c.nodes {
		next[p] = d
	}
	switch op.Kind {
	case core.CoordCreate:
		if _, ok := next[op.Path]; ok {
			return fmt.Errorf("%w: %s", ErrNodeExists, op.Path)
		}
		next[op.Path] = op.Data
	case core.CoordSet:
		next[op.Path] = op.Data
	case core.CoordDelete:
		// order-independent: deletes by predicate
		for p := range next {
			if p == op.Path || strings.HasPrefix(p, op.Path+"/") {
				delete(next, p)
			}
		}
	default:
		return fmt.Errorf("unknown coordination op %d", op.Kind)
	}
	if err := c.persist(next); err != nil {
		return err
	}
	c.nodes = next
	return nil
}

func (c *FileCoordinator) persist(nodes map[string][]byte) error {
	s := snapshot{Version: 1}
	// order-independent: collected, then sorted
	for p, d := range nodes {
		s.Znodes = append(s.Znodes, core.Znode{Path: p, Data: d})
	}
	sort.Slice(s.Znodes, func(i, j int) bool { return s.Znodes[i].Path < s.Znodes[j].Path })
	data, err := json.Marshal(s)
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
