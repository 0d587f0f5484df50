package sim

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"path"
	"strconv"

	"cloudkafka/core"
)

// rawBatch is one batch of a replica's log as its segment files hold it.
type rawBatch struct {
	base, last core.Offset
	data       []byte
}

// replicaBatches reads partition part of the workload topic from the
// node's written image: its segments' whole batches, in order, that end
// below end.
func (n *node) replicaBatches(part int32, end core.Offset) []rawBatch {
	var out []rawBatch
	for _, sn := range n.segmentNames(part, false) {
		data := n.fs.WrittenData(sn.name)
		for pos := 0; pos+core.BatchHeaderSize <= len(data); {
			h, err := core.ParseBatchHeader(data[pos:])
			if err != nil || pos+h.Size() > len(data) {
				break
			}
			if h.LastOffset() < end {
				out = append(out, rawBatch{h.BaseOffset, h.LastOffset(), data[pos : pos+h.Size()]})
			}
			pos += h.Size()
		}
	}
	return out
}

// checkReplicas: once a replicated run has healed, the in-sync replicas
// of each workload partition (its last state znode's ISR) hold the same
// batches, byte for byte, below the highest high watermark a reader saw
// there: what was committed is what every in-sync replica has, however
// leaders changed and logs were repaired (replica-diverged). Retention
// runs on each replica's own clock, so only the offsets both logs still
// hold are compared.
func (w *world) checkReplicas() {
	if w.rf <= 1 || w.ens == nil || !w.converged {
		return
	}
	hwm := map[int32]core.Offset{}
	for _, op := range w.hist.Ops {
		for _, f := range op.Fetches {
			if f.ErrorCode == 0 && f.HighWatermark > hwm[f.Partition] {
				hwm[f.Partition] = f.HighWatermark
			}
		}
	}
	for part := int32(0); part < w.partitions; part++ {
		st, ok := w.states[fmt.Sprintf("/brokers/topics/%s/partitions/%d/state", w.topic, part)]
		if !ok || st.Leader < 0 || hwm[part] == 0 {
			continue
		}
		var ref []rawBatch
		refID := int32(-1)
		for _, id := range st.ISR {
			if int(id) >= len(w.nodes) || !w.nodes[id].up {
				continue
			}
			bs := w.nodes[id].replicaBatches(part, hwm[part])
			if refID < 0 {
				ref, refID = bs, id
				continue
			}
			dir := path.Join(dataDir, w.topic+"-"+strconv.Itoa(int(part)))
			if msg := diverged(ref, bs, w.nodes[refID].epochFlipped[dir] || w.nodes[id].epochFlipped[dir]); msg != "" {
				w.failf("replica-diverged", "%s-%d below high watermark %d: broker %d and broker %d differ: %s (%s)",
					w.topic, part, hwm[part], refID, id, msg, dir)
			}
		}
	}
}

// diverged compares two replicas' batches over the offsets both hold
// ("" if they agree); anyEpoch leaves the partition leader epoch field
// out (a fault damaged it in one of them).
func diverged(a, b []rawBatch, anyEpoch bool) string {
	if len(a) == 0 || len(b) == 0 {
		return ""
	}
	from := max(a[0].base, b[0].base)
	at := func(bs []rawBatch) map[core.Offset]rawBatch {
		m := map[core.Offset]rawBatch{}
		for _, x := range bs {
			if x.base >= from {
				m[x.base] = x
			}
		}
		return m
	}
	am, bm := at(a), at(b)
	for _, x := range a {
		if x.base < from {
			continue
		}
		y, ok := bm[x.base]
		switch {
		case !ok:
			return fmt.Sprintf("the batch at %d-%d of the first is not in the second", x.base, x.last)
		case !sameBatch(x.data, y.data, anyEpoch):
			i := 0
			for i < min(len(x.data), len(y.data)) && x.data[i] == y.data[i] {
				i++
			}
			return fmt.Sprintf("the batches at %d differ (%d-%d and %d-%d, %d and %d bytes, from byte %d; leader epochs %d and %d)", x.base, x.base, x.last, y.base, y.last, len(x.data), len(y.data), i,
				int32(binary.BigEndian.Uint32(x.data[12:])), int32(binary.BigEndian.Uint32(y.data[12:])))
		}
	}
	for _, y := range b {
		if _, ok := am[y.base]; y.base >= from && !ok {
			return fmt.Sprintf("the batch at %d-%d of the second is not in the first", y.base, y.last)
		}
	}
	return ""
}

func sameBatch(x, y []byte, anyEpoch bool) bool {
	if !anyEpoch || len(x) != len(y) || len(x) < 16 {
		return bytes.Equal(x, y)
	}
	return bytes.Equal(x[:12], y[:12]) && bytes.Equal(x[16:], y[16:])
}
