//go:build !simbugs

package core

// bugOn is false in every build without the simbugs tag: the compiler
// removes the bug sites. See Bug.
func bugOn(Bug) bool { return false }
