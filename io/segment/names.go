package segment

import (
	"strconv"
	"strings"

	"cloudkafka/core"
)

// File names; part of the format, do not change.
const (
	logExt        = ".log"
	indexExt      = ".index"
	timeIndexExt  = ".timeindex"
	tmpExt        = ".tmp"
	deletedExt    = ".deleted"
	cleanedExt    = ".log.cleaned" // a cleaner's output being written
	swapExt       = ".log.swap"    // a cleaner's committed output
	epochFile     = "leader-epoch-checkpoint"
	startFile     = "log-start-offset-checkpoint"
	producersFile = "producer-snapshot"
	cleanerFile   = "cleaner-offset-checkpoint"
	rewriteFile   = "cleaner-rewrite-offset-checkpoint"
	baseDigits    = 20
	noLeaderEpoch = core.LeaderEpoch(-1)
)

// parseBase returns the base offset of a segment file name with extension
// ext: 20 decimal digits then ext.
func parseBase(name, ext string) (core.Offset, bool) {
	digits, ok := strings.CutSuffix(name, ext)
	if !ok || len(digits) != baseDigits {
		return 0, false
	}
	for _, c := range digits {
		if c < '0' || c > '9' {
			return 0, false
		}
	}
	n, err := strconv.ParseInt(digits, 10, 64)
	if err != nil {
		return 0, false
	}
	return core.Offset(n), true
}

// dirListing sorts a partition directory's names into segment bases and
// committed cleaner outputs (.log.swap) to complete, each in order (as
// ReadDir sorts and the names are fixed width), and strays to delete:
// index files without a .log, leftover temporary files and uncommitted
// cleaner outputs (.log.cleaned).
func dirListing(names []string) (bases, swaps []core.Offset, strays []string) {
	logs := map[core.Offset]bool{}
	for _, n := range names {
		if b, ok := parseBase(n, logExt); ok {
			logs[b] = true
			bases = append(bases, b)
		}
		if b, ok := parseBase(n, swapExt); ok {
			swaps = append(swaps, b)
		}
	}
	for _, n := range names {
		b, isIdx := parseBase(n, indexExt)
		if !isIdx {
			b, isIdx = parseBase(n, timeIndexExt)
		}
		switch {
		case isIdx && !logs[b]:
			strays = append(strays, n)
		case strings.HasSuffix(n, tmpExt), strings.HasSuffix(n, deletedExt), strings.HasSuffix(n, cleanedExt):
			strays = append(strays, n)
		}
	}
	return bases, swaps, strays
}

// partitionOf reads Kafka's "<topic>-<partition>" directory name; it
// returns the zero value for other names.
func partitionOf(base string) core.TopicPartition {
	i := strings.LastIndexByte(base, '-')
	if i <= 0 {
		return core.TopicPartition{}
	}
	p, err := strconv.ParseInt(base[i+1:], 10, 32)
	if err != nil || p < 0 {
		return core.TopicPartition{}
	}
	return core.TopicPartition{Topic: base[:i], Partition: int32(p)}
}

// ProducerWindow is how many batches per producer the log remembers, as
// Kafka's ProducerStateEntry.NUM_BATCHES_TO_RETAIN.
const ProducerWindow = 5
