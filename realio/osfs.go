package realio

import (
	"fmt"
	"os"
	"slices"

	kio "cloudkafka/io"
)

// OSFS is the kio.FS over the operating system's file system. Paths are
// used as given. Durability follows POSIX: File.Sync is fsync(2), and
// SyncDir opens the directory and fsyncs it so that creations, renames and
// removals in it survive a power loss.
type OSFS struct{}

var _ kio.FS = OSFS{}

const (
	dirPerm  = 0o755
	filePerm = 0o644
)

func wrap(op, name string, err error) error {
	if err == nil {
		return nil
	}
	return fmt.Errorf("realio: %s %s: %w", op, name, err)
}

// MkdirAll creates dir and its parents.
func (OSFS) MkdirAll(dir string) error {
	return wrap("mkdirall", dir, os.MkdirAll(dir, dirPerm))
}

// ReadDir lists the names in dir, sorted.
func (OSFS) ReadDir(dir string) ([]string, error) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, wrap("readdir", dir, err)
	}
	names := make([]string, len(entries))
	for i, e := range entries {
		names[i] = e.Name()
	}
	slices.Sort(names) // os.ReadDir sorts already; the port promises it
	return names, nil
}

// OpenFile opens name read-write, creating it when create is set.
func (OSFS) OpenFile(name string, create bool) (kio.File, error) {
	flag := os.O_RDWR
	if create {
		flag |= os.O_CREATE
	}
	f, err := os.OpenFile(name, flag, filePerm)
	if err != nil {
		return nil, wrap("open", name, err)
	}
	return osFile{f}, nil
}

// Exists reports whether name exists.
func (OSFS) Exists(name string) bool {
	_, err := os.Stat(name)
	return err == nil
}

// Remove deletes a file or an empty directory.
func (OSFS) Remove(name string) error { return wrap("remove", name, os.Remove(name)) }

// RemoveAll deletes a directory tree; a missing one is fine.
func (OSFS) RemoveAll(dir string) error { return wrap("removeall", dir, os.RemoveAll(dir)) }

// Rename atomically replaces newName with oldName.
func (OSFS) Rename(oldName, newName string) error {
	return wrap("rename", oldName, os.Rename(oldName, newName))
}

// SyncDir fsyncs the directory itself.
func (OSFS) SyncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return wrap("syncdir", dir, err)
	}
	err = d.Sync()
	if cerr := d.Close(); err == nil {
		err = cerr
	}
	return wrap("syncdir", dir, err)
}

// osFile adapts *os.File to kio.File. Errors from os already name the path.
type osFile struct{ f *os.File }

// ReadAt returns os's error as is: io.EOF must stay comparable with ==
// for callers that do not use errors.Is, and other errors name the path.
func (o osFile) ReadAt(p []byte, off int64) (int, error) { return o.f.ReadAt(p, off) }

func (o osFile) WriteAt(p []byte, off int64) (int, error) {
	n, err := o.f.WriteAt(p, off)
	return n, wrap("write", o.f.Name(), err)
}

func (o osFile) Size() (int64, error) {
	st, err := o.f.Stat()
	if err != nil {
		return 0, wrap("stat", o.f.Name(), err)
	}
	return st.Size(), nil
}

func (o osFile) Truncate(size int64) error {
	return wrap("truncate", o.f.Name(), o.f.Truncate(size))
}

func (o osFile) Sync() error  { return wrap("sync", o.f.Name(), o.f.Sync()) }
func (o osFile) Close() error { return wrap("close", o.f.Name(), o.f.Close()) }
