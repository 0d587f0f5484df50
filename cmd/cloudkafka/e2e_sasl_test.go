package main

import (
	"context"
	"crypto/tls"
	"crypto/x509/pkix"
	"encoding/binary"
	"fmt"
	"io"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/IBM/sarama"
	kafkago "github.com/segmentio/kafka-go"
	kgoscram "github.com/segmentio/kafka-go/sasl/scram"
	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"
	"github.com/twmb/franz-go/pkg/sasl/plain"
	"github.com/twmb/franz-go/pkg/sasl/scram"
	xscram "github.com/xdg-go/scram"

	kio "cloudkafka/io"
)

const plainJaas = `org.apache.kafka.common.security.plain.PlainLoginModule required username="admin" password="admin-secret" user_admin="admin-secret" user_alice="alice-secret";`

// saslBroker starts a broker with a PLAINTEXT listener (for
// administration), a SASL_PLAINTEXT one and a SASL_SSL one, serving
// PLAIN (alice, admin) and both SCRAM mechanisms.
func saslBroker(t *testing.T, extra ...string) (b *broker, saslAddr, sslAddr string, roots *tls.Config) {
	return saslBrokerWithCA(t, newTestCA(t, "Cloud Kafka SASL CA"), extra...)
}

// saslBrokerWithCA is saslBroker whose certificate ca issues, for a test
// that hands the CA to a client outside Go (kcat, librdkafka).
func saslBrokerWithCA(t *testing.T, ca *testCA, extra ...string) (b *broker, saslAddr, sslAddr string, roots *tls.Config) {
	chain, key, _ := ca.issue(t, pkix.Name{CommonName: "broker"}, time.Now().Add(time.Hour))
	plainAddr, saslAddr, sslAddr := freeAddr(t), freeAddr(t), freeAddr(t)
	props := append([]string{
		"listeners=PLAINTEXT://" + plainAddr + ",SASL_PLAINTEXT://" + saslAddr + ",SASL_SSL://" + sslAddr,
		"sasl.enabled.mechanisms=PLAIN,SCRAM-SHA-256,SCRAM-SHA-512,GSSAPI",
		"listener.name.sasl_plaintext.plain.sasl.jaas.config=" + plainJaas,
		"listener.name.sasl_ssl.plain.sasl.jaas.config=" + plainJaas,
		"ssl.keystore.type=PEM", "ssl.keystore.location=" + writeFile(t, "broker.pem", key+chain),
	}, extra...)
	b = startBrokerAt(t, plainAddr, props...)
	return b, saslAddr, sslAddr, &tls.Config{RootCAs: ca.pool()}
}

// upsertSCRAM creates users through AlterUserScramCredentials (kadm).
func upsertSCRAM(t *testing.T, b *broker, ups ...kadm.UpsertSCRAM) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	res, err := kadm.NewClient(newClient(t, b)).AlterUserSCRAMs(ctx, nil, ups)
	if err != nil {
		t.Fatalf("AlterUserScramCredentials: %v", err)
	}
	for _, r := range res {
		if r.Err != nil {
			t.Fatalf("AlterUserScramCredentials %s: %v", r.User, r.Err)
		}
	}
}

// TestSASLClients: franz-go over SASL_PLAINTEXT with PLAIN and over
// SASL_SSL with SCRAM-SHA-256 and -512 (users made with
// AlterUserScramCredentials), sarama and kafka-go with SCRAM; wrong
// passwords, unknown users and a request before authentication are
// refused and logged, never with the secret.
func TestSASLClients(t *testing.T) {
	b, saslAddr, sslAddr, roots := saslBroker(t)
	waitLog(t, b, "GSSAPI logged as not served", "enabled SASL mechanisms not served here: GSSAPI")
	upsertSCRAM(t, b,
		kadm.UpsertSCRAM{User: "bob", Mechanism: kadm.ScramSha256, Iterations: 4096, Password: "bob-secret"},
		kadm.UpsertSCRAM{User: "carol", Mechanism: kadm.ScramSha512, Iterations: 8192, Password: "carol-secret"})
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	described, err := kadm.NewClient(newClient(t, b)).DescribeUserSCRAMs(ctx)
	if err != nil || len(described) != 2 || described["carol"].CredInfos[0].Iterations != 8192 {
		t.Fatalf("DescribeUserScramCredentials: got %+v, %v; want bob and carol", described, err)
	}

	createTopic(t, b, "sasl", 1)
	alice := newClient(t, b, kgo.SeedBrokers(saslAddr), kgo.SASL(plain.Auth{User: "alice", Pass: "alice-secret"}.AsMechanism()))
	produceConsume(t, alice, "sasl", 10)
	waitLog(t, b, "alice authenticated", "result=success principal=User:alice mechanism=PLAIN listener=SASL_PLAINTEXT ")
	if got := brokerPorts(t, alice); len(got) != 1 || got[0] != saslAddr {
		t.Errorf("Metadata over SASL_PLAINTEXT: got %v; want [%s]", got, saslAddr)
	}

	createTopic(t, b, "scram256", 1)
	bob := newClient(t, b, kgo.SeedBrokers(sslAddr), kgo.DialTLSConfig(roots.Clone()),
		kgo.SASL(scram.Auth{User: "bob", Pass: "bob-secret"}.AsSha256Mechanism()))
	produceConsume(t, bob, "scram256", 10)
	waitLog(t, b, "bob authenticated", "result=success principal=User:bob mechanism=SCRAM-SHA-256 listener=SASL_SSL ")
	createTopic(t, b, "scram512", 1)
	carol := newClient(t, b, kgo.SeedBrokers(sslAddr), kgo.DialTLSConfig(roots.Clone()),
		kgo.SASL(scram.Auth{User: "carol", Pass: "carol-secret"}.AsSha512Mechanism()))
	produceConsume(t, carol, "scram512", 10)

	for _, tc := range []struct {
		what, addr string
		tls        bool
		mech       kgo.Opt
		user, log  string
	}{
		{"PLAIN wrong password", saslAddr, false, kgo.SASL(plain.Auth{User: "alice", Pass: "guess-one"}.AsMechanism()), "alice", "invalid password"},
		{"PLAIN unknown user", saslAddr, false, kgo.SASL(plain.Auth{User: "mallory", Pass: "guess-two"}.AsMechanism()), "mallory", "unknown user"},
		{"SCRAM wrong password", sslAddr, true, kgo.SASL(scram.Auth{User: "bob", Pass: "guess-three"}.AsSha256Mechanism()), "bob", "challenge proof invalid"},
		{"SCRAM unknown user", sslAddr, true, kgo.SASL(scram.Auth{User: "nobody", Pass: "guess-four"}.AsSha512Mechanism()), "nobody", "unknown user"},
	} {
		opts := []kgo.Opt{kgo.SeedBrokers(tc.addr), tc.mech, kgo.RequestRetries(0)}
		if tc.tls {
			opts = append(opts, kgo.DialTLSConfig(roots.Clone()))
		}
		cl := newClient(t, b, opts...)
		err := cl.Ping(context.Background())
		if err == nil || !strings.Contains(err.Error(), kerr.SaslAuthenticationFailed.Message) && !strings.Contains(err.Error(), "SASL_AUTHENTICATION_FAILED") {
			t.Errorf("%s: got %v; want SASL_AUTHENTICATION_FAILED", tc.what, err)
		}
		waitLog(t, b, tc.what+" logged", "audit event=authentication result=failure", "client=/127.0.0.1 ", fmt.Sprintf("user=%q", tc.user), tc.log)
	}
	if strings.Contains(b.logTail(), "guess-") || strings.Contains(b.logTail(), "alice-secret") {
		t.Error("the broker's log shows a password")
	}

	// A Metadata request on a fresh connection, before authenticating.
	nc, err := net.DialTimeout("tcp", saslAddr, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	nc.SetDeadline(time.Now().Add(5 * time.Second))
	nc.Write(kio.AppendRequest(nil, 1, "early", kmsg.NewPtrMetadataRequest()))
	if _, err := nc.Read(make([]byte, 64)); err != io.EOF {
		t.Errorf("Metadata before authentication: got %v; want the connection closed", err)
	}
	waitLog(t, b, "the early request logged", "Unexpected Kafka request of type METADATA during SASL handshake")

	saramaSCRAM(t, sslAddr, roots, "carol", "carol-secret", sarama.SASLTypeSCRAMSHA512, "scram512")
	kafkaGoSCRAM(t, sslAddr, roots, "bob", "bob-secret", "scram256")
}

// TestSASLHandshakeV0: after a SaslHandshake v0 the client sends bare
// tokens; by hand (a good token, then Kafka requests again; a bad one,
// closed) and with sarama set to handshake v0.
func TestSASLHandshakeV0(t *testing.T) {
	b, saslAddr, _, _ := saslBroker(t)
	createTopic(t, b, "v0", 1)
	raw := func(token string) (net.Conn, []byte, error) {
		nc, err := net.DialTimeout("tcp", saslAddr, 5*time.Second)
		if err != nil {
			t.Fatal(err)
		}
		nc.SetDeadline(time.Now().Add(5 * time.Second))
		hs := kmsg.NewPtrSASLHandshakeRequest()
		hs.Mechanism = "PLAIN"
		resp := roundTripRaw(t, nc, hs).(*kmsg.SASLHandshakeResponse)
		if resp.ErrorCode != 0 {
			t.Fatalf("handshake v0: error %d", resp.ErrorCode)
		}
		nc.Write(binary.BigEndian.AppendUint32(nil, uint32(len(token))))
		nc.Write([]byte(token))
		var size [4]byte
		if _, err := io.ReadFull(nc, size[:]); err != nil {
			return nc, nil, err
		}
		out := make([]byte, binary.BigEndian.Uint32(size[:]))
		_, err = io.ReadFull(nc, out)
		return nc, out, err
	}
	nc, out, err := raw("\x00alice\x00alice-secret")
	if err != nil || len(out) != 0 {
		t.Fatalf("raw PLAIN token: got %q, %v; want an empty token", out, err)
	}
	if md, ok := roundTripRaw(t, nc, kmsg.NewPtrMetadataRequest()).(*kmsg.MetadataResponse); !ok || len(md.Brokers) != 1 {
		t.Fatalf("Metadata after the raw exchange: got %+v", md)
	}
	nc.Close()
	waitLog(t, b, "the raw exchange authenticated", "result=success principal=User:alice mechanism=PLAIN listener=SASL_PLAINTEXT ")
	nc, _, err = raw("\x00alice\x00not-it")
	if err == nil {
		t.Fatal("raw token with a wrong password answered; want the connection closed")
	}
	nc.Close()
	waitLog(t, b, "the raw failure logged", "audit event=authentication result=failure", `user="alice"`)

	cfg := sarama.NewConfig()
	cfg.Version = sarama.V0_10_2_0
	cfg.ApiVersionsRequest = false
	cfg.Net.SASL.Enable, cfg.Net.SASL.Handshake, cfg.Net.SASL.Version = true, true, sarama.SASLHandshakeV0
	cfg.Net.SASL.User, cfg.Net.SASL.Password = "alice", "alice-secret"
	saramaRoundTrip(t, saslAddr, cfg, "v0")
	waitFor(t, 10*time.Second, "both bare-token exchanges logged", func() bool {
		n := 0
		for _, line := range strings.Split(b.logTail(), "\n") {
			if strings.Contains(line, "result=success principal=User:alice mechanism=PLAIN ") && strings.Contains(line, "bare_tokens=true ") {
				n++
			}
		}
		return n >= 2
	})
}

// roundTripRaw sends one request, at the version set in it (0 unless
// set), on a raw connection and decodes the response.
func roundTripRaw(t *testing.T, nc net.Conn, req kmsg.Request) kmsg.Response {
	t.Helper()
	if _, err := nc.Write(kio.AppendRequest(nil, 7, "raw", req)); err != nil {
		t.Fatal(err)
	}
	var size [4]byte
	if _, err := io.ReadFull(nc, size[:]); err != nil {
		t.Fatalf("reading the response to %T: %v", req, err)
	}
	frame := make([]byte, 4+binary.BigEndian.Uint32(size[:]))
	copy(frame, size[:])
	if _, err := io.ReadFull(nc, frame[4:]); err != nil {
		t.Fatal(err)
	}
	resp, err := kio.DecodeResponse(req, frame)
	if err != nil {
		t.Fatal(err)
	}
	return resp
}

// xdgSCRAM is sarama's SCRAM client, xdg-go/scram's.
type xdgSCRAM struct {
	hash xscram.HashGeneratorFcn
	conv *xscram.ClientConversation
}

func (x *xdgSCRAM) Begin(user, pass, authz string) error {
	c, err := x.hash.NewClient(user, pass, authz)
	if err != nil {
		return err
	}
	x.conv = c.NewConversation()
	return nil
}
func (x *xdgSCRAM) Step(challenge string) (string, error) { return x.conv.Step(challenge) }
func (x *xdgSCRAM) Done() bool                            { return x.conv.Done() }

func saramaSCRAM(t *testing.T, addr string, roots *tls.Config, user, pass string, mech sarama.SASLMechanism, topic string) {
	saramaRoundTrip(t, addr, saramaSCRAMConfig(roots, user, pass, mech), topic)
}

// saramaSCRAMConfig is sarama's configuration for SASL_SSL with a SCRAM
// mechanism.
func saramaSCRAMConfig(roots *tls.Config, user, pass string, mech sarama.SASLMechanism) *sarama.Config {
	cfg := sarama.NewConfig()
	cfg.Version = sarama.V2_8_0_0
	cfg.Net.TLS.Enable, cfg.Net.TLS.Config = true, roots.Clone()
	cfg.Net.TLS.Config.ServerName = "localhost"
	cfg.Net.SASL.Enable, cfg.Net.SASL.Mechanism = true, mech
	cfg.Net.SASL.User, cfg.Net.SASL.Password = user, pass
	hash := xscram.SHA256
	if mech == sarama.SASLTypeSCRAMSHA512 {
		hash = xscram.SHA512
	}
	cfg.Net.SASL.SCRAMClientGeneratorFunc = func() sarama.SCRAMClient { return &xdgSCRAM{hash: hash} }
	return cfg
}

// saramaRoundTrip produces a record with sarama and reads it back.
func saramaRoundTrip(t *testing.T, addr string, cfg *sarama.Config, topic string) {
	t.Helper()
	cfg.Producer.Return.Successes = true
	cfg.Producer.RequiredAcks = sarama.WaitForAll
	p, err := sarama.NewSyncProducer([]string{addr}, cfg)
	if err != nil {
		t.Fatalf("sarama producer: %v", err)
	}
	defer p.Close()
	part, off, err := p.SendMessage(&sarama.ProducerMessage{Topic: topic, Value: sarama.StringEncoder("from sarama")})
	if err != nil {
		t.Fatalf("sarama produce: %v", err)
	}
	c, err := sarama.NewConsumer([]string{addr}, cfg)
	if err != nil {
		t.Fatalf("sarama consumer: %v", err)
	}
	defer c.Close()
	pc, err := c.ConsumePartition(topic, part, off)
	if err != nil {
		t.Fatalf("sarama consume: %v", err)
	}
	defer pc.Close()
	select {
	case m := <-pc.Messages():
		if string(m.Value) != "from sarama" {
			t.Fatalf("sarama read %q", m.Value)
		}
	case <-time.After(15 * time.Second):
		t.Fatal("sarama read nothing in 15 s")
	}
}

func kafkaGoSCRAM(t *testing.T, addr string, roots *tls.Config, user, pass, topic string) {
	t.Helper()
	mech, err := kgoscram.Mechanism(kgoscram.SHA256, user, pass)
	if err != nil {
		t.Fatal(err)
	}
	tc := roots.Clone()
	tc.ServerName = "localhost"
	tr := &kafkago.Transport{SASL: mech, TLS: tc}
	w := &kafkago.Writer{Addr: kafkago.TCP(addr), Topic: topic, Transport: tr, RequiredAcks: kafkago.RequireAll}
	defer w.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	if err := w.WriteMessages(ctx, kafkago.Message{Value: []byte("from kafka-go")}); err != nil {
		t.Fatalf("kafka-go produce: %v", err)
	}
	r := kafkago.NewReader(kafkago.ReaderConfig{Brokers: []string{addr}, Topic: topic, Partition: 0,
		Dialer: &kafkago.Dialer{Timeout: 10 * time.Second, SASLMechanism: mech, TLS: tc}, MaxWait: 500 * time.Millisecond})
	defer r.Close()
	for {
		m, err := r.ReadMessage(ctx)
		if err != nil {
			t.Fatalf("kafka-go consume: %v", err)
		}
		if string(m.Value) == "from kafka-go" {
			return
		}
	}
}

// TestSASLReauthentication: with connections.max.reauth.ms small,
// franz-go re-authenticates on its live connections and keeps producing.
func TestSASLReauthentication(t *testing.T) {
	b, saslAddr, _, _ := saslBroker(t, "connections.max.reauth.ms=1500")
	createTopic(t, b, "reauth", 1)
	cl := newClient(t, b, kgo.SeedBrokers(saslAddr), kgo.SASL(plain.Auth{User: "alice", Pass: "alice-secret"}.AsMechanism()))
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	for i := range 20 {
		if err := cl.ProduceSync(ctx, &kgo.Record{Topic: "reauth", Value: []byte(seqValue("reauth", i))}).FirstErr(); err != nil {
			t.Fatalf("producing record %d: %v", i, err)
		}
		time.Sleep(250 * time.Millisecond)
	}
	waitLog(t, b, "a live connection re-authenticated", "result=success principal=User:alice mechanism=PLAIN ", "reauthentication=true session_lifetime_ms=1500 ")
}

// TestSASLInterBrokerCluster: three brokers with ZooKeeper whose
// inter-broker listener is SASL_SSL with PLAIN: the controller's requests
// and the followers' fetches authenticate, and acks=all records with
// min.insync.replicas=3 replicate.
func TestSASLInterBrokerCluster(t *testing.T) {
	ca := newTestCA(t, "Cloud Kafka cluster CA")
	sslAddrs := map[int]string{}
	c := startClusterWith(t, 6000, func(id int, addr string) []string {
		chain, key, _ := ca.issue(t, pkix.Name{CommonName: fmt.Sprintf("broker-%d", id)}, time.Now().Add(time.Hour))
		sslAddrs[id] = freeAddr(t)
		return []string{"listeners=PLAINTEXT://" + addr + ",SASL_SSL://" + sslAddrs[id],
			"ssl.keystore.type=PEM", "ssl.keystore.location=" + writeFile(t, "broker.pem", chain+key),
			"ssl.truststore.type=PEM", "ssl.truststore.location=" + writeFile(t, "ca.pem", ca.pem)}
	}, "inter.broker.listener.name=SASL_SSL", "sasl.enabled.mechanisms=PLAIN,SCRAM-SHA-256",
		"sasl.mechanism.inter.broker.protocol=PLAIN", "listener.name.sasl_ssl.plain.sasl.jaas.config="+plainJaas)
	seed := c.brokers[0]
	upsertSCRAM(t, seed, kadm.UpsertSCRAM{User: "dave", Mechanism: kadm.ScramSha256, Iterations: 4096, Password: "dave-secret"})
	adm := kadm.NewClient(newClient(t, seed))
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if resp, err := adm.CreateTopic(ctx, 2, 3, map[string]*string{"min.insync.replicas": kmsg.StringPtr("3")}, "repl-sasl"); err != nil || resp.Err != nil {
		t.Fatalf("creating repl-sasl: %v %v", err, resp.Err)
	}
	waitFor(t, 30*time.Second, "every partition led with three in-sync replicas", func() bool {
		ps := partitionStates(t, seed, "repl-sasl")
		for p := int32(0); p < 2; p++ {
			if st, ok := ps[p]; !ok || st.leader < 0 || len(st.isr) != 3 {
				return false
			}
		}
		return true
	})
	// dave's credentials reached broker 3 through /config/changes.
	cl := newClient(t, seed, kgo.SeedBrokers(sslAddrs[3]), kgo.RequiredAcks(kgo.AllISRAcks()),
		kgo.DialTLSConfig(&tls.Config{RootCAs: ca.pool()}), kgo.SASL(scram.Auth{User: "dave", Pass: "dave-secret"}.AsSha256Mechanism()))
	produceConsume(t, cl, "repl-sasl", 50)
	for p, st := range partitionStates(t, seed, "repl-sasl") {
		waitLog(t, c.brokers[st.leader-1], fmt.Sprintf("partition %d's followers authenticated at its leader", p),
			"result=success principal=User:admin mechanism=PLAIN listener=SASL_SSL ")
	}
	// Broker 3's metadata may briefly lag the controller's: asked again
	// until it shows both partitions with three in-sync replicas.
	waitFor(t, 30*time.Second, "broker 3 showing three in-sync replicas for each partition after producing", func() bool {
		ps := partitionStates(t, c.brokers[2], "repl-sasl")
		return len(ps[0].isr) == 3 && len(ps[1].isr) == 3
	})
}
