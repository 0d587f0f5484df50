package memfs

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"maps"
	"math/rand/v2"
	"path"
	"slices"
	"strings"

	kio "cloudkafka/io"
)

// Operation names passed to FS.Inject.
const (
	OpMkdirAll  = "mkdirall"
	OpReadDir   = "readdir"
	OpOpen      = "open"
	OpRemove    = "remove"
	OpRemoveAll = "removeall"
	OpRename    = "rename"
	OpSyncDir   = "syncdir"
	OpRead      = "read"
	OpWrite     = "write"
	OpSize      = "size"
	OpTruncate  = "truncate"
	OpSync      = "sync"
	OpClose     = "close"
)

// ErrStale is returned by a File that was opened before the last Crash or
// was closed.
var ErrStale = errors.New("memfs: file handle closed or invalidated by a crash")

// CrashPolicy says what a Crash keeps of the unsynced tail of each file.
// Probabilities are in [0, 1]; the zero policy drops every unsynced byte.
type CrashPolicy struct {
	// TornTailProb is the chance that a file keeps a uniformly random
	// prefix (possibly empty, possibly whole) of its unsynced tail.
	TornTailProb float64
	// GarbageProb is the chance that, of a kept torn prefix, the last 1 to
	// GarbageBytesMax bytes are random instead of what was written, as on
	// a file system that extended the size before the data reached disk.
	GarbageProb     float64
	GarbageBytesMax int
}

// node is one file's content. Invariant: synced is never aliased by data,
// and data[:same] == synced[:same].
type node struct {
	data   []byte // written image, what reads see
	synced []byte // durable image, what a crash leaves
	// same is a length up to which the two images are known equal, so
	// that Sync copies only what changed since the last one: without it a
	// sync of a growing segment file costs its whole size.
	same int
	// id tells files apart across renames (see ID).
	id uint64
	// cuts counts the truncations that shortened the file (see Cuts).
	cuts uint64
}

// dirty lowers same to off: the images may differ from off on.
func (n *node) dirty(off int64) {
	if off < int64(n.same) {
		n.same = int(off)
	}
}

// FS is a crashable in-memory file system. The zero value is not usable;
// call New.
type FS struct {
	// Inject, when non-nil, is called before every operation (see the Op*
	// names) with the path it concerns; a non-nil error fails the
	// operation, which then has no effect. Exists is not hooked: it cannot
	// fail.
	Inject func(op, path string) error
	// Policy governs Crash.
	Policy CrashPolicy

	dirs    map[string]bool  // existing directories; durable at once
	files   map[string]*node // current namespace
	durable map[string]*node // namespace as of each directory's last SyncDir
	gen     uint64           // incremented by Crash; older handles are stale
	// keeps pins what the next Crash leaves of a file (KeepOnCrash): the
	// length of its image, in place of Policy's draw. Lookups only.
	keeps map[*node]int64
	// names counts changes to either namespace (current or durable), so
	// that test hooks' callers can cache listings.
	names uint64
	// ids numbers the files created, for ID.
	ids uint64
}

var _ kio.FS = (*FS)(nil)

// New returns an empty file system holding only the root directories "/"
// and ".".
func New() *FS {
	return &FS{
		dirs:    map[string]bool{"/": true, ".": true},
		files:   map[string]*node{},
		durable: map[string]*node{},
	}
}

func (m *FS) inject(op, name string) error {
	if m.Inject == nil {
		return nil
	}
	if err := m.Inject(op, name); err != nil {
		return fmt.Errorf("memfs: %s %s: %w", op, name, err)
	}
	return nil
}

func notExist(op, name string) error {
	return &fs.PathError{Op: op, Path: name, Err: fs.ErrNotExist}
}

// MkdirAll creates dir and its parents.
func (m *FS) MkdirAll(dir string) error {
	dir = path.Clean(dir)
	if err := m.inject(OpMkdirAll, dir); err != nil {
		return err
	}
	for d := dir; !m.dirs[d]; d = path.Dir(d) {
		if _, ok := m.files[d]; ok {
			return &fs.PathError{Op: OpMkdirAll, Path: d, Err: fs.ErrExist}
		}
		m.dirs[d] = true
	}
	return nil
}

// ReadDir lists the files and directories directly in dir, sorted.
func (m *FS) ReadDir(dir string) ([]string, error) {
	dir = path.Clean(dir)
	if err := m.inject(OpReadDir, dir); err != nil {
		return nil, err
	}
	if !m.dirs[dir] {
		return nil, notExist(OpReadDir, dir)
	}
	var names []string
	// order-independent: names collected, then sorted
	for name := range m.files {
		if path.Dir(name) == dir {
			names = append(names, path.Base(name))
		}
	}
	// order-independent: names collected, then sorted
	for d := range m.dirs {
		if d != dir && path.Dir(d) == dir {
			names = append(names, path.Base(d))
		}
	}
	slices.Sort(names)
	return names, nil
}

// OpenFile opens name for reading and writing, creating it when create is
// set. A created file's name is durable only after SyncDir of its parent.
func (m *FS) OpenFile(name string, create bool) (kio.File, error) {
	name = path.Clean(name)
	if err := m.inject(OpOpen, name); err != nil {
		return nil, err
	}
	n, ok := m.files[name]
	switch {
	case ok:
	case m.dirs[name]:
		return nil, &fs.PathError{Op: OpOpen, Path: name, Err: errors.New("is a directory")}
	case !create:
		return nil, notExist(OpOpen, name)
	case !m.dirs[path.Dir(name)]:
		return nil, notExist(OpOpen, path.Dir(name))
	default:
		m.ids++
		n = &node{id: m.ids}
		m.files[name] = n
		m.names++
	}
	return &file{fs: m, n: n, name: name, gen: m.gen}, nil
}

// Exists reports whether name is a file or directory now.
func (m *FS) Exists(name string) bool {
	name = path.Clean(name)
	_, ok := m.files[name]
	return ok || m.dirs[name]
}

// Remove deletes a file (durable after SyncDir) or an empty directory
// (durable at once).
func (m *FS) Remove(name string) error {
	name = path.Clean(name)
	if err := m.inject(OpRemove, name); err != nil {
		return err
	}
	if _, ok := m.files[name]; ok {
		delete(m.files, name)
		m.names++
		return nil
	}
	if !m.dirs[name] {
		return notExist(OpRemove, name)
	}
	// order-independent: an existence test
	for other := range m.files {
		if path.Dir(other) == name {
			return &fs.PathError{Op: OpRemove, Path: name, Err: errors.New("directory not empty")}
		}
	}
	// order-independent: an existence test
	for d := range m.dirs {
		if d != name && path.Dir(d) == name {
			return &fs.PathError{Op: OpRemove, Path: name, Err: errors.New("directory not empty")}
		}
	}
	delete(m.dirs, name)
	m.forgetDurableUnder(name)
	return nil
}

// RemoveAll deletes dir and everything under it, durably at once. A
// missing dir is not an error.
func (m *FS) RemoveAll(dir string) error {
	dir = path.Clean(dir)
	if err := m.inject(OpRemoveAll, dir); err != nil {
		return err
	}
	m.names++
	delete(m.files, dir)
	delete(m.durable, dir)
	// order-independent: deletes by predicate
	for name := range m.files {
		if under(name, dir) {
			delete(m.files, name)
		}
	}
	// order-independent: deletes by predicate
	for d := range m.dirs {
		if d == dir || under(d, dir) {
			delete(m.dirs, d)
		}
	}
	m.forgetDurableUnder(dir)
	return nil
}

func (m *FS) forgetDurableUnder(dir string) {
	// order-independent: deletes by predicate
	for name := range m.durable {
		if under(name, dir) {
			delete(m.durable, name)
		}
	}
}

func under(name, dir string) bool {
	if dir == "/" {
		return strings.HasPrefix(name, "/") && name != "/"
	}
	return strings.HasPrefix(name, dir+"/")
}

// Rename moves the file oldName to newName, replacing it. Only files can be
// renamed. The change is durable after SyncDir of both parents.
func (m *FS) Rename(oldName, newName string) error {
	oldName, newName = path.Clean(oldName), path.Clean(newName)
	if err := m.inject(OpRename, oldName); err != nil {
		return err
	}
	n, ok := m.files[oldName]
	if !ok {
		return notExist(OpRename, oldName)
	}
	if !m.dirs[path.Dir(newName)] {
		return notExist(OpRename, path.Dir(newName))
	}
	if m.dirs[newName] {
		return &fs.PathError{Op: OpRename, Path: newName, Err: errors.New("is a directory")}
	}
	delete(m.files, oldName)
	m.files[newName] = n
	m.names++
	return nil
}

// SyncDir makes the current names directly in dir durable.
func (m *FS) SyncDir(dir string) error {
	dir = path.Clean(dir)
	if err := m.inject(OpSyncDir, dir); err != nil {
		return err
	}
	return m.commitNames(dir)
}

// CommitNames does what SyncDir does without being asked through the FS
// interface, as a journaling file system may commit a directory's names
// on its own at any time (POSIX promises durability after fsync of the
// directory, never loss without it). Like Corrupt, it is a test hook: it
// does not go through Inject.
func (m *FS) CommitNames(dir string) error {
	return m.commitNames(path.Clean(dir))
}

func (m *FS) commitNames(dir string) error {
	if !m.dirs[dir] {
		return notExist(OpSyncDir, dir)
	}
	m.names++
	// order-independent: deletes by predicate
	for name := range m.durable {
		if path.Dir(name) == dir {
			if _, ok := m.files[name]; !ok {
				delete(m.durable, name)
			}
		}
	}
	// order-independent: copies by predicate
	for name, n := range m.files {
		if path.Dir(name) == dir {
			m.durable[name] = n
		}
	}
	return nil
}

// Crash simulates a power loss: the namespace reverts to the durable one
// and each file to its synced image, plus what Policy keeps of the unsynced
// tail, drawn from rng. Open handles become stale.
func (m *FS) Crash(rng *rand.Rand) {
	names := make([]string, 0, len(m.durable))
	// order-independent: names collected, then sorted
	for name := range m.durable {
		names = append(names, name)
	}
	slices.Sort(names)
	seen := map[*node]bool{}
	m.files = make(map[string]*node, len(names))
	for _, name := range names {
		n := m.durable[name]
		m.files[name] = n
		if seen[n] {
			continue
		}
		seen[n] = true
		if keep, ok := m.keeps[n]; ok {
			n.data = kept(n, keep)
		} else {
			n.data = m.Policy.survivor(n, rng)
		}
		n.synced = slices.Clone(n.data)
		n.same = len(n.data)
	}
	m.keeps = nil
	m.gen++
	m.names++
}

// kept returns the content a crash leaves of n when KeepOnCrash pinned
// it to size bytes: the synced image, then the written image from there
// up to size. Clamped, so that a write or sync after the pin can neither
// make a crash invent bytes nor lose synced ones.
func kept(n *node, size int64) []byte {
	out := slices.Clone(n.synced)
	end := min(max(int(size), len(n.synced)), len(n.data))
	if end > len(out) {
		out = append(out, n.data[len(out):end]...)
	}
	return out
}

// survivor returns the content a crash leaves of n: the synced image,
// then maybe a prefix of the unsynced tail whose last bytes may be garbage.
// Nothing survives past the written length: a file system cannot invent
// data beyond a size that was never written.
func (p CrashPolicy) survivor(n *node, rng *rand.Rand) []byte {
	out := slices.Clone(n.synced)
	tail := len(n.data) - len(n.synced)
	if tail <= 0 || rng.Float64() >= p.TornTailProb {
		return out
	}
	keep := rng.IntN(tail + 1)
	out = append(out, n.data[len(n.synced):len(n.synced)+keep]...)
	if keep > 0 && p.GarbageBytesMax > 0 && rng.Float64() < p.GarbageProb {
		g := 1 + rng.IntN(min(keep, p.GarbageBytesMax))
		for i := len(out) - g; i < len(out); i++ {
			out[i] = byte(rng.Uint32())
		}
	}
	return out
}

// Corrupt flips the lowest bit of the byte at off in both the written and
// the synced image of name, as a media error would.
func (m *FS) Corrupt(name string, off int64) error {
	return m.Flip(name, off, 1)
}

// Flip flips the bits of mask in the byte at off in both the written and
// the synced image of name (in the synced one only if off lies within
// it). Flipping bits at or past the synced length damages only data a
// crash may lose anyway: with KeepOnCrash, a torn write that left wrong
// bytes. Like Corrupt, it is a test hook: it does not go through Inject.
func (m *FS) Flip(name string, off int64, mask byte) error {
	name = path.Clean(name)
	n, ok := m.files[name]
	if !ok {
		return notExist("corrupt", name)
	}
	if off < 0 || off >= int64(len(n.data)) {
		return fmt.Errorf("memfs: corrupt %s: offset %d outside size %d", name, off, len(n.data))
	}
	n.data[off] ^= mask
	if off < int64(len(n.synced)) {
		n.synced[off] ^= mask
	}
	return nil
}

// KeepOnCrash makes the next Crash leave name with exactly size bytes:
// its synced image, then its written image from the synced length up to
// size, whatever Policy would draw. It is a torn write that stops at a
// chosen place, so a test can make a crash keep damage it planted in the
// unsynced tail, or cut a tail where it wants. size must lie between the
// synced and the written length. The pin holds for the next Crash only
// (and follows the file if it is renamed); a later call replaces it.
// Like Corrupt, it is a test hook: it does not go through Inject.
func (m *FS) KeepOnCrash(name string, size int64) error {
	name = path.Clean(name)
	n, ok := m.files[name]
	if !ok {
		return notExist("keeponcrash", name)
	}
	if size < int64(len(n.synced)) || size > int64(len(n.data)) {
		return fmt.Errorf("memfs: keep %s: size %d outside synced %d..written %d", name, size, len(n.synced), len(n.data))
	}
	if m.keeps == nil {
		m.keeps = map[*node]int64{}
	}
	m.keeps[n] = size
	return nil
}

// Extend appends b to both images of name, as bytes that reached the
// disk without a write the file system acknowledged: an old write
// replayed past the end of a file after a crash. The images must have
// equal lengths (as after a Crash), so that no unsynced data becomes
// durable through it. Like Corrupt, it is a test hook: it does not go
// through Inject.
func (m *FS) Extend(name string, b []byte) error {
	name = path.Clean(name)
	n, ok := m.files[name]
	if !ok {
		return notExist("extend", name)
	}
	if len(n.data) != len(n.synced) {
		return fmt.Errorf("memfs: extend %s: written %d and synced %d lengths differ", name, len(n.data), len(n.synced))
	}
	n.data = append(n.data, b...)
	n.synced = append(n.synced, b...)
	return nil
}

// Files lists every file of the current namespace, sorted. Like Corrupt,
// it is a test hook: it does not go through Inject.
func (m *FS) Files() []string {
	names := make([]string, 0, len(m.files))
	// order-independent: names collected, then sorted
	for name := range m.files {
		names = append(names, name)
	}
	slices.Sort(names)
	return names
}

// Clone returns an independent copy of the file system as it is now:
// both namespaces, both images of every file, its crash policy, without
// Inject, pins or open handles. The simulator recovers the copy fully to
// check what a restart that trusted the files loaded. Like Corrupt, it
// is a test hook.
func (m *FS) Clone() *FS {
	c := &FS{Policy: m.Policy, dirs: maps.Clone(m.dirs), files: make(map[string]*node, len(m.files)),
		durable: make(map[string]*node, len(m.durable)), gen: m.gen, names: m.names, ids: m.ids}
	copied := map[*node]*node{}
	clone := func(n *node) *node {
		if c, ok := copied[n]; ok {
			return c
		}
		cn := &node{data: slices.Clone(n.data), synced: slices.Clone(n.synced), same: n.same, id: n.id, cuts: n.cuts}
		copied[n] = cn
		return cn
	}
	// order-independent: copies into maps
	for name, n := range m.files {
		c.files[name] = clone(n)
	}
	// order-independent: copies into maps
	for name, n := range m.durable {
		c.durable[name] = clone(n)
	}
	return c
}

// WrittenSize returns the length of the written image of name, without
// going through Inject.
func (m *FS) WrittenSize(name string) (int64, error) {
	name = path.Clean(name)
	n, ok := m.files[name]
	if !ok {
		return 0, notExist("writtensize", name)
	}
	return int64(len(n.data)), nil
}

// ReadFile returns a copy of the written image of name.
func (m *FS) ReadFile(name string) ([]byte, error) {
	name = path.Clean(name)
	n, ok := m.files[name]
	if !ok {
		return nil, notExist("readfile", name)
	}
	return slices.Clone(n.data), nil
}

// SyncedSize returns the length of the synced image of name.
func (m *FS) SyncedSize(name string) (int64, error) {
	name = path.Clean(name)
	n, ok := m.files[name]
	if !ok {
		return 0, notExist("syncedsize", name)
	}
	return int64(len(n.synced)), nil
}

// file is an open handle. It stays bound to its node even if the name is
// removed or renamed, as on POSIX.
type file struct {
	fs     *FS
	n      *node
	name   string
	gen    uint64
	closed bool
}

// begin runs the fault hook and locks the FS; on success the caller must
// unlock.
func (f *file) begin(op string) error {
	if err := f.fs.inject(op, f.name); err != nil {
		return err
	}
	if f.closed || f.gen != f.fs.gen {
		return fmt.Errorf("%s %s: %w", op, f.name, ErrStale)
	}
	return nil
}

func (f *file) ReadAt(p []byte, off int64) (int, error) {
	if err := f.begin(OpRead); err != nil {
		return 0, err
	}
	if off < 0 {
		return 0, &fs.PathError{Op: OpRead, Path: f.name, Err: fs.ErrInvalid}
	}
	if off >= int64(len(f.n.data)) {
		return 0, io.EOF
	}
	k := copy(p, f.n.data[off:])
	if k < len(p) {
		return k, io.EOF
	}
	return k, nil
}

func (f *file) WriteAt(p []byte, off int64) (int, error) {
	if err := f.begin(OpWrite); err != nil {
		return 0, err
	}
	if off < 0 {
		return 0, &fs.PathError{Op: OpWrite, Path: f.name, Err: fs.ErrInvalid}
	}
	f.n.dirty(off)
	if end, old := off+int64(len(p)), int64(len(f.n.data)); end > old {
		f.n.data = slices.Grow(f.n.data, int(end-old))[:end]
		clear(f.n.data[old:max(old, off)]) // a hole before off reads as zeros
	}
	copy(f.n.data[off:], p)
	return len(p), nil
}

func (f *file) Size() (int64, error) {
	if err := f.begin(OpSize); err != nil {
		return 0, err
	}
	return int64(len(f.n.data)), nil
}

func (f *file) Truncate(size int64) error {
	if err := f.begin(OpTruncate); err != nil {
		return err
	}
	if size < 0 {
		return &fs.PathError{Op: OpTruncate, Path: f.name, Err: fs.ErrInvalid}
	}
	f.n.dirty(size)
	if size <= int64(len(f.n.data)) {
		if size < int64(len(f.n.data)) {
			f.n.cuts++
		}
		f.n.data = f.n.data[:size:size]
		return nil
	}
	f.n.data = append(f.n.data, make([]byte, size-int64(len(f.n.data)))...)
	return nil
}

func (f *file) Sync() error {
	if err := f.begin(OpSync); err != nil {
		return err
	}
	// Only the bytes from same on can differ; the synced buffer is the
	// node's own, so appending to it never touches data.
	f.n.synced = append(f.n.synced[:f.n.same], f.n.data[f.n.same:]...)
	f.n.same = len(f.n.data)
	return nil
}

// Generation is the node's count of truncations that cut bytes: the
// only change to bytes once written, besides a crash (which makes the
// handle stale).
func (f *file) Generation() uint64 { return f.n.cuts }

// ReadSpan reads, as ReadAt, the bytes of a span taken at generation
// gen.
func (f *file) ReadSpan(p []byte, off int64, gen uint64) error {
	if f.n.cuts != gen {
		return fmt.Errorf("%s at %d: %w", f.name, off, kio.ErrStaleSpan)
	}
	k, err := f.ReadAt(p, off)
	if err != nil && !(errors.Is(err, io.EOF) && k == len(p)) {
		return err
	}
	return nil
}

func (f *file) Close() error {
	if err := f.begin(OpClose); err != nil {
		return err
	}
	f.closed = true
	return nil
}

// NamesVersion changes whenever a file name is created, removed or
// renamed, or a directory synced or the file system crashed: a listing
// taken at one version holds until it changes.
func (m *FS) NamesVersion() uint64 { return m.names }

// ProcessCrash simulates the death of the process alone (kill -9): the
// kernel keeps every written byte and name, durable or not, and only the
// open handles become stale.
func (m *FS) ProcessCrash() { m.gen++ }

// DurableNames lists the files of dir that a power loss now would leave,
// sorted. Like Files, it is a test hook that bypasses Inject.
func (m *FS) DurableNames(dir string) []string { return namesIn(m.durable, dir) }

// namesIn lists the names of ns directly in dir, sorted.
func namesIn(ns map[string]*node, dir string) []string {
	dir = path.Clean(dir)
	var names []string
	// order-independent: names collected, then sorted
	for name := range ns {
		if path.Dir(name) == dir {
			names = append(names, name)
		}
	}
	slices.Sort(names)
	return names
}

// DurableData returns the synced image that a power loss now would leave
// under name, a clean path as the listings give (nil if the name is not
// durable). The slice is the file system's own: callers must not modify
// or keep it.
func (m *FS) DurableData(name string) []byte {
	if n := m.durable[name]; n != nil {
		return n.synced
	}
	return nil
}

// WrittenData returns the written image of name, a clean path as the
// listings give (nil if absent). The slice is the file system's own:
// callers must not modify or keep it.
func (m *FS) WrittenData(name string) []byte {
	if n := m.files[name]; n != nil {
		return n.data
	}
	return nil
}

// ID identifies the file under name in the current namespace (durable
// false) or the durable one: a number given at its creation, kept across
// renames and crashes, so that a caller caching what it parsed of a file
// can tell when a rename put another file under the name. 0 if absent.
func (m *FS) ID(name string, durable bool) uint64 {
	ns := m.files
	if durable {
		ns = m.durable
	}
	if n := ns[name]; n != nil {
		return n.id
	}
	return 0
}

// Cuts counts the truncations that shortened the file under name (in
// the current namespace, or the durable one), so that a caller caching
// what it parsed of a file can tell that bytes it parsed are gone. 0 if
// absent.
func (m *FS) Cuts(name string, durable bool) uint64 {
	ns := m.files
	if durable {
		ns = m.durable
	}
	if n := ns[name]; n != nil {
		return n.cuts
	}
	return 0
}

// WrittenNames lists the files of dir in the current namespace, sorted.
func (m *FS) WrittenNames(dir string) []string { return namesIn(m.files, dir) }
