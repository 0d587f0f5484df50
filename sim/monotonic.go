package sim

import (
	"sort"

	"cloudkafka/core"
)

// checkMonotonic applies Jepsen's cross-operation order checks per client
// and partition:
//   - nonmonotonic-send: a produce that began after the same client's
//     earlier produce to that partition was acknowledged must land at a
//     higher offset;
//   - nonmonotonic-poll: a consumer's fetch must start where its previous
//     answered fetch of the partition left off (past its last record),
//     unless it re-resolved the position with ListOffsets in between.
func (c *checker) checkMonotonic(h *History) {
	type key struct {
		client    string
		partition int32
	}
	lastAck := map[key]*Op{}
	next := map[key]core.Offset{} // where the consumer's next fetch must start
	ops := append([]*Op(nil), h.Ops...)
	sort.SliceStable(ops, func(i, j int) bool { return ops[i].Call < ops[j].Call })
	for _, op := range ops {
		switch op.Kind {
		case OpProduce:
			if op.Outcome != OK {
				continue
			}
			k := key{op.Client, op.Partition}
			if prev := lastAck[k]; prev != nil && prev.Return < op.Call && op.Offset <= lastOffset(prev) {
				c.fail("nonmonotonic-send", "%s: op %d at offset %d began after op %d was acknowledged up to offset %d (partition %d)",
					op.Client, op.ID, op.Offset, prev.ID, lastOffset(prev), op.Partition)
			}
			if prev := lastAck[k]; prev == nil || prev.Return < op.Return {
				lastAck[k] = op
			}
		case OpListOffsets:
			for _, lo := range op.Listed {
				delete(next, key{op.Client, lo.Partition}) // a new position may follow
			}
		case OpSeek:
			delete(next, key{op.Client, op.Partition})
		case OpFetch:
			if op.Outcome != OK {
				continue
			}
			for _, fp := range op.Fetches {
				k := key{op.Client, fp.Partition}
				if want, ok := next[k]; ok && fp.ErrorCode == 0 && fp.From != want {
					c.fail("nonmonotonic-poll", "%s: op %d fetched partition %d from %d; its previous fetch left off at %d",
						op.Client, op.ID, fp.Partition, fp.From, want)
				}
				switch {
				case fp.ErrorCode != 0:
					delete(next, k) // the consumer may re-resolve its position
				case len(fp.Records) > 0:
					next[k] = max(fp.Records[len(fp.Records)-1].Offset+1, fp.Next)
				default:
					next[k] = max(fp.From, fp.Next)
				}
			}
		}
	}
}

// lastOffset is the offset of an acknowledged produce's last record.
func lastOffset(op *Op) core.Offset { return op.Offset + core.Offset(len(op.Values)) - 1 }
