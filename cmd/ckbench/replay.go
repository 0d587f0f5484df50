package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// benchReplay measures what replaying __consumer_offsets costs at start:
// it commits offsets for n groups (three partitions each), stops the
// broker with SIGTERM, and times a restart from the process's start until
// ListGroups answers without COORDINATOR_LOAD_IN_PROGRESS and lists every
// group. The same restart of a broker with no groups is the baseline, and
// reading the offsets topic's files once (the page cache warm, as for the
// replay) is the machine's limit the replay rate is compared with.
func benchReplay(ctx context.Context, o options, n int) error {
	dir, err := os.MkdirTemp("", "ckbench-replay-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	bin, err := brokerBinary(ctx, o, dir)
	if err != nil {
		return err
	}
	data, empty := filepath.Join(dir, "data"), filepath.Join(dir, "empty")

	addr, stop, _, err := startReplayBroker(ctx, bin, data, dir)
	if err != nil {
		return err
	}
	if err := commitGroups(ctx, addr, n); err != nil {
		stop()
		return err
	}
	stop()

	withGroups, err := timeRestart(ctx, bin, data, dir, n)
	if err != nil {
		return err
	}
	baseline, err := timeRestart(ctx, bin, empty, dir, 0)
	if err != nil {
		return err
	}
	start := time.Now()
	bytes, err := readTree(data, "__consumer_offsets-")
	if err != nil {
		return err
	}
	readRate := float64(bytes) / time.Since(start).Seconds()
	cost := withGroups - baseline
	fmt.Printf("\n__consumer_offsets replay: %d groups, %d offsets, %.1f MB of records\n", n, 3*n, float64(bytes)/1e6)
	fmt.Printf("  start until every group is served: %v with the groups, %v with none; replay cost %v (%.1f µs a group)\n",
		withGroups.Round(time.Millisecond), baseline.Round(time.Millisecond), cost.Round(time.Millisecond),
		float64(cost.Microseconds())/float64(n))
	if cost > 0 {
		replayRate := float64(bytes) / cost.Seconds()
		fmt.Printf("  replay %.1f MB/s; reading the same files %.0f MB/s; ratio %.3f\n", replayRate/1e6, readRate/1e6, replayRate/readRate)
	}
	return nil
}

// startReplayBroker runs bin on data and a free port; stop sends SIGTERM.
func startReplayBroker(ctx context.Context, bin, data, dir string) (string, func(), time.Time, error) {
	addr, err := freeAddr()
	if err != nil {
		return "", nil, time.Time{}, err
	}
	args := []string{"--override", "listeners=PLAINTEXT://" + addr, "--override", "log.dirs=" + data,
		"--override", "group.initial.rebalance.delay.ms=0"}
	started := time.Now()
	p, err := spawnBroker(bin, args, filepath.Join(dir, "broker.log"), false)
	if err != nil {
		return "", nil, time.Time{}, err
	}
	if err := waitListening(addr, p); err != nil {
		p.stop()
		return "", nil, time.Time{}, fmt.Errorf("%w; broker log was %s", err, tailFile(p.logf.Name()))
	}
	return addr, p.stop, started, nil
}

// commitGroups commits offsets 0..2 of topic "replay" for groups
// replay-0 .. replay-(n-1), with a few connections at once.
func commitGroups(ctx context.Context, addr string, n int) error {
	cl, err := kgo.NewClient(kgo.SeedBrokers(addr))
	if err != nil {
		return err
	}
	defer cl.Close()
	adm := kadm.NewClient(cl)
	if _, err := adm.CreateTopic(ctx, 3, 1, nil, "replay"); err != nil {
		return fmt.Errorf("creating the topic: %w", err)
	}
	var wg sync.WaitGroup
	errs := make(chan error, 8)
	for w := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := w; i < n; i += 8 {
				var offs kadm.Offsets
				for p := range int32(3) {
					offs.Add(kadm.Offset{Topic: "replay", Partition: p, At: int64(i), LeaderEpoch: -1})
				}
				for attempt := 0; ; attempt++ {
					resp, err := adm.CommitOffsets(ctx, fmt.Sprintf("replay-%d", i), offs)
					if err == nil {
						err = resp.Error()
					}
					if err == nil {
						break
					}
					if attempt == 50 || ctx.Err() != nil {
						errs <- fmt.Errorf("committing for group replay-%d: %w", i, err)
						return
					}
					time.Sleep(100 * time.Millisecond)
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	return <-errs
}

// timeRestart starts bin on data and returns how long it took until
// ListGroups answered without an error and listed want groups.
func timeRestart(ctx context.Context, bin, data, dir string, want int) (time.Duration, error) {
	addr, stop, started, err := startReplayBroker(ctx, bin, data, dir)
	if err != nil {
		return 0, err
	}
	defer stop()
	cl, err := kgo.NewClient(kgo.SeedBrokers(addr))
	if err != nil {
		return 0, err
	}
	defer cl.Close()
	deadline := time.Now().Add(2 * time.Minute)
	for time.Now().Before(deadline) {
		resp, err := kmsg.NewPtrListGroupsRequest().RequestWith(ctx, cl)
		if err == nil && resp.ErrorCode == 0 && len(resp.Groups) >= want {
			return time.Since(started), nil
		}
		time.Sleep(2 * time.Millisecond)
	}
	return 0, fmt.Errorf("the restarted broker did not serve %d groups within 2 minutes", want)
}

// readTree reads every file under the directories of root whose names
// start with prefix, and returns the bytes read.
func readTree(root, prefix string) (int64, error) {
	var n int64
	entries, err := os.ReadDir(root)
	if err != nil {
		return 0, err
	}
	for _, e := range entries {
		if !e.IsDir() || !strings.HasPrefix(e.Name(), prefix) {
			continue
		}
		files, err := os.ReadDir(filepath.Join(root, e.Name()))
		if err != nil {
			return 0, err
		}
		for _, f := range files {
			if !strings.HasSuffix(f.Name(), ".log") {
				continue
			}
			fh, err := os.Open(filepath.Join(root, e.Name(), f.Name()))
			if err != nil {
				return 0, err
			}
			m, err := io.Copy(io.Discard, fh)
			fh.Close()
			if err != nil {
				return 0, err
			}
			n += m
		}
	}
	return n, nil
}
