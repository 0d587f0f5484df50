package main

import (
	"context"
	"fmt"
	"io"
	"sort"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kerr"
)

// Consumer-group commands, after kafka-consumer-groups: list, describe
// (members, assignments and lag), delete, and seek (--reset-offsets
// --execute). Every request goes to the group's coordinator through kadm.

func groupCommand(ctx context.Context, e *env, args []string) error {
	if len(args) == 0 {
		return fmt.Errorf("%w: group needs a subcommand: list, describe, delete or seek", errUsage)
	}
	sub, rest := args[0], args[1:]
	switch sub {
	case "list", "ls":
		return groupList(ctx, e, rest)
	case "describe":
		return groupDescribe(ctx, e, rest)
	case "delete":
		return groupDelete(ctx, e, rest)
	case "seek":
		return groupSeek(ctx, e, rest)
	default:
		return fmt.Errorf("%w: unknown group subcommand %q", errUsage, sub)
	}
}

// coordinatorBackoffMax bounds the pause between two coordinator lookups.
const coordinatorBackoffMax = 500 * time.Millisecond

// awaitCoordinators waits, within ctx, until every group has a
// coordinator. A broker answers FindCoordinator with the retriable
// COORDINATOR_NOT_AVAILABLE while it creates __consumer_offsets for the
// first group request, and COORDINATOR_LOAD_IN_PROGRESS while it replays it
// after a restart; kadm's admin requests report such errors instead of
// retrying them, so ckctl retries here. A non-retriable error is returned
// at once.
func awaitCoordinators(ctx context.Context, adm *kadm.Client, groups []string) error {
	backoff := 50 * time.Millisecond
	for {
		err := adm.FindGroupCoordinators(ctx, groups...).Error()
		if err == nil || !kerr.IsRetriable(err) {
			return err
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("%w (still retrying when the time ran out: %v)", err, ctx.Err())
		case <-time.After(backoff):
		}
		backoff = min(2*backoff, coordinatorBackoffMax)
	}
}

func groupList(ctx context.Context, e *env, args []string) error {
	fs := newFlagSet("group list", &e.g)
	if _, err := positional(fs, "group list", args, 0); err != nil {
		return err
	}
	var groups kadm.ListedGroups
	err := e.withAdmin(ctx, func(actx context.Context, adm *kadm.Client) (err error) {
		groups, err = adm.ListGroups(actx)
		return err
	})
	if err != nil {
		return fmt.Errorf("listing groups: %w", err)
	}
	tw := tabwriter.NewWriter(e.stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "GROUP\tSTATE\tPROTOCOL-TYPE")
	for _, g := range groups.Sorted() {
		fmt.Fprintf(tw, "%s\t%s\t%s\n", g.Group, dash(g.State), dash(g.ProtocolType))
	}
	return tw.Flush()
}

func groupDescribe(ctx context.Context, e *env, args []string) error {
	fs := newFlagSet("group describe", &e.g)
	names, err := parseInterleaved(fs, args)
	if err != nil {
		return err
	}
	if len(names) == 0 {
		return fmt.Errorf("%w: group describe takes one or more group names", errUsage)
	}
	var lags kadm.DescribedGroupLags
	err = e.withAdmin(ctx, func(actx context.Context, adm *kadm.Client) (err error) {
		if err := awaitCoordinators(actx, adm, names); err != nil {
			return err
		}
		lags, err = adm.Lag(actx, names...)
		return err
	})
	if err != nil {
		return fmt.Errorf("describing groups %q: %w", names, err)
	}
	var failed []string
	for i, name := range dedupe(names) {
		if i > 0 {
			fmt.Fprintln(e.stdout)
		}
		l, ok := lags[name]
		if !ok {
			failed = append(failed, fmt.Sprintf("%s: not in the response", name))
			continue
		}
		if err := l.Error(); err != nil {
			failed = append(failed, fmt.Sprintf("%s: %v", name, err))
			continue
		}
		if err := printGroup(e.stdout, l); err != nil {
			return err
		}
		if l.State == "Dead" && len(l.Members) == 0 && len(l.Lag) == 0 {
			failed = append(failed, fmt.Sprintf("%s: group does not exist", name))
		}
	}
	if len(failed) > 0 {
		return fmt.Errorf("describing groups: %s", strings.Join(failed, "; "))
	}
	return nil
}

// printGroup writes one described group: a header, its members with their
// assignments, then one row per partition with committed offset and lag.
func printGroup(w io.Writer, l kadm.DescribedGroupLag) error {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintf(tw, "GROUP\t%s\n", l.Group)
	fmt.Fprintf(tw, "COORDINATOR\t%d\n", l.Coordinator.NodeID)
	fmt.Fprintf(tw, "STATE\t%s\n", l.State)
	fmt.Fprintf(tw, "PROTOCOL-TYPE\t%s\n", dash(l.ProtocolType))
	fmt.Fprintf(tw, "PROTOCOL\t%s\n", dash(l.Protocol))
	fmt.Fprintf(tw, "MEMBERS\t%d\n", len(l.Members))
	fmt.Fprintf(tw, "TOTAL-LAG\t%d\n", l.Lag.Total())
	if err := tw.Flush(); err != nil {
		return err
	}
	if len(l.Members) > 0 {
		fmt.Fprintln(w)
		tw = tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "MEMBER-ID\tINSTANCE-ID\tCLIENT-ID\tHOST\tASSIGNMENT")
		for _, m := range l.Members {
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", m.MemberID, dash(deref(m.InstanceID)),
				dash(m.ClientID), dash(m.ClientHost), assignmentCell(m))
		}
		if err := tw.Flush(); err != nil {
			return err
		}
	}
	rows := l.Lag.Sorted()
	if len(rows) == 0 {
		return nil
	}
	fmt.Fprintln(w)
	tw = tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "TOPIC\tPARTITION\tCURRENT-OFFSET\tLOG-END-OFFSET\tLAG\tMEMBER-ID\tCLIENT-ID\tHOST\tERROR")
	for _, r := range rows {
		member, client, host := "-", "-", "-"
		if r.Member != nil {
			member, client, host = r.Member.MemberID, dash(r.Member.ClientID), dash(r.Member.ClientHost)
		}
		current, end, lag, perr := "-", "-", "-", "" // perr: a tab and the error, if any
		if r.Commit.At >= 0 {
			current = strconv.FormatInt(r.Commit.At, 10)
		}
		if r.End.Err == nil {
			end = strconv.FormatInt(r.End.Offset, 10)
		}
		if r.Err != nil {
			perr = "\t" + r.Err.Error()
		} else {
			lag = strconv.FormatInt(r.Lag, 10)
		}
		fmt.Fprintf(tw, "%s\t%d\t%s\t%s\t%s\t%s\t%s\t%s%s\n", r.Topic, r.Partition, current, end, lag,
			member, client, host, perr)
	}
	return tw.Flush()
}

// assignmentCell renders a member's decoded consumer-protocol assignment as
// topic[p,p,...] per topic, or "-" when it has none or is not a consumer.
func assignmentCell(m kadm.DescribedGroupMember) string {
	a, ok := m.Assigned.AsConsumer()
	if !ok || a == nil {
		return "-"
	}
	var parts []string
	for _, t := range a.Topics {
		ps := append([]int32(nil), t.Partitions...)
		sort.Slice(ps, func(i, j int) bool { return ps[i] < ps[j] })
		nums := make([]string, len(ps))
		for i, p := range ps {
			nums[i] = strconv.Itoa(int(p))
		}
		parts = append(parts, t.Topic+"["+strings.Join(nums, ",")+"]")
	}
	sort.Strings(parts)
	if len(parts) == 0 {
		return "-"
	}
	return strings.Join(parts, " ")
}

func groupDelete(ctx context.Context, e *env, args []string) error {
	fs := newFlagSet("group delete", &e.g)
	names, err := parseInterleaved(fs, args)
	if err != nil {
		return err
	}
	if len(names) == 0 {
		return fmt.Errorf("%w: group delete takes one or more group names", errUsage)
	}
	names = dedupe(names)
	var resps kadm.DeleteGroupResponses
	err = e.withAdmin(ctx, func(actx context.Context, adm *kadm.Client) (err error) {
		if err := awaitCoordinators(actx, adm, names); err != nil {
			return err
		}
		resps, err = adm.DeleteGroups(actx, names...)
		return err
	})
	if err != nil && resps == nil {
		return fmt.Errorf("deleting groups %q: %w", names, err)
	}
	var failed []string
	for _, name := range names {
		r, ok := resps[name]
		switch {
		case !ok:
			failed = append(failed, fmt.Sprintf("%s: no answer (%v)", name, err))
		case r.Err != nil:
			failed = append(failed, fmt.Sprintf("%s: %v%s", name, r.Err, errMessage(r.ErrMessage)))
		default:
			fmt.Fprintf(e.stdout, "deleted group %s\n", name)
		}
	}
	if len(failed) > 0 {
		return fmt.Errorf("deleting groups: %s", strings.Join(failed, "; "))
	}
	return nil
}

// dedupe returns names without repeats, in first-seen order.
func dedupe(names []string) []string {
	seen := map[string]bool{}
	var out []string
	for _, n := range names {
		if !seen[n] {
			seen[n] = true
			out = append(out, n)
		}
	}
	return out
}

func dash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

func deref(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}
