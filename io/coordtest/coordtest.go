// Package coordtest is the conformance suite of the coordination port:
// ZooKeeper's semantics (versions, ephemeral and sequential nodes,
// recursive recipes, guarded writes, one-shot watches, session expiry)
// as scenarios that any store must pass. The in-memory ZTree (the
// embedded coordinator and the simulator's ensemble) and the ZooKeeper
// client against a real server run the same scenarios, which is what
// makes the model the simulator uses a faithful one.
package coordtest

import (
	"errors"
	"fmt"
	"slices"
	"testing"

	"cloudkafka/core"
)

// Store is a coordination store under test, empty at first: its root
// has no children (a real ZooKeeper's is a fresh chroot).
type Store interface {
	// Session opens a new session.
	Session(t *testing.T) Session
}

// Session is one client session of a Store.
type Session interface {
	// ID is the session's id, as ephemeral nodes' owners show it.
	ID() int64
	// Do performs op and returns its result.
	Do(op core.CoordOp) core.CoordResult
	// Expire ends the session as its expiry does.
	Expire(t *testing.T)
	// Watches returns the watch notifications received so far, in
	// order, and forgets them. want is how many the caller expects: a
	// store that receives them asynchronously waits for that many (and
	// a while for any more).
	Watches(t *testing.T, want int) []Watch
}

// Watch is a watch notification as a session receives it.
type Watch struct {
	Path string
	Type core.CoordWatchType
}

func (w Watch) String() string { return w.Type.String() + " " + w.Path }

// Run runs every scenario, each against a new empty store.
func Run(t *testing.T, newStore func(t *testing.T) Store) {
	for _, sc := range []struct {
		name string
		run  func(*testing.T, Store)
	}{
		{"Versions", versions},
		{"Tree", tree},
		{"Sequential", sequential},
		{"Ephemeral", ephemeral},
		{"Watches", watches},
		{"Guard", guard},
		{"BadPaths", badPaths},
	} {
		t.Run(sc.name, func(t *testing.T) { sc.run(t, newStore(t)) })
	}
}

func ok(t *testing.T, s Session, op core.CoordOp) core.CoordResult {
	t.Helper()
	res := s.Do(op)
	if res.Err != nil {
		t.Fatalf("%s: got %v; want success", describe(op), res.Err)
	}
	return res
}

func fails(t *testing.T, s Session, op core.CoordOp, want error) {
	t.Helper()
	if res := s.Do(op); !errors.Is(res.Err, want) {
		t.Errorf("%s: got error %v; want %v", describe(op), res.Err, want)
	}
}

func expectWatches(t *testing.T, s Session, what string, want ...Watch) {
	t.Helper()
	if got := s.Watches(t, len(want)); !slices.Equal(got, want) {
		t.Errorf("%s: session got watch notifications %v; want %v", what, got, want)
	}
}

func describe(op core.CoordOp) string {
	kinds := map[core.CoordOpKind]string{core.CoordCreate: "create", core.CoordSet: "set", core.CoordDelete: "delete",
		core.CoordGet: "get", core.CoordExists: "exists", core.CoordChildren: "children"}
	s := fmt.Sprintf("%s %s", kinds[op.Kind], op.Path)
	if op.Kind == core.CoordSet || op.Kind == core.CoordDelete {
		s += fmt.Sprintf(" at version %d", op.Version)
	}
	for _, f := range []struct {
		on   bool
		name string
	}{{op.Ephemeral, "ephemeral"}, {op.Sequential, "sequential"}, {op.Parents, "parents"}, {op.Upsert, "upsert"},
		{op.Recursive, "recursive"}, {op.Watch, "watch"}} {
		if f.on {
			s += " " + f.name
		}
	}
	if op.Guard != nil {
		s += fmt.Sprintf(" guarded by %s at %d", op.Guard.Path, op.Guard.Version)
	}
	return s
}

func create(path, data string) core.CoordOp {
	return core.CoordOp{Kind: core.CoordCreate, Path: path, Data: []byte(data)}
}

func createAll(path, data string) core.CoordOp {
	op := create(path, data)
	op.Parents = true
	return op
}

func set(path, data string, version int32) core.CoordOp {
	return core.CoordOp{Kind: core.CoordSet, Path: path, Data: []byte(data), Version: version}
}

func del(path string, version int32) core.CoordOp {
	return core.CoordOp{Kind: core.CoordDelete, Path: path, Version: version}
}

func get(path string, watch bool) core.CoordOp {
	return core.CoordOp{Kind: core.CoordGet, Path: path, Watch: watch}
}

func exists(path string, watch bool) core.CoordOp {
	return core.CoordOp{Kind: core.CoordExists, Path: path, Watch: watch}
}

func children(path string, watch bool) core.CoordOp {
	return core.CoordOp{Kind: core.CoordChildren, Path: path, Watch: watch}
}

const any = core.CoordAnyVersion

// versions: data versions start at 0 and count sets; a set or delete at
// another version fails with BADVERSION and changes nothing; -1 matches
// any version.
func versions(t *testing.T, store Store) {
	s := store.Session(t)
	if st := ok(t, s, create("/a", "v0")).Stat; st.Version != 0 || st.EphemeralOwner != 0 {
		t.Errorf("created /a: got stat %+v; want version 0, persistent", st)
	}
	fails(t, s, create("/a", "again"), core.ErrCoordNodeExists)
	if st := ok(t, s, set("/a", "v1", 0)).Stat; st.Version != 1 {
		t.Errorf("set /a at version 0: got version %d; want 1", st.Version)
	}
	fails(t, s, set("/a", "stale", 0), core.ErrCoordBadVersion)
	fails(t, s, del("/a", 0), core.ErrCoordBadVersion)
	if res := ok(t, s, get("/a", false)); string(res.Data) != "v1" || res.Stat.Version != 1 {
		t.Errorf("get /a after refused writes: got %q at version %d; want v1 at 1", res.Data, res.Stat.Version)
	}
	ok(t, s, set("/a", "v2", any))
	ok(t, s, del("/a", 2))
	fails(t, s, get("/a", false), core.ErrCoordNoNode)
	fails(t, s, set("/a", "x", any), core.ErrCoordNoNode)
	fails(t, s, del("/a", any), core.ErrCoordNoNode)
}

// tree: a create needs its parent unless Parents creates the missing
// ancestors (empty); Children lists names sorted; a delete of a node
// with children fails unless Recursive; child versions count child
// creations and deletions; Upsert creates a missing node.
func tree(t *testing.T, store Store) {
	s := store.Session(t)
	fails(t, s, create("/brokers/topics/t", "{}"), core.ErrCoordNoNode)
	ok(t, s, createAll("/brokers/topics/t", "{}"))
	if res := ok(t, s, get("/brokers", false)); len(res.Data) != 0 || res.Stat.NumChildren != 1 {
		t.Errorf("parent /brokers: got data %q, %d children; want empty, 1", res.Data, res.Stat.NumChildren)
	}
	ok(t, s, create("/brokers/topics/b", ""))
	ok(t, s, create("/brokers/topics/a", ""))
	res := ok(t, s, children("/brokers/topics", false))
	if !slices.Equal(res.Children, []string{"a", "b", "t"}) || res.Stat.CVersion != 3 || res.Stat.NumChildren != 3 {
		t.Errorf("children of /brokers/topics: got %v (cversion %d, %d children); want [a b t], 3, 3", res.Children, res.Stat.CVersion, res.Stat.NumChildren)
	}
	fails(t, s, del("/brokers", any), core.ErrCoordNotEmpty)
	ok(t, s, del("/brokers/topics/a", any))
	if st := ok(t, s, exists("/brokers/topics", false)).Stat; st.CVersion != 4 || st.NumChildren != 2 {
		t.Errorf("/brokers/topics after a delete: got cversion %d, %d children; want 4, 2", st.CVersion, st.NumChildren)
	}
	rec := del("/brokers", any)
	rec.Recursive = true
	ok(t, s, rec)
	for _, p := range []string{"/brokers", "/brokers/topics", "/brokers/topics/t"} {
		fails(t, s, exists(p, false), core.ErrCoordNoNode)
	}
	up := set("/config/topics/t", `{"version":1}`, any)
	fails(t, s, up, core.ErrCoordNoNode)
	up.Upsert = true
	if st := ok(t, s, up).Stat; st.Version != 0 {
		t.Errorf("upsert of a missing node: got version %d; want 0 (created)", st.Version)
	}
	if st := ok(t, s, up).Stat; st.Version != 1 {
		t.Errorf("upsert of an existing node: got version %d; want 1 (set)", st.Version)
	}
	if res := ok(t, s, get("/config/topics/t", false)); string(res.Data) != `{"version":1}` {
		t.Errorf("upserted /config/topics/t: got %q", res.Data)
	}
	fails(t, s, create("/", ""), core.ErrCoordNodeExists)
}

// sequential: a sequential create appends, as ten digits, the number of
// children the parent ever had created (ZooKeeper's internal child
// version, which deletions do not move), so names never repeat.
func sequential(t *testing.T, store Store) {
	s := store.Session(t)
	ok(t, s, createAll("/config/changes", ""))
	seq := create("/config/changes/config_change_", "c")
	seq.Sequential = true
	var got []string
	for i := 0; i < 3; i++ {
		got = append(got, ok(t, s, seq).Path)
	}
	ok(t, s, del(got[2], any))
	got = append(got, ok(t, s, seq).Path)
	ok(t, s, create("/config/changes/other", ""))
	ok(t, s, del(got[0], any))
	ok(t, s, del(got[1], any))
	got = append(got, ok(t, s, seq).Path)
	want := []string{"/config/changes/config_change_0000000000", "/config/changes/config_change_0000000001",
		"/config/changes/config_change_0000000002", "/config/changes/config_change_0000000003",
		"/config/changes/config_change_0000000005"}
	if !slices.Equal(got, want) {
		t.Errorf("sequential creates: got %v; want %v", got, want)
	}
}

// ephemeral: an ephemeral node belongs to its session and cannot have
// children; the session's expiry deletes it and fires the other
// sessions' watches; an expired session can do nothing more.
func ephemeral(t *testing.T, store Store) {
	a, b := store.Session(t), store.Session(t)
	ok(t, a, createAll("/brokers/ids", ""))
	eph := create("/brokers/ids/1", `{"host":"h"}`)
	eph.Ephemeral = true
	if st := ok(t, a, eph).Stat; st.EphemeralOwner != a.ID() {
		t.Errorf("ephemeral /brokers/ids/1: got owner %d; want session %d", st.EphemeralOwner, a.ID())
	}
	fails(t, b, eph, core.ErrCoordNodeExists)
	ok(t, b, create("/brokers/ids/2", ""))
	fails(t, a, create("/brokers/ids/1/child", ""), core.ErrCoordNoChildrenForEphemerals)
	ok(t, b, exists("/brokers/ids/1", true))
	ok(t, b, children("/brokers/ids", true))
	a.Expire(t)
	expectWatches(t, b, "the owner's session expired",
		Watch{"/brokers/ids/1", core.WatchNodeDeleted}, Watch{"/brokers/ids", core.WatchNodeChildrenChanged})
	fails(t, b, exists("/brokers/ids/1", false), core.ErrCoordNoNode)
	fails(t, a, get("/brokers/ids/2", false), core.ErrCoordSessionExpired)
	// The path registered again is a new node: its creation's
	// transaction id (a broker's epoch) is greater.
	first := ok(t, b, get("/brokers/ids/2", false)).Stat.Czxid
	again := ok(t, b, eph).Stat.Czxid
	if first == 0 || again <= first {
		t.Errorf("czxid of /brokers/ids/1 registered again: got %d after /brokers/ids/2's %d; want a greater one", again, first)
	}
}

// watches: watches are one-shot and per session; Get leaves a data
// watch, Exists one that a creation fires too, Children a child watch; a
// delete fires the node's watches (once for a session with both kinds)
// and its parent's child watch.
func watches(t *testing.T, store Store) {
	a, b, w := store.Session(t), store.Session(t), store.Session(t)
	fails(t, a, exists("/controller", true), core.ErrCoordNoNode)
	fails(t, b, get("/controller", true), core.ErrCoordNoNode) // leaves no watch
	ok(t, w, create("/controller", `{"brokerid":1}`))
	expectWatches(t, a, "create after an exists watch", Watch{"/controller", core.WatchNodeCreated})
	expectWatches(t, b, "create after a get of a missing node")
	ok(t, a, get("/controller", true))
	ok(t, b, exists("/controller", true))
	ok(t, w, set("/controller", "x", any))
	ok(t, w, set("/controller", "y", any)) // the watches are spent
	expectWatches(t, a, "two sets after a get watch", Watch{"/controller", core.WatchNodeDataChanged})
	expectWatches(t, b, "two sets after an exists watch", Watch{"/controller", core.WatchNodeDataChanged})
	ok(t, a, children("/", true))
	ok(t, b, get("/controller", true))
	ok(t, b, children("/controller", true))
	ok(t, w, del("/controller", any))
	expectWatches(t, a, "delete of a child", Watch{"/", core.WatchNodeChildrenChanged})
	expectWatches(t, b, "delete of a node watched both ways", Watch{"/controller", core.WatchNodeDeleted})
	ok(t, w, create("/controller", ""))
	expectWatches(t, a, "create with every watch spent")
	expectWatches(t, b, "create with every watch spent")
	expectWatches(t, w, "a session that set no watch")
}

// guard: a guarded operation happens only while the guard node is at
// the guard's version (the controller's epoch fencing), and a refused
// one changes nothing.
func guard(t *testing.T, store Store) {
	s := store.Session(t)
	ok(t, s, create("/controller_epoch", "1"))
	ok(t, s, set("/controller_epoch", "2", 0)) // a new controller took over: version 1
	ok(t, s, createAll("/brokers/topics/t/partitions/0", ""))
	for _, op := range []core.CoordOp{
		create("/brokers/topics/t/partitions/0/state", `{"leader":1}`),
		set("/brokers/topics/t/partitions/0", "x", any),
		del("/brokers/topics/t/partitions/0", any),
	} {
		op.Guard = &core.CoordGuard{Path: "/controller_epoch", Version: 0}
		fails(t, s, op, core.ErrCoordBadVersion)
		op.Guard.Path = "/missing"
		fails(t, s, op, core.ErrCoordNoNode)
	}
	if res := ok(t, s, get("/brokers/topics/t/partitions/0", false)); res.Stat.Version != 0 || res.Stat.NumChildren != 0 {
		t.Errorf("after refused guarded writes: got version %d, %d children; want 0, 0", res.Stat.Version, res.Stat.NumChildren)
	}
	op := create("/brokers/topics/t/partitions/0/state", `{"leader":1}`)
	op.Guard = &core.CoordGuard{Path: "/controller_epoch", Version: 1}
	ok(t, s, op)
	up := set("/brokers/topics/t/partitions/0/state", `{"leader":2}`, 0)
	up.Guard = op.Guard
	if st := ok(t, s, up).Stat; st.Version != 1 {
		t.Errorf("guarded set: got version %d; want 1", st.Version)
	}
}

// badPaths: ZooKeeper's path rules.
func badPaths(t *testing.T, store Store) {
	s := store.Session(t)
	for _, p := range []string{"", "a", "/a/", "//a", "/a/./b", "/a/../b"} {
		fails(t, s, create(p, ""), core.ErrCoordBadArguments)
	}
	fails(t, s, del("/", any), core.ErrCoordBadArguments)
}
