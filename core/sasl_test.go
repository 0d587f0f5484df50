package core_test

import (
	"crypto/hmac"
	"crypto/pbkdf2"
	"crypto/sha256"
	"crypto/sha512"
	"encoding/base64"
	"strings"
	"testing"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"
	"github.com/xdg-go/scram"

	"cloudkafka/core"
)

const saslListener = "SASL_PLAINTEXT"

func saslProps(extra map[string]string) map[string]string {
	p := map[string]string{
		"listeners":               "PLAINTEXT://127.0.0.1:9092,SASL_PLAINTEXT://127.0.0.1:9093",
		"sasl.enabled.mechanisms": "PLAIN,SCRAM-SHA-256,SCRAM-SHA-512,GSSAPI",
		"listener.name.sasl_plaintext.plain.sasl.jaas.config": `org.apache.kafka.common.security.plain.PlainLoginModule required user_alice="alice-secret" user_admin="admin-secret";`,
	}
	for k, v := range extra {
		p[k] = v
	}
	return p
}

// sendOn issues a request on a connection of listener, from host.
func (h *harness) sendOn(listener string, conn core.ConnID, v int16, req kmsg.Request) uint64 {
	req.SetVersion(v)
	h.seq++
	h.step(core.Request{Conn: conn, Seq: h.seq, Header: core.RequestHeader{Key: req.Key(), Version: v, CorrelationID: int32(h.seq)}, Body: req,
		ClientHost: "/10.0.0.1", Listener: listener, Principal: core.PrincipalAnonymous})
	return h.seq
}

func (h *harness) closed(conn core.ConnID) (core.CloseConn, bool) {
	for _, c := range h.closes {
		if c.Conn == conn {
			return c, true
		}
	}
	return core.CloseConn{}, false
}

func (h *harness) handshake(conn core.ConnID, v int16, mech string) *kmsg.SASLHandshakeResponse {
	h.t.Helper()
	req := kmsg.NewPtrSASLHandshakeRequest()
	req.Mechanism = mech
	return h.mustResponse(h.sendOn(saslListener, conn, v, req)).(*kmsg.SASLHandshakeResponse)
}

// authenticate sends one token; nil when no answer came yet.
func (h *harness) authenticate(conn core.ConnID, v int16, tok string) *kmsg.SASLAuthenticateResponse {
	req := kmsg.NewPtrSASLAuthenticateRequest()
	req.SASLAuthBytes = []byte(tok)
	r := h.response(h.sendOn(saslListener, conn, v, req))
	if r == nil {
		return nil
	}
	return r.(*kmsg.SASLAuthenticateResponse)
}

func metadataReq() *kmsg.MetadataRequest { return kmsg.NewPtrMetadataRequest() }

func TestSASLPlain(t *testing.T) {
	h := newHarness(t, saslProps(nil))
	hs := h.handshake(1, 1, "PLAIN")
	if hs.ErrorCode != 0 || strings.Join(hs.SupportedMechanisms, ",") != "PLAIN,SCRAM-SHA-256,SCRAM-SHA-512" {
		t.Fatalf("handshake: got error %d, mechanisms %v; want 0, the served ones", hs.ErrorCode, hs.SupportedMechanisms)
	}
	a := h.authenticate(1, 2, "\x00alice\x00alice-secret")
	if a == nil || a.ErrorCode != 0 || a.SessionLifetimeMillis != 0 {
		t.Fatalf("authenticate: got %+v; want success, no session lifetime", a)
	}
	if len(h.auths) != 1 || h.auths[0].Principal != "User:alice" || h.auths[0].Mechanism != "PLAIN" {
		t.Fatalf("Authenticated effects %+v; want one, User:alice with PLAIN", h.auths)
	}
	seq := h.sendOn(saslListener, 1, 12, metadataReq())
	if h.response(seq) == nil {
		t.Fatalf("metadata after authentication: no response")
	}
	if _, ok := h.closed(1); ok {
		t.Fatalf("connection closed after authenticating")
	}
	// A second SaslAuthenticate on an authenticated connection.
	if a := h.authenticate(1, 2, "x"); a == nil || a.ErrorCode != kerr.IllegalSaslState.Code {
		t.Fatalf("authenticate again: got %+v; want ILLEGAL_SASL_STATE", a)
	}
}

func TestSASLRequestBeforeAuthenticationCloses(t *testing.T) {
	h := newHarness(t, saslProps(nil))
	// ApiVersions is served before authentication.
	if h.response(h.sendOn(saslListener, 1, 3, kmsg.NewPtrApiVersionsRequest())) == nil {
		t.Fatal("ApiVersions before authentication: no response")
	}
	seq := h.sendOn(saslListener, 1, 12, metadataReq())
	c, ok := h.closed(1)
	if !ok || c.Seq != seq || !strings.Contains(c.Reason, "Unexpected Kafka request of type METADATA during SASL handshake") {
		t.Fatalf("metadata before authentication: got close %+v (%v); want the connection closed at %d with Kafka's reason", c, ok, seq)
	}
	// After the handshake, still not authenticated.
	h.handshake(2, 1, "PLAIN")
	h.sendOn(saslListener, 2, 12, metadataReq())
	if _, ok := h.closed(2); !ok {
		t.Fatal("metadata between handshake and authentication: connection not closed")
	}
	// The plaintext listener is untouched.
	if h.response(h.send(3, 12, metadataReq())) == nil {
		t.Fatal("plaintext listener: no metadata response")
	}
}

func TestSASLPlainFailures(t *testing.T) {
	cases := []struct {
		name, token, msg, user string
	}{
		{"wrong password", "\x00alice\x00nope", "Authentication failed: Invalid username or password", "alice"},
		{"unknown user", "\x00mallory\x00alice-secret", "Authentication failed: Invalid username or password", "mallory"},
		{"no password", "\x00alice\x00", "Authentication failed: password not specified", "alice"},
		{"malformed", "alice", "Invalid SASL/PLAIN response: expected 3 tokens, got 1", ""},
		{"other authzid", "admin\x00alice\x00alice-secret", "Authentication failed: Client requested an authorization id that is different from username", "alice"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			h := newHarness(t, saslProps(nil))
			h.handshake(1, 1, "PLAIN")
			if a := h.authenticate(1, 1, tc.token); a != nil {
				t.Fatalf("failure answered at once; want it held connection.failed.authentication.delay.ms")
			}
			if _, ok := h.closed(1); ok {
				t.Fatal("closed before the delay")
			}
			h.tick(100)
			r := h.response(h.seq)
			a, _ := r.(*kmsg.SASLAuthenticateResponse)
			if a == nil || a.ErrorCode != kerr.SaslAuthenticationFailed.Code || a.ErrorMessage == nil || *a.ErrorMessage != tc.msg {
				t.Fatalf("got %+v; want SASL_AUTHENTICATION_FAILED %q", r, tc.msg)
			}
			if c, ok := h.closed(1); !ok || c.Seq != h.seq+1 {
				t.Fatalf("close %+v (%v); want the connection closed after the answer", c, ok)
			}
			if len(h.authFails) != 1 || h.authFails[0].User != tc.user || h.authFails[0].ClientHost != "/10.0.0.1" {
				t.Fatalf("reports %+v; want one naming user %q and the address", h.authFails, tc.user)
			}
			if f := h.authFails[0]; strings.Contains(f.Reason, "secret") || strings.Contains(f.Reason, "nope") {
				t.Fatalf("report %+v shows a secret", f)
			}
		})
	}
}

func TestSASLUnsupportedMechanism(t *testing.T) {
	h := newHarness(t, saslProps(nil))
	for _, mech := range []string{"GSSAPI", "OAUTHBEARER"} {
		conn := core.ConnID(len(mech))
		req := kmsg.NewPtrSASLHandshakeRequest()
		req.Mechanism = mech
		seq := h.sendOn(saslListener, conn, 1, req)
		h.tick(100)
		r, _ := h.response(seq).(*kmsg.SASLHandshakeResponse)
		if r == nil || r.ErrorCode != kerr.UnsupportedSaslMechanism.Code || len(r.SupportedMechanisms) != 3 {
			t.Fatalf("%s: got %+v; want UNSUPPORTED_SASL_MECHANISM and the served mechanisms", mech, r)
		}
		if _, ok := h.closed(conn); !ok {
			t.Fatalf("%s: connection not closed", mech)
		}
	}
}

func TestSASLHandshakeOnPlaintextListener(t *testing.T) {
	h := newHarness(t, saslProps(nil))
	req := kmsg.NewPtrSASLHandshakeRequest()
	req.Mechanism = "PLAIN"
	r := h.mustResponse(h.send(1, 1, req)).(*kmsg.SASLHandshakeResponse)
	if r.ErrorCode != kerr.IllegalSaslState.Code {
		t.Fatalf("got error %d; want ILLEGAL_SASL_STATE", r.ErrorCode)
	}
}

// TestSASLRawTokens: after a SaslHandshake v0, tokens are bare; the
// runtime passes them as SaslAuthenticate v0 and the answer is marked
// raw. A failure gets no answer, only the close.
func TestSASLRawTokens(t *testing.T) {
	h := newHarness(t, saslProps(nil))
	h.handshake(1, 0, "PLAIN")
	req := kmsg.NewPtrSASLAuthenticateRequest()
	req.SASLAuthBytes = []byte("\x00alice\x00alice-secret")
	seq := h.sendOn(saslListener, 1, 0, req)
	var raw bool
	for _, r := range h.resps {
		if r.Seq == seq {
			raw = r.Raw
		}
	}
	if !raw || len(h.auths) != 1 {
		t.Fatalf("raw answer %v, authenticated %+v; want a raw answer and User:alice", raw, h.auths)
	}
	h.handshake(2, 0, "PLAIN")
	req.SASLAuthBytes = []byte("\x00alice\x00wrong")
	seq = h.sendOn(saslListener, 2, 0, req)
	h.tick(100)
	if r := h.response(seq); r != nil {
		t.Fatalf("failed raw token answered %+v; want no answer", r)
	}
	if c, ok := h.closed(2); !ok || c.Seq != seq {
		t.Fatalf("close %+v (%v); want the connection closed at the token", c, ok)
	}
}

func TestSASLFailureReportsBounded(t *testing.T) {
	h := newHarness(t, saslProps(map[string]string{"sasl.failed.authentication.log.max": "2",
		"sasl.failed.authentication.log.interval.ms": "1000", "connection.failed.authentication.delay.ms": "0"}))
	fail := func(conn core.ConnID) {
		h.handshake(conn, 1, "PLAIN")
		h.authenticate(conn, 1, "\x00alice\x00bad")
	}
	for c := core.ConnID(1); c <= 4; c++ {
		fail(c)
	}
	if len(h.authFails) != 2 {
		t.Fatalf("got %d reports; want 2 (sasl.failed.authentication.log.max)", len(h.authFails))
	}
	h.tick(1000)
	fail(5)
	if len(h.authFails) != 3 || h.authFails[2].Suppressed != 2 {
		t.Fatalf("reports %+v; want a third, counting the 2 held back", h.authFails)
	}
}

// TestSASLSuccessReportsBounded: successful authentications of one
// principal from one address are logged at most
// sasl.authentication.log.max times per interval; the others still
// authenticate, and the next one logged counts them.
func TestSASLSuccessReportsBounded(t *testing.T) {
	h := newHarness(t, saslProps(map[string]string{"sasl.authentication.log.max": "2",
		"sasl.failed.authentication.log.interval.ms": "1000"}))
	auth := func(conn core.ConnID) {
		h.handshake(conn, 1, "PLAIN")
		if a := h.authenticate(conn, 1, "\x00alice\x00alice-secret"); a == nil || a.ErrorCode != 0 {
			t.Fatalf("connection %d: authenticate: got %+v; want success", conn, a)
		}
	}
	for c := core.ConnID(1); c <= 4; c++ {
		auth(c)
	}
	var logged []core.Authenticated
	for _, a := range h.auths {
		if !a.Unlogged {
			logged = append(logged, a)
		}
	}
	if len(h.auths) != 4 || len(logged) != 2 {
		t.Fatalf("Authenticated %d, logged %d; want 4 and 2 (sasl.authentication.log.max)", len(h.auths), len(logged))
	}
	h.tick(1000)
	auth(5)
	if last := h.auths[4]; last.Unlogged || last.Suppressed != 2 {
		t.Fatalf("after the interval: got %+v; want logged, counting the 2 held back", last)
	}
}

// scramUpsert is an upsertion computed as clients do it: the salted
// password is PBKDF2 of the password with the mechanism's HMAC.
func scramUpsert(t *testing.T, user, pass string, mech int8, iters int32, salt []byte) kmsg.AlterUserSCRAMCredentialsRequestUpsertion {
	h, size := sha256.New, sha256.Size
	if mech == 2 {
		h, size = sha512.New, sha512.Size
	}
	salted, err := pbkdf2.Key(h, pass, salt, max(int(iters), 1), size)
	if err != nil {
		t.Fatal(err)
	}
	u := kmsg.NewAlterUserSCRAMCredentialsRequestUpsertion()
	u.Name, u.Mechanism, u.Iterations, u.Salt, u.SaltedPassword = user, mech, iters, salt, salted
	return u
}

func (h *harness) alterScram(ups []kmsg.AlterUserSCRAMCredentialsRequestUpsertion, dels []kmsg.AlterUserSCRAMCredentialsRequestDeletion) *kmsg.AlterUserSCRAMCredentialsResponse {
	req := kmsg.NewPtrAlterUserSCRAMCredentialsRequest()
	req.Upsertions, req.Deletions = ups, dels
	seq := h.send(9, 0, req)
	h.deliverAll()
	return h.mustResponse(seq).(*kmsg.AlterUserSCRAMCredentialsResponse)
}

// TestSCRAMStoredAsKafka: the znode is byte for byte Kafka's, and a
// change notification follows.
func TestSCRAMStoredAsKafka(t *testing.T) {
	h := newHarness(t, saslProps(nil))
	salt := []byte("0123456789abcdef")
	up := scramUpsert(t, "bob", "bob-secret", 1, 4096, salt)
	resp := h.alterScram([]kmsg.AlterUserSCRAMCredentialsRequestUpsertion{up}, nil)
	if len(resp.Results) != 1 || resp.Results[0].ErrorCode != 0 {
		t.Fatalf("alter: got %+v; want success", resp.Results)
	}
	mac := func(key []byte, msg string) []byte {
		m := hmac.New(sha256.New, key)
		m.Write([]byte(msg))
		return m.Sum(nil)
	}
	stored := sha256.Sum256(mac(up.SaltedPassword, "Client Key"))
	enc := base64.StdEncoding.EncodeToString
	want := `{"version":1,"config":{"SCRAM-SHA-256":"salt=` + enc(salt) + `,stored_key=` + enc(stored[:]) +
		`,server_key=` + enc(mac(up.SaltedPassword, "Server Key")) + `,iterations=4096"}}`
	var got string
	var change bool
	for _, z := range h.coordWrites() {
		if z.Path == "/config/users/bob" {
			got = string(z.Data)
		}
		if strings.HasPrefix(z.Path, "/config/changes/config_change_") && string(z.Data) == `{"version":2,"entity_path":"users/bob"}` {
			change = true
		}
	}
	if got != want {
		t.Fatalf("/config/users/bob:\n got %s\nwant %s", got, want)
	}
	if !change {
		t.Fatal("no change notification for users/bob")
	}
	c, err := core.ParseScramCredential(`salt=` + enc(salt) + `,stored_key=` + enc(stored[:]) + `,server_key=AAAA,iterations=4096`)
	if err != nil || c.Iterations != 4096 || string(c.Salt) != string(salt) {
		t.Fatalf("parse: got %+v, %v", c, err)
	}
}

func TestSCRAMAuthenticate(t *testing.T) {
	for _, mech := range []struct {
		name string
		typ  int8
		hash scram.HashGeneratorFcn
	}{{"SCRAM-SHA-256", 1, scram.SHA256}, {"SCRAM-SHA-512", 2, scram.SHA512}} {
		t.Run(mech.name, func(t *testing.T) {
			h := newHarness(t, saslProps(nil))
			h.alterScram([]kmsg.AlterUserSCRAMCredentialsRequestUpsertion{scramUpsert(t, "bob", "bob-secret", mech.typ, 4096, []byte("salty"))}, nil)
			exchange := func(conn core.ConnID, user, pass string) *kmsg.SASLAuthenticateResponse {
				h.handshake(conn, 1, mech.name)
				c, _ := mech.hash.NewClient(user, pass, "")
				conv := c.NewConversation()
				first, _ := conv.Step("")
				a := h.authenticate(conn, 1, first)
				if a == nil {
					h.tick(100)
					return h.response(h.seq).(*kmsg.SASLAuthenticateResponse)
				}
				final, err := conv.Step(string(a.SASLAuthBytes))
				if err != nil {
					t.Fatal(err)
				}
				a = h.authenticate(conn, 1, final)
				if a == nil {
					h.tick(100)
					return h.response(h.seq).(*kmsg.SASLAuthenticateResponse)
				}
				if _, err := conv.Step(string(a.SASLAuthBytes)); err != nil || !conv.Valid() {
					t.Fatalf("server final: %v", err)
				}
				return a
			}
			if a := exchange(1, "bob", "bob-secret"); a.ErrorCode != 0 || len(h.auths) != 1 || h.auths[0].Principal != "User:bob" {
				t.Fatalf("got %+v, %+v; want User:bob", a, h.auths)
			}
			want := "Authentication failed during authentication due to invalid credentials with SASL mechanism " + mech.name
			for i, tc := range [][2]string{{"bob", "wrong"}, {"nobody", "x"}} {
				a := exchange(core.ConnID(2+i), tc[0], tc[1])
				if a.ErrorCode != kerr.SaslAuthenticationFailed.Code || a.ErrorMessage == nil || *a.ErrorMessage != want {
					t.Fatalf("%s: got %+v; want SASL_AUTHENTICATION_FAILED %q", tc[0], a, want)
				}
			}
		})
	}
}

func TestSCRAMAlterErrors(t *testing.T) {
	h := newHarness(t, saslProps(nil))
	salt := []byte("s")
	del := func(name string, m int8) kmsg.AlterUserSCRAMCredentialsRequestDeletion {
		d := kmsg.NewAlterUserSCRAMCredentialsRequestDeletion()
		d.Name, d.Mechanism = name, m
		return d
	}
	resp := h.alterScram([]kmsg.AlterUserSCRAMCredentialsRequestUpsertion{
		scramUpsert(t, "few", "p", 1, 4095, salt),
		scramUpsert(t, "many", "p", 1, 16385, salt),
		scramUpsert(t, "unknown", "p", 7, 4096, salt),
		scramUpsert(t, "", "p", 1, 4096, salt),
		scramUpsert(t, "twice", "p", 1, 4096, salt),
		scramUpsert(t, "twice", "q", 1, 4096, salt),
		scramUpsert(t, "ok", "p", 2, 4096, salt),
	}, []kmsg.AlterUserSCRAMCredentialsRequestDeletion{del("ghost", 1)})
	want := map[string]struct {
		code int16
		msg  string
	}{
		"few":     {kerr.UnacceptableCredential.Code, "Too few iterations"},
		"many":    {kerr.UnacceptableCredential.Code, "Too many iterations"},
		"unknown": {kerr.UnsupportedSaslMechanism.Code, "Unknown SCRAM mechanism"},
		"":        {kerr.UnacceptableCredential.Code, "Username must not be empty"},
		"twice":   {kerr.DuplicateResource.Code, "A user credential cannot be altered twice in the same request"},
		"ghost":   {kerr.ResourceNotFound.Code, "Attempt to delete a user credential that does not exist"},
		"ok":      {0, ""},
	}
	if len(resp.Results) != len(want) {
		t.Fatalf("got %d results; want %d: %+v", len(resp.Results), len(want), resp.Results)
	}
	for _, r := range resp.Results {
		w := want[r.User]
		msg := ""
		if r.ErrorMessage != nil {
			msg = *r.ErrorMessage
		}
		if r.ErrorCode != w.code || msg != w.msg {
			t.Errorf("%q: got %d %q; want %d %q", r.User, r.ErrorCode, msg, w.code, w.msg)
		}
	}
	// Describe: all, one, unknown, duplicated.
	dreq := kmsg.NewPtrDescribeUserSCRAMCredentialsRequest()
	seq := h.send(9, 0, dreq)
	h.deliverAll()
	d := h.mustResponse(seq).(*kmsg.DescribeUserSCRAMCredentialsResponse)
	if len(d.Results) != 1 || d.Results[0].User != "ok" || d.Results[0].CredentialInfos[0].Mechanism != 2 || d.Results[0].CredentialInfos[0].Iterations != 4096 {
		t.Fatalf("describe all: got %+v; want ok with SCRAM-SHA-512, 4096", d.Results)
	}
	for _, n := range []string{"nobody", "ok", "ok"} {
		u := kmsg.NewDescribeUserSCRAMCredentialsRequestUser()
		u.Name = n
		dreq.Users = append(dreq.Users, u)
	}
	seq = h.send(9, 0, dreq)
	h.deliverAll()
	d = h.mustResponse(seq).(*kmsg.DescribeUserSCRAMCredentialsResponse)
	if len(d.Results) != 2 || d.Results[0].ErrorCode != kerr.ResourceNotFound.Code || d.Results[1].ErrorCode != kerr.DuplicateResource.Code {
		t.Fatalf("describe: got %+v; want RESOURCE_NOT_FOUND for nobody, DUPLICATE_RESOURCE for ok", d.Results)
	}
	// Delete the last credential.
	resp = h.alterScram(nil, []kmsg.AlterUserSCRAMCredentialsRequestDeletion{del("ok", 2)})
	if resp.Results[0].ErrorCode != 0 {
		t.Fatalf("delete: got %+v", resp.Results)
	}
}

// TestSASLReauthentication: connections.max.reauth.ms gives the session
// a lifetime; a request after it closes the connection, and
// re-authenticating in time renews it.
func TestSASLReauthentication(t *testing.T) {
	h := newHarness(t, saslProps(map[string]string{"connections.max.reauth.ms": "1000"}))
	login := func(conn core.ConnID) {
		h.handshake(conn, 1, "PLAIN")
		if a := h.authenticate(conn, 1, "\x00alice\x00alice-secret"); a == nil || a.ErrorCode != 0 || a.SessionLifetimeMillis != 1000 {
			t.Fatalf("got %+v; want success with a session lifetime of 1000 ms", a)
		}
	}
	login(1)
	login(2)
	h.tick(800)
	login(1) // re-authentication on a live connection
	if !h.auths[2].Reauthenticated {
		t.Fatalf("got %+v; want a re-authentication", h.auths[2])
	}
	h.tick(400)
	h.sendOn(saslListener, 1, 12, metadataReq())
	if _, ok := h.closed(1); ok {
		t.Fatal("re-authenticated connection closed")
	}
	h.sendOn(saslListener, 2, 12, metadataReq())
	if c, ok := h.closed(2); !ok || !strings.Contains(c.Reason, "expired") {
		t.Fatalf("expired session: got %+v (%v); want closed", c, ok)
	}
	// Re-authentication may not change the mechanism.
	h.handshake(1, 1, "SCRAM-SHA-256")
	h.authenticate(1, 1, "n,,n=bob,r=abc")
	h.tick(100)
	a := h.response(h.seq).(*kmsg.SASLAuthenticateResponse)
	if a.ErrorCode != kerr.SaslAuthenticationFailed.Code || !strings.Contains(*a.ErrorMessage, "not supported for re-authentication of mechanism 'PLAIN'") {
		t.Fatalf("got %+v; want the mechanism refused", a)
	}
}

func TestSASLConfig(t *testing.T) {
	bad := []struct {
		name  string
		props map[string]string
		want  string
	}{
		{"only GSSAPI", map[string]string{"sasl.enabled.mechanisms": "GSSAPI"}, "none of the enabled SASL mechanisms (GSSAPI) is served"},
		{"PLAIN without JAAS", map[string]string{"listener.name.sasl_plaintext.plain.sasl.jaas.config": ""}, "no JAAS configuration for mechanism PLAIN"},
		{"two modules", map[string]string{"listener.name.sasl_plaintext.plain.sasl.jaas.config": "a required; b required;"}, "contains 2 login modules"},
		{"bad flag", map[string]string{"listener.name.sasl_plaintext.plain.sasl.jaas.config": "org.apache.kafka.common.security.plain.PlainLoginModule always;"}, "invalid control flag"},
		{"wrong module", map[string]string{"listener.name.sasl_plaintext.plain.sasl.jaas.config": "org.apache.kafka.common.security.scram.ScramLoginModule required;"}, "does not serve PLAIN"},
		{"unterminated", map[string]string{"listener.name.sasl_plaintext.plain.sasl.jaas.config": `org.apache.kafka.common.security.plain.PlainLoginModule required user_a="x"`}, "not terminated"},
		{"inter-broker mechanism not enabled", map[string]string{"inter.broker.listener.name": "SASL_PLAINTEXT", "sasl.mechanism.inter.broker.protocol": "OAUTHBEARER"}, "must be included in sasl.enabled.mechanisms"},
		{"inter-broker mechanism not served", map[string]string{"inter.broker.listener.name": "SASL_PLAINTEXT", "sasl.mechanism.inter.broker.protocol": "GSSAPI"}, "GSSAPI is not served here"},
		{"inter-broker without credentials", map[string]string{"inter.broker.listener.name": "SASL_PLAINTEXT", "sasl.mechanism.inter.broker.protocol": "PLAIN"}, "needs username and password"},
	}
	for _, tc := range bad {
		props := saslProps(tc.props)
		if v, ok := tc.props["listener.name.sasl_plaintext.plain.sasl.jaas.config"]; ok && v == "" {
			delete(props, "listener.name.sasl_plaintext.plain.sasl.jaas.config")
		}
		cfg, err := core.ParseProperties(props)
		if err == nil {
			err = cfg.SASLServeError()
		}
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: got %v; want an error containing %q", tc.name, err, tc.want)
		}
	}
	cfg, err := core.ParseProperties(saslProps(map[string]string{"inter.broker.listener.name": "SASL_PLAINTEXT", "sasl.mechanism.inter.broker.protocol": "PLAIN",
		"listener.name.sasl_plaintext.plain.sasl.jaas.config": `org.apache.kafka.common.security.plain.PlainLoginModule required username="admin" password="admin-secret" user_admin="admin-secret";`}))
	if err != nil {
		t.Fatal(err)
	}
	l := cfg.SASL["SASL_PLAINTEXT"]
	if l.PlainUsers()["admin"] != "admin-secret" || strings.Join(l.NotServed, ",") != "GSSAPI" {
		t.Fatalf("got %+v; want admin's password and GSSAPI not served", l)
	}
	if l.ReauthMaxMs != 0 {
		t.Fatalf("connections.max.reauth.ms: got %d; want Kafka's default 0", l.ReauthMaxMs)
	}
	cfg, err = core.ParseProperties(saslProps(map[string]string{"connections.max.reauth.ms": "1000", "listener.name.sasl_plaintext.connections.max.reauth.ms": "500"}))
	if err != nil || cfg.SASL["SASL_PLAINTEXT"].ReauthMaxMs != 500 {
		t.Fatalf("per-listener connections.max.reauth.ms: got %+v, %v; want 500", cfg.SASL["SASL_PLAINTEXT"], err)
	}
	if _, err := core.ParseProperties(saslProps(map[string]string{"listener.name.sasl_plaintext.connections.max.reauth.ms": "soon"})); err == nil || !strings.Contains(err.Error(), "is not an integer") {
		t.Fatalf("bad per-listener connections.max.reauth.ms: got %v", err)
	}
	if v := cfg.ShownValue("listener.name.sasl_plaintext.plain.sasl.jaas.config"); v != "[hidden]" {
		t.Fatalf("shown value %q; want [hidden]", v)
	}
}
