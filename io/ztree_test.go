package kio

import (
	"errors"
	"fmt"
	"slices"
	"testing"

	"cloudkafka/core"
)

// zt drives a ZTree in a test: each call applies one operation and
// collects the watches it fired.
type zt struct {
	t     *testing.T
	tree  *ZTree
	fired []WatchFired
}

func newZT(t *testing.T) *zt { return &zt{t: t, tree: NewZTree()} }

func (z *zt) do(session int64, op core.CoordOp) core.CoordResult {
	z.t.Helper()
	res, fired := z.tree.Apply(session, op)
	z.fired = append(z.fired, fired...)
	return res
}

// ok applies op and fails the test on an error.
func (z *zt) ok(session int64, op core.CoordOp) core.CoordResult {
	z.t.Helper()
	res := z.do(session, op)
	if res.Err != nil {
		z.t.Fatalf("%s: got %v; want success", describeOp(op), res.Err)
	}
	return res
}

// fails applies op and checks that it fails with want.
func (z *zt) fails(session int64, op core.CoordOp, want error) {
	z.t.Helper()
	if res := z.do(session, op); !errors.Is(res.Err, want) {
		z.t.Errorf("%s: got error %v; want %v", describeOp(op), res.Err, want)
	}
}

// takeFired returns and clears the watches fired so far.
func (z *zt) takeFired() []WatchFired {
	f := z.fired
	z.fired = nil
	return f
}

func describeOp(op core.CoordOp) string {
	return fmt.Sprintf("op %d on %s (version %d, ephemeral %v, sequential %v, parents %v, upsert %v, recursive %v, guard %v)",
		op.Kind, op.Path, op.Version, op.Ephemeral, op.Sequential, op.Parents, op.Upsert, op.Recursive, op.Guard)
}

func create(path, data string) core.CoordOp {
	return core.CoordOp{Kind: core.CoordCreate, Path: path, Data: []byte(data)}
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

// TestZTreeVersions: data versions start at 0 and count sets; a set or
// delete at another version fails with BADVERSION and changes nothing;
// -1 matches any version.
func TestZTreeVersions(t *testing.T) {
	z := newZT(t)
	if st := z.ok(0, create("/a", "v0")).Stat; st.Version != 0 || st.EphemeralOwner != 0 {
		t.Errorf("created /a: got stat %+v; want version 0, persistent", st)
	}
	z.fails(0, create("/a", "again"), core.ErrCoordNodeExists)
	if st := z.ok(0, set("/a", "v1", 0)).Stat; st.Version != 1 {
		t.Errorf("set /a at version 0: got version %d; want 1", st.Version)
	}
	z.fails(0, set("/a", "stale", 0), core.ErrCoordBadVersion)
	z.fails(0, del("/a", 0), core.ErrCoordBadVersion)
	if res := z.ok(0, get("/a", false)); string(res.Data) != "v1" || res.Stat.Version != 1 {
		t.Errorf("get /a after refused writes: got %q at version %d; want v1 at 1", res.Data, res.Stat.Version)
	}
	z.ok(0, set("/a", "v2", core.CoordAnyVersion))
	z.ok(0, del("/a", 2))
	z.fails(0, get("/a", false), core.ErrCoordNoNode)
	z.fails(0, set("/a", "x", core.CoordAnyVersion), core.ErrCoordNoNode)
	z.fails(0, del("/a", core.CoordAnyVersion), core.ErrCoordNoNode)
}

// TestZTreeTree: a create needs its parent unless Parents creates the
// missing ancestors (empty); Children lists names sorted; a delete of a
// node with children fails unless Recursive; child versions count child
// creations and deletions; Upsert creates a missing node.
func TestZTreeTree(t *testing.T) {
	z := newZT(t)
	z.fails(0, create("/brokers/topics/t", "{}"), core.ErrCoordNoNode)
	op := create("/brokers/topics/t", "{}")
	op.Parents = true
	z.ok(0, op)
	if res := z.ok(0, get("/brokers", false)); len(res.Data) != 0 || res.Stat.NumChildren != 1 {
		t.Errorf("parent /brokers: got data %q, %d children; want empty, 1", res.Data, res.Stat.NumChildren)
	}
	z.ok(0, create("/brokers/topics/b", ""))
	z.ok(0, create("/brokers/topics/a", ""))
	res := z.ok(0, children("/brokers/topics", false))
	if !slices.Equal(res.Children, []string{"a", "b", "t"}) || res.Stat.CVersion != 3 || res.Stat.NumChildren != 3 {
		t.Errorf("children of /brokers/topics: got %v (cversion %d, %d children); want [a b t], 3, 3", res.Children, res.Stat.CVersion, res.Stat.NumChildren)
	}
	z.fails(0, del("/brokers", core.CoordAnyVersion), core.ErrCoordNotEmpty)
	z.ok(0, del("/brokers/topics/a", core.CoordAnyVersion))
	if st := z.ok(0, exists("/brokers/topics", false)).Stat; st.CVersion != 4 || st.NumChildren != 2 {
		t.Errorf("/brokers/topics after a delete: got cversion %d, %d children; want 4, 2", st.CVersion, st.NumChildren)
	}
	rec := del("/brokers", core.CoordAnyVersion)
	rec.Recursive = true
	z.ok(0, rec)
	for _, p := range []string{"/brokers", "/brokers/topics", "/brokers/topics/t"} {
		z.fails(0, exists(p, false), core.ErrCoordNoNode)
	}
	up := set("/config/topics/t", `{"version":1}`, core.CoordAnyVersion)
	z.fails(0, up, core.ErrCoordNoNode)
	up.Upsert = true
	if st := z.ok(0, up).Stat; st.Version != 0 {
		t.Errorf("upsert of a missing node: got version %d; want 0 (created)", st.Version)
	}
	if st := z.ok(0, up).Stat; st.Version != 1 {
		t.Errorf("upsert of an existing node: got version %d; want 1 (set)", st.Version)
	}
	z.fails(0, del("/", core.CoordAnyVersion), core.ErrCoordBadArguments)
	z.fails(0, create("/", ""), core.ErrCoordNodeExists)
	for _, p := range []string{"", "a", "/a/", "//a", "/a/./b", "/a/../b", "/a\x00"} {
		z.fails(0, create(p, ""), core.ErrCoordBadArguments)
	}
}

// TestZTreeSequential: a sequential create appends the parent's child
// version as ten digits, so names never repeat, even after deletions.
func TestZTreeSequential(t *testing.T) {
	z := newZT(t)
	seq := create("/config/changes/config_change_", "c")
	seq.Sequential, seq.Parents = true, true
	var got []string
	for i := 0; i < 3; i++ {
		got = append(got, z.ok(0, seq).Path)
	}
	z.ok(0, del(got[2], core.CoordAnyVersion))
	got = append(got, z.ok(0, seq).Path)
	want := []string{"/config/changes/config_change_0000000000", "/config/changes/config_change_0000000001",
		"/config/changes/config_change_0000000002", "/config/changes/config_change_0000000004"}
	if !slices.Equal(got, want) {
		t.Errorf("sequential creates: got %v; want %v", got, want)
	}
}

// TestZTreeEphemeral: an ephemeral node belongs to its session, cannot
// have children, needs a session, and goes when the session closes,
// firing the other sessions' watches; an expired session can do nothing.
func TestZTreeEphemeral(t *testing.T) {
	z := newZT(t)
	a, b := z.tree.OpenSession(), z.tree.OpenSession()
	eph := create("/brokers/ids/1", `{"host":"h"}`)
	eph.Ephemeral, eph.Parents = true, true
	if st := z.ok(a, eph).Stat; st.EphemeralOwner != a {
		t.Errorf("ephemeral /brokers/ids/1: got owner %d; want session %d", st.EphemeralOwner, a)
	}
	z.fails(b, eph, core.ErrCoordNodeExists)
	z.ok(0, create("/brokers/ids/2", "")) // persistent: no session needed
	eph0 := eph
	eph0.Path = "/brokers/ids/3"
	z.fails(0, eph0, core.ErrCoordSessionExpired)
	z.fails(a, create("/brokers/ids/1/child", ""), core.ErrCoordNoChildrenForEphemerals)
	z.ok(b, exists("/brokers/ids/1", true))
	z.ok(b, children("/brokers/ids", true))
	if got := z.tree.Persistent(); slices.ContainsFunc(got, func(n core.Znode) bool { return n.Path == "/brokers/ids/1" }) {
		t.Errorf("Persistent lists the ephemeral /brokers/ids/1: %v", got)
	}
	z.takeFired()
	z.fired = append(z.fired, z.tree.CloseSession(a)...)
	want := []WatchFired{{b, "/brokers/ids/1", WatchNodeDeleted}, {b, "/brokers/ids", WatchNodeChildrenChanged}}
	if got := z.takeFired(); !slices.Equal(got, want) {
		t.Errorf("closing the owner's session fired %v; want %v", got, want)
	}
	z.fails(b, exists("/brokers/ids/1", false), core.ErrCoordNoNode)
	z.fails(a, get("/brokers/ids/2", false), core.ErrCoordSessionExpired)
	if z.tree.CloseSession(a) != nil {
		t.Errorf("closing a closed session fired watches")
	}
}

// TestZTreeWatches: watches are one-shot and per session; Get leaves a
// data watch, Exists one that a creation fires too, Children a child
// watch; a delete fires the node's data and child watches and its
// parent's child watch.
func TestZTreeWatches(t *testing.T) {
	z := newZT(t)
	a, b := z.tree.OpenSession(), z.tree.OpenSession()
	z.fails(a, exists("/controller", true), core.ErrCoordNoNode)
	z.fails(b, get("/controller", true), core.ErrCoordNoNode) // leaves no watch
	z.ok(0, create("/controller", `{"brokerid":1}`))
	if got, want := z.takeFired(), []WatchFired{{a, "/controller", WatchNodeCreated}}; !slices.Equal(got, want) {
		t.Errorf("create after exists-watch: fired %v; want %v", got, want)
	}
	z.ok(a, get("/controller", true))
	z.ok(b, get("/controller", true))
	z.ok(0, set("/controller", "x", core.CoordAnyVersion))
	z.ok(0, set("/controller", "y", core.CoordAnyVersion)) // the watches are spent
	if got, want := z.takeFired(), []WatchFired{{a, "/controller", WatchNodeDataChanged}, {b, "/controller", WatchNodeDataChanged}}; !slices.Equal(got, want) {
		t.Errorf("two sets after get-watches: fired %v; want %v", got, want)
	}
	z.ok(a, children("/", true))
	z.ok(b, get("/controller", true))
	z.ok(b, children("/controller", true))
	z.ok(0, del("/controller", core.CoordAnyVersion))
	want := []WatchFired{{b, "/controller", WatchNodeDeleted}, {b, "/controller", WatchNodeDeleted}, {a, "/", WatchNodeChildrenChanged}}
	if got := z.takeFired(); !slices.Equal(got, want) {
		t.Errorf("delete: fired %v; want %v", got, want)
	}
	z.ok(0, create("/controller", ""))
	if got := z.takeFired(); len(got) != 0 {
		t.Errorf("create with every watch spent: fired %v; want none", got)
	}
}

// TestZTreeGuard: a guarded operation happens only while the guard node
// is at the guard's version (the controller's epoch fencing), and a
// refused one changes nothing.
func TestZTreeGuard(t *testing.T) {
	z := newZT(t)
	z.ok(0, create("/controller_epoch", "1"))
	z.ok(0, set("/controller_epoch", "2", 0)) // a new controller took over: version 1
	state := create("/brokers/topics/t/partitions/0/state", `{"leader":1}`)
	state.Parents = true
	state.Guard = &core.CoordGuard{Path: "/controller_epoch", Version: 0}
	z.fails(0, state, core.ErrCoordBadVersion)
	z.fails(0, exists("/brokers", false), core.ErrCoordNoNode)
	state.Guard.Path = "/missing"
	z.fails(0, state, core.ErrCoordNoNode)
	state.Guard = &core.CoordGuard{Path: "/controller_epoch", Version: 1}
	z.ok(0, state)
}

// TestZTreeRestore: a snapshot of the persistent nodes restores the
// same nodes and data into a new tree.
func TestZTreeRestore(t *testing.T) {
	z := newZT(t)
	s := z.tree.OpenSession()
	for _, op := range []core.CoordOp{create("/cluster/id", "c"), create("/brokers/topics/t", "{}"), create("/brokers/ids/0", "e")} {
		op.Parents, op.Ephemeral = true, op.Path == "/brokers/ids/0"
		z.ok(s, op)
	}
	snap := z.tree.Persistent()
	r := NewZTree()
	if err := r.Restore(snap); err != nil {
		t.Fatalf("Restore: %v", err)
	}
	if got := r.Persistent(); !slices.EqualFunc(got, snap, func(a, b core.Znode) bool { return a.Path == b.Path && string(a.Data) == string(b.Data) }) {
		t.Errorf("restored tree: got %v; want %v", got, snap)
	}
	if res, _ := r.Apply(0, get("/brokers/ids/0", false)); !errors.Is(res.Err, core.ErrCoordNoNode) {
		t.Errorf("the ephemeral /brokers/ids/0 after a restore: got %v; want NoNode", res.Err)
	}
}
