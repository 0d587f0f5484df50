package main

import (
	"context"
	"fmt"
	"io"
	"slices"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
)

// group lag shows, per group, how far its committed offsets are behind
// the high watermarks, as kafka-consumer-groups --describe --offsets
// does, but only for the partitions the group has committed (group
// describe also counts a whole log for a subscribed partition without a
// commit):
//
//   - the committed offsets come from OffsetFetch for every partition
//     (kadm FetchManyOffsets), the ends from ListOffsets at the latest
//     offset, which is the high watermark (kadm ListEndOffsets);
//   - lag = end - committed, never below 0 (a commit may be ahead of a
//     high watermark that a trim or a truncation moved back);
//   - a group without commits whose state is Dead does not exist: an
//     error, exit 1.
//
// --watch repeats it every --interval until the context ends (SIGINT or
// SIGTERM), which is a clean exit; --count N stops after N refreshes, for
// scripts.

// groupLagIntervalDefault is the pause between two refreshes of --watch.
const groupLagIntervalDefault = 2 * time.Second

// groupLagJSON is one element of group lag -o json.
type groupLagJSON struct {
	Group      string                  `json:"group"`
	TotalLag   int64                   `json:"totalLag"`   // the sum of the partitions' lags
	Partitions []groupLagPartitionJSON `json:"partitions"` // by topic, then partition
}

type groupLagPartitionJSON struct {
	Topic           string `json:"topic"`
	Partition       int32  `json:"partition"`
	CommittedOffset int64  `json:"committedOffset"`
	EndOffset       *int64 `json:"endOffset"`       // the high watermark; null when it could not be listed
	Lag             *int64 `json:"lag"`             // null when the end could not be listed
	Error           string `json:"error,omitempty"` // why the end could not be listed
}

// groupLagRefreshJSON is one line of group lag --watch -o json.
type groupLagRefreshJSON struct {
	Time   string         `json:"time"` // RFC 3339, when the refresh began
	Groups []groupLagJSON `json:"groups"`
}

func groupLag(ctx context.Context, e *env, args []string) error {
	fs := newFlagSet("group lag", &e.g)
	output := registerOutput(fs)
	watch := fs.Bool("watch", false, "print the lag again every --interval until interrupted")
	interval := fs.Duration("interval", groupLagIntervalDefault, "the pause between two refreshes of --watch")
	count := fs.Int("count", 0, "with --watch, stop after this many refreshes (0: until interrupted); for scripts")
	names, err := parseInterleaved(fs, args)
	if err != nil {
		return err
	}
	switch {
	case len(names) == 0:
		return fmt.Errorf("%w: group lag takes one or more group names", errUsage)
	case *interval <= 0:
		return fmt.Errorf("%w: --interval %v: want a positive duration", errUsage, *interval)
	case *count < 0:
		return fmt.Errorf("%w: --count %d: want 0 (no bound) or more", errUsage, *count)
	case *count > 0 && !*watch:
		return fmt.Errorf("%w: --count bounds --watch; give both", errUsage)
	}
	names = dedupe(names)
	adm, err := e.newAdmin()
	if err != nil {
		return err
	}
	defer adm.Close()
	if !*watch {
		groups, err := e.fetchGroupLag(ctx, adm, names)
		if err != nil {
			return err
		}
		return output.emit(e.stdout, groups, func() error { return printGroupLag(e.stdout, groups) })
	}
	for i := 0; *count == 0 || i < *count; i++ {
		if i > 0 {
			select {
			case <-ctx.Done():
				return nil
			case <-time.After(*interval):
			}
		}
		now := time.Now()
		groups, err := e.fetchGroupLag(ctx, adm, names)
		if ctx.Err() != nil {
			return nil // interrupted
		}
		if err != nil {
			return err
		}
		if err := printGroupLagRefresh(e.stdout, *output, now, groups); err != nil {
			return err
		}
	}
	return nil
}

// printGroupLagRefresh writes one refresh of --watch: a timestamp line,
// the table and a blank line, or one line of JSON.
func printGroupLagRefresh(w io.Writer, output outputFormat, now time.Time, groups []groupLagJSON) error {
	stamp := now.Format(time.RFC3339)
	if output == outputJSON {
		return writeJSON(w, groupLagRefreshJSON{Time: stamp, Groups: groups}, false)
	}
	fmt.Fprintf(w, "%s\n", stamp)
	if err := printGroupLag(w, groups); err != nil {
		return err
	}
	_, err := fmt.Fprintln(w)
	return err
}

// fetchGroupLag is one refresh: the groups' committed offsets, the ends
// of their partitions and the lags, within the request timeout.
func (e *env) fetchGroupLag(ctx context.Context, adm *kadm.Client, names []string) ([]groupLagJSON, error) {
	actx, cancel := e.adminContext(ctx)
	defer cancel()
	if err := awaitCoordinators(actx, adm, names); err != nil {
		return nil, fmt.Errorf("group lag %q: %w", names, err)
	}
	fetched := adm.FetchManyOffsets(actx, names...)
	var topics []string
	for _, name := range names {
		r, ok := fetched[name]
		switch {
		case !ok:
			return nil, fmt.Errorf("group lag %s: not in the OffsetFetch response", name)
		case r.Err != nil:
			return nil, fmt.Errorf("group lag %s: %w", name, r.Err)
		}
		for t := range r.Fetched {
			if !slices.Contains(topics, t) {
				topics = append(topics, t)
			}
		}
	}
	if err := checkGroupsExist(actx, adm, names, fetched); err != nil {
		return nil, err
	}
	var ends kadm.ListedOffsets
	if len(topics) > 0 {
		var err error
		if ends, err = adm.ListEndOffsets(actx, topics...); err != nil {
			return nil, fmt.Errorf("group lag: listing the end offsets of %q: %w", topics, err)
		}
	}
	groups := make([]groupLagJSON, 0, len(names))
	for _, name := range names {
		groups = append(groups, groupLagOf(name, fetched[name].Fetched, ends))
	}
	return groups, nil
}

// checkGroupsExist fails for a group without commits that the
// coordinator describes as Dead: no such group.
func checkGroupsExist(ctx context.Context, adm *kadm.Client, names []string, fetched kadm.FetchOffsetsResponses) error {
	var empty []string
	for _, name := range names {
		if len(committedOffsets(fetched[name].Fetched)) == 0 {
			empty = append(empty, name)
		}
	}
	if len(empty) == 0 {
		return nil
	}
	described, err := adm.DescribeGroups(ctx, empty...)
	if err != nil {
		return fmt.Errorf("group lag %q: %w", empty, err)
	}
	var missing []string
	for _, name := range empty {
		g, ok := described[name]
		if !ok || g.Err != nil || g.State == "Dead" {
			missing = append(missing, name)
		}
	}
	if len(missing) > 0 {
		return fmt.Errorf("group lag: no such group: %s", strings.Join(missing, ", "))
	}
	return nil
}

// committedOffsets is the fetched offsets that are commits (OffsetFetch
// answers -1 for a partition without one), by topic, then partition.
func committedOffsets(fetched kadm.OffsetResponses) []kadm.OffsetResponse {
	var out []kadm.OffsetResponse
	for _, o := range fetched.Sorted() {
		if o.Err == nil && o.At >= 0 {
			out = append(out, o)
		}
	}
	return out
}

// groupLagOf computes a group's lags from its commits and the ends.
func groupLagOf(group string, fetched kadm.OffsetResponses, ends kadm.ListedOffsets) groupLagJSON {
	g := groupLagJSON{Group: group, Partitions: []groupLagPartitionJSON{}}
	for _, o := range committedOffsets(fetched) {
		p := groupLagPartitionJSON{Topic: o.Topic, Partition: o.Partition, CommittedOffset: o.At}
		end, ok := ends.Lookup(o.Topic, o.Partition)
		switch {
		case !ok:
			p.Error = "no end offset listed"
		case end.Err != nil:
			p.Error = end.Err.Error()
		default:
			lag := max(end.Offset-o.At, 0)
			p.EndOffset, p.Lag = &end.Offset, &lag
			g.TotalLag += lag
		}
		g.Partitions = append(g.Partitions, p)
	}
	return g
}

// printGroupLag writes the table: per group its partitions, then a
// "(total)" row, which no topic name can be (Kafka topic names are
// letters, digits, '.', '_' and '-').
func printGroupLag(w io.Writer, groups []groupLagJSON) error {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "GROUP\tTOPIC\tPARTITION\tCOMMITTED-OFFSET\tEND-OFFSET\tLAG\tERROR")
	for _, g := range groups {
		for _, p := range g.Partitions {
			fmt.Fprintf(tw, "%s\t%s\t%d\t%d\t%s\t%s\t%s\n", g.Group, p.Topic, p.Partition, p.CommittedOffset,
				offsetCell(p.EndOffset), offsetCell(p.Lag), p.Error)
		}
		fmt.Fprintf(tw, "%s\t(total)\t-\t-\t-\t%d\t\n", g.Group, g.TotalLag)
	}
	return tw.Flush()
}
