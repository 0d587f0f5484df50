// Command ckctl is the Cloud Kafka operator CLI, in the spirit of rpk: it
// shows the cluster (brokers, controller, cluster id), creates, lists,
// describes (each partition's leader, replicas and ISR, under-replicated
// partitions marked), trims (deletes records below an offset) and deletes topics, reassigns partitions, elects
// leaders, shows brokers' log directories, produces lines from standard input, consumes partitions
// directly (no consumer group), lists, describes, deletes and resets
// the offsets of consumer groups, shows or watches their lag, manages
// SCRAM users, creates, lists and deletes ACLs, alters and describes client quotas, and reads and
// changes topic and broker configurations at run time.
//
//	ckctl [-b host:port,...] cluster [-o text|json]
//	ckctl [-b host:port,...] topic create NAME [-p partitions] [-r replicas] [-c key=value ...]
//	ckctl [-b host:port,...] topic list [-o text|json]
//	ckctl [-b host:port,...] topic describe NAME [--under-replicated] [-o text|json]
//	ckctl [-b host:port,...] topic describe --under-replicated [-o text|json]
//	ckctl [-b host:port,...] topic delete NAME
//	ckctl [-b host:port,...] topic trim NAME [--partition P] [--offset N|-1]
//	ckctl [-b host:port,...] topic reassign TOPIC PARTITION BROKER,BROKER...
//	ckctl [-b host:port,...] topic reassign --cancel TOPIC PARTITION
//	ckctl [-b host:port,...] topic reassign --list [TOPIC] [-o text|json]
//	ckctl [-b host:port,...] elect-leaders [--type preferred|unclean] [TOPIC [PARTITION]]
//	ckctl [-b host:port,...] log-dirs [TOPIC...] [-o text|json]
//	ckctl [-b host:port,...] produce TOPIC [-k key] [-p partition] [-v]
//	ckctl [-b host:port,...] consume TOPIC [-o earliest|latest|N] [-n count] [-p partition]
//	ckctl [-b host:port,...] group list [-o text|json]
//	ckctl [-b host:port,...] group describe GROUP... [-o text|json]
//	ckctl [-b host:port,...] group lag GROUP... [--watch [--interval 2s] [--count N]] [-o text|json]
//	ckctl [-b host:port,...] group delete GROUP...
//	ckctl [-b host:port,...] group seek GROUP --to earliest|latest|OFFSET|--to-timestamp MS [--topics t1,t2] [--dry-run]
//	ckctl [-b host:port,...] user create NAME [--mechanism SCRAM-SHA-256|SCRAM-SHA-512] [--iterations N] [--password P]
//	ckctl [-b host:port,...] user delete NAME [--mechanism SCRAM-SHA-256|SCRAM-SHA-512]
//	ckctl [-b host:port,...] user list [NAME...] [-o text|json]
//	ckctl [-b host:port,...] acl create (--allow-principal P | --deny-principal P)... [--allow-host H]... [--deny-host H]...
//	      --operation OP... RESOURCE... [--resource-pattern-type literal|prefixed]
//	ckctl [-b host:port,...] acl list [RESOURCE...] [--resource-pattern-type any|match|literal|prefixed]
//	      [--principal P]... [--host H]... [--operation OP]... [--permission allow|deny|any] [-o text|json]
//	ckctl [-b host:port,...] acl delete (RESOURCE... | --all) [the filters of acl list]
//	ckctl [-b host:port,...] quota alter ENTITY (--add KEY=VALUE | --delete KEY)... [--dry-run]
//	ckctl [-b host:port,...] quota describe [--user U | --default-user | --any-user]
//	      [--client-id C | --default-client-id | --any-client-id] [--strict] [-o text|json]
//	ckctl [-b host:port,...] config get (--topic T | --broker ID | --cluster) [NAME...] [--synonyms] [-o text|json]
//	ckctl [-b host:port,...] config set (--topic T | --broker ID | --cluster) KEY=VALUE... [--dry-run]
//	ckctl [-b host:port,...] config delete (--topic T | --broker ID | --cluster) KEY... [--dry-run]
//
// RESOURCE is --topic NAME, --group ID, --transactional-id ID or --cluster.
// A quota ENTITY is --user U or --default-user, --client-id C or
// --default-client-id, or one of each; KEY is producer_byte_rate,
// consumer_byte_rate, request_percentage or controller_mutation_rate.
//
// -o json prints one JSON document instead of the table (an object or
// an array, indented; fields in lowerCamelCase; the table's order; an
// empty list is [], a missing value null); anything but text or json is a
// usage error. The shapes (field? appears only when set):
//
//	cluster          {cluster, controller, brokers: [{nodeId, host, port, rack, controller}]}
//	topic list       [{name, partitionCount, replicationFactor, error?}]
//	topic describe   {name, internal, partitionCount, replicationFactor,
//	                  partitions: [{partition, leader, leaderEpoch, replicas, isr,
//	                  underReplicated, logStartOffset, highWatermark, error?}],
//	                  configs: [{name, value, source, sensitive?}], configsError?}
//	topic describe --under-replicated (no NAME)
//	                 [{topic, partition, leader, leaderEpoch, replicas, isr}]
//	topic reassign --list
//	                 [{topic, partition, replicas, addingReplicas, removingReplicas}]
//	log-dirs         [{broker, dir, error?, partitions: [{topic, partition, sizeBytes, offsetLag}]}]
//	group list       [{group, state, protocolType}]
//	group describe   [{group, coordinator, state, protocolType, protocol, totalLag,
//	                  members: [{memberId, instanceId, clientId, clientHost,
//	                  assignment: [{topic, partitions}]}],
//	                  partitions: [{topic, partition, committedOffset, endOffset, lag,
//	                  memberId, clientId, clientHost, error?}]}]
//	group lag        [{group, totalLag, partitions: [{topic, partition,
//	                  committedOffset, endOffset, lag, error?}]}]
//	group lag --watch  one line per refresh: {time, groups: [as group lag]}
//	user list        [{user, credentials: [{mechanism, iterations}]}]
//	acl list         [{principal, host, resourceType, resourceName, patternType,
//	                  operation, permission}]
//	quota describe   [{name, entity: [{type, name}], quotas: [{key, value}]}]
//	                 (an entity name null is the default entity)
//	config get       [{name, value, source, sensitive?, synonyms?: [{name, value, source}]}]
//
// group lag shows, for each partition a group has committed, the
// committed offset, the end offset (the high watermark) and the lag (end
// minus committed, never below 0), and each group's total; an unknown
// group is an error. --watch prints it again every --interval (2s) until
// interrupted, each table after a timestamp line, or one JSON line per
// refresh with -o json; --count N stops after N refreshes, for scripts.
//
// Every command takes the connection flags: --tls, --tls-ca FILE (PEM
// roots; default the system's), --tls-cert FILE and --tls-key FILE (a
// client certificate), --sasl-mechanism PLAIN|SCRAM-SHA-256|SCRAM-SHA-512,
// --sasl-user and --sasl-password.
//
// The brokers default to $CKCTL_BROKERS, else 127.0.0.1:9092; the
// connection flags to $CKCTL_TLS_CA, $CKCTL_TLS_CERT, $CKCTL_TLS_KEY,
// $CKCTL_SASL_MECHANISM, $CKCTL_SASL_USER and $CKCTL_SASL_PASSWORD. Every
// failure prints its reason in one line to standard error (a usage error
// the usage too) and exits non-zero: 1 when an operation failed, 2 on a
// usage error.
package main

import (
	"context"
	"os"
	"os/signal"
	"syscall"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, os.Args[1:], os.Stdin, os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}
