package realio

import (
	"errors"
	"io"
	"io/fs"
	"path/filepath"
	"slices"
	"testing"
)

func TestOSFSRoundTrip(t *testing.T) {
	var o OSFS
	dir := filepath.Join(t.TempDir(), "a", "b")
	if err := o.MkdirAll(dir); err != nil {
		t.Fatal(err)
	}
	name := filepath.Join(dir, "f")
	if _, err := o.OpenFile(name, false); !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("got %v; want ErrNotExist", err)
	}
	f, err := o.OpenFile(name, true)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.WriteAt([]byte("hello world"), 0); err != nil {
		t.Fatal(err)
	}
	if err := f.Truncate(5); err != nil {
		t.Fatal(err)
	}
	if err := f.Sync(); err != nil {
		t.Fatal(err)
	}
	if err := o.SyncDir(dir); err != nil {
		t.Fatal(err)
	}
	if n, err := f.Size(); err != nil || n != 5 {
		t.Fatalf("got size %d, %v; want 5", n, err)
	}
	buf := make([]byte, 8)
	if n, err := f.ReadAt(buf, 0); n != 5 || err != io.EOF {
		t.Fatalf("got %d, %v; want 5, io.EOF", n, err)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	if err := o.Rename(name, filepath.Join(dir, "g")); err != nil {
		t.Fatal(err)
	}
	names, err := o.ReadDir(dir)
	if err != nil || !slices.Equal(names, []string{"g"}) {
		t.Fatalf("got %v, %v; want [g]", names, err)
	}
	if !o.Exists(filepath.Join(dir, "g")) || o.Exists(name) {
		t.Fatal("Exists disagrees with the rename")
	}
	if err := o.Remove(filepath.Join(dir, "g")); err != nil {
		t.Fatal(err)
	}
	if err := o.RemoveAll(filepath.Dir(dir)); err != nil {
		t.Fatal(err)
	}
	if o.Exists(dir) {
		t.Fatal("RemoveAll left the directory")
	}
}
