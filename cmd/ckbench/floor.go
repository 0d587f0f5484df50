package main

import (
	"fmt"
	"io"
	"net"
	"os"
	"runtime"
	"syscall"
	"time"
)

// The kernel floor: what the machine's kernel spends moving the bytes a
// broker moves, in CPU-seconds per GB, measured in the same run as the
// broker. Every produced byte is received from a socket, written once
// into the page cache of the broker's file system, and sent once to its
// consumer; the tables count a GB produced and consumed as two GB moved,
// so half the sum of the three costs is a floor under the broker's
// CPU-s/GB that no broker keeping its log in files and serving it over
// TCP goes below on this machine. Each part is measured on one thread
// of ckbench's own, the best case for it: 1 MiB writes and reads, and
// sendfile of a whole file whose pages are cached. The page-cache write
// is mostly, on a virtual machine, the first touch of guest memory,
// which varies from run to run.

// floorChunkBytes is the size of each write and read of the floor
// measurement: larger than any batch the broker appends, so that system
// call costs do not count.
const floorChunkBytes = 1 << 20

// sendfileFileBytes bounds the file the sendfile measurement sends over
// and over.
const sendfileFileBytes = 64 << 20

// kernelFloor holds the floor's measurements, CPU-s/GB each, one of each
// part after each cloudkafka run.
type kernelFloor struct {
	write    []float64 // fresh data into the log file system's page cache
	receive  []float64 // from a loopback TCP socket into memory
	sendfile []float64 // cached file pages to a loopback TCP socket
}

// measure adds one measurement of each part, n bytes each, with the
// files in dir.
func (f *kernelFloor) measure(dir string, n int64) error {
	w, err := pageCacheWriteCost(dir, n)
	if err != nil {
		return fmt.Errorf("page-cache write in %s: %w", dir, err)
	}
	r, err := loopbackReceiveCost(n)
	if err != nil {
		return fmt.Errorf("loopback receive: %w", err)
	}
	s, err := sendfileCost(dir, n)
	if err != nil {
		return fmt.Errorf("sendfile from %s: %w", dir, err)
	}
	f.write, f.receive, f.sendfile = append(f.write, w), append(f.receive, r), append(f.sendfile, s)
	return nil
}

// perGBMoved is the floor under the broker's CPU-s/GB column: half the
// sum of the parts' medians; 0 without measurements.
func (f kernelFloor) perGBMoved() float64 {
	if len(f.write) == 0 {
		return 0
	}
	return (median(f.write) + median(f.receive) + median(f.sendfile)) / 2
}

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
	buf := floorChunk()
	return threadCost(n, func() error {
		for off := int64(0); off < n; off += floorChunkBytes {
			if _, err := f.WriteAt(buf, off); err != nil {
				return err
			}
		}
		return nil
	})
}

// loopbackReceiveCost reads n bytes from a loopback TCP connection, in
// floorChunkBytes reads, that another goroutine writes, and returns the
// reading thread's CPU-seconds per GB.
func loopbackReceiveCost(n int64) (float64, error) {
	w, r, err := loopbackPair()
	if err != nil {
		return 0, err
	}
	written := make(chan error, 1)
	go func() {
		defer w.Close()
		buf := floorChunk()
		for sent := int64(0); sent < n; sent += floorChunkBytes {
			if _, err := w.Write(buf[:min(floorChunkBytes, n-sent)]); err != nil {
				written <- err
				return
			}
		}
		written <- nil
	}()
	buf := make([]byte, floorChunkBytes)
	cost, err := threadCost(n, func() error {
		var err error
		for got := int64(0); got < n && err == nil; {
			var k int
			k, err = r.Read(buf)
			got += int64(k)
		}
		return err
	})
	r.Close() // ends the writer's writes if the reads stopped early
	if werr := <-written; err == nil {
		err = werr
	}
	return cost, err
}

// sendfileCost writes a file of min(n, sendfileFileBytes) bytes in dir
// (not counted), then sends it with sendfile to a loopback TCP
// connection, over and over, n bytes in all, that another goroutine reads
// and discards, and returns the sending thread's CPU-seconds per GB. The
// file is removed after.
func sendfileCost(dir string, n int64) (float64, error) {
	f, err := os.CreateTemp(dir, "ckbench-floor-")
	if err != nil {
		return 0, err
	}
	defer os.Remove(f.Name())
	defer f.Close()
	size := min(n, sendfileFileBytes)
	buf := floorChunk()
	for off := int64(0); off < size; off += floorChunkBytes {
		if _, err := f.WriteAt(buf[:min(floorChunkBytes, size-off)], off); err != nil {
			return 0, err
		}
	}
	w, r, err := loopbackPair()
	if err != nil {
		return 0, err
	}
	read := make(chan error, 1)
	go func() {
		defer r.Close()
		got, err := io.Copy(io.Discard, r)
		if err == nil && got != n {
			err = fmt.Errorf("the reader got %d bytes; want %d", got, n)
		}
		read <- err
	}()
	cost, err := threadCost(n, func() error {
		for sent := int64(0); sent < n; {
			// TCPConn.ReadFrom sends an *os.File's pages with
			// sendfile, also through an io.LimitedReader.
			if _, err := f.Seek(0, io.SeekStart); err != nil {
				return err
			}
			k, err := w.ReadFrom(&io.LimitedReader{R: f, N: min(size, n-sent)})
			if err != nil {
				return err
			}
			sent += k
		}
		return nil
	})
	w.Close()
	if rerr := <-read; err == nil {
		err = rerr
	}
	return cost, err
}

// loopbackPair is both ends of a new TCP connection on 127.0.0.1.
func loopbackPair() (w, r *net.TCPConn, err error) {
	ln, err := net.ListenTCP("tcp", &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		return nil, nil, err
	}
	defer ln.Close()
	accepted := make(chan *net.TCPConn, 1)
	go func() {
		c, _ := ln.AcceptTCP() // nil on error: Dial fails too, or the check below does
		accepted <- c
	}()
	w, err = net.DialTCP("tcp", nil, ln.Addr().(*net.TCPAddr))
	if err != nil {
		return nil, nil, err
	}
	if r = <-accepted; r == nil {
		w.Close()
		return nil, nil, fmt.Errorf("accepting the loopback connection failed")
	}
	return w, r, nil
}

// floorChunk is floorChunkBytes of data that is not zeros, so that
// nothing may shortcut it.
func floorChunk() []byte {
	buf := make([]byte, floorChunkBytes)
	for i := range buf {
		buf[i] = byte(i * 131)
	}
	return buf
}

// threadCost runs work on one locked thread and returns that thread's
// CPU-seconds (user and system) per GB of n bytes.
func threadCost(n int64, work func() error) (float64, error) {
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	before, err := threadCPU()
	if err != nil {
		return 0, err
	}
	if err := work(); err != nil {
		return 0, err
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

// floorNote is the sentence on the kernel floor next to the broker's
// CPU-s/GB rows.
func floorNote(f kernelFloor, bytes int64) []string {
	if len(f.write) == 0 {
		return nil
	}
	return []string{fmt.Sprintf("kernel floor (%d MiB a part, measured after each cloudkafka run, medians of %d): writing fresh data into the log file system costs the kernel %.2f CPU-s/GB, receiving from a loopback socket %.2f, sendfile to a loopback socket %.2f; a broker receiving each produced byte, writing it once and sending it once spends at least half their sum per GB moved: %.2f of the CPU-s/GB column",
		bytes>>20, len(f.write), median(f.write), median(f.receive), median(f.sendfile), f.perGBMoved())}
}
