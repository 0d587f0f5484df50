package kio

import (
	"fmt"
	"maps"
	"slices"
	"strings"

	"cloudkafka/core"
)

// ZTree is ZooKeeper's data model held in memory: a tree of znodes with
// data and versions, ephemeral nodes owned by sessions, sequential names,
// conditional writes, and one-shot watches. The embedded coordinator
// persists its persistent nodes; the simulator's ensemble shares one tree
// among its brokers' sessions. It is deterministic: the same operations
// give the same results and the same watch notifications, in order.
type ZTree struct {
	nodes       map[string]*znode
	sessions    map[int64]*zsession
	nextSession int64
	// zxid numbers the creations, as ZooKeeper's transaction ids do:
	// a node's Czxid tells one incarnation of a path from another. A
	// restored tree numbers its nodes anew.
	zxid int64
	// track, when set (TrackChanges), records which persistent znodes
	// changed since they were last persisted, and how to undo a write in
	// progress. The simulator's ensemble leaves it nil.
	track *ztrack
}

// ztrack is the change tracking of a tree that is persisted by its
// changes (the embedded coordinator's write-ahead log).
type ztrack struct {
	// dirty maps each path changed since the last Persisted to its
	// persistent state then (ok false: absent or ephemeral). Bounded by
	// the paths one write touches, plus those of session closes between
	// writes.
	dirty map[string]savedState
	// undo reverses, run last to first, every change since Begin; nil
	// outside a write.
	undo []func()
	// writing is set between Begin and Commit or Rollback.
	writing bool
}

// savedState is a path's persistent state: its znode, or ok false when
// there is none (absent, or ephemeral).
type savedState struct {
	z  SavedZnode
	ok bool
}

type znode struct {
	data     []byte
	stat     core.CoordStat
	children map[string]bool // names, not paths
	// creates counts the children ever created: ZooKeeper's internal
	// child version, which names sequential children (the reported
	// CVersion counts deletions too).
	creates int32
}

// zsession is one client session: the ephemeral nodes it owns and the
// watches it left (data watches: Get, Exists; child watches: Children).
type zsession struct {
	ephemerals   map[string]bool
	dataWatches  map[string]bool
	childWatches map[string]bool
}

// WatchFired is one watch notification for a session.
type WatchFired struct {
	Session int64
	Path    string
	Type    core.CoordWatchType
}

// NewZTree returns a tree holding only the root.
func NewZTree() *ZTree {
	return &ZTree{nodes: map[string]*znode{"/": {children: map[string]bool{}}}, sessions: map[int64]*zsession{}}
}

// Clone returns an independent copy of the tree, sessions and watches
// included (change tracking not: the copy does not track).
func (t *ZTree) Clone() *ZTree {
	c := &ZTree{nodes: make(map[string]*znode, len(t.nodes)), sessions: make(map[int64]*zsession, len(t.sessions)), nextSession: t.nextSession, zxid: t.zxid}
	// order-independent: copied into maps
	for p, n := range t.nodes {
		c.nodes[p] = &znode{data: n.data, stat: n.stat, children: maps.Clone(n.children), creates: n.creates}
	}
	// order-independent: copied into a map
	for id, s := range t.sessions {
		c.sessions[id] = &zsession{ephemerals: maps.Clone(s.ephemerals), dataWatches: maps.Clone(s.dataWatches), childWatches: maps.Clone(s.childWatches)}
	}
	return c
}

// OpenSession starts a session and returns its id (never 0).
func (t *ZTree) OpenSession() int64 {
	t.nextSession++
	t.sessions[t.nextSession] = &zsession{ephemerals: map[string]bool{}, dataWatches: map[string]bool{}, childWatches: map[string]bool{}}
	return t.nextSession
}

// HasSession says whether session id is open.
func (t *ZTree) HasSession(id int64) bool { return t.sessions[id] != nil }

// CloseSession ends a session, as its expiry does: its ephemeral nodes
// are deleted (notifying the other sessions' watches) and its watches
// dropped. An unknown session is a no-op.
func (t *ZTree) CloseSession(id int64) []WatchFired {
	s := t.sessions[id]
	if s == nil {
		return nil
	}
	delete(t.sessions, id)
	var fired []WatchFired
	for _, p := range slices.Sorted(maps.Keys(s.ephemerals)) {
		if t.nodes[p] != nil {
			fired = t.remove(p, fired)
		}
	}
	return fired
}

// Apply performs op for session (0: no session, which may not create
// ephemeral nodes or leave watches) and returns its result and the
// watches it fired. A failed operation changes nothing.
func (t *ZTree) Apply(session int64, op core.CoordOp) (core.CoordResult, []WatchFired) {
	res := core.CoordResult{Token: op.Token}
	s := t.sessions[session]
	if session != 0 && s == nil {
		res.Err = core.ErrCoordSessionExpired
		return res, nil
	}
	if err := CheckZPath(op.Path); err != nil {
		res.Err = err
		return res, nil
	}
	if g := op.Guard; g != nil {
		if err := CheckZPath(g.Path); err != nil {
			res.Err = err
			return res, nil
		}
		n := t.nodes[g.Path]
		switch {
		case n == nil:
			res.Err = fmt.Errorf("%w: guard %s", core.ErrCoordNoNode, g.Path)
			return res, nil
		case g.Version != core.CoordAnyVersion && n.stat.Version != g.Version:
			res.Err = fmt.Errorf("%w: guard %s is at version %d, not %d", core.ErrCoordBadVersion, g.Path, n.stat.Version, g.Version)
			return res, nil
		}
	}
	var fired []WatchFired
	switch op.Kind {
	case core.CoordCreate:
		res.Path, fired, res.Err = t.create(s, session, op)
		if res.Err == nil {
			res.Stat = t.stat(res.Path)
		}
	case core.CoordSet:
		fired, res.Err = t.set(op)
		if res.Err == nil {
			res.Stat = t.stat(op.Path)
		}
	case core.CoordDelete:
		fired, res.Err = t.delete(op)
	case core.CoordGet:
		n := t.nodes[op.Path]
		if n == nil {
			res.Err = fmt.Errorf("%w: %s", core.ErrCoordNoNode, op.Path)
			break
		}
		res.Data, res.Stat = slices.Clone(n.data), t.stat(op.Path)
		if op.Watch && s != nil {
			s.dataWatches[op.Path] = true
		}
	case core.CoordExists:
		if op.Watch && s != nil {
			s.dataWatches[op.Path] = true // fires on creation too
		}
		if t.nodes[op.Path] == nil {
			res.Err = fmt.Errorf("%w: %s", core.ErrCoordNoNode, op.Path)
			break
		}
		res.Stat = t.stat(op.Path)
	case core.CoordChildren:
		n := t.nodes[op.Path]
		if n == nil {
			res.Err = fmt.Errorf("%w: %s", core.ErrCoordNoNode, op.Path)
			break
		}
		res.Children, res.Stat = slices.Sorted(maps.Keys(n.children)), t.stat(op.Path)
		if op.Watch && s != nil {
			s.childWatches[op.Path] = true
		}
	default:
		res.Err = fmt.Errorf("%w: unknown coordination op %d", core.ErrCoordBadArguments, op.Kind)
	}
	return res, fired
}

func (t *ZTree) create(s *zsession, session int64, op core.CoordOp) (string, []WatchFired, error) {
	if op.Path == "/" {
		return "", nil, fmt.Errorf("%w: /", core.ErrCoordNodeExists)
	}
	if op.Ephemeral && s == nil {
		return "", nil, fmt.Errorf("%w: an ephemeral node needs a session", core.ErrCoordSessionExpired)
	}
	parent, _ := splitPath(op.Path)
	var missing []string // ancestors to create, outermost first
	existing := parent
	for ; t.nodes[existing] == nil; existing, _ = splitPath(existing) {
		missing = append([]string{existing}, missing...)
	}
	switch {
	case len(missing) > 0 && !op.Parents:
		return "", nil, fmt.Errorf("%w: parent %s of %s", core.ErrCoordNoNode, parent, op.Path)
	case t.nodes[existing].stat.EphemeralOwner != 0:
		return "", nil, fmt.Errorf("%w: %s", core.ErrCoordNoChildrenForEphemerals, existing)
	}
	path := op.Path
	if op.Sequential {
		seq := int32(0) // a parent created now has had no children
		if len(missing) == 0 {
			seq = t.nodes[parent].creates
		}
		path = fmt.Sprintf("%s%010d", op.Path, seq)
	}
	if t.nodes[path] != nil {
		return "", nil, fmt.Errorf("%w: %s", core.ErrCoordNodeExists, path)
	}
	var fired []WatchFired
	for _, p := range missing {
		fired = t.add(p, nil, 0, fired)
	}
	owner := int64(0)
	if op.Ephemeral {
		owner = session
		s.ephemerals[path] = true
		t.onUndo(func() { delete(s.ephemerals, path) })
	}
	fired = t.add(path, slices.Clone(op.Data), owner, fired)
	return path, fired, nil
}

// add links a new node under its (existing) parent.
func (t *ZTree) add(path string, data []byte, owner int64, fired []WatchFired) []WatchFired {
	parent, name := splitPath(path)
	t.touch(parent)
	t.touch(path)
	pn := t.nodes[parent]
	pn.children[name] = true
	pn.creates++
	pn.stat.CVersion++
	pn.stat.NumChildren++
	t.zxid++
	t.nodes[path] = &znode{data: data, stat: core.CoordStat{EphemeralOwner: owner, Czxid: t.zxid}, children: map[string]bool{}}
	t.onUndo(func() {
		delete(t.nodes, path)
		t.zxid--
		pn.stat.NumChildren--
		pn.stat.CVersion--
		pn.creates--
		delete(pn.children, name)
	})
	fired = t.fire(path, core.WatchNodeCreated, fired, true, false)
	return t.fire(parent, core.WatchNodeChildrenChanged, fired, false, true)
}

func (t *ZTree) set(op core.CoordOp) ([]WatchFired, error) {
	n := t.nodes[op.Path]
	if n == nil {
		if !op.Upsert {
			return nil, fmt.Errorf("%w: %s", core.ErrCoordNoNode, op.Path)
		}
		if op.Version != core.CoordAnyVersion && op.Version != 0 {
			return nil, fmt.Errorf("%w: %s does not exist", core.ErrCoordBadVersion, op.Path)
		}
		_, fired, err := t.create(nil, 0, core.CoordOp{Kind: core.CoordCreate, Path: op.Path, Data: op.Data, Parents: true})
		return fired, err
	}
	if op.Version != core.CoordAnyVersion && n.stat.Version != op.Version {
		return nil, fmt.Errorf("%w: %s is at version %d, not %d", core.ErrCoordBadVersion, op.Path, n.stat.Version, op.Version)
	}
	t.touch(op.Path)
	data, version := n.data, n.stat.Version
	n.data = slices.Clone(op.Data)
	n.stat.Version++
	t.onUndo(func() { n.data, n.stat.Version = data, version })
	return t.fire(op.Path, core.WatchNodeDataChanged, nil, true, false), nil
}

func (t *ZTree) delete(op core.CoordOp) ([]WatchFired, error) {
	if op.Path == "/" {
		return nil, fmt.Errorf("%w: the root cannot be deleted", core.ErrCoordBadArguments)
	}
	n := t.nodes[op.Path]
	switch {
	case n == nil:
		return nil, fmt.Errorf("%w: %s", core.ErrCoordNoNode, op.Path)
	case op.Version != core.CoordAnyVersion && n.stat.Version != op.Version:
		return nil, fmt.Errorf("%w: %s is at version %d, not %d", core.ErrCoordBadVersion, op.Path, n.stat.Version, op.Version)
	case len(n.children) > 0 && !op.Recursive:
		return nil, fmt.Errorf("%w: %s", core.ErrCoordNotEmpty, op.Path)
	}
	return t.remove(op.Path, nil), nil
}

// remove deletes path and its subtree, deepest first.
func (t *ZTree) remove(path string, fired []WatchFired) []WatchFired {
	n := t.nodes[path]
	for _, c := range slices.Sorted(maps.Keys(n.children)) {
		fired = t.remove(joinPath(path, c), fired)
	}
	if n.stat.EphemeralOwner != 0 {
		if s := t.sessions[n.stat.EphemeralOwner]; s != nil && s.ephemerals[path] {
			delete(s.ephemerals, path)
			t.onUndo(func() { s.ephemerals[path] = true })
		}
	}
	parent, name := splitPath(path)
	t.touch(parent)
	t.touch(path)
	delete(t.nodes, path)
	pn := t.nodes[parent]
	delete(pn.children, name)
	pn.stat.CVersion++
	pn.stat.NumChildren--
	t.onUndo(func() {
		pn.stat.NumChildren++
		pn.stat.CVersion--
		pn.children[name] = true
		t.nodes[path] = n
	})
	fired = t.fire(path, core.WatchNodeDeleted, fired, true, true)
	return t.fire(parent, core.WatchNodeChildrenChanged, fired, false, true)
}

// fire notifies, in session order, each session watching path with one
// of the kinds of watch (child watches when child, data watches when
// data) once, as ZooKeeper's server does: a watch is spent when it
// fires, and a session holding both kinds gets one notification.
func (t *ZTree) fire(path string, typ core.CoordWatchType, fired []WatchFired, data, child bool) []WatchFired {
	for _, id := range slices.Sorted(maps.Keys(t.sessions)) {
		s := t.sessions[id]
		hitData, hitChild := data && s.dataWatches[path], child && s.childWatches[path]
		if hitData {
			delete(s.dataWatches, path)
			t.onUndo(func() { s.dataWatches[path] = true })
		}
		if hitChild {
			delete(s.childWatches, path)
			t.onUndo(func() { s.childWatches[path] = true })
		}
		if hitData || hitChild {
			fired = append(fired, WatchFired{Session: id, Path: path, Type: typ})
		}
	}
	return fired
}

func (t *ZTree) stat(path string) core.CoordStat { return t.nodes[path].stat }

// SavedZnode is a persistent znode as a snapshot keeps it: its data and
// the versions that conditional writes and sequential names depend on.
type SavedZnode struct {
	Path     string
	Data     []byte
	Version  int32 `json:",omitempty"`
	CVersion int32 `json:",omitempty"`
	Creates  int32 `json:",omitempty"`
}

func (z SavedZnode) equal(o SavedZnode) bool {
	return z.Path == o.Path && slices.Equal(z.Data, o.Data) && z.Version == o.Version && z.CVersion == o.CVersion && z.Creates == o.Creates
}

// Snapshot lists the persistent znodes (not the root; the root's
// versions are kept under the path "/"), sorted by path.
func (t *ZTree) Snapshot() []SavedZnode {
	var out []SavedZnode
	for _, p := range slices.Sorted(maps.Keys(t.nodes)) {
		if n := t.nodes[p]; n.stat.EphemeralOwner == 0 {
			out = append(out, SavedZnode{Path: p, Data: slices.Clone(n.data), Version: n.stat.Version,
				CVersion: n.stat.CVersion, Creates: n.creates})
		}
	}
	return out
}

// Persistent lists the persistent znodes (not the root), sorted by path.
func (t *ZTree) Persistent() []core.Znode {
	var out []core.Znode
	for _, z := range t.Snapshot() {
		if z.Path != "/" {
			out = append(out, core.Znode{Path: z.Path, Data: z.Data})
		}
	}
	return out
}

// Restore recreates a snapshot's znodes, data and versions in a tree
// that holds only the root. Missing parents are created empty.
func (t *ZTree) Restore(znodes []SavedZnode) error {
	for _, z := range znodes {
		if t.nodes[z.Path] != nil {
			// the root, or a parent created empty for an earlier entry
			t.nodes[z.Path].data = slices.Clone(z.Data)
			continue
		}
		if res, _ := t.Apply(0, core.CoordOp{Kind: core.CoordCreate, Path: z.Path, Data: z.Data, Parents: true}); res.Err != nil {
			return res.Err
		}
	}
	for _, z := range znodes {
		n := t.nodes[z.Path]
		n.stat.Version, n.stat.CVersion, n.creates = z.Version, z.CVersion, z.Creates
	}
	return nil
}

// CheckZPath applies ZooKeeper's path rules: absolute, no empty, "." or
// ".." component, no trailing slash (the root excepted), no NUL.
func CheckZPath(p string) error {
	if p == "/" {
		return nil
	}
	if !strings.HasPrefix(p, "/") || strings.HasSuffix(p, "/") || strings.ContainsRune(p, 0) {
		return fmt.Errorf("%w: invalid path %q", core.ErrCoordBadArguments, p)
	}
	for _, c := range strings.Split(p[1:], "/") {
		if c == "" || c == "." || c == ".." {
			return fmt.Errorf("%w: invalid path %q", core.ErrCoordBadArguments, p)
		}
	}
	return nil
}

func splitPath(p string) (parent, name string) {
	i := strings.LastIndexByte(p, '/')
	if i == 0 {
		return "/", p[1:]
	}
	return p[:i], p[i+1:]
}

func joinPath(parent, name string) string {
	if parent == "/" {
		return "/" + name
	}
	return parent + "/" + name
}

// ZChange is one persistent znode's new state after a write: Znode, or,
// when Deleted, no persistent znode at Znode.Path any more.
type ZChange struct {
	Znode   SavedZnode
	Deleted bool
}

// TrackChanges starts tracking changes: from now on Changes lists the
// persistent znodes that differ from the tree as it is now, and writes
// may be undone (Begin, Rollback). The embedded coordinator persists a
// tree this way, by its changes, at a cost proportional to each write.
func (t *ZTree) TrackChanges() {
	t.track = &ztrack{dirty: map[string]savedState{}}
}

// Begin starts a write that Rollback can undo, or Commit keep. The tree
// must be tracking changes, and no other write may be in progress.
func (t *ZTree) Begin() {
	if t.track == nil || t.track.writing {
		panic("ztree: Begin without change tracking, or inside a write")
	}
	t.track.writing = true
}

// Commit keeps the changes made since Begin.
func (t *ZTree) Commit() {
	t.endWrite()
	t.track.undo = t.track.undo[:0]
}

// Rollback undoes every change made since Begin, znodes, sessions'
// ephemeral nodes and watches alike: the tree is as it was then.
func (t *ZTree) Rollback() {
	t.endWrite()
	u := t.track.undo
	for i := len(u) - 1; i >= 0; i-- {
		u[i]()
	}
	t.track.undo = u[:0]
}

func (t *ZTree) endWrite() {
	if t.track == nil || !t.track.writing {
		panic("ztree: Commit or Rollback outside a write")
	}
	t.track.writing = false
}

// Changes lists, sorted by path, the persistent znodes that differ from
// the tree as it was when last Persisted (or when tracking started):
// created, changed (data, versions) or gone (deleted, or replaced by an
// ephemeral node). A write that touched only ephemeral znodes has none.
// Its cost is proportional to the paths changed, not to the tree. The
// tree must be tracking changes, as for Persisted.
func (t *ZTree) Changes() []ZChange {
	var out []ZChange
	for _, p := range slices.Sorted(maps.Keys(t.track.dirty)) {
		was, now := t.track.dirty[p], t.saved(p)
		switch {
		case now.ok && (!was.ok || !now.z.equal(was.z)):
			out = append(out, ZChange{Znode: now.z})
		case !now.ok && was.ok:
			out = append(out, ZChange{Znode: SavedZnode{Path: p}, Deleted: true})
		}
	}
	return out
}

// Persisted says that the tree as it is now is persisted: Changes starts
// afresh.
func (t *ZTree) Persisted() { clear(t.track.dirty) }

// touch notes, before the first change to path since it was last
// persisted, its persistent state then.
func (t *ZTree) touch(path string) {
	if t.track == nil {
		return
	}
	if _, ok := t.track.dirty[path]; !ok {
		t.track.dirty[path] = t.saved(path)
	}
}

// onUndo records how to reverse a change, during a write.
func (t *ZTree) onUndo(f func()) {
	if t.track != nil && t.track.writing {
		t.track.undo = append(t.track.undo, f)
	}
}

// saved is path's persistent state now.
func (t *ZTree) saved(path string) savedState {
	n := t.nodes[path]
	if n == nil || n.stat.EphemeralOwner != 0 {
		return savedState{}
	}
	return savedState{z: SavedZnode{Path: path, Data: n.data, Version: n.stat.Version, CVersion: n.stat.CVersion, Creates: n.creates}, ok: true}
}
