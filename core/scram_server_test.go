package core

import (
	"crypto/hmac"
	"crypto/pbkdf2"
	"crypto/sha256"
	"encoding/base64"
	"strings"
	"testing"
)

// scramClient computes a SCRAM-SHA-256 client's messages by hand (RFC
// 5802), so that a test can send what a given client library sends.
type scramClient struct {
	user, password, nonce string
	salted                []byte
}

func (c *scramClient) proof(auth string) string {
	mac := func(key []byte, msg string) []byte {
		h := hmac.New(sha256.New, key)
		h.Write([]byte(msg))
		return h.Sum(nil)
	}
	clientKey := mac(c.salted, "Client Key")
	stored := sha256.Sum256(clientKey)
	sig := mac(stored[:], auth)
	p := make([]byte, len(sig))
	for i := range sig {
		p[i] = clientKey[i] ^ sig[i]
	}
	return base64.StdEncoding.EncodeToString(p)
}

// TestScramFinalNonce: the client-final nonce must end with the
// server-first's: the RFC's exact nonce and the one librdkafka before
// 2.6.1 sends (its own nonce again, then the server-first's) both
// authenticate, as with Kafka 3.8.1 on; a nonce that does not end with
// it, or a wrong proof, fails.
func TestScramFinalNonce(t *testing.T) {
	salt := []byte("0123456789abcdef")
	salted, err := pbkdf2.Key(sha256.New, "alice-secret", salt, 4096, 32)
	if err != nil {
		t.Fatal(err)
	}
	cred := NewScramCredential(MechanismSCRAMSHA256, salt, salted, 4096)
	lookup := func(user string) (ScramCredential, bool) { return cred, user == "alice" }
	for _, tc := range []struct {
		what   string
		nonce  func(clientNonce, serverFirstNonce string) string
		proofs bool // the proof is computed over what is sent
		ok     bool
	}{
		{"exact nonce", func(_, sf string) string { return sf }, true, true},
		{"librdkafka's doubled client nonce", func(cn, sf string) string { return cn + sf }, true, true},
		{"nonce not ending with the server's", func(cn, sf string) string { return sf + "x" }, true, false},
		{"wrong proof", func(_, sf string) string { return sf }, false, false},
	} {
		c := &scramClient{user: "alice", password: "alice-secret", nonce: "fyko+d2lbbFgONRv9qkxdawL", salted: salted}
		conv := newScramConversation(MechanismSCRAMSHA256)
		bare := "n=" + c.user + ",r=" + c.nonce
		sf, _, err := conv.step("n,,"+bare, lookup, func() string { return "3rfcNHYJY1ZVvWVs7j" })
		if err != nil {
			t.Fatalf("%s: client-first: %v", tc.what, err)
		}
		sfNonce := strings.TrimPrefix(strings.Split(sf, ",")[0], "r=")
		if sfNonce != c.nonce+"3rfcNHYJY1ZVvWVs7j" || !strings.Contains(sf, ",i=4096") {
			t.Fatalf("%s: server-first %q", tc.what, sf)
		}
		without := "c=biws,r=" + tc.nonce(c.nonce, sfNonce)
		proof := c.proof(bare + "," + sf + "," + without)
		if !tc.proofs {
			proof = c.proof(bare + "," + sf + ",c=biws,r=other")
		}
		sfinal, _, err := conv.step(without+",p="+proof, lookup, nil)
		if tc.ok != (err == nil) || tc.ok != conv.done {
			t.Errorf("%s: got %q, %v (done %v); want success %v", tc.what, sfinal, err, conv.done, tc.ok)
		}
		if tc.ok && !strings.HasPrefix(sfinal, "v=") {
			t.Errorf("%s: server-final %q; want v=<signature>", tc.what, sfinal)
		}
	}
}

// TestScramClientFirstFormat: what Kafka's client-first pattern refuses
// is refused (channel binding asked for, no user, a comma in the
// nonce); an unknown user fails; escapes in the name are undone.
func TestScramClientFirstFormat(t *testing.T) {
	cred := ScramCredential{Salt: []byte("s"), StoredKey: make([]byte, 32), ServerKey: make([]byte, 32), Iterations: 4096}
	lookup := func(user string) (ScramCredential, bool) { return cred, user == "a,b=c" }
	nonce := func() string { return "srv" }
	for _, tc := range []struct {
		msg string
		ok  bool
	}{
		{"n,,n=a=2Cb=3Dc,r=abc", true},
		{"n,a=a=2Cb=3Dc,n=a=2Cb=3Dc,r=abc,ext=1", true},
		{"y,,n=a=2Cb=3Dc,r=abc", false},
		{"p=tls-unique,,n=a=2Cb=3Dc,r=abc", false},
		{"n,,r=abc", false},
		{"n,,n=nobody,r=abc", false},
		{"n,,n=a,b,r=abc", false},
	} {
		_, _, err := newScramConversation(MechanismSCRAMSHA256).step(tc.msg, lookup, nonce)
		if (err == nil) != tc.ok {
			t.Errorf("client-first %q: got %v; want success %v", tc.msg, err, tc.ok)
		}
	}
}
