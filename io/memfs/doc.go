// Package memfs is a crashable in-memory kio.FS for tests and the
// simulator, modelled on pebble's vfs.MemFS with crash support and errorfs.
//
// # Durability model
//
// Every file keeps two images: the written bytes (what reads see) and the
// synced bytes (what survives a crash). File.Sync copies the written image
// to the synced image.
//
// Names follow POSIX-style directory durability, as pebble's MemFS does:
// the FS keeps the current namespace and a durable namespace. Creating,
// renaming or removing a file changes the current namespace at once; the
// durable namespace of a directory catches up only on SyncDir of that
// directory. So a file that was created and synced but whose directory was
// never synced vanishes in a crash, and a removed file whose removal was not
// made durable comes back (with its synced content).
//
// Directories themselves are a simplification: MkdirAll, Remove of an empty
// directory and RemoveAll are durable at once (the runtime creates and
// removes directories rarely, and every caller makes those idempotent).
//
//	          write           Sync            Crash
//	written ─────────▶ ... ───────▶ synced ──────────▶ written = synced
//	                                                   (+ maybe a torn prefix
//	                                                    of the unsynced tail,
//	                                                    its end maybe garbage)
//
// # Crash
//
// Crash(rng) replaces the current namespace with the durable one and every
// file's content with its synced image. CrashPolicy decides, per file and
// from rng only, whether a random prefix of the unsynced tail (bytes past
// the synced length) survives too — a torn write — and whether the end of
// that prefix is random garbage, as on a file system that extended the size
// before the data reached the disk. A crash never leaves a file longer than
// it was written. Unsynced overwrites inside the synced length are
// always lost. Handles opened before a crash fail with ErrStale afterwards.
//
// # Faults
//
// Inject, when set, is called before every operation with the operation's
// name and path; a non-nil result fails the operation without effect. The
// names are the Op* constants. Corrupt flips a bit in both images of a file,
// as a media error would.
//
// Test hooks shape a crash for the simulator's targeted faults, none of
// them through Inject: Flip flips chosen bits (damage in the unsynced tail
// reaches the disk only if the crash keeps it); KeepOnCrash pins how much
// of a file's unsynced tail the next Crash keeps, in place of the policy's
// draw; Extend appends bytes to both images of a file whose images have
// equal lengths (old data replayed past a file's end); CommitNames makes
// a directory's names durable as a journal commit would.
//
// # Determinism
//
// ReadDir is sorted, Crash visits files in name order and draws only from
// the rng it is given, and nothing reads a clock. The FS has no locks: it
// is driven from one goroutine, as the simulator does.
//
// # Cost
//
// Sync copies only the bytes written or truncated since the file's last
// Sync, so a segment file that grows by appends costs O(append) per sync
// rather than O(file).
package memfs
