package main

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"fmt"
	"math/big"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"

	kio "cloudkafka/io"
)

// testCA is a throwaway certificate authority made by the test; nothing
// of it is kept.
type testCA struct {
	cert *x509.Certificate
	key  *ecdsa.PrivateKey
	pem  string // the CA certificate
}

var serial int64

func newTestCA(t *testing.T, name string) *testCA {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	serial++
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(serial), Subject: pkix.Name{CommonName: name},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	cert, _ := x509.ParseCertificate(der)
	return &testCA{cert: cert, key: key, pem: string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}))}
}

// issue makes a certificate for subject (a server's for localhost and
// 127.0.0.1 too), valid until notAfter; it returns the PEM chain, the
// PEM PKCS#8 key and the pair for crypto/tls.
func (ca *testCA) issue(t *testing.T, subject pkix.Name, notAfter time.Time) (chain, key string, pair tls.Certificate) {
	t.Helper()
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	serial++
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(serial), Subject: subject,
		NotBefore: time.Now().Add(-2 * time.Hour), NotAfter: notAfter,
		KeyUsage:    x509.KeyUsageDigitalSignature,
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth, x509.ExtKeyUsageClientAuth},
		DNSNames:    []string{"localhost"}, IPAddresses: []net.IP{net.ParseIP("127.0.0.1")}}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca.cert, &k.PublicKey, ca.key)
	if err != nil {
		t.Fatal(err)
	}
	kd, err := x509.MarshalPKCS8PrivateKey(k)
	if err != nil {
		t.Fatal(err)
	}
	chain = string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}))
	key = string(pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: kd}))
	pair, err = tls.X509KeyPair([]byte(chain), []byte(key))
	if err != nil {
		t.Fatal(err)
	}
	return chain, key, pair
}

func (ca *testCA) pool() *x509.CertPool {
	p := x509.NewCertPool()
	p.AddCert(ca.cert)
	return p
}

// writeFile writes a test's key material to its temporary directory.
func writeFile(t *testing.T, name, content string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// waitLog waits until the broker's log has a line with every one of parts.
func waitLog(t *testing.T, b *broker, what string, parts ...string) {
	t.Helper()
	waitFor(t, 10*time.Second, what, func() bool {
		for _, line := range strings.Split(b.logTail(), "\n") {
			all := true
			for _, p := range parts {
				all = all && strings.Contains(line, p)
			}
			if all {
				return true
			}
		}
		return false
	})
}

// brokerPorts is each listener's port of Metadata's brokers.
func brokerPorts(t *testing.T, cl *kgo.Client) []string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	resp, err := kmsg.NewPtrMetadataRequest().RequestWith(ctx, cl)
	if err != nil {
		t.Fatalf("Metadata: %v", err)
	}
	var out []string
	for _, br := range resp.Brokers {
		out = append(out, net.JoinHostPort(br.Host, strconv.Itoa(int(br.Port))))
	}
	return out
}

// produceConsume produces n records to topic through cl and reads them
// back.
func produceConsume(t *testing.T, cl *kgo.Client, topic string, n int) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	for i := range n {
		if err := cl.ProduceSync(ctx, &kgo.Record{Topic: topic, Value: []byte(seqValue(topic, i))}).FirstErr(); err != nil {
			t.Fatalf("producing to %s: %v", topic, err)
		}
	}
	cl.AddConsumeTopics(topic)
	got := 0
	for got < n {
		fs := cl.PollFetches(ctx)
		if err := ctx.Err(); err != nil {
			t.Fatalf("consumed %d of %d records of %s: %v", got, n, topic, err)
		}
		fs.EachRecord(func(r *kgo.Record) {
			if seq, ok := parseSeq(topic, r.Value); !ok || seq != got {
				t.Fatalf("record %d of %s: got %q", got, topic, r.Value)
			}
			got++
		})
	}
}

// refused dials the listener at addr with TLS as cfg says and checks the
// broker ends the connection: the handshake fails, or (TLS 1.3 checks
// the client's certificate after the client's side is done) the first
// read does. It returns the client's address as the broker saw it.
func refused(t *testing.T, addr string, cfg *tls.Config) string {
	t.Helper()
	nc, err := net.DialTimeout("tcp", addr, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	local := nc.LocalAddr().String()
	cfg = cfg.Clone()
	cfg.ServerName = "localhost"
	c := tls.Client(nc, cfg)
	c.SetDeadline(time.Now().Add(5 * time.Second))
	if err := c.Handshake(); err != nil {
		return local // the broker's log must say why (the caller checks)
	}
	if _, err := c.Write(kio.AppendRequest(nil, 1, "refused", kmsg.NewPtrApiVersionsRequest())); err != nil {
		return local
	}
	var buf [64]byte
	if _, err := c.Read(buf[:]); err == nil {
		t.Fatalf("TLS to %s was served; want the connection closed", addr)
	} else if strings.Contains(err.Error(), "timeout") {
		t.Fatalf("TLS to %s: the connection stayed open (%v); want it closed", addr, err)
	}
	return local
}

// TestTLSListeners: one broker with a PLAINTEXT listener, an SSL one and
// an mTLS one (SSL with ssl.client.auth=required). franz-go produces and
// consumes over TLS; Metadata answers each listener with its own
// endpoints; a client certificate from the CA is authenticated as the
// mapping rules say; no certificate, another CA's, an expired one and
// plaintext bytes are each refused with a closed connection and a log
// line naming the client's address.
func TestTLSListeners(t *testing.T) {
	ca := newTestCA(t, "Cloud Kafka test CA")
	chain, key, _ := ca.issue(t, pkix.Name{CommonName: "broker", Organization: []string{"Cloud Kafka"}}, time.Now().Add(time.Hour))
	_, _, alice := ca.issue(t, pkix.Name{CommonName: "Alice", OrganizationalUnit: []string{"eng"}, Organization: []string{"Cloud, Kafka"}}, time.Now().Add(time.Hour))
	_, _, bob := ca.issue(t, pkix.Name{CommonName: "bob", OrganizationalUnit: []string{"ops"}}, time.Now().Add(time.Hour))
	_, _, expired := ca.issue(t, pkix.Name{CommonName: "old"}, time.Now().Add(-time.Hour))
	_, _, stranger := newTestCA(t, "another CA").issue(t, pkix.Name{CommonName: "mallory"}, time.Now().Add(time.Hour))

	plain, sslAddr, mtlsAddr := freeAddr(t), freeAddr(t), freeAddr(t)
	b := startBrokerAt(t, plain,
		"listeners=PLAINTEXT://"+plain+",SSL://"+sslAddr+",MTLS://"+mtlsAddr,
		"listener.security.protocol.map=PLAINTEXT:PLAINTEXT,SSL:SSL,MTLS:SSL",
		// the SSL listener: a keystore file; the mTLS one: inline PEM
		"ssl.keystore.type=PEM", "ssl.keystore.location="+writeFile(t, "broker.pem", key+chain),
		"listener.name.mtls.ssl.keystore.location=",
		"listener.name.mtls.ssl.keystore.key="+key, "listener.name.mtls.ssl.keystore.certificate.chain="+chain,
		"listener.name.mtls.ssl.truststore.type=PEM", "listener.name.mtls.ssl.truststore.certificates="+ca.pem,
		"listener.name.mtls.ssl.client.auth=required",
		`listener.name.mtls.ssl.principal.mapping.rules=RULE:^CN=([^,]*),OU=eng,.*$/$1/L,DEFAULT`,
		"ssl.keymanager.algorithm=SunX509")
	waitLog(t, b, "ssl.keymanager.algorithm logged as accepted with no effect", "ssl.keymanager.algorithm=SunX509: accepted, no effect")
	createTopic(t, b, "tls", 1)

	roots := &tls.Config{RootCAs: ca.pool()}
	sslClient := newClient(t, b, kgo.SeedBrokers(sslAddr), kgo.DialTLSConfig(roots.Clone()))
	produceConsume(t, sslClient, "tls", 20)
	if got := brokerPorts(t, sslClient); len(got) != 1 || got[0] != sslAddr {
		t.Errorf("Metadata over SSL: got brokers %v; want [%s]", got, sslAddr)
	}
	if got := brokerPorts(t, newClient(t, b)); len(got) != 1 || got[0] != plain {
		t.Errorf("Metadata over PLAINTEXT: got brokers %v; want [%s]", got, plain)
	}
	waitLog(t, b, "the SSL client logged as anonymous", "on listener SSL (TLS 1.3) authenticated as User:ANONYMOUS")

	mtls := roots.Clone()
	mtls.Certificates = []tls.Certificate{alice}
	createTopic(t, b, "alice", 1)
	aliceClient := newClient(t, b, kgo.SeedBrokers(mtlsAddr), kgo.DialTLSConfig(mtls))
	produceConsume(t, aliceClient, "alice", 5)
	if got := brokerPorts(t, aliceClient); len(got) != 1 || got[0] != mtlsAddr {
		t.Errorf("Metadata over MTLS: got brokers %v; want [%s]", got, mtlsAddr)
	}
	waitLog(t, b, "alice authenticated by the mapping rule", "on listener MTLS (TLS 1.3) authenticated as User:alice")
	bobCfg := roots.Clone()
	bobCfg.Certificates = []tls.Certificate{bob}
	bobClient := newClient(t, b, kgo.SeedBrokers(mtlsAddr), kgo.DialTLSConfig(bobCfg))
	if err := bobClient.Ping(context.Background()); err != nil {
		t.Fatalf("bob over MTLS: %v", err)
	}
	waitLog(t, b, "bob authenticated by DEFAULT (his full DN)", "on listener MTLS (TLS 1.3) authenticated as User:CN=bob,OU=ops")

	for _, tt := range []struct {
		what   string
		certs  []tls.Certificate
		reason string
	}{
		{"no client certificate", nil, "certificate"},
		{"a certificate from another CA", []tls.Certificate{stranger}, "unknown authority"},
		{"an expired certificate", []tls.Certificate{expired}, "expired"},
	} {
		cfg := roots.Clone()
		if len(tt.certs) > 0 {
			// sent whatever CAs the broker names as acceptable
			cfg.GetClientCertificate = func(*tls.CertificateRequestInfo) (*tls.Certificate, error) { return &tt.certs[0], nil }
		}
		local := refused(t, mtlsAddr, cfg)
		waitLog(t, b, tt.what+" refused and logged", "from "+local+" on listener MTLS: TLS handshake failed", tt.reason)
	}
	// TLS 1.2 too, where the handshake itself fails.
	cfg := roots.Clone()
	cfg.MaxVersion = tls.VersionTLS12
	local := refused(t, mtlsAddr, cfg)
	waitLog(t, b, "TLS 1.2 without a certificate refused", "from "+local+" on listener MTLS: TLS handshake failed")

	// Plaintext Kafka bytes to the SSL port.
	nc, err := net.DialTimeout("tcp", sslAddr, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	nc.SetDeadline(time.Now().Add(5 * time.Second))
	if _, err := nc.Write(kio.AppendRequest(nil, 1, "plaintext", kmsg.NewPtrApiVersionsRequest())); err != nil {
		t.Fatal(err)
	}
	var buf [512]byte
	n, _ := nc.Read(buf[:]) // a TLS alert at most, then the close
	if _, err := nc.Read(buf[n:]); err == nil || strings.Contains(err.Error(), "timeout") {
		t.Errorf("plaintext to the SSL port: got %v; want the connection closed", err)
	}
	waitLog(t, b, "plaintext bytes refused and logged", "from "+nc.LocalAddr().String()+" on listener SSL: TLS handshake failed", "does not look like a TLS handshake")

	// The plaintext listener still serves.
	createTopic(t, b, "plain", 1)
	produceConsume(t, newClient(t, b), "plain", 3)
}

// TestTLSListenerStartRefusals: a keystore the broker cannot serve, and a
// SASL listener with no mechanism served here (Kafka's default is GSSAPI)
// or PLAIN without users, stop the start with a clear reason.
func TestTLSListenerStartRefusals(t *testing.T) {
	for _, tt := range []struct {
		props  []string
		reason string
	}{
		{[]string{"listeners=PLAINTEXT://127.0.0.1:0,SASL_PLAINTEXT://127.0.0.1:0"}, "listener SASL_PLAINTEXT: none of the enabled SASL mechanisms (GSSAPI) is served"},
		{[]string{"listeners=PLAINTEXT://127.0.0.1:0,SASL_PLAINTEXT://127.0.0.1:0", "sasl.enabled.mechanisms=PLAIN"}, "no JAAS configuration for mechanism PLAIN"},
		{[]string{"listeners=PLAINTEXT://127.0.0.1:0,SASL_PLAINTEXT://127.0.0.1:0", "sasl.enabled.mechanisms=SCRAM-SHA-256",
			"inter.broker.listener.name=SASL_PLAINTEXT", "sasl.mechanism.inter.broker.protocol=SCRAM-SHA-256"}, "needs username and password"},
		{[]string{"listeners=PLAINTEXT://127.0.0.1:0,SASL_SSL://127.0.0.1:0"}, "listener SASL_SSL: no key store"}, // validated first
		{[]string{"listeners=PLAINTEXT://127.0.0.1:0,SSL://127.0.0.1:0", "ssl.keystore.type=JKS", "ssl.keystore.location=/k.jks", "ssl.keystore.password=x"}, "JKS is not supported"},
		{[]string{"listeners=PLAINTEXT://127.0.0.1:0,SSL://127.0.0.1:0", "ssl.keystore.type=PEM", "ssl.keystore.location=/nonexistent.pem"}, "ssl.keystore.location"},
	} {
		args := []string{"--override", "log.dirs=" + t.TempDir()}
		for _, p := range tt.props {
			args = append(args, "--override", p)
		}
		cmd := exec.Command(brokerBin, args...)
		timer := time.AfterFunc(30*time.Second, func() { cmd.Process.Kill() })
		out, err := cmd.CombinedOutput()
		timer.Stop()
		if err == nil || !strings.Contains(string(out), tt.reason) {
			t.Errorf("%v: got %v\n%s\nwant a failed start saying %q", tt.props, err, out, tt.reason)
		}
	}
}

// TestTLSInterBrokerCluster: three brokers whose inter-broker listener
// is SSL with ssl.client.auth=required (each broker's keystore is its
// client certificate); an RF=3 topic gets three in-sync replicas and
// every record produced with acks=all; the controller's requests and the
// followers' fetches arrive authenticated; each registration lists both
// endpoints.
func TestTLSInterBrokerCluster(t *testing.T) {
	ca := newTestCA(t, "Cloud Kafka cluster CA")
	sslAddrs := map[int]string{}
	c := startClusterWith(t, 6000, func(id int, addr string) []string {
		chain, key, _ := ca.issue(t, pkix.Name{CommonName: fmt.Sprintf("broker-%d", id)}, time.Now().Add(time.Hour))
		sslAddrs[id] = freeAddr(t)
		return []string{"listeners=PLAINTEXT://" + addr + ",SSL://" + sslAddrs[id],
			"ssl.keystore.type=PEM", "ssl.keystore.location=" + writeFile(t, "broker.pem", chain+key),
			"ssl.truststore.type=PEM", "ssl.truststore.location=" + writeFile(t, "ca.pem", ca.pem)}
	}, "inter.broker.listener.name=SSL", "ssl.client.auth=required")
	seed := c.brokers[0]
	adm := kadm.NewClient(newClient(t, seed))
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if resp, err := adm.CreateTopic(ctx, 2, 3, map[string]*string{"min.insync.replicas": kmsg.StringPtr("3")}, "repl-tls"); err != nil || resp.Err != nil {
		t.Fatalf("creating repl-tls: %v %v", err, resp.Err)
	}
	waitFor(t, 30*time.Second, "every partition led with three in-sync replicas", func() bool {
		ps := partitionStates(t, seed, "repl-tls")
		for p := int32(0); p < 2; p++ {
			if st, ok := ps[p]; !ok || st.leader < 0 || len(st.isr) != 3 {
				return false
			}
		}
		return true
	})
	cert := func(id int) tls.Certificate {
		_, _, pair := ca.issue(t, pkix.Name{CommonName: fmt.Sprintf("client-%d", id)}, time.Now().Add(time.Hour))
		return pair
	}
	cl := newClient(t, seed, kgo.SeedBrokers(sslAddrs[2]), kgo.RequiredAcks(kgo.AllISRAcks()),
		kgo.DialTLSConfig(&tls.Config{RootCAs: ca.pool(), Certificates: []tls.Certificate{cert(0)}}))
	produceConsume(t, cl, "repl-tls", 50)
	// Each partition's leader serves its followers' fetches on the SSL
	// listener, authenticated by their certificates.
	for p, st := range partitionStates(t, seed, "repl-tls") {
		waitLog(t, c.brokers[st.leader-1], fmt.Sprintf("partition %d's followers authenticated at its leader", p),
			"on listener SSL (TLS 1.3) authenticated as User:CN=broker-")
	}
	for i, b := range c.brokers {
		doc := zkDoc(t, c.zk, fmt.Sprintf("/brokers/ids/%d", i+1))
		eps := fmt.Sprint(doc["endpoints"])
		if !strings.Contains(eps, "PLAINTEXT://"+b.addr) || !strings.Contains(eps, "SSL://"+sslAddrs[i+1]) || doc["host"] != "127.0.0.1" {
			t.Errorf("/brokers/ids/%d: got %v; want both endpoints and the PLAINTEXT host", i+1, doc)
		}
	}
	// With min.insync.replicas=3, each acks=all record above was
	// acknowledged once all three replicas had it: replication ran over
	// the TLS listener. The ISR is still whole.
	ps := partitionStates(t, c.brokers[2], "repl-tls")
	if len(ps[0].isr) != 3 || len(ps[1].isr) != 3 {
		t.Errorf("after producing: got partition states %v; want three in-sync replicas each", ps)
	}
}
