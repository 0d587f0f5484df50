package segment

import (
	"fmt"
	"math"
	"slices"

	"cloudkafka/core"
	"cloudkafka/core/cover"
)

// Delayed deletion (Kafka's file.delete.delay.ms, FileDeleteDelayMs).
//
// A segment that retention, a truncation, RestartAt or the cleaner's swap
// removes from the log leaves l.segs at once: no read serves its data as
// part of the log from then on. With a delay of 0 its files are closed
// and removed right away. With a delay it is discarded in two steps:
//
//	removal                  each file <name> is renamed <name>.deleted
//	                         (the caller syncs the directory as it did
//	                         for a removal); its files stay open
//	removal + delay          its files are closed and the .deleted names
//	(the first Retain then)  removed
//
// Meanwhile spans handed out before the removal (ReadSpans) stay valid:
// a rename keeps an open file's bytes and handle, and only a Close or a
// cutting Truncate makes a span stale. So a fetch answered from a segment
// retention removes while the response is being sent is sent whole.
//
// Deletions are carried out by Retain, which carries the broker's clock,
// and by DeleteDue; DeletionDueMs tells the broker when the next one is
// due, so that it asks for one then (the Retained, Truncated and Cleaned
// events report it, and a Retain with FilesOnly runs DeleteDue). Close
// and Delete carry out every pending deletion at once.
//
// Crash safety: a rename lost to a power loss brings the file back
// under its old name, which is what a lost removal did before: the log
// recovers as it did. A .deleted file a crash leaves is a stray that
// Open removes (dirListing). The removal of a .deleted name needs no
// directory sync for the same reason.

// pendingDeletionsMax bounds a log's pending deletions; past it the
// oldest is carried out at once (its spans go stale early). Each holds
// three open files.
const pendingDeletionsMax = 256

// pendingDeletion is a segment removed from the log whose files wait for
// their deletion.
type pendingDeletion struct {
	seg *segment // its files, still open
	// names are the .deleted names it still owns: a later segment at the
	// same base renamed over one takes it (the earlier file lives on,
	// nameless, while open).
	names []string
	dueMs int64 // the broker's clock when it is due
}

// segmentExts are the extensions of a segment's files.
var segmentExts = []string{logExt, indexExt, timeIndexExt}

// discard removes s, already out of l.segs, from the log's files as
// cfg.FileDeleteDelayMs says: at once, or renamed aside until nowMs plus
// the delay. The caller syncs the directory.
func (l *Log) discard(s *segment, nowMs int64, cfg core.LogConfig) error {
	if cfg.FileDeleteDelayMs <= 0 {
		s.close()
		return l.removeSegmentFiles(s.base)
	}
	if len(l.pending) >= pendingDeletionsMax {
		if err := l.carryOut(l.pending[0]); err != nil {
			s.close()
			return err
		}
		l.pending = slices.Delete(l.pending, 0, 1)
	}
	p := pendingDeletion{seg: s, dueMs: satAdd(nowMs, cfg.FileDeleteDelayMs)}
	for _, ext := range segmentExts {
		name := fileName(l.dir, s.base, ext)
		if !l.fs.Exists(name) {
			continue
		}
		aside := name + deletedExt
		l.disown(aside)
		if err := l.fs.Rename(name, aside); err != nil {
			l.pending = append(l.pending, p) // its files still close in Close
			return fmt.Errorf("segment: rename %s: %w", name, err)
		}
		l.dirDirty = true
		p.names = append(p.names, aside)
	}
	l.pending = append(l.pending, p)
	return nil
}

// disown takes name from the pending deletion that owns it, if any: a
// rename is about to replace it.
func (l *Log) disown(name string) {
	for i := range l.pending {
		l.pending[i].names = slices.DeleteFunc(l.pending[i].names, func(n string) bool { return n == name })
	}
}

// DeleteDue deletes the files of removed segments that are due at nowMs,
// as Retain does first, and nothing else.
func (l *Log) DeleteDue(nowMs int64, cfg core.LogConfig) error {
	if err := l.usable(); err != nil {
		return err
	}
	if err := l.deleteDue(nowMs, cfg); err != nil {
		return l.fail(err)
	}
	return nil
}

// deleteDue carries out the pending deletions due at nowMs.
func (l *Log) deleteDue(nowMs int64, cfg core.LogConfig) error {
	kept := l.pending[:0]
	var first error
	for _, p := range l.pending {
		if p.dueMs > nowMs {
			kept = append(kept, p)
			continue
		}
		cfg.Coverage.Hit(cover.SegmentDeletionDelayed)
		if err := l.carryOut(p); err != nil && first == nil {
			first = err
		}
	}
	clear(l.pending[len(kept):])
	l.pending = kept
	return first
}

// deleteAllPending carries out every pending deletion, as Close does.
func (l *Log) deleteAllPending() error {
	var first error
	for _, p := range l.pending {
		if err := l.carryOut(p); err != nil && first == nil {
			first = err
		}
	}
	l.pending = nil
	return first
}

// closePending closes the files of every pending deletion without
// removing their names, as Delete does before it removes the directory.
func (l *Log) closePending() {
	for _, p := range l.pending {
		p.seg.close()
	}
	l.pending = nil
}

// carryOut closes p's files and removes the names it owns.
func (l *Log) carryOut(p pendingDeletion) error {
	first := p.seg.close()
	for _, name := range p.names {
		if err := l.fs.Remove(name); err != nil && first == nil {
			first = fmt.Errorf("segment: remove %s: %w", name, err)
		}
	}
	return first
}

// DeletionDueMs returns when the earliest pending deletion is due, by the
// broker's clock, and false when none is pending.
func (l *Log) DeletionDueMs() (int64, bool) {
	if len(l.pending) == 0 {
		return 0, false
	}
	due := int64(math.MaxInt64)
	for _, p := range l.pending {
		due = min(due, p.dueMs)
	}
	return due, true
}

// PendingDeletions is how many removed segments wait for their files'
// deletion.
func (l *Log) PendingDeletions() int { return len(l.pending) }

// satAdd is a + b for b >= 0, capped at math.MaxInt64.
func satAdd(a, b int64) int64 {
	if a > math.MaxInt64-b {
		return math.MaxInt64
	}
	return a + b
}
