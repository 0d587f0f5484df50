package sim

import (
	"encoding/json"
	"slices"

	"cloudkafka/core"
)

// The offsets topic in a cluster run: __consumer_offsets is created
// (by the first FindCoordinator) with offsets.topic.replication.factor
// replicas per partition, 3 by default, or one per live broker when
// fewer are registered, so that a group's coordinator can move to
// another broker with its committed offsets when its own fails (the
// group checks, group_check.go, judge the offsets across such moves).

// offsetsReplicationDefault is Kafka's offsets.topic.replication.factor,
// which the simulated brokers keep.
const offsetsReplicationDefault = 3

// idsWindow is how long after a change to /brokers/ids a broker's view
// of the live brokers may still lag the ensemble's (its watch and the
// listing it triggers travel over its link).
const idsWindow = core.Instant(2e9)

// brokerIDsPath holds the live brokers' registrations (Kafka's layout).
const brokerIDsPath = "/brokers/ids"

// offsetsTopicPath is the offsets topic's assignment znode.
const offsetsTopicPath = "/brokers/topics/" + core.OffsetsTopic

// noteIDsChange records when /brokers/ids last changed, from the watch
// notifications the ensemble fires.
func (w *world) noteIDsChange(path string) {
	if path == brokerIDsPath {
		w.idsChangedAt = w.now
	}
}

// checkOffsetsTopic checks the assignment of __consumer_offsets as node
// id creates it: distinct replicas, min(3, live brokers) of them in
// every partition. Within idsWindow of a change to the live brokers the
// creator may count one more or one fewer: then the factor is only
// bounded.
func (w *world) checkOffsetsTopic(id core.BrokerID, data []byte) {
	var z struct {
		Partitions map[string][]int32 `json:"partitions"`
	}
	if err := json.Unmarshal(data, &z); err != nil {
		w.failf("offsets-topic", "broker %d created %s with an assignment that does not parse: %v", id, core.OffsetsTopic, err)
		return
	}
	res := w.zkRead(core.CoordOp{Kind: core.CoordChildren, Path: brokerIDsPath})
	live := len(res.Children)
	want := min(offsetsReplicationDefault, live)
	settled := w.now-w.idsChangedAt >= idsWindow
	for _, p := range sortedAssignmentKeys(z.Partitions) {
		rs := z.Partitions[p]
		distinct := slices.Clone(rs)
		slices.Sort(distinct)
		distinct = slices.Compact(distinct)
		switch {
		case len(distinct) != len(rs):
			w.failf("offsets-topic", "%s-%s: replicas %v are not distinct", core.OffsetsTopic, p, rs)
		case len(rs) > min(offsetsReplicationDefault, len(w.nodes)) || len(rs) < 1:
			w.failf("offsets-topic", "%s-%s: %d replicas %v in a cluster of %d brokers; want at most %d", core.OffsetsTopic, p,
				len(rs), rs, len(w.nodes), offsetsReplicationDefault)
		case settled && len(rs) != want:
			w.failf("offsets-topic", "%s-%s: %d replicas %v created by broker %d with %d brokers live; want %d",
				core.OffsetsTopic, p, len(rs), rs, id, live, want)
		}
	}
	w.offsetsRF = len(z.Partitions["0"])
}

func sortedAssignmentKeys(m map[string][]int32) []string {
	keys := make([]string, 0, len(m))
	// order-independent: collected, then sorted
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}
