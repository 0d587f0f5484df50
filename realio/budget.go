package realio

import "sync"

// requestBudget bounds the bytes of the requests read and not yet
// answered, over all connections (queued.max.request.bytes), as Kafka's
// network memory pool does: a reader waits before reading a request
// while the budget is spent, and, the pool not being strict, a request is
// admitted while any room is left, even if it takes the total past the
// bound. A bound <= 0 admits everything.
type requestBudget struct {
	mu      sync.Mutex
	cond    *sync.Cond
	max     int64
	used    int64
	stopped bool
}

func newRequestBudget(max int64) *requestBudget {
	b := &requestBudget{max: max}
	b.cond = sync.NewCond(&b.mu)
	return b
}

// acquire takes n bytes, waiting while the budget is spent; false once
// the server is stopping.
func (b *requestBudget) acquire(n int64) bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	for b.max > 0 && b.used >= b.max && !b.stopped {
		b.cond.Wait()
	}
	if b.stopped {
		return false
	}
	b.used += n
	return true
}

// release gives back n bytes acquired before.
func (b *requestBudget) release(n int64) {
	if n == 0 {
		return
	}
	b.mu.Lock()
	b.used -= n
	if b.used < 0 {
		panic("realio: request budget released more than acquired")
	}
	b.mu.Unlock()
	b.cond.Broadcast()
}

// inUse is the bytes acquired and not released.
func (b *requestBudget) inUse() int64 {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.used
}

// stop wakes every waiting reader for good.
func (b *requestBudget) stop() {
	b.mu.Lock()
	b.stopped = true
	b.mu.Unlock()
	b.cond.Broadcast()
}
