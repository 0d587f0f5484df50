package core

import (
	"errors"
	"slices"
	"strings"

	"cloudkafka/core/cover"

	"github.com/twmb/franz-go/pkg/kmsg"
)

// The ACL cache and its coordination store (see acl.go for the layout).

// setACLs replaces a resource pattern's cached entries (none: forgets it).
func (b *Broker) setACLs(r aclResource, entries []aclEntry) {
	if b.acl.resources == nil {
		b.acl.resources = map[aclResource][]aclEntry{}
		b.acl.prefixLens = map[kmsg.ACLResourceType][]int{}
	}
	old, had := b.acl.resources[r]
	b.acl.count += len(entries) - len(old)
	if len(entries) == 0 {
		delete(b.acl.resources, r)
	} else {
		b.acl.resources[r] = entries
	}
	if r.Pattern != kmsg.ACLResourcePatternTypePrefixed || had == (len(entries) > 0) {
		return
	}
	lens := b.acl.prefixLens[r.Type]
	if had {
		i := slices.Index(lens, len(r.Name))
		lens = slices.Delete(lens, i, i+1)
	} else {
		i, _ := slices.BinarySearch(lens, len(r.Name))
		lens = slices.Insert(lens, i, len(r.Name))
	}
	b.acl.prefixLens[r.Type] = lens
}

// aclResources lists the cached resource patterns in a stable order.
func (b *Broker) aclResources() []aclResource {
	out := make([]aclResource, 0, len(b.acl.resources))
	// order-independent: collected, then sorted
	for r := range b.acl.resources {
		out = append(out, r)
	}
	slices.SortFunc(out, func(x, y aclResource) int {
		if x.Type != y.Type {
			return int(x.Type) - int(y.Type)
		}
		if x.Pattern != y.Pattern {
			return int(x.Pattern) - int(y.Pattern)
		}
		return strings.Compare(x.Name, y.Name)
	})
	return out
}

// aclResourceOfPath reads a resource pattern's znode path.
func aclResourceOfPath(path string) (aclResource, bool) {
	for _, root := range []struct {
		path    string
		pattern kmsg.ACLResourcePatternType
	}{{zkACL + "/", kmsg.ACLResourcePatternTypeLiteral}, {zkACLPrefixed + "/", kmsg.ACLResourcePatternTypePrefixed}} {
		rest, ok := strings.CutPrefix(path, root.path)
		if !ok {
			continue
		}
		typ, name, ok := strings.Cut(rest, "/")
		if !ok || name == "" || strings.Contains(name, "/") {
			return aclResource{}, false
		}
		t, ok := aclName(typ, aclTypes, kmsg.ACLResourceType.String)
		return aclResource{Type: t, Pattern: root.pattern, Name: name}, ok
	}
	return aclResource{}, false
}

// recoverACLs fills the cache from the recovered znodes. A document that
// does not parse is skipped, as Kafka's loader would fail on it: the
// next change to that resource rewrites it.
func (b *Broker) recoverACLs(byPath map[string][]byte) {
	if !b.cfg.ACL.Enabled {
		return
	}
	for _, path := range sortedKeys(byPath) {
		r, ok := aclResourceOfPath(path)
		if !ok {
			continue
		}
		if entries, err := decodeACLs(byPath[path]); err == nil {
			b.setACLs(r, entries)
		}
	}
}

// loadACLs reloads every ACL and watches both change paths; called at
// registration (every new session). The notifications present at the
// start are taken as seen: the reload reads what they announced.
func (b *Broker) loadACLs() {
	if !b.cfg.ACL.Enabled {
		return
	}
	b.acl.epoch++
	epoch := b.acl.epoch
	seen := map[string]string{}
	pending := 1
	loaded := map[aclResource][]aclEntry{}
	var failed bool
	finish := func() {
		if pending--; pending > 0 || epoch != b.acl.epoch {
			return
		}
		if failed {
			b.acl.reloadAt = b.now + Instant(aclRetryMs*1e6)
			return
		}
		b.acl.seen = seen
		for _, r := range b.aclResources() {
			if _, ok := loaded[r]; !ok {
				b.setACLs(r, nil)
			}
		}
		for _, r := range sortedResources(loaded) {
			b.setACLs(r, loaded[r])
		}
		// A change announced while the reload read may have been read
		// before it and overwritten by older data: reread what came
		// after the notifications taken as seen.
		b.aclChangesFired(zkACLChanges)
		b.aclChangesFired(zkACLExtendedChanges)
	}
	for _, path := range []string{zkACLChanges, zkACLExtendedChanges} {
		pending++
		b.coordRead(CoordOp{Kind: CoordChildren, Path: path, Watch: true}, func(r CoordResult) {
			switch {
			case r.Err == nil:
				seen[path] = lastChange(r.Children)
				b.noteNotifications(path, r.Children)
			case !errors.Is(r.Err, ErrCoordNoNode):
				failed = true
			}
			finish()
		})
	}
	for _, root := range []string{zkACL, zkACLPrefixed} {
		for _, typ := range aclTypes {
			dir := root + "/" + pascalCase(typ.String())
			pending++
			b.coordRead(CoordOp{Kind: CoordChildren, Path: dir}, func(r CoordResult) {
				defer finish()
				if errors.Is(r.Err, ErrCoordNoNode) {
					return
				}
				if r.Err != nil {
					failed = true
					return
				}
				for _, name := range r.Children {
					pending++
					b.coordRead(CoordOp{Kind: CoordGet, Path: dir + "/" + name}, func(r CoordResult) {
						defer finish()
						res, ok := aclResourceOfPath(dir + "/" + name)
						switch {
						case errors.Is(r.Err, ErrCoordNoNode) || !ok:
						case r.Err != nil:
							failed = true
						default:
							if entries, err := decodeACLs(r.Data); err == nil && len(entries) > 0 {
								loaded[res] = entries
							}
						}
					})
				}
			})
		}
	}
	finish()
}

// aclRetryMs spaces the attempts to reload the ACLs after a read of the
// store failed.
const aclRetryMs = 1000

// aclTick retries a failed reload.
func (b *Broker) aclTick() {
	if b.acl.reloadAt != 0 && b.now >= b.acl.reloadAt {
		b.acl.reloadAt = 0
		b.loadACLs()
	}
}

func sortedResources(m map[aclResource][]aclEntry) []aclResource {
	out := make([]aclResource, 0, len(m))
	// order-independent: collected, then sorted
	for r := range m {
		out = append(out, r)
	}
	slices.SortFunc(out, func(x, y aclResource) int { return strings.Compare(x.String(), y.String()) })
	return out
}

// lastChange is the greatest notification name among children.
func lastChange(children []string) string {
	last := ""
	for _, c := range children {
		if strings.HasPrefix(c, aclChangePrefix) && c > last {
			last = c
		}
	}
	return last
}

// aclChangesFired processes the notifications of a change path created
// since the last seen, rereading each resource named, and watches the
// path again.
func (b *Broker) aclChangesFired(path string) {
	if !b.cfg.ACL.Enabled {
		return
	}
	epoch := b.acl.epoch
	b.coordRead(CoordOp{Kind: CoordChildren, Path: path, Watch: true}, func(r CoordResult) {
		if epoch != b.acl.epoch || b.acl.seen == nil {
			return
		}
		if r.Err != nil {
			b.acl.reloadAt = b.now + Instant(aclRetryMs*1e6)
			return
		}
		b.noteNotifications(path, r.Children)
		names := slices.Clone(r.Children)
		slices.Sort(names)
		for _, name := range names {
			if !strings.HasPrefix(name, aclChangePrefix) || name <= b.acl.seen[path] {
				continue
			}
			b.acl.seen[path] = name
			b.coordRead(CoordOp{Kind: CoordGet, Path: path + "/" + name}, func(r CoordResult) {
				if epoch != b.acl.epoch || errors.Is(r.Err, ErrCoordNoNode) {
					return
				}
				if r.Err != nil {
					b.acl.reloadAt = b.now + Instant(aclRetryMs*1e6)
					return
				}
				if res, ok := parseACLChange(path, r.Data); ok && !bugOn(BugACLChangesIgnored) { // BUG SITE (simbugs): no reread
					b.cover(cover.ACLChangeNotified)
					b.rereadACLs(res, epoch)
				}
			})
		}
	})
}

// rereadACLs replaces a resource pattern's cached entries by the stored
// ones.
func (b *Broker) rereadACLs(res aclResource, epoch int) {
	b.coordRead(CoordOp{Kind: CoordGet, Path: aclPath(res)}, func(r CoordResult) {
		if epoch != b.acl.epoch {
			return
		}
		switch {
		case errors.Is(r.Err, ErrCoordNoNode):
			b.setACLs(res, nil)
		case r.Err != nil:
			b.acl.reloadAt = b.now + Instant(aclRetryMs*1e6)
			return
		default:
			entries, err := decodeACLs(r.Data)
			if err != nil {
				return
			}
			b.setACLs(res, entries)
		}
	})
}

// aclUpdateRetries bounds the attempts of a conditional write of a
// resource pattern's entries that raced with another broker's (Kafka's
// maxUpdateRetries).
const aclUpdateRetries = 10

// updateACLs changes a resource pattern's stored entries with change,
// conditionally on the version read (retried when another writer got
// there first), updates the cache, notifies the other brokers, and
// calls done with the entries before and after (err: the store failed).
func (b *Broker) updateACLs(res aclResource, change func([]aclEntry) []aclEntry, done func(before, after []aclEntry, err error)) {
	path := aclPath(res)
	var attempt func(tries int)
	attempt = func(tries int) {
		b.coordRead(CoordOp{Kind: CoordGet, Path: path}, func(r CoordResult) {
			var current []aclEntry
			exists := r.Err == nil
			switch {
			case exists:
				var err error
				if current, err = decodeACLs(r.Data); err != nil {
					current = nil // an unreadable document is replaced
				}
			case !errors.Is(r.Err, ErrCoordNoNode):
				done(nil, nil, r.Err)
				return
			}
			next := normalizeEntries(change(slices.Clone(current)))
			var op CoordOp
			switch {
			case len(next) == 0 && !exists:
				b.setACLs(res, nil)
				done(current, next, nil)
				return
			case len(next) == 0:
				op = CoordOp{Kind: CoordDelete, Path: path, Version: r.Stat.Version}
			case exists:
				op = CoordOp{Kind: CoordSet, Path: path, Data: encodeACLs(next), Version: r.Stat.Version}
			default:
				op = createOp(path, encodeACLs(next))
			}
			b.coordWrite(op, func(err error) {
				if errors.Is(err, ErrCoordBadVersion) || errors.Is(err, ErrCoordNodeExists) || errors.Is(err, ErrCoordNoNode) {
					if tries+1 >= aclUpdateRetries {
						done(nil, nil, err)
						return
					}
					attempt(tries + 1)
					return
				}
				changePath, data := aclChange(res)
				note := createOp(changePath, data)
				note.Sequential = true
				if err != nil {
					// The write may have happened all the same (a lost
					// connection): the other brokers reread the resource,
					// which costs nothing if it did not.
					b.coordWrite(note, func(error) { done(nil, nil, err) })
					return
				}
				cached := b.acl.resources[res]
				b.setACLs(res, next)
				if slices.Equal(current, next) && slices.Equal(cached, next) {
					done(current, next, nil) // nothing changed, here or in the store
					return
				}
				// A store unchanged by this write, but not by this
				// broker's cache, was changed by an earlier attempt whose
				// answer was lost: the others hear of it now.
				b.coordWrite(note, func(err error) { done(current, next, err) })
			})
		})
	}
	attempt(0)
}
