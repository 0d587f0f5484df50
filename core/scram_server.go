package core

import (
	"crypto/hmac"
	"crypto/sha256"
	"crypto/sha512"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"fmt"
	"hash"
	"regexp"
	"strings"
)

// The SCRAM server side of an exchange (RFC 5802), with the message
// formats and checks of Kafka's ScramSaslServer: the client-first
// message "n,[a=<authzid>],[m=...,]n=<user>,r=<nonce>[,ext=...]"
// (gs2 header "n" only: no channel binding); the server-first
// "r=<client nonce><server nonce>,s=<salt>,i=<iterations>"; the
// client-final "c=<channel binding>,r=<nonce>[,ext=...],p=<proof>",
// whose nonce must end with the server-first's (Kafka 3.8.1 on; a
// librdkafka before 2.6.1 repeats the client's nonce before it) and
// whose proof must match the stored key over the auth message (the
// client-first bare, the server-first, and "c=...,r=..." as Kafka
// rebuilds it); the server-final "v=<server signature>".

var (
	scramSaslName   = `(?:[\x01-\x2B\x2D-\x3C\x3E-\x7F]|=2C|=3D)+`
	scramPrintable  = `[\x21-\x2B\x2D-\x7E]+`
	scramBase64     = `(?:[a-zA-Z0-9/+]{4})*(?:[a-zA-Z0-9/+]{3}=|[a-zA-Z0-9/+]{2}==)?`
	scramValue      = `[\x01-\x2B\x2D-\x7F]+`
	scramExtensions = `(?:,[A-Za-z]+=` + scramValue + `)*`
	scramReserved   = `(?:m=` + scramValue + `,)?`

	scramClientFirst = regexp.MustCompile(`^n,(?:a=(` + scramSaslName + `))?,(` + scramReserved + `n=(` + scramSaslName + `),r=(` + scramPrintable + `)(` + scramExtensions + `))$`)
	scramClientFinal = regexp.MustCompile(`^c=(` + scramBase64 + `),r=(` + scramPrintable + `)` + scramExtensions + `,p=(` + scramBase64 + `)$`)
)

// scramConversation is one exchange's state.
type scramConversation struct {
	hash        func() hash.Hash
	user        string
	cred        ScramCredential
	clientBare  string // the client-first message after its gs2 header
	serverFirst string
	nonce       string // the server-first's nonce: the client's and the server's
	done        bool
}

// errScram is a failure whose reason may be logged (never a secret).
type errScram struct{ why string }

func (e errScram) Error() string { return e.why }

// newScramConversation starts an exchange for mechanism.
func newScramConversation(mechanism string) *scramConversation {
	h := sha256.New
	if mechanism == MechanismSCRAMSHA512 {
		h = sha512.New
	}
	return &scramConversation{hash: h}
}

// scramUserName undoes SCRAM's escapes of "," and "=" in a name.
func scramUserName(saslName string) string {
	return strings.NewReplacer("=2C", ",", "=3D", "=").Replace(saslName)
}

// first takes the client-first message and returns the server-first;
// lookup finds the user's credential. authzID is the authorization id
// the client asked for ("" for none).
func (c *scramConversation) first(msg string, lookup func(user string) (ScramCredential, bool), serverNonce string) (out, authzID string, err error) {
	m := scramClientFirst.FindStringSubmatch(msg)
	if m == nil {
		return "", "", errScram{"invalid SCRAM client first message format"}
	}
	if m[1] != "" {
		authzID = scramUserName(m[1])
	}
	c.clientBare, c.user = m[2], scramUserName(m[3])
	cred, ok := lookup(c.user)
	if !ok {
		return "", authzID, errScram{"unknown user"}
	}
	if cred.Iterations < scramIterationsMin {
		return "", authzID, errScram{fmt.Sprintf("iterations %d is less than the minimum %d", cred.Iterations, scramIterationsMin)}
	}
	c.cred = cred
	c.nonce = m[4] + serverNonce
	c.serverFirst = fmt.Sprintf("r=%s,s=%s,i=%d", c.nonce, base64.StdEncoding.EncodeToString(cred.Salt), cred.Iterations)
	return c.serverFirst, authzID, nil
}

// final takes the client-final message, checks its nonce and proof, and
// returns the server-final.
func (c *scramConversation) final(msg string) (string, error) {
	m := scramClientFinal.FindStringSubmatch(msg)
	if m == nil {
		return "", errScram{"invalid SCRAM client final message format"}
	}
	if !strings.HasSuffix(m[2], c.nonce) {
		return "", errScram{"invalid client nonce in the final client message"}
	}
	proof, err := base64.StdEncoding.DecodeString(m[3])
	if err != nil {
		return "", errScram{"invalid proof encoding"}
	}
	auth := c.clientBare + "," + c.serverFirst + ",c=" + m[1] + ",r=" + m[2]
	mac := func(key []byte, msg string) []byte {
		h := hmac.New(c.hash, key)
		h.Write([]byte(msg))
		return h.Sum(nil)
	}
	sig := mac(c.cred.StoredKey, auth)
	if len(proof) != len(sig) {
		return "", errScram{"challenge proof invalid"}
	}
	clientKey := make([]byte, len(sig))
	for i := range sig {
		clientKey[i] = proof[i] ^ sig[i]
	}
	h := c.hash()
	h.Write(clientKey)
	if subtle.ConstantTimeCompare(h.Sum(nil), c.cred.StoredKey) != 1 {
		return "", errScram{"challenge proof invalid"}
	}
	c.done = true
	return "v=" + base64.StdEncoding.EncodeToString(mac(c.cred.ServerKey, auth)), nil
}

// step takes the next client message.
func (c *scramConversation) step(msg string, lookup func(string) (ScramCredential, bool), serverNonce func() string) (out, authzID string, err error) {
	switch {
	case c.done:
		return "", "", errors.New("the SCRAM exchange is complete")
	case c.serverFirst == "":
		return c.first(msg, lookup, serverNonce())
	}
	out, err = c.final(msg)
	return out, "", err
}
