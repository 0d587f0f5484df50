package kio

import "errors"

// FS is the file-system port. Both worlds implement it: realio over the
// operating system, the simulator over a crashable in-memory disk. The
// distinction that matters is written versus synced: a write is visible to
// reads at once, but survives a crash only after Sync on the file (and, for
// a new or renamed name, SyncDir on its directory).
type FS interface {
	// MkdirAll creates a directory and its parents.
	MkdirAll(dir string) error
	// ReadDir lists the names in dir, sorted.
	ReadDir(dir string) ([]string, error)
	// OpenFile opens a file for reading and writing, creating it when
	// create is true and it does not exist.
	OpenFile(name string, create bool) (File, error)
	// Stat reports whether name exists.
	Exists(name string) bool
	// Remove deletes a file or an empty directory.
	Remove(name string) error
	// RemoveAll deletes a directory tree.
	RemoveAll(dir string) error
	// Rename atomically replaces newName with oldName.
	Rename(oldName, newName string) error
	// SyncDir makes creations, renames and removals in dir durable.
	SyncDir(dir string) error
}

// File is an open file of an FS.
type File interface {
	ReadAt(p []byte, off int64) (int, error)
	WriteAt(p []byte, off int64) (int, error)
	Size() (int64, error)
	Truncate(size int64) error
	Sync() error
	Close() error
	// Generation changes whenever bytes written before may change or
	// can no longer be read through this handle: a Truncate, a Close. A
	// Span records it when taken.
	Generation() uint64
	// ReadSpan reads len(p) bytes at off, as ReadAt, only if the file's
	// generation is still gen: else it fails with ErrStaleSpan and reads
	// nothing.
	ReadSpan(p []byte, off int64, gen uint64) error
}

// ErrStaleSpan says a span's file changed (was truncated or closed)
// after the span was taken: its bytes are no longer the ones it named.
var ErrStaleSpan = errors.New("span is stale: its file was truncated or closed since it was read")

// Span is N bytes of a file from Off, left where they lie: a record set
// that a by-reference read found and the writer of its response sends
// from the file (sendfile) when the response goes out. Gen is the file's
// generation when the span was taken; a span whose file moved on is
// stale and must not be sent.
type Span struct {
	File File
	Off  int64
	N    int64
	Gen  uint64
}

// Read reads the span's bytes into p (len(p) == N).
func (s Span) Read(p []byte) error { return s.File.ReadSpan(p, s.Off, s.Gen) }
