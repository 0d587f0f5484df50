package segment

// Bug names a deliberate storage defect that the simulator's checks must
// catch; the pattern is core.Bug's. Each bug site is marked
// "// BUG SITE (simbugs): ...", guarded by bugOn(b), which is the constant
// false without the simbugs build tag (bugs_off.go); with the tag
// (bugs_on.go) tests switch bugs with SetBug.
type Bug uint8

const (
	bugNone Bug = iota
	// BugSkipRecoveryCRC makes recovery trust any batch whose header
	// parses: it checks neither the CRC nor that the file holds the whole
	// batch (its length need only end within bugTornSlack of the file's
	// end), so a torn batch left by a crash survives recovery, padded
	// with zeros, and the log end counts its offsets. (The slack keeps a
	// garbage length of hundreds of megabytes from being trusted: every
	// read would then fill and checksum that much zero padding.) (Skipping only the CRC would rarely be caught:
	// the simulator's crashes tear batches often but leave a whole batch
	// with a bad CRC, a flipped bit or a garbage end, only rarely.)
	BugSkipRecoveryCRC
	// BugSkipDirSync makes Sync skip the directory fsync (and the
	// producer snapshot after a roll, whose durable write would sync the
	// directory too), so a segment created by a roll, and the
	// acknowledged batches in it, vanish in a crash (see io/memfs: names
	// are durable only after SyncDir).
	BugSkipDirSync
	// BugRetentionByOldest ages a segment by its oldest batch instead of
	// its newest, so retention.ms deletes records younger than it.
	BugRetentionByOldest
	// BugCleanerDropsLatest makes the cleaner compare a record's offset
	// with its key's latest mapped offset using <= instead of <, so the
	// latest value of every key it maps goes too (tombstones excepted).
	BugCleanerDropsLatest
	// BugCleanerEarlyTombstone makes the cleaner remove a key's latest
	// tombstone at once, without waiting delete.retention.ms after its
	// first cleaning.
	BugCleanerEarlyTombstone
	// BugRecoveryPointAtLogEnd makes a log's recovery point its log end
	// offset instead of the end its last Sync made durable, so the
	// checkpoint vouches for unsynced batches and a restart after a
	// power loss trusts them (their headers only, no CRC).
	BugRecoveryPointAtLogEnd
	// BugCleanShutdownKept makes the start leave the clean-shutdown
	// marker in place, so a crash after it is taken for a clean
	// shutdown and the next start trusts files no shutdown settled.
	BugCleanShutdownKept
	// BugScrubSkipsDamage makes the scrubber pass over a batch that fails
	// verification as if it were sound: it neither marks nor reports it,
	// so damage on the medium is never taken offline by the scrubber.
	BugScrubSkipsDamage
	bugCount
)

// bugTornSlack bounds how far past the file's end a batch trusted by
// BugSkipRecoveryCRC may reach: more than any batch the simulator writes.
const bugTornSlack = 4 << 20
