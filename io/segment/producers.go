package segment

import (
	"cmp"
	"math"
	"slices"

	"cloudkafka/core"
)

// producerState is the idempotence window per producer, rebuilt from batch
// headers: for each producer id, its last ProducerWindow batches of its
// current epoch, in offset order. Bound: one entry per producer id with a
// batch in the log, each holding at most ProducerWindow batches.
type producerState struct {
	windows map[core.ProducerID]*window
}

type window struct {
	epoch   int16
	batches []core.ProducerBatch // offset order, len <= ProducerWindow
}

// note records batch h if it is an idempotent data batch. A new producer
// epoch starts a new window, as Kafka clears the batch metadata then.
func (p *producerState) note(h core.BatchHeader) {
	if h.ProducerID < 0 || h.BaseSequence < 0 || h.Attributes&core.AttrControl != 0 {
		return
	}
	if p.windows == nil {
		p.windows = map[core.ProducerID]*window{}
	}
	w := p.windows[h.ProducerID]
	if w == nil || w.epoch != h.ProducerEpoch {
		w = &window{epoch: h.ProducerEpoch}
		p.windows[h.ProducerID] = w
	}
	if len(w.batches) == ProducerWindow {
		w.batches = slices.Delete(w.batches, 0, 1)
	}
	w.batches = append(w.batches, core.ProducerBatch{
		ProducerID:    h.ProducerID,
		ProducerEpoch: h.ProducerEpoch,
		FirstSeq:      h.BaseSequence,
		LastSeq:       incrementSequence(h.BaseSequence, h.LastOffsetDelta),
		BaseOffset:    h.BaseOffset,
		LastOffset:    h.LastOffset(),
		Timestamp:     h.MaxTimestamp,
	})
}

// incrementSequence adds d to a sequence number, wrapping past MaxInt32 to
// 0 as Kafka's DefaultRecordBatch.incrementSequence does.
func incrementSequence(seq, d int32) int32 {
	if seq > math.MaxInt32-d {
		return d - (math.MaxInt32 - seq) - 1
	}
	return seq + d
}

// truncateHead forgets batches below the log start offset, so that the
// state equals what recovery would rebuild from the remaining segments.
func (p *producerState) truncateHead(start core.Offset) {
	// order-independent: trims each window independently
	for id, w := range p.windows {
		w.batches = slices.DeleteFunc(w.batches, func(b core.ProducerBatch) bool { return b.BaseOffset < start })
		if len(w.batches) == 0 {
			delete(p.windows, id)
		}
	}
}

// list returns every remembered batch, ordered by base offset.
func (p *producerState) list() []core.ProducerBatch {
	var out []core.ProducerBatch
	// order-independent: collected, then sorted
	for _, w := range p.windows {
		out = append(out, w.batches...)
	}
	slices.SortFunc(out, func(a, b core.ProducerBatch) int { return cmp.Compare(a.BaseOffset, b.BaseOffset) })
	return out
}
