package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"
)

// brokersDefault is used when neither -b nor $CKCTL_BROKERS is given.
const brokersDefault = "127.0.0.1:9092"

// errUsage marks a command-line mistake; run prints the usage after it.
var errUsage = errors.New("usage")

const usageText = `usage: ckctl [-b host:port,...] [-timeout 30s] [connection flags] COMMAND

connection flags (every command):
  --tls                  connect with TLS (implied by any --tls-* file)
  --tls-ca FILE          PEM roots that verify the brokers (default: the system's)
  --tls-cert FILE --tls-key FILE
                         client certificate and key, for mTLS listeners
  --sasl-mechanism PLAIN|SCRAM-SHA-256|SCRAM-SHA-512
  --sasl-user NAME --sasl-password P

commands:
  cluster [-o text|json]
  topic create NAME [-p partitions] [-r replicas] [-c key=value ...]
  topic list [-o text|json]
  topic describe NAME [--under-replicated] [-o text|json]
  topic describe --under-replicated [-o text|json]
  topic delete NAME
  topic reassign TOPIC PARTITION BROKER,BROKER...
  topic reassign --cancel TOPIC PARTITION
  topic reassign --list [TOPIC] [-o text|json]
  elect-leaders [--type preferred|unclean] [TOPIC [PARTITION]]
  log-dirs [TOPIC...] [-o text|json]
  produce TOPIC [-k key] [-p partition] [-v]
  consume TOPIC [-o earliest|latest|N] [-n count] [-p partition] [-idle 2s]
  group list [-o text|json]
  group describe GROUP... [-o text|json]
  group lag GROUP... [--watch [--interval 2s] [--count N]] [-o text|json]
  group delete GROUP...
  group seek GROUP --to earliest|latest|OFFSET [--topics t1,t2] [--dry-run]
  group seek GROUP --to-timestamp MS [--topics t1,t2] [--dry-run]
  user create NAME [--mechanism SCRAM-SHA-256|SCRAM-SHA-512] [--iterations 4096] [--password P]
  user delete NAME [--mechanism SCRAM-SHA-256|SCRAM-SHA-512]
  user list [NAME...] [-o text|json]
  acl create (--allow-principal P | --deny-principal P)... [--allow-host H]... [--deny-host H]...
             --operation OP... RESOURCE... [--resource-pattern-type literal|prefixed]
  acl list [RESOURCE...] [--resource-pattern-type any|match|literal|prefixed]
           [--principal P]... [--host H]... [--operation OP]... [--permission allow|deny|any] [-o text|json]
  acl delete (RESOURCE... | --all) [the filters of acl list]
  quota alter ENTITY (--add KEY=VALUE | --delete KEY)... [--dry-run]
  quota describe [--user U | --default-user | --any-user]
                 [--client-id C | --default-client-id | --any-client-id] [--strict] [-o text|json]
  config get (--topic T | --broker ID | --cluster) [NAME...] [--synonyms] [-o text|json]
  config set (--topic T | --broker ID | --cluster) KEY=VALUE... [--dry-run]
  config delete (--topic T | --broker ID | --cluster) KEY... [--dry-run]

RESOURCE is --topic NAME, --group ID, --transactional-id ID (each
repeatable) or --cluster. OP is read, write, create, delete, alter,
describe, cluster_action, describe_configs, alter_configs,
idempotent_write or all (any too, in filters), case-insensitive; a
principal without a type, "alice", is "User:alice". Hosts default to *.
acl list without a resource lists every ACL; acl delete needs a resource
or --all, and prints what it deleted. The ACL commands need a broker
with an authorizer (authorizer.class.name); without one it answers
SECURITY_DISABLED.

quota alter's ENTITY is a user (--user U or --default-user), a client id
(--client-id C or --default-client-id), or one of each; the default
entity applies to every user or client id without its own. The user is
the principal's name (ANONYMOUS on PLAINTEXT). KEY is producer_byte_rate,
consumer_byte_rate (bytes per second), request_percentage or
controller_mutation_rate; the broker checks them. quota describe without
filters shows every entity with quotas; a filter also matches entities
that combine it with the other type, unless --strict.

config changes a topic's, a broker's or the cluster-wide (--cluster)
configuration at run time: the broker stores it, tells the other brokers
and applies it without a restart; an invalid name or value changes
nothing. In config set, KEY+=V appends V to a list config (such as
cleanup.policy) and KEY-=V removes it. config get shows each value with
its source (DYNAMIC_TOPIC_CONFIG, DYNAMIC_BROKER_CONFIG,
DYNAMIC_DEFAULT_BROKER_CONFIG, STATIC_BROKER_CONFIG, DEFAULT_CONFIG);
--cluster shows only the cluster-wide dynamic values.

topic create -c is repeatable and passes any topic config (key=value) to
the broker, which validates it. group seek needs an inactive group (no
members) and resets the committed offsets of --topics, or else of every
partition the group has committed. topic describe marks the partitions
whose ISR lacks replicas; --under-replicated shows only those (of every
topic when no NAME is given). topic reassign moves a partition to the
given replicas (the first is preferred) through the controller, which
adds the new ones, waits for them to catch up and removes the old.
elect-leaders without a topic asks for every partition. user create
salts and hashes the password (read from the first line of standard input
unless --password is given) and stores the SCRAM credential; user list
shows each user's mechanisms and iterations, never a secret.

-o json prints one JSON document instead of the table (an object or
an array, indented; fields in lowerCamelCase; the table's order; an
empty list is [], a missing value null); anything but text or json is a
usage error. The shapes (field? appears only when set):
  cluster          {cluster, controller, brokers: [{nodeId, host, port, rack, controller}]}
  topic list       [{name, partitionCount, replicationFactor, error?}]
  topic describe   {name, internal, partitionCount, replicationFactor,
                    partitions: [{partition, leader, leaderEpoch, replicas, isr,
                    underReplicated, logStartOffset, highWatermark, error?}],
                    configs: [{name, value, source, sensitive?}], configsError?}
  topic describe --under-replicated (no NAME)
                   [{topic, partition, leader, leaderEpoch, replicas, isr}]
  topic reassign --list
                   [{topic, partition, replicas, addingReplicas, removingReplicas}]
  log-dirs         [{broker, dir, error?, partitions: [{topic, partition, sizeBytes, offsetLag}]}]
  group list       [{group, state, protocolType}]
  group describe   [{group, coordinator, state, protocolType, protocol, totalLag,
                    members: [{memberId, instanceId, clientId, clientHost,
                    assignment: [{topic, partitions}]}],
                    partitions: [{topic, partition, committedOffset, endOffset, lag,
                    memberId, clientId, clientHost, error?}]}]
  group lag        [{group, totalLag, partitions: [{topic, partition,
                    committedOffset, endOffset, lag, error?}]}]
  group lag --watch  one line per refresh: {time, groups: [as group lag]}
  user list        [{user, credentials: [{mechanism, iterations}]}]
  acl list         [{principal, host, resourceType, resourceName, patternType,
                    operation, permission}]
  quota describe   [{name, entity: [{type, name}], quotas: [{key, value}]}]
                   (an entity name null is the default entity)
  config get       [{name, value, source, sensitive?, synonyms?: [{name, value, source}]}]

group lag shows, for each partition a group has committed, the
committed offset, the end offset (the high watermark) and the lag (end
minus committed, never below 0), and each group's total; an unknown
group is an error. --watch prints it again every --interval (2s) until
interrupted, each table after a timestamp line, or one JSON line per
refresh with -o json; --count N stops after N refreshes, for scripts.

The brokers default to $CKCTL_BROKERS, else ` + brokersDefault + `. The
connection flags default to $CKCTL_TLS_CA, $CKCTL_TLS_CERT, $CKCTL_TLS_KEY,
$CKCTL_SASL_MECHANISM, $CKCTL_SASL_USER and $CKCTL_SASL_PASSWORD, which
keeps the password out of the process list.
`

// globals are the flags that every command accepts.
type globals struct {
	brokers string
	// timeout bounds each administrative request (not produce or consume).
	timeout time.Duration
	// conn says how to reach secured listeners (conn.go).
	conn connFlags
}

// env is what a command reads and writes; tests run commands in-process.
type env struct {
	g      globals
	stdin  io.Reader
	stdout io.Writer
	stderr io.Writer
}

// run executes one ckctl invocation and returns its exit code: 0 on success,
// 1 on a failed operation, 2 on a usage error.
func run(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	e := &env{stdin: stdin, stdout: stdout, stderr: stderr}
	err := dispatch(ctx, e, args)
	switch {
	case err == nil:
		return 0
	case errors.Is(err, flag.ErrHelp):
		fmt.Fprint(stderr, usageText)
		return 0
	case errors.Is(err, errUsage):
		fmt.Fprintf(stderr, "ckctl: %v\n\n%s", err, usageText)
		return 2
	default:
		fmt.Fprintf(stderr, "ckctl: %v\n", err)
		return 1
	}
}

func dispatch(ctx context.Context, e *env, args []string) error {
	fs := newFlagSet("ckctl", &e.g)
	rest, err := parseInterleaved(fs, args)
	if err != nil {
		return err
	}
	if len(rest) == 0 {
		return fmt.Errorf("%w: no command given", errUsage)
	}
	cmd, rest := rest[0], rest[1:]
	switch cmd {
	case "topic", "topics":
		return topicCommand(ctx, e, rest)
	case "produce":
		return produceCommand(ctx, e, rest)
	case "consume":
		return consumeCommand(ctx, e, rest)
	case "group", "groups":
		return groupCommand(ctx, e, rest)
	case "cluster":
		return clusterDescribe(ctx, e, rest)
	case "elect-leaders":
		return electLeaders(ctx, e, rest)
	case "log-dirs":
		return logDirs(ctx, e, rest)
	case "user", "users":
		return userCommand(ctx, e, rest)
	case "acl", "acls":
		return aclCommand(ctx, e, rest)
	case "quota", "quotas":
		return quotaCommand(ctx, e, rest)
	case "config", "configs":
		return configCommand(ctx, e, rest)
	case "help":
		return flag.ErrHelp
	default:
		return fmt.Errorf("%w: unknown command %q", errUsage, cmd)
	}
}

func topicCommand(ctx context.Context, e *env, args []string) error {
	if len(args) == 0 {
		return fmt.Errorf("%w: topic needs a subcommand: create, list, describe, delete, reassign or trim", errUsage)
	}
	sub, rest := args[0], args[1:]
	switch sub {
	case "create":
		return topicCreate(ctx, e, rest)
	case "list", "ls":
		return topicList(ctx, e, rest)
	case "describe":
		return topicDescribe(ctx, e, rest)
	case "delete":
		return topicDelete(ctx, e, rest)
	case "reassign":
		return topicReassign(ctx, e, rest)
	case "trim":
		return topicTrim(ctx, e, rest)
	default:
		return fmt.Errorf("%w: unknown topic subcommand %q", errUsage, sub)
	}
}

// newFlagSet returns a flag set that also carries the global flags, so that
// -b may stand before or after the command.
func newFlagSet(name string, g *globals) *flag.FlagSet {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	brokers := os.Getenv("CKCTL_BROKERS")
	if brokers == "" {
		brokers = brokersDefault
	}
	if g.brokers != "" {
		brokers = g.brokers
	}
	timeout := 30 * time.Second
	if g.timeout != 0 {
		timeout = g.timeout
	}
	fs.StringVar(&g.brokers, "b", brokers, "comma-separated seed brokers host:port")
	fs.StringVar(&g.brokers, "brokers", brokers, "comma-separated seed brokers host:port")
	fs.DurationVar(&g.timeout, "timeout", timeout, "bound on each administrative request")
	g.conn.register(fs)
	return fs
}

// parseInterleaved parses flags that may appear before, between or after
// positional arguments, and returns the positional ones in order. A lone
// "--" ends flag parsing.
func parseInterleaved(fs *flag.FlagSet, args []string) ([]string, error) {
	var positional []string
	for {
		if err := fs.Parse(args); err != nil {
			if errors.Is(err, flag.ErrHelp) {
				return nil, err
			}
			return nil, fmt.Errorf("%w: %v", errUsage, err)
		}
		rest := fs.Args()
		consumed := len(args) - len(rest)
		if consumed > 0 && args[consumed-1] == "--" {
			// flag.Parse stops at "--" and drops it; the rest is positional.
			return append(positional, rest...), nil
		}
		if len(rest) == 0 {
			return positional, nil
		}
		positional = append(positional, rest[0])
		args = rest[1:]
		// At the top level, stop at the command word so that the command's
		// own flags are left for its flag set.
		if fs.Name() == "ckctl" {
			return append(positional, args...), nil
		}
	}
}

// exactArgs checks the count of positional arguments.
func exactArgs(what string, got []string, want int) error {
	if len(got) != want {
		return fmt.Errorf("%w: %s takes %d argument(s), got %d: %q", errUsage, what, want, len(got), got)
	}
	return nil
}

// newClient returns a kgo client for the configured brokers, secured as
// the connection flags say. Every command's client is made here.
func (e *env) newClient(opts ...kgo.Opt) (*kgo.Client, error) {
	seeds := splitBrokers(e.g.brokers)
	if len(seeds) == 0 {
		return nil, fmt.Errorf("%w: no brokers given", errUsage)
	}
	conn, err := e.g.conn.opts()
	if err != nil {
		return nil, err
	}
	base := []kgo.Opt{
		kgo.SeedBrokers(seeds...),
		kgo.ClientID("ckctl"),
		kgo.DialTimeout(5 * time.Second),
	}
	base = append(base, conn...)
	cl, err := kgo.NewClient(append(base, opts...)...)
	if err != nil {
		return nil, fmt.Errorf("creating client for %s: %w", e.g.brokers, err)
	}
	return cl, nil
}

// newAdmin returns a kadm client; close it with Close on the returned client.
func (e *env) newAdmin() (*kadm.Client, error) {
	cl, err := e.newClient()
	if err != nil {
		return nil, err
	}
	return kadm.NewClient(cl), nil
}

func splitBrokers(s string) []string {
	var out []string
	for _, b := range strings.Split(s, ",") {
		if b = strings.TrimSpace(b); b != "" {
			out = append(out, b)
		}
	}
	return out
}

// adminContext bounds one administrative operation.
func (e *env) adminContext(ctx context.Context) (context.Context, context.CancelFunc) {
	return context.WithTimeout(ctx, e.g.timeout)
}

// withAdmin runs fn with an admin client and a context bounded by the
// request timeout, closing both afterwards.
func (e *env) withAdmin(ctx context.Context, fn func(context.Context, *kadm.Client) error) error {
	adm, err := e.newAdmin()
	if err != nil {
		return err
	}
	defer adm.Close()
	actx, cancel := e.adminContext(ctx)
	defer cancel()
	return fn(actx, adm)
}

// positional parses flags interleaved with arguments and requires exactly
// want arguments.
func positional(fs *flag.FlagSet, what string, args []string, want int) ([]string, error) {
	pos, err := parseInterleaved(fs, args)
	if err != nil {
		return nil, err
	}
	return pos, exactArgs(what, pos, want)
}
