package main

import (
	"context"
	"crypto/aes"
	"crypto/cipher"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"fmt"
	"io"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/sasl/scram"
)

// The security suite (Cloud Kafka only: the reference peer serves no
// TLS) measures what encryption and authentication cost a producer. One
// broker process serves three listeners: PLAINTEXT, SSL (TLS 1.2 or 1.3,
// whichever the two sides agree on; the server authenticates itself with
// a certificate from a CA the suite makes and throws away, and clients
// present none) and SASL_SSL (the same TLS, then SCRAM-SHA-256 as a user
// the suite creates with AlterUserScramCredentials over PLAINTEXT). Each
// run creates a topic of securityPartitions partitions over PLAINTEXT,
// produces -security-records records of 1 KiB with acks=all through one
// listener as the produce suite does (produce), and deletes the topic.
//
// The machine is shared, so the three listeners take turns: each of
// -security-rounds rounds runs every listener once, starting one later
// in the list each round (ABC, BCA, CAB, ...) so that no listener is
// always first. A round's SSL and SASL_SSL rates are reported as ratios
// to its PLAINTEXT rate, and the medians over the rounds summarise the
// suite: the median of the ratios, not the ratio of the medians, so that
// each ratio compares runs close together in time.

const (
	suiteSecurity = "security"

	securityRecordBytes = 1024
	securityPartitions  = 6
	// securitySCRAMIterations is Kafka's minimum for SCRAM-SHA-256.
	securitySCRAMIterations = 4096
	// securityCertLifetime bounds the throwaway certificates' validity;
	// longer than any run of the suite within its flags' bounds should
	// take.
	securityCertLifetime = 24 * time.Hour
	// securityAEADChunkBytes is the plaintext of a full TLS record.
	securityAEADChunkBytes = 16 << 10
	// securityAEADDuration is how long the cipher's rate is measured.
	securityAEADDuration = 200 * time.Millisecond
)

// The listeners, in the order of securityListeners; PLAINTEXT is the
// reference the others are compared with.
const (
	listenerPlaintext = iota
	listenerSSL
	listenerSASLSSL
	securityListenerCount
)

var securityListeners = [securityListenerCount]string{"PLAINTEXT", "SSL", "SASL_SSL"}

// securityRound is one round's run of each listener, indexed as
// securityListeners.
type securityRound struct {
	runs [securityListenerCount]result
}

// securityReport is what the suite measured and the setting it measured
// in.
type securityReport struct {
	rounds     []securityRound
	tlsVersion string  // what the SSL listener negotiated with the client's settings
	tlsCipher  string  // the cipher suite it negotiated
	aesMBps    float64 // AES-128-GCM seal rate of one goroutine, in MB/s
}

// securityCell is the shape of every run.
func securityCell(o options) cell {
	return cell{size: securityRecordBytes, acks: "all", partitions: securityPartitions, records: o.securityRecords}
}

// securityOrder lists the listeners in the order round (from 0) runs
// them: the list rotated by round.
func securityOrder(round int) [securityListenerCount]int {
	var order [securityListenerCount]int
	for i := range order {
		order[i] = (round + i) % securityListenerCount
	}
	return order
}

// runSecurity runs the security suite if asked to, into rep, and
// explains on stderr when it cannot run.
func runSecurity(ctx context.Context, o options, rep *securityReport) error {
	if !o.runs(suiteSecurity) {
		return nil
	}
	if o.brokers != "" || !slices.Contains(o.targets, targetCloudKafka) {
		fmt.Fprintf(os.Stderr, "ckbench: the security suite starts its own broker: it runs only without -brokers and with target %s\n", targetCloudKafka)
		return nil
	}
	if err := runSecuritySuite(ctx, o, rep); err != nil {
		return fmt.Errorf("security suite: %w", err)
	}
	return nil
}

// runSecuritySuite starts the broker, creates the SCRAM user and runs
// the rounds. rep holds the rounds completed, also on error.
func runSecuritySuite(ctx context.Context, o options, rep *securityReport) error {
	fmt.Fprintf(os.Stderr, "ckbench: security: starting a broker with PLAINTEXT, SSL and SASL_SSL listeners ...\n")
	sb, err := startSecureBroker(ctx, o)
	if err != nil {
		return err
	}
	defer sb.stop()
	user, pass := "ckbench", rand.Text()
	if err := createSCRAMUser(ctx, sb.addrs[listenerPlaintext], user, pass); err != nil {
		return err
	}
	if rep.tlsVersion, rep.tlsCipher, err = probeTLS(sb.addrs[listenerSSL], sb.tlsConfig()); err != nil {
		return err
	}
	rep.aesMBps = aesGCMRate()
	clientOpts := [securityListenerCount][]kgo.Opt{
		listenerSSL: {kgo.DialTLSConfig(sb.tlsConfig())},
		listenerSASLSSL: {kgo.DialTLSConfig(sb.tlsConfig()),
			kgo.SASL(scram.Auth{User: user, Pass: pass}.AsSha256Mechanism())},
	}
	c := securityCell(o)
	for i := 0; i < o.securityRounds; i++ {
		var rd securityRound
		for _, l := range securityOrder(i) {
			name := securityListeners[l]
			fmt.Fprintf(os.Stderr, "ckbench: security round %d/%d: %s %s ...\n", i+1, o.securityRounds, name, c)
			r, err := runProduceOnly(ctx, sb.addrs[listenerPlaintext], sb.addrs[l], c, o, clientOpts[l])
			r.target = name
			if err != nil {
				return fmt.Errorf("round %d, listener %s, cell %s: %w", i+1, name, c, err)
			}
			rd.runs[l] = r
		}
		rep.rounds = append(rep.rounds, rd)
	}
	return nil
}

// secureBroker is a broker process with the three listeners.
type secureBroker struct {
	addrs [securityListenerCount]string // each listener's host:port
	roots *x509.CertPool                // the throwaway CA
	stop  func()
}

// tlsConfig is a client's: TLS 1.2 at least, the throwaway CA trusted,
// no client certificate. franz-go names the dialled host as the server,
// which the broker's certificate lists.
func (sb *secureBroker) tlsConfig() *tls.Config {
	return &tls.Config{MinVersion: tls.VersionTLS12, RootCAs: sb.roots}
}

// startSecureBroker builds (unless -broker-bin) and runs a broker with
// the three listeners on free loopback ports, its key store and data in
// a temporary directory, and waits until every listener accepts
// connections.
func startSecureBroker(ctx context.Context, o options) (*secureBroker, error) {
	dir, err := os.MkdirTemp("", "ckbench-security-")
	if err != nil {
		return nil, err
	}
	sb := &secureBroker{stop: func() { os.RemoveAll(dir) }}
	fail := func(err error) (*secureBroker, error) {
		sb.stop()
		return nil, err
	}
	bin, err := brokerBinary(ctx, o, dir)
	if err != nil {
		return fail(err)
	}
	keyStore, roots, err := throwawayKeyStore(time.Now())
	if err != nil {
		return fail(fmt.Errorf("making the certificates: %w", err))
	}
	sb.roots = roots
	keyPath := filepath.Join(dir, "broker.pem")
	if err := os.WriteFile(keyPath, keyStore, 0o600); err != nil {
		return fail(err)
	}
	var listeners []string
	for l := range sb.addrs {
		if sb.addrs[l], err = freeAddr(); err != nil {
			return fail(err)
		}
		listeners = append(listeners, securityListeners[l]+"://"+sb.addrs[l])
	}
	// listener.security.protocol.map's default maps each of these
	// listener names to the protocol of the same name.
	p, err := startBrokerProc(bin, dir, "broker", sb.addrs[listenerPlaintext], []string{
		"num.partitions=1",
		"listeners=" + strings.Join(listeners, ","),
		"ssl.keystore.type=PEM", "ssl.keystore.location=" + keyPath,
		"sasl.enabled.mechanisms=SCRAM-SHA-256",
	}, o)
	if err != nil {
		return fail(err)
	}
	sb.stop = func() { p.stop(); os.RemoveAll(dir) }
	for _, addr := range sb.addrs[listenerPlaintext+1:] {
		if err := waitListening(addr, p); err != nil {
			return fail(fmt.Errorf("%w; broker log was %s", err, tailFile(p.logf.Name())))
		}
	}
	return sb, nil
}

// throwawayKeyStore makes a CA and a server certificate it signs for
// 127.0.0.1 and localhost, both valid from an hour before now for
// securityCertLifetime. It returns the server's PEM key store (its PKCS#8
// key, then its certificate) and a pool holding the CA. Nothing of the
// CA's key outlives the call.
func throwawayKeyStore(now time.Time) (keyStore []byte, roots *x509.CertPool, err error) {
	caKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, nil, err
	}
	notBefore, notAfter := now.Add(-time.Hour), now.Add(securityCertLifetime)
	caTmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "ckbench throwaway CA"},
		NotBefore: notBefore, NotAfter: notAfter,
		IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign}
	caDER, err := x509.CreateCertificate(rand.Reader, caTmpl, caTmpl, &caKey.PublicKey, caKey)
	if err != nil {
		return nil, nil, err
	}
	ca, err := x509.ParseCertificate(caDER)
	if err != nil {
		return nil, nil, err
	}
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, nil, err
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(2), Subject: pkix.Name{CommonName: "ckbench broker"},
		NotBefore: notBefore, NotAfter: notAfter,
		KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		DNSNames: []string{"localhost"}, IPAddresses: []net.IP{net.IPv4(127, 0, 0, 1)}}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca, &key.PublicKey, caKey)
	if err != nil {
		return nil, nil, err
	}
	keyDER, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		return nil, nil, err
	}
	keyStore = pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: keyDER})
	keyStore = append(keyStore, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})...)
	roots = x509.NewCertPool()
	roots.AddCert(ca)
	return keyStore, roots, nil
}

// createSCRAMUser creates user's SCRAM-SHA-256 credential through
// AlterUserScramCredentials on the PLAINTEXT listener at addr.
func createSCRAMUser(ctx context.Context, addr, user, pass string) error {
	cl, err := kgo.NewClient(kgo.SeedBrokers(addr))
	if err != nil {
		return err
	}
	defer cl.Close()
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	res, err := kadm.NewClient(cl).AlterUserSCRAMs(ctx, nil, []kadm.UpsertSCRAM{
		{User: user, Mechanism: kadm.ScramSha256, Iterations: securitySCRAMIterations, Password: pass}})
	if err != nil {
		return fmt.Errorf("creating the SCRAM user: %w", err)
	}
	if r, ok := res[user]; !ok || r.Err != nil {
		return fmt.Errorf("creating the SCRAM user %s: got %+v", user, res)
	}
	return nil
}

// probeTLS completes one handshake with the listener at addr and names
// the TLS version and cipher suite agreed, which the producers' own
// connections, made with the same settings, agree on too.
func probeTLS(addr string, cfg *tls.Config) (version, cipherSuite string, err error) {
	host, _, _ := net.SplitHostPort(addr)
	cfg.ServerName = host
	conn, err := tls.DialWithDialer(&net.Dialer{Timeout: 5 * time.Second}, "tcp", addr, cfg)
	if err != nil {
		return "", "", fmt.Errorf("TLS handshake with %s: %w", addr, err)
	}
	defer conn.Close()
	st := conn.ConnectionState()
	return tls.VersionName(st.Version), tls.CipherSuiteName(st.CipherSuite), nil
}

// aesGCMRate is how many MB/s one goroutine seals with AES-128-GCM in
// full TLS records, over securityAEADDuration: a bound on one core's
// share of TLS, where the client seals each byte and the broker opens it.
func aesGCMRate() float64 {
	block, err := aes.NewCipher(make([]byte, 16))
	if err != nil {
		panic(err) // a 16-byte key is always valid
	}
	aead, err := cipher.NewGCM(block)
	if err != nil {
		panic(err)
	}
	nonce := make([]byte, aead.NonceSize())
	plain := make([]byte, securityAEADChunkBytes)
	sealed := make([]byte, 0, securityAEADChunkBytes+aead.Overhead())
	start, n := time.Now(), 0
	for time.Since(start) < securityAEADDuration {
		for range 16 {
			sealed = aead.Seal(sealed[:0], nonce, plain, nil)
			n++
		}
	}
	return float64(n) * securityAEADChunkBytes / time.Since(start).Seconds() / 1e6
}

// runProduceOnly creates a topic of c's shape through the (PLAINTEXT)
// listener at admin, produces c's records through the listener at addr
// with the extra client options, and deletes the topic. It is bounded by
// o.deadline.
func runProduceOnly(ctx context.Context, admin, addr string, c cell, o options, extra []kgo.Opt) (result, error) {
	r := result{cell: c}
	ctx, cancel := context.WithTimeout(ctx, o.deadline)
	defer cancel()
	topic := fmt.Sprintf("ckbench-produce-%d-%d", time.Now().UnixNano(), topicSeq.Add(1))
	cl, err := kgo.NewClient(kgo.SeedBrokers(admin))
	if err != nil {
		return r, err
	}
	defer cl.Close()
	adm := kadm.NewClient(cl)
	if _, err := adm.CreateTopic(ctx, int32(c.partitions), 1, nil, topic); err != nil {
		return r, fmt.Errorf("creating topic %s: %w", topic, err)
	}
	defer func() {
		dctx, dcancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer dcancel()
		adm.DeleteTopic(dctx, topic) // best effort: the broker is discarded anyway
	}()
	err = produce(ctx, []string{addr}, topic, c, o, &r, extra...)
	return r, err
}

// ratio is run l's produce rate over PLAINTEXT's in the same round.
func (rd securityRound) ratio(l int) float64 {
	return rd.runs[l].produceRate() / rd.runs[listenerPlaintext].produceRate()
}

// securityMedians are listener l's median produce rate (records/s),
// median MB/s, and median ratio to PLAINTEXT over the rounds.
func securityMedians(rounds []securityRound, l int) (recordsPerSec, mbps, ratio float64) {
	var rates, mbs, ratios []float64
	for _, rd := range rounds {
		rates = append(rates, rd.runs[l].produceRate())
		mbs = append(mbs, rd.runs[l].produceMBps())
		ratios = append(ratios, rd.ratio(l))
	}
	return median(rates), median(mbs), median(ratios)
}

// printSecurityTable prints each run in the order it ran, then each
// listener's medians, with the TLS setting and a line on the machine.
func printSecurityTable(w io.Writer, rep securityReport, o options) {
	if len(rep.rounds) == 0 {
		return
	}
	fmt.Fprintf(w, "\nsecurity: %d B records, acks=all, %d partitions, %d records a run, one broker with three listeners; SSL: %s, %s, server authentication only; SASL_SSL: the same TLS and SCRAM-SHA-256\n",
		securityRecordBytes, securityPartitions, o.securityRecords, rep.tlsVersion, rep.tlsCipher)
	fmt.Fprintf(w, "security: machine: %d CPUs, GOMAXPROCS=%d; one goroutine seals %.0f MB/s with AES-128-GCM in 16 KiB records (TLS costs the client a seal and the broker an open of every byte)\n",
		runtime.NumCPU(), runtime.GOMAXPROCS(0), rep.aesMBps)
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "listener\tround\trun\trecords/s\tMB/s\tp50\tp99\tvs PLAINTEXT\t")
	run := 0
	for i, rd := range rep.rounds {
		for _, l := range securityOrder(i) {
			run++
			r, ratio := rd.runs[l], "-"
			if l != listenerPlaintext {
				ratio = fmt.Sprintf("%.2f", rd.ratio(l))
			}
			fmt.Fprintf(tw, "%s\t%d\t%d\t%.0f\t%.1f\t%s\t%s\t%s\t\n", securityListeners[l], i+1, run,
				r.produceRate(), r.produceMBps(), roundLatency(r.latencyP50), roundLatency(r.latencyP99), ratio)
		}
	}
	tw.Flush()
	fmt.Fprintf(w, "medians over %d rounds (vs PLAINTEXT: the median of each round's ratio):\n", len(rep.rounds))
	tw = tabwriter.NewWriter(w, 0, 4, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "listener\trecords/s\tMB/s\tvs PLAINTEXT\t")
	for l, name := range securityListeners {
		rate, mbps, ratio := securityMedians(rep.rounds, l)
		r := "-"
		if l != listenerPlaintext {
			r = fmt.Sprintf("%.2f", ratio)
		}
		fmt.Fprintf(tw, "%s\t%.0f\t%.1f\t%s\t\n", name, rate, mbps, r)
	}
	tw.Flush()
}
