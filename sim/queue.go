package sim

import (
	"container/heap"

	"cloudkafka/core"
)

// event is one scheduled action of the world. Events run in (at, seq)
// order: seq breaks ties in scheduling order, so equal instants never
// depend on heap internals.
type event struct {
	at  core.Instant
	seq uint64
	fn  func()
}

type eventQueue []event

func (q eventQueue) Len() int { return len(q) }
func (q eventQueue) Less(i, j int) bool {
	if q[i].at != q[j].at {
		return q[i].at < q[j].at
	}
	return q[i].seq < q[j].seq
}
func (q eventQueue) Swap(i, j int) { q[i], q[j] = q[j], q[i] }
func (q *eventQueue) Push(x any)   { *q = append(*q, x.(event)) }
func (q *eventQueue) Pop() any {
	old := *q
	e := old[len(old)-1]
	old[len(old)-1] = event{}
	*q = old[:len(old)-1]
	return e
}

// schedule runs fn at instant at (never before now).
func (w *world) schedule(at core.Instant, fn func()) {
	if at < w.now {
		at = w.now
	}
	w.seq++
	heap.Push(&w.queue, event{at: at, seq: w.seq, fn: fn})
}

// after runs fn d nanoseconds from now.
func (w *world) after(d core.Instant, fn func()) { w.schedule(w.now+d, fn) }

func (w *world) next() (event, bool) {
	if len(w.queue) == 0 {
		return event{}, false
	}
	return heap.Pop(&w.queue).(event), true
}
