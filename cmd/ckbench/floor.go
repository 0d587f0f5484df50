package main

import (
	"fmt"
	"os"
	"runtime"
	"syscall"
	"time"
)

// The page-cache floor: what the machine's kernel spends writing fresh
// data into the page cache of the broker's file system, in CPU-seconds
// per GB, measured in the same run as the broker. Every produced byte
// is written once by the broker, so half of it (the tables count a GB
// produced and consumed as two) is a floor under the broker's CPU-s/GB
// that no broker writing its log through the page cache goes below. On
// a virtual machine it is mostly the first touch of guest memory, which
// varies from run to run; it is reported beside the broker's figure.

// floorChunkBytes is the size of each write of the floor measurement:
// larger than any batch the broker appends, so that system call costs
// do not count.
const floorChunkBytes = 1 << 20

// pageCacheWriteCost writes n bytes, in floorChunkBytes writes, to a new
// file in dir, and returns the CPU-seconds per GB the writing thread
// spent (user and system), from getrusage(RUSAGE_THREAD). The file is
// removed after.
func pageCacheWriteCost(dir string, n int64) (float64, error) {
	f, err := os.CreateTemp(dir, "ckbench-floor-")
	if err != nil {
		return 0, err
	}
	defer os.Remove(f.Name())
	defer f.Close()
	buf := make([]byte, floorChunkBytes)
	for i := range buf {
		buf[i] = byte(i * 131) // not zeros: nothing may shortcut them
	}
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	before, err := threadCPU()
	if err != nil {
		return 0, err
	}
	for off := int64(0); off < n; off += floorChunkBytes {
		if _, err := f.WriteAt(buf, off); err != nil {
			return 0, err
		}
	}
	after, err := threadCPU()
	if err != nil {
		return 0, err
	}
	return (after - before).Seconds() / (float64(n) / 1e9), nil
}

// threadCPU is the calling thread's CPU time, user and system.
func threadCPU() (time.Duration, error) {
	var ru syscall.Rusage
	if err := syscall.Getrusage(1 /* RUSAGE_THREAD */, &ru); err != nil {
		return 0, fmt.Errorf("getrusage: %w", err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano()), nil
}

// floorNote is the sentence on the page-cache floor next to the broker's
// CPU-s/GB rows.
func floorNote(cpuPerGB []float64, bytes int64) []string {
	if len(cpuPerGB) == 0 {
		return nil
	}
	m := median(cpuPerGB)
	return []string{fmt.Sprintf("page-cache floor: writing %d MiB of fresh data into the log file system costs the kernel %.2f CPU-s/GB (median of %d measurements between the cells); a broker writing each produced byte once spends at least half that per GB moved: %.2f of the CPU-s/GB column",
		bytes>>20, m, len(cpuPerGB), m/2)}
}
