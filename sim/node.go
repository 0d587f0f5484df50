package sim

import (
	"fmt"
	"maps"
	"strconv"

	"cloudkafka/core"
	kio "cloudkafka/io"
	"cloudkafka/io/driver"
)

// node is one simulated broker: its process (driver, clock, pauses,
// crash points), its disk and storage queue, and the connections it
// accepted. The world holds the nodes; faults aim at one of them.
type node struct {
	w  *world
	id core.BrokerID

	fs          *simFS
	drv         *driver.Driver
	up          bool
	incarnation int
	// coord and brokerCfg are the current incarnation's coordinator and
	// configuration; registered is the last incarnation that reported
	// its registration, elected the last that reported winning an
	// election on its current session (0 after a session expiry).
	coord      *kio.FileCoordinator // the embedded coordinator (single-broker runs)
	zk         zkLink               // the link to the ensemble (cluster runs)
	brokerCfg  core.Config
	registered int
	elected    int

	conns map[core.ConnID]*conn // lookups only, never iterated
	// peerClients are the node's connections to other brokers, for its
	// controller's requests, by destination.
	peerClients map[core.BrokerID]*client
	connList    []*conn      // open (broker side) connections, by id
	inbox       []core.Event // requests waiting for their burst

	crashAt      *crashPoint  // armed crash at a storage operation, or nil
	crashDownMax core.Instant // downtime after a crash point fires
	inBroker     bool         // inside handle: a crash point may fire
	// scrubbing: the driver is performing a Scrub (from Defer declining
	// it to its completion passing Hold): its reads arm no crash point.
	scrubbing bool
	// epochFlipped names the partition directories in which a header-flip
	// damaged a batch's partition leader epoch (a field no CRC covers).
	epochFlipped map[string]bool
	ioErr        *ioErrorPoint // armed IO error, or nil

	// The process and devices as faults leave them.
	clockSkew    core.Instant   // the broker's clock minus virtual time; jumps either way
	paused       bool           // the broker process is stopped (SIGSTOP, a long GC)
	pausedEvents []core.Event   // what reached it meanwhile, in order
	slowDisk     *slowDiskFault // holds storage completions, or nil
	diskFullEnd  core.Instant   // writes fail with ENOSPC before this instant
	diskFullHits int            // writes refused in the current disk-full window
	bitFlipProb  float64        // chance that a crash first flips a bit in an unsynced tail
	// cleanStop says the logs on n's disk are as its last clean stop
	// left them: the marker was written (the driver writes it once every
	// log is closed) and nothing in a partition directory changed since.
	// Only then may a start find the marker (restart.go).
	cleanStop bool

	coreClock core.Instant // the latest time a tick gave the broker (its clock never runs back)
	incClock  core.Instant // the latest time a tick gave the running incarnation
	disk      diskView     // the checks' own reading of the disk (durable.go)
	storage   storageExec  // asynchronous storage, when the seed draws it
}

// brokersMax bounds Config.Brokers.
const brokersMax = 9

// restartRetry is how soon a supervisor tries again to start a broker
// whose previous session has not expired yet.
const restartRetry = core.Instant(100e6)

// props is the node's broker configuration: the seed's, with its own
// id and address in a cluster.
func (n *node) props() map[string]string {
	if n.w.ens == nil {
		return n.w.brokerProps
	}
	p := maps.Clone(n.w.brokerProps)
	p["broker.id"] = strconv.Itoa(int(n.id))
	p["advertised.listeners"] = fmt.Sprintf("PLAINTEXT://broker-%d:9092", n.id)
	if n.w.sasl {
		p["advertised.listeners"] += fmt.Sprintf(",SASL_PLAINTEXT://broker-%d:9093", n.id)
	}
	p["zookeeper.connect"] = "ensemble:2181" // the simulated ensemble (the driver's Coordinate hook reaches it)
	p["zookeeper.session.timeout.ms"] = strconv.FormatInt(int64(n.w.ens.timeout/1e6), 10)
	p["leader.imbalance.check.interval.seconds"] = strconv.FormatInt(n.w.imbalanceCheckSec, 10)
	if n.w.replicaLagMs > 0 {
		p["replica.lag.time.max.ms"] = strconv.FormatInt(n.w.replicaLagMs, 10)
		p["replica.fetch.wait.max.ms"] = strconv.FormatInt(min(n.w.replicaLagMs, 500), 10)
		p["replica.fetch.backoff.ms"] = "100"
	}
	return p
}

func newNode(w *world, id core.BrokerID) *node {
	n := &node{w: w, id: id, conns: map[core.ConnID]*conn{}, peerClients: map[core.BrokerID]*client{}}
	n.fs = newSimFS(n)
	return n
}
