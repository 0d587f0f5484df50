package realio

import (
	"bufio"
	"crypto/pbkdf2"
	"crypto/sha256"
	"encoding/binary"
	stdio "io"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"
	"github.com/xdg-go/scram"
)

func init() {
	versionCases[17] = versionCase{0, 1, testSASLHandshake}
	versionCases[36] = versionCase{0, 2, testSASLAuthenticate}
	versionCases[50] = versionCase{0, 0, testDescribeUserScram}
	versionCases[51] = versionCase{0, 0, testAlterUserScram}
}

// startSASLBroker starts a broker with a PLAINTEXT listener and a
// SASL_PLAINTEXT one serving PLAIN (alice) and SCRAM-SHA-256.
func startSASLBroker(t *testing.T, overrides map[string]string) *testBroker {
	props := map[string]string{
		"listeners":               "PLAINTEXT://127.0.0.1:0,SASL_PLAINTEXT://127.0.0.1:0",
		"sasl.enabled.mechanisms": "PLAIN,SCRAM-SHA-256",
		"listener.name.sasl_plaintext.plain.sasl.jaas.config": `org.apache.kafka.common.security.plain.PlainLoginModule required user_alice="alice-secret";`,
		"connection.failed.authentication.delay.ms":           "10",
	}
	for k, v := range overrides {
		props[k] = v
	}
	return startBroker(t, props)
}

// dialSASL connects to the broker's SASL_PLAINTEXT listener.
func (b *testBroker) dialSASL(t *testing.T) *client {
	t.Helper()
	addr := b.ListenerAddr("SASL_PLAINTEXT").String()
	nc, err := net.DialTimeout("tcp", addr, ioTimeout)
	if err != nil {
		t.Fatalf("dial %s: %v", addr, err)
	}
	t.Cleanup(func() { nc.Close() })
	return &client{t: t, nc: nc, r: bufio.NewReader(nc)}
}

func saslHandshake(t *testing.T, c *client, v int16, mech string) *kmsg.SASLHandshakeResponse {
	t.Helper()
	req := kmsg.NewPtrSASLHandshakeRequest()
	req.Mechanism = mech
	return call[*kmsg.SASLHandshakeResponse](t, c, v, req)
}

func saslToken(t *testing.T, c *client, v int16, tok string) *kmsg.SASLAuthenticateResponse {
	t.Helper()
	req := kmsg.NewPtrSASLAuthenticateRequest()
	req.SASLAuthBytes = []byte(tok)
	return call[*kmsg.SASLAuthenticateResponse](t, c, v, req)
}

// ---- SaslHandshake (17) ----

// testSASLHandshake: the served mechanisms; v0's bare-token framing (a
// size-prefixed token answered by one, then Kafka requests again); an
// unsupported mechanism answered UNSUPPORTED_SASL_MECHANISM and closed;
// ILLEGAL_SASL_STATE on a listener without SASL.
func testSASLHandshake(t *testing.T, v int16) {
	b := startSASLBroker(t, nil)
	c := b.dialSASL(t)
	hs := saslHandshake(t, c, v, "PLAIN")
	if !checkCode(t, "SaslHandshake", hs.ErrorCode, 0) || strings.Join(hs.SupportedMechanisms, ",") != "PLAIN,SCRAM-SHA-256" {
		t.Fatalf("SaslHandshake v%d: got mechanisms %v; want PLAIN,SCRAM-SHA-256", v, hs.SupportedMechanisms)
	}
	if v == 0 {
		tok := "\x00alice\x00alice-secret"
		c.nc.Write(append(binary.BigEndian.AppendUint32(nil, uint32(len(tok))), tok...))
		var size [4]byte
		c.nc.SetReadDeadline(time.Now().Add(ioTimeout))
		if _, err := stdio.ReadFull(c.r, size[:]); err != nil || binary.BigEndian.Uint32(size[:]) != 0 {
			t.Fatalf("bare PLAIN token: got %x, %v; want an empty token", size, err)
		}
	} else if a := saslToken(t, c, 1, "\x00alice\x00alice-secret"); !checkCode(t, "SaslAuthenticate", a.ErrorCode, 0) {
		return
	}
	call[*kmsg.MetadataResponse](t, c, 1, kmsg.NewPtrMetadataRequest())

	c2 := b.dialSASL(t)
	if hs := saslHandshake(t, c2, v, "GSSAPI"); checkCode(t, "SaslHandshake GSSAPI", hs.ErrorCode, kerr.UnsupportedSaslMechanism.Code) {
		expectClosed(t, c2)
	}
	plain := b.dial(t)
	checkCode(t, "SaslHandshake on PLAINTEXT", saslHandshake(t, plain, v, "PLAIN").ErrorCode, kerr.IllegalSaslState.Code)
}

// ---- SaslAuthenticate (36) ----

// testSASLAuthenticate: PLAIN accepted (v1+ with the session lifetime of
// connections.max.reauth.ms), a wrong password answered
// SASL_AUTHENTICATION_FAILED with Kafka's message and closed, a request
// before authentication closed and logged.
func testSASLAuthenticate(t *testing.T, v int16) {
	b := startSASLBroker(t, map[string]string{"connections.max.reauth.ms": "60000"})
	c := b.dialSASL(t)
	saslHandshake(t, c, 1, "PLAIN")
	a := saslToken(t, c, v, "\x00alice\x00alice-secret")
	want := int64(60000)
	if v == 0 {
		want = 0
	}
	if !checkCode(t, "SaslAuthenticate", a.ErrorCode, 0) || a.SessionLifetimeMillis != want {
		t.Fatalf("SaslAuthenticate v%d: session lifetime %d; want %d", v, a.SessionLifetimeMillis, want)
	}
	b.waitLog(t, 0, "result=success principal=User:alice mechanism=PLAIN ")

	from := b.logLines()
	bad := b.dialSASL(t)
	saslHandshake(t, bad, 1, "PLAIN")
	a = saslToken(t, bad, v, "\x00alice\x00wrong")
	if checkCode(t, "SaslAuthenticate wrong password", a.ErrorCode, kerr.SaslAuthenticationFailed.Code) &&
		(a.ErrorMessage == nil || *a.ErrorMessage != "Authentication failed: Invalid username or password") {
		t.Errorf("error message %v; want Kafka's", a.ErrorMessage)
	}
	expectClosed(t, bad)
	b.waitLog(t, from, `result=failure user="alice" mechanism=PLAIN`)
	b.waitLog(t, from, `reason="invalid password"`)

	early := b.dialSASL(t)
	call[*kmsg.ApiVersionsResponse](t, early, 3, kmsg.NewPtrApiVersionsRequest())
	if _, err := early.send(kmsg.NewPtrMetadataRequest()); err != nil {
		t.Fatal(err)
	}
	expectClosed(t, early)
	b.waitLog(t, from, "Unexpected Kafka request of type METADATA during SASL handshake")
}

// ---- DescribeUserScramCredentials (50), AlterUserScramCredentials (51) ----

// upsertion is a SCRAM-SHA-256 credential as clients compute it.
func upsertion(user, pass string, iters int32) kmsg.AlterUserSCRAMCredentialsRequestUpsertion {
	salt := []byte("salt-" + user)
	u := kmsg.NewAlterUserSCRAMCredentialsRequestUpsertion()
	u.Name, u.Mechanism, u.Iterations, u.Salt = user, 1, iters, salt
	u.SaltedPassword, _ = pbkdf2.Key(sha256.New, pass, salt, int(iters), sha256.Size)
	return u
}

// testAlterUserScram: a credential stored through the PLAINTEXT listener
// authenticates SCRAM-SHA-256 on the SASL one; too few iterations are
// refused with UNACCEPTABLE_CREDENTIAL.
func testAlterUserScram(t *testing.T, v int16) {
	b := startSASLBroker(t, nil)
	c := b.dial(t)
	req := kmsg.NewPtrAlterUserSCRAMCredentialsRequest()
	req.Upsertions = append(req.Upsertions, upsertion("bob", "bob-secret", 4096), upsertion("weak", "x", 1000))
	resp := call[*kmsg.AlterUserSCRAMCredentialsResponse](t, c, v, req)
	codes := map[string]int16{}
	for _, r := range resp.Results {
		codes[r.User] = r.ErrorCode
	}
	if len(codes) != 2 || codes["bob"] != 0 || codes["weak"] != kerr.UnacceptableCredential.Code {
		t.Fatalf("AlterUserScramCredentials v%d: got %+v; want bob stored, weak UNACCEPTABLE_CREDENTIAL", v, resp.Results)
	}
	s := b.dialSASL(t)
	saslHandshake(t, s, 1, "SCRAM-SHA-256")
	cl, _ := scram.SHA256.NewClient("bob", "bob-secret", "")
	conv := cl.NewConversation()
	out, _ := conv.Step("")
	for !conv.Done() {
		a := saslToken(t, s, 2, out)
		if !checkCode(t, "SCRAM SaslAuthenticate", a.ErrorCode, 0) {
			return
		}
		var err error
		if out, err = conv.Step(string(a.SASLAuthBytes)); err != nil {
			t.Fatalf("SCRAM: %v", err)
		}
	}
	call[*kmsg.MetadataResponse](t, s, 1, kmsg.NewPtrMetadataRequest())
	b.waitLog(t, 0, "result=success principal=User:bob mechanism=SCRAM-SHA-256 ")
}

// testDescribeUserScram: every user, one, an unknown one.
func testDescribeUserScram(t *testing.T, v int16) {
	b := startSASLBroker(t, nil)
	c := b.dial(t)
	req := kmsg.NewPtrAlterUserSCRAMCredentialsRequest()
	req.Upsertions = append(req.Upsertions, upsertion("bob", "p", 5000))
	call[*kmsg.AlterUserSCRAMCredentialsResponse](t, c, 0, req)
	all := call[*kmsg.DescribeUserSCRAMCredentialsResponse](t, c, v, kmsg.NewPtrDescribeUserSCRAMCredentialsRequest())
	if len(all.Results) != 1 || all.Results[0].User != "bob" || len(all.Results[0].CredentialInfos) != 1 || all.Results[0].CredentialInfos[0].Iterations != 5000 {
		t.Fatalf("DescribeUserScramCredentials v%d: got %+v; want bob, SCRAM-SHA-256, 5000", v, all.Results)
	}
	one := kmsg.NewPtrDescribeUserSCRAMCredentialsRequest()
	u := kmsg.NewDescribeUserSCRAMCredentialsRequestUser()
	u.Name = "nobody"
	one.Users = append(one.Users, u)
	got := call[*kmsg.DescribeUserSCRAMCredentialsResponse](t, c, v, one)
	if len(got.Results) != 1 {
		t.Fatalf("DescribeUserScramCredentials v%d nobody: got %+v", v, got.Results)
	}
	checkCode(t, "DescribeUserScramCredentials nobody", got.Results[0].ErrorCode, kerr.ResourceNotFound.Code)
}
