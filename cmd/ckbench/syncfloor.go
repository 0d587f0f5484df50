package main

import (
	"fmt"
	"os"
	"slices"
	"sync"
	"syscall"
	"time"
)

// syncFloorMax bounds the ideal group commit's run in each half-load
// round.
const syncFloorMax = 5 * time.Second

// syncFloor is what the disk alone makes of the half-load cell's
// durable appends: records of size bytes fall due at rate records/s,
// taking turns over partitions files in dir, and one writer per file, as
// a broker's IO worker with group commit, writes every record due for its
// file at once, fdatasyncs, and starts again. It returns the p99 of a
// record's time from falling due to the end of the sync that covered it:
// what a broker without any cost of its own (no network, no requests, no
// encoding) would add to a produce's latency at that pace. It runs for
// at most d.
func syncFloor(dir string, partitions, size int, rate float64, d time.Duration) (time.Duration, error) {
	if partitions < 1 || size < 1 || rate <= 0 {
		return 0, fmt.Errorf("sync floor: %d partitions of %d-byte records at %.0f/s", partitions, size, rate)
	}
	start := time.Now()
	interval := time.Duration(float64(time.Second) / rate) // between records, over all partitions
	per := time.Duration(partitions) * interval            // between one partition's records
	var (
		mu   sync.Mutex
		lat  []time.Duration
		ferr error
		wg   sync.WaitGroup
	)
	for p := range partitions {
		f, err := os.CreateTemp(dir, "ckbench-syncfloor-")
		if err != nil {
			return 0, err
		}
		defer os.Remove(f.Name())
		defer f.Close()
		wg.Add(1)
		go func(first time.Time) {
			defer wg.Done()
			var mine []time.Duration
			buf, zeros := make([]byte, 0, 1<<20), make([]byte, size)
			next := first // the due time of the partition's next record
			for next.Sub(start) < d {
				if wait := time.Until(next); wait > 0 {
					time.Sleep(wait)
				}
				now := time.Now()
				var due []time.Time
				for !next.After(now) && next.Sub(start) < d {
					due = append(due, next)
					next = next.Add(per)
				}
				buf = buf[:0]
				for range due {
					buf = append(buf, zeros...)
				}
				if _, err := f.Write(buf); err != nil {
					mu.Lock()
					ferr = err
					mu.Unlock()
					return
				}
				if err := syscall.Fdatasync(int(f.Fd())); err != nil {
					mu.Lock()
					ferr = err
					mu.Unlock()
					return
				}
				done := time.Now()
				for _, t := range due {
					mine = append(mine, done.Sub(t))
				}
			}
			mu.Lock()
			lat = append(lat, mine...)
			mu.Unlock()
		}(start.Add(time.Duration(p) * interval))
	}
	wg.Wait()
	if ferr != nil {
		return 0, ferr
	}
	if len(lat) == 0 {
		return 0, fmt.Errorf("sync floor: no record fell due in %v", d)
	}
	slices.Sort(lat)
	return lat[min(len(lat)-1, len(lat)*99/100)], nil
}
