package core

import (
	"encoding/json"
	"slices"
	"strconv"
	"strings"

	"cloudkafka/core/cover"
)

// liveBroker is a broker registered under /brokers/ids, as Metadata and
// DescribeCluster list it.
type liveBroker struct {
	id    BrokerID
	host  string
	port  int32
	rack  string
	epoch int64 // its registration's czxid (KIP-380's broker epoch)
}

// brokerList keeps the metadata cache's live brokers current: once the
// broker registered, it lists /brokers/ids with a child watch and reads
// each registration; a fired watch lists again. A listing begun before a
// newer one is ignored when it completes.
type brokerList struct {
	epoch int // the current listing; answers of older ones are dropped
}

// listBrokers starts a listing of /brokers/ids, leaving a child watch.
func (b *Broker) listBrokers() {
	b.brokerList.epoch++
	epoch := b.brokerList.epoch
	tok := awaitFor(b.step, func(r CoordResult) {
		if epoch != b.brokerList.epoch {
			return
		}
		if r.Err != nil {
			return // a session change or the registration lists again
		}
		found := map[BrokerID]liveBroker{}
		pending := 1
		done := func() {
			if pending--; pending == 0 && epoch == b.brokerList.epoch {
				b.live = found
				b.ctlReconcile() // the controller acts on brokers gone and come
			}
		}
		for _, name := range r.Children {
			id, err := strconv.ParseInt(name, 10, 32)
			if err != nil || id < 0 {
				continue // not a broker's registration
			}
			pending++
			rtok := awaitFor(b.step, func(r CoordResult) {
				if lb, ok := parseBrokerZnode(BrokerID(id), r); ok {
					found[lb.id] = lb
				}
				done()
			})
			b.emit(CoordOp{Token: rtok, Kind: CoordGet, Path: zkBrokerIDs + name})
		}
		done()
	})
	// BUG SITE (simbugs): BugBrokerListUnwatched leaves no watch.
	b.emit(CoordOp{Token: tok, Kind: CoordChildren, Path: strings.TrimSuffix(zkBrokerIDs, "/"), Watch: !bugOn(BugBrokerListUnwatched)})
}

// parseBrokerZnode reads a registration; one that is gone or does not
// parse lists no broker.
func parseBrokerZnode(id BrokerID, r CoordResult) (liveBroker, bool) {
	if r.Err != nil {
		return liveBroker{}, false
	}
	var z BrokerZnode
	if err := json.Unmarshal(r.Data, &z); err != nil || z.Host == "" || z.Port <= 0 {
		return liveBroker{}, false
	}
	return liveBroker{id: id, host: z.Host, port: z.Port, rack: z.Rack, epoch: r.Stat.Czxid}, true
}

// watchFired handles a coordination watch notification.
func (b *Broker) watchFired(ev CoordWatchFired) {
	switch ev.Path {
	case strings.TrimSuffix(zkBrokerIDs, "/"):
		b.cover(cover.BrokerListWatched)
		b.listBrokers()
	case zkController:
		b.controllerWatch()
	case strings.TrimSuffix(zkTopics, "/"), zkDeleteTopics, zkISRChange:
		b.ctlLoad()
	default:
		if name, ok := strings.CutPrefix(ev.Path, zkTopics); ok && !strings.Contains(name, "/") {
			b.ctlLoad() // a topic's partitions grew
		}
		if name, ok := strings.CutPrefix(ev.Path, zkDeleteTopics+"/"); ok && ev.Type == WatchNodeDeleted {
			b.markGone(name) // a deletion finished
		}
	}
}

// brokers lists the live brokers by id for Metadata and DescribeCluster:
// this broker as its configuration says, and the others as the last
// listing found them.
func (b *Broker) brokers() []liveBroker {
	self := liveBroker{id: b.cfg.BrokerID, host: b.cfg.AdvertisedListener.Host, port: b.cfg.AdvertisedListener.Port, rack: b.cfg.Rack, epoch: b.brokerEpoch}
	out := []liveBroker{self}
	// order-independent: collected, then sorted
	for id, lb := range b.live {
		if id != self.id {
			out = append(out, lb)
		}
	}
	slices.SortFunc(out, func(a, c liveBroker) int { return int(a.id) - int(c.id) })
	return out
}
