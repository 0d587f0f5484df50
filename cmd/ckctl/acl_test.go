package main

// Tests of the acl commands and of the connection flags, against broker
// processes: one with an authorizer (ckctl connects over PLAINTEXT as
// User:ANONYMOUS, a super user), one without, one with SASL listeners and
// one with TLS listeners whose certificates come from a throwaway CA made
// here.

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"
)

const aclAuthorizer = "authorizer.class.name=kafka.security.authorizer.AclAuthorizer"

// aclTableHeader is the header of acl's tables, its fields one space apart.
const aclTableHeader = "PRINCIPAL HOST RESOURCE-TYPE RESOURCE-NAME PATTERN OPERATION PERMISSION"

// tableRows is a table's lines after the header, each with its fields one
// space apart; it fails the test when the header is not acl's.
func tableRows(t *testing.T, out string) []string {
	t.Helper()
	lines := strings.Split(strings.TrimRight(out, "\n"), "\n")
	if strings.Join(strings.Fields(lines[0]), " ") != aclTableHeader {
		t.Fatalf("table: got %q; want it to start with the header %q", out, aclTableHeader)
	}
	rows := []string{}
	for _, l := range lines[1:] {
		rows = append(rows, strings.Join(strings.Fields(l), " "))
	}
	return rows
}

// checkRows compares a table's rows, in order, with want.
func checkRows(t *testing.T, what, out string, want ...string) {
	t.Helper()
	if got := tableRows(t, out); !slices.Equal(got, want) {
		t.Errorf("%s: got rows\n%s\nwant\n%s", what, strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}

// TestACLCommands: acl create makes literal and prefixed bindings of
// topics, groups and the cluster; acl list shows them sorted and filters
// them by principal, operation, permission and resource (a MATCH pattern
// finds the prefixed binding of a name); acl delete removes what its
// filter matches and prints it; the broker's INVALID_REQUEST and the
// command-line mistakes are reported with exit codes 1 and 2.
func TestACLCommands(t *testing.T) {
	b := startBroker(t, aclAuthorizer, "super.users=User:admin;User:ANONYMOUS")

	out := mustCkctl(t, b, "", "acl", "create", "--allow-principal", "alice", "--operation", "read", "--operation", "Describe", "--topic", "orders")
	checkRows(t, "create orders", out,
		"User:alice * TOPIC orders LITERAL DESCRIBE ALLOW",
		"User:alice * TOPIC orders LITERAL READ ALLOW")
	out = mustCkctl(t, b, "", "acl", "create", "--allow-principal", "User:bob", "--allow-host", "127.0.0.1",
		"--operation", "WRITE", "--topic", "logs-", "--resource-pattern-type", "prefixed")
	checkRows(t, "create logs-", out, "User:bob 127.0.0.1 TOPIC logs- PREFIXED WRITE ALLOW")
	mustCkctl(t, b, "", "acl", "create", "--deny-principal", "alice", "--operation", "write", "--group", "g1")
	mustCkctl(t, b, "", "acl", "create", "--allow-principal", "bob", "--operation", "cluster_action", "--cluster")

	all := []string{
		"User:alice * GROUP g1 LITERAL WRITE DENY",
		"User:alice * TOPIC orders LITERAL DESCRIBE ALLOW",
		"User:alice * TOPIC orders LITERAL READ ALLOW",
		"User:bob * CLUSTER kafka-cluster LITERAL CLUSTER_ACTION ALLOW",
		"User:bob 127.0.0.1 TOPIC logs- PREFIXED WRITE ALLOW",
	}
	checkRows(t, "list", mustCkctl(t, b, "", "acl", "list"), all...)
	checkRows(t, "list --principal alice", mustCkctl(t, b, "", "acl", "list", "--principal", "alice"), all[:3]...)
	checkRows(t, "list --operation read", mustCkctl(t, b, "", "acl", "list", "--operation", "read"), all[2])
	checkRows(t, "list --principal User:alice --operation write,read --permission allow",
		mustCkctl(t, b, "", "acl", "list", "--principal", "User:alice", "--operation", "write,read", "--permission", "allow"), all[2])
	checkRows(t, "list --host 127.0.0.1", mustCkctl(t, b, "", "acl", "list", "--host", "127.0.0.1"), all[4])
	checkRows(t, "list --topic logs-app --resource-pattern-type match",
		mustCkctl(t, b, "", "acl", "list", "--topic", "logs-app", "--resource-pattern-type", "match"), all[4])
	checkRows(t, "list --topic logs-app (any pattern: the name exactly)", mustCkctl(t, b, "", "acl", "list", "--topic", "logs-app"))
	checkRows(t, "list --cluster --group g1", mustCkctl(t, b, "", "acl", "list", "--cluster", "--group", "g1"), all[0], all[3])

	out = mustCkctl(t, b, "", "acl", "delete", "--topic", "orders", "--operation", "read")
	checkRows(t, "delete --topic orders --operation read", out, all[2])
	checkRows(t, "list after deleting orders' READ", mustCkctl(t, b, "", "acl", "list"), all[0], all[1], all[3], all[4])
	out = mustCkctl(t, b, "", "acl", "delete", "--all", "--principal", "alice")
	checkRows(t, "delete --all --principal alice", out, all[0], all[1])
	checkRows(t, "list after deleting alice's", mustCkctl(t, b, "", "acl", "list"), all[3], all[4])
	if out := mustCkctl(t, b, "", "acl", "delete", "--topic", "orders"); !strings.Contains(out, "none deleted") {
		t.Errorf("delete matching nothing: got %q; want it to say none was deleted", out)
	}

	tests := []struct {
		name     string
		args     []string
		wantCode int
		wantErr  string
	}{
		{"empty topic name", []string{"acl", "create", "--allow-principal", "alice", "--operation", "read", "--topic", ""}, 1, "INVALID_REQUEST"},
		{"name with a slash", []string{"acl", "create", "--allow-principal", "alice", "--operation", "read", "--topic", "a/b"}, 1, "invalid resource name: a/b"},
		{"delete without a selector", []string{"acl", "delete", "--principal", "bob"}, 2, "or --all"},
		{"delete with --all and a selector", []string{"acl", "delete", "--all", "--topic", "x"}, 2, "not both"},
		{"create without a principal", []string{"acl", "create", "--operation", "read", "--topic", "x"}, 2, "--allow-principal or --deny-principal"},
		{"create without an operation", []string{"acl", "create", "--allow-principal", "a", "--topic", "x"}, 2, "needs --operation"},
		{"create without a resource", []string{"acl", "create", "--allow-principal", "a", "--operation", "read"}, 2, "needs a resource"},
		{"create with operation any", []string{"acl", "create", "--allow-principal", "a", "--operation", "any", "--topic", "x"}, 2, "operation any is a filter's"},
		{"create with an unknown operation", []string{"acl", "create", "--allow-principal", "a", "--operation", "read,fly", "--topic", "x"}, 2, `unknown operation "fly"`},
		{"create with a match pattern", []string{"acl", "create", "--allow-principal", "a", "--operation", "read", "--topic", "x", "--resource-pattern-type", "match"}, 2, "want literal or prefixed"},
		{"list with an unknown permission", []string{"acl", "list", "--permission", "maybe"}, 2, "want allow, deny or any"},
		{"deny host without deny principal", []string{"acl", "create", "--allow-principal", "a", "--deny-host", "h", "--operation", "read", "--topic", "x"}, 2, "--deny-host needs --deny-principal"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, _, errOut := ckctl(t, b, "", tt.args...)
			if code != tt.wantCode || !strings.Contains(errOut, tt.wantErr) {
				t.Errorf("exit code %d, stderr %q; want %d and %q", code, errOut, tt.wantCode, tt.wantErr)
			}
		})
	}
	// Nothing was created by the refused creations.
	checkRows(t, "list after the refusals", mustCkctl(t, b, "", "acl", "list"), all[3], all[4])
}

// TestACLWithoutAuthorizer: a broker without an authorizer refuses the
// ACL APIs with SECURITY_DISABLED, which ckctl reports with exit code 1.
func TestACLWithoutAuthorizer(t *testing.T) {
	b := startBroker(t)
	for _, args := range [][]string{
		{"acl", "list"},
		{"acl", "create", "--allow-principal", "alice", "--operation", "read", "--topic", "t"},
		{"acl", "delete", "--all"},
	} {
		code, _, errOut := ckctl(t, b, "", args...)
		if code != 1 || !strings.Contains(errOut, "SECURITY_DISABLED") {
			t.Errorf("%q: exit code %d, stderr %q; want 1 and SECURITY_DISABLED", args, code, errOut)
		}
	}
}

// TestSASLFlags: ckctl authenticates with SCRAM-SHA-256 (a user made with
// ckctl user create over PLAINTEXT, the password from
// $CKCTL_SASL_PASSWORD) and with PLAIN (--sasl-password). The broker's
// authorizer proves who ckctl is: bob, no super user, is refused
// DescribeAcls (CLUSTER_AUTHORIZATION_FAILED) but sees the topic he may
// describe; alice, a super user, lists the ACLs. A wrong password fails
// authentication.
func TestSASLFlags(t *testing.T) {
	plainAddr, saslAddr := freeAddr(t), freeAddr(t)
	startBrokerAt(t, plainAddr,
		"listeners=PLAINTEXT://"+plainAddr+",SASL_PLAINTEXT://"+saslAddr,
		"sasl.enabled.mechanisms=PLAIN,SCRAM-SHA-256",
		`listener.name.sasl_plaintext.plain.sasl.jaas.config=org.apache.kafka.common.security.plain.PlainLoginModule required user_alice="alice-secret";`,
		aclAuthorizer, "super.users=User:ANONYMOUS;User:alice")
	mustCkctl(t, plainAddr, "", "user", "create", "bob", "--mechanism", "SCRAM-SHA-256", "--password", "bob-secret")
	mustCkctl(t, plainAddr, "", "topic", "create", "secured", "-p", "1", "-r", "1")
	mustCkctl(t, plainAddr, "", "acl", "create", "--allow-principal", "bob", "--operation", "describe", "--topic", "secured")

	t.Setenv("CKCTL_SASL_PASSWORD", "bob-secret")
	bob := []string{"--sasl-mechanism", "SCRAM-SHA-256", "--sasl-user", "bob"}
	out := mustCkctl(t, saslAddr, "", append(bob, "topic", "list")...)
	if !hasLineFields(out, "secured", "1", "1") {
		t.Errorf("topic list as bob: got %q; want the row \"secured 1 1\"", out)
	}
	code, _, errOut := ckctl(t, saslAddr, "", append(bob, "acl", "list")...)
	if code != 1 || !strings.Contains(errOut, "CLUSTER_AUTHORIZATION_FAILED") {
		t.Errorf("acl list as bob: exit code %d, stderr %q; want 1 and CLUSTER_AUTHORIZATION_FAILED", code, errOut)
	}

	out = mustCkctl(t, saslAddr, "", "acl", "list", "--sasl-mechanism", "plain", "--sasl-user", "alice", "--sasl-password", "alice-secret")
	checkRows(t, "acl list as alice", out, "User:bob * TOPIC secured LITERAL DESCRIBE ALLOW")

	code, _, errOut = ckctl(t, saslAddr, "", append(bob, "--sasl-password", "guess", "topic", "list")...)
	if code != 1 || !strings.Contains(errOut, "SASL_AUTHENTICATION_FAILED") {
		t.Errorf("a wrong password: exit code %d, stderr %q; want 1 and SASL_AUTHENTICATION_FAILED", code, errOut)
	}
	if strings.Contains(errOut, "guess") {
		t.Errorf("a wrong password: stderr %q shows the password", errOut)
	}
	if code, _, errOut := ckctl(t, saslAddr, "", "--sasl-mechanism", "SCRAM-SHA-256", "topic", "list"); code != 2 || !strings.Contains(errOut, "needs --sasl-user") {
		t.Errorf("a mechanism without a user: exit code %d, stderr %q; want 2", code, errOut)
	}
}

// TestTLSFlags: ckctl reaches an SSL listener with --tls-ca (and is
// refused without it: the CA is not a system root), and an mTLS listener
// (ssl.client.auth=required) only with --tls-cert and --tls-key.
func TestTLSFlags(t *testing.T) {
	dir := t.TempDir()
	caKey, caCert := newCA(t)
	caPath := writePEM(t, dir, "ca.pem", caCert)
	brokerCert, brokerKey := issue(t, caKey, caCert, "broker")
	clientCert, clientKey := issue(t, caKey, caCert, "admin")
	certPath := writePEM(t, dir, "client.pem", clientCert)
	keyPath := writePEM(t, dir, "client-key.pem", clientKey)

	plainAddr, sslAddr, mtlsAddr := freeAddr(t), freeAddr(t), freeAddr(t)
	startBrokerAt(t, plainAddr,
		"listeners=PLAINTEXT://"+plainAddr+",SSL://"+sslAddr+",MTLS://"+mtlsAddr,
		"listener.security.protocol.map=PLAINTEXT:PLAINTEXT,SSL:SSL,MTLS:SSL",
		"ssl.keystore.type=PEM", "ssl.keystore.location="+writePEM(t, dir, "broker.pem", brokerKey+brokerCert),
		"listener.name.mtls.ssl.truststore.type=PEM", "listener.name.mtls.ssl.truststore.location="+caPath,
		"listener.name.mtls.ssl.client.auth=required")
	mustCkctl(t, plainAddr, "", "topic", "create", "tls", "-p", "2", "-r", "1")

	out := mustCkctl(t, sslAddr, "", "--tls-ca", caPath, "topic", "list")
	if !hasLineFields(out, "tls", "2", "1") {
		t.Errorf("topic list over SSL: got %q; want the row \"tls 2 1\"", out)
	}
	if code, _, errOut := ckctl(t, sslAddr, "", "--tls", "-timeout", "3s", "topic", "list"); code != 1 || !strings.Contains(errOut, "unknown authority") {
		t.Errorf("SSL with the system roots: exit code %d, stderr %q; want 1 and the unknown authority", code, errOut)
	}
	out = mustCkctl(t, mtlsAddr, "", "topic", "list", "--tls-ca", caPath, "--tls-cert", certPath, "--tls-key", keyPath)
	if !hasLineFields(out, "tls", "2", "1") {
		t.Errorf("topic list over mTLS: got %q; want the row \"tls 2 1\"", out)
	}
	if code, _, errOut := ckctl(t, mtlsAddr, "", "--tls-ca", caPath, "-timeout", "3s", "topic", "list"); code != 1 || !strings.Contains(errOut, "certificate") {
		t.Errorf("mTLS without a client certificate: exit code %d, stderr %q; want 1 and the broker's refusal", code, errOut)
	}
	if code, _, errOut := ckctl(t, mtlsAddr, "", "--tls-ca", caPath, "--tls-cert", certPath, "topic", "list"); code != 2 || !strings.Contains(errOut, "go together") {
		t.Errorf("--tls-cert without --tls-key: exit code %d, stderr %q; want 2", code, errOut)
	}
}

// newCA makes a throwaway certificate authority: its key and PEM
// certificate.
func newCA(t *testing.T) (*ecdsa.PrivateKey, string) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "ckctl test CA"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	return key, string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}))
}

// issue makes a certificate for cn, good for a server at localhost or
// 127.0.0.1 and for a client: the PEM certificate and PKCS#8 key.
func issue(t *testing.T, caKey *ecdsa.PrivateKey, caPEM, cn string) (cert, key string) {
	t.Helper()
	block, _ := pem.Decode([]byte(caPEM))
	ca, err := x509.ParseCertificate(block.Bytes)
	if err != nil {
		t.Fatal(err)
	}
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	serial, err := rand.Int(rand.Reader, big.NewInt(1<<62))
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: serial, Subject: pkix.Name{CommonName: cn},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		KeyUsage:    x509.KeyUsageDigitalSignature,
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth, x509.ExtKeyUsageClientAuth},
		DNSNames:    []string{"localhost"}, IPAddresses: []net.IP{net.ParseIP("127.0.0.1")}}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca, &k.PublicKey, caKey)
	if err != nil {
		t.Fatal(err)
	}
	kd, err := x509.MarshalPKCS8PrivateKey(k)
	if err != nil {
		t.Fatal(err)
	}
	return string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})),
		string(pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: kd}))
}

func writePEM(t *testing.T, dir, name, content string) string {
	t.Helper()
	path := filepath.Join(dir, name)
	if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}
