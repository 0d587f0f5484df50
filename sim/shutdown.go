package sim

import (
	"fmt"
	"math/rand/v2"
	"strconv"

	"cloudkafka/core"
)

// peerStopFault stops a broker other than the workload's the way an
// operator's SIGTERM does, and starts it again after a drawn downtime.
// The node asks its core to prepare to stop (ShutdownRequested: a
// controlled shutdown through the controller, which from then on elects
// it leader of nothing), waits until the core says it may stop, and then
// stops cleanly: its connections close, and its coordination session
// ends at once, as Kafka's broker closes its ZooKeeper client on the way
// out, so the other brokers see its registration go without waiting for
// the session to expire (peer-churn's crashes wait).
//
// The seeds that draw it also draw the brokers' controlled shutdown
// settings: two or three attempts and short backoffs, so that a stop that
// cannot reach the controller (a cut link, a controller moving) gives up
// within the drain's patience, and both outcomes happen. (A node's first
// request to a broker fails while its connection is being made, so the
// second attempt is the one that usually reaches the controller.)
type peerStopFault struct {
	meanInterval, downMax core.Instant
	attempts              int   // controlled.shutdown.max.retries
	backoffMs             int64 // controlled.shutdown.retry.backoff.ms
	// stopping holds, per broker, the incarnation being stopped: a node
	// is asked once.
	stopping map[core.BrokerID]int
}

// drawPeerStop is clusterFaults' draw of peer-stop, from its stream r.
func (w *world) drawPeerStop(r *rand.Rand) []fault {
	if r.Float64() >= 0.6 {
		return nil
	}
	f := &peerStopFault{meanInterval: core.Instant(500e6 + r.Int64N(8e9)), downMax: 1 + core.Instant(r.Int64N(int64(3*w.ens.timeout))),
		attempts: 2 + r.IntN(2), backoffMs: 50 + r.Int64N(2000), stopping: map[core.BrokerID]int{}}
	w.brokerProps["controlled.shutdown.max.retries"] = strconv.Itoa(f.attempts)
	w.brokerProps["controlled.shutdown.retry.backoff.ms"] = strconv.FormatInt(f.backoffMs, 10)
	return []fault{f}
}

func (f *peerStopFault) name() string { return "peer-stop" }
func (f *peerStopFault) describe() string {
	return fmt.Sprintf("peer-stop(every~%s,down<%s,attempts=%d,backoff=%dms)", fmtDur(f.meanInterval), fmtDur(f.downMax), f.attempts, f.backoffMs)
}

func (f *peerStopFault) arm(w *world) {
	w.after(w.expInterval(f.meanInterval), func() {
		if !w.faulting() {
			return
		}
		n := w.nodes[1+w.rng.IntN(len(w.nodes)-1)]
		if inc, asked := f.stopping[n.id]; n.up && (!asked || inc != n.incarnation) {
			w.count(f.name())
			f.stopping[n.id] = n.incarnation
			f.stop(n)
		}
		f.arm(w)
	})
}

// stop asks n to prepare, then stops it once it is ready; a crash of n
// meanwhile ends the stop (the crash's fault restarts it).
func (f *peerStopFault) stop(n *node) { n.stopWhenReady(f.downMax, n.stopCleanly) }

// stopWhenReady asks n to prepare (a controlled shutdown), then, once it
// is ready, stops it with stop and, if that stopped it, restarts it
// after up to downMax; a crash of n meanwhile ends the stop (the crash's
// fault restarts it).
func (n *node) stopWhenReady(downMax core.Instant, stop func() bool) {
	w, inc := n.w, n.incarnation
	w.logf("node %d: asked to stop", n.id)
	n.handle(core.ShutdownRequested{})
	var wait func()
	wait = func() {
		if !n.up || n.incarnation != inc {
			return
		}
		if !n.drv.Broker().ReadyToStop() {
			w.after(tickInterval, wait)
			return
		}
		if stop() {
			w.after(1+core.Instant(w.rng.Int64N(int64(downMax))), n.restart)
		}
	}
	wait()
}

// stopCleanly ends n's process once it is ready to stop: the driver's
// Close syncs and closes its logs and marks the shutdown clean, the
// process ends (the page cache keeps every written byte), and then its
// coordination session is closed, which deletes its registration and
// fires the other brokers' watches. False when a crash point fired
// during Close instead: the crash took n down and restarts it.
func (n *node) stopCleanly() bool {
	w := n.w
	if !n.closeCleanly() {
		return false
	}
	n.halt(true)
	w.ens.notify(w.ens.tree.CloseSession(n.zk.session))
	n.registered, n.elected = 0, 0
	return true
}
