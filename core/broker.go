package core

import (
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"strings"

	"cloudkafka/core/cover"
)

// Broker is one broker's deterministic state machine. It is not safe for
// concurrent use: its runtime calls Step serially.
type Broker struct {
	*step     // the configuration, clock, random source, effects and waits its sub-machines share
	*metadata // the cluster's metadata as this broker knows it

	fetches []*fetchWait // parked fetches, in arrival order
	// fetchSessions are the incremental fetch sessions (KIP-227) of the
	// broker's consumers and followers (fetch_session.go), on the
	// step's clock and random source.
	fetchSessions fetchSessionCache

	pids pidAllocator

	groups *groupCoordinator

	lastRetention Instant
	// lastRecoveryCheckpoint is when the broker last asked for the
	// recovery points to be checkpointed (0: not yet; the first tick
	// starts the interval, the runtime having written them at start).
	lastRecoveryCheckpoint Instant
	// dyn is the dynamic configuration (config_dynamic.go).
	dyn dynState
	// configRetries are the topic configuration reads to try again
	// (cluster.go).
	configRetries []configRetry
	cleaner       cleanerState
	scrub         scrubState // the log scrubber (scrub.go)

	// registering is set while the broker's registration is under way
	// or done (it starts at the first tick, when the broker knows the
	// time); registerAt is when a failed attempt is retried; regData is
	// the document of the first attempt, kept so that a retry recognizes
	// an earlier attempt that succeeded unreported.
	registering bool
	registerAt  Instant
	regData     []byte
	// session is the coordination store session; regEpoch counts the
	// registrations it started, so that the outcome of one begun on an
	// expired session is ignored.
	session  int64
	regEpoch int

	brokerList brokerList
	ctl        controllerView
	// brokerEpoch is this broker's registration's czxid (KIP-380): the
	// controller's messages must be addressed to it.
	brokerEpoch int64
	metaWaits   []*metaWait // requests waiting for the cache to show their change
	// trimWaits: DeleteRecords answers waiting for low watermarks, at
	// most queued.max.requests (api_21_delete_records.go).
	trimWaits []*trimWait
	// recoveredPaths lists the znodes recovered, until Startup created
	// the missing persistent paths.
	recoveredPaths map[string]bool
	// ready: the controller's first UpdateMetadata reached this broker
	// since it started; until then clients' requests wait in early, in
	// order (Kafka's brokers serve once their metadata cache is filled).
	ready bool
	early []Request
	// markWaits: DeleteTopics answers waiting for a deletion mark to go.
	markWaits map[string][]func()
	// shutdown is the broker's preparation to stop (shutdown.go).
	shutdown shutdownState
	// fetchers fetch the partitions this broker follows, by leader
	// (replica_fetcher.go).
	fetchers map[fetcherKey]*fetcher
	// mono is the runtime's monotonic clock as the last tick gave it;
	// lease is this broker's leadership lease (lease.go).
	mono  Instant
	lease leaseState
	// sasl is the authentication state of SASL connections (sasl.go);
	// scram the SCRAM credentials of a broker serving SCRAM (scram.go).
	sasl  saslState
	scram scramCache
	// acl is the authorizer's copy of the ACLs (acl.go).
	acl aclState
	// quota holds the client quotas and the clients' rates (quota.go).
	quota quotaState
	// notices holds, per change notification path, when this broker
	// first listed each notification (notifications.go).
	notices map[string]map[string]Instant
	// stats holds the counters behind Stats (metrics.go).
	stats metricsState
}

// New builds a broker from its configuration and what the runtime
// recovered from disk. It fails on invalid configuration or on recovered
// metadata it cannot parse.
func New(cfg Config, rec Recovered) (*Broker, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	b := &Broker{
		step:     newStep(cfg),
		metadata: newMetadata(),
	}
	b.groups = newGroupCoordinator(b)
	b.session = rec.CoordSession
	b.ctl.active, b.ctl.seenEpoch = -1, -1
	b.markWaits = map[string][]func(){}
	b.fetchers = map[fetcherKey]*fetcher{}
	if err := b.recover(rec); err != nil {
		return nil, err
	}
	return b, nil
}

// Startup returns the effects a broker needs before serving: a log for
// every partition (creating those a crash left without one) and the
// cluster id znode when none was recovered.
func (b *Broker) Startup(out []Effect) []Effect {
	b.out = out
	for _, name := range b.topicNames() {
		t := b.topics[name]
		for _, p := range t.parts {
			if p.hosted() {
				b.emit(CreateLog{Partition: p.tp, Config: b.cfg.logConfig(t)})
			}
		}
	}
	for _, path := range persistentPaths {
		if !b.recoveredPaths[path] {
			b.coordWrite(createOp(path, nil), nil) // one that exists meanwhile is as good
		}
	}
	b.recoveredPaths = nil
	if b.clusterID == "" {
		var id [16]byte
		b.rng.fill(id[:])
		b.clusterID = encodeUUID(id)
		b.coordWrite(createOp(zkClusterID, mustJSON(clusterIDZnode{Version: "1", ID: b.clusterID})), func(err error) {
			if !errors.Is(err, ErrCoordNodeExists) {
				return
			}
			// Another broker of the cluster created it first: its id is
			// the cluster's.
			b.coordRead(CoordOp{Kind: CoordGet, Path: zkClusterID}, func(r CoordResult) {
				var z clusterIDZnode
				if r.Err == nil && json.Unmarshal(r.Data, &z) == nil && z.ID != "" {
					b.clusterID = z.ID
				}
			})
		})
	}
	return b.out
}

// ClusterID returns the cluster id.
func (b *Broker) ClusterID() string { return b.clusterID }

func (b *Broker) recover(rec Recovered) error {
	byPath := map[string][]byte{}
	b.recoveredPaths = map[string]bool{}
	for _, z := range rec.Znodes {
		byPath[z.Path] = z.Data
		b.recoveredPaths[z.Path] = true
	}
	if data, ok := byPath[zkClusterID]; ok {
		var z clusterIDZnode
		if err := json.Unmarshal(data, &z); err != nil {
			return fmt.Errorf("recover %s: %w", zkClusterID, err)
		}
		b.clusterID = z.ID
	}
	for _, path := range sortedKeys(byPath) {
		name, ok := strings.CutPrefix(path, zkTopics)
		if !ok || strings.Contains(name, "/") {
			continue
		}
		if err := b.recoverTopic(name, byPath[path], byPath[zkConfigs+name]); err != nil {
			return err
		}
	}
	b.recoverDynamic(byPath)
	b.recoverScram(byPath)
	b.recoverACLs(byPath)
	b.recoverQuotas(byPath)
	for _, rp := range rec.Partitions {
		p := b.partitionOf(rp.Partition.Topic, rp.Partition.Partition)
		if p == nil || !p.hosted() {
			continue // an orphaned log; the runtime removes it
		}
		p.restore(rp, b.cfg)
	}
	return nil
}

// recoverTopic rebuilds a topic from its znodes: its id, configuration
// and partitions, with a replica of each partition assigned to this
// broker. Who leads them the controller says (LeaderAndIsr).
func (b *Broker) recoverTopic(name string, data, cfgData []byte) error {
	id, assignment, err := parseTopicZnode(data)
	if err != nil {
		return fmt.Errorf("recover topic %s: %w", name, err)
	}
	configs, err := parseConfigZnode(cfgData)
	if err == nil {
		err = validateTopicConfigs(configs)
	}
	if err != nil {
		return fmt.Errorf("recover topic %s config: %w", name, err)
	}
	t := &topic{name: name, id: id, configs: configs}
	b.addTopic(t)
	b.growTopic(t, assignment, b.cfg.BrokerID)
	return nil
}

// Step consumes one event and appends the resulting effects to out.
func (b *Broker) Step(out []Effect, in Event) []Effect {
	b.out = out
	switch ev := in.(type) {
	case Request:
		b.handleRequest(ev)
	case Tick:
		mono := ev.Mono
		if mono == 0 {
			mono = ev.Now
		}
		b.mono = max(b.mono, mono)
		b.tick(ev.Now)
	case RequestTimed:
		b.requestTimed(ev)
	case ConnClosed:
		b.dropConn(ev.Conn)
		b.saslDrop(ev.Conn)
	case ShutdownRequested:
		b.requestShutdown()
	case Appended:
		b.complete(ev.Token, ev)
	case Synced:
		b.complete(ev.Token, ev)
	case ReadDone:
		b.complete(ev.Token, ev)
	case TimeFound:
		b.complete(ev.Token, ev)
	case Retained:
		b.complete(ev.Token, ev)
	case Cleaned:
		b.complete(ev.Token, ev)
	case Truncated:
		b.complete(ev.Token, ev)
	case Measured:
		b.complete(ev.Token, ev)
	case Scrubbed:
		b.complete(ev.Token, ev)
	case CoordResult:
		b.complete(ev.Token, ev)
	case CoordNewSession:
		b.newSession(ev.Session)
	case CoordWatchFired:
		b.watchFired(ev)
	case PeerResponse:
		b.complete(ev.Token, ev)
	default:
		panic(fmt.Sprintf("core: unknown event %T", in))
	}
	if len(b.trimWaits) > 0 { // DeleteRecords answers (api_21_delete_records.go)
		_, tick := in.(Tick)
		b.settleTrims(tick)
	}
	out, b.out = b.out, nil
	return out
}

// coordWrite emits a coordination write; done (optional) gets its error.
func (b *Broker) coordWrite(op CoordOp, done func(error)) {
	op.Token = awaitFor(b.step, func(r CoordResult) {
		if done != nil {
			done(r.Err)
		}
	})
	b.emit(op)
}

func (b *Broker) tick(now Instant) {
	if now < b.now {
		now = b.now // the core's time never runs backwards
	}
	b.now = now
	if !b.registering && b.now >= b.registerAt {
		b.register()
	}
	b.maybeRetryElection()
	b.saslTick()
	b.aclTick()
	b.retryTopicConfigs()
	b.configTick()
	b.quotaTick()
	b.ctlTick()
	b.shutdownTick()
	b.settleMetaWaits(true)
	b.expireFetches()
	b.tickFetchers()
	b.renewLease()
	b.groups.tick()
	for _, name := range b.topicNames() {
		for _, p := range b.topics[name].parts {
			if p.hosted() {
				b.maybeTimedFlush(p)
				b.maybeShrinkISR(p)
				b.maybeDeleteFiles(p)
			}
		}
	}
	if (b.now - b.lastRetention).Millis() >= b.cfg.RetentionCheckMs {
		b.lastRetention = b.now
		b.applyRetention()
	}
	b.maybeCheckpointRecovery()
	b.scheduleCleaning()
	b.scheduleScrub()
}

// maybeCheckpointRecovery asks for the recovery point checkpoint every
// log.flush.offset.checkpoint.interval.ms.
func (b *Broker) maybeCheckpointRecovery() {
	switch {
	case b.lastRecoveryCheckpoint == 0:
		b.lastRecoveryCheckpoint = b.now
	case (b.now - b.lastRecoveryCheckpoint).Millis() >= b.cfg.RecoveryCheckpointMs:
		b.lastRecoveryCheckpoint = b.now
		b.checkpointRecovery()
	}
}

// checkpointRecovery asks for the recovery point checkpoint of the hosted
// partitions that no Truncate is outstanding for and that are not being
// deleted (see CheckpointRecovery).
func (b *Broker) checkpointRecovery() {
	var tps []TopicPartition
	for _, name := range b.topicNames() {
		for _, p := range b.topics[name].parts {
			if p.hosted() && !p.truncating && !p.deleted {
				tps = append(tps, p.tp)
			}
		}
	}
	b.emit(CheckpointRecovery{Partitions: tps})
}

// registerRetryMs spaces the attempts of a registration that failed
// for a reason other than the id being taken (an unreachable ensemble, a
// storage error of the embedded store).
const registerRetryMs = 1000

// register creates the broker's ephemeral /brokers/ids/<id>. A node
// that exists already and belongs to another session is another live
// broker with this id (or this broker's previous process, whose session
// has not expired yet): as Kafka, the broker refuses to start. A node of
// its own session is an earlier attempt whose answer was lost. Other
// failures are retried.
func (b *Broker) register() {
	b.registering = true
	if b.regData == nil {
		b.regData = b.brokerZnodeData()
	}
	epoch, path := b.regEpoch, BrokerPath(b.cfg.BrokerID)
	current := func() bool { return epoch == b.regEpoch }
	registered := func(epoch int64) {
		b.brokerEpoch = epoch
		b.stats.registered = true
		b.cover(cover.BrokerRegistered)
		b.emit(Lifecycle{Registered: true})
		b.listBrokers() // with a watch on this session
		b.watchUserChanges()
		b.dyn.fresh = true
		b.watchConfigChanges()
		b.loadACLs()
		b.loadQuotas()
		b.elect()
	}
	retry := func() {
		b.registering, b.registerAt = false, b.now+Instant(registerRetryMs*1e6)
	}
	op := createOp(path, b.regData)
	op.Ephemeral = true
	op.Token = awaitFor(b.step, func(r CoordResult) {
		err, czxid := r.Err, r.Stat.Czxid
		switch {
		case !current():
		case err == nil:
			registered(czxid)
		case errors.Is(err, ErrCoordNodeExists):
			tok := awaitFor(b.step, func(r CoordResult) {
				switch {
				case !current():
				case r.Err == nil && r.Stat.EphemeralOwner == b.session:
					registered(r.Stat.Czxid)
				case r.Err == nil:
					b.emit(Lifecycle{Fatal: fmt.Sprintf("broker.id %d is registered already (%s exists): another broker uses this id, "+
						"or this broker's previous ZooKeeper session has not expired yet (zookeeper.session.timeout.ms)", b.cfg.BrokerID, path)})
				default:
					retry() // gone meanwhile, or unreadable: try again
				}
			})
			b.emit(CoordOp{Token: tok, Kind: CoordGet, Path: path})
		default:
			retry()
		}
	})
	b.emit(op)
}

// newSession follows a change of coordination session: the expired one
// took the registration with it, so the broker registers again, anew.
func (b *Broker) newSession(id int64) {
	if id == b.session || bugOn(BugIgnoreNewSession) { // BUG SITE (simbugs): BugIgnoreNewSession stays on the old session.
		return
	}
	b.session = id
	b.stats.registered = false
	if b.registering {
		b.cover(cover.BrokerReregistered)
	}
	b.regEpoch++
	b.registering, b.registerAt, b.regData = false, b.now, nil
	// the expired session's /controller, if this broker held it, is gone:
	// it elects again once registered
	b.ctl.round++
	b.ctl.retryAt = 0 // the registration elects
	b.lose()
	b.dropLeaderships()
}

// dropLeaderships gives up, on a new coordination session, every
// leadership taken in the expired one: the controller may have moved
// them meanwhile, and it tells a broker registered anew everything again.
// Until then the lease of the new session answers nothing as a leader
// (lease.go).
func (b *Broker) dropLeaderships() {
	if b.cfg.ZookeeperConnect == "" {
		return
	}
	for _, name := range b.topicNames() {
		for _, p := range b.topics[name].parts {
			if p.leading {
				b.resign(p)
			}
		}
	}
}

func (b *Broker) applyRetention() {
	for _, name := range b.topicNames() {
		t := b.topics[name]
		for _, p := range t.parts {
			if !p.hosted() || p.offline || p.retaining {
				continue
			}
			b.retain(p, 0)
		}
	}
}

// maybeDeleteFiles asks the store to delete the files of removed segments
// once it said they are due: so they go about file.delete.delay.ms after
// their removal rather than at the next retention check. The deletion
// touches neither the log nor its start, so it does not hold off what
// waits for a Retain (storageIdle).
func (b *Broker) maybeDeleteFiles(p *partition) {
	if p.filesDueMs == 0 || b.now.Millis() < p.filesDueMs || p.offline || p.deletingFiles {
		return
	}
	p.deletingFiles = true
	tok := awaitFor(b.step, func(r Retained) {
		p.deletingFiles = false
		if r.Err != nil {
			b.takeOffline(p, r.Err)
			return
		}
		p.filesDueMs = r.FilesDueMs
	})
	b.emit(Retain{Token: tok, Partition: p.tp, Now: b.now, HighWatermark: p.hwm, FilesOnly: true, Config: b.cfg.logConfig(p.topic)})
}

// retain applies p's retention policy and, on a follower, moves its log
// start up to startAtLeast (its leader's, capped at its own log end).
func (b *Broker) retain(p *partition, startAtLeast Offset) {
	p.retaining = true
	tok := awaitFor(b.step, func(r Retained) {
		p.retaining = false
		if r.Err != nil {
			b.takeOffline(p, r.Err)
			return
		}
		p.filesDueMs = r.FilesDueMs
		if r.LogStartOffset > p.logStart {
			p.logStart = r.LogStartOffset
		}
		if p.trimTo > p.logStart && p.leading {
			b.retain(p, p.trimTo) // a DeleteRecords that came meanwhile
		}
	})
	b.emit(Retain{Token: tok, Partition: p.tp, Now: b.now, HighWatermark: p.hwm, StartAtLeast: startAtLeast, Config: b.cfg.logConfig(p.topic)})
}

// splitmix is a tiny seeded PRNG (SplitMix64); the core may not use
// math/rand, and every random choice must derive from the configured seed.
type splitmix struct{ state uint64 }

func (s *splitmix) next() uint64 {
	s.state += 0x9e3779b97f4a7c15
	z := s.state
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9
	z = (z ^ (z >> 27)) * 0x94d049bb133111eb
	return z ^ (z >> 31)
}

func (s *splitmix) fill(p []byte) {
	for i := range p {
		if i%8 == 0 {
			v := s.next()
			for j := 0; j < 8 && i+j < len(p); j++ {
				p[i+j] = byte(v >> (8 * j))
			}
		}
	}
}

// sortPartitions orders partitions deterministically.
func sortPartitions(ps []TopicPartition) {
	sort.Slice(ps, func(i, j int) bool { return ps[i].Less(ps[j]) })
}
