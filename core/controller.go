package core

import (
	"encoding/json"
	"errors"
	"strconv"

	"cloudkafka/core/cover"
)

// controllerView is the controller sub-machine as far as it goes today:
// the election. Every registered broker follows /controller with a
// watch; when it is absent, a broker campaigns. Winning takes two steps:
// a compare-and-set of /controller_epoch from E to E+1 (only one broker
// wins each epoch), then the ephemeral /controller, created on condition
// that /controller_epoch is still at the version it set. A broker that
// wins the epoch but finds /controller taken has spent an epoch number
// and follows the holder. The active controller's id is what Metadata
// and DescribeCluster report.
type controllerView struct {
	active BrokerID // the controller /controller names; -1 when none
	mine   bool     // this broker holds /controller on its session
	epoch  int32    // the controller epoch this broker won, when mine
	// epochVersion is /controller_epoch's znode version after this
	// broker's win: the guard of every write it makes as controller.
	epochVersion int32
	// round counts elections begun; an answer to an older round (or one
	// begun on an expired session) is ignored.
	round int
	// retryAt, when set, is when an election that failed for a reason
	// other than losing a race (a storage error, a lost connection) is
	// tried again.
	retryAt Instant
}

// electRetryMs spaces elections that failed for a reason other than
// another broker's move.
const electRetryMs = 1000

// retryElection schedules another election later.
func (b *Broker) retryElection() {
	b.ctl.round++ // answers still due are void
	b.ctl.retryAt = b.now + Instant(electRetryMs*1e6)
}

// maybeRetryElection runs at each tick.
func (b *Broker) maybeRetryElection() {
	if b.ctl.retryAt != 0 && b.now >= b.ctl.retryAt {
		b.ctl.retryAt = 0
		b.elect()
	}
}

// ControllerZnode is Kafka's /controller document.
type ControllerZnode struct {
	Version   int    `json:"version"`
	BrokerID  int32  `json:"brokerid"`
	Timestamp string `json:"timestamp"`
	KRaft     int32  `json:"kraftControllerEpoch"`
}

const (
	zkController      = "/controller"
	zkControllerEpoch = "/controller_epoch"
)

// elect looks at /controller (leaving a watch), follows its holder, and
// campaigns when there is none.
func (b *Broker) elect() {
	b.ctl.round++
	round := b.ctl.round
	current := func() bool { return round == b.ctl.round }
	tok := awaitFor(b.step, func(r CoordResult) {
		if !current() {
			return
		}
		switch {
		case r.Err == nil:
			b.follow(round)
		case errors.Is(r.Err, ErrCoordNoNode):
			b.lose()
			b.campaign(round)
		default:
			b.retryElection()
		}
	})
	b.emit(CoordOp{Token: tok, Kind: CoordExists, Path: zkController, Watch: true})
}

// follow reads /controller's holder.
func (b *Broker) follow(round int) {
	tok := awaitFor(b.step, func(r CoordResult) {
		if round != b.ctl.round {
			return
		}
		var z ControllerZnode
		if r.Err != nil || json.Unmarshal(r.Data, &z) != nil {
			b.lose() // gone meanwhile, or unreadable: look again later
			b.retryElection()
			return
		}
		if BrokerID(z.BrokerID) == b.cfg.BrokerID && r.Stat.EphemeralOwner == b.session && b.ctl.mine {
			return // still this broker's
		}
		b.lose()
		b.ctl.active = BrokerID(z.BrokerID)
	})
	b.emit(CoordOp{Token: tok, Kind: CoordGet, Path: zkController})
}

// campaign takes the next controller epoch, then /controller.
func (b *Broker) campaign(round int) {
	current := func() bool { return round == b.ctl.round }
	tok := awaitFor(b.step, func(r CoordResult) {
		if !current() {
			return
		}
		if errors.Is(r.Err, ErrCoordNoNode) {
			// the first controller of the cluster: epoch 0 to start from
			b.coordWrite(CoordOp{Kind: CoordCreate, Path: zkControllerEpoch, Data: []byte("0")}, func(err error) {
				switch {
				case !current():
				case err == nil || errors.Is(err, ErrCoordNodeExists):
					b.campaign(round)
				default:
					b.retryElection()
				}
			})
			return
		}
		cur, err := strconv.ParseInt(string(r.Data), 10, 32)
		if r.Err != nil || err != nil || cur < 0 {
			b.retryElection() // unreadable for now
			return
		}
		epoch := int32(cur) + 1
		if bugOn(BugControllerStaleEpoch) {
			epoch = int32(cur) // BUG SITE (simbugs): BugControllerStaleEpoch acts on the current epoch.
		}
		set := CoordOp{Kind: CoordSet, Path: zkControllerEpoch, Data: []byte(strconv.Itoa(int(epoch))), Version: r.Stat.Version}
		if bugOn(BugControllerStaleEpoch) {
			set.Version = CoordAnyVersion
		}
		set.Token = awaitFor(b.step, func(s CoordResult) {
			if !current() {
				return
			}
			switch {
			case errors.Is(s.Err, ErrCoordBadVersion):
				b.elect() // another broker took this epoch
				return
			case s.Err != nil:
				b.retryElection()
				return
			}
			b.claim(round, epoch, s.Stat.Version)
		})
		b.emit(set)
	})
	b.emit(CoordOp{Token: tok, Kind: CoordGet, Path: zkControllerEpoch})
}

// claim creates /controller for the epoch won, on condition that
// /controller_epoch is still at the version the win set.
func (b *Broker) claim(round int, epoch, version int32) {
	op := CoordOp{Kind: CoordCreate, Path: zkController, Ephemeral: true,
		Data:  mustJSON(ControllerZnode{Version: 2, BrokerID: int32(b.cfg.BrokerID), Timestamp: strconv.FormatInt(b.now.Millis(), 10), KRaft: -1}),
		Guard: &CoordGuard{Path: zkControllerEpoch, Version: version}}
	session := b.session
	b.coordWrite(op, func(err error) {
		// A win stands while the session does, even if the /controller
		// watch (fired by this very create, and delivered first by
		// ZooKeeper) began another look meanwhile.
		if session != b.session || err != nil && round != b.ctl.round {
			return
		}
		switch {
		case errors.Is(err, ErrCoordNodeExists), errors.Is(err, ErrCoordBadVersion):
			b.elect() // taken meanwhile: follow its holder
			return
		case err != nil:
			b.retryElection()
			return
		}
		b.cover(cover.ControllerElected)
		b.setController(b.cfg.BrokerID, true, epoch, version)
		b.emit(Lifecycle{Elected: true, ControllerEpoch: epoch})
	})
}

func (b *Broker) setController(id BrokerID, mine bool, epoch, version int32) {
	b.ctl.active, b.ctl.mine, b.ctl.epoch, b.ctl.epochVersion = id, mine, epoch, version
}

// lose forgets the controller known: this broker's tenure, if it had
// one, is over.
func (b *Broker) lose() {
	if b.ctl.mine {
		b.cover(cover.ControllerLost)
	}
	b.setController(-1, false, 0, 0)
}

// controllerWatch handles a notification of the /controller watch: look
// again (and campaign if it is gone).
func (b *Broker) controllerWatch() { b.elect() }

// controllerID is the active controller as Metadata reports it.
func (b *Broker) controllerID() int32 { return int32(b.ctl.active) }
