package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"
	"text/tabwriter"

	"github.com/twmb/franz-go/pkg/kadm"
)

// ckctl config: a topic's, a broker's or the cluster-wide dynamic
// configuration, read with DescribeConfigs and changed with
// IncrementalAlterConfigs (the broker stores, announces and applies it;
// nothing restarts).
//
//	config get (--topic T | --broker ID | --cluster) [NAME...] [--synonyms] [-o text|json]
//	config set (--topic T | --broker ID | --cluster) KEY=VALUE... [--dry-run]
//	config delete (--topic T | --broker ID | --cluster) KEY... [--dry-run]
//
// In config set, KEY+=V appends V to a list config and KEY-=V removes it.

func configCommand(ctx context.Context, e *env, args []string) error {
	if len(args) == 0 {
		return fmt.Errorf("%w: config needs a subcommand: get, set or delete", errUsage)
	}
	sub, rest := args[0], args[1:]
	switch sub {
	case "get", "describe":
		return configGet(ctx, e, rest)
	case "set":
		return configAlter(ctx, e, rest, false)
	case "delete":
		return configAlter(ctx, e, rest, true)
	default:
		return fmt.Errorf("%w: unknown config subcommand %q", errUsage, sub)
	}
}

// configTarget is the resource a config command names.
type configTarget struct {
	topic   string
	broker  string
	cluster bool
}

func (c *configTarget) register(fs *flag.FlagSet) {
	fs.StringVar(&c.topic, "topic", "", "the topic")
	fs.StringVar(&c.broker, "broker", "", "the broker (its id)")
	fs.BoolVar(&c.cluster, "cluster", false, "the cluster-wide broker defaults")
}

func (c *configTarget) check() error {
	n := 0
	for _, given := range []bool{c.topic != "", c.broker != "", c.cluster} {
		if given {
			n++
		}
	}
	if n != 1 {
		return fmt.Errorf("%w: name exactly one of --topic T, --broker ID or --cluster", errUsage)
	}
	if c.broker != "" {
		if _, err := strconv.ParseInt(c.broker, 10, 32); err != nil {
			return fmt.Errorf("%w: --broker %q is not a broker id", errUsage, c.broker)
		}
	}
	return nil
}

func (c *configTarget) String() string {
	switch {
	case c.topic != "":
		return "topic " + c.topic
	case c.broker != "":
		return "broker " + c.broker
	}
	return "the cluster-wide broker defaults"
}

// configRow is one config as config get shows it.
type configRow struct {
	Name      string          `json:"name"`
	Value     *string         `json:"value"`
	Source    string          `json:"source"`
	Sensitive bool            `json:"sensitive,omitempty"`
	Synonyms  []configSynonym `json:"synonyms,omitempty"`
}

type configSynonym struct {
	Name   string  `json:"name"`
	Value  *string `json:"value"`
	Source string  `json:"source"`
}

func configGet(ctx context.Context, e *env, args []string) error {
	fs := newFlagSet("config get", &e.g)
	var target configTarget
	target.register(fs)
	synonyms := fs.Bool("synonyms", false, "also show where each value could come from, by precedence")
	output := registerOutput(fs)
	names, err := parseInterleaved(fs, args)
	if err != nil {
		return err
	}
	if err := target.check(); err != nil {
		return err
	}
	var res kadm.ResourceConfigs
	err = e.withAdmin(ctx, func(actx context.Context, adm *kadm.Client) (err error) {
		switch {
		case target.topic != "":
			res, err = adm.DescribeTopicConfigs(actx, target.topic)
		case target.broker != "":
			id, _ := strconv.ParseInt(target.broker, 10, 32)
			res, err = adm.DescribeBrokerConfigs(actx, int32(id))
		default:
			res, err = adm.DescribeBrokerConfigs(actx)
		}
		return err
	})
	if err != nil {
		return fmt.Errorf("describing the configuration of %s: %w", &target, err)
	}
	if len(res) != 1 {
		return fmt.Errorf("describing the configuration of %s: the broker answered %d resources; want 1", &target, len(res))
	}
	if r := res[0]; r.Err != nil {
		return fmt.Errorf("configuration of %s: %s", &target, brokerError(r.Err, r.ErrMessage))
	}
	var rows []configRow
	for _, c := range res[0].Configs {
		if len(names) > 0 && !slices.Contains(names, c.Key) {
			continue
		}
		row := configRow{Name: c.Key, Value: c.Value, Source: c.Source.String(), Sensitive: c.Sensitive}
		if *synonyms {
			for _, s := range c.Synonyms {
				row.Synonyms = append(row.Synonyms, configSynonym{Name: s.Key, Value: s.Value, Source: s.Source.String()})
			}
		}
		rows = append(rows, row)
	}
	for _, n := range names {
		if !slices.ContainsFunc(rows, func(r configRow) bool { return r.Name == n }) {
			return fmt.Errorf("configuration of %s: no config named %q", &target, n)
		}
	}
	slices.SortFunc(rows, func(x, y configRow) int { return strings.Compare(x.Name, y.Name) })
	return output.emit(e.stdout, orEmpty(rows), func() error { return printConfigs(e.stdout, rows) })
}

// printConfigs writes config get's table.
func printConfigs(w io.Writer, rows []configRow) error {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "NAME\tVALUE\tSOURCE")
	show := func(v *string, sensitive bool) string {
		switch {
		case sensitive:
			return "(sensitive)"
		case v == nil:
			return "(null)"
		}
		return *v
	}
	for _, r := range rows {
		fmt.Fprintf(tw, "%s\t%s\t%s\n", r.Name, show(r.Value, r.Sensitive), r.Source)
		for _, s := range r.Synonyms {
			fmt.Fprintf(tw, "  %s\t%s\t%s\n", s.Name, show(s.Value, r.Sensitive), s.Source)
		}
	}
	return tw.Flush()
}

// configAlter is config set (KEY=VALUE, KEY+=V, KEY-=V) and config
// delete (KEY).
func configAlter(ctx context.Context, e *env, args []string, deleting bool) error {
	name := "config set"
	if deleting {
		name = "config delete"
	}
	fs := newFlagSet(name, &e.g)
	var target configTarget
	target.register(fs)
	dryRun := fs.Bool("dry-run", false, "have the broker validate the change without storing it")
	items, err := parseInterleaved(fs, args)
	if err != nil {
		return err
	}
	if err := target.check(); err != nil {
		return err
	}
	if len(items) == 0 {
		return fmt.Errorf("%w: %s needs at least one %s", errUsage, name, map[bool]string{false: "KEY=VALUE", true: "KEY"}[deleting])
	}
	var ops []kadm.AlterConfig
	var done []string
	for _, it := range items {
		op := kadm.AlterConfig{Name: it, Op: kadm.DeleteConfig}
		if !deleting {
			k, v, ok := strings.Cut(it, "=")
			if !ok || k == "" {
				return fmt.Errorf("%w: %q is not KEY=VALUE", errUsage, it)
			}
			op = kadm.AlterConfig{Name: k, Op: kadm.SetConfig, Value: kadm.StringPtr(v)}
			switch {
			case strings.HasSuffix(k, "+"):
				op.Name, op.Op = strings.TrimSuffix(k, "+"), kadm.AppendConfig
			case strings.HasSuffix(k, "-"):
				op.Name, op.Op = strings.TrimSuffix(k, "-"), kadm.SubtractConfig
			}
		}
		if slices.ContainsFunc(ops, func(o kadm.AlterConfig) bool { return o.Name == op.Name }) {
			return fmt.Errorf("%w: %s is given twice", errUsage, op.Name)
		}
		ops = append(ops, op)
		done = append(done, it)
	}
	var res kadm.AlterConfigsResponses
	err = e.withAdmin(ctx, func(actx context.Context, adm *kadm.Client) (err error) {
		switch {
		case target.topic != "" && *dryRun:
			res, err = adm.ValidateAlterTopicConfigs(actx, ops, target.topic)
		case target.topic != "":
			res, err = adm.AlterTopicConfigs(actx, ops, target.topic)
		default:
			var brokers []int32
			if target.broker != "" {
				id, _ := strconv.ParseInt(target.broker, 10, 32)
				brokers = append(brokers, int32(id))
			}
			if *dryRun {
				res, err = adm.ValidateAlterBrokerConfigs(actx, ops, brokers...)
			} else {
				res, err = adm.AlterBrokerConfigs(actx, ops, brokers...)
			}
		}
		return err
	})
	if err != nil {
		return fmt.Errorf("altering the configuration of %s: %w", &target, err)
	}
	if len(res) != 1 {
		return fmt.Errorf("altering the configuration of %s: the broker answered %d resources; want 1", &target, len(res))
	}
	if r := res[0]; r.Err != nil {
		return fmt.Errorf("configuration of %s: %s", &target, brokerError(r.Err, r.ErrMessage))
	}
	what := "altered"
	if *dryRun {
		what = "validated (dry run, nothing stored)"
	}
	verb := "set"
	if deleting {
		verb = "deleted"
	}
	fmt.Fprintf(e.stdout, "%s the configuration of %s: %s %s\n", what, &target, verb, strings.Join(done, ", "))
	return nil
}
