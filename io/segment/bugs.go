package segment

// Bug names a deliberate storage defect that the simulator's checks must
// catch; the pattern is core.Bug's. Each bug site is marked
// "// BUG SITE (simbugs): ...", guarded by bugOn(b), which is the constant
// false without the simbugs build tag (bugs_off.go); with the tag
// (bugs_on.go) tests switch bugs with SetBug.
type Bug uint8

const (
	bugNone Bug = iota
	// BugSkipRecoveryCRC makes recovery accept a batch whose header parses
	// and whose length fits in the file without checking its CRC, so a
	// torn tail whose last bytes are garbage survives a crash and is
	// served to consumers.
	BugSkipRecoveryCRC
	bugCount
)
