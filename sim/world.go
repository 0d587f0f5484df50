package sim

import (
	"encoding/binary"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"sort"
	"strconv"
	"strings"
	"time"

	"cloudkafka/core"
	"cloudkafka/core/cover"
	kio "cloudkafka/io"
	"cloudkafka/io/driver"
)

// Config says what one simulation run does. Everything not here is drawn
// from the seed.
type Config struct {
	Seed      uint64
	Duration  time.Duration // simulated time with workload and faults; the drain phase follows
	Producers int           // 0 draws 1-4
	Consumers int           // 0 draws 1-3
	Brokers   int           // 0 or 1: one broker with its embedded coordinator; more: a cluster sharing a simulated ensemble
	Faults    bool          // inject the seed's fault mix
	// SASL gives the brokers a SASL_PLAINTEXT listener with PLAIN, on
	// which the workload's clients authenticate before anything else
	// (brokers talk to each other on PLAINTEXT), and Kafka's ACL
	// authorizer, whose ACLs change during traffic (acl.go).
	SASL   bool
	canary canary // a planted bug; set only by this package's tests
	// scrubRate, when set, is log.scrub.bytes.per.second in place of the
	// seed's draw; set only by this package's tests.
	scrubRate string
	// Directed steers the seed's draws toward a rare path (see Directive).
	Directed Directive
	// Logf, when set, receives the broker driver's log lines and the
	// world's own notes, prefixed with the virtual time.
	Logf func(format string, args ...any)
	// VizDir, when set, is where a failing linearizability check writes
	// its porcupine visualization (seed-<seed>-partition-<p>.html); ""
	// writes none.
	VizDir string
}

// canary is a deliberately planted bug that the checks must catch. It is
// reachable only from this package's tests: Config.canary is unexported.
type canary uint8

const (
	canaryNone canary = iota
	// canaryLyingSync makes half of the segment files' Syncs report
	// success without making data durable, so crashes lose acknowledged
	// writes. Needs crashes: the run forces the crash fault on.
	canaryLyingSync
	// canaryMisrecordRead makes consumers record about one read in a
	// thousand at the wrong offset.
	canaryMisrecordRead
	// canaryStallConsumer makes consumers stop polling for 5s after one
	// answer in twenty: acknowledged records reach them late.
	canaryStallConsumer
)

// Directive steers a seed's draws toward a path that random draws reach
// too rarely for a batch of seeds to be sure of it (directed testing).
// Every check still applies.
type Directive uint8

const (
	DirectNone Directive = iota
	// DirectSegmentGap: power-loss crashes at the sync of a segment that
	// a later one already follows, with small segments, asynchronous
	// storage and the segment-gap damage, so that recovery meets a break
	// in base offsets between segments (recovery-cut-segment).
	DirectSegmentGap
	// DirectForgottenProducer: a replicated cluster whose one partition
	// keeps little (small segments, a small retention.bytes) and whose
	// first producer is idempotent and slow, so that its batches often
	// all lie below the log start; broker partitions leave followers
	// behind that start, to start over there with the producer windows
	// their leader sends (follower-took-producers) and lead with them.
	DirectForgottenProducer
	// DirectSyncedFlip: one broker, no faults that restart it and no
	// compaction, with the synced-flip fault every two seconds or so, so
	// that its scrubber meets damage on the medium (scrub-found-damage;
	// see scrub.go).
	DirectSyncedFlip
	// DirectProducerBound: one broker remembering one producer a
	// partition (max.producers.per.partition=1) and several idempotent
	// producers, no faults: each producer's write pushes out the last
	// one's state, whose next batch is answered UNKNOWN_PRODUCER_ID
	// (unknown-producer-id) and which starts over under a new id. With no
	// acknowledgement lost, none of the retries a pushed-out producer can
	// no longer be recognised by (of its first batch) arises.
	DirectProducerBound
)

// ParseDirective reads a directive's name ("" or "none": none).
func ParseDirective(s string) (Directive, error) {
	switch s {
	case "", "none":
		return DirectNone, nil
	case "segment-gap":
		return DirectSegmentGap, nil
	case "forgotten-producer":
		return DirectForgottenProducer, nil
	case "synced-flip":
		return DirectSyncedFlip, nil
	case "producer-bound":
		return DirectProducerBound, nil
	}
	return DirectNone, fmt.Errorf("unknown directive %q (want segment-gap, forgotten-producer, synced-flip or producer-bound)", s)
}

func (d Directive) String() string {
	switch d {
	case DirectSegmentGap:
		return "segment-gap"
	case DirectForgottenProducer:
		return "forgotten-producer"
	case DirectSyncedFlip:
		return "synced-flip"
	case DirectProducerBound:
		return "producer-bound"
	}
	return "none"
}

// direct applies the seed's directive after its draws.
func (w *world) direct() {
	if w.cfg.Directed == DirectSyncedFlip {
		w.directSyncedFlip()
		return
	}
	if w.cfg.Directed == DirectProducerBound && w.ens == nil {
		w.faults, w.broker.bitFlipProb, w.net.spikeProb = nil, 0, 0
		w.brokerProps["max.producers.per.partition"] = "1"
		w.mix = append(w.mix, "directed=producer-bound")
		return
	}
	if w.cfg.Directed == DirectForgottenProducer && w.ens != nil {
		// (the segment size, retention.bytes, partition count, replicas
		// and the first producer honour the directive in their draws)
		w.faults = append(w.faults, &brokerPartitionFault{meanInterval: 3e9, lengthMax: 15e9},
			&partitionFault{meanInterval: 4e9, lengthMax: 10e9})
		w.mix = append(w.mix, "directed=forgotten-producer")
		return
	}
	if w.cfg.Directed != DirectSegmentGap {
		return
	}
	// (the draws of the segment size, the flush policy and the storage
	// mode honour the directive themselves)
	w.faults = append(w.faults, &crashAtIOFault{meanInterval: 300e6, downMax: 200e6, op: opSyncAfterRoll},
		&corruptFault{kind: faultSegmentGap, prob: 1})
	w.mix = append(w.mix, "directed=segment-gap")
}

// Result is what a run found.
type Result struct {
	Seed         uint64
	TraceHash    uint64
	TraceRecords int     // events and effects folded into TraceHash
	SimSeconds   float64 // virtual time the run covered, drain included
	Mix          string  // the seed's draws: workload, network, faults
	Ops          OpCounts
	Faults       []FaultCount // by name, only those that fired
	Timeouts     int          // client requests given up after request.timeout
	Converged    bool         // the drain phase caught up
	ProducedVia  int          // brokers that acknowledged produces
	// OffsetsRF is the replication factor __consumer_offsets was created
	// with in a cluster run (0: not created, or a single broker).
	OffsetsRF int
	Failures  []string
	History   *History
	// Linearized is how many operations the per-partition
	// linearizability check covered (see CheckLinearizable), and
	// LinearizeWall the wall-clock time porcupine and the narrowing
	// took; neither is part of the trace.
	Linearized    int
	LinearizeWall time.Duration
	// Coverage counts the coverage points the broker reached (see
	// package cover); CoverageTest requires each to fire in a batch.
	Coverage cover.Counts
}

// OpCounts summarizes the history.
type OpCounts struct {
	Produces, ProducesOK, ProducesIndefinite, ProducesFailed int
	Fetches, RecordsRead                                     int
	ListOffsets, Admin                                       int
}

// Total is the number of operations checked.
func (o OpCounts) Total() int { return o.Produces + o.Fetches + o.ListOffsets + o.Admin }

// FaultCount is how often one fault kind fired.
type FaultCount struct {
	Name  string
	Count int
}

// Failed says whether any check failed.
func (r Result) Failed() bool { return len(r.Failures) > 0 }

// epoch is the virtual clock's start, so that record timestamps look
// like real ones (2023-11-14T22:13:20Z).
const epoch core.Instant = 1_700_000_000 * 1e9

const (
	dataDir       = "/data"
	tickInterval  = core.Instant(10e6)
	drainMax      = core.Instant(60e9)  // the drain fails after this long without consumer progress
	drainHardMax  = core.Instant(300e9) // or after this long in all
	drainPoll     = core.Instant(50e6)
	pcgStream     = 0x636b73696d // "cksim"
	phaseSetup    = 0
	phaseFaults   = 1
	phaseDrain    = 2
	phaseFinished = 3
)

// world is one simulated Cloud Kafka deployment: a broker over a
// crashable disk, a network, clients and faults, all driven by one event
// queue in one goroutine. Every random choice comes from rng.
type world struct {
	cfg   Config
	rng   *rand.Rand
	now   core.Instant
	seq   uint64
	queue eventQueue
	trace *tracer
	phase int
	end   core.Instant // when the fault phase ends

	brokerProps map[string]string
	// sasl: the brokers have a SASL_PLAINTEXT listener (PLAIN) and the
	// workload's clients authenticate on it (Config.SASL).
	sasl bool
	// nodes are the simulated brokers; broker is the one the workload's
	// clients talk to.
	nodes  []*node
	broker *node
	// ens is a cluster run's simulated ZooKeeper ensemble (nil: the
	// single broker keeps its metadata in its embedded coordinator).
	ens *ensemble
	// epochWinners records who won each controller epoch (the broker or
	// a peer): an epoch won twice is a failure.
	epochWinners map[int32]string
	// leaders records which broker led each partition at each leader
	// epoch (peers.go): two at one epoch is a failure.
	leaders map[leaderKey]core.BrokerID

	net      netParams
	cuts     map[*client]*cut // client partitions in force; lookups only
	nextConn core.ConnID

	topic      string
	partitions int32
	replicas   [][]core.BrokerID // per workload partition, its replicas (route.go)
	// rf is the workload topic's replication factor and minISR its
	// min.insync.replicas; replicaLagMs the brokers'
	// replica.lag.time.max.ms (0: the default).
	rf, minISR int32
	// idsChangedAt is when /brokers/ids last changed in the ensemble;
	// offsetsRF the replication factor __consumer_offsets was created
	// with (offsets_topic.go).
	idsChangedAt core.Instant
	offsetsRF    int
	replicaLagMs int64
	// imbalanceCheckSec is the brokers'
	// leader.imbalance.check.interval.seconds in a cluster.
	imbalanceCheckSec int64
	// states holds the last partition state written under each state
	// znode (ensemble.go); uncleanTopics are the topics created with
	// unclean.leader.election.enable (the admin's extra topics of
	// replicated runs).
	states        map[string]partitionState
	uncleanTopics map[string]bool
	// operating: an operator elects leaders and reassigns partitions
	// during the fault phase (operator.go).
	operating bool
	admin     *admin
	acl       *aclActor       // the victim's ACL (acl.go), with SASL
	quota     *quotaActor     // a producer's quota (quota.go), or nil
	dyncfg    *dynConfigActor // dynamic configuration changes (dynconfig.go), or nil
	producers []*producer
	consumers []*consumer
	members   []*groupMember // the consumer group's members
	probe     *producer      // the liveness phase's writer, or nil
	final     *consumer      // a compacted topic's final reader (compaction.go), or nil
	faults    []fault
	ackedEnd  []core.Offset // per partition: end of the highest acknowledged batch
	// metricsTicks counts the ticks, metricsSeen holds each broker's
	// last metrics counters (metrics.go).
	metricsTicks int
	metricsSeen  map[core.BrokerID]*metricsWatch

	hist        History
	failures    []string
	faultCounts map[string]int
	mix         []string
	converged   bool

	drainRead     core.Offset  // consumers' positions summed at the last progress
	drainProgress core.Instant // when the consumers last made progress

	timeouts int // client requests that timed out

	coverage cover.Counts // the broker's coverage points, over every incarnation

	policy         topicPolicy                // the workload topic's configuration
	commits        map[commitKey][]commitMark // per broker and partition, when acknowledged ends were reached
	disturbedUntil core.Instant               // faults disturb the broker's timing until then
	// clientDisturbedUntil: faults may delay what clients see until then.
	clientDisturbedUntil core.Instant
	burstWindow          core.Instant // requests arriving within it are handled together; 0 handles each alone
	// sessionEvictionMs, when set, is the brokers' fetch session
	// eviction time (Config.FetchSessionEvictionMs; fetch_session.go).
	sessionEvictionMs int64
	// flips are the synced bits the synced-flip fault flipped (scrub.go).
	flips []*syncedFlip
}

// Run simulates one seed and checks its history.
func Run(cfg Config) Result {
	w := newWorld(cfg)
	w.setup()
	w.loop()
	return w.result()
}

func newWorld(cfg Config) *world {
	if cfg.Duration <= 0 {
		cfg.Duration = 30 * time.Second
	}
	w := &world{
		cfg:         cfg,
		rng:         rand.New(rand.NewPCG(cfg.Seed, pcgStream)),
		now:         epoch,
		trace:       newTracer(),
		cuts:        map[*client]*cut{},
		faultCounts: map[string]int{},
		topic:       "sim",
		sasl:        cfg.SASL,
	}
	w.end = epoch + core.Instant(cfg.Duration)
	if cfg.Brokers > brokersMax {
		w.fatalf("config", "%d brokers asked for; the simulator runs 1 to %d", cfg.Brokers, brokersMax)
	}
	for id := range max(1, cfg.Brokers) {
		w.nodes = append(w.nodes, newNode(w, core.BrokerID(id)))
	}
	w.broker = w.nodes[0]
	if cfg.Brokers > 1 {
		w.drawCluster()
	}
	return w
}

func (w *world) logf(format string, args ...any) {
	if w.cfg.Logf != nil {
		w.cfg.Logf("%s "+format, append([]any{fmtInstant(w.now)}, args...)...)
	}
}

// setup draws the seed's configuration, starts the broker and the admin.
func (w *world) setup() {
	w.drawBroker()
	w.drawPolicy()
	w.drawCompaction()
	w.hist.Retention = w.policy.retentionMs >= 0 || w.policy.retentionBytes >= 0
	if w.policy.compact {
		// Without delete in cleanup.policy retention deletes nothing.
		w.hist.Retention = w.hist.Retention && w.policy.deletes
		w.hist.Compacted, w.hist.DeleteRetentionMs = true, w.policy.deleteRetentionMs
	}
	w.hist.LogAppendTime = w.policy.logAppendTime
	w.drawStorage()
	w.drawRecoveryCheckpoint()
	w.drawNetwork()
	w.partitions = 1 + w.rng.Int32N(4)
	if w.cfg.Directed == DirectForgottenProducer {
		w.partitions = 1
	}
	w.ackedEnd = make([]core.Offset, w.partitions)
	w.drawClients()
	if w.cfg.Faults || w.cfg.canary == canaryLyingSync {
		w.faults = drawFaults(w)
		if w.ens != nil && w.cfg.Faults {
			w.faults = append(w.faults, w.clusterFaults()...)
		}
		if w.cfg.Faults {
			w.faults = append(w.faults, w.drawCleanRestart()...)
		}
		if w.cfg.canary == canaryLyingSync && !hasFault(w.faults, "crash") {
			w.faults = append(w.faults, &crashFault{meanInterval: 2e9, downMax: 100e6})
		}
	}
	w.direct()
	w.drawScrub()
	w.drawDeleteDelay()
	w.mix = append(w.mix, "faults="+describeFaults(w.faults))
	if w.phase == phaseFinished {
		return // the configuration was refused
	}
	for _, n := range w.nodes {
		n.restart()
	}
	w.schedule(w.now+tickInterval, w.tickLoop)
	w.admin.start()
}

func hasFault(fs []fault, name string) bool {
	for _, f := range fs {
		if f.name() == name {
			return true
		}
	}
	return false
}

func (w *world) drawBroker() {
	segment := []int64{4 << 10, 16 << 10, 128 << 10, 1 << 30}[w.rng.IntN(4)]
	if w.cfg.Directed == DirectSegmentGap || w.cfg.Directed == DirectForgottenProducer {
		segment = 4 << 10
	}
	index := []int64{0, 256, 4096}[w.rng.IntN(3)]
	w.brokerProps = map[string]string{
		"log.dirs":                  dataDir,
		"auto.create.topics.enable": "false",
		"log.segment.bytes":         strconv.FormatInt(segment, 10),
		"log.index.interval.bytes":  strconv.FormatInt(index, 10),
		// group members' sessions are short, so that the run sees them
		// expire; the initial rebalance delay is drawn
		"group.min.session.timeout.ms":     "500",
		"group.initial.rebalance.delay.ms": strconv.Itoa(w.rng.IntN(1000)),
		"offsets.topic.num.partitions":     strconv.Itoa(1 + w.rng.IntN(8)),
		// small offsets segments roll under a stream of commits
		"offsets.topic.segment.bytes": strconv.Itoa([]int{4 << 10, 16 << 10, 100 << 20}[w.rng.IntN(3)]),
		// Offsets never expire within a run, so the group is never
		// deleted and its generations only grow (the checks rely on it).
		"offsets.retention.check.interval.ms": "9223372036854775807",
	}
	if w.sasl {
		w.brokerProps["listeners"] = "PLAINTEXT://:9092,SASL_PLAINTEXT://:9093"
		w.brokerProps["sasl.enabled.mechanisms"] = core.MechanismPlain
		w.brokerProps["listener.name.sasl_plaintext.plain.sasl.jaas.config"] =
			`org.apache.kafka.common.security.plain.PlainLoginModule required user_` + simSASLUser + `="` + simSASLPassword +
				`" user_` + aclUser + `="` + aclPassword + `";`
		w.brokerProps["authorizer.class.name"] = "kafka.security.authorizer.AclAuthorizer"
		w.brokerProps["super.users"] = aclSuperUsers
		w.mix = append(w.mix, "sasl=PLAIN")
	}
	w.mix = append(w.mix, fmt.Sprintf("segment=%d index=%d", segment, index))
	p := w.rng.Float64()
	w.broker.fs.Policy.TornTailProb = p
	w.broker.fs.Policy.GarbageProb = w.rng.Float64() / 2
	w.broker.fs.Policy.GarbageBytesMax = 16
	w.mix = append(w.mix, fmt.Sprintf("torn=%.2f", p))
}

func (w *world) drawNetwork() {
	if w.rng.IntN(2) == 0 {
		w.burstWindow = core.Instant(100e3 + w.rng.Int64N(3e6))
	}
	w.net = netParams{latencyMin: core.Instant(10e3 + w.rng.Int64N(1e6)), latencyJitter: core.Instant(w.rng.Int64N(3e6))}
	if w.cfg.Faults && w.rng.IntN(2) == 0 {
		w.net.spikeProb = w.rng.Float64() * 0.05
		w.net.spikeMax = core.Instant(w.rng.Int64N(300e6))
	}
	w.mix = append(w.mix, fmt.Sprintf("latency=%s+%s spikes=%.3f<%s burst=%s",
		fmtDur(w.net.latencyMin), fmtDur(w.net.latencyJitter), w.net.spikeProb, fmtDur(w.net.spikeMax), fmtDur(w.burstWindow)))
}

func (w *world) drawClients() {
	w.admin = newAdmin(w)
	np, nc := w.cfg.Producers, w.cfg.Consumers
	if np <= 0 {
		np = 1 + w.rng.IntN(4)
		if w.cfg.Directed == DirectForgottenProducer {
			np = max(np, 4) // slow ones and others
		}
		if w.cfg.Directed == DirectProducerBound {
			np = max(np, 2)
		}
	}
	if nc <= 0 {
		nc = 1 + w.rng.IntN(3)
	}
	idem, acks0 := 0, 0
	for i := 0; i < np; i++ {
		p := w.newProducer(fmt.Sprintf("p%d", i), w.rng.IntN(2) == 0)
		switch {
		case w.cfg.Directed == DirectProducerBound:
			p.idempotent, p.acks = true, -1
		case w.cfg.Directed != DirectForgottenProducer:
		case i == 0:
			// idempotent, and slow: a burst of batches every few
			// seconds, several in flight at once
			p.idempotent, p.acks, p.cl.closesExpected = true, -1, false
			p.intervalMax = core.Instant(5e9 + w.rng.Int64N(15e9))
			p.burstMax, p.requestsInflightMax, p.batchesPerPartMax = 5, 5, 5
		default:
			// the others fill the log fast, idempotent too
			p.idempotent, p.acks, p.cl.closesExpected = true, -1, false
			p.intervalMax = core.Instant(5e6 + w.rng.Int64N(30e6))
		}
		if p.idempotent {
			idem++
		}
		if p.acks == 0 {
			acks0++
		}
		w.producers = append(w.producers, p)
	}
	for i := 0; i < nc; i++ {
		w.consumers = append(w.consumers, newConsumer(w, fmt.Sprintf("c%d", i), i == 0))
	}
	w.drawLegacy()
	w.drawSessions()
	if w.sasl {
		// the victim of the ACL change (acl.go): a plain acks=all
		// producer, modern
		p := w.newProducer(aclProducer, false)
		p.acks, p.cl.closesExpected = -1, false
		for _, c := range w.consumers {
			if c.legacyMagic >= 0 && p.compressor.codec == codecZstd {
				p.compressor.codec = codecGzip // Kafka refuses legacy fetches of zstd data
			}
		}
		w.producers = append(w.producers, p)
		w.acl = newACLActor(w)
	}
	w.quota = w.drawQuota()
	w.dyncfg = w.drawDynConfig()
	for i := range w.rng.IntN(4) {
		w.members = append(w.members, w.newGroupMember(fmt.Sprintf("g%d", i)))
	}
	w.mix = append(w.mix, fmt.Sprintf("partitions=%d producers=%d(idempotent %d, acks=0 %d) consumers=%d",
		w.partitions, np, idem, acks0, nc))
}

// newProducer draws a producer's settings. Idempotent producers use
// acks=1 or all (Kafka's producer refuses acks=0 with idempotence);
// plain ones any of 0, 1 and all.
func (w *world) newProducer(name string, idempotent bool) *producer {
	acks := []int16{1, -1}[w.rng.IntN(2)]
	if !idempotent && w.rng.IntN(5) == 0 {
		acks = 0
	}
	if w.rf > 1 && acks == 1 {
		acks = -1 // acks=1 may lose acknowledged records on failover (only acks=all is checked)
	}
	rt := newRouter(w, name)
	p := &producer{w: w, rt: rt, cl: rt.boot, requestsInflight: map[*client]int{},
		idempotent: idempotent, acks: acks, legacyMagic: -1,
		version: 3 + int16(w.rng.IntN(9)), pidVersion: int16(w.rng.IntN(5)),
		requestsInflightMax: 1 + w.rng.IntN(5), batchesPerPartMax: 1 + w.rng.IntN(5),
		queuedPerPartMax: 20, intervalMax: core.Instant(10e6 + w.rng.Int64N(200e6)),
		recordsPerBatchMax: 1 + w.rng.IntN(8), attemptsMax: 3 + w.rng.IntN(20)}
	p.cl.closesExpected = acks == 0 // the broker closes on a failed acks=0 produce
	w.mix = append(w.mix, p.drawBatches())
	for part := int32(0); part < w.partitions; part++ {
		p.parts = append(p.parts, &prodPart{partition: part, lastAcked: -1})
	}
	return p
}

// addPartitions grows the workload's topic to n partitions once the admin
// learned the broker has them: producers start writing to them and
// consumers reading them.
func (w *world) addPartitions(n int32) {
	if n <= w.partitions {
		return
	}
	w.logf("topic %s now has %d partitions", w.topic, n)
	for part := w.partitions; part < n; part++ {
		w.ackedEnd = append(w.ackedEnd, 0)
		for _, p := range append(w.producers, w.probe) {
			if p != nil {
				p.parts = append(p.parts, &prodPart{partition: part, lastAcked: -1})
				p.rt.grow(part + 1)
			}
		}
		for _, m := range w.members {
			m.drt.grow(part + 1)
		}
		for _, c := range w.consumers {
			c.rt.grow(part + 1)
			c.pos = append(c.pos, 0)
			c.lastHWM = append(c.lastHWM, 0)
			c.awaitFrom, c.awaitAt = append(c.awaitFrom, -1), append(c.awaitAt, 0)
		}
	}
	w.partitions = n
}

// topicReady starts the workload and the faults once the topic exists.
func (w *world) topicReady() {
	if w.phase != phaseSetup {
		return
	}
	w.phase = phaseFaults
	w.logf("topic ready; workload and faults start")
	for _, p := range w.producers {
		p.start()
	}
	for _, c := range w.consumers {
		c.start()
	}
	for _, m := range w.members {
		m.start()
	}
	for _, f := range w.faults {
		f.arm(w)
	}
	w.admin.startChanges()
	if !w.sasl {
		newTrimmer(w).start() // DeleteRecords under faults (trim.go)
	}
	if w.acl != nil {
		w.acl.start()
	}
	if w.quota != nil {
		w.quota.start()
	}
	if w.dyncfg != nil {
		w.dyncfg.start()
	}
	w.schedule(w.end, w.startDrain)
}

func (w *world) faulting() bool { return w.phase == phaseFaults }

// startDrain stops faults and new produces; the run ends once every
// producer is idle, a fresh produce to every partition was acknowledged
// (each partition is writable again), the admin's acknowledged changes
// are all visible, and every consumer has read every acknowledged record.
func (w *world) startDrain() {
	w.phase = phaseDrain
	w.drainProgress = w.now
	w.logf("drain: faults and new produces stop")
	for _, p := range w.producers {
		p.stopped = true
	}
	w.probe = w.newProducer("probe", false)
	w.probe.acks, w.probe.attemptsMax, w.probe.stopped = -1, 1<<30, true
	for _, c := range w.consumers {
		if c.legacyMagic >= 0 && w.probe.compressor.codec == codecZstd {
			w.probe.compressor.codec = codecGzip
		}
	}
	w.probe.cl.closesExpected = false
	for _, part := range w.probe.parts {
		w.probe.newBatch(part)
	}
	w.probe.rt.setOnReady(w.probe.pump)
	w.probe.pump()
	w.admin.verify()
	if w.acl != nil {
		w.acl.drain()
	}
	if w.dyncfg != nil {
		w.dyncfg.drain()
	}
	if w.policy.compact {
		w.startFinalRead()
	}
	w.drainCheck()
}

func (w *world) drainCheck() {
	if w.phase != phaseDrain {
		return
	}
	// Every broker must also be up and registered in this incarnation
	// (a registration can be delayed or retried; the bound below judges).
	if w.nodesRegistered() && w.drained() {
		for _, n := range w.nodes {
			n.checkRegistered()
		}
		w.checkMetricsConverged()
		w.converged = true
		w.phase = phaseFinished
		return
	}
	if read := w.recordsRead(); read > w.drainRead {
		w.drainRead, w.drainProgress = read, w.now
	}
	if w.now-w.drainProgress >= drainMax || w.now-w.end >= drainHardMax {
		w.failf("liveness", "no convergence %s after faults stopped (consumers idle for %s): %s",
			fmtDur(w.now-w.end), fmtDur(w.now-w.drainProgress), w.lagReport())
		w.phase = phaseFinished
		return
	}
	w.after(drainPoll, w.drainCheck)
}

// nodesRegistered says whether every node runs and has registered in
// its current incarnation.
func (w *world) nodesRegistered() bool {
	for _, n := range w.nodes {
		if !n.up || n.registered != n.incarnation {
			return false
		}
	}
	return true
}

// expireSession ends the broker's coordination session and tells the
// broker of the new one; until it registers again it counts as not
// registered.
func (n *node) expireSession() {
	w := n.w
	if w.ens != nil {
		// An ensemble expires a session only once it has not heard from
		// it for the timeout (leadership leases rely on it): the node is
		// cut off from the ensemble until just past that.
		if n.zk.cutUntil <= w.now {
			n.zk.cutUntil = w.now + w.ens.timeout + w.ens.timeout/10
			w.disturb(n.zk.cutUntil - w.now)
			w.logf("node %d cut off from the ensemble until %s (its session expires)", n.id, fmtInstant(n.zk.cutUntil))
		}
		return
	}
	id := n.coord.ExpireSession()
	w.trace.fold(w.now, trSessionExpiry, uint64(id), 0, nil)
	w.logf("coordination session expired; new session %d", id)
	n.registered, n.elected = 0, 0
	n.handle(core.CoordNewSession{Session: id})
}

// controllerElected records a controller epoch's winner; two winners of
// one epoch (two controllers that would fence their writes with the same
// epoch) fail the run.
func (w *world) controllerElected(epoch int32, who string) {
	if w.epochWinners == nil {
		w.epochWinners = map[int32]string{}
	}
	if prev, ok := w.epochWinners[epoch]; ok {
		w.failf("controller-epoch", "controller epoch %d won twice: by %s, then by %s", epoch, prev, who)
		return
	}
	w.epochWinners[epoch] = who
}

// controllerHolder is the broker id /controller names, or -1.
func (w *world) controllerHolder() int32 {
	res := w.zkRead(core.CoordOp{Kind: core.CoordGet, Path: "/controller"})
	var z core.ControllerZnode
	if res.Err != nil || json.Unmarshal(res.Data, &z) != nil {
		return -1
	}
	return z.BrokerID
}

// registeredBrokers lists the broker ids under /brokers/ids, sorted.
func (w *world) registeredBrokers() []int32 {
	res := w.zkRead(core.CoordOp{Kind: core.CoordChildren, Path: "/brokers/ids"})
	var ids []int32
	for _, c := range res.Children {
		if n, err := strconv.Atoi(c); err == nil {
			ids = append(ids, int32(n))
		}
	}
	sort.Slice(ids, func(i, j int) bool { return ids[i] < ids[j] })
	return ids
}

// checkRegistered: the /brokers/ids znode of a broker that converged
// (registered, in this incarnation) is Kafka's document naming the
// advertised endpoints (the PLAINTEXT one, its host and port the
// document's), on the broker's session.
func (n *node) checkRegistered() {
	w := n.w
	path := core.BrokerPath(n.brokerCfg.BrokerID)
	res := w.zkRead(core.CoordOp{Kind: core.CoordGet, Path: path})
	var doc core.BrokerZnode
	if res.Err != nil || json.Unmarshal(res.Data, &doc) != nil {
		w.failf("registration", "%s after convergence: %v (%q)", path, res.Err, res.Data)
		return
	}
	eps := n.brokerCfg.AdvertisedListeners // PLAINTEXT first, then SASL_PLAINTEXT when the seed draws SASL
	ep := eps[0]
	same := len(doc.Endpoints) == len(eps)
	for i := 0; same && i < len(eps); i++ {
		same = doc.Endpoints[i] == eps[i].String()
	}
	if res.Stat.EphemeralOwner == 0 || doc.Version != 5 || !same || doc.Host != ep.Host || doc.Port != ep.Port {
		w.failf("registration", "%s: got %s (ephemeral owner %d); want an ephemeral version 5 document for %v", path, res.Data, res.Stat.EphemeralOwner, eps)
	}
}

// recordsRead sums the consumers' positions: it grows while they catch up.
func (w *world) recordsRead() core.Offset {
	var n core.Offset
	for _, c := range append(w.consumers, w.final) {
		if c == nil {
			continue
		}
		for _, off := range c.pos {
			n += max(off, 0)
		}
	}
	return n
}

func (w *world) drained() bool {
	for _, p := range w.producers {
		if !p.idle() {
			return false
		}
	}
	if !w.probe.idle() || !w.admin.verified() || (w.acl != nil && !w.acl.settled()) || (w.dyncfg != nil && !w.dyncfg.settled()) {
		return false
	}
	for _, c := range w.consumers {
		if !c.caughtUp() {
			return false
		}
	}
	return w.groupSettled() && (w.final == nil || w.final.caughtUp())
}

// groupSettled says the group's members are all in one generation that
// assigns every partition, and have committed every acknowledged record.
func (w *world) groupSettled() bool {
	if len(w.members) == 0 {
		return true
	}
	owned := map[int32]bool{}
	for _, m := range w.members {
		if !m.settled() || m.generation != w.members[0].generation {
			return false
		}
		for _, p := range m.assigned {
			owned[p] = true
		}
	}
	return len(owned) == int(w.partitions)
}

func (w *world) lagReport() string {
	s := fmt.Sprintf("broker up=%v paused=%v registered=%v acked ends %v; admin verified=%v;", w.broker.up, w.broker.paused, w.broker.registered == w.broker.incarnation, w.ackedEnd, w.admin.verified())
	if w.acl != nil {
		s += w.acl.report()
	}
	if w.dyncfg != nil {
		s += w.dyncfg.report()
	}
	for _, p := range append(w.producers, w.probe) {
		if p == nil {
			continue
		}
		q := 0
		for _, part := range p.parts {
			q += len(part.queue)
		}
		s += fmt.Sprintf(" %s queued=%d broken=%v;", p.cl.name, q, p.broken)
	}
	for _, c := range append(w.consumers, w.final) {
		if c != nil {
			s += fmt.Sprintf(" %s at %v leaders %v conns %s;", c.cl.name, c.pos, c.rt.leaders, c.rt.describe())
		}
	}
	for _, m := range w.members {
		s += fmt.Sprintf(" %s state=%d generation=%d assigned=%v pos=%v committed=%v needOffset=%v busy=%v/%v/%v/%v;", m.name, m.state, m.generation,
			m.assigned, m.pos, m.committed, m.needOffset, m.coordBusy, m.hbOut, m.commitOut, m.fetchOut)
	}
	return s
}

// loop runs events until the run finishes or nothing is left to do.
func (w *world) loop() {
	if w.runUntil(w.end+drainHardMax+10e9) && w.phase != phaseFinished {
		w.failf("liveness", "setup did not finish: %s", w.lagReport())
	}
}

// runUntil runs events up to instant until or the end of the run; it
// says whether it stopped at until.
func (w *world) runUntil(until core.Instant) bool {
	for w.phase != phaseFinished {
		if len(w.queue) == 0 {
			w.failf("liveness", "event queue ran dry at %s", fmtInstant(w.now))
			return false
		}
		if w.queue[0].at > until {
			return true
		}
		ev, _ := w.next()
		w.now = ev.at
		ev.fn()
	}
	return false
}

// brokerNow is the broker's clock: virtual time plus the skew clock
// jumps left. The core never lets its own time run backwards.
func (n *node) brokerNow() core.Instant { return n.w.now + n.clockSkew }

func (w *world) tickLoop() {
	if w.phase == phaseFinished {
		return
	}
	if w.ens != nil {
		w.ens.check()
	}
	for _, n := range w.nodes {
		if n.up && !n.paused {
			n.tick()
		}
	}
	w.checkMetricsRunning()
	w.after(tickInterval, w.tickLoop)
}

func (n *node) tick() {
	w := n.w
	now := n.brokerNow()
	n.coreClock = max(n.coreClock, now)
	n.incClock = max(n.incClock, now)
	w.trace.fold(w.now, trTick, uint64(now), 0, nil)
	n.handle(core.Tick{Now: now, Mono: w.now}) // the virtual clock: no skew, no jumps
}

// crash stops the broker as a power loss would: connections die without
// a goodbye, the disk keeps what the crash policy says. Under a policy
// that acknowledges before fsync, and for brokers other than the
// workload's, it is a process crash: the page cache survives.
func (n *node) crash() { n.halt(n.w.policy.processCrash || n != n.w.broker) }

// halt stops the broker's process: connections die without a goodbye;
// with processOnly the page cache keeps every written byte (kill -9, or
// after a clean stop), else the disk keeps what the crash policy says.
func (n *node) halt(processOnly bool) {
	w := n.w
	n.checkRecoveryPoints()
	w.logf("node %d: crash", n.id)
	w.trace.fold(w.now, trCrash, uint64(n.incarnation), uint64(n.id), nil)
	n.up, n.drv = false, nil
	n.paused, n.pausedEvents = false, nil
	n.scrubbing = false
	n.dropPeerClients()
	n.inbox = nil
	n.storage.queues = map[core.TopicPartition]*storageQueue{}
	for _, c := range n.connList {
		c.brokerOpen = false
		if c.clientOpen {
			c.clientOpen = false
			cl, c := c.cl, c
			w.after(w.latency(), func() {
				w.trace.fold(w.now, trDisconnect, uint64(c.id), 0, nil)
				cl.lost(c)
			})
		}
		delete(n.conns, c.id)
	}
	n.connList = nil
	n.disk.forget()
	if processOnly {
		n.fs.ProcessCrash() // the page cache keeps every written byte
		return
	}
	n.crashDisk()
}

// restart recovers the broker from the disk, as after a reboot.
func (n *node) restart() {
	w := n.w
	if n.up || w.phase == phaseFinished {
		return
	}
	if w.ens != nil && w.ens.tree.HasSession(n.zk.session) {
		// The previous process's session has not expired: a broker
		// started now would find its id registered and stop. Its
		// supervisor tries again a little later.
		w.after(restartRetry, n.restart)
		return
	}
	n.checkCleanShutdownMarker()
	n.incarnation++
	w.trace.fold(w.now, trRestart, uint64(n.incarnation), uint64(n.id), nil)
	cfg, err := core.ParseProperties(n.props())
	if err != nil {
		w.fatalf("config", "broker properties: %v", err)
		return
	}
	cfg.Seed = w.rng.Uint64()
	cfg.Coverage = &w.coverage
	if w.sessionEvictionMs > 0 {
		cfg.FetchSessionEvictionMs = w.sessionEvictionMs
	}
	cfg.Cleaner.DedupeBytesPerCleanMax = w.policy.compaction.dedupeBytesPerClean
	var coord kio.Coordinator
	if w.ens != nil {
		w.ens.open(n)
		coord = ensembleCoordinator{n}
	} else {
		fc, err := n.openCoordinator()
		if err != nil {
			w.fatalf("recovery", "coordinator: %v", err)
			return
		}
		if fc == nil {
			return
		}
		n.coord, coord = fc, fc
	}
	drv, err := n.open(cfg, coord)
	if err != nil {
		w.fatalf("recovery", "driver: %v", err)
		return
	}
	if drv == nil {
		return // a crash point fired during recovery; a restart is scheduled
	}
	drv.Hold = n.hold
	drv.Defer = n.deferStorage
	if w.ens != nil {
		drv.Coordinate = n.coordinate
	}
	n.drv, n.up = drv, true
	n.brokerCfg = cfg
	n.incClock = n.brokerNow()
	if n == w.broker {
		w.logf("broker up (incarnation %d)", n.incarnation)
	} else {
		w.logf("node %d up (incarnation %d)", n.id, n.incarnation)
	}
	w.hist.Incarnations = append(w.hist.Incarnations, Incarnation{Broker: n.id, At: w.now, FirstTick: n.incClock})
	n.tick()
}

func (n *node) openCoordinator() (c *kio.FileCoordinator, err error) {
	defer n.recoverBroker()
	n.inBroker = true
	c, err = kio.OpenFileCoordinator(n.fs, dataDir)
	n.inBroker = false
	return c, err
}

// open runs recovery under the crash-point guard.
func (n *node) open(cfg core.Config, coord kio.Coordinator) (drv *driver.Driver, err error) {
	w := n.w
	defer n.recoverBroker()
	n.inBroker = true
	oracle := n.newRestartOracle(cfg)
	drv, err = driver.Open(cfg, n.fs, dataDir, coord, &transport{w: w, n: n, incarnation: n.incarnation}, w.logf)
	n.inBroker = false
	if drv != nil {
		drv.RequestCost = requestCost
		drv.Nonce = responseNonce(cfg.Seed, cfg.BrokerID)
		oracle.check(n)
	}
	return drv, err
}

// responseNonce is a broker's nonce for spliced fetch responses
// (driver.Driver.Nonce), derived from the seed (splitmix64) rather than
// drawn, so that the world's random stream is untouched.
func responseNonce(seed uint64, id core.BrokerID) (nonce [8]byte) {
	z := seed + uint64(id+1)*0x9e3779b97f4a7c15
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9
	z = (z ^ (z >> 27)) * 0x94d049bb133111eb
	binary.BigEndian.PutUint64(nonce[:], z^(z>>31))
	return nonce
}

// requestCost is the simulated broker's handling time of a request, for
// request_percentage quotas: virtual time does not pass while the core
// steps, so a model stands for it, 50 µs and 2 ns a byte.
func requestCost(r core.Request, step func()) int64 {
	step()
	return 50_000 + 2*int64(r.Size)
}

func (w *world) count(fault string) {
	// Any fault may delay what clients see (reconnects, request
	// timeouts of up to 10s): the delivery check waits for quiet.
	w.clientDisturbedUntil = max(w.clientDisturbedUntil, w.now+clientSettle)
	w.faultCounts[fault]++
	w.trace.fold(w.now, trFault, 0, 0, []byte(fault))
}

// failf records a check failure seen while running.
func (w *world) failf(kind, format string, args ...any) {
	msg := fmt.Sprintf("%s: at %s: %s", kind, fmtInstant(w.now), fmt.Sprintf(format, args...))
	w.logf("FAIL %s", msg)
	if len(w.failures) < 50 {
		w.failures = append(w.failures, msg)
	}
}

// fatalf records a failure after which the run cannot go on.
func (w *world) fatalf(kind, format string, args ...any) {
	w.failf(kind, format, args...)
	w.phase = phaseFinished
}

func (w *world) result() Result {
	r := Result{Seed: w.cfg.Seed, TraceHash: w.trace.sum(), TraceRecords: w.trace.n,
		SimSeconds: float64(w.now-epoch) / 1e9, Converged: w.converged, History: &w.hist, Timeouts: w.timeouts,
		Coverage: w.coverage}
	r.Mix = fmt.Sprint(w.mix)
	r.Mix = r.Mix[1 : len(r.Mix)-1]
	for _, op := range w.hist.Ops {
		switch op.Kind {
		case OpProduce:
			r.Ops.Produces++
			switch op.Outcome {
			case OK:
				r.Ops.ProducesOK++
			case Failed:
				r.Ops.ProducesFailed++
			default:
				r.Ops.ProducesIndefinite++
			}
		case OpFetch:
			r.Ops.Fetches++
			for _, fp := range op.Fetches {
				r.Ops.RecordsRead += len(fp.Records)
			}
		case OpListOffsets:
			r.Ops.ListOffsets++
		case OpAdmin:
			r.Ops.Admin++
		}
	}
	names := make([]string, 0, len(w.faultCounts))
	// order-independent: names collected, then sorted
	for name := range w.faultCounts {
		names = append(names, name)
	}
	sort.Strings(names)
	for _, name := range names {
		r.Faults = append(r.Faults, FaultCount{name, w.faultCounts[name]})
	}
	r.ProducedVia = w.hist.brokersAnswering()
	w.checkReplicas()
	w.checkScrubbedAtEnd()
	r.OffsetsRF = w.offsetsRF
	r.Failures = append(r.Failures, w.failures...)
	r.Failures = append(r.Failures, CheckHistory(&w.hist, w.converged)...)
	r.Failures = append(r.Failures, checkGroups(&w.hist)...)
	var lin []string
	lin, r.Linearized, r.LinearizeWall = checkLinearizable(&w.hist, w.cfg.Seed, w.cfg.VizDir)
	r.Failures = append(r.Failures, lin...)
	return r
}

// FormatCoverage prints every coverage point with its count, in the
// points' order: "name=n name=n ...".
func FormatCoverage(c *cover.Counts) string {
	parts := make([]string, 0, len(cover.Points()))
	for _, p := range cover.Points() {
		parts = append(parts, fmt.Sprintf("%s=%d", p, c.Of(p)))
	}
	return strings.Join(parts, " ")
}

// legacyStream seeds the legacy-client draws' own random source, so that
// they leave the world's other draws as they were.
const legacyStream = 0x6c6567616379 // "legacy"

// drawLegacy makes some plain producers and some consumers Kafka 0.9 or
// 0.10 clients (legacy.go). Consumers stay modern in compacted seeds,
// whose tombstones only a record header names, and in seeds with zstd
// producers, since Kafka answers a legacy fetch of zstd data
// UNSUPPORTED_COMPRESSION_TYPE (the drain's probe avoids zstd when a
// legacy consumer reads).
func (w *world) drawLegacy() {
	r := rand.New(rand.NewPCG(w.cfg.Seed, legacyStream))
	zstd := false
	for _, p := range w.producers {
		if !p.idempotent && r.IntN(3) == 0 {
			w.mix = append(w.mix, p.makeLegacy(r))
		}
		zstd = zstd || p.compressor.codec == codecZstd
	}
	for _, c := range w.consumers {
		if !w.policy.compact && !zstd && r.IntN(3) == 0 {
			w.mix = append(w.mix, c.makeLegacy(r))
		}
	}
}

// holderKnows says whether the broker that holds /controller (holder;
// -1: none) knows that it won.
func (w *world) holderKnows(holder int32) bool {
	for _, n := range w.nodes {
		if n.up && int32(n.brokerCfg.BrokerID) == holder {
			return n.elected == n.incarnation
		}
	}
	return true
}
