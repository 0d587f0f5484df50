package kio

import (
	"errors"
	"slices"
	"testing"

	"cloudkafka/core"
	"cloudkafka/io/coordtest"
)

// treeStore runs the conformance suite on a ZTree: watch notifications
// are known as soon as the operation that fires them returns.
type treeStore struct {
	tree  *ZTree
	inbox map[int64][]coordtest.Watch // by session
}

type treeSession struct {
	store *treeStore
	id    int64
}

func newTreeStore(*testing.T) coordtest.Store {
	return &treeStore{tree: NewZTree(), inbox: map[int64][]coordtest.Watch{}}
}

func (s *treeStore) deliver(fired []WatchFired) {
	for _, f := range fired {
		s.inbox[f.Session] = append(s.inbox[f.Session], coordtest.Watch{Path: f.Path, Type: f.Type})
	}
}

func (s *treeStore) Session(*testing.T) coordtest.Session {
	return &treeSession{store: s, id: s.tree.OpenSession()}
}

func (s *treeSession) ID() int64 { return s.id }

func (s *treeSession) Do(op core.CoordOp) core.CoordResult {
	res, fired := s.store.tree.Apply(s.id, op)
	s.store.deliver(fired)
	return res
}

func (s *treeSession) Expire(*testing.T) { s.store.deliver(s.store.tree.CloseSession(s.id)) }

func (s *treeSession) Watches(*testing.T, int) []coordtest.Watch {
	got := s.store.inbox[s.id]
	delete(s.store.inbox, s.id)
	return got
}

// TestZTreeConformance: the in-memory tree passes the coordination
// port's conformance suite, the scenarios a real ZooKeeper passes too
// (realio's TestZooKeeperConformance).
func TestZTreeConformance(t *testing.T) { coordtest.Run(t, newTreeStore) }

// TestZTreeSessionless: operations without a session may not create
// ephemeral nodes, leave no watches, and an unknown session is expired.
func TestZTreeSessionless(t *testing.T) {
	tree := NewZTree()
	res, _ := tree.Apply(0, core.CoordOp{Kind: core.CoordCreate, Path: "/e", Ephemeral: true})
	if !errors.Is(res.Err, core.ErrCoordSessionExpired) {
		t.Errorf("ephemeral create without a session: got %v; want session expired", res.Err)
	}
	if res, _ := tree.Apply(0, core.CoordOp{Kind: core.CoordExists, Path: "/p", Watch: true}); !errors.Is(res.Err, core.ErrCoordNoNode) {
		t.Errorf("exists /p: got %v; want NoNode", res.Err)
	}
	if _, fired := tree.Apply(0, core.CoordOp{Kind: core.CoordCreate, Path: "/p"}); len(fired) != 0 {
		t.Errorf("create after a sessionless exists watch: fired %v; want none", fired)
	}
	if res, _ := tree.Apply(42, core.CoordOp{Kind: core.CoordGet, Path: "/p"}); !errors.Is(res.Err, core.ErrCoordSessionExpired) {
		t.Errorf("get by an unknown session: got %v; want session expired", res.Err)
	}
	if tree.CloseSession(42) != nil {
		t.Errorf("closing an unknown session fired watches")
	}
}

// TestZTreeRestore: a snapshot of the persistent nodes restores the
// same nodes and data into a new tree, without the ephemeral ones.
func TestZTreeRestore(t *testing.T) {
	tree := NewZTree()
	s := tree.OpenSession()
	for _, op := range []core.CoordOp{
		{Kind: core.CoordCreate, Path: "/cluster/id", Data: []byte("c"), Parents: true},
		{Kind: core.CoordCreate, Path: "/brokers/topics/t", Data: []byte("{}"), Parents: true},
		{Kind: core.CoordCreate, Path: "/brokers/ids/0", Data: []byte("e"), Parents: true, Ephemeral: true},
	} {
		if res, _ := tree.Apply(s, op); res.Err != nil {
			t.Fatalf("create %s: %v", op.Path, res.Err)
		}
	}
	if res, _ := tree.Apply(s, core.CoordOp{Kind: core.CoordSet, Path: "/cluster/id", Data: []byte("d"), Version: 0}); res.Err != nil {
		t.Fatal(res.Err)
	}
	if res, _ := tree.Apply(s, core.CoordOp{Kind: core.CoordDelete, Path: "/brokers/topics/t", Version: core.CoordAnyVersion}); res.Err != nil {
		t.Fatal(res.Err)
	}
	snap := tree.Snapshot()
	if slices.ContainsFunc(snap, func(n SavedZnode) bool { return n.Path == "/brokers/ids/0" }) {
		t.Errorf("Snapshot lists the ephemeral /brokers/ids/0: %v", snap)
	}
	r := NewZTree()
	if err := r.Restore(snap); err != nil {
		t.Fatalf("Restore: %v", err)
	}
	if got := r.Snapshot(); !slices.EqualFunc(got, snap, func(a, b SavedZnode) bool {
		return a.Path == b.Path && string(a.Data) == string(b.Data) && a.Version == b.Version && a.CVersion == b.CVersion && a.Creates == b.Creates
	}) {
		t.Errorf("restored tree: got %+v; want %+v", got, snap)
	}
	// The versions came back: a conditional set at the old version works,
	// and a sequential child is numbered after the deleted one.
	if res, _ := r.Apply(0, core.CoordOp{Kind: core.CoordSet, Path: "/cluster/id", Data: []byte("e"), Version: 1}); res.Err != nil {
		t.Errorf("set /cluster/id at version 1 after a restore: %v", res.Err)
	}
	if res, _ := r.Apply(0, core.CoordOp{Kind: core.CoordCreate, Path: "/brokers/topics/s", Sequential: true}); res.Path != "/brokers/topics/s0000000001" {
		t.Errorf("sequential child after a restore: got %q, %v; want /brokers/topics/s0000000001", res.Path, res.Err)
	}
}
