package segment

import (
	"errors"
	"fmt"
	"slices"

	"cloudkafka/core"
	"cloudkafka/core/cover"
)

// The cleaner's files (see clean.go):
//
//	<base>.log.cleaned                   a group's output being written;
//	                                     recovery deletes it
//	<base>.log.swap                      a committed output; recovery
//	                                     completes the swap
//	cleaner-offset-checkpoint            the first dirty offset
//	cleaner-rewrite-offset-checkpoint    segments below it may have gaps
//
// Both checkpoints use the log start checkpoint's format (start.go). Part
// of the format; do not change.

// completeSwaps finishes the swaps a crash interrupted, in offset order:
// for the swap at base a whose batches end at L (a when it holds none), it
// deletes the segments whose base lies in (a, L) (and before the next
// swap), renames the swap over a.log and syncs the directory. It returns
// the segment bases afterwards.
func (l *Log) completeSwaps(bases, swaps []core.Offset, cfg core.LogConfig) ([]core.Offset, error) {
	for i, a := range swaps {
		name := fileName(l.dir, a, swapExt)
		end, err := l.swapEnd(name, a)
		if err != nil {
			return nil, err
		}
		if i+1 < len(swaps) {
			end = min(end, swaps[i+1])
		}
		kept := bases[:0]
		for _, b := range bases {
			if b > a && b < end {
				if err := l.removeSegmentFiles(b); err != nil {
					return nil, err
				}
				continue
			}
			kept = append(kept, b)
		}
		bases = kept
		// a's indexes, if any are left, describe the .log the swap
		// replaces: without them the segment is recovered, not trusted.
		for _, ext := range []string{indexExt, timeIndexExt} {
			if idx := fileName(l.dir, a, ext); l.fs.Exists(idx) {
				if err := l.remove(idx); err != nil {
					return nil, err
				}
			}
		}
		if err := l.fs.Rename(name, fileName(l.dir, a, logExt)); err != nil {
			return nil, fmt.Errorf("segment: rename %s: %w", name, err)
		}
		l.dirDirty = true
		if j, found := slices.BinarySearch(bases, a); !found {
			bases = slices.Insert(bases, j, a)
		}
		cfg.Coverage.Hit(cover.CleanerSwapCompleted)
	}
	if err := l.syncDirIfDirty(); err != nil {
		return nil, err
	}
	return bases, nil
}

// swapEnd returns the offset after the last whole batch of the swap file
// name (base a): the headers are read only; recovery checks the batches
// once the swap is a segment.
func (l *Log) swapEnd(name string, a core.Offset) (core.Offset, error) {
	f, err := l.fs.OpenFile(name, false)
	if err != nil {
		return 0, fmt.Errorf("segment: open %s: %w", name, err)
	}
	defer f.Close()
	size, err := f.Size()
	if err != nil {
		return 0, fmt.Errorf("segment: size %s: %w", name, err)
	}
	r := newBlockReader(f, name, size)
	end := a
	for pos := int64(0); pos < size; {
		hdr, err := r.peek(pos, core.BatchHeaderSize)
		if errors.Is(err, errPastEnd) {
			break
		}
		if err != nil {
			return 0, err
		}
		h, perr := core.ParseBatchHeader(hdr)
		if perr != nil || h.LastOffsetDelta < 0 || pos+int64(h.Size()) > size {
			break
		}
		end = max(end, h.LastOffset()+1)
		pos += int64(h.Size())
	}
	return end, nil
}

// lowerCleanerCheckpoints brings both cleaner checkpoints down to end when
// the log was truncated below them, durably: offsets from end on will be
// written anew, contiguous and not yet cleaned.
func (l *Log) lowerCleanerCheckpoints(end core.Offset) error {
	if l.cleanedTo > end {
		if err := writeCheckpoint(l.fs, l.dir, cleanerFile, end); err != nil {
			return err
		}
		l.cleanedTo = end
	}
	if l.rewriteBound > end {
		if err := writeCheckpoint(l.fs, l.dir, rewriteFile, end); err != nil {
			return err
		}
		l.rewriteBound = end
	}
	return nil
}
