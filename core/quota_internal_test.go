package core

import (
	"fmt"
	"math"
	"testing"
)

// The byte rate of quota.go against Kafka's Rate over a SampledStat
// (clients/src/main/java/org/apache/kafka/common/metrics/stats), on the
// worked examples of Kafka's RateTest and SampledStatTest: the window a
// rate is measured over, when a sample ends, and when one is forgotten.
// Times are milliseconds from an arbitrary start, as in Kafka's tests.

// QuotaSensorsForTest is how many rates the broker tracks.
func (b *Broker) QuotaSensorsForTest() int { return len(b.quota.sensors) }

// rateClock turns Kafka's test milliseconds into instants.
type rateClock struct{ base Instant }

func (c rateClock) at(ms int64) Instant { return c.base + Instant(ms)*1e6 }

var quotaTestClock = rateClock{base: 1e12}

func windowOf(samples int, sizeSeconds int64) quotaWindow {
	return quotaWindow{samples: samples, size: Instant(sizeSeconds) * 1e9}
}

// wantRate checks s's rate at ms against want bytes per second measured
// over windowMs.
func wantRate(t *testing.T, name string, s *rateSensor, w quotaWindow, ms int64, want float64, windowMs int64) {
	t.Helper()
	rate, window := s.rate(w, quotaTestClock.at(ms))
	if math.Abs(rate-want) > 1e-9 || window != Instant(windowMs)*1e6 {
		t.Errorf("%s: at %d ms got %.9f/s over %d ms; want %.9f/s over %d ms", name, ms, rate, window/1e6, want, windowMs)
	}
}

// TestQuotaRateWithNoPriorSamples is RateTest's
// testRateWithNoPriorAvailableSamples: before samples-1 windows have
// passed, the rate is taken over samples-1 whole windows plus the part
// of the current one that passed.
func TestQuotaRateWithNoPriorSamples(t *testing.T) {
	for _, tt := range []struct {
		samples     int
		sizeSeconds int64
	}{{1, 1}, {1, 11}, {11, 1}, {11, 11}} {
		w := windowOf(tt.samples, tt.sizeSeconds)
		s := &rateSensor{}
		s.record(w, 50, quotaTestClock.at(0))
		measured := tt.sizeSeconds*1000 - 1 // almost the end of the first window
		windowMs := measured + int64(tt.samples-1)*tt.sizeSeconds*1000
		name := fmt.Sprintf("%d samples of %d s", tt.samples, tt.sizeSeconds)
		wantRate(t, name, s, w, measured, 50/(float64(windowMs)/1000), windowMs)
	}
}

// TestQuotaRateAtItsFirstRecord: a rate measured at the instant of its
// only record is over samples-1 windows; with a single sample, over the
// 1 ms Kafka takes as the least window.
func TestQuotaRateAtItsFirstRecord(t *testing.T) {
	for _, tt := range []struct {
		samples  int
		windowMs int64
	}{{11, 10000}, {2, 1000}, {1, 1}} {
		w := windowOf(tt.samples, 1)
		s := &rateSensor{}
		s.record(w, 500, quotaTestClock.at(0))
		wantRate(t, fmt.Sprintf("%d samples", tt.samples), s, w, 0, 500/(float64(tt.windowMs)/1000), tt.windowMs)
	}
}

// TestQuotaSampleRollover: a sample takes the records of one window size
// from its first record (999 ms later still counts in it), and the next
// record starts another. Two samples of 1 s; records at 0, 999 and
// 1000 ms. At 2999 ms the first sample is the whole window (2 s) old
// and is forgotten with both its records; the second sample is kept.
func TestQuotaSampleRollover(t *testing.T) {
	w := windowOf(2, 1)
	s := &rateSensor{}
	for _, ms := range []int64{0, 999, 1000} {
		s.record(w, 1, quotaTestClock.at(ms))
	}
	wantRate(t, "both samples", s, w, 1000, 3.0/1.0, 1000)
	// One record left (1000 ms) over 1999 ms: had 999 started a sample of
	// its own it would be kept (2 records); had 1000 not started one, the
	// first sample would be kept with all three.
	wantRate(t, "first sample forgotten", s, w, 2999, 1/1.999, 1999)
}

// TestQuotaSampleExpiry is SampledStatTest's three cases, measured as
// rates: a sample is forgotten once its last record is the whole window
// (samples × size) old, not before, even if it began earlier; one more
// sample than quota.window.num is kept for the one that overlaps the
// window's start.
func TestQuotaSampleExpiry(t *testing.T) {
	w := windowOf(2, 1)
	// completeSample records at the start and the end of a sample, as
	// the Kafka test's does, and returns the time just after it.
	completeSample := func(s *rateSensor, ms int64) int64 {
		s.record(w, 1, quotaTestClock.at(ms))
		s.record(w, 1, quotaTestClock.at(ms+999))
		return ms + 1000
	}

	t.Run("purged if it does not overlap the window", func(t *testing.T) {
		s := &rateSensor{}
		end := completeSample(s, 0)
		wantRate(t, "2.5 s after", s, w, end+2500, 0, 1000)
	})
	t.Run("kept if it overlaps the window", func(t *testing.T) {
		s := &rateSensor{}
		end := completeSample(s, 0)
		// Its last record (999 ms) is 1501 ms old: both records count,
		// over the 2500 ms since the sample began.
		wantRate(t, "1.5 s after", s, w, end+1500, 2/2.5, 2500)
	})
	t.Run("kept if it overlaps the window and is the n+1th", func(t *testing.T) {
		s := &rateSensor{}
		end := completeSample(s, 0)
		end = completeSample(s, end+100)
		s.record(w, 1, quotaTestClock.at(end+100))
		// Three samples of two samples' window: 5 records over the
		// 2200 ms since the first began.
		wantRate(t, "third sample", s, w, end+100, 5/2.2, 2200)
	})
	t.Run("eleven samples of 1 s", func(t *testing.T) {
		w := windowOf(11, 1)
		s := &rateSensor{}
		s.record(w, 100, quotaTestClock.at(0))
		wantRate(t, "10999 ms after", s, w, 10999, 100/10.999, 10999)
		wantRate(t, "11000 ms after", s, w, 11000, 0, 10000)
	})
}

// TestQuotaRateConsistentAfterTheFirstWindow is RateTest's
// testRateIsConsistentAfterTheFirstWindow: an event every 100 ms or so
// is a rate of 10 to 11 a second at every record of the second window,
// also when a sample partly overlaps the window measured, and measuring
// twice at one instant gives the same rate.
func TestQuotaRateConsistentAfterTheFirstWindow(t *testing.T) {
	w := windowOf(2, 1)
	s := &rateSensor{}
	steps := []int64{0, 99, 100, 100, 100, 100, 100, 100, 100, 100, 100}
	ms := int64(0)
	for _, step := range steps {
		ms += step
		s.record(w, 1, quotaTestClock.at(ms))
	}
	ms += 101 // a gap between the windows
	for _, step := range steps {
		ms += step
		s.record(w, 1, quotaTestClock.at(ms))
		rate, _ := s.rate(w, quotaTestClock.at(ms))
		if rate < 10 || rate > 11 {
			t.Errorf("at %d ms: got %.3f/s; want 10 to 11", ms, rate)
		}
		if again, _ := s.rate(w, quotaTestClock.at(ms)); again != rate {
			t.Errorf("at %d ms measured again: got %.6f/s; want %.6f/s", ms, again, rate)
		}
	}
}

// TestQuotaUnrecord: a negative record (a throttled fetch's bytes taken
// back) lowers the sample it lands in, as Kafka's unrecordQuotaSensor.
func TestQuotaUnrecord(t *testing.T) {
	w := windowOf(11, 1)
	s := &rateSensor{}
	s.record(w, 400, quotaTestClock.at(0))
	s.record(w, 2300, quotaTestClock.at(500))
	s.record(w, -2300, quotaTestClock.at(500))
	wantRate(t, "after the unrecord", s, w, 500, 400/10.5, 10500)
}
