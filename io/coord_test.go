package kio_test

import (
	"errors"
	"math/rand/v2"
	"testing"

	"cloudkafka/core"
	kio "cloudkafka/io"
	"cloudkafka/io/memfs"
)

func openCoord(t *testing.T, fs *memfs.FS) *kio.FileCoordinator {
	t.Helper()
	c, err := kio.OpenFileCoordinator(fs, "/data")
	if err != nil {
		t.Fatalf("OpenFileCoordinator: %v", err)
	}
	return c
}

func getData(t *testing.T, c *kio.FileCoordinator, path string) (string, error) {
	t.Helper()
	res := c.Apply(core.CoordOp{Kind: core.CoordGet, Path: path})
	return string(res.Data), res.Err
}

// TestFileCoordinatorDurable: the embedded coordinator's persistent
// znodes survive a restart and a power loss once Apply returned; its
// ephemeral znodes end with the process; a write whose log record cannot
// be saved fails and changes nothing, in memory or on disk.
func TestFileCoordinatorDurable(t *testing.T) {
	fs := memfs.New()
	if err := fs.MkdirAll("/data"); err != nil {
		t.Fatal(err)
	}
	c := openCoord(t, fs)
	for _, op := range []core.CoordOp{
		{Kind: core.CoordCreate, Path: "/brokers/topics/t", Data: []byte("v0"), Parents: true},
		{Kind: core.CoordCreate, Path: "/brokers/ids/0", Data: []byte("me"), Parents: true, Ephemeral: true},
		{Kind: core.CoordSet, Path: "/brokers/topics/t", Data: []byte("v1"), Version: 0},
	} {
		if res := c.Apply(op); res.Err != nil {
			t.Fatalf("Apply %v %s: %v", op.Kind, op.Path, res.Err)
		}
	}
	// The log's first fsync fails (its write reached the file): the set
	// fails, and the log is cut back.
	syncs := 0
	fs.Inject = func(op, path string) error {
		if op == memfs.OpSync && path == "/data/"+kio.CoordinatorWALFile {
			if syncs++; syncs == 1 {
				return errors.New("injected sync failure")
			}
		}
		return nil
	}
	if res := c.Apply(core.CoordOp{Kind: core.CoordSet, Path: "/brokers/topics/t", Data: []byte("v2"), Version: core.CoordAnyVersion}); res.Err == nil {
		t.Fatalf("a set whose log record cannot be synced: got success; want the storage error")
	}
	fs.Inject = nil
	if got, err := getData(t, c, "/brokers/topics/t"); got != "v1" || err != nil {
		t.Errorf("after a failed set: got %q, %v; want v1", got, err)
	}
	fs.ProcessCrash() // the record's bytes, had they stayed, would survive this
	c = openCoord(t, fs)
	if got, err := getData(t, c, "/brokers/topics/t"); got != "v1" || err != nil {
		t.Errorf("after a failed set and a reopen: got %q, %v; want v1", got, err)
	}

	fs.Crash(rand.New(rand.NewPCG(1, 2)))
	r := openCoord(t, fs)
	if got, err := getData(t, r, "/brokers/topics/t"); got != "v1" || err != nil {
		t.Errorf("after a power loss and restart: got %q, %v; want v1", got, err)
	}
	if _, err := getData(t, r, "/brokers/ids/0"); !errors.Is(err, core.ErrCoordNoNode) {
		t.Errorf("the previous process's ephemeral node after a restart: got %v; want NoNode", err)
	}
	if res := r.Apply(core.CoordOp{Kind: core.CoordChildren, Path: "/brokers"}); len(res.Children) != 2 {
		t.Errorf("children of /brokers after a restart: got %v; want [ids topics]", res.Children)
	}
}
