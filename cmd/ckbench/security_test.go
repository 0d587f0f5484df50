package main

import (
	"bytes"
	"crypto/tls"
	"crypto/x509"
	"net"
	"strings"
	"testing"
	"time"
)

func TestSecurityOrder(t *testing.T) {
	for _, tc := range []struct {
		round int
		want  [securityListenerCount]int
	}{
		{0, [securityListenerCount]int{listenerPlaintext, listenerSSL, listenerSASLSSL}},
		{1, [securityListenerCount]int{listenerSSL, listenerSASLSSL, listenerPlaintext}},
		{2, [securityListenerCount]int{listenerSASLSSL, listenerPlaintext, listenerSSL}},
		{3, [securityListenerCount]int{listenerPlaintext, listenerSSL, listenerSASLSSL}},
	} {
		if got := securityOrder(tc.round); got != tc.want {
			t.Errorf("securityOrder(%d) = %v; want %v", tc.round, got, tc.want)
		}
	}
}

// securityRoundOf is a round of 1000 records a run whose listeners took
// the given milliseconds, in the order of securityListeners.
func securityRoundOf(ms ...int) securityRound {
	var rd securityRound
	for l, m := range ms {
		rd.runs[l] = result{cell: cell{size: 1000, records: 1000}, produceElapsed: time.Duration(m) * time.Millisecond}
	}
	return rd
}

func TestSecurityMedians(t *testing.T) {
	// SSL's round ratios are 0.5, 0.125 and 0.8, so its median ratio is
	// 0.5, while the ratio of the median rates would be 400/1000.
	rounds := []securityRound{
		securityRoundOf(1000, 2000, 4000),
		securityRoundOf(500, 4000, 1000),
		securityRoundOf(2000, 2500, 2000),
	}
	for _, tc := range []struct {
		l                 int
		rate, mbps, ratio float64
	}{
		{listenerPlaintext, 1000, 1, 1},
		{listenerSSL, 400, 0.4, 0.5},
		{listenerSASLSSL, 500, 0.5, 0.5}, // ratios 0.25, 0.5, 1
	} {
		rate, mbps, ratio := securityMedians(rounds, tc.l)
		if rate != tc.rate || mbps != tc.mbps || ratio != tc.ratio {
			t.Errorf("securityMedians(listener %s) = %v, %v, %v; want %v, %v, %v",
				securityListeners[tc.l], rate, mbps, ratio, tc.rate, tc.mbps, tc.ratio)
		}
	}
	if got := median([]float64{4, 1, 3, 2}); got != 2.5 {
		t.Errorf("medianFloat of an even count = %v; want 2.5", got)
	}
	if got := median[float64](nil); got != 0 {
		t.Errorf("median(nil) = %v; want 0", got)
	}
}

func TestPrintSecurityTable(t *testing.T) {
	var buf bytes.Buffer
	printSecurityTable(&buf, securityReport{}, options{})
	if buf.Len() != 0 {
		t.Errorf("with no rounds: got %q; want nothing", buf.String())
	}
	rep := securityReport{
		rounds: []securityRound{
			securityRoundOf(1000, 2000, 5000),
			securityRoundOf(1000, 1250, 2500),
			securityRoundOf(1000, 1000, 2000),
		},
		tlsVersion: "TLS 1.3", tlsCipher: "TLS_AES_128_GCM_SHA256", aesMBps: 1234,
	}
	printSecurityTable(&buf, rep, options{securityRecords: 1000})
	out := buf.String()
	for _, want := range []string{
		" 1000 records a run",
		"SSL: TLS 1.3, TLS_AES_128_GCM_SHA256",
		"seals 1234 MB/s",
		"medians over 3 rounds",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("table lacks %q:\n%s", want, out)
		}
	}
	lines := strings.Split(out, "\n")
	// Runs in the order they ran: round 2 starts with SSL, round 3 with
	// SASL_SSL.
	for _, want := range [][]string{
		{"PLAINTEXT", "1", "1", "1000", "1.0", "-"},
		{"SASL_SSL", "1", "3", "200", "0.2", "0.20"},
		{"SSL", "2", "4", "800", "0.8", "0.80"},
		{"PLAINTEXT", "2", "6", "1000", "1.0", "-"},
		{"SASL_SSL", "3", "7", "500", "0.5", "0.50"},
		{"PLAINTEXT", "1000", "1.0", "-"},
		{"SSL", "800", "0.8", "0.80"},
		{"SASL_SSL", "400", "0.4", "0.40"},
	} {
		if !hasRow(lines, want) {
			t.Errorf("table lacks a row %v:\n%s", want, out)
		}
	}
}

// hasRow reports whether a line's fields, ignoring the latency columns'
// (which a bare result leaves zero), are exactly want.
func hasRow(lines []string, want []string) bool {
	for _, line := range lines {
		var fields []string
		for _, f := range strings.Fields(line) {
			if f != "0s" {
				fields = append(fields, f)
			}
		}
		if strings.Join(fields, " ") == strings.Join(want, " ") {
			return true
		}
	}
	return false
}

// TestThrowawayKeyStore serves TLS with the key store and checks that a
// client trusting the pool verifies it at 127.0.0.1 and localhost, that
// probeTLS names what was agreed, and that the certificate is not good
// for another name.
func TestThrowawayKeyStore(t *testing.T) {
	keyStore, roots, err := throwawayKeyStore(time.Now())
	if err != nil {
		t.Fatal(err)
	}
	pair, err := tls.X509KeyPair(keyStore, keyStore)
	if err != nil {
		t.Fatalf("the key store is not a key and certificate: %v", err)
	}
	ln, err := tls.Listen("tcp", "127.0.0.1:0", &tls.Config{Certificates: []tls.Certificate{pair}})
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			c.(*tls.Conn).Handshake()
			c.Close()
		}
	}()
	version, suite, err := probeTLS(ln.Addr().String(), &tls.Config{MinVersion: tls.VersionTLS12, RootCAs: roots})
	if err != nil || version != "TLS 1.3" || suite == "" {
		t.Errorf("probeTLS = %q, %q, %v; want TLS 1.3, a cipher suite and no error", version, suite, err)
	}
	leaf, err := x509.ParseCertificate(pair.Certificate[0])
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name string
		ok   bool
	}{{"127.0.0.1", true}, {"localhost", true}, {"10.0.0.1", false}, {"example.com", false}} {
		_, err := leaf.Verify(x509.VerifyOptions{DNSName: tc.name, Roots: roots})
		if (err == nil) != tc.ok {
			t.Errorf("verifying the certificate for %s: err = %v; want ok = %v", tc.name, err, tc.ok)
		}
	}
	if _, err := leaf.Verify(x509.VerifyOptions{DNSName: "127.0.0.1", Roots: x509.NewCertPool()}); err == nil {
		t.Error("the certificate verified without its CA; want an unknown authority")
	}
	if ip := net.ParseIP("127.0.0.1"); len(leaf.IPAddresses) != 1 || !leaf.IPAddresses[0].Equal(ip) {
		t.Errorf("IP SANs = %v; want [127.0.0.1]", leaf.IPAddresses)
	}
}

func TestParseSecurityFlags(t *testing.T) {
	o, err := parseFlags(nil)
	if err != nil {
		t.Fatal(err)
	}
	if !o.runs(suiteSecurity) || o.securityRecords != 100000 || o.securityRounds != 3 {
		t.Errorf("defaults: suites %v, records %d, rounds %d; want security among the suites, 100000, 3",
			o.suites, o.securityRecords, o.securityRounds)
	}
	if c := securityCell(o); c != (cell{size: 1024, acks: "all", partitions: 6, records: 100000}) {
		t.Errorf("securityCell = %+v; want 1024 B, acks=all, 6 partitions, 100000 records", c)
	}
	for _, tc := range []struct {
		args []string
		ok   bool
	}{
		{[]string{"-suites", "security", "-security-records", "1000", "-security-rounds", "1"}, true},
		{[]string{"-suites", "securty"}, false},
		{[]string{"-security-records", "3"}, false},
		{[]string{"-security-rounds", "0"}, false},
		{[]string{"-security-rounds", "101"}, false},
	} {
		if _, err := parseFlags(tc.args); (err == nil) != tc.ok {
			t.Errorf("parseFlags(%q): err = %v; want ok = %v", tc.args, err, tc.ok)
		}
	}
}
