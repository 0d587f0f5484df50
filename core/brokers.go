package core

import (
	"encoding/json"
	"slices"
	"strconv"
	"strings"

	"cloudkafka/core/cover"

	"github.com/twmb/franz-go/pkg/kmsg"
)

// liveBroker is a broker registered under /brokers/ids, as Metadata and
// DescribeCluster list it.
type liveBroker struct {
	id        BrokerID
	endpoints []Endpoint // its advertised endpoints, one per listener
	rack      string
	epoch     int64 // its registration's czxid (KIP-380's broker epoch)
}

// on is the broker's endpoint on a listener; a broker without that
// listener is not reachable on it (Metadata leaves it out, as Kafka's
// metadata cache does).
func (lb liveBroker) on(listener string) (Endpoint, bool) {
	return endpointOn(lb.endpoints, listener)
}

// interBroker is where other brokers reach lb: its endpoint on
// inter.broker.listener.name, or no address (the send fails and is
// retried) when it has none.
func (b *Broker) interBroker(lb liveBroker) Endpoint {
	if e, ok := lb.on(b.cfg.InterBrokerListener); ok {
		return e
	}
	return Endpoint{Listener: b.cfg.InterBrokerListener, Port: -1}
}

// peerSendTo is a PeerSend to lb on the inter-broker listener.
func (b *Broker) peerSendTo(tok Token, lb liveBroker, req kmsg.Request) PeerSend {
	e := b.interBroker(lb)
	return PeerSend{Token: tok, Broker: lb.id, Listener: e.Listener, Host: e.Host, Port: e.Port, Request: req}
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
	if err := json.Unmarshal(r.Data, &z); err != nil {
		return liveBroker{}, false
	}
	eps := znodeEndpoints(z)
	if len(eps) == 0 {
		return liveBroker{}, false
	}
	return liveBroker{id: id, endpoints: eps, rack: z.Rack, epoch: r.Stat.Czxid}, true
}

// znodeEndpoints reads a registration's endpoints as Kafka's
// BrokerIdZNode.decode does: the endpoints list, each listener's
// protocol from listener_security_protocol_map (by default, the
// listener's name); a registration without endpoints (version 1, or a
// foreign one) has its host and port as a PLAINTEXT endpoint. An
// endpoint that does not parse is left out.
func znodeEndpoints(z BrokerZnode) []Endpoint {
	protocols := map[string]string{}
	// order-independent: copied into a map
	for l, p := range z.Protocols {
		protocols[strings.ToUpper(l)] = p
	}
	if len(z.Protocols) == 0 {
		protocols, _ = parseProtocolMap(defaultProtocolMap)
	}
	var out []Endpoint
	for _, s := range z.Endpoints {
		if eps, err := parseEndpoints("endpoints", s, protocols, false); err == nil && eps[0].Host != "" && eps[0].Port > 0 {
			out = append(out, eps[0])
		}
	}
	if len(z.Endpoints) == 0 && z.Host != "" && z.Port > 0 {
		out = append(out, Endpoint{Listener: ProtocolPlaintext, Protocol: ProtocolPlaintext, Host: z.Host, Port: z.Port})
	}
	return out
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
	case zkConfigChange:
		b.watchUserChanges()
		b.loadQuotas()
		b.watchConfigChanges()
	case zkACLChanges, zkACLExtendedChanges:
		b.aclChangesFired(ev.Path)
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
	self := liveBroker{id: b.cfg.BrokerID, endpoints: b.cfg.AdvertisedListeners, rack: b.cfg.Rack, epoch: b.brokerEpoch}
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
