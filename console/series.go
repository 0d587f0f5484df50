package console

import (
	"net/http"
	"sync"
	"time"
)

// Sample is the broker's own counters at one moment, for the charts:
// per topic, the bytes and records produced to it and the bytes fetched
// from it since the broker started; per group, its total lag.
type Sample struct {
	Topics map[string]TopicCounters
	Lag    map[string]int64
}

// TopicCounters are one topic's running totals.
type TopicCounters struct {
	BytesIn, BytesOut, MessagesIn uint64
}

// seriesLen is how many samples the console keeps (ten minutes at the
// default interval).
const seriesLen = 120

// series keeps the last samples, with their times.
type series struct {
	every time.Duration

	mu      sync.Mutex
	samples []timedSample // oldest first
}

type timedSample struct {
	t time.Time
	s Sample
}

func newSeries(every time.Duration) *series { return &series{every: every} }

func (s *series) add(t time.Time, smp Sample) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.samples = append(s.samples, timedSample{t, smp})
	if len(s.samples) > seriesLen {
		s.samples = append(s.samples[:0], s.samples[len(s.samples)-seriesLen:]...)
	}
}

// sampleLoop samples the counters every interval until Close.
func (c *Console) sampleLoop() {
	defer close(c.done)
	if c.opts.Sample == nil {
		<-c.stop
		return
	}
	tick := time.NewTicker(c.opts.SampleEvery)
	defer tick.Stop()
	take := func() {
		if smp, err := c.opts.Sample(); err == nil {
			c.series.add(time.Now(), smp)
		}
	}
	take()
	for {
		select {
		case <-c.stop:
			return
		case <-tick.C:
			take()
		}
	}
}

type throughputPoint struct {
	T          int64   `json:"t"`
	BytesIn    float64 `json:"bytesIn"`
	BytesOut   float64 `json:"bytesOut"`
	MessagesIn float64 `json:"messagesIn"`
}

type lagPoint struct {
	T   int64 `json:"t"`
	Lag int64 `json:"lag"`
}

// handleSeries answers the charts' data: throughput per second between
// consecutive samples (one topic's, or all topics'), and one group's
// total lag at each sample. A counter that went down (the broker
// restarted) starts again from zero.
func (c *Console) handleSeries(w http.ResponseWriter, r *http.Request, _ *session) {
	topic, group := r.URL.Query().Get("topic"), r.URL.Query().Get("group")
	c.series.mu.Lock()
	samples := append([]timedSample(nil), c.series.samples...)
	c.series.mu.Unlock()
	sum := func(smp Sample) TopicCounters {
		if topic != "" {
			return smp.Topics[topic]
		}
		var t TopicCounters
		for _, tc := range smp.Topics {
			t.BytesIn += tc.BytesIn
			t.BytesOut += tc.BytesOut
			t.MessagesIn += tc.MessagesIn
		}
		return t
	}
	delta := func(now, before uint64) float64 {
		if now < before {
			return float64(now)
		}
		return float64(now - before)
	}
	doc := struct {
		IntervalMs int64             `json:"intervalMs"`
		Throughput []throughputPoint `json:"throughput"`
		Lag        []lagPoint        `json:"lag"`
	}{IntervalMs: c.opts.SampleEvery.Milliseconds(), Throughput: []throughputPoint{}, Lag: []lagPoint{}}
	for i := 1; i < len(samples); i++ {
		secs := samples[i].t.Sub(samples[i-1].t).Seconds()
		if secs <= 0 {
			continue
		}
		now, before := sum(samples[i].s), sum(samples[i-1].s)
		doc.Throughput = append(doc.Throughput, throughputPoint{T: samples[i].t.UnixMilli(),
			BytesIn: delta(now.BytesIn, before.BytesIn) / secs, BytesOut: delta(now.BytesOut, before.BytesOut) / secs,
			MessagesIn: delta(now.MessagesIn, before.MessagesIn) / secs})
	}
	if group != "" {
		for _, smp := range samples {
			if lag, ok := smp.s.Lag[group]; ok {
				doc.Lag = append(doc.Lag, lagPoint{T: smp.t.UnixMilli(), Lag: lag})
			}
		}
	}
	reply(w, http.StatusOK, doc)
}
