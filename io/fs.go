package kio

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
}
