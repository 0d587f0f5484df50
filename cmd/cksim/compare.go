// The mutation self-check, -compare REF.
//
// A bug planted on purpose (to see whether the checkers catch it) that no
// seed fails proves little by itself: either no seed reached the changed
// code, or some did and no check noticed. A trace hash tells the two
// apart, because it folds every request, response, file operation and
// fault of a world: two builds that give a seed the same hash ran the
// same world. The workflow:
//
//  1. Before the run, resolve REF in the repository that holds the
//     working directory, check it out detached into a temporary git
//     worktree, build that revision's cksim next to it (GOPROXY=off: the
//     module cache must already hold what it needs), and remove the
//     worktree. A failure here exits 2 before any seed runs.
//  2. Run our seeds as usual, keeping each seed's trace hash and status.
//  3. Run the reference binary over the same seeds with the same
//     -duration, -producers, -consumers, -faults and -parallel, and
//     without reports (-viz ""). Its exit status 1 only says that some
//     seeds failed there; its SEED=<n> trace=<hex> lines and the ok/FAIL
//     line under each are what count. Any other failure exits 2.
//  4. Per seed: the same trace means the change was not exercised (or
//     was, with no effect the world could see); a differing trace that
//     fails here was caught; a differing trace that passes here was
//     exercised but not caught, which is the blind spot to look into.
//     Statuses are counted apart, since a change to the checkers alone
//     keeps every trace and changes only statuses.
//
// Output, after the normal run output: a DIFF line per seed whose trace
// differs, in seed order, then one compare: summary line.
package main

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"cloudkafka/sim"
)

// outcome is what one run did with one seed.
type outcome struct {
	trace  uint64 // the run's trace hash
	failed bool   // some check failed
}

// reference is a cksim binary built from another revision.
type reference struct {
	rev   string // REF as given
	short string // abbreviated commit that REF resolved to
	dir   string // temporary directory holding bin; "" once removed
	bin   string
}

// comparison sums how the seeds of a run differ from the reference's.
type comparison struct {
	differ      []uint64 // seeds whose trace differs, in run order
	differFail  int      // trace differs and the seed fails here: caught
	differPass  int      // trace differs and the seed passes here: not caught
	failHere    int      // fails here and passes in the reference
	failRefOnly int      // passes here and fails in the reference
}

// buildReference builds the cksim of revision rev into a temporary
// directory, by way of a temporary worktree that it removes again.
func buildReference(rev string) (*reference, error) {
	start := time.Now()
	top, err := git("", "rev-parse", "--show-toplevel")
	if err != nil {
		return nil, err
	}
	commit, err := git(top, "rev-parse", "--verify", "--end-of-options", rev+"^{commit}")
	if err != nil {
		return nil, err
	}
	short, err := git(top, "rev-parse", "--short", commit)
	if err != nil {
		return nil, err
	}
	dir, err := os.MkdirTemp("", "cksim-compare-")
	if err != nil {
		return nil, err
	}
	ref := &reference{rev: rev, short: short, dir: dir, bin: filepath.Join(dir, "cksim")}
	src := filepath.Join(dir, "src")
	if _, err := git(top, "worktree", "add", "--detach", src, commit); err != nil {
		ref.remove()
		return nil, err
	}
	err = goBuild(src, ref.bin)
	if _, rmErr := git(top, "worktree", "remove", "--force", src); rmErr != nil {
		// Not fatal: the binary is built; `git worktree prune` tidies up.
		fmt.Fprintf(os.Stderr, "cksim: -compare: %v\n", rmErr)
	}
	if err != nil {
		ref.remove()
		return nil, err
	}
	fmt.Printf("compare: built cksim of %s (%s) in %.1fs\n", rev, short, time.Since(start).Seconds())
	return ref, nil
}

// git runs git in dir ("": the working directory) and returns its
// output, trimmed.
func git(dir string, args ...string) (string, error) {
	cmd := exec.Command("git", args...)
	cmd.Dir = dir
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		return "", fmt.Errorf("git %s: %v: %s", strings.Join(args, " "), err, bytes.TrimSpace(stderr.Bytes()))
	}
	return strings.TrimSpace(string(out)), nil
}

// goBuild builds ./cmd/cksim of the tree at src into bin, offline.
// -trimpath keeps the temporary directory's name out of the build, so a
// second comparison against the same revision comes from the build cache.
func goBuild(src, bin string) error {
	cmd := exec.Command("go", "build", "-trimpath", "-o", bin, "./cmd/cksim")
	cmd.Dir = src
	cmd.Env = append(os.Environ(), "GOPROXY=off", "GOWORK=off")
	if out, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("go build ./cmd/cksim: %v\n%s", err, out)
	}
	return nil
}

// remove deletes the reference binary; it may be called more than once.
func (ref *reference) remove() {
	if ref.dir != "" {
		os.RemoveAll(ref.dir)
		ref.dir = ""
	}
}

// referenceFlags are the flags that shape a world, as cfg has them (every
// seed's cfg has the same), for the reference run.
func referenceFlags(cfg sim.Config, parallel int) []string {
	flags := []string{
		"-duration", cfg.Duration.String(),
		"-producers", strconv.Itoa(cfg.Producers),
		"-consumers", strconv.Itoa(cfg.Consumers),
		"-brokers", strconv.Itoa(max(cfg.Brokers, 1)),
		"-faults=" + strconv.FormatBool(cfg.Faults),
		"-parallel", strconv.Itoa(parallel),
		"-viz", "",
	}
	if cfg.Directed != sim.DirectNone {
		flags = append(flags, "-directed", cfg.Directed.String())
	}
	if cfg.SASL {
		flags = append(flags, "-sasl")
	}
	return flags
}

// compare runs the reference over seeds and prints how our outcomes
// differ from its: DIFF lines, then the summary.
func (ref *reference) compare(seeds []uint64, flags []string, ours map[uint64]outcome) error {
	fmt.Printf("compare: running cksim of %s (%s) over the same %d seeds\n", ref.rev, ref.short, len(seeds))
	theirs, err := ref.run(seeds, flags)
	if err != nil {
		return err
	}
	c, err := classify(seeds, ours, theirs)
	if err != nil {
		return err
	}
	for _, s := range c.differ {
		fmt.Printf("DIFF SEED=%d ours=%016x %s ref=%016x %s\n",
			s, ours[s].trace, status(ours[s].failed), theirs[s].trace, status(theirs[s].failed))
	}
	fmt.Printf("compare: %d of %d seeds differ from %s (%s); %d differ and fail here, %d differ and pass here (exercised but not caught), %d fail here only, %d fail in the reference only\n",
		len(c.differ), len(seeds), ref.rev, ref.short, c.differFail, c.differPass, c.failHere, c.failRefOnly)
	return nil
}

// run runs the reference binary over seeds, which are consecutive, and
// returns its outcomes.
func (ref *reference) run(seeds []uint64, flags []string) (map[uint64]outcome, error) {
	for i, s := range seeds {
		if s != seeds[0]+uint64(i) {
			panic(fmt.Sprintf("cksim: seeds not consecutive: %d at %d after %d", s, i, seeds[0]))
		}
	}
	args := append([]string{"-seeds", strconv.Itoa(len(seeds)), "-from", strconv.FormatUint(seeds[0], 10)}, flags...)
	cmd := exec.Command(ref.bin, args...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	var exit *exec.ExitError
	if err != nil && !(errors.As(err, &exit) && exit.ExitCode() == 1) {
		return nil, fmt.Errorf("reference run %s: %v\n%s", strings.Join(cmd.Args, " "), err, stderr.Bytes())
	}
	theirs, err := parseSeeds(stdout.String())
	if err != nil {
		return nil, fmt.Errorf("reference output: %w", err)
	}
	return theirs, nil
}

// parseSeeds reads cksim's output: each "SEED=<n> trace=<hex>" line and,
// on the line after it, the seed's status, "ok" or "FAIL" first.
func parseSeeds(out string) (map[uint64]outcome, error) {
	seeds := map[uint64]outcome{}
	lines := strings.Split(out, "\n")
	for i, line := range lines {
		rest, ok := strings.CutPrefix(line, "SEED=")
		if !ok {
			continue
		}
		n, hash, ok := strings.Cut(rest, " trace=")
		seed, err := strconv.ParseUint(n, 10, 64)
		if !ok || err != nil {
			return nil, fmt.Errorf("line %d: %q: want SEED=<n> trace=<hex>", i+1, line)
		}
		trace, err := strconv.ParseUint(hash, 16, 64)
		if err != nil {
			return nil, fmt.Errorf("line %d: %q: trace: %v", i+1, line, err)
		}
		var fields []string
		if i+1 < len(lines) {
			fields = strings.Fields(lines[i+1])
		}
		if len(fields) == 0 || (fields[0] != "ok" && fields[0] != "FAIL") {
			return nil, fmt.Errorf("line %d: seed %d: no ok or FAIL line after it", i+1, seed)
		}
		if _, dup := seeds[seed]; dup {
			return nil, fmt.Errorf("line %d: seed %d twice", i+1, seed)
		}
		seeds[seed] = outcome{trace: trace, failed: fields[0] == "FAIL"}
	}
	return seeds, nil
}

// classify compares, seed by seed in the order of seeds, our outcomes
// with the reference's. Each seed must be in both.
func classify(seeds []uint64, ours, theirs map[uint64]outcome) (comparison, error) {
	var c comparison
	for _, s := range seeds {
		o, ok := ours[s]
		if !ok {
			return comparison{}, fmt.Errorf("seed %d: no outcome of our own", s)
		}
		r, ok := theirs[s]
		if !ok {
			return comparison{}, fmt.Errorf("seed %d: not in the reference's output", s)
		}
		if o.trace != r.trace {
			c.differ = append(c.differ, s)
			if o.failed {
				c.differFail++
			} else {
				c.differPass++
			}
		}
		switch {
		case o.failed && !r.failed:
			c.failHere++
		case !o.failed && r.failed:
			c.failRefOnly++
		}
	}
	return c, nil
}

func status(failed bool) string {
	if failed {
		return "FAIL"
	}
	return "ok"
}
