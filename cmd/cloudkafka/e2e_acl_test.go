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
// SASL listener. alice (PLAIN) and bob and carol (SCRAM-SHA-256, made
// with AlterUserScramCredentials) are ordinary principals with only the
// ACLs a test gives them.

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
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
		waitDenied(t, b, "User:alice", "PRODUCE", "Write", "Topic:LITERAL:orders")
		waitLog(t, b, "the denial's listener in its audit line", "principal=User:alice", "listener=SASL_PLAINTEXT api=PRODUCE")
		if got := endOffsets(t, b, "orders"); got[0] != ends[0] {
			t.Errorf("orders' end offset after the refused produces: got %d; want %d", got[0], ends[0])
		}
		checkLog(t, "orders read by the administrator", consumeAll(t, b, "orders", aclCallTimeout), expect{tag: "orders", acked: acked, exactly: 5})
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
		waitDenied(t, b, "User:alice", "JOIN_GROUP", "Read", "Group:LITERAL:orders-group")
		ctx, cancel := context.WithTimeout(context.Background(), aclCallTimeout)
		defer cancel()
		groups, err := adm.ListGroups(ctx)
		if err != nil {
			t.Fatalf("ListGroups as the administrator: %v", err)
		}
		if _, ok := groups["orders-group"]; ok {
			t.Errorf("ListGroups as the administrator: got %v; want no orders-group", groups.Groups())
		}
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
		waitDenied(t, b, "User:alice", "CREATE_TOPICS", "Create", "Topic:LITERAL:alices")
		if got := topicNames(t, admin); slices.Contains(got, "alices") {
			t.Errorf("topics after alice's refused creation: got %v; want no alices", got)
		}

		deleted, err := alice.DeleteTopics(ctx, "orders")
		if err == nil {
			err = deleted["orders"].Err
		}
		wantErr(t, "alice deleting orders", err, kerr.TopicAuthorizationFailed)
		waitDenied(t, b, "User:alice", "DELETE_TOPICS", "Delete", "Topic:LITERAL:orders")
		if got := topicNames(t, admin); !slices.Contains(got, "orders") {
			t.Errorf("topics after alice's refused deletion: got %v; want orders among them", got)
		}
		checkLog(t, "orders after alice's refused deletion", consumeAll(t, b, "orders", aclCallTimeout), expect{tag: "orders", acked: acked, exactly: 5})
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
