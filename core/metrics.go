package core

import (
	"sort"

	"github.com/twmb/franz-go/pkg/kmsg"

	"cloudkafka/core/cover"
)

// Metrics the core computes, for the runtime's /metrics page
// (realio/metrics.go names them as the Prometheus JMX exporter names
// Kafka's MBeans). The counters here are plain fields, changed on the
// paths that do what they count; gauges (partition counts, group states,
// consumer lag) are computed when the runtime asks for a snapshot
// (Stats), on the loop goroutine like every other call into the core.
//
// Label cardinality is bounded: at most metrics.topics.max topics and
// metrics.groups.max groups get series of their own; the others are
// summed under the label value OtherLabel, so that totals stay right.
// A topic's counters get their slot the first time it is counted and
// keep it (a counter must not move between series); a deleted topic's
// slot is folded into OtherLabel when a new topic needs it.

// OtherLabel is the label value the topics and groups beyond the
// metrics.*.max bounds are summed under.
const OtherLabel = "__other"

// TopicCounters are one topic's counters since the broker started.
type TopicCounters struct {
	// BytesIn and MessagesIn count the record batches appended by
	// produce requests on this broker as leader: the batches' bytes as
	// the request carried them (Kafka's BytesInPerSec) and their records
	// (MessagesInPerSec). A retried batch an idempotent producer had
	// written already is not appended again, and not counted again.
	BytesIn, MessagesIn uint64
	// BytesOut counts the record bytes of consumers' fetch answers
	// (Kafka's BytesOutPerSec; followers' fetches are
	// Stats.ReplicationBytesOut).
	BytesOut uint64
	// ProduceRequests and FailedProduceRequests count the partitions of
	// produce requests answered, and of those answered with an error
	// (Kafka's TotalProduceRequestsPerSec, FailedProduceRequestsPerSec).
	ProduceRequests, FailedProduceRequests uint64
}

func (c *TopicCounters) add(o TopicCounters) {
	c.BytesIn += o.BytesIn
	c.MessagesIn += o.MessagesIn
	c.BytesOut += o.BytesOut
	c.ProduceRequests += o.ProduceRequests
	c.FailedProduceRequests += o.FailedProduceRequests
}

// metricsState holds the core's counters. Its map is bounded by
// metrics.topics.max (checked on insert, in topic).
type metricsState struct {
	topics map[string]*TopicCounters // at most Metrics.TopicsMax; iterate via sortedKeys
	other  TopicCounters             // the topics beyond the bound, and deleted ones folded in

	replicationBytesOut uint64 // record bytes of followers' fetch answers
	isrShrinks          uint64 // ISR shrinks this broker wrote as leader
	isrExpands          uint64 // ISR expansions this broker wrote as leader
	rebalances          uint64 // generations completed by the groups this broker coordinated

	// registered: the broker's registration on its current session
	// succeeded (cleared by a new session, set again by the next).
	registered bool
}

// counters returns the counters a topic's events go to, giving it a
// slot if it has none and the bound allows.
func (b *Broker) counters(name string) *TopicCounters {
	m := &b.stats
	if c := m.topics[name]; c != nil {
		return c
	}
	if m.topics == nil {
		m.topics = map[string]*TopicCounters{}
	}
	if len(m.topics) >= b.cfg.Metrics.TopicsMax {
		b.foldDeletedTopics()
	}
	if len(m.topics) >= b.cfg.Metrics.TopicsMax {
		return &m.other
	}
	c := &TopicCounters{}
	m.topics[name] = c
	return c
}

// foldDeletedTopics moves the counters of topics no longer known into
// the OtherLabel series, freeing their slots.
func (b *Broker) foldDeletedTopics() {
	for _, name := range sortedKeys(b.stats.topics) {
		if b.topics[name] == nil {
			b.stats.other.add(*b.stats.topics[name])
			delete(b.stats.topics, name)
		}
	}
}

// countProduced counts a batch a produce request appended.
func (b *Broker) countProduced(topic string, requestBytes int, records int64) {
	c := b.counters(topic)
	c.BytesIn += uint64(requestBytes)
	c.MessagesIn += uint64(max(records, 0))
}

// countProduceAnswer counts one partition of a produce request answered.
func (b *Broker) countProduceAnswer(topic string, code int16) {
	if b.topics[topic] == nil {
		return // no series for names that are no topic
	}
	c := b.counters(topic)
	c.ProduceRequests++
	if code != errNone {
		c.FailedProduceRequests++
	}
}

// countFetched counts the record bytes a fetch answer carries: a
// consumer's per topic, a follower's in total. An answer emptied by a
// quota carries none.
func (b *Broker) countFetched(fw *fetchWait, resp *kmsg.FetchResponse) {
	if resp.Topics == nil {
		return
	}
	for _, fp := range fw.parts {
		if fp.p == nil || fp.n == 0 {
			continue
		}
		n := uint64(fp.n)
		if fw.replica >= 0 {
			b.stats.replicationBytesOut += n
			continue
		}
		if b.topics[fp.p.tp.Topic] != nil {
			b.counters(fp.p.tp.Topic).BytesOut += n
		}
	}
}

// countISRChange counts an ISR this broker wrote as leader.
func (b *Broker) countISRChange(from, to int) {
	switch {
	case to < from:
		b.stats.isrShrinks++
	case to > from:
		b.stats.isrExpands++
	}
}

// Stats is a snapshot of what the broker knows about itself, for
// metrics and health checks. Every slice is sorted.
type Stats struct {
	// Registered: the broker is registered under /brokers/ids on its
	// current coordination session. Serving: it has the controller's
	// metadata and answers clients (until then their requests wait).
	// ShuttingDown: a shutdown was asked for.
	Registered, Serving, ShuttingDown bool
	// Controller: this broker is the active controller.
	// OfflinePartitions, on the controller: the partitions with no live
	// leader (Kafka's OfflinePartitionsCount); 0 elsewhere.
	Controller        bool
	OfflinePartitions int
	// Partitions, Leaders: the replicas this broker hosts, and those it
	// leads; UnderReplicated: the led partitions whose ISR is smaller
	// than their replica set (Kafka's ReplicaManager gauges).
	PartitionCount, LeaderCount, UnderReplicated int
	// IsrShrinks, IsrExpands: the ISR changes this broker wrote as a
	// leader since it started.
	IsrShrinks, IsrExpands uint64
	// ReplicationBytesOut: record bytes sent to followers.
	ReplicationBytesOut uint64
	// Topics: the per-topic counters, by label (OtherLabel last if
	// present).
	Topics []TopicStats
	// Logs: the hosted replicas' offsets, with their topic's label.
	Logs []LogStats
	// GroupStates: how many groups this broker coordinates are in each
	// state (Kafka's GroupMetadataManager NumGroups* gauges), by state
	// name; Rebalances: the generations they completed.
	GroupStates []GroupStateCount
	Rebalances  uint64
	// Lag: per group and partition, the committed offset against the
	// partition's high watermark on this broker (see GroupLag).
	Lag []GroupLag
	// FetchSessions and FetchSessionPartitions: the fetch sessions
	// (KIP-227) the broker keeps and the partitions they hold (Kafka's
	// FetchSessionCache NumIncrementalFetchSessions and
	// NumIncrementalFetchPartitionsCached); FetchSessionEvictions: the
	// sessions that gave their slot to a new one
	// (IncrementalFetchSessionEvictionsPerSec); IncrementalFetches: the
	// incremental fetches answered within a session.
	FetchSessions, FetchSessionPartitions     int
	FetchSessionEvictions, IncrementalFetches uint64
	// ScrubBytes and ScrubDamagedBatches: the bytes the log scrubber
	// verified and the damaged batches it found (scrub.go) since the
	// broker started.
	ScrubBytes, ScrubDamagedBatches uint64

	topicLabels map[string]string
}

// TopicStats is one topic label's counters.
type TopicStats struct {
	Topic string
	TopicCounters
}

// LogStats is one hosted replica's offsets.
type LogStats struct {
	Topic, Label   string // the topic, and its metrics label
	Partition      int32
	LogStartOffset Offset
	LogEndOffset   Offset
	HighWatermark  Offset
	Leader         bool
}

// GroupStateCount is how many coordinated groups are in one state.
type GroupStateCount struct {
	State  string
	Groups int
}

// GroupLag is a coordinated group's lag on one partition: the
// partition's high watermark as this broker knows it less the group's
// committed offset, at least 0. It is computed only where both are
// known: for a committed offset of a partition this broker hosts (a
// follower's high watermark may trail its leader's). A group with no
// commit on a partition has no lag for it. Beyond the bounds, Group or
// Topic is OtherLabel, Partition -1 when the topic is, and Lag sums
// (Committed and HighWatermark are then -1).
type GroupLag struct {
	Group, Topic  string
	Partition     int32
	Committed     Offset
	HighWatermark Offset
	Lag           int64
}

// TopicLabel returns the label a topic's series carry in this snapshot:
// its name, or OtherLabel beyond metrics.topics.max.
func (s Stats) TopicLabel(topic string) string {
	if l, ok := s.topicLabels[topic]; ok {
		return l
	}
	return OtherLabel
}

// Stats returns a snapshot of the broker's metrics. It changes nothing.
func (b *Broker) Stats() Stats {
	s := Stats{Registered: b.stats.registered, Serving: b.ready, ShuttingDown: b.shutdown.requested,
		IsrShrinks: b.stats.isrShrinks, IsrExpands: b.stats.isrExpands,
		ReplicationBytesOut: b.stats.replicationBytesOut, Rebalances: b.stats.rebalances,
		FetchSessions: len(b.fetchSessions.sessions), FetchSessionPartitions: b.fetchSessions.partitions,
		FetchSessionEvictions: b.fetchSessions.evictions, IncrementalFetches: b.fetchSessions.incrementals,
		ScrubBytes: b.scrub.bytes, ScrubDamagedBatches: b.scrub.damaged}
	if st := b.ctlActive(); st != nil {
		s.Controller = true
		s.OfflinePartitions = b.offlinePartitions(st)
	}
	s.topicLabels = b.topicLabels()
	for _, name := range sortedKeys(b.stats.topics) {
		s.Topics = append(s.Topics, TopicStats{Topic: name, TopicCounters: *b.stats.topics[name]})
	}
	if b.stats.other != (TopicCounters{}) {
		s.Topics = append(s.Topics, TopicStats{Topic: OtherLabel, TopicCounters: b.stats.other})
	}
	for _, name := range b.topicNames() {
		for _, p := range b.topics[name].parts {
			if !p.hosted() {
				continue
			}
			s.PartitionCount++
			if p.leading {
				s.LeaderCount++
				if len(p.isr) < len(p.replicas) {
					s.UnderReplicated++
				}
			}
			s.Logs = append(s.Logs, LogStats{Topic: name, Label: s.TopicLabel(name), Partition: p.tp.Partition,
				LogStartOffset: p.logStart, LogEndOffset: p.leo, HighWatermark: p.hwm, Leader: p.leading})
		}
	}
	s.GroupStates, s.Lag = b.groupStats(s)
	return s
}

// topicLabels gives the topics with counters their own label, and the
// other known topics theirs, in name order, while the bound allows.
func (b *Broker) topicLabels() map[string]string {
	labels := make(map[string]string, len(b.stats.topics))
	for _, name := range sortedKeys(b.stats.topics) {
		labels[name] = name
	}
	n := len(labels)
	for _, name := range b.topicNames() {
		if _, ok := labels[name]; ok {
			continue
		}
		if n < b.cfg.Metrics.TopicsMax {
			labels[name] = name
			n++
		} else {
			labels[name] = OtherLabel
		}
	}
	return labels
}

// offlinePartitions counts, on the controller, the partitions whose
// state names no leader or a leader that is not live.
func (b *Broker) offlinePartitions(st *ctlState) int {
	live := b.ctlLive()
	n := 0
	for _, name := range sortedKeys(st.topics) {
		for _, ps := range st.topics[name].states {
			if ps == nil {
				continue
			}
			if _, ok := live[ps.leader]; ps.leader < 0 || !ok {
				n++
			}
		}
	}
	return n
}

// groupStats counts the coordinated groups by state and computes their
// lag, with metrics.groups.max groups under their own label.
func (b *Broker) groupStats(s Stats) ([]GroupStateCount, []GroupLag) {
	gc := b.groups
	counts := make([]int, len(groupStateNames))
	type key struct {
		group, topic string
		partition    int32
	}
	var order []key
	sums := map[key]*GroupLag{}
	labelled := 0
	for _, id := range sortedKeys(gc.groups) {
		g := gc.groups[id]
		if gc.parts[g.part] != partLoaded {
			continue
		}
		counts[g.state]++
		label := id
		if labelled >= b.cfg.Metrics.GroupsMax {
			label = OtherLabel
		} else {
			labelled++
		}
		for _, tp := range sortedPartitionKeys(g.offsets) {
			p := b.partitionOf(tp.Topic, tp.Partition)
			if p == nil || !p.hosted() {
				continue
			}
			b.cover(cover.GroupLagComputed)
			c := g.offsets[tp]
			lag := max(int64(p.hwm)-c.offset, 0)
			if bugOn(BugLagPastCommit) {
				lag = max(lag-1, 0) // BUG SITE (simbugs): BugLagPastCommit takes the committed offset for the last record read.
			}
			k := key{label, s.TopicLabel(tp.Topic), tp.Partition}
			if k.topic == OtherLabel {
				k.partition = -1
			}
			if sums[k] == nil {
				sums[k] = &GroupLag{Group: k.group, Topic: k.topic, Partition: k.partition, Committed: -1, HighWatermark: -1}
				order = append(order, k)
			}
			e := sums[k]
			e.Lag += lag
			if k.group != OtherLabel && k.topic != OtherLabel {
				e.Committed, e.HighWatermark = Offset(c.offset), p.hwm
			}
		}
	}
	var states []GroupStateCount
	for st, n := range counts {
		states = append(states, GroupStateCount{State: groupStateNames[st], Groups: n})
	}
	sort.Slice(states, func(i, j int) bool { return states[i].State < states[j].State })
	lags := make([]GroupLag, 0, len(order))
	for _, k := range order {
		lags = append(lags, *sums[k])
	}
	sort.Slice(lags, func(i, j int) bool {
		a, c := lags[i], lags[j]
		if a.Group != c.Group {
			return a.Group < c.Group
		}
		if a.Topic != c.Topic {
			return a.Topic < c.Topic
		}
		return a.Partition < c.Partition
	})
	return states, lags
}

// sortedPartitionKeys returns a map's partitions in order.
func sortedPartitionKeys[V any](m map[TopicPartition]V) []TopicPartition {
	out := make([]TopicPartition, 0, len(m))
	// order-independent: collected, then sorted
	for tp := range m {
		out = append(out, tp)
	}
	sortPartitions(out)
	return out
}
