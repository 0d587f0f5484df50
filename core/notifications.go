package core

// Change notifications (/config/changes, /kafka-acl-changes,
// /kafka-acl-extended-changes) are sequential znodes every broker reads;
// as Kafka's ZkNodeChangeNotificationListener, each broker deletes those
// older than notificationExpiryMs, so that they do not pile up. A
// notification's age is how long ago this broker first listed it (the
// store keeps no time a broker can compare with its clock), so each is
// deleted by the first broker that has listed it for that long. A broker
// that missed one this old reads everything again at its next
// registration.

// notificationExpiryMs is Kafka's changeExpirationMs: 15 minutes.
const notificationExpiryMs = 15 * 60 * 1000

// noteNotifications records the notifications of a listing of path
// (the first time each is seen) and deletes those listed long enough
// ago; it forgets the ones no longer there.
func (b *Broker) noteNotifications(path string, children []string) {
	if b.notices == nil {
		b.notices = map[string]map[string]Instant{}
	}
	seen := b.notices[path]
	if seen == nil {
		seen = map[string]Instant{}
		b.notices[path] = seen
	}
	present := make(map[string]bool, len(children))
	for _, name := range children {
		present[name] = true
		first, ok := seen[name]
		switch {
		case !ok:
			seen[name] = b.now
		case b.now-first >= Instant(notificationExpiryMs)*1e6:
			delete(seen, name)
			b.coordWrite(CoordOp{Kind: CoordDelete, Path: path + "/" + name, Version: CoordAnyVersion}, nil) // gone already: as good
		}
	}
	// order-independent: deletes by a per-entry test
	for name := range seen {
		if !present[name] {
			delete(seen, name)
		}
	}
}
