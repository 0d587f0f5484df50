package realio

import (
	"errors"
	"fmt"
	"io"
	"os"
	"slices"
	"sync"
	"syscall"

	"golang.org/x/sys/unix"

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
	return &osFile{f: f, fd: int(f.Fd())}, nil
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

// osFile adapts *os.File to kio.File. Errors from os already name the
// path.
//
// Its spans are sent by connection writers while the partition's IO
// worker goes on with the file: mu orders the two. A Truncate or Close
// takes it exclusively and moves gen on; a span's reader or sender holds
// it shared for each read or sendfile call, and finds a moved-on gen
// there, never a reused descriptor or bytes rewritten after a cut.
type osFile struct {
	f      *os.File
	fd     int // f's, taken once (os.File.Fd is not free)
	mu     sync.RWMutex
	gen    uint64 // under mu
	closed bool   // under mu
}

// ReadAt returns os's error as is: io.EOF must stay comparable with ==
// for callers that do not use errors.Is, and other errors name the path.
func (o *osFile) ReadAt(p []byte, off int64) (int, error) { return o.f.ReadAt(p, off) }

func (o *osFile) WriteAt(p []byte, off int64) (int, error) {
	n, err := o.f.WriteAt(p, off)
	return n, wrap("write", o.f.Name(), err)
}

func (o *osFile) Size() (int64, error) {
	st, err := o.f.Stat()
	if err != nil {
		return 0, wrap("stat", o.f.Name(), err)
	}
	return st.Size(), nil
}

func (o *osFile) Truncate(size int64) error {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.gen++
	return wrap("truncate", o.f.Name(), o.f.Truncate(size))
}

func (o *osFile) Sync() error { return wrap("sync", o.f.Name(), o.f.Sync()) }

func (o *osFile) Close() error {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.gen++
	o.closed = true
	return wrap("close", o.f.Name(), o.f.Close())
}

func (o *osFile) Generation() uint64 {
	o.mu.RLock()
	defer o.mu.RUnlock()
	return o.gen
}

func (o *osFile) ReadSpan(p []byte, off int64, gen uint64) error {
	o.mu.RLock()
	defer o.mu.RUnlock()
	if o.closed || o.gen != gen {
		return fmt.Errorf("realio: read %s at %d: %w", o.f.Name(), off, kio.ErrStaleSpan)
	}
	n, err := o.f.ReadAt(p, off)
	if err != nil && !(errors.Is(err, io.EOF) && n == len(p)) {
		if errors.Is(err, io.EOF) {
			return fmt.Errorf("realio: read %s at %d: %d of %d bytes: %w", o.f.Name(), off, n, len(p), io.ErrUnexpectedEOF)
		}
		return err
	}
	return nil
}

// sendSpan sends s's bytes to the socket rc with sendfile(2) from the
// span's own offset (never the file's shared one), holding the file
// shared for each call only, so that a slow reader never holds off a
// Truncate or Close for longer than one call. A span the file moved on
// from, or whose bytes end early, is an error: the connection must close,
// its stream having a frame that cannot be completed.
func (o *osFile) sendSpan(rc syscall.RawConn, s kio.Span) error {
	off, left := s.Off, s.N
	var serr error
	for left > 0 && serr == nil {
		werr := rc.Write(func(sock uintptr) bool {
			o.mu.RLock()
			defer o.mu.RUnlock()
			if o.closed || o.gen != s.Gen {
				serr = fmt.Errorf("realio: send %s at %d: %w", o.f.Name(), off, kio.ErrStaleSpan)
				return true
			}
			n, err := unix.Sendfile(int(sock), o.fd, &off, int(min(left, maxSendfileBytes)))
			if n > 0 {
				left -= int64(n)
			}
			switch {
			case err == unix.EAGAIN:
				return n > 0 // wait for room when nothing went
			case err == unix.EINTR:
				return true
			case err != nil:
				serr = fmt.Errorf("realio: sendfile %s at %d: %w", o.f.Name(), off, err)
			case n == 0:
				serr = fmt.Errorf("realio: sendfile %s at %d: %d bytes short of the span: %w", o.f.Name(), off, left, io.ErrUnexpectedEOF)
			}
			return true
		})
		if werr != nil {
			return werr
		}
	}
	return serr
}

// maxSendfileBytes bounds one sendfile call (Linux sends at most about
// 2 GiB a call).
const maxSendfileBytes = 1 << 30
