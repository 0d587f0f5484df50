package main

import (
	"context"
	"fmt"
	"sort"
	"strconv"
	"text/tabwriter"

	"github.com/twmb/franz-go/pkg/kadm"
)

// group seek resets a group's committed offsets, as kafka-consumer-groups
// --reset-offsets --execute does:
//
//   - The group must be inactive (DescribeGroups state Empty, or Dead for
//     a group that does not exist yet): members would overwrite the reset
//     with their own commits, so Kafka refuses, and so does ckctl. The
//     coordinator refuses a memberless commit to a group with members too,
//     which closes the window between the check and the commit.
//   - Without --topics, the partitions reset are those the group has
//     committed offsets for; with it, every partition of the named topics.
//   - Targets are resolved with ListOffsets: earliest is the log start
//     offset, latest the high watermark, a timestamp the first offset whose
//     record time is at or after it (the high watermark if none is), and
//     an explicit offset is clamped to [log start, high watermark].
//   - The new offsets are written with one OffsetCommit outside group
//     membership (generation -1, no member id).

// seekTarget is where group seek moves each partition.
type seekTarget struct {
	kind   string // "earliest", "latest", "offset" or "timestamp"
	offset int64  // for "offset"
	ms     int64  // for "timestamp": milliseconds since the Unix epoch
}

func (t seekTarget) String() string {
	switch t.kind {
	case "offset":
		return "offset " + strconv.FormatInt(t.offset, 10)
	case "timestamp":
		return "timestamp " + strconv.FormatInt(t.ms, 10)
	}
	return t.kind
}

// parseSeekTarget reads --to and --to-timestamp; exactly one must be given.
func parseSeekTarget(to string, toGiven bool, ms int64, msGiven bool) (seekTarget, error) {
	switch {
	case toGiven && msGiven:
		return seekTarget{}, fmt.Errorf("%w: give --to or --to-timestamp, not both", errUsage)
	case msGiven:
		if ms < 0 {
			return seekTarget{}, fmt.Errorf("%w: --to-timestamp %d: want milliseconds since the epoch, >= 0", errUsage, ms)
		}
		return seekTarget{kind: "timestamp", ms: ms}, nil
	case !toGiven:
		return seekTarget{}, fmt.Errorf("%w: group seek needs --to earliest|latest|OFFSET or --to-timestamp MS", errUsage)
	}
	switch to {
	case "earliest", "start", "beginning", "oldest":
		return seekTarget{kind: "earliest"}, nil
	case "latest", "end", "newest":
		return seekTarget{kind: "latest"}, nil
	}
	n, err := strconv.ParseInt(to, 10, 64)
	if err != nil || n < 0 {
		return seekTarget{}, fmt.Errorf("%w: --to %q: want earliest, latest or an offset >= 0", errUsage, to)
	}
	return seekTarget{kind: "offset", offset: n}, nil
}

func groupSeek(ctx context.Context, e *env, args []string) error {
	fs := newFlagSet("group seek", &e.g)
	to := fs.String("to", "", "earliest, latest or an offset")
	ms := fs.Int64("to-timestamp", -1, "milliseconds since the epoch: the first offset at or after it")
	topicList := fs.String("topics", "", "comma-separated topics to reset (default: the group's committed partitions)")
	dryRun := fs.Bool("dry-run", false, "print the new offsets without committing them")
	pos, err := positional(fs, "group seek", args, 1)
	if err != nil {
		return err
	}
	target, err := parseSeekTarget(*to, flagGiven(fs, "to"), *ms, flagGiven(fs, "to-timestamp"))
	if err != nil {
		return err
	}
	topics := splitBrokers(*topicList) // the same comma-separated syntax
	if flagGiven(fs, "topics") && len(topics) == 0 {
		return fmt.Errorf("%w: --topics names no topic", errUsage)
	}
	group := pos[0]
	return e.withAdmin(ctx, func(actx context.Context, adm *kadm.Client) error {
		if err := requireInactive(actx, adm, group); err != nil {
			return err
		}
		old, err := adm.FetchOffsets(actx, group)
		if err != nil {
			return fmt.Errorf("fetching the committed offsets of group %q: %w", group, err)
		}
		var only kadm.TopicsSet // nil: every partition of topics
		if len(topics) == 0 {
			only = old.Partitions()
			topics = only.Topics()
			if len(topics) == 0 {
				return fmt.Errorf("group %q has no committed offsets to reset; name the topics with --topics", group)
			}
		}
		plan, err := seekPlan(actx, adm, group, topics, only, old, target)
		if err != nil {
			return err
		}
		return seekExecute(actx, adm, e, group, plan, *dryRun)
	})
}

// requireInactive fails unless the group is Empty or Dead.
func requireInactive(ctx context.Context, adm *kadm.Client, group string) error {
	if err := awaitCoordinators(ctx, adm, []string{group}); err != nil {
		return fmt.Errorf("finding the coordinator of group %q: %w", group, err)
	}
	described, err := adm.DescribeGroups(ctx, group)
	if err != nil {
		return fmt.Errorf("describing group %q: %w", group, err)
	}
	g, ok := described[group]
	if !ok {
		return fmt.Errorf("describing group %q: not in the response", group)
	}
	if g.Err != nil {
		return fmt.Errorf("describing group %q: %w%s", group, g.Err, errMessage(g.ErrMessage))
	}
	if g.State != "Empty" && g.State != "Dead" {
		return fmt.Errorf("group %q is %s with %d member(s); offsets can be reset only while the group is inactive (Empty): stop its consumers first",
			group, g.State, len(g.Members))
	}
	return nil
}

// seekRow is one partition of a seek: where it was and where it goes.
type seekRow struct {
	topic     string
	partition int32
	old       int64 // -1: nothing committed
	new       int64
	err       error // resolving or committing failed
}

// seekPlan resolves the new offset of every partition of topics, or only of
// those in only when it is not nil.
func seekPlan(ctx context.Context, adm *kadm.Client, group string, topics []string, only kadm.TopicsSet,
	old kadm.OffsetResponses, target seekTarget) ([]seekRow, error) {
	starts, err := adm.ListStartOffsets(ctx, topics...)
	if err != nil {
		return nil, fmt.Errorf("listing the start offsets of %q: %w", topics, err)
	}
	ends, err := adm.ListEndOffsets(ctx, topics...)
	if err != nil {
		return nil, fmt.Errorf("listing the end offsets of %q: %w", topics, err)
	}
	var byTime kadm.ListedOffsets
	if target.kind == "timestamp" {
		if byTime, err = adm.ListOffsetsAfterMilli(ctx, target.ms, topics...); err != nil {
			return nil, fmt.Errorf("listing the offsets of %q at %d ms: %w", topics, target.ms, err)
		}
	}
	for _, t := range topics {
		if o, ok := ends.Lookup(t, -1); ok && o.Err != nil {
			return nil, fmt.Errorf("topic %q: %w", t, o.Err)
		}
	}
	var plan []seekRow
	ends.Each(func(end kadm.ListedOffset) {
		if only != nil && !only.Lookup(end.Topic, end.Partition) {
			return
		}
		r := seekRow{topic: end.Topic, partition: end.Partition, old: -1, err: end.Err}
		if o, ok := old.Lookup(end.Topic, end.Partition); ok && o.Err == nil {
			r.old = o.At
		}
		start, ok := starts.Lookup(end.Topic, end.Partition)
		if r.err == nil && (!ok || start.Err != nil) {
			r.err = fmt.Errorf("no log start offset listed (%v)", start.Err)
		}
		if r.err == nil {
			r.new, r.err = resolveSeek(target, start.Offset, end.Offset, byTime, end.Topic, end.Partition)
		}
		plan = append(plan, r)
	})
	sortSeekRows(plan)
	if len(plan) == 0 {
		return nil, fmt.Errorf("group %q: topics %q have no partitions to reset", group, topics)
	}
	return plan, nil
}

// resolveSeek returns a partition's new offset given its log start offset
// and high watermark.
func resolveSeek(target seekTarget, start, end int64, byTime kadm.ListedOffsets, topic string, partition int32) (int64, error) {
	switch target.kind {
	case "earliest":
		return start, nil
	case "latest":
		return end, nil
	case "offset":
		return min(max(target.offset, start), end), nil
	}
	o, ok := byTime.Lookup(topic, partition)
	switch {
	case !ok:
		return 0, fmt.Errorf("no offset listed for timestamp %d", target.ms)
	case o.Err != nil:
		return 0, o.Err
	case o.Offset < 0:
		return end, nil
	}
	return o.Offset, nil
}

func sortSeekRows(rows []seekRow) {
	sort.Slice(rows, func(i, j int) bool {
		if rows[i].topic != rows[j].topic {
			return rows[i].topic < rows[j].topic
		}
		return rows[i].partition < rows[j].partition
	})
}

// seekExecute commits the plan (unless dryRun) and prints one row per
// partition; any partition that failed makes the command fail.
func seekExecute(ctx context.Context, adm *kadm.Client, e *env, group string, plan []seekRow, dryRun bool) error {
	if !dryRun {
		commit := make(kadm.Offsets)
		for _, r := range plan {
			if r.err == nil {
				commit.Add(kadm.Offset{Topic: r.topic, Partition: r.partition, At: r.new, LeaderEpoch: -1})
			}
		}
		resps, err := adm.CommitOffsets(ctx, group, commit)
		if err != nil {
			return fmt.Errorf("committing the new offsets of group %q: %w", group, err)
		}
		for i := range plan {
			if plan[i].err != nil {
				continue
			}
			if c, ok := resps.Lookup(plan[i].topic, plan[i].partition); !ok {
				plan[i].err = fmt.Errorf("partition missing from the commit response")
			} else if c.Err != nil {
				plan[i].err = c.Err
			}
		}
	}
	tw := tabwriter.NewWriter(e.stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "TOPIC\tPARTITION\tOLD-OFFSET\tNEW-OFFSET\tERROR")
	failed := 0
	for _, r := range plan {
		oldCell, newCell, errCell := "-", "-", "" // errCell: a tab and the error, if any
		if r.old >= 0 {
			oldCell = strconv.FormatInt(r.old, 10)
		}
		if r.err != nil {
			failed++
			errCell = "\t" + r.err.Error()
		} else {
			newCell = strconv.FormatInt(r.new, 10)
		}
		fmt.Fprintf(tw, "%s\t%d\t%s\t%s%s\n", r.topic, r.partition, oldCell, newCell, errCell)
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	if failed > 0 {
		return fmt.Errorf("group %q: %d of %d partitions were not reset", group, failed, len(plan))
	}
	if dryRun {
		fmt.Fprintln(e.stdout, "dry run: nothing committed")
	}
	return nil
}
