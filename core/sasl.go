package core

import (
	"crypto/subtle"
	"encoding/base64"
	"fmt"
	"strings"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// SASL authentication of the connections of SASL listeners, as Kafka's
// SaslServerAuthenticator does it. Where the state lives:
//
//   - The exchange (mechanism chosen, SCRAM conversation, principal,
//     session expiry) is here, per connection, in saslSessions: it is
//     deterministic (SCRAM's server nonces come from the core's seeded
//     random source) and reads the credentials the core holds (PLAIN
//     users from the configuration, SCRAM credentials from the
//     coordination store, scram.go).
//   - The runtime owns the framing: after a SaslHandshake v0, the client
//     sends bare size-prefixed tokens, not Kafka requests, until it is
//     authenticated. The runtime hands each such token to the core as a
//     SaslAuthenticate v0 request, and writes the answer (Respond.Raw)
//     as a bare token too; the Authenticated effect tells it that Kafka
//     requests follow again.
//
// Until a connection of a SASL listener has authenticated, it is served
// only ApiVersions, SaslHandshake and SaslAuthenticate; any other request
// closes it with a logged reason (Kafka: "Unexpected Kafka request of
// type ... during SASL handshake"). Afterwards every request carries the
// authenticated principal, User:<name>.
//
// Re-authentication (KIP-368): with connections.max.reauth.ms set, a
// successful SaslAuthenticate answers the session's lifetime; a request
// other than SaslHandshake arriving after it ran out closes the
// connection, and a SaslHandshake v1+ on an authenticated connection
// whose client sent SaslAuthenticate v1+ begins a re-authentication with
// the same mechanism and principal.
//
// A failed authentication is answered as Kafka answers it, after
// connection.failed.authentication.delay.ms (the answer waits in
// failedAnswers, released by ticks), and the connection is closed after
// the answer. Failures are reported (AuthFailed) at most
// sasl.failed.authentication.log.max times per client address per
// sasl.failed.authentication.log.interval.ms; the ones held back are
// counted in the next report. Secrets are never reported.

// saslExchange is where a connection's exchange stands.
type saslExchange uint8

const (
	saslAwaitHandshake saslExchange = iota // ApiVersions or SaslHandshake expected
	saslAwaitTokens                        // the mechanism's tokens expected
	saslIdle                               // authenticated, no exchange under way
	saslFailed                             // answered a failure; closing
)

// saslSession is one SASL connection's authentication state.
type saslSession struct {
	listener  string
	host      string // the client's address, for reports
	exchange  saslExchange
	mechanism string
	// raw: the handshake was v0, tokens come bare (no Kafka header).
	raw bool
	// reauthCapable: the client sent SaslAuthenticate v1+, so it can
	// re-authenticate (Kafka's connectedClientSupportsReauthentication).
	reauthCapable bool
	// reauth: the exchange under way is a re-authentication;
	// badMechanism is the mechanism it asked for when not the first one.
	reauth       bool
	badMechanism string
	scram        *scramConversation
	// principal is User:<name> once authenticated (re-authentication
	// may not change it); user is the name the client gave, for reports.
	principal string
	user      string
	// expires is when the session ends without re-authentication (0:
	// never).
	expires Instant
}

// saslState is the broker's SASL state: the sessions of its SASL
// connections, the failure answers waiting for their delay, and the
// failure report counters per client address.
type saslState struct {
	sessions map[ConnID]*saslSession
	pending  []failedAnswer
	failures reportBudget
	// successes bounds the successful authentications logged, per
	// principal and address.
	successes reportBudget
}

// failedAnswer is a failure's answer (nil body: none) and the close after
// it, due at at.
type failedAnswer struct {
	at    Instant
	r     Request
	body  kmsg.Response
	raw   bool
	close string
}

// saslListener says whether a listener authenticates with SASL.
func (b *Broker) saslListener(name string) (SASLListener, bool) {
	s, ok := b.cfg.SASL[name]
	return s, ok
}

// saslGate applies SASL to a request: it consumes the SASL requests of a
// SASL listener's connection and those a connection may not send yet,
// and otherwise puts the authenticated principal on the request and lets
// it through (false).
func (b *Broker) saslGate(r *Request) bool {
	if _, ok := b.saslListener(r.Listener); !ok {
		return false
	}
	s := b.sasl.sessions[r.Conn]
	if s == nil {
		if len(b.sasl.sessions) >= b.cfg.SASLConfig.SessionsMax {
			b.emit(CloseConn{Conn: r.Conn, Seq: r.Seq, Reason: fmt.Sprintf("SASL sessions at sasl.sessions.max (%d)", b.cfg.SASLConfig.SessionsMax)})
			return true
		}
		s = &saslSession{listener: r.Listener, host: r.ClientHost}
		if b.sasl.sessions == nil {
			b.sasl.sessions = map[ConnID]*saslSession{}
		}
		b.sasl.sessions[r.Conn] = s
	}
	switch r.Header.Key {
	case 17:
		b.saslHandshake(s, *r)
		return true
	case 36:
		b.saslAuthenticate(s, *r)
		return true
	case 18:
		if s.principal == "" {
			return false // ApiVersions is served before authentication
		}
	}
	if s.principal == "" || s.exchange == saslFailed {
		b.emit(CloseConn{Conn: r.Conn, Seq: r.Seq, Reason: fmt.Sprintf("Unexpected Kafka request of type %s during SASL handshake (client %s, listener %s)", apiName(r.Header.Key), r.ClientHost, r.Listener)})
		return true
	}
	if s.expires != 0 && b.now > s.expires {
		l, _ := b.saslListener(s.listener)
		b.emit(CloseConn{Conn: r.Conn, Seq: r.Seq, Reason: fmt.Sprintf("server authentication session of %s expired (connections.max.reauth.ms %d)", s.principal, l.ReauthMaxMs)})
		return true
	}
	r.Principal = s.principal
	return false
}

// apiName is Kafka's name of an API key, for reasons in logs.
func apiName(key int16) string {
	if n := kmsg.NameForKey(key); n != "" {
		return strings.ToUpper(camelToSnake(n))
	}
	return fmt.Sprintf("API key %d", key)
}

func camelToSnake(s string) string {
	var b strings.Builder
	for i, c := range s {
		if c >= 'A' && c <= 'Z' && i > 0 && !(s[i-1] >= 'A' && s[i-1] <= 'Z') {
			b.WriteByte('_')
		}
		b.WriteRune(c)
	}
	return b.String()
}

// saslHandshake answers SaslHandshake on a SASL listener's connection.
func (b *Broker) saslHandshake(s *saslSession, r Request) {
	if !b.saslVersionOK(r) {
		return
	}
	l, _ := b.saslListener(s.listener)
	req := r.Body.(*kmsg.SASLHandshakeRequest)
	resp := kmsg.NewPtrSASLHandshakeResponse()
	resp.SupportedMechanisms = l.Mechanisms
	switch {
	case s.exchange == saslIdle && s.reauthCapable && r.Header.Version >= 1:
		// KIP-368: the client re-authenticates, with the mechanism it
		// used (else its SaslAuthenticate fails, as Kafka's
		// REAUTH_BAD_MECHANISM state does).
		s.exchange, s.reauth, s.scram, s.badMechanism = saslAwaitTokens, true, nil, ""
		if req.Mechanism != s.mechanism {
			s.badMechanism = req.Mechanism
		}
		b.respond(r, resp)
	case s.exchange == saslIdle:
		resp.ErrorCode = kerr.IllegalSaslState.Code
		b.respond(r, resp)
	case s.exchange != saslAwaitHandshake:
		resp.ErrorCode = kerr.IllegalSaslState.Code
		b.saslFail(s, r, resp, "Unexpected Kafka request of type SASL_HANDSHAKE during SASL authentication")
	case !containsString(l.Mechanisms, req.Mechanism):
		resp.ErrorCode = kerr.UnsupportedSaslMechanism.Code
		s.mechanism = req.Mechanism
		b.saslFail(s, r, resp, "Unsupported SASL mechanism "+req.Mechanism)
	default:
		s.mechanism, s.raw, s.exchange = req.Mechanism, r.Header.Version == 0, saslAwaitTokens
		b.respond(r, resp)
	}
}

// saslAuthenticate takes one token of the exchange: a SaslAuthenticate
// request, or (after a v0 handshake) a bare token the runtime passed as
// one.
func (b *Broker) saslAuthenticate(s *saslSession, r Request) {
	if !b.saslVersionOK(r) {
		return
	}
	req := r.Body.(*kmsg.SASLAuthenticateRequest)
	resp := kmsg.NewPtrSASLAuthenticateResponse()
	switch s.exchange {
	case saslIdle:
		resp.ErrorCode = kerr.IllegalSaslState.Code
		resp.ErrorMessage = strPtr("SaslAuthenticate request received after successful authentication")
		b.respond(r, resp)
		return
	case saslAwaitHandshake, saslFailed:
		b.emit(CloseConn{Conn: r.Conn, Seq: r.Seq, Reason: fmt.Sprintf("Unexpected Kafka request of type SASL_AUTHENTICATE during SASL handshake (client %s, listener %s)", r.ClientHost, r.Listener)})
		return
	}
	if !s.raw && r.Header.Version >= 1 {
		s.reauthCapable = true
	}
	if int64(len(req.SASLAuthBytes)) > int64(b.cfg.SASLConfig.ReceiveMaxBytes) {
		b.saslAuthFailed(s, r, resp, "Failing SASL authentication due to invalid receive size", "token exceeds sasl.server.max.receive.size")
		return
	}
	if s.badMechanism != "" {
		msg := fmt.Sprintf("SASL mechanism '%s' requested by client is not supported for re-authentication of mechanism '%s'", s.badMechanism, s.mechanism)
		b.saslAuthFailed(s, r, resp, msg, msg)
		return
	}
	var out []byte
	var user, clientMsg, why string
	var done bool
	if s.mechanism == MechanismPlain {
		user, clientMsg, why = b.plainToken(s, req.SASLAuthBytes)
		done = clientMsg == ""
	} else {
		out, user, done, clientMsg, why = b.scramToken(s, req.SASLAuthBytes)
	}
	if user != "" {
		s.user = user
	}
	if clientMsg != "" {
		b.saslAuthFailed(s, r, resp, clientMsg, why)
		return
	}
	resp.SASLAuthBytes = out
	if done {
		if why := b.saslComplete(s, r, user); why != "" {
			b.saslAuthFailed(s, r, resp, why, why)
			return
		}
		if l, _ := b.saslListener(s.listener); !s.raw {
			resp.SessionLifetimeMillis = l.ReauthMaxMs
		}
	}
	b.respondSASL(s, r, resp)
}

// saslComplete ends a successful exchange: the principal is set (or, on
// re-authentication, checked unchanged) and the session's expiry starts.
func (b *Broker) saslComplete(s *saslSession, r Request, user string) string {
	principal := "User:" + user
	if s.reauth && principal != s.principal {
		return fmt.Sprintf("Cannot change principals during re-authentication from %s: %s", s.principal, principal)
	}
	s.principal, s.exchange, s.scram = principal, saslIdle, nil
	s.expires = 0
	var lifetime int64
	if l, _ := b.saslListener(s.listener); l.ReauthMaxMs > 0 && !s.raw {
		ms := l.ReauthMaxMs
		s.expires, lifetime = b.now+Instant(ms)*1e6, ms
	}
	cfg := b.cfg.SASLConfig
	logged, suppressed := b.sasl.successes.take(principal+" "+r.ClientHost, b.now, cfg.FailedLogIntervalMs, cfg.SucceededLogMax, cfg.FailedAddressesMax)
	b.emit(Authenticated{Conn: r.Conn, ClientHost: r.ClientHost, Listener: r.Listener, Mechanism: s.mechanism,
		Principal: principal, Reauthenticated: s.reauth, SessionLifetimeMs: lifetime, BareTokens: s.raw,
		Unlogged: !logged, Suppressed: suppressed})
	s.reauth = false
	return ""
}

// plainToken checks a PLAIN token, "authzid NUL user NUL password",
// against the listener's users. It returns the user and, on failure,
// the message the client gets (Kafka's PlainSaslServer's) and the reason
// reported.
func (b *Broker) plainToken(s *saslSession, tok []byte) (user, clientMsg, why string) {
	parts := strings.Split(string(tok), "\x00")
	if len(parts) != 3 {
		return "", fmt.Sprintf("Invalid SASL/PLAIN response: expected 3 tokens, got %d", len(parts)), "malformed PLAIN token"
	}
	authz, user, pass := parts[0], parts[1], parts[2]
	switch {
	case user == "":
		return "", "Authentication failed: username not specified", "no user name"
	case pass == "":
		return user, "Authentication failed: password not specified", "no password"
	}
	l, _ := b.saslListener(s.listener)
	want, ok := l.PlainUsers()[user]
	if !ok || subtle.ConstantTimeCompare([]byte(want), []byte(pass)) != 1 {
		why := "invalid password"
		if !ok {
			why = "unknown user"
		}
		return user, "Authentication failed: Invalid username or password", why
	}
	if authz != "" && authz != user {
		return user, "Authentication failed: Client requested an authorization id that is different from username", "authorization id differs from the user name"
	}
	return user, "", ""
}

// scramToken takes one SCRAM message (RFC 5802): the client-first, then
// the client-final. Failures are answered as Kafka answers a SaslException
// (no detail that could tell whether the user exists).
func (b *Broker) scramToken(s *saslSession, tok []byte) (out []byte, user string, done bool, clientMsg, why string) {
	generic := fmt.Sprintf("Authentication failed during %s due to invalid credentials with SASL mechanism %s", authText(s.reauth), s.mechanism)
	if s.scram == nil {
		s.scram = newScramConversation(s.mechanism)
	}
	lookup := func(user string) (ScramCredential, bool) {
		c, ok := b.scram.users[user][s.mechanism]
		return c, ok
	}
	nonce := func() string {
		var n [18]byte
		b.rng.fill(n[:])
		return base64.RawURLEncoding.EncodeToString(n[:])
	}
	msg, authzID, err := s.scram.step(string(tok), lookup, nonce)
	user = s.scram.user
	switch {
	case err != nil:
		return nil, user, false, generic, err.Error()
	case authzID != "" && authzID != user:
		return nil, user, false, "Authentication failed: Client requested an authorization id that is different from username", "authorization id differs from the user name"
	}
	return []byte(msg), user, s.scram.done, "", ""
}

func authText(reauth bool) string {
	if reauth {
		return "re-authentication"
	}
	return "authentication"
}

// saslVersionOK closes the connection of a SASL request of a version not
// served.
func (b *Broker) saslVersionOK(r Request) bool {
	a, _ := findAPI(r.Header.Key)
	if v := r.Header.Version; v < a.min || v > a.max || r.Body == nil {
		b.emit(CloseConn{Conn: r.Conn, Seq: r.Seq, Reason: fmt.Sprintf("unsupported version %d of API key %d (supported %d-%d)", v, r.Header.Key, a.min, a.max)})
		return false
	}
	return true
}

// respondSASL answers a token: a SaslAuthenticate response, or after a v0
// handshake the bare token.
func (b *Broker) respondSASL(s *saslSession, r Request, resp *kmsg.SASLAuthenticateResponse) {
	resp.SetVersion(r.Header.Version)
	b.emit(Respond{Conn: r.Conn, Seq: r.Seq, CorrelationID: r.Header.CorrelationID, Body: resp, Raw: s.raw})
}

// saslAuthFailed fails the exchange on a token: a SaslAuthenticate
// response with SASL_AUTHENTICATION_FAILED and the message, or after a v0
// handshake no answer (the client cannot read one), then the close.
func (b *Broker) saslAuthFailed(s *saslSession, r Request, resp *kmsg.SASLAuthenticateResponse, clientMsg, why string) {
	resp.ErrorCode = kerr.SaslAuthenticationFailed.Code
	resp.ErrorMessage = strPtr(clientMsg)
	resp.SASLAuthBytes = nil
	var body kmsg.Response = resp
	if s.raw {
		body = nil
	}
	b.saslFail(s, r, body, why)
}

// saslFail reports a failed authentication and answers it after
// connection.failed.authentication.delay.ms, then closes.
func (b *Broker) saslFail(s *saslSession, r Request, body kmsg.Response, why string) {
	s.exchange = saslFailed
	b.reportFailure(s, r, why)
	closeReason := "authentication failed: " + why
	if body != nil {
		body.SetVersion(r.Header.Version)
	}
	delay := b.cfg.SASLConfig.FailedDelayMs
	if delay == 0 || len(b.sasl.pending) >= b.cfg.SASLConfig.FailedPendingMax {
		if delay != 0 {
			body = nil // no room to hold the answer: close without it
		}
		b.releaseFailure(failedAnswer{r: r, body: body, close: closeReason})
		return
	}
	b.sasl.pending = append(b.sasl.pending, failedAnswer{at: b.now + Instant(delay)*1e6, r: r, body: body, close: closeReason})
}

func (b *Broker) releaseFailure(f failedAnswer) {
	if f.body != nil {
		b.emit(Respond{Conn: f.r.Conn, Seq: f.r.Seq, CorrelationID: f.r.Header.CorrelationID, Body: f.body})
		b.emit(CloseConn{Conn: f.r.Conn, Seq: f.r.Seq + 1, Reason: f.close})
		return
	}
	b.emit(CloseConn{Conn: f.r.Conn, Seq: f.r.Seq, Reason: f.close})
}

// saslTick releases the failure answers whose delay passed, in order.
func (b *Broker) saslTick() {
	n := 0
	for n < len(b.sasl.pending) && b.sasl.pending[n].at <= b.now {
		b.releaseFailure(b.sasl.pending[n])
		n++
	}
	b.sasl.pending = b.sasl.pending[n:]
}

// reportFailure emits AuthFailed within the per-address bound.
func (b *Broker) reportFailure(s *saslSession, r Request, why string) {
	cfg := b.cfg.SASLConfig
	ok, suppressed := b.sasl.failures.take(r.ClientHost, b.now, cfg.FailedLogIntervalMs, cfg.FailedLogMax, cfg.FailedAddressesMax)
	if !ok {
		return
	}
	b.emit(AuthFailed{Conn: r.Conn, ClientHost: r.ClientHost, Listener: s.listener, Mechanism: s.mechanism,
		User: s.user, Reason: why, Suppressed: suppressed, Reauthentication: s.reauth})
}

// saslDrop forgets a closed connection's session.
func (b *Broker) saslDrop(c ConnID) { delete(b.sasl.sessions, c) }

func containsString(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

func strPtr(s string) *string { return &s }

// handleSaslHandshake answers SaslHandshake where SASL does not apply
// (a listener without SASL): ILLEGAL_SASL_STATE, as Kafka's KafkaApis.
func (b *Broker) handleSaslHandshake(r Request) {
	resp := kmsg.NewPtrSASLHandshakeResponse()
	resp.ErrorCode = kerr.IllegalSaslState.Code
	b.respond(r, resp)
}

// handleSaslAuthenticate answers SaslAuthenticate where SASL does not
// apply, as Kafka's KafkaApis.
func (b *Broker) handleSaslAuthenticate(r Request) {
	resp := kmsg.NewPtrSASLAuthenticateResponse()
	resp.ErrorCode = kerr.IllegalSaslState.Code
	resp.ErrorMessage = strPtr("SaslAuthenticate request received after successful authentication")
	b.respond(r, resp)
}
