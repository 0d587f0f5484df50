package main

import (
	"context"
	"fmt"
	"io"
	"sort"
	"strings"
	"text/tabwriter"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kerr"
)

// configFlags collects repeated -c key=value flags.
type configFlags map[string]*string

func (c configFlags) String() string {
	keys := make([]string, 0, len(c))
	for k := range c {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	parts := make([]string, 0, len(keys))
	for _, k := range keys {
		parts = append(parts, k+"="+*c[k])
	}
	return strings.Join(parts, ",")
}

func (c configFlags) Set(s string) error {
	k, v, ok := strings.Cut(s, "=")
	if !ok || k == "" {
		return fmt.Errorf("config %q is not key=value", s)
	}
	c[k] = &v
	return nil
}

func topicCreate(ctx context.Context, e *env, args []string) error {
	fs := newFlagSet("topic create", &e.g)
	partitions := fs.Int("p", -1, "number of partitions (-1: broker default)")
	fs.IntVar(partitions, "partitions", -1, "number of partitions (-1: broker default)")
	replicas := fs.Int("r", -1, "replication factor (-1: broker default)")
	fs.IntVar(replicas, "replicas", -1, "replication factor (-1: broker default)")
	configs := configFlags{}
	fs.Var(configs, "c", "topic config key=value (repeatable)")
	fs.Var(configs, "config", "topic config key=value (repeatable)")
	pos, err := positional(fs, "topic create", args, 1)
	if err != nil {
		return err
	}
	if *partitions == 0 || *partitions < -1 || *partitions > 1<<20 {
		return fmt.Errorf("%w: -p %d: partitions must be positive or -1", errUsage, *partitions)
	}
	if *replicas == 0 || *replicas < -1 || *replicas > 1<<15-1 {
		return fmt.Errorf("%w: -r %d: replicas must be positive or -1", errUsage, *replicas)
	}
	name := pos[0]
	return e.withAdmin(ctx, func(actx context.Context, adm *kadm.Client) error {
		resp, err := adm.CreateTopic(actx, int32(*partitions), int16(*replicas), configs, name)
		if err != nil {
			return fmt.Errorf("creating topic %q: %w%s", name, err, errMessage(resp.ErrMessage))
		}
		fmt.Fprintf(e.stdout, "created topic %s (partitions %d, replicas %d)\n",
			name, resp.NumPartitions, resp.ReplicationFactor)
		return nil
	})
}

// topicListJSON is one element of topic list -o json.
type topicListJSON struct {
	Name              string `json:"name"`
	PartitionCount    int    `json:"partitionCount"`
	ReplicationFactor int    `json:"replicationFactor"`
	Error             string `json:"error,omitempty"` // the topic's metadata error, if any
}

func topicList(ctx context.Context, e *env, args []string) error {
	fs := newFlagSet("topic list", &e.g)
	output := registerOutput(fs)
	if _, err := positional(fs, "topic list", args, 0); err != nil {
		return err
	}
	var topics kadm.TopicDetails
	err := e.withAdmin(ctx, func(actx context.Context, adm *kadm.Client) (err error) {
		topics, err = adm.ListTopics(actx)
		return err
	})
	if err != nil {
		return fmt.Errorf("listing topics: %w", err)
	}
	rows := []topicListJSON{}
	for _, t := range topics.Sorted() {
		if t.Err != nil {
			rows = append(rows, topicListJSON{Name: t.Topic, Error: t.Err.Error()})
			continue
		}
		rows = append(rows, topicListJSON{Name: t.Topic, PartitionCount: len(t.Partitions), ReplicationFactor: replicaCount(t)})
	}
	return output.emit(e.stdout, rows, func() error {
		tw := tabwriter.NewWriter(e.stdout, 0, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "NAME\tPARTITIONS\tREPLICAS")
		for _, r := range rows {
			if r.Error != "" {
				fmt.Fprintf(tw, "%s\t-\t-\t%s\n", r.Name, r.Error)
				continue
			}
			fmt.Fprintf(tw, "%s\t%d\t%d\n", r.Name, r.PartitionCount, r.ReplicationFactor)
		}
		return tw.Flush()
	})
}

// replicaCount is the replication factor of a topic as seen in metadata:
// the replica count of its first partition.
func replicaCount(t kadm.TopicDetail) int {
	for _, p := range t.Partitions.Sorted() {
		return len(p.Replicas)
	}
	return 0
}

// topicDescribeJSON is topic describe NAME -o json.
type topicDescribeJSON struct {
	Name              string               `json:"name"`
	Internal          bool                 `json:"internal"`
	PartitionCount    int                  `json:"partitionCount"`
	ReplicationFactor int                  `json:"replicationFactor"`
	Partitions        []topicPartitionJSON `json:"partitions"` // by partition; only the under-replicated with --under-replicated
	Configs           []configRow          `json:"configs"`    // by name
	ConfigsError      string               `json:"configsError,omitempty"`
}

type topicPartitionJSON struct {
	Partition       int32   `json:"partition"`
	Leader          int32   `json:"leader"`
	LeaderEpoch     int32   `json:"leaderEpoch"`
	Replicas        []int32 `json:"replicas"`
	ISR             []int32 `json:"isr"`
	UnderReplicated bool    `json:"underReplicated"`
	LogStartOffset  *int64  `json:"logStartOffset"` // null when it could not be listed
	HighWatermark   *int64  `json:"highWatermark"`  // null when it could not be listed
	Error           string  `json:"error,omitempty"`
}

func topicDescribe(ctx context.Context, e *env, args []string) error {
	fs := newFlagSet("topic describe", &e.g)
	urp := fs.Bool("under-replicated", false, "only the partitions whose ISR lacks replicas")
	output := registerOutput(fs)
	pos, err := parseInterleaved(fs, args)
	if err != nil {
		return err
	}
	if *urp && len(pos) == 0 {
		return underReplicatedAll(ctx, e, *output)
	}
	if err := exactArgs("topic describe", pos, 1); err != nil {
		return err
	}
	var doc topicDescribeJSON
	err = e.withAdmin(ctx, func(actx context.Context, adm *kadm.Client) (err error) {
		doc, err = describeTopic(actx, adm, pos[0], *urp)
		return err
	})
	if err != nil {
		return err
	}
	return output.emit(e.stdout, doc, func() error { return printTopic(e.stdout, doc) })
}

// describeTopic gathers a topic's metadata, offsets and configs.
func describeTopic(ctx context.Context, adm *kadm.Client, name string, urpOnly bool) (topicDescribeJSON, error) {
	topics, err := adm.ListTopics(ctx, name)
	if err != nil {
		return topicDescribeJSON{}, fmt.Errorf("describing topic %q: %w", name, err)
	}
	t, ok := topics[name]
	if !ok {
		return topicDescribeJSON{}, fmt.Errorf("describing topic %q: not in the metadata response", name)
	}
	if t.Err != nil {
		return topicDescribeJSON{}, fmt.Errorf("describing topic %q: %w", name, t.Err)
	}
	configs, err := adm.DescribeTopicConfigs(ctx, name)
	if err != nil {
		return topicDescribeJSON{}, fmt.Errorf("describing configs of topic %q: %w", name, err)
	}
	starts, startErr := adm.ListStartOffsets(ctx, name)
	ends, endErr := adm.ListEndOffsets(ctx, name)
	doc := topicDescribeJSON{Name: t.Topic, Internal: t.IsInternal, PartitionCount: len(t.Partitions),
		ReplicationFactor: replicaCount(t), Partitions: []topicPartitionJSON{}, Configs: []configRow{}}
	for _, p := range t.Partitions.Sorted() {
		if urpOnly && !underReplicated(p) {
			continue
		}
		row := topicPartitionJSON{Partition: p.Partition, Leader: p.Leader, LeaderEpoch: p.LeaderEpoch,
			Replicas: orEmpty(p.Replicas), ISR: orEmpty(p.ISR), UnderReplicated: underReplicated(p),
			LogStartOffset: listedOffset(starts, startErr, name, p.Partition),
			HighWatermark:  listedOffset(ends, endErr, name, p.Partition)}
		if p.Err != nil {
			row.Error = p.Err.Error()
		}
		doc.Partitions = append(doc.Partitions, row)
	}
	for _, rc := range configs {
		if rc.Err != nil {
			doc.ConfigsError = fmt.Sprintf("%v%s", rc.Err, errMessage(rc.ErrMessage))
			continue
		}
		for _, c := range rc.Configs {
			doc.Configs = append(doc.Configs, configRow{Name: c.Key, Value: c.Value, Source: c.Source.String(), Sensitive: c.Sensitive})
		}
	}
	sort.Slice(doc.Configs, func(i, j int) bool { return doc.Configs[i].Name < doc.Configs[j].Name })
	return doc, nil
}

// printTopic writes topic describe's tables.
func printTopic(w io.Writer, doc topicDescribeJSON) error {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintf(tw, "NAME\t%s\n", doc.Name)
	fmt.Fprintf(tw, "INTERNAL\t%t\n", doc.Internal)
	fmt.Fprintf(tw, "PARTITIONS\t%d\n", doc.PartitionCount)
	fmt.Fprintf(tw, "REPLICAS\t%d\n\n", doc.ReplicationFactor)
	fmt.Fprintln(tw, "PARTITION\tLEADER\tEPOCH\tREPLICAS\tISR\tUNDER-REPLICATED\tLOG-START\tHIGH-WATERMARK\tERROR")
	for _, p := range doc.Partitions {
		ur := "no"
		if p.UnderReplicated {
			ur = "yes"
		}
		fmt.Fprintf(tw, "%d\t%d\t%d\t%v\t%v\t%s\t%s\t%s\t%s\n", p.Partition, p.Leader, p.LeaderEpoch,
			p.Replicas, p.ISR, ur, offsetCell(p.LogStartOffset), offsetCell(p.HighWatermark), p.Error)
	}
	fmt.Fprintln(tw)
	fmt.Fprintln(tw, "CONFIG\tVALUE\tSOURCE")
	if doc.ConfigsError != "" {
		fmt.Fprintf(tw, "(error)\t%s\t\n", doc.ConfigsError)
	}
	for _, c := range doc.Configs {
		v := deref(c.Value)
		if c.Sensitive {
			v = "(sensitive)"
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\n", c.Name, v, c.Source)
	}
	return tw.Flush()
}

// listedOffset is one listed offset, or nil when it could not be listed.
func listedOffset(offs kadm.ListedOffsets, err error, topic string, partition int32) *int64 {
	if err != nil {
		return nil
	}
	o, ok := offs.Lookup(topic, partition)
	if !ok || o.Err != nil {
		return nil
	}
	return &o.Offset
}

// offsetCell renders an offset, or "-" when there is none.
func offsetCell(o *int64) string {
	if o == nil {
		return "-"
	}
	return fmt.Sprint(*o)
}

func topicDelete(ctx context.Context, e *env, args []string) error {
	fs := newFlagSet("topic delete", &e.g)
	pos, err := positional(fs, "topic delete", args, 1)
	if err != nil {
		return err
	}
	name := pos[0]
	return e.withAdmin(ctx, func(actx context.Context, adm *kadm.Client) error {
		resp, err := adm.DeleteTopic(actx, name)
		if err == nil {
			err = resp.Err
		}
		if err != nil {
			return fmt.Errorf("deleting topic %q: %w%s", name, err, errMessage(resp.ErrMessage))
		}
		fmt.Fprintf(e.stdout, "deleted topic %s\n", name)
		return nil
	})
}

func errMessage(m string) string {
	if m == "" {
		return ""
	}
	return " (" + m + ")"
}

// topicTrim deletes the records of a topic's partitions below an offset
// (DeleteRecords): --offset -1, the default, trims each partition to
// its high watermark; --partition -1, the default, trims every
// partition. It prints each partition's new low watermark.
func topicTrim(ctx context.Context, e *env, args []string) error {
	fs := newFlagSet("topic trim", &e.g)
	partition := fs.Int("partition", -1, "the partition to trim (-1: every partition)")
	fs.IntVar(partition, "p", -1, "the partition to trim (-1: every partition)")
	offset := fs.Int64("offset", -1, "delete the records below this offset (-1: the high watermark)")
	fs.Int64Var(offset, "o", -1, "delete the records below this offset (-1: the high watermark)")
	pos, err := parseInterleaved(fs, args)
	if err != nil {
		return err
	}
	if err := exactArgs("topic trim", pos, 1); err != nil {
		return err
	}
	if *offset < -1 {
		return fmt.Errorf("%w: --offset %d: want an offset or -1 (the high watermark)", errUsage, *offset)
	}
	if *partition < -1 || *partition > 1<<31-1 {
		return fmt.Errorf("%w: --partition %d: want a partition or -1 (all)", errUsage, *partition)
	}
	name := pos[0]
	return e.withAdmin(ctx, func(actx context.Context, adm *kadm.Client) error {
		parts := []int32{int32(*partition)}
		if *partition == -1 {
			topics, err := adm.ListTopics(actx, name)
			if err == nil {
				err = topics[name].Err
			}
			if err == nil && !topics.Has(name) {
				err = kerr.UnknownTopicOrPartition
			}
			if err != nil {
				return fmt.Errorf("trimming topic %q: %w", name, err)
			}
			parts = topics[name].Partitions.Numbers()
		}
		os := make(kadm.Offsets)
		for _, p := range parts {
			os.Add(kadm.Offset{Topic: name, Partition: p, At: *offset, LeaderEpoch: -1})
		}
		resps, err := adm.DeleteRecords(actx, os)
		if err != nil {
			return fmt.Errorf("trimming topic %q: %w", name, err)
		}
		var failed error
		for _, r := range resps.Sorted() {
			if r.Err != nil {
				fmt.Fprintf(e.stdout, "%s partition %d: %v\n", r.Topic, r.Partition, r.Err)
				failed = fmt.Errorf("trimming %s partition %d: %w", r.Topic, r.Partition, r.Err)
				continue
			}
			fmt.Fprintf(e.stdout, "%s partition %d: log start %d\n", r.Topic, r.Partition, r.LowWatermark)
		}
		return failed
	})
}
