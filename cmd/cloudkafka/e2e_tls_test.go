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

	"github.com/IBM/sarama"
	kafkago "github.com/segmentio/kafka-go"
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
		startRefused(t, tt.props, tt.reason)
	}
}

// startRefused runs the broker with props and checks that it stops at
// start saying reason; it returns what the broker wrote.
func startRefused(t *testing.T, props []string, reason string) string {
	t.Helper()
	args := []string{"--override", "log.dirs=" + t.TempDir()}
	for _, p := range props {
		args = append(args, "--override", p)
	}
	cmd := exec.Command(brokerBin, args...)
	timer := time.AfterFunc(30*time.Second, func() { cmd.Process.Kill() })
	out, err := cmd.CombinedOutput()
	timer.Stop()
	if err == nil || !strings.Contains(string(out), reason) {
		t.Errorf("%v: got %v\n%s\nwant a failed start saying %q", props, err, out, reason)
	}
	return string(out)
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

// encryptKey encrypts a PEM PKCS#8 key under password with openssl, as
// an operator would (PBES2: PBKDF2 and AES-256-CBC).
func encryptKey(t *testing.T, key, password string) string {
	t.Helper()
	_, err := exec.LookPath("openssl")
	requireTool(t, "openssl", err)
	out := runTool(t, 10*time.Second, key, "openssl", "pkcs8", "-topk8", "-v2", "aes-256-cbc", "-passout", "pass:"+password)
	if !strings.Contains(out, "-----BEGIN ENCRYPTED PRIVATE KEY-----") || strings.Contains(out, "-----BEGIN PRIVATE KEY-----") {
		t.Fatalf("openssl pkcs8 -topk8: got %q; want one ENCRYPTED PRIVATE KEY", out)
	}
	return out
}

// served dials the listener at addr with TLS as cfg says and has an
// ApiVersions request answered. It returns the client's address as the
// broker saw it and the connection's TLS state.
func served(t *testing.T, addr string, cfg *tls.Config) (string, tls.ConnectionState) {
	t.Helper()
	cfg = cfg.Clone()
	cfg.ServerName = "localhost"
	c, err := tls.DialWithDialer(&net.Dialer{Timeout: 5 * time.Second}, "tcp", addr, cfg)
	if err != nil {
		t.Fatalf("TLS to %s: %v; want a completed handshake", addr, err)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(5 * time.Second))
	resp := roundTripRaw(t, c, kmsg.NewPtrApiVersionsRequest()).(*kmsg.ApiVersionsResponse)
	if resp.ErrorCode != 0 || len(resp.ApiKeys) == 0 {
		t.Fatalf("ApiVersions over TLS to %s: got error %d and %d keys; want the keys served", addr, resp.ErrorCode, len(resp.ApiKeys))
	}
	return c.LocalAddr().String(), c.ConnectionState()
}

// TestTLSOptions: one broker with an SSL listener per option, each set
// as listener.name.<name>.ssl.*: ENC's key is PKCS#8 encrypted by
// openssl, with ssl.key.password; SUITE enables TLS 1.2 with one cipher
// suite; TLS13 enables TLS 1.3 alone; REQ has ssl.client.auth=requested.
// Each serves what it enables and refuses what it excludes, with a log
// line naming the client's address and the reason. A wrong or missing
// ssl.key.password stops the start with a clear message, and the
// password is never shown.
func TestTLSOptions(t *testing.T) {
	ca := newTestCA(t, "Cloud Kafka options CA")
	hour := time.Now().Add(time.Hour)
	chain, key, _ := ca.issue(t, pkix.Name{CommonName: "broker"}, hour)
	encChain, plainKey, _ := ca.issue(t, pkix.Name{CommonName: "broker-enc"}, hour)
	const keyPassword = "key-secret-7c1f"
	encPath := writeFile(t, "broker-enc.pem", encryptKey(t, plainKey, keyPassword)+encChain)
	_, _, carol := ca.issue(t, pkix.Name{CommonName: "carol", Organization: []string{"Cloud Kafka"}}, hour)
	_, _, mallory := newTestCA(t, "another CA").issue(t, pkix.Name{CommonName: "mallory", Organization: []string{"Cloud Kafka"}}, hour)

	for _, tt := range []struct{ password, reason string }{
		{"not-the-key-password", "wrong ssl.key.password"},
		{"", "the private key is encrypted: set ssl.key.password"},
	} {
		props := []string{"listeners=PLAINTEXT://127.0.0.1:0,SSL://127.0.0.1:0", "ssl.keystore.type=PEM", "ssl.keystore.location=" + encPath}
		if tt.password != "" {
			props = append(props, "ssl.key.password="+tt.password)
		}
		out := startRefused(t, props, "listener SSL: ssl.keystore.location "+encPath+": ")
		if !strings.Contains(out, tt.reason) || tt.password != "" && strings.Contains(out, tt.password) {
			t.Errorf("start with ssl.key.password=%q: got\n%s\nwant the reason %q and never the password", tt.password, out, tt.reason)
		}
	}

	// The broker's certificate is ECDSA (newTestCA's keys are P-256), so
	// the TLS 1.2 suites that can serve it are the ECDHE_ECDSA ones.
	const suite = "TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256"
	plain, encAddr, suiteAddr, tls13Addr, reqAddr := freeAddr(t), freeAddr(t), freeAddr(t), freeAddr(t), freeAddr(t)
	b := startBrokerAt(t, plain,
		"listeners=PLAINTEXT://"+plain+",ENC://"+encAddr+",SUITE://"+suiteAddr+",TLS13://"+tls13Addr+",REQ://"+reqAddr,
		"listener.security.protocol.map=PLAINTEXT:PLAINTEXT,ENC:SSL,SUITE:SSL,TLS13:SSL,REQ:SSL",
		"ssl.keystore.type=PEM", "ssl.keystore.location="+writeFile(t, "broker.pem", key+chain),
		"listener.name.enc.ssl.keystore.location="+encPath, "listener.name.enc.ssl.key.password="+keyPassword,
		"listener.name.suite.ssl.enabled.protocols=TLSv1.2", "listener.name.suite.ssl.cipher.suites="+suite,
		"listener.name.tls13.ssl.enabled.protocols=TLSv1.3",
		"listener.name.req.ssl.client.auth=requested",
		"listener.name.req.ssl.truststore.type=PEM", "listener.name.req.ssl.truststore.certificates="+ca.pem,
		`listener.name.req.ssl.principal.mapping.rules=RULE:^CN=([^,]*),O=.*$/$1/U,DEFAULT`)
	roots := &tls.Config{RootCAs: ca.pool()}

	t.Run("encrypted key", func(t *testing.T) {
		_, cs := served(t, encAddr, roots)
		if got := cs.PeerCertificates[0].Subject.CommonName; got != "broker-enc" {
			t.Errorf("ENC's certificate: got CN=%s; want CN=broker-enc, whose key is the encrypted one", got)
		}
		createTopic(t, b, "enc", 1)
		cl := newClient(t, b, kgo.SeedBrokers(encAddr), kgo.DialTLSConfig(roots.Clone()))
		produceConsume(t, cl, "enc", 10)
		if got := brokerPorts(t, cl); len(got) != 1 || got[0] != encAddr {
			t.Errorf("Metadata over ENC: got brokers %v; want [%s]", got, encAddr)
		}
	})

	t.Run("cipher suite", func(t *testing.T) {
		tls12 := func(suites ...uint16) *tls.Config {
			cfg := roots.Clone()
			cfg.MaxVersion, cfg.CipherSuites = tls.VersionTLS12, suites
			return cfg
		}
		local := refused(t, suiteAddr, tls12(tls.TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384))
		waitLog(t, b, "a client offering only another suite refused", "from "+local+" on listener SUITE: TLS handshake failed", "no cipher suite")
		local, cs := served(t, suiteAddr, tls12(tls.TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256))
		if cs.Version != tls.VersionTLS12 || tls.CipherSuiteName(cs.CipherSuite) != suite {
			t.Errorf("SUITE negotiated %s with %s; want TLS 1.2 with %s", tls.VersionName(cs.Version), tls.CipherSuiteName(cs.CipherSuite), suite)
		}
		waitLog(t, b, "the client offering the suite served", "from "+local+" on listener SUITE (TLS 1.2) authenticated as User:ANONYMOUS")
		only13 := roots.Clone()
		only13.MinVersion = tls.VersionTLS13
		local = refused(t, suiteAddr, only13)
		waitLog(t, b, "a TLS 1.3 client refused where only TLS 1.2 is enabled", "from "+local+" on listener SUITE: TLS handshake failed", "unsupported versions")
		// franz-go with Go's defaults offers both versions and every
		// suite, and settles on the one enabled.
		createTopic(t, b, "suite", 1)
		produceConsume(t, newClient(t, b, kgo.SeedBrokers(suiteAddr), kgo.DialTLSConfig(roots.Clone())), "suite", 5)
	})

	t.Run("TLS 1.3 only", func(t *testing.T) {
		old := roots.Clone()
		old.MaxVersion = tls.VersionTLS12
		local := refused(t, tls13Addr, old)
		waitLog(t, b, "a TLS 1.2 client refused", "from "+local+" on listener TLS13: TLS handshake failed", "unsupported versions")
		local, cs := served(t, tls13Addr, roots)
		if cs.Version != tls.VersionTLS13 {
			t.Errorf("TLS13 negotiated %s; want TLS 1.3", tls.VersionName(cs.Version))
		}
		waitLog(t, b, "a TLS 1.3 client served", "from "+local+" on listener TLS13 (TLS 1.3) authenticated as User:ANONYMOUS")
	})

	t.Run("client auth requested", func(t *testing.T) {
		local, _ := served(t, reqAddr, roots)
		waitLog(t, b, "a client without a certificate served as anonymous", "from "+local+" on listener REQ (TLS 1.3) authenticated as User:ANONYMOUS")
		withCert := roots.Clone()
		withCert.Certificates = []tls.Certificate{carol}
		local, _ = served(t, reqAddr, withCert)
		waitLog(t, b, "carol authenticated by her certificate", "from "+local+" on listener REQ (TLS 1.3) authenticated as User:CAROL")
		// The same certificate where ssl.client.auth is none: not asked
		// for, so not sent.
		local, _ = served(t, tls13Addr, withCert)
		waitLog(t, b, "carol anonymous where no certificate is asked for", "from "+local+" on listener TLS13 (TLS 1.3) authenticated as User:ANONYMOUS")
		other := roots.Clone()
		other.GetClientCertificate = func(*tls.CertificateRequestInfo) (*tls.Certificate, error) { return &mallory, nil }
		local = refused(t, reqAddr, other)
		waitLog(t, b, "a certificate from another CA refused", "from "+local+" on listener REQ: TLS handshake failed", "unknown authority")
		createTopic(t, b, "req", 1)
		produceConsume(t, newClient(t, b, kgo.SeedBrokers(reqAddr), kgo.DialTLSConfig(withCert.Clone())), "req", 5)
	})

	if strings.Contains(brokerLog(t, b), keyPassword) {
		t.Error("the broker's log shows ssl.key.password")
	}
}

// TestTLSOtherClients: sarama, kafka-go and kcat (librdkafka), trusting
// the test's CA, each produce records over an SSL listener and read them
// back in order; over PLAINTEXT each topic then ends after exactly those
// records.
func TestTLSOtherClients(t *testing.T) {
	ca := newTestCA(t, "Cloud Kafka clients CA")
	chain, key, _ := ca.issue(t, pkix.Name{CommonName: "broker"}, time.Now().Add(time.Hour))
	plain, sslAddr := freeAddr(t), freeAddr(t)
	b := startBrokerAt(t, plain, "listeners=PLAINTEXT://"+plain+",SSL://"+sslAddr,
		"ssl.keystore.type=PEM", "ssl.keystore.location="+writeFile(t, "broker.pem", key+chain))
	roots := &tls.Config{RootCAs: ca.pool(), ServerName: "localhost"}
	const n = 5
	landed := func(t *testing.T, topic string) {
		t.Helper()
		if got := endOffsets(t, b, topic); got[0] != n {
			t.Errorf("%s's end offset: got %d; want %d", topic, got[0], n)
		}
	}

	t.Run("sarama", func(t *testing.T) {
		createTopic(t, b, "sarama-tls", 1)
		cfg := sarama.NewConfig()
		cfg.Version = sarama.V2_8_0_0
		cfg.Net.TLS.Enable, cfg.Net.TLS.Config = true, roots.Clone()
		saramaSeqs(t, sslAddr, cfg, "sarama-tls", n)
		landed(t, "sarama-tls")
	})

	t.Run("kafka-go", func(t *testing.T) {
		createTopic(t, b, "kafkago-tls", 1)
		kafkaGoSeqs(t, &kafkago.Dialer{Timeout: 10 * time.Second, TLS: roots.Clone()}, sslAddr, "kafkago-tls", n)
		landed(t, "kafkago-tls")
	})

	t.Run("kcat", func(t *testing.T) {
		_, err := exec.LookPath("kcat")
		requireTool(t, "kcat", err)
		const topic = "kcat-tls"
		createTopic(t, b, topic, 1)
		args := []string{"-b", sslAddr, "-X", "security.protocol=SSL", "-X", "ssl.ca.location=" + writeFile(t, "ca.pem", ca.pem)}
		var in strings.Builder
		for i := range n {
			in.WriteString(seqValue(topic, i) + "\n")
		}
		runTool(t, 30*time.Second, in.String(), "kcat", append(args, "-P", "-t", topic, "-X", "message.timeout.ms=10000")...)
		out := runTool(t, 30*time.Second, "", "kcat", append(args, "-C", "-t", topic, "-o", "beginning", "-e", "-f", "%s\n")...)
		if got := strings.TrimSuffix(out, "\n"); got != strings.TrimSuffix(in.String(), "\n") {
			t.Errorf("kcat read over SSL:\n%s\nwant:\n%s", got, in.String())
		}
		landed(t, topic)
	})
	waitLog(t, b, "clients served over TLS", "on listener SSL (TLS 1.", "authenticated as User:ANONYMOUS")
}

// saramaSeqs produces n sequence records to partition 0 of topic with
// sarama, one at a time with acks=all, and reads them back in order.
func saramaSeqs(t *testing.T, addr string, cfg *sarama.Config, topic string, n int) {
	t.Helper()
	cfg.Producer.Return.Successes = true
	cfg.Producer.RequiredAcks = sarama.WaitForAll
	p, err := sarama.NewSyncProducer([]string{addr}, cfg)
	if err != nil {
		t.Fatalf("sarama producer: %v", err)
	}
	defer p.Close()
	for i := range n {
		if _, _, err := p.SendMessage(&sarama.ProducerMessage{Topic: topic, Partition: 0, Value: sarama.StringEncoder(seqValue(topic, i))}); err != nil {
			t.Fatalf("sarama producing record %d: %v", i, err)
		}
	}
	c, err := sarama.NewConsumer([]string{addr}, cfg)
	if err != nil {
		t.Fatalf("sarama consumer: %v", err)
	}
	defer c.Close()
	pc, err := c.ConsumePartition(topic, 0, sarama.OffsetOldest)
	if err != nil {
		t.Fatalf("sarama consume: %v", err)
	}
	defer pc.Close()
	timeout := time.After(15 * time.Second)
	for i := range n {
		select {
		case m := <-pc.Messages():
			if seq, ok := parseSeq(topic, m.Value); !ok || seq != i {
				t.Fatalf("sarama record %d: got %q", i, m.Value)
			}
		case <-timeout:
			t.Fatalf("sarama read %d of %d records in 15 s", i, n)
		}
	}
}

// kafkaGoSeqs produces n sequence records to partition 0 of topic on a
// connection kafka-go's dialer opens to the partition's leader, and
// reads them back in order with a reader using the same dialer.
func kafkaGoSeqs(t *testing.T, d *kafkago.Dialer, addr, topic string, n int) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	conn, err := d.DialLeader(ctx, "tcp", addr, topic, 0)
	if err != nil {
		t.Fatalf("kafka-go dialing the leader of %s-0: %v", topic, err)
	}
	defer conn.Close()
	conn.SetWriteDeadline(time.Now().Add(10 * time.Second))
	msgs := make([]kafkago.Message, n)
	for i := range msgs {
		msgs[i].Value = []byte(seqValue(topic, i))
	}
	if _, err := conn.WriteMessages(msgs...); err != nil {
		t.Fatalf("kafka-go produce: %v", err)
	}
	r := kafkago.NewReader(kafkago.ReaderConfig{Brokers: []string{addr}, Topic: topic, Partition: 0, Dialer: d, MaxWait: 500 * time.Millisecond})
	defer r.Close()
	for i := range n {
		m, err := r.ReadMessage(ctx)
		if err != nil {
			t.Fatalf("kafka-go read %d of %d records: %v", i, n, err)
		}
		if seq, ok := parseSeq(topic, m.Value); !ok || seq != i {
			t.Fatalf("kafka-go record %d: got %q", i, m.Value)
		}
	}
}
