package kio

// SavedZnodes lists the coordinator's persistent znodes with their
// versions, as a snapshot would save them, for the tests of package
// kio_test.
func (c *FileCoordinator) SavedZnodes() []SavedZnode { return c.tree.Snapshot() }
