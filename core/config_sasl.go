package core

import (
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"
)

// SASL configuration, with Kafka's property names. Each SASL listener
// (SASL_PLAINTEXT or SASL_SSL) has its enabled mechanisms
// (listener.name.<l>.sasl.enabled.mechanisms, else
// sasl.enabled.mechanisms) and, per mechanism, a JAAS login module
// configuration, found as Kafka's JaasContext finds it:
//
//	listener.name.<l>.<mechanism>.sasl.jaas.config   (mechanism lower case)
//	listener.name.<l>.sasl.jaas.config
//	sasl.jaas.config
//
// A PLAIN listener's users are its PlainLoginModule's user_<name>
// options; the username and password options are what this broker
// presents to its peers when the listener is the inter-broker one.
// SCRAM users are not configured here: their salted credentials live
// in the coordination store (scram.go).

// The mechanisms served. Kafka's others (GSSAPI, OAUTHBEARER) are
// accepted in sasl.enabled.mechanisms and logged as not served.
const (
	MechanismPlain       = "PLAIN"
	MechanismSCRAMSHA256 = "SCRAM-SHA-256"
	MechanismSCRAMSHA512 = "SCRAM-SHA-512"
)

var servedMechanisms = []string{MechanismPlain, MechanismSCRAMSHA256, MechanismSCRAMSHA512}

// ProtocolUsesSASL says whether a security protocol authenticates with SASL.
func ProtocolUsesSASL(p string) bool { return p == ProtocolSASLPlaintext || p == ProtocolSASLSSL }

// SASLListener is one SASL listener's settings.
type SASLListener struct {
	// Mechanisms are the enabled mechanisms served, in the configured
	// order (SaslHandshake answers with them); never empty.
	Mechanisms []string
	// NotServed are the enabled mechanisms that are not built here
	// (GSSAPI, OAUTHBEARER): the runtime logs them at start.
	NotServed []string
	// Jaas is the login module configuration of each served mechanism
	// that has one.
	Jaas map[string]JaasLogin
	// ReauthMaxMs is the listener's connections.max.reauth.ms
	// (listener.name.<l>.connections.max.reauth.ms, else the broker's).
	ReauthMaxMs int64
}

// JaasLogin is one JAAS login module entry:
// "<class> <flag> name=value ...;". Options may hold secrets: never
// print them.
type JaasLogin struct {
	Module  string
	Flag    string
	Options map[string]string
}

// PlainUsers is the PLAIN mechanism's user_<name>="<password>" options,
// by user name.
func (s SASLListener) PlainUsers() map[string]string {
	out := map[string]string{}
	// order-independent: copied into a map
	for k, v := range s.Jaas[MechanismPlain].Options {
		if name, ok := strings.CutPrefix(k, "user_"); ok {
			out[name] = v
		}
	}
	return out
}

// saslConfig are the broker-wide SASL settings.
type saslConfig struct {
	// InterBrokerMechanism is sasl.mechanism.inter.broker.protocol: the
	// mechanism this broker authenticates to its peers with when the
	// inter-broker listener is a SASL one.
	InterBrokerMechanism string
	// ReauthMaxMs is connections.max.reauth.ms (KIP-368): 0 means a
	// session never expires; else a client must re-authenticate within
	// it, or its connection is closed at its next request.
	ReauthMaxMs int64
	// FailedDelayMs is connection.failed.authentication.delay.ms: how
	// long the answer to a failed authentication (and the close after
	// it) waits.
	FailedDelayMs int64
	// ReceiveMaxBytes is sasl.server.max.receive.size: the largest SASL
	// token (or request before authentication) accepted.
	ReceiveMaxBytes int32
	// FailedLogMax failed authentications per client address are logged
	// per FailedLogIntervalMs; beyond it they are counted and the count
	// is logged with the next one logged. FailedAddressesMax bounds the
	// addresses tracked, FailedPendingMax the failure answers waiting
	// for their delay (beyond it the connection closes at once, without
	// an answer).
	FailedLogMax        int64
	FailedLogIntervalMs int64
	// SucceededLogMax successful authentications per principal and
	// client address are logged per FailedLogIntervalMs
	// (sasl.authentication.log.max); beyond it they are counted, and the
	// count is logged with the next one logged.
	SucceededLogMax    int64
	FailedAddressesMax int
	FailedPendingMax   int
	// SessionsMax bounds the SASL connections this broker keeps an
	// authentication state for (sasl.sessions.max); a connection beyond
	// it is closed.
	SessionsMax int
	// SCRAMUsersMax bounds the SCRAM users this broker keeps credentials
	// of (sasl.scram.users.max).
	SCRAMUsersMax int
}

var saslProperties = []property{
	{name: "sasl.enabled.mechanisms", def: "GSSAPI", apply: func(*Config, string) error { return nil }},
	{name: "sasl.mechanism.inter.broker.protocol", def: "GSSAPI", apply: func(c *Config, v string) error {
		c.SASLConfig.InterBrokerMechanism = strings.TrimSpace(v)
		return nil
	}},
	{name: "sasl.jaas.config", def: "", apply: func(_ *Config, v string) error {
		if strings.TrimSpace(v) == "" {
			return nil
		}
		_, err := ParseJaas(v)
		return err
	}},
	intProp("connections.max.reauth.ms", "0", math.MinInt64, math.MaxInt64, func(c *Config, n int64) { c.SASLConfig.ReauthMaxMs = max(n, 0) }, ""),
	intProp("connection.failed.authentication.delay.ms", "100", 0, math.MaxInt32, func(c *Config, n int64) { c.SASLConfig.FailedDelayMs = n }, ""),
	intProp("sasl.server.max.receive.size", "524288", 1, math.MaxInt32, func(c *Config, n int64) { c.SASLConfig.ReceiveMaxBytes = int32(n) }, ""),
	intProp("sasl.failed.authentication.log.max", "10", 0, math.MaxInt32, func(c *Config, n int64) { c.SASLConfig.FailedLogMax = n }, ""),
	intProp("sasl.failed.authentication.log.interval.ms", "60000", 1, math.MaxInt32, func(c *Config, n int64) { c.SASLConfig.FailedLogIntervalMs = n }, ""),
	intProp("sasl.authentication.log.max", "100", 0, math.MaxInt32, func(c *Config, n int64) { c.SASLConfig.SucceededLogMax = n }, ""),
	intProp("sasl.failed.authentication.addresses.max", "10000", 1, 1<<24, func(c *Config, n int64) { c.SASLConfig.FailedAddressesMax = int(n) }, ""),
	intProp("sasl.failed.authentication.pending.max", "10000", 0, 1<<24, func(c *Config, n int64) { c.SASLConfig.FailedPendingMax = int(n) }, ""),
	intProp("sasl.sessions.max", "100000", 1, 1<<24, func(c *Config, n int64) { c.SASLConfig.SessionsMax = int(n) }, ""),
	intProp("sasl.scram.users.max", "100000", 1, 1<<24, func(c *Config, n int64) { c.SASLConfig.SCRAMUsersMax = int(n) }, ""),
	// Kerberos and OAuth settings: accepted, with no effect (their
	// mechanisms are not served).
	withNoEffect(property{name: "sasl.kerberos.service.name", apply: func(*Config, string) error { return nil }}),
	withNoEffect(property{name: "sasl.kerberos.principal.to.local.rules", def: "DEFAULT", apply: func(*Config, string) error { return nil }}),
	withNoEffect(property{name: "sasl.server.callback.handler.class", apply: func(*Config, string) error { return nil }}),
	withNoEffect(property{name: "sasl.login.class", apply: func(*Config, string) error { return nil }}),
	withNoEffect(property{name: "sasl.login.callback.handler.class", apply: func(*Config, string) error { return nil }}),
}

func init() { properties = append(properties, saslProperties...) }

// saslListenerProperty says whether prop (after listener.name.<l>.) is a
// SASL property accepted per listener.
func saslListenerProperty(prop string) bool {
	if prop == "sasl.enabled.mechanisms" || prop == "sasl.jaas.config" || prop == "connections.max.reauth.ms" {
		return true
	}
	mech, rest, ok := strings.Cut(prop, ".")
	return ok && mech != "" && rest == "sasl.jaas.config"
}

// saslSecret says whether a property's value is a JAAS configuration
// (Kafka's PASSWORD type).
func saslSecret(name string) bool { return strings.HasSuffix(name, "sasl.jaas.config") }

// resolveSASL collects the settings of each SASL listener and checks
// them as Kafka's broker does at start.
func (c *Config) resolveSASL(set map[string]string) error {
	c.SASL = map[string]SASLListener{}
	for _, e := range c.Listeners {
		if !ProtocolUsesSASL(e.Protocol) {
			continue
		}
		s, err := saslListenerFor(set, e.Listener)
		if err != nil {
			return fmt.Errorf("listener %s: %v", e.Listener, err)
		}
		if s.ReauthMaxMs < 0 {
			s.ReauthMaxMs = c.SASLConfig.ReauthMaxMs
		}
		c.SASL[e.Listener] = s
	}
	ib, ok := c.SASL[c.InterBrokerListener]
	if !ok {
		return nil
	}
	if m := c.SASLConfig.InterBrokerMechanism; !slices.Contains(ib.Mechanisms, m) && !slices.Contains(ib.NotServed, m) {
		return fmt.Errorf("sasl.mechanism.inter.broker.protocol %s must be included in sasl.enabled.mechanisms when SASL is used for inter-broker communication (listener %s enables %s)",
			m, c.InterBrokerListener, strings.Join(append(slices.Clone(ib.Mechanisms), ib.NotServed...), ","))
	}
	return nil
}

// SASLServeError says why this broker cannot serve its SASL listeners
// as configured, or nil: the configuration is Kafka's, but a Kafka broker
// would fail at start too (no JAAS entry for a mechanism), or the
// mechanism is not built here. The runtime refuses to start with it.
func (c Config) SASLServeError() error {
	for _, e := range c.Listeners {
		s, ok := c.SASL[e.Listener]
		if !ok {
			continue
		}
		if len(s.Mechanisms) == 0 {
			return fmt.Errorf("listener %s: none of the enabled SASL mechanisms (%s) is served: enable PLAIN, SCRAM-SHA-256 or SCRAM-SHA-512 in sasl.enabled.mechanisms", e.Listener, strings.Join(s.NotServed, ","))
		}
		if slices.Contains(s.Mechanisms, MechanismPlain) && s.Jaas[MechanismPlain].Module == "" {
			return fmt.Errorf("listener %s: no JAAS configuration for mechanism PLAIN: set listener.name.%s.plain.sasl.jaas.config (PlainLoginModule with user_<name>=\"<password>\" options)", e.Listener, strings.ToLower(e.Listener))
		}
	}
	ib, ok := c.SASL[c.InterBrokerListener]
	if !ok {
		return nil
	}
	m := c.SASLConfig.InterBrokerMechanism
	if !slices.Contains(ib.Mechanisms, m) {
		return fmt.Errorf("sasl.mechanism.inter.broker.protocol %s is not served here (set PLAIN, SCRAM-SHA-256 or SCRAM-SHA-512)", m)
	}
	if j := ib.Jaas[m]; j.Options["username"] == "" || j.Options["password"] == "" {
		return fmt.Errorf("listener %s: the %s JAAS configuration needs username and password options: this broker authenticates to its peers with them", c.InterBrokerListener, m)
	}
	return nil
}

func saslListenerFor(set map[string]string, listener string) (SASLListener, error) {
	prefix := "listener.name." + strings.ToLower(listener) + "."
	enabled, ok := set[prefix+"sasl.enabled.mechanisms"]
	if !ok {
		enabled, ok = set["sasl.enabled.mechanisms"]
	}
	if !ok {
		enabled = "GSSAPI"
	}
	s := SASLListener{Jaas: map[string]JaasLogin{}, ReauthMaxMs: -1}
	if v, ok := set[prefix+"connections.max.reauth.ms"]; ok {
		n, err := strconv.ParseInt(strings.TrimSpace(v), 10, 64)
		if err != nil {
			return s, fmt.Errorf("%sconnections.max.reauth.ms: %q is not an integer", prefix, v)
		}
		s.ReauthMaxMs = max(n, 0)
	}
	for _, m := range splitList(enabled) {
		if slices.Contains(s.Mechanisms, m) || slices.Contains(s.NotServed, m) {
			continue
		}
		if !slices.Contains(servedMechanisms, m) {
			s.NotServed = append(s.NotServed, m)
			continue
		}
		s.Mechanisms = append(s.Mechanisms, m)
		text, from := jaasText(set, prefix, m)
		if text == "" {
			continue // SASLServeError refuses PLAIN without users
		}
		j, err := ParseJaas(text)
		if err != nil {
			return s, fmt.Errorf("%s: %v", from, err)
		}
		if err := checkJaasModule(m, j); err != nil {
			return s, fmt.Errorf("%s: %v", from, err)
		}
		s.Jaas[m] = j
	}
	return s, nil
}

// jaasText finds a mechanism's JAAS configuration on a listener and the
// property it came from.
func jaasText(set map[string]string, prefix, mech string) (string, string) {
	for _, name := range []string{prefix + strings.ToLower(mech) + ".sasl.jaas.config", prefix + "sasl.jaas.config", "sasl.jaas.config"} {
		if v := strings.TrimSpace(set[name]); v != "" {
			return v, name
		}
	}
	return "", ""
}

// checkJaasModule: a mechanism's login module must be its own.
func checkJaasModule(mech string, j JaasLogin) error {
	want := "org.apache.kafka.common.security.plain.PlainLoginModule"
	if mech != MechanismPlain {
		want = "org.apache.kafka.common.security.scram.ScramLoginModule"
	}
	if j.Module != want {
		return fmt.Errorf("login module %s does not serve %s (want %s)", j.Module, mech, want)
	}
	return nil
}

// ParseJaas reads a sasl.jaas.config value, Kafka's JaasConfig grammar:
// exactly one entry "<LoginModuleClass> <ControlFlag> *(<name>=<value>);"
// whose values are words or double-quoted strings (\ escapes).
func ParseJaas(text string) (JaasLogin, error) {
	toks, err := jaasTokens(text)
	if err != nil {
		return JaasLogin{}, err
	}
	var entries []JaasLogin
	for len(toks) > 0 {
		var j JaasLogin
		if j, toks, err = jaasEntry(toks); err != nil {
			return JaasLogin{}, err
		}
		entries = append(entries, j)
	}
	if len(entries) != 1 {
		return JaasLogin{}, fmt.Errorf("JAAS config property contains %d login modules, should be 1 module", len(entries))
	}
	return entries[0], nil
}

// jaasToken is a word, a quoted string, or one of = and ;.
type jaasToken struct {
	text   string
	quoted bool
}

func jaasTokens(s string) ([]jaasToken, error) {
	var out []jaasToken
	for i := 0; i < len(s); {
		c := s[i]
		switch {
		case c == ' ' || c == '\t' || c == '\n' || c == '\r':
			i++
		case c == '=' || c == ';':
			out = append(out, jaasToken{text: string(c)})
			i++
		case c == '"':
			var b strings.Builder
			i++
			for ; i < len(s) && s[i] != '"'; i++ {
				if s[i] == '\\' && i+1 < len(s) {
					i++
				}
				b.WriteByte(s[i])
			}
			if i >= len(s) {
				return nil, fmt.Errorf("JAAS config: unterminated quoted value")
			}
			i++
			out = append(out, jaasToken{text: b.String(), quoted: true})
		default:
			j := i
			for j < len(s) && !strings.ContainsRune(" \t\n\r=;\"", rune(s[j])) {
				j++
			}
			out = append(out, jaasToken{text: s[i:j]})
			i = j
		}
	}
	return out, nil
}

func jaasEntry(toks []jaasToken) (JaasLogin, []jaasToken, error) {
	word := func(t jaasToken) bool { return !t.quoted && t.text != "=" && t.text != ";" }
	if len(toks) < 2 || !word(toks[0]) || !word(toks[1]) {
		return JaasLogin{}, nil, fmt.Errorf("JAAS config entry must be \"<LoginModuleClass> <ControlFlag> *(<OptionName>=<OptionValue>);\"")
	}
	j := JaasLogin{Module: toks[0].text, Flag: strings.ToLower(toks[1].text), Options: map[string]string{}}
	switch j.Flag {
	case "required", "requisite", "sufficient", "optional":
	default:
		return JaasLogin{}, nil, fmt.Errorf("JAAS config: invalid control flag %s (required, requisite, sufficient or optional)", toks[1].text)
	}
	toks = toks[2:]
	for {
		if len(toks) == 0 {
			return JaasLogin{}, nil, fmt.Errorf("JAAS config entry for %s is not terminated by ';'", j.Module)
		}
		if !toks[0].quoted && toks[0].text == ";" {
			return j, toks[1:], nil
		}
		if len(toks) < 3 || !word(toks[0]) || toks[1].quoted || toks[1].text != "=" || (!toks[2].quoted && !word(toks[2])) {
			return JaasLogin{}, nil, fmt.Errorf("JAAS config entry for %s: options must be name=value", j.Module)
		}
		j.Options[toks[0].text] = toks[2].text
		toks = toks[3:]
	}
}

func (c saslConfig) validate() error {
	if c.FailedAddressesMax < 1 || c.SessionsMax < 1 || c.SCRAMUsersMax < 1 || c.ReceiveMaxBytes < 1 {
		return fmt.Errorf("SASL limits must be positive")
	}
	return nil
}
