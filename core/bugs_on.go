//go:build simbugs

package core

// bugsOn holds the switches, indexed by Bug. Only tests built with the
// simbugs tag set them, from one goroutine, between simulator runs.
var bugsOn [bugCount]bool

// SetBug switches a deliberate bug on or off. It exists only in builds with
// the simbugs tag; tests switch a bug off again when they finish.
func SetBug(b Bug, on bool) {
	if b == bugNone || b >= bugCount {
		panic("core: SetBug of an unknown bug")
	}
	bugsOn[b] = on
}

func bugOn(b Bug) bool { return bugsOn[b] }
