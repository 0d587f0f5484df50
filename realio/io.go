package realio

import (
	"sync"

	"cloudkafka/io/driver"
)

// ioQueue holds the IO work the driver handed out and not yet taken by
// a worker. The driver keeps at most one work per partition in flight,
// so the queue is bounded by the partitions hosted; push never blocks
// the loop.
type ioQueue struct {
	mu      sync.Mutex
	cond    *sync.Cond
	work    []func() driver.Finished
	stopped bool
	// late is the outcome of work finished after the loop stopped,
	// which Shutdown settles with the driver before closing the logs.
	late []driver.Finished
}

// push queues work for the next free worker (driver.Driver.IO).
func (q *ioQueue) push(work func() driver.Finished) {
	q.mu.Lock()
	q.work = append(q.work, work)
	q.mu.Unlock()
	q.cond.Signal()
}

// pop waits for work; false once the queue is stopped.
func (q *ioQueue) pop() (func() driver.Finished, bool) {
	q.mu.Lock()
	defer q.mu.Unlock()
	for len(q.work) == 0 && !q.stopped {
		q.cond.Wait()
	}
	if q.stopped {
		return nil, false
	}
	w := q.work[0]
	q.work[0] = nil
	q.work = q.work[1:]
	return w, true
}

// stop makes the workers finish after the work they are doing; queued
// work is dropped (its effects were never acknowledged).
func (q *ioQueue) stop() {
	q.mu.Lock()
	q.stopped = true
	q.mu.Unlock()
	q.cond.Broadcast()
}

// startIO starts n IO workers (num.io.threads). Each runs one
// partition's work at a time and posts its outcome to the loop.
func (s *Server) startIO(n int) {
	s.io.cond = sync.NewCond(&s.io.mu)
	for range n {
		s.bg.Add(1)
		go s.ioWorker()
	}
}

func (s *Server) ioWorker() {
	defer s.bg.Done()
	for {
		work, ok := s.io.pop()
		if !ok {
			return
		}
		f := work()
		if hold := s.afterBackground.Load(); hold != nil {
			(*hold)(f)
		}
		select {
		case s.finished <- f:
		case <-s.quit:
			s.io.mu.Lock()
			s.io.late = append(s.io.late, f)
			s.io.mu.Unlock()
		}
	}
}

// settleIO hands the driver the outcome of work that finished after the
// loop stopped; the workers must have exited.
func (s *Server) settleIO() {
	for _, f := range s.io.late {
		s.driver.Settle(f)
	}
	s.io.late = nil
}
