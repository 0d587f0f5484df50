package main

// End-to-end tests of the ACL authorizer (authorizer.class.name set to
// Kafka's AclAuthorizer) against broker processes, with franz-go,
// sarama, kafka-go, kcat and confluent-kafka-python as the clients.
//
// Who is who: super.users is User:admin and User:ANONYMOUS. The
// PLAINTEXT listener's User:ANONYMOUS stands for the administrator in
// setup and checks (creating topics and ACLs, reading logs back), so
// that what the tests check never depends on an ACL; User:admin
// authenticates with PLAIN where a test needs the administrator on a
// SASL listener. alice (PLAIN) and bob and carol (SCRAM, made with
// AlterUserScramCredentials) are ordinary principals with only the ACLs
// a test gives them.

import (
	"context"
	"crypto/tls"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/IBM/sarama"
	"github.com/go-zookeeper/zk"
	kafkago "github.com/segmentio/kafka-go"
	kgplain "github.com/segmentio/kafka-go/sasl/plain"
	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"
	"github.com/twmb/franz-go/pkg/sasl/plain"
	"github.com/twmb/franz-go/pkg/sasl/scram"
)

const (
	aclAuthorizer = "authorizer.class.name=kafka.security.authorizer.AclAuthorizer"
	aclSuperUsers = "super.users=User:admin;User:ANONYMOUS"
	// aclCallTimeout bounds each client call of these tests.
	aclCallTimeout = 10 * time.Second
)

// aclBroker is saslBroker with the authorizer on.
func aclBroker(t *testing.T, extra ...string) (b *broker, saslAddr, sslAddr string, roots *tls.Config) {
	t.Helper()
	return saslBroker(t, append([]string{aclAuthorizer, aclSuperUsers}, extra...)...)
}

// plainUser is a franz-go client of a JAAS user (alice, admin) over
// SASL_PLAINTEXT with PLAIN; the password is "<user>-secret".
func plainUser(t *testing.T, b *broker, saslAddr, user string, opts ...kgo.Opt) *kgo.Client {
	t.Helper()
	auth := plain.Auth{User: user, Pass: user + "-secret"}.AsMechanism()
	return newClient(t, b, append([]kgo.Opt{kgo.SeedBrokers(saslAddr), kgo.SASL(auth)}, opts...)...)
}

// scramUser is a franz-go client of a SCRAM-SHA-256 user over
// SASL_PLAINTEXT; the password is "<user>-secret".
func scramUser(t *testing.T, b *broker, saslAddr, user string, opts ...kgo.Opt) *kgo.Client {
	t.Helper()
	auth := scram.Auth{User: user, Pass: user + "-secret"}.AsSha256Mechanism()
	return newClient(t, b, append([]kgo.Opt{kgo.SeedBrokers(saslAddr), kgo.SASL(auth)}, opts...)...)
}

// scramUsers makes SCRAM-SHA-256 users whose passwords are "<user>-secret".
func scramUsers(t *testing.T, b *broker, users ...string) {
	t.Helper()
	var ups []kadm.UpsertSCRAM
	for _, u := range users {
		ups = append(ups, kadm.UpsertSCRAM{User: u, Mechanism: kadm.ScramSha256, Iterations: 4096, Password: u + "-secret"})
	}
	upsertSCRAM(t, b, ups...)
}

// createACLs creates the builder's bindings through adm; any refusal
// fails the test.
func createACLs(t *testing.T, adm *kadm.Client, acls *kadm.ACLBuilder) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), aclCallTimeout)
	defer cancel()
	res, err := adm.CreateACLs(ctx, acls)
	if err != nil {
		t.Fatalf("CreateAcls: %v", err)
	}
	for _, r := range res {
		if r.Err != nil {
			t.Fatalf("CreateAcls %s %s %v %s:%s %v: got %v (%s); want success", r.Permission, r.Principal, r.Type, r.Pattern, r.Name, r.Operation, r.Err, r.ErrMessage)
		}
	}
}

// everyACL is a filter matching every binding.
func everyACL() *kadm.ACLBuilder {
	return kadm.NewACLs().AnyResource().Allow().AllowHosts().Deny().DenyHosts().Operations().ResourcePatternType(kadm.ACLPatternAny)
}

// produceOne produces one record with cl and returns the outcome.
func produceOne(cl *kgo.Client, topic, value string) error {
	ctx, cancel := context.WithTimeout(context.Background(), aclCallTimeout)
	defer cancel()
	return cl.ProduceSync(ctx, &kgo.Record{Topic: topic, Value: []byte(value)}).FirstErr()
}

// wantErr checks that err is the Kafka error want.
func wantErr(t *testing.T, what string, err error, want *kerr.Error) {
	t.Helper()
	if !errors.Is(err, want) {
		t.Errorf("%s: got %v; want %s", what, err, want.Message)
	}
}

// firstFetchError polls cl until a fetch error comes back, failing the
// test if records come instead or nothing comes within the timeout.
func firstFetchError(t *testing.T, what string, cl *kgo.Client) error {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), aclCallTimeout)
	defer cancel()
	for {
		fs := cl.PollFetches(ctx)
		if ctx.Err() != nil {
			t.Fatalf("%s: waited %v for an error; got none", what, aclCallTimeout)
		}
		if n := fs.NumRecords(); n > 0 {
			t.Fatalf("%s: got %d records; want an error and none", what, n)
		}
		if errs := fs.Errors(); len(errs) > 0 {
			return errs[0].Err
		}
	}
}

// brokerLog is everything the broker's current process has logged.
func brokerLog(t *testing.T, b *broker) string {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(b.logDir, fmt.Sprintf("broker-%d.log", b.starts)))
	if err != nil {
		t.Fatalf("reading the broker's log: %v", err)
	}
	return string(data)
}

// logLines are the lines of the broker's log that hold every one of parts.
func logLines(t *testing.T, b *broker, parts ...string) []string {
	t.Helper()
	var out []string
	for _, line := range strings.Split(brokerLog(t, b), "\n") {
		all := true
		for _, p := range parts {
			all = all && strings.Contains(line, p)
		}
		if all {
			out = append(out, line)
		}
	}
	return out
}

// waitDenied waits for the audit line of a denial.
func waitDenied(t *testing.T, b *broker, principal, api, operation, resource string) {
	t.Helper()
	waitLog(t, b, fmt.Sprintf("the audit line of %s denied %s on %s in %s", principal, operation, resource, api),
		"audit event=authorization result=denied principal="+principal+" client=/127.0.0.1 ",
		" api="+api+" operation="+operation+" resource="+resource+" ")
}

// topicNames lists, sorted, the topics other than internal ones that a
// Metadata request for all topics shows through cl.
func topicNames(t *testing.T, cl *kgo.Client) []string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), aclCallTimeout)
	defer cancel()
	md, err := kadm.NewClient(cl).Metadata(ctx)
	if err != nil {
		t.Fatalf("Metadata: %v", err)
	}
	md.Topics.FilterInternal()
	names := md.Topics.Names()
	slices.Sort(names)
	return names
}

// TestACLRefusals: principals without the ACLs an action needs are
// refused with Kafka's error codes, nothing is written or changed, and
// each refusal has its audit line. Produce needs Write (alice, who may
// Describe the topic so that franz-go gets as far as producing; bob, who
// may not, is refused at Metadata), Fetch Read, JoinGroup Read on the
// group, CreateTopics Create, DeleteTopics Delete, DescribeAcls and
// ElectLeaders the cluster; Metadata for all topics shows only those the
// principal may describe.
func TestACLRefusals(t *testing.T) {
	// Every denial is logged: the budget is far above what the test causes.
	b, saslAddr, _, _ := aclBroker(t, "authorizer.denied.log.max=1000")
	scramUsers(t, b, "bob")
	for _, topic := range []string{"orders", "other", "secret"} {
		createTopic(t, b, topic, 1)
	}
	acked := produceSeqs(t, b, "orders", "orders", 0, 5)
	ends := endOffsets(t, b, "orders")
	admin := newClient(t, b)
	adm := kadm.NewClient(admin)
	// alice may describe orders and nothing else, for now.
	createACLs(t, adm, kadm.NewACLs().Allow("User:alice").Topics("orders").Operations(kadm.OpDescribe))

	t.Run("produce", func(t *testing.T) {
		bob := scramUser(t, b, saslAddr, "bob")
		wantErr(t, "bob producing to orders", produceOne(bob, "orders", "from bob"), kerr.TopicAuthorizationFailed)
		waitDenied(t, b, "User:bob", "METADATA", "Describe", "Topic:LITERAL:orders")

		// The idempotent producer's InitProducerId needs Write on some
		// topic (or IdempotentWrite on the cluster): Kafka refuses it
		// first, with CLUSTER_AUTHORIZATION_FAILED.
		idem := plainUser(t, b, saslAddr, "alice")
		wantErr(t, "alice producing idempotently to orders", produceOne(idem, "orders", "from alice"), kerr.ClusterAuthorizationFailed)

		alice := plainUser(t, b, saslAddr, "alice", kgo.DisableIdempotentWrite())
		wantErr(t, "alice producing to orders", produceOne(alice, "orders", "from alice"), kerr.TopicAuthorizationFailed)
		if got := endOffsets(t, b, "orders"); got[0] != ends[0] {
			t.Errorf("orders' end offset after the refused produces: got %d; want %d", got[0], ends[0])
		}
		checkLog(t, "orders read by the administrator", consumeAll(t, b, "orders", aclCallTimeout), expect{tag: "orders", acked: acked, exactly: 5})
		waitDenied(t, b, "User:alice", "PRODUCE", "Write", "Topic:LITERAL:orders")
		waitLog(t, b, "the denial's listener in its audit line", "principal=User:alice", "listener=SASL_PLAINTEXT api=PRODUCE")
	})

	t.Run("fetch", func(t *testing.T) {
		alice := plainUser(t, b, saslAddr, "alice",
			kgo.ConsumePartitions(map[string]map[int32]kgo.Offset{"orders": {0: kgo.NewOffset().At(0)}}))
		wantErr(t, "alice fetching orders", firstFetchError(t, "alice fetching orders", alice), kerr.TopicAuthorizationFailed)
		waitDenied(t, b, "User:alice", "FETCH", "Read", "Topic:LITERAL:orders")
	})

	t.Run("group", func(t *testing.T) {
		// Read on the topic, and Describe on the group so that
		// FindCoordinator answers: JoinGroup is what refuses.
		createACLs(t, adm, kadm.NewACLs().Allow("User:alice").Topics("orders").Operations(kadm.OpRead))
		createACLs(t, adm, kadm.NewACLs().Allow("User:alice").Groups("orders-group").Operations(kadm.OpDescribe))
		alice := plainUser(t, b, saslAddr, "alice", kgo.ConsumerGroup("orders-group"), kgo.ConsumeTopics("orders"))
		wantErr(t, "alice joining orders-group", firstFetchError(t, "alice joining orders-group", alice), kerr.GroupAuthorizationFailed)
		ctx, cancel := context.WithTimeout(context.Background(), aclCallTimeout)
		defer cancel()
		groups, err := adm.ListGroups(ctx)
		if err != nil {
			t.Fatalf("ListGroups as the administrator: %v", err)
		}
		if _, ok := groups["orders-group"]; ok {
			t.Errorf("ListGroups as the administrator: got %v; want no orders-group", groups.Groups())
		}
		waitDenied(t, b, "User:alice", "JOIN_GROUP", "Read", "Group:LITERAL:orders-group")
	})

	t.Run("create and delete topics", func(t *testing.T) {
		alice := kadm.NewClient(plainUser(t, b, saslAddr, "alice"))
		ctx, cancel := context.WithTimeout(context.Background(), aclCallTimeout)
		defer cancel()
		resp, err := alice.CreateTopic(ctx, 1, 1, nil, "alices")
		if err == nil {
			err = resp.Err
		}
		wantErr(t, "alice creating alices", err, kerr.TopicAuthorizationFailed)
		if got := topicNames(t, admin); slices.Contains(got, "alices") {
			t.Errorf("topics after alice's refused creation: got %v; want no alices", got)
		}
		waitDenied(t, b, "User:alice", "CREATE_TOPICS", "Create", "Topic:LITERAL:alices")

		deleted, err := alice.DeleteTopics(ctx, "orders")
		if err == nil {
			err = deleted["orders"].Err
		}
		wantErr(t, "alice deleting orders", err, kerr.TopicAuthorizationFailed)
		if got := topicNames(t, admin); !slices.Contains(got, "orders") {
			t.Errorf("topics after alice's refused deletion: got %v; want orders among them", got)
		}
		checkLog(t, "orders after alice's refused deletion", consumeAll(t, b, "orders", aclCallTimeout), expect{tag: "orders", acked: acked, exactly: 5})
		waitDenied(t, b, "User:alice", "DELETE_TOPICS", "Delete", "Topic:LITERAL:orders")
	})

	t.Run("cluster APIs", func(t *testing.T) {
		alice := kadm.NewClient(plainUser(t, b, saslAddr, "alice"))
		ctx, cancel := context.WithTimeout(context.Background(), aclCallTimeout)
		defer cancel()
		described, err := alice.DescribeACLs(ctx, everyACL())
		if err == nil && len(described) != 1 {
			t.Fatalf("DescribeAcls as alice: got %d results; want the one filter's", len(described))
		}
		if err == nil {
			err = described[0].Err
		}
		wantErr(t, "alice describing the ACLs", err, kerr.ClusterAuthorizationFailed)
		waitDenied(t, b, "User:alice", "DESCRIBE_ACLS", "Describe", "Cluster:LITERAL:kafka-cluster")

		_, err = alice.ElectLeaders(ctx, kadm.ElectPreferredReplica, kadm.TopicsSet{"orders": {0: {}}})
		wantErr(t, "alice electing leaders", err, kerr.ClusterAuthorizationFailed)
		waitDenied(t, b, "User:alice", "ELECT_LEADERS", "Alter", "Cluster:LITERAL:kafka-cluster")

		if described, err := adm.DescribeACLs(ctx, everyACL()); err != nil || len(described) != 1 || described[0].Err != nil || len(described[0].Described) != 3 {
			t.Errorf("DescribeAcls as the administrator: got %+v, %v; want alice's three bindings", described, err)
		}
	})

	t.Run("metadata", func(t *testing.T) {
		createACLs(t, adm, kadm.NewACLs().Allow("User:bob").Topics("secret").Operations(kadm.OpDescribe))
		if got := topicNames(t, scramUser(t, b, saslAddr, "bob")); !slices.Equal(got, []string{"secret"}) {
			t.Errorf("Metadata for all topics as bob: got %v; want [secret]", got)
		}
		if got := topicNames(t, admin); !slices.Equal(got, []string{"orders", "other", "secret"}) {
			t.Errorf("Metadata for all topics as the administrator: got %v; want [orders other secret]", got)
		}
	})
}

// readN polls cl until it has n records, failing the test on a fetch
// error or when they do not come within the timeout.
func readN(t *testing.T, what string, cl *kgo.Client, n int) []*kgo.Record {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), aclCallTimeout)
	defer cancel()
	var out []*kgo.Record
	for len(out) < n {
		fs := cl.PollFetches(ctx)
		if ctx.Err() != nil {
			t.Fatalf("%s: got %d records in %v; want %d", what, len(out), aclCallTimeout, n)
		}
		for _, fe := range fs.Errors() {
			t.Fatalf("%s: got error %v on %s/%d; want none", what, fe.Err, fe.Topic, fe.Partition)
		}
		out = append(out, fs.Records()...)
	}
	return out
}

// fromStart is a direct assignment of topic's partitions 0..partitions-1
// from their start.
func fromStart(topic string, partitions int32) kgo.Opt {
	assign := map[int32]kgo.Offset{}
	for p := range partitions {
		assign[p] = kgo.NewOffset().AtStart()
	}
	return kgo.ConsumePartitions(map[string]map[int32]kgo.Offset{topic: assign})
}

// TestACLGrants: with Write and Read on a topic and Read on a group,
// alice produces (idempotently) and consumes in the group, committing
// offsets. A deny of Read from another address leaves her reading; one
// from 127.0.0.1, hers, refuses her fetches with
// TOPIC_AUTHORIZATION_FAILED, while she still writes and User:admin
// still reads. A prefixed Write on "logs-" lets her write logs-app and
// not metrics.
func TestACLGrants(t *testing.T) {
	b, saslAddr, _, _ := aclBroker(t, groupOverrides...)
	adm := kadm.NewClient(newClient(t, b))
	createTopic(t, b, "payments", 2)
	createACLs(t, adm, kadm.NewACLs().Allow("User:alice").AllowHosts("*").Topics("payments").Operations(kadm.OpWrite, kadm.OpRead))
	createACLs(t, adm, kadm.NewACLs().Allow("User:alice").AllowHosts("*").Groups("payments-group").Operations(kadm.OpRead))

	const n = 20
	alice := plainUser(t, b, saslAddr, "alice", kgo.DefaultProduceTopic("payments"))
	for seq := range n {
		if err := produceOne(alice, "payments", seqValue("payments", seq)); err != nil {
			t.Fatalf("alice producing seq %d to payments: %v", seq, err)
		}
	}
	group := plainUser(t, b, saslAddr, "alice", kgo.ConsumerGroup("payments-group"), kgo.ConsumeTopics("payments"),
		kgo.FetchMaxWait(200*time.Millisecond), kgo.DisableAutoCommit())
	got := readN(t, "alice consuming payments in payments-group", group, n)
	var records []seen
	for _, r := range got {
		records = append(records, seenOf(r))
	}
	checkLog(t, "payments as alice's group read it", records, expect{tag: "payments", exactly: n})
	ctx, cancel := context.WithTimeout(context.Background(), aclCallTimeout)
	defer cancel()
	if err := group.CommitUncommittedOffsets(ctx); err != nil {
		t.Fatalf("alice committing payments-group's offsets: %v", err)
	}
	ends := endOffsets(t, b, "payments")
	committed, err := adm.FetchOffsets(ctx, "payments-group")
	if err != nil {
		t.Fatalf("OffsetFetch payments-group as the administrator: %v", err)
	}
	for p, end := range ends {
		if end == 0 {
			continue // nothing was read, so nothing was committed
		}
		if o, ok := committed.Lookup("payments", p); !ok || o.At != end {
			t.Errorf("payments-group's committed offset of payments/%d: got %+v; want %d", p, o, end)
		}
	}

	// A deny from an address that is not alice's changes nothing.
	createACLs(t, adm, kadm.NewACLs().Deny("User:alice").DenyHosts("192.0.2.1").Topics("payments").Operations(kadm.OpRead))
	readN(t, "alice reading payments with a deny from 192.0.2.1", plainUser(t, b, saslAddr, "alice", fromStart("payments", 2)), n)

	createACLs(t, adm, kadm.NewACLs().Deny("User:alice").DenyHosts("127.0.0.1").Topics("payments").Operations(kadm.OpRead))
	denied := plainUser(t, b, saslAddr, "alice", fromStart("payments", 2))
	wantErr(t, "alice reading payments from a denied address", firstFetchError(t, "alice reading payments from 127.0.0.1", denied), kerr.TopicAuthorizationFailed)
	waitDenied(t, b, "User:alice", "FETCH", "Read", "Topic:LITERAL:payments")
	if err := produceOne(alice, "payments", seqValue("payments", n)); err != nil {
		t.Errorf("alice producing to payments with Read denied: got %v; want success", err)
	}
	readN(t, "User:admin reading payments", plainUser(t, b, saslAddr, "admin", fromStart("payments", 2)), n+1)

	// A prefixed binding.
	createTopic(t, b, "logs-app", 1)
	createTopic(t, b, "metrics", 1)
	createACLs(t, adm, kadm.NewACLs().Allow("User:alice").Topics("logs-").ResourcePatternType(kadm.ACLPatternPrefixed).Operations(kadm.OpWrite))
	if err := produceOne(alice, "logs-app", "to logs-app"); err != nil {
		t.Errorf("alice producing to logs-app with Write on the prefix logs-: got %v; want success", err)
	}
	wantErr(t, "alice producing to metrics", produceOne(alice, "metrics", "to metrics"), kerr.TopicAuthorizationFailed)
	if got := endOffsets(t, b, "logs-app"); got[0] != 1 {
		t.Errorf("logs-app's end offset: got %d; want 1", got[0])
	}
	if got := endOffsets(t, b, "metrics"); got[0] != 0 {
		t.Errorf("metrics' end offset after alice's refused produce: got %d; want 0", got[0])
	}
}

func seenOf(r *kgo.Record) seen {
	return seen{partition: r.Partition, offset: r.Offset, key: r.Key, value: r.Value, headers: r.Headers}
}

// kafkaGoIs says whether a kafka-go Writer's error is code, for its one
// message.
func kafkaGoIs(err error, code kafkago.Error) bool {
	var werrs kafkago.WriteErrors
	if errors.As(err, &werrs) {
		return len(werrs) == 1 && errors.Is(werrs[0], code)
	}
	return errors.Is(err, code)
}

// confluentConsumeScript reads partition 0 of a topic from its start
// over SASL_SSL until it has n records, an error comes (from a fetch or
// the client's error callback), or 10 s pass, and prints the values and
// the error names as JSON. librdkafka's consumer needs a group id even
// with an assignment of its own: it looks up the group's coordinator.
const confluentConsumeScript = `
import json, sys, time
from confluent_kafka import Consumer, TopicPartition, OFFSET_BEGINNING
addr, ca, mechanism, user, password, group, topic, n = sys.argv[1:9]
values, errors = [], []
c = Consumer({"bootstrap.servers": addr, "security.protocol": "SASL_SSL", "sasl.mechanisms": mechanism,
              "sasl.username": user, "sasl.password": password, "ssl.ca.location": ca,
              "group.id": group, "enable.auto.commit": False, "client.id": "cloudkafka-e2e-acl",
              "error_cb": lambda err: errors.append(err.name())})
c.assign([TopicPartition(topic, 0, OFFSET_BEGINNING)])
deadline = time.time() + 10
while time.time() < deadline and len(values) < int(n) and not errors:
    m = c.poll(0.2)
    if m is None:
        continue
    if m.error():
        errors.append(m.error().name())
    else:
        values.append(m.value().decode())
c.close()
print(json.dumps({"values": values, "errors": errors}))
`

// confluentConsume runs confluentConsumeScript.
func confluentConsume(t *testing.T, py string, args ...string) (values, errs []string) {
	t.Helper()
	out := runTool(t, 30*time.Second, "", py, append([]string{"-c", confluentConsumeScript}, args...)...)
	var res struct {
		Values []string `json:"values"`
		Errors []string `json:"errors"`
	}
	if err := json.Unmarshal([]byte(out), &res); err != nil {
		t.Fatalf("python output: got %v parsing %.200q; want one JSON object", err, out)
	}
	return res.Values, res.Errors
}

// TestACLClients: sarama (SCRAM-SHA-512 over SASL_SSL), kafka-go (PLAIN
// over SASL_PLAINTEXT), kcat (librdkafka, PLAIN and SCRAM-SHA-256 over
// SASL_SSL) and confluent-kafka-python (librdkafka, SCRAM-SHA-256 over
// SASL_SSL) under ACLs. Each may write and read "allowed" and only
// describe "denied": producing to allowed succeeds, producing to denied
// is refused with TOPIC_AUTHORIZATION_FAILED as each client reports it,
// and nothing reaches denied; Python reads allowed and is refused
// reading denied.
func TestACLClients(t *testing.T) {
	ca := newTestCA(t, "Cloud Kafka ACL CA")
	b, saslAddr, sslAddr, roots := saslBrokerWithCA(t, ca, aclAuthorizer, aclSuperUsers)
	upsertSCRAM(t, b,
		kadm.UpsertSCRAM{User: "bob", Mechanism: kadm.ScramSha256, Iterations: 4096, Password: "bob-secret"},
		kadm.UpsertSCRAM{User: "carol", Mechanism: kadm.ScramSha512, Iterations: 4096, Password: "carol-secret"})
	caPath := writeFile(t, "ca.pem", ca.pem)
	adm := kadm.NewClient(newClient(t, b))
	createTopic(t, b, "allowed", 1)
	createTopic(t, b, "denied", 1)
	users := []string{"User:alice", "User:bob", "User:carol"}
	createACLs(t, adm, kadm.NewACLs().Allow(users...).Topics("allowed").Operations(kadm.OpWrite, kadm.OpRead))
	createACLs(t, adm, kadm.NewACLs().Allow(users...).Topics("denied").Operations(kadm.OpDescribe))
	createACLs(t, adm, kadm.NewACLs().Allow("User:bob").Groups("py-acl").Operations(kadm.OpRead))
	produced := 0 // records in allowed

	t.Run("sarama", func(t *testing.T) {
		cfg := saramaSCRAMConfig(roots, "carol", "carol-secret", sarama.SASLTypeSCRAMSHA512)
		saramaRoundTrip(t, sslAddr, cfg, "allowed")
		produced++
		p, err := sarama.NewSyncProducer([]string{sslAddr}, cfg)
		if err != nil {
			t.Fatalf("sarama producer: %v", err)
		}
		defer p.Close()
		_, _, err = p.SendMessage(&sarama.ProducerMessage{Topic: "denied", Value: sarama.StringEncoder("from sarama")})
		if !errors.Is(err, sarama.ErrTopicAuthorizationFailed) {
			t.Errorf("sarama producing to denied: got %v; want %v", err, sarama.ErrTopicAuthorizationFailed)
		}
		waitDenied(t, b, "User:carol", "PRODUCE", "Write", "Topic:LITERAL:denied")
		waitLog(t, b, "the SASL_SSL listener in carol's denial", "principal=User:carol", "listener=SASL_SSL api=PRODUCE")
	})

	t.Run("kafka-go", func(t *testing.T) {
		tr := &kafkago.Transport{SASL: kgplain.Mechanism{Username: "alice", Password: "alice-secret"}}
		for _, tc := range []struct {
			topic string
			want  kafkago.Error // 0: success
		}{{"allowed", 0}, {"denied", kafkago.TopicAuthorizationFailed}} {
			w := &kafkago.Writer{Addr: kafkago.TCP(saslAddr), Topic: tc.topic, Transport: tr, RequiredAcks: kafkago.RequireAll,
				BatchTimeout: 10 * time.Millisecond, MaxAttempts: 2}
			ctx, cancel := context.WithTimeout(context.Background(), aclCallTimeout)
			err := w.WriteMessages(ctx, kafkago.Message{Value: []byte("from kafka-go")})
			cancel()
			w.Close()
			switch {
			case tc.want == 0 && err != nil:
				t.Errorf("kafka-go producing to %s: got %v; want success", tc.topic, err)
			case tc.want == 0:
				produced++
			case !kafkaGoIs(err, tc.want):
				t.Errorf("kafka-go producing to %s: got %v; want %v", tc.topic, err, tc.want)
			}
		}
		waitDenied(t, b, "User:alice", "PRODUCE", "Write", "Topic:LITERAL:denied")
	})

	kcatArgs := []string{"-b", sslAddr, "-X", "security.protocol=SASL_SSL", "-X", "sasl.mechanisms=PLAIN",
		"-X", "sasl.username=alice", "-X", "sasl.password=alice-secret", "-X", "ssl.ca.location=" + caPath,
		"-X", "message.timeout.ms=10000"}
	t.Run("kcat", func(t *testing.T) {
		_, err := exec.LookPath("kcat")
		requireTool(t, "kcat", err)
		runTool(t, 30*time.Second, "from kcat\n", "kcat", append(kcatArgs, "-P", "-t", "allowed")...)
		produced++
		_, stderr, err := runToolStatus(t, 30*time.Second, "from kcat\n", "kcat", append(kcatArgs, "-P", "-t", "denied")...)
		if err == nil || !strings.Contains(strings.ToLower(stderr), "authorization failed") {
			t.Errorf("kcat producing to denied: got exit %v, stderr %q; want a failure mentioning authorization", err, stderr)
		}
		waitLog(t, b, "the audit line of kcat's refused produce", "principal=User:alice", "listener=SASL_SSL api=PRODUCE operation=Write resource=Topic:LITERAL:denied ")
	})

	t.Run("confluent-kafka-python", func(t *testing.T) {
		py, err := pythonWithConfluent()
		requireTool(t, "python3 with confluent_kafka", err)
		args := []string{sslAddr, caPath, "SCRAM-SHA-256", "bob", "bob-secret", "py-acl"}
		values, errs := confluentConsume(t, py, append(args, "allowed", strconv.Itoa(produced))...)
		if len(values) != produced || len(errs) != 0 {
			t.Errorf("confluent_kafka reading allowed: got values %q, errors %q; want %d values and no error", values, errs, produced)
		}
		values, errs = confluentConsume(t, py, append(args, "denied", "1")...)
		if len(values) != 0 || !slices.Contains(errs, "TOPIC_AUTHORIZATION_FAILED") {
			t.Errorf("confluent_kafka reading denied: got values %q, errors %q; want none and TOPIC_AUTHORIZATION_FAILED", values, errs)
		}
		waitLog(t, b, "the audit line of Python's refused fetch", "principal=User:bob", "listener=SASL_SSL api=FETCH operation=Read resource=Topic:LITERAL:denied ")
	})

	// librdkafka before 2.6.1 (confluentinc/librdkafka#4895) sends the
	// client nonce twice in its client-final-message: the client's nonce,
	// then the server's, which begins with the client's. Kafka 3.8.1 on
	// takes a nonce that ends with the server's, and so does Cloud Kafka
	// (core/scram_server.go).
	t.Run("librdkafka SCRAM-SHA-256", func(t *testing.T) {
		_, err := exec.LookPath("kcat")
		requireTool(t, "kcat", err)
		args := []string{"-b", sslAddr, "-X", "security.protocol=SASL_SSL", "-X", "sasl.mechanisms=SCRAM-SHA-256",
			"-X", "sasl.username=bob", "-X", "sasl.password=bob-secret", "-X", "ssl.ca.location=" + caPath,
			"-X", "message.timeout.ms=10000", "-P"}
		_, stderr, err := runToolStatus(t, 30*time.Second, "from kcat with SCRAM\n", "kcat", append(args, "-t", "allowed")...)
		if err != nil {
			waitLog(t, b, "the broker's reason for refusing bob", "result=failure", `user="bob"`)
			t.Errorf("kcat producing to allowed as bob with SCRAM-SHA-256: got %v; want success; stderr:\n%s\nthe broker logged:\n%s",
				err, stderr, strings.Join(logLines(t, b, "result=failure", `user="bob"`), "\n"))
			return
		}
		produced++
		if lines := logLines(t, b, "result=success principal=User:bob mechanism=SCRAM-SHA-256 listener=SASL_SSL "); len(lines) == 0 {
			t.Errorf("the broker's log: got no line of bob's SCRAM-SHA-256 authentication; want one")
		}
		_, stderr, err = runToolStatus(t, 30*time.Second, "from kcat with SCRAM\n", "kcat", append(args, "-t", "denied")...)
		if err == nil || !strings.Contains(strings.ToLower(stderr), "authorization failed") {
			t.Errorf("kcat producing to denied as bob: got exit %v, stderr %q; want a failure mentioning authorization", err, stderr)
		}
	})

	if got := endOffsets(t, b, "denied"); got[0] != 0 {
		t.Errorf("denied's end offset after the refused produces: got %d; want 0", got[0])
	}
	if got := endOffsets(t, b, "allowed"); got[0] != int64(produced) {
		t.Errorf("allowed's end offset: got %d; want %d, one per client that produced", got[0], produced)
	}
}

// aclCreation is one binding for a raw CreateAcls request: principal
// allowed op on topic from every host.
func aclCreation(principal, topic string, op kmsg.ACLOperation) kmsg.CreateACLsRequestCreation {
	c := kmsg.NewCreateACLsRequestCreation()
	c.ResourceType, c.ResourceName, c.ResourcePatternType = kmsg.ACLResourceTypeTopic, topic, kmsg.ACLResourcePatternTypeLiteral
	c.Principal, c.Host, c.Operation, c.PermissionType = principal, "*", op, kmsg.ACLPermissionTypeAllow
	return c
}

// createACLsVia sends CreateAcls to broker id through cl (kadm would
// send it to any broker).
func createACLsVia(t *testing.T, cl *kgo.Client, id int32, creations ...kmsg.CreateACLsRequestCreation) {
	t.Helper()
	req := kmsg.NewPtrCreateACLsRequest()
	req.Creations = creations
	ctx, cancel := context.WithTimeout(context.Background(), aclCallTimeout)
	defer cancel()
	resp, err := req.RequestWith(ctx, cl.Broker(int(id)))
	if err != nil || len(resp.Results) != len(creations) {
		t.Fatalf("CreateAcls through broker %d: got %+v, %v; want %d results", id, resp, err, len(creations))
	}
	for i, r := range resp.Results {
		if r.ErrorCode != 0 {
			t.Fatalf("CreateAcls through broker %d, creation %d: got %v (%v); want success", id, i, kerr.ErrorForCode(r.ErrorCode), r.ErrorMessage)
		}
	}
}

// deleteACLVia sends DeleteAcls for exactly the binding c to broker id
// and checks that it deleted it.
func deleteACLVia(t *testing.T, cl *kgo.Client, id int32, c kmsg.CreateACLsRequestCreation) {
	t.Helper()
	f := kmsg.NewDeleteACLsRequestFilter()
	f.ResourceType, f.ResourceName, f.ResourcePatternType = c.ResourceType, &c.ResourceName, c.ResourcePatternType
	f.Principal, f.Host, f.Operation, f.PermissionType = &c.Principal, &c.Host, c.Operation, c.PermissionType
	req := kmsg.NewPtrDeleteACLsRequest()
	req.Filters = append(req.Filters, f)
	ctx, cancel := context.WithTimeout(context.Background(), aclCallTimeout)
	defer cancel()
	resp, err := req.RequestWith(ctx, cl.Broker(int(id)))
	if err != nil || len(resp.Results) != 1 || resp.Results[0].ErrorCode != 0 || len(resp.Results[0].MatchingACLs) != 1 {
		t.Fatalf("DeleteAcls through broker %d: got %+v, %v; want the one binding deleted", id, resp, err)
	}
}

// zkQuiet drops go-zookeeper's log lines.
type zkQuiet struct{}

func (zkQuiet) Printf(string, ...any) {}

// zkGet reads a znode's data with go-zookeeper.
func zkGet(t *testing.T, addr, path string) []byte {
	t.Helper()
	conn, _, err := zk.Connect([]string{addr}, 5*time.Second, zk.WithLogger(zkQuiet{}))
	if err != nil {
		t.Fatalf("connecting to ZooKeeper at %s: %v", addr, err)
	}
	defer conn.Close()
	data, _, err := conn.Get(path)
	if err != nil {
		t.Fatalf("ZooKeeper get %s: %v", path, err)
	}
	return data
}

// checkACLZnode checks that /kafka-acl/Topic/<topic> is Kafka's document
// of the entries want (principal, operation, permission, host; sorted).
func checkACLZnode(t *testing.T, zkAddr, topic string, want ...[4]string) {
	t.Helper()
	path := "/kafka-acl/Topic/" + topic
	data := zkGet(t, zkAddr, path)
	var doc struct {
		Version *int `json:"version"`
		ACLs    []struct {
			Principal      string `json:"principal"`
			PermissionType string `json:"permissionType"`
			Operation      string `json:"operation"`
			Host           string `json:"host"`
		} `json:"acls"`
	}
	if err := json.Unmarshal(data, &doc); err != nil || doc.Version == nil || *doc.Version != 1 {
		t.Fatalf("%s: got %q (%v); want Kafka's JSON document, version 1", path, data, err)
	}
	var got [][4]string
	for _, a := range doc.ACLs {
		got = append(got, [4]string{a.Principal, a.Operation, a.PermissionType, a.Host})
	}
	slices.SortFunc(got, func(a, b [4]string) int { return strings.Compare(strings.Join(a[:], " "), strings.Join(b[:], " ")) })
	if !slices.Equal(got, want) {
		t.Errorf("%s: got entries %v (document %s); want %v", path, got, data, want)
	}
}

// TestACLCluster: three brokers with ZooKeeper; the inter-broker
// listener is PLAINTEXT, whose User:ANONYMOUS is a super user as Kafka
// needs, and clients authenticate on SASL_PLAINTEXT. ACLs created and
// deleted through broker 1 are enforced by the leader of a partition on
// broker 2 or 3 within a few seconds: its change notifications reach
// the other brokers. The store holds Kafka's JSON document.
func TestACLCluster(t *testing.T) {
	saslAddrs := map[int]string{}
	c := startClusterWith(t, 6000, func(id int, addr string) []string {
		saslAddrs[id] = freeAddr(t)
		return []string{"listeners=PLAINTEXT://" + addr + ",SASL_PLAINTEXT://" + saslAddrs[id]}
	}, aclAuthorizer, aclSuperUsers, "sasl.enabled.mechanisms=PLAIN", "listener.name.sasl_plaintext.plain.sasl.jaas.config="+plainJaas)
	const topic = "spread"
	createVia(t, c.brokers[0], topic, 6)
	var led map[int32]int32
	waitFor(t, 10*time.Second, topic+" led as every broker sees it", func() bool {
		for _, b := range c.brokers {
			l, ok := leaders(t, b, topic)
			if !ok {
				return false
			}
			led = l
		}
		return true
	})
	part, leader := int32(-1), int32(-1)
	for p := range int32(6) {
		if led[p] != 1 {
			part, leader = p, led[p]
			break
		}
	}
	if part < 0 {
		t.Fatalf("%s's leaders: got %v; want a partition led by broker 2 or 3", topic, led)
	}
	leaderBroker := c.brokers[leader-1]
	admin := newClient(t, c.brokers[0])

	// alice may describe the topic everywhere before anything else, so
	// that what the leader decides is her Produce's Write.
	createACLsVia(t, admin, 1, aclCreation("User:alice", topic, kmsg.ACLOperationDescribe))
	alice := plainUser(t, c.brokers[0], saslAddrs[1], "alice", kgo.DisableIdempotentWrite(),
		kgo.RecordPartitioner(kgo.ManualPartitioner()))
	waitFor(t, 5*time.Second, "every broker to let alice describe "+topic, func() bool {
		for id := 1; id <= 3; id++ {
			req := kmsg.NewPtrMetadataRequest()
			mt := kmsg.NewMetadataRequestTopic()
			mt.Topic = kmsg.StringPtr(topic)
			req.Topics = append(req.Topics, mt)
			ctx, cancel := context.WithTimeout(context.Background(), aclCallTimeout)
			resp, err := req.RequestWith(ctx, alice.Broker(id))
			cancel()
			if err != nil || len(resp.Topics) != 1 || resp.Topics[0].ErrorCode != 0 {
				return false
			}
		}
		return true
	})
	acked := 0
	produce := func() error {
		ctx, cancel := context.WithTimeout(context.Background(), aclCallTimeout)
		defer cancel()
		err := alice.ProduceSync(ctx, &kgo.Record{Topic: topic, Partition: part, Value: []byte("from alice")}).FirstErr()
		if err == nil {
			acked++
		}
		return err
	}
	produceDenials := func() int {
		return len(logLines(t, leaderBroker, "result=denied principal=User:alice ", " api=PRODUCE operation=Write resource=Topic:LITERAL:"+topic+" "))
	}
	wantErr(t, fmt.Sprintf("alice producing to %s/%d (led by broker %d) before the grant", topic, part, leader), produce(), kerr.TopicAuthorizationFailed)
	waitFor(t, 5*time.Second, fmt.Sprintf("broker %d's audit line of alice's refused produce", leader), func() bool { return produceDenials() == 1 })

	write := aclCreation("User:alice", topic, kmsg.ACLOperationWrite)
	createACLsVia(t, admin, 1, write)
	granted := time.Now()
	waitFor(t, 5*time.Second, fmt.Sprintf("alice's produce to %s/%d to succeed at broker %d after the grant through broker 1", topic, part, leader),
		func() bool { return produce() == nil })
	t.Logf("broker %d enforced the grant through broker 1 within %v", leader, time.Since(granted).Round(time.Millisecond))
	checkACLZnode(t, c.zk.Addr, topic, [4]string{"User:alice", "Describe", "Allow", "*"}, [4]string{"User:alice", "Write", "Allow", "*"})

	deleteACLVia(t, admin, 1, write)
	deleted := time.Now()
	before := produceDenials()
	waitFor(t, 5*time.Second, fmt.Sprintf("alice's produce to %s/%d to be refused at broker %d after the deletion through broker 1", topic, part, leader),
		func() bool { return errors.Is(produce(), kerr.TopicAuthorizationFailed) })
	t.Logf("broker %d enforced the deletion through broker 1 within %v", leader, time.Since(deleted).Round(time.Millisecond))
	waitFor(t, 5*time.Second, fmt.Sprintf("broker %d's audit line of the refusal after the deletion", leader), func() bool { return produceDenials() > before })
	checkACLZnode(t, c.zk.Addr, topic, [4]string{"User:alice", "Describe", "Allow", "*"})
	// The refused produces wrote nothing.
	if n := len(consumeAll(t, c.brokers[0], topic, aclCallTimeout)); n != acked {
		t.Errorf("%s after alice's produces: got %d records; want the %d acknowledged", topic, n, acked)
	}
}

// logTime is when the broker logged a line.
func logTime(t *testing.T, line string) time.Time {
	t.Helper()
	const layout = "2006/01/02 15:04:05.000000"
	rest, ok := strings.CutPrefix(line, "cloudkafka ")
	if !ok || len(rest) < len(layout) {
		t.Fatalf("log line %q: want \"cloudkafka <date> <time>\" first", line)
	}
	at, err := time.ParseInLocation(layout, rest[:len(layout)], time.Local)
	if err != nil {
		t.Fatalf("log line %q: %v", line, err)
	}
	return at
}

// suppressedCount is the suppressed= value of an audit line (-1: none).
func suppressedCount(line string) int {
	_, rest, ok := strings.Cut(line, " suppressed=")
	if !ok {
		return -1
	}
	n, err := strconv.Atoi(strings.Fields(rest)[0])
	if err != nil {
		return -1
	}
	return n
}

// TestACLAudit: with authorizer.denied.log.max=3 and
// authorizer.denied.log.interval.ms=1000, a burst of 50 refused produces
// from one principal logs 3 denial lines; a denial once the interval
// passed is logged with the count suppressed, and every denial is either
// logged or counted. An authentication failure is logged with the
// client's address and the user, never the password.
func TestACLAudit(t *testing.T) {
	const intervalMs, logMax, burst = 1000, 3, 50
	b, saslAddr, _, _ := aclBroker(t, fmt.Sprintf("authorizer.denied.log.max=%d", logMax),
		fmt.Sprintf("authorizer.denied.log.interval.ms=%d", intervalMs))
	scramUsers(t, b, "carol")
	createTopic(t, b, "audited", 1)
	// Describe, so that each produce reaches Produce and its Write check.
	createACLs(t, kadm.NewClient(newClient(t, b)), kadm.NewACLs().Allow("User:carol").Topics("audited").Operations(kadm.OpDescribe))
	carol := scramUser(t, b, saslAddr, "carol", kgo.DisableIdempotentWrite())
	sent := 0
	deny := func() {
		t.Helper()
		if err := produceOne(carol, "audited", "from carol"); !errors.Is(err, kerr.TopicAuthorizationFailed) {
			t.Fatalf("carol's produce %d: got %v; want TOPIC_AUTHORIZATION_FAILED", sent, err)
		}
		sent++
	}
	denials := func() []string {
		return logLines(t, b, "audit event=authorization result=denied principal=User:carol client=/127.0.0.1 listener=SASL_PLAINTEXT api=PRODUCE operation=Write resource=Topic:LITERAL:audited ")
	}

	start := time.Now()
	for range burst {
		deny()
	}
	took := time.Since(start)
	inBurst := len(denials()) // each line is written before its answer goes out
	switch {
	case took < intervalMs*time.Millisecond/2 && inBurst != logMax:
		t.Errorf("denial lines of a burst of %d in %v: got %d; want %d", burst, took, inBurst, logMax)
	case inBurst < 1 || inBurst > logMax*(1+int(took/(intervalMs*time.Millisecond))):
		t.Errorf("denial lines of a burst of %d in %v: got %d; want 1 to %d per %d ms", burst, took, inBurst, logMax, intervalMs)
	}

	// Once the interval has passed, the next denial is logged with the
	// count of those suppressed.
	waitFor(t, 5*time.Second, "a denial line with a positive suppressed= count after the burst", func() bool {
		deny()
		lines := denials()
		return len(lines) > inBurst && suppressedCount(lines[len(lines)-1]) > 0
	})
	lines := denials()
	// The broker's clock is its last tick's (realio.TickInterval, 10 ms):
	// the interval may end a little earlier by the log's wall clock.
	if gap := logTime(t, lines[inBurst]).Sub(logTime(t, lines[0])); gap < intervalMs*time.Millisecond-50*time.Millisecond {
		t.Errorf("the first denial line after the burst came %v after the burst's first; want the %d ms interval between", gap, intervalMs)
	}
	accounted := len(lines)
	for _, line := range lines {
		accounted += suppressedCount(line)
	}
	if accounted != sent {
		t.Errorf("denials logged plus those counted as suppressed: got %d; want the %d sent\n%s", accounted, sent, strings.Join(lines, "\n"))
	}
	t.Logf("%d denials: %d in the burst of %v, %d lines, the last %q", sent, burst, took.Round(time.Millisecond), len(lines), lines[len(lines)-1])

	const password = "not-alices-password-7f3a"
	wrong := newClient(t, b, kgo.SeedBrokers(saslAddr), kgo.SASL(plain.Auth{User: "alice", Pass: password}.AsMechanism()), kgo.RequestRetries(0))
	ctx, cancel := context.WithTimeout(context.Background(), aclCallTimeout)
	defer cancel()
	wantErr(t, "alice with a wrong password", wrong.Ping(ctx), kerr.SaslAuthenticationFailed)
	waitLog(t, b, "the authentication failure's audit line", `audit event=authentication result=failure user="alice" mechanism=PLAIN listener=SASL_PLAINTEXT client=/127.0.0.1 `)
	if strings.Contains(brokerLog(t, b), password) {
		t.Errorf("the broker's log shows the password %q", password)
	}
}
