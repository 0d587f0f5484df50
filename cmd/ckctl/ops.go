package main

import (
	"context"
	"fmt"
	"sort"
	"strconv"
	"strings"
	"text/tabwriter"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// Operations: partition reassignments (kafka-reassign-partitions.sh),
// leader elections (kafka-leader-election.sh), under-replicated
// partitions (kafka-topics.sh --under-replicated-partitions) and log
// directories (kafka-log-dirs.sh).

// underReplicated says whether a partition's ISR lacks some of its
// replicas.
func underReplicated(p kadm.PartitionDetail) bool { return len(p.ISR) < len(p.Replicas) }

// underReplicatedJSON is one element of topic describe
// --under-replicated -o json without a topic.
type underReplicatedJSON struct {
	Topic       string  `json:"topic"`
	Partition   int32   `json:"partition"`
	Leader      int32   `json:"leader"`
	LeaderEpoch int32   `json:"leaderEpoch"`
	Replicas    []int32 `json:"replicas"`
	ISR         []int32 `json:"isr"`
}

// underReplicatedAll prints every under-replicated partition of every
// topic (topic describe --under-replicated without a topic).
func underReplicatedAll(ctx context.Context, e *env, output outputFormat) error {
	var topics kadm.TopicDetails
	err := e.withAdmin(ctx, func(actx context.Context, adm *kadm.Client) (err error) {
		topics, err = adm.ListTopics(actx)
		return err
	})
	if err != nil {
		return fmt.Errorf("listing topics: %w", err)
	}
	rows := []underReplicatedJSON{}
	for _, t := range topics.Sorted() {
		for _, p := range t.Partitions.Sorted() {
			if underReplicated(p) {
				rows = append(rows, underReplicatedJSON{t.Topic, p.Partition, p.Leader, p.LeaderEpoch, orEmpty(p.Replicas), orEmpty(p.ISR)})
			}
		}
	}
	return output.emit(e.stdout, rows, func() error {
		tw := tabwriter.NewWriter(e.stdout, 0, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "TOPIC\tPARTITION\tLEADER\tEPOCH\tREPLICAS\tISR")
		for _, r := range rows {
			fmt.Fprintf(tw, "%s\t%d\t%d\t%d\t%v\t%v\n", r.Topic, r.Partition, r.Leader, r.LeaderEpoch, r.Replicas, r.ISR)
		}
		return tw.Flush()
	})
}

// topicReassign: topic reassign TOPIC PARTITION BROKERS (comma-separated),
// topic reassign --cancel TOPIC PARTITION, topic reassign --list [TOPIC].
func topicReassign(ctx context.Context, e *env, args []string) error {
	fs := newFlagSet("topic reassign", &e.g)
	list := fs.Bool("list", false, "list the reassignments under way (of TOPIC, or all)")
	cancel := fs.Bool("cancel", false, "cancel the reassignment of TOPIC PARTITION")
	output := registerOutput(fs)
	pos, err := parseInterleaved(fs, args)
	if err != nil {
		return err
	}
	switch {
	case *list && *cancel:
		return fmt.Errorf("%w: topic reassign: --list and --cancel exclude each other", errUsage)
	case *list:
		if len(pos) > 1 {
			return exactArgs("topic reassign --list", pos, 1)
		}
		return reassignList(ctx, e, pos, *output)
	case *output != outputText:
		return fmt.Errorf("%w: topic reassign: -o %s is for --list", errUsage, *output)
	case *cancel:
		if err := exactArgs("topic reassign --cancel", pos, 2); err != nil {
			return err
		}
	default:
		if err := exactArgs("topic reassign", pos, 3); err != nil {
			return err
		}
	}
	part, err := strconv.ParseInt(pos[1], 10, 32)
	if err != nil || part < 0 {
		return fmt.Errorf("%w: partition %q is not a partition number", errUsage, pos[1])
	}
	var req kadm.AlterPartitionAssignmentsReq
	if *cancel {
		req.CancelAssign(pos[0], int32(part))
	} else {
		brokers, err := brokerList(pos[2])
		if err != nil {
			return err
		}
		req.Assign(pos[0], int32(part), brokers)
	}
	return e.withAdmin(ctx, func(actx context.Context, adm *kadm.Client) error {
		resps, err := adm.AlterPartitionAssignments(actx, req)
		if err != nil {
			return fmt.Errorf("reassigning %s-%d: %w", pos[0], part, err)
		}
		failed := false
		for _, r := range resps.Sorted() {
			if r.Err != nil {
				failed = true
				fmt.Fprintf(e.stdout, "%s-%d: %v%s\n", r.Topic, r.Partition, r.Err, errMessage(r.ErrMessage))
				continue
			}
			verb := "reassignment started"
			if *cancel {
				verb = "reassignment cancelled"
			}
			fmt.Fprintf(e.stdout, "%s-%d: %s\n", r.Topic, r.Partition, verb)
		}
		if failed {
			return fmt.Errorf("reassigning %s-%d failed", pos[0], part)
		}
		return nil
	})
}

// brokerList parses "1,2,3".
func brokerList(s string) ([]int32, error) {
	var out []int32
	for _, f := range strings.Split(s, ",") {
		n, err := strconv.ParseInt(strings.TrimSpace(f), 10, 32)
		if err != nil {
			return nil, fmt.Errorf("%w: replicas %q: want broker ids separated by commas", errUsage, s)
		}
		out = append(out, int32(n))
	}
	return out, nil
}

// reassignList prints the reassignments under way, of one topic or all.
// kadm lists only named partitions; all of them takes the request with
// null topics, as kafka-reassign-partitions.sh --list sends it.
func reassignList(ctx context.Context, e *env, topics []string, output outputFormat) error {
	cl, err := e.newClient()
	if err != nil {
		return err
	}
	defer cl.Close()
	actx, cancelCtx := e.adminContext(ctx)
	defer cancelCtx()
	req := kmsg.NewPtrListPartitionReassignmentsRequest()
	req.TimeoutMillis = int32(e.g.timeout.Milliseconds())
	if len(topics) == 1 {
		md := kmsg.NewPtrMetadataRequest()
		mt := kmsg.NewMetadataRequestTopic()
		mt.Topic = kmsg.StringPtr(topics[0])
		md.Topics = append(md.Topics, mt)
		mresp, err := md.RequestWith(actx, cl)
		if err != nil {
			return fmt.Errorf("describing topic %q: %w", topics[0], err)
		}
		rt := kmsg.NewListPartitionReassignmentsRequestTopic()
		rt.Topic = topics[0]
		for _, t := range mresp.Topics {
			if err := kerr.ErrorForCode(t.ErrorCode); err != nil {
				return fmt.Errorf("describing topic %q: %w", topics[0], err)
			}
			for _, p := range t.Partitions {
				rt.Partitions = append(rt.Partitions, p.Partition)
			}
		}
		req.Topics = append(req.Topics, rt)
	}
	resp, err := req.RequestWith(actx, cl)
	if err == nil {
		err = kerr.ErrorForCode(resp.ErrorCode)
	}
	if err != nil {
		return fmt.Errorf("listing reassignments: %w", err)
	}
	rows := []reassignmentJSON{}
	for _, t := range resp.Topics {
		for _, p := range t.Partitions {
			rows = append(rows, reassignmentJSON{t.Topic, p.Partition, orEmpty(p.Replicas), orEmpty(p.AddingReplicas), orEmpty(p.RemovingReplicas)})
		}
	}
	sort.Slice(rows, func(i, j int) bool {
		return rows[i].Topic < rows[j].Topic || rows[i].Topic == rows[j].Topic && rows[i].Partition < rows[j].Partition
	})
	return output.emit(e.stdout, rows, func() error {
		tw := tabwriter.NewWriter(e.stdout, 0, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "TOPIC\tPARTITION\tREPLICAS\tADDING\tREMOVING")
		for _, r := range rows {
			fmt.Fprintf(tw, "%s\t%d\t%v\t%v\t%v\n", r.Topic, r.Partition, r.Replicas, r.AddingReplicas, r.RemovingReplicas)
		}
		return tw.Flush()
	})
}

// reassignmentJSON is one element of topic reassign --list -o json.
type reassignmentJSON struct {
	Topic            string  `json:"topic"`
	Partition        int32   `json:"partition"`
	Replicas         []int32 `json:"replicas"`
	AddingReplicas   []int32 `json:"addingReplicas"`
	RemovingReplicas []int32 `json:"removingReplicas"`
}

// electLeaders: elect-leaders [--type preferred|unclean] [TOPIC [PARTITION]].
func electLeaders(ctx context.Context, e *env, args []string) error {
	fs := newFlagSet("elect-leaders", &e.g)
	kind := fs.String("type", "preferred", "election type: preferred or unclean")
	pos, err := parseInterleaved(fs, args)
	if err != nil {
		return err
	}
	how := kadm.ElectPreferredReplica
	switch *kind {
	case "preferred":
	case "unclean":
		how = kadm.ElectLiveReplica
	default:
		return fmt.Errorf("%w: --type %q: want preferred or unclean", errUsage, *kind)
	}
	if len(pos) > 2 {
		return exactArgs("elect-leaders", pos, 2)
	}
	var set kadm.TopicsSet
	switch len(pos) {
	case 2:
		part, err := strconv.ParseInt(pos[1], 10, 32)
		if err != nil || part < 0 {
			return fmt.Errorf("%w: partition %q is not a partition number", errUsage, pos[1])
		}
		set = kadm.TopicsSet{}
		set.Add(pos[0], int32(part))
	case 1:
		if set, err = topicPartitions(ctx, e, pos[0]); err != nil {
			return err
		}
	}
	return e.withAdmin(ctx, func(actx context.Context, adm *kadm.Client) error {
		res, err := adm.ElectLeaders(actx, how, set)
		if err != nil {
			return fmt.Errorf("electing leaders: %w", err)
		}
		var all []kadm.ElectLeadersResult
		for _, ps := range res {
			for _, r := range ps {
				all = append(all, r)
			}
		}
		sort.Slice(all, func(i, j int) bool {
			return all[i].Topic < all[j].Topic || all[i].Topic == all[j].Topic && all[i].Partition < all[j].Partition
		})
		failed := false
		for _, r := range all {
			switch {
			case r.Err == nil:
				fmt.Fprintf(e.stdout, "%s-%d: elected\n", r.Topic, r.Partition)
			case r.Err == kerr.ElectionNotNeeded:
				fmt.Fprintf(e.stdout, "%s-%d: no election needed\n", r.Topic, r.Partition)
			default:
				failed = true
				fmt.Fprintf(e.stdout, "%s-%d: %v%s\n", r.Topic, r.Partition, r.Err, errMessage(r.ErrMessage))
			}
		}
		if len(all) == 0 {
			fmt.Fprintln(e.stdout, "no election needed")
		}
		if failed {
			return fmt.Errorf("some elections failed")
		}
		return nil
	})
}

// topicPartitions is every partition of topic.
func topicPartitions(ctx context.Context, e *env, topic string) (kadm.TopicsSet, error) {
	set := kadm.TopicsSet{}
	err := e.withAdmin(ctx, func(actx context.Context, adm *kadm.Client) error {
		topics, err := adm.ListTopics(actx, topic)
		if err != nil {
			return err
		}
		t, ok := topics[topic]
		switch {
		case !ok:
			return kerr.UnknownTopicOrPartition
		case t.Err != nil:
			return t.Err
		}
		for p := range t.Partitions {
			set.Add(topic, p)
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("describing topic %q: %w", topic, err)
	}
	return set, nil
}

// logDirJSON is one element of log-dirs -o json: a broker's log
// directory and the partitions in it.
type logDirJSON struct {
	Broker     int32                 `json:"broker"`
	Dir        string                `json:"dir"`
	Error      string                `json:"error,omitempty"` // the directory could not be described
	Partitions []logDirPartitionJSON `json:"partitions"`      // by topic, then partition
}

type logDirPartitionJSON struct {
	Topic     string `json:"topic"`
	Partition int32  `json:"partition"`
	SizeBytes int64  `json:"sizeBytes"`
	OffsetLag int64  `json:"offsetLag"`
}

// logDirs: log-dirs [TOPIC...]: each broker's log directories and the
// size and offset lag of each partition in them.
func logDirs(ctx context.Context, e *env, args []string) error {
	fs := newFlagSet("log-dirs", &e.g)
	output := registerOutput(fs)
	pos, err := parseInterleaved(fs, args)
	if err != nil {
		return err
	}
	var set kadm.TopicsSet // nil: every partition
	for _, topic := range pos {
		s, err := topicPartitions(ctx, e, topic)
		if err != nil {
			return err
		}
		if set == nil {
			set = kadm.TopicsSet{}
		}
		set.Merge(s)
	}
	var all kadm.DescribedAllLogDirs
	err = e.withAdmin(ctx, func(actx context.Context, adm *kadm.Client) (err error) {
		all, err = adm.DescribeAllLogDirs(actx, set)
		return err
	})
	if err != nil {
		return fmt.Errorf("describing log directories: %w", err)
	}
	dirs := []logDirJSON{}
	for _, d := range all.Sorted() {
		dir := logDirJSON{Broker: d.Broker, Dir: d.Dir, Partitions: []logDirPartitionJSON{}}
		if d.Err != nil {
			dir.Error = d.Err.Error()
		}
		for _, p := range d.Topics.Sorted() {
			dir.Partitions = append(dir.Partitions, logDirPartitionJSON{p.Topic, p.Partition, p.Size, p.OffsetLag})
		}
		dirs = append(dirs, dir)
	}
	return output.emit(e.stdout, dirs, func() error {
		tw := tabwriter.NewWriter(e.stdout, 0, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "BROKER\tDIR\tTOPIC\tPARTITION\tSIZE\tOFFSET-LAG\tERROR")
		for _, d := range dirs {
			if d.Error != "" {
				fmt.Fprintf(tw, "%d\t%s\t-\t-\t-\t-\t%s\n", d.Broker, d.Dir, d.Error)
				continue
			}
			for _, p := range d.Partitions {
				fmt.Fprintf(tw, "%d\t%s\t%s\t%d\t%d\t%d\t\n", d.Broker, d.Dir, p.Topic, p.Partition, p.SizeBytes, p.OffsetLag)
			}
		}
		return tw.Flush()
	})
}
