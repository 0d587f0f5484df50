package kio

import (
	"fmt"
	"maps"
	"reflect"
	"slices"
	"testing"

	"pgregory.net/rapid"

	"cloudkafka/core"
)

// drawZOp draws a write, or now and then a read that leaves a watch, on
// a small set of paths so that operations collide: parents, children,
// ephemeral owners, sequential names, versions and guards.
func drawZOp(t *rapid.T) core.CoordOp {
	path := rapid.SampledFrom([]string{"/a", "/a/b", "/a/c", "/a/b/d", "/b", "/b/x/y", "/s/n", "/"}).Draw(t, "path")
	version := rapid.SampledFrom([]int32{core.CoordAnyVersion, 0, 1, 2}).Draw(t, "version")
	data := []byte(fmt.Sprint(rapid.IntRange(0, 9).Draw(t, "data")))
	var op core.CoordOp
	switch rapid.IntRange(0, 5).Draw(t, "kind") {
	case 0, 1:
		op = core.CoordOp{Kind: core.CoordCreate, Path: path, Data: data, Parents: rapid.Bool().Draw(t, "parents"),
			Ephemeral: rapid.IntRange(0, 3).Draw(t, "ephemeral") == 0, Sequential: rapid.IntRange(0, 3).Draw(t, "sequential") == 0}
	case 2, 3:
		op = core.CoordOp{Kind: core.CoordSet, Path: path, Data: data, Version: version, Upsert: rapid.Bool().Draw(t, "upsert")}
	case 4:
		op = core.CoordOp{Kind: core.CoordDelete, Path: path, Version: version, Recursive: rapid.Bool().Draw(t, "recursive")}
	default:
		op = core.CoordOp{Kind: rapid.SampledFrom([]core.CoordOpKind{core.CoordGet, core.CoordExists, core.CoordChildren}).Draw(t, "read"),
			Path: path, Watch: true}
	}
	if rapid.IntRange(0, 5).Draw(t, "guarded") == 0 {
		op.Guard = &core.CoordGuard{Path: rapid.SampledFrom([]string{"/a", "/b", "/nope"}).Draw(t, "guard"), Version: version}
	}
	return op
}

// sameTree compares everything a tree holds but its change tracking.
func sameTree(a, b *ZTree) bool {
	return reflect.DeepEqual(a.nodes, b.nodes) && reflect.DeepEqual(a.sessions, b.sessions) &&
		a.nextSession == b.nextSession && a.zxid == b.zxid
}

// snapshotDiff is what Changes must say, computed the slow way: the
// persistent znodes that differ between two full snapshots.
func snapshotDiff(before, after []SavedZnode) []ZChange {
	was := map[string]SavedZnode{}
	for _, z := range before {
		was[z.Path] = z
	}
	var out []ZChange
	for _, z := range after {
		if w, ok := was[z.Path]; !ok || !w.equal(z) {
			out = append(out, ZChange{Znode: z})
		}
		delete(was, z.Path)
	}
	for _, p := range slices.Sorted(maps.Keys(was)) {
		out = append(out, ZChange{Znode: SavedZnode{Path: p}, Deleted: true})
	}
	slices.SortFunc(out, func(x, y ZChange) int {
		switch {
		case x.Znode.Path < y.Znode.Path:
			return -1
		case x.Znode.Path > y.Znode.Path:
			return 1
		}
		return 0
	})
	return out
}

func sameChanges(a, b []ZChange) bool {
	return slices.EqualFunc(a, b, func(x, y ZChange) bool { return x.Deleted == y.Deleted && x.Znode.equal(y.Znode) })
}

// TestZTreeTracking: a write rolled back leaves the tree exactly as it
// was, watches and ephemeral owners included; Changes lists exactly what
// a comparison of full snapshots would, across writes rolled back and
// sessions closed between persisted points.
func TestZTreeTracking(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		tree := NewZTree()
		tree.TrackChanges()
		sessions := []int64{tree.OpenSession(), tree.OpenSession()}
		persisted := tree.Snapshot()
		for i := range rapid.IntRange(1, 40).Draw(t, "ops") {
			if rapid.IntRange(0, 9).Draw(t, "expire") == 0 {
				k := rapid.IntRange(0, 1).Draw(t, "who")
				tree.CloseSession(sessions[k])
				sessions[k] = tree.OpenSession()
				continue
			}
			op := drawZOp(t)
			session := sessions[rapid.IntRange(0, 1).Draw(t, "session")]
			if op.Kind == core.CoordGet || op.Kind == core.CoordExists || op.Kind == core.CoordChildren {
				tree.Apply(session, op) // a read leaves a watch: not a write
				continue
			}
			before := tree.Clone()
			tree.Begin()
			res, _ := tree.Apply(session, op)
			if res.Err != nil || rapid.Bool().Draw(t, "rollback") {
				tree.Rollback()
				if !sameTree(before, tree) {
					t.Fatalf("op %d %+v rolled back (err %v): the tree differs from before it", i, op, res.Err)
				}
				continue
			}
			tree.Commit()
			if got, want := tree.Changes(), snapshotDiff(persisted, tree.Snapshot()); !sameChanges(got, want) {
				t.Fatalf("op %d %+v: Changes got %+v; want %+v", i, op, got, want)
			}
			if rapid.Bool().Draw(t, "persist") {
				tree.Persisted()
				persisted = tree.Snapshot()
			}
		}
	})
}
