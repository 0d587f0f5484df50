package core

import (
	"encoding/json"
	"errors"
	"strconv"

	"cloudkafka/core/cover"
)

// controllerView is the controller's election (its work is in
// controller_state.go). Every registered broker follows /controller with
// a watch; when it is absent, a broker campaigns. Winning takes two
// steps: the ephemeral /controller (only one broker creates it), then,
// by its holder alone, a compare-and-set of /controller_epoch from E to
// E+1: every epoch has one controller, and /controller_epoch changes only
// under a holder of /controller, so the version the win left fences
// every write the controller makes. The active controller's id is what
// Metadata and DescribeCluster report.
type controllerView struct {
	active BrokerID // the controller /controller names; -1 when none
	mine   bool     // this broker holds /controller on its session
	epoch  int32    // the controller epoch this broker won, when mine
	// epochVersion is /controller_epoch's znode version after this
	// broker's win: the guard of every write it makes as controller.
	epochVersion int32
	// claimed: this broker holds /controller on its current session and
	// takes, or took (mine), the controller epoch; lose ends it.
	claimed bool
	// round counts elections begun; an answer to an older round (or one
	// begun on an expired session) is ignored.
	round int
	// retryAt, when set, is when an election that failed for a reason
	// other than losing a race (a storage error, a lost connection) is
	// tried again.
	retryAt Instant
	// seenEpoch is the newest controller epoch a message from the
	// controller carried (-1: none yet): an older one is a deposed
	// controller's. (/controller_epoch itself may be ahead of the
	// holder's epoch: a campaigner that lost the race for /controller
	// spent one.)
	seenEpoch int32
	// refreshAt spaces the looks again that a message from an unknown
	// controller prompts.
	refreshAt Instant
	// state is the controller's work while this broker is the
	// controller (controller_state.go), else nil.
	state *ctlState
	// epochRetry, when set, retries the holder's epoch increment; taking
	// counts the /controller wins, whose epoch increment is void once
	// the broker lost /controller.
	epochRetry epochRetry
	taking     int
}

type epochRetry struct {
	at      Instant
	session int64
	round   int
}

// refreshController looks at /controller again, at most every
// electRetryMs/10: a message came from a controller this broker has not
// seen yet.
func (b *Broker) refreshController() {
	if !b.registering || b.now < b.ctl.refreshAt || b.ctl.mine {
		return
	}
	b.ctl.refreshAt = b.now + Instant(electRetryMs/10*1e6)
	b.elect()
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
	if r := b.ctl.epochRetry; r.at != 0 && b.now >= r.at {
		b.ctl.epochRetry = epochRetry{}
		b.takeEpoch(r.session, r.round)
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
		if BrokerID(z.BrokerID) == b.cfg.BrokerID && r.Stat.EphemeralOwner == b.session {
			if !b.ctl.claimed {
				// A campaign's create ran on this session before the
				// broker heard that its session had changed: the
				// answer, judged against the old session, was void,
				// or the win it made was given up with that session
				// (lose). The node is this session's all the same,
				// and no other broker campaigns while it stands.
				b.claim()
			}
			return // this broker's (its epoch taken, or being taken)
		}
		b.lose()
		b.ctl.active = BrokerID(z.BrokerID)
	})
	b.emit(CoordOp{Token: tok, Kind: CoordGet, Path: zkController})
}

// campaign creates /controller, then takes the next controller epoch.
func (b *Broker) campaign(round int) {
	op := CoordOp{Kind: CoordCreate, Path: zkController, Ephemeral: true,
		Data: mustJSON(ControllerZnode{Version: 2, BrokerID: int32(b.cfg.BrokerID), Timestamp: strconv.FormatInt(b.now.Millis(), 10), KRaft: -1})}
	session := b.session
	b.coordWrite(op, func(err error) {
		// A win stands while the session does, even if the /controller
		// watch (fired by this very create, and delivered first by
		// ZooKeeper) began another look meanwhile.
		if session != b.session || err != nil && round != b.ctl.round {
			return
		}
		switch {
		case errors.Is(err, ErrCoordNodeExists):
			b.elect() // taken meanwhile: follow its holder
		case err != nil:
			b.retryElection()
		default:
			b.claim()
		}
	})
}

// claim starts the tenure of the /controller this broker holds on its
// current session: it takes the next controller epoch.
func (b *Broker) claim() {
	b.ctl.active, b.ctl.claimed = b.cfg.BrokerID, true
	b.ctl.taking++
	b.takeEpoch(b.session, b.ctl.taking)
}

// takeEpoch advances /controller_epoch for the /controller this broker
// holds (creating it at 0 for the cluster's first controller), and
// starts the controller's work.
func (b *Broker) takeEpoch(session int64, round int) {
	// (other looks at /controller, begun by its watch, leave this alone)
	current := func() bool { return session == b.session && round == b.ctl.taking && !b.ctl.mine }
	b.coordRead(CoordOp{Kind: CoordGet, Path: zkControllerEpoch}, func(r CoordResult) {
		if !current() {
			return
		}
		if errors.Is(r.Err, ErrCoordNoNode) {
			b.coordWrite(CoordOp{Kind: CoordCreate, Path: zkControllerEpoch, Data: []byte("0")}, func(err error) {
				switch {
				case !current():
				case err == nil || errors.Is(err, ErrCoordNodeExists):
					b.takeEpoch(session, round)
				default:
					b.retryEpoch(session, round)
				}
			})
			return
		}
		cur, err := strconv.ParseInt(string(r.Data), 10, 32)
		if r.Err != nil || err != nil || cur < 0 {
			b.retryEpoch(session, round) // unreadable for now
			return
		}
		epoch := int32(cur) + 1
		set := CoordOp{Kind: CoordSet, Path: zkControllerEpoch, Data: []byte(strconv.Itoa(int(epoch))), Version: r.Stat.Version}
		if bugOn(BugControllerStaleEpoch) {
			// BUG SITE (simbugs): BugControllerStaleEpoch acts on the current epoch.
			epoch, set.Data, set.Version = int32(cur), r.Data, CoordAnyVersion
		}
		b.coordRead(set, func(s CoordResult) {
			switch {
			case !current():
			case s.Err != nil:
				b.retryEpoch(session, round) // read again: only a holder writes it
			default:
				b.cover(cover.ControllerElected)
				b.setController(b.cfg.BrokerID, true, epoch, s.Stat.Version)
				b.emit(Lifecycle{Elected: true, ControllerEpoch: epoch})
				b.ctlStart()
			}
		})
	})
}

// retryEpoch tries takeEpoch again a little later, while the session
// (and so /controller) lasts.
func (b *Broker) retryEpoch(session int64, round int) {
	b.ctl.epochRetry = epochRetry{at: b.now + Instant(electRetryMs/10*1e6), session: session, round: round}
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
	b.ctl.claimed = false
	b.ctl.state = nil // its outstanding work is void
	b.ctl.taking++
}

// controllerWatch handles a notification of the /controller watch: look
// again (and campaign if it is gone).
func (b *Broker) controllerWatch() { b.elect() }

// controllerID is the active controller as Metadata reports it.
func (b *Broker) controllerID() int32 { return int32(b.ctl.active) }
