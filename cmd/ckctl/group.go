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
// (members, assignments and lag), lag (group_lag.go), delete, and seek
// (--reset-offsets --execute). Every request goes to the group's coordinator through kadm.

func groupCommand(ctx context.Context, e *env, args []string) error {
	if len(args) == 0 {
		return fmt.Errorf("%w: group needs a subcommand: list, describe, lag, delete or seek", errUsage)
	}
	sub, rest := args[0], args[1:]
	switch sub {
	case "list", "ls":
		return groupList(ctx, e, rest)
	case "describe":
		return groupDescribe(ctx, e, rest)
	case "lag":
		return groupLag(ctx, e, rest)
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

// groupListJSON is one element of group list -o json.
type groupListJSON struct {
	Group        string `json:"group"`
	State        string `json:"state"`
	ProtocolType string `json:"protocolType"`
}

func groupList(ctx context.Context, e *env, args []string) error {
	fs := newFlagSet("group list", &e.g)
	output := registerOutput(fs)
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
	rows := []groupListJSON{}
	for _, g := range groups.Sorted() {
		rows = append(rows, groupListJSON{g.Group, g.State, g.ProtocolType})
	}
	return output.emit(e.stdout, rows, func() error {
		tw := tabwriter.NewWriter(e.stdout, 0, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "GROUP\tSTATE\tPROTOCOL-TYPE")
		for _, g := range rows {
			fmt.Fprintf(tw, "%s\t%s\t%s\n", g.Group, dash(g.State), dash(g.ProtocolType))
		}
		return tw.Flush()
	})
}

func groupDescribe(ctx context.Context, e *env, args []string) error {
	fs := newFlagSet("group describe", &e.g)
	output := registerOutput(fs)
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
	docs := []groupJSON{}
	var failed []string
	for _, name := range dedupe(names) {
		l, ok := lags[name]
		if !ok {
			failed = append(failed, fmt.Sprintf("%s: not in the response", name))
			continue
		}
		if err := l.Error(); err != nil {
			failed = append(failed, fmt.Sprintf("%s: %v", name, err))
			continue
		}
		docs = append(docs, groupDoc(l))
		if l.State == "Dead" && len(l.Members) == 0 && len(l.Lag) == 0 {
			failed = append(failed, fmt.Sprintf("%s: group does not exist", name))
		}
	}
	err = output.emit(e.stdout, docs, func() error {
		for i, g := range docs {
			if i > 0 {
				fmt.Fprintln(e.stdout)
			}
			if err := printGroup(e.stdout, g); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return err
	}
	if len(failed) > 0 {
		return fmt.Errorf("describing groups: %s", strings.Join(failed, "; "))
	}
	return nil
}

// groupJSON is one element of group describe -o json.
type groupJSON struct {
	Group        string            `json:"group"`
	Coordinator  int32             `json:"coordinator"`
	State        string            `json:"state"`
	ProtocolType string            `json:"protocolType"`
	Protocol     string            `json:"protocol"`
	TotalLag     int64             `json:"totalLag"`
	Members      []groupMemberJSON `json:"members"`    // in the coordinator's order
	Partitions   []groupOffsetJSON `json:"partitions"` // by topic, then partition
}

type groupMemberJSON struct {
	MemberID   string           `json:"memberId"`
	InstanceID *string          `json:"instanceId"` // null for a dynamic member
	ClientID   string           `json:"clientId"`
	ClientHost string           `json:"clientHost"`
	Assignment []assignmentJSON `json:"assignment"` // by topic; [] when none or not a consumer
}

type assignmentJSON struct {
	Topic      string  `json:"topic"`
	Partitions []int32 `json:"partitions"` // ascending
}

// groupOffsetJSON is a partition's committed offset and lag.
type groupOffsetJSON struct {
	Topic           string  `json:"topic"`
	Partition       int32   `json:"partition"`
	CommittedOffset *int64  `json:"committedOffset"` // null without a commit
	EndOffset       *int64  `json:"endOffset"`       // the high watermark; null when it could not be listed
	Lag             *int64  `json:"lag"`             // null with an error
	MemberID        *string `json:"memberId"`        // the member assigned the partition, if any
	ClientID        *string `json:"clientId"`
	ClientHost      *string `json:"clientHost"`
	Error           string  `json:"error,omitempty"`
}

// groupDoc is a described group in the shape both outputs print.
func groupDoc(l kadm.DescribedGroupLag) groupJSON {
	g := groupJSON{Group: l.Group, Coordinator: l.Coordinator.NodeID, State: l.State, ProtocolType: l.ProtocolType,
		Protocol: l.Protocol, TotalLag: l.Lag.Total(), Members: []groupMemberJSON{}, Partitions: []groupOffsetJSON{}}
	for _, m := range l.Members {
		g.Members = append(g.Members, groupMemberJSON{m.MemberID, m.InstanceID, m.ClientID, m.ClientHost, assignment(m)})
	}
	for _, r := range l.Lag.Sorted() {
		o := groupOffsetJSON{Topic: r.Topic, Partition: r.Partition}
		if r.Member != nil {
			o.MemberID, o.ClientID, o.ClientHost = &r.Member.MemberID, &r.Member.ClientID, &r.Member.ClientHost
		}
		if r.Commit.At >= 0 {
			o.CommittedOffset = &r.Commit.At
		}
		if r.End.Err == nil {
			o.EndOffset = &r.End.Offset
		}
		if r.Err != nil {
			o.Error = r.Err.Error()
		} else {
			o.Lag = &r.Lag
		}
		g.Partitions = append(g.Partitions, o)
	}
	return g
}

// printGroup writes one described group: a header, its members with their
// assignments, then one row per partition with committed offset and lag.
func printGroup(w io.Writer, g groupJSON) error {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintf(tw, "GROUP\t%s\n", g.Group)
	fmt.Fprintf(tw, "COORDINATOR\t%d\n", g.Coordinator)
	fmt.Fprintf(tw, "STATE\t%s\n", g.State)
	fmt.Fprintf(tw, "PROTOCOL-TYPE\t%s\n", dash(g.ProtocolType))
	fmt.Fprintf(tw, "PROTOCOL\t%s\n", dash(g.Protocol))
	fmt.Fprintf(tw, "MEMBERS\t%d\n", len(g.Members))
	fmt.Fprintf(tw, "TOTAL-LAG\t%d\n", g.TotalLag)
	if err := tw.Flush(); err != nil {
		return err
	}
	if len(g.Members) > 0 {
		fmt.Fprintln(w)
		tw = tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "MEMBER-ID\tINSTANCE-ID\tCLIENT-ID\tHOST\tASSIGNMENT")
		for _, m := range g.Members {
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", m.MemberID, dash(deref(m.InstanceID)),
				dash(m.ClientID), dash(m.ClientHost), assignmentCell(m.Assignment))
		}
		if err := tw.Flush(); err != nil {
			return err
		}
	}
	if len(g.Partitions) == 0 {
		return nil
	}
	fmt.Fprintln(w)
	tw = tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "TOPIC\tPARTITION\tCURRENT-OFFSET\tLOG-END-OFFSET\tLAG\tMEMBER-ID\tCLIENT-ID\tHOST\tERROR")
	for _, r := range g.Partitions {
		member, client, host := "-", "-", "-"
		if r.MemberID != nil {
			member, client, host = *r.MemberID, dash(deref(r.ClientID)), dash(deref(r.ClientHost))
		}
		perr := "" // a tab and the error, if any
		if r.Error != "" {
			perr = "\t" + r.Error
		}
		fmt.Fprintf(tw, "%s\t%d\t%s\t%s\t%s\t%s\t%s\t%s%s\n", r.Topic, r.Partition, offsetCell(r.CommittedOffset),
			offsetCell(r.EndOffset), offsetCell(r.Lag), member, client, host, perr)
	}
	return tw.Flush()
}

// assignment is a member's decoded consumer-protocol assignment, by topic
// with ascending partitions; empty when it has none or is not a consumer.
func assignment(m kadm.DescribedGroupMember) []assignmentJSON {
	out := []assignmentJSON{}
	a, ok := m.Assigned.AsConsumer()
	if !ok || a == nil {
		return out
	}
	for _, t := range a.Topics {
		ps := append([]int32{}, t.Partitions...)
		sort.Slice(ps, func(i, j int) bool { return ps[i] < ps[j] })
		out = append(out, assignmentJSON{t.Topic, ps})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Topic < out[j].Topic })
	return out
}

// assignmentCell renders an assignment as topic[p,p,...] per topic, or
// "-" when there is none.
func assignmentCell(as []assignmentJSON) string {
	var parts []string
	for _, t := range as {
		nums := make([]string, len(t.Partitions))
		for i, p := range t.Partitions {
			nums[i] = strconv.Itoa(int(p))
		}
		parts = append(parts, t.Topic+"["+strings.Join(nums, ",")+"]")
	}
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
