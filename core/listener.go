package core

import (
	"fmt"
	"regexp"
	"slices"
	"strconv"
	"strings"
)

// Listeners, as Kafka names them: a broker accepts connections on one or
// more named listeners (listeners=CLIENT://:9092,REPLICATION://:9093),
// each speaking the security protocol listener.security.protocol.map
// gives its name, and tells clients the endpoints of advertised.listeners
// (by default the listeners themselves). A client is answered with the
// brokers' endpoints on the listener its request came in on; brokers talk
// to each other on inter.broker.listener.name.

// Kafka's security protocols (SecurityProtocol).
const (
	ProtocolPlaintext     = "PLAINTEXT"
	ProtocolSSL           = "SSL"
	ProtocolSASLPlaintext = "SASL_PLAINTEXT"
	ProtocolSASLSSL       = "SASL_SSL"
)

// protocolIDs are Kafka's ids of the security protocols, as
// UpdateMetadata's endpoints carry them.
var protocolIDs = map[string]int16{ProtocolPlaintext: 0, ProtocolSSL: 1, ProtocolSASLPlaintext: 2, ProtocolSASLSSL: 3}

// ProtocolUsesTLS says whether a security protocol runs over TLS.
func ProtocolUsesTLS(p string) bool { return p == ProtocolSSL || p == ProtocolSASLSSL }

// PrincipalAnonymous is the principal of a connection that did not
// authenticate: plaintext, or TLS without a client certificate.
const PrincipalAnonymous = "User:ANONYMOUS"

// Endpoint is one listener's address: where the broker listens
// (listeners) or what it tells clients (advertised.listeners).
type Endpoint struct {
	Listener string // the listener's name, upper case (Kafka normalises it)
	Protocol string // its security protocol
	Host     string // "" in listeners: every interface
	Port     int32  // 0 in listeners: any free port
}

// String is Kafka's connection string of an endpoint, NAME://host:port.
func (e Endpoint) String() string {
	host := e.Host
	if strings.Contains(host, ":") {
		host = "[" + host + "]"
	}
	return e.Listener + "://" + host + ":" + strconv.Itoa(int(e.Port))
}

// defaultProtocolMap is listener.security.protocol.map's default: each
// protocol is also a listener name.
const defaultProtocolMap = "PLAINTEXT:PLAINTEXT,SSL:SSL,SASL_PLAINTEXT:SASL_PLAINTEXT,SASL_SSL:SASL_SSL"

// listenerSettings are the raw listener properties, resolved together
// once every property is read (resolveListeners): a listener's protocol
// depends on the map, whatever order the properties came in.
type listenerSettings struct {
	listeners, advertised, protocolMap string
	interBrokerName, interBrokerProto  string
}

// endpointPattern is Kafka's EndPoint.uriParseExp, matched whole.
var endpointPattern = regexp.MustCompile(`^(.*)://\[?([0-9a-zA-Z\-%._:]*)\]?:(-?[0-9]+)$`)

// parseProtocolMap reads listener.security.protocol.map, NAME:PROTOCOL
// pairs; names are normalised to upper case, as Kafka's ListenerName.
func parseProtocolMap(v string) (map[string]string, error) {
	const name = "listener.security.protocol.map"
	out := map[string]string{}
	for _, pair := range strings.Split(v, ",") {
		if pair = strings.TrimSpace(pair); pair == "" {
			continue
		}
		l, p, ok := strings.Cut(pair, ":")
		l, p = strings.ToUpper(strings.TrimSpace(l)), strings.TrimSpace(p)
		if !ok || l == "" {
			return nil, fmt.Errorf("%s: %q is not LISTENER_NAME:SECURITY_PROTOCOL", name, pair)
		}
		if _, known := protocolIDs[p]; !known {
			return nil, fmt.Errorf("Invalid security protocol `%s` defined in %s", p, name)
		}
		if _, dup := out[l]; dup {
			return nil, fmt.Errorf("%s: listener %s is mapped twice", name, l)
		}
		out[l] = p
	}
	return out, nil
}

// parseEndpoints reads a comma-separated list of NAME://host:port
// (listeners or advertised.listeners), in order. Names must be distinct
// and in the protocol map; so must ports (except 0, and except one IPv4
// and one IPv6 address on one port) when distinctPorts is set, as
// Kafka's CoreUtils.listenerListToEndPoints requires of listeners.
func parseEndpoints(prop, v string, protocols map[string]string, distinctPorts bool) ([]Endpoint, error) {
	var out []Endpoint
	for _, s := range strings.Split(v, ",") {
		if s = strings.TrimSpace(s); s == "" {
			continue
		}
		m := endpointPattern.FindStringSubmatch(s)
		if m == nil {
			return nil, fmt.Errorf("%s: unable to parse %q to a broker endpoint (want NAME://host:port)", prop, s)
		}
		name := strings.ToUpper(strings.TrimSpace(m[1]))
		if name == "" {
			return nil, fmt.Errorf("%s: %q: the provided listener name is null or empty string", prop, s)
		}
		port, err := strconv.Atoi(m[3])
		if err != nil || port < 0 || port > 65535 {
			return nil, fmt.Errorf("%s: bad port in %q (want 0 to 65535)", prop, s)
		}
		proto, ok := protocols[name]
		if !ok {
			return nil, fmt.Errorf("%s: no security protocol defined for listener %s (listener.security.protocol.map)", prop, name)
		}
		for _, e := range out {
			if e.Listener == name {
				return nil, fmt.Errorf("%s: each listener must have a different name, listeners: %s", prop, v)
			}
		}
		out = append(out, Endpoint{Listener: name, Protocol: proto, Host: m[2], Port: int32(port)})
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("%s: there must be at least one listener", prop)
	}
	if distinctPorts {
		if err := checkDistinctPorts(prop, v, out); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// checkDistinctPorts applies Kafka's rule: two listeners share a port
// only if it is 0 (any free port) or one binds an IPv4 address and the
// other an IPv6 one.
func checkDistinctPorts(prop, v string, eps []Endpoint) error {
	for i, a := range eps {
		if a.Port == 0 || slices.ContainsFunc(eps[:i], func(b Endpoint) bool { return b.Port == a.Port }) {
			continue // any free port, or a port checked already
		}
		var same []Endpoint
		for _, b := range eps[i:] {
			if b.Port == a.Port {
				same = append(same, b)
			}
		}
		if len(same) == 1 {
			continue
		}
		if len(same) == 2 && ((isIPv4(same[0].Host) && isIPv6(same[1].Host)) || (isIPv6(same[0].Host) && isIPv4(same[1].Host))) {
			continue
		}
		return fmt.Errorf("%s: each listener must have a different port unless exactly one listener has an IPv4 address and the other an IPv6 address, listeners: %s, port: %d", prop, v, a.Port)
	}
	return nil
}

func isIPv4(h string) bool {
	parts := strings.Split(h, ".")
	if len(parts) != 4 {
		return false
	}
	for _, p := range parts {
		if n, err := strconv.Atoi(p); err != nil || n < 0 || n > 255 || p == "" || len(p) > 3 {
			return false
		}
	}
	return true
}

// isIPv6 is a coarse test for an IPv6 literal: hex digits, colons (at
// least two), an optional zone and dotted IPv4 tail.
func isIPv6(h string) bool {
	h, _, _ = strings.Cut(h, "%")
	if strings.Count(h, ":") < 2 {
		return false
	}
	for _, r := range h {
		if !strings.ContainsRune("0123456789abcdefABCDEF:.", r) {
			return false
		}
	}
	return true
}

// resolveListeners turns the raw listener properties into the
// configuration's endpoints and inter-broker listener, validating them
// as Kafka's KafkaConfig does.
func (c *Config) resolveListeners(raw listenerSettings, set map[string]string) error {
	protocols, err := parseProtocolMap(raw.protocolMap)
	if err != nil {
		return err
	}
	if c.Listeners, err = parseEndpoints("listeners", raw.listeners, protocols, true); err != nil {
		return err
	}
	c.AdvertisedListeners = slices.Clone(c.Listeners)
	if strings.TrimSpace(raw.advertised) != "" {
		if c.AdvertisedListeners, err = parseEndpoints("advertised.listeners", raw.advertised, protocols, false); err != nil {
			return err
		}
	}
	if err := c.resolveInterBroker(raw, set, protocols); err != nil {
		return err
	}
	return c.validateListeners()
}

// resolveInterBroker sets InterBrokerListener from
// inter.broker.listener.name or security.inter.broker.protocol (one of
// them at most, as in Kafka).
func (c *Config) resolveInterBroker(raw listenerSettings, set map[string]string, protocols map[string]string) error {
	_, nameSet := set["inter.broker.listener.name"]
	_, protoSet := set["security.inter.broker.protocol"]
	switch {
	case nameSet && protoSet:
		return fmt.Errorf("only one of inter.broker.listener.name and security.inter.broker.protocol should be set")
	case nameSet:
		name := strings.ToUpper(strings.TrimSpace(raw.interBrokerName))
		if name == "" {
			return fmt.Errorf("inter.broker.listener.name: the provided listener name is null or empty string")
		}
		if _, ok := protocols[name]; !ok {
			return fmt.Errorf("listener with name %s defined in inter.broker.listener.name not found in listener.security.protocol.map", name)
		}
		c.InterBrokerListener = name
	default:
		if _, ok := protocolIDs[raw.interBrokerProto]; !ok {
			return fmt.Errorf("Invalid security protocol `%s` defined in security.inter.broker.protocol", raw.interBrokerProto)
		}
		c.InterBrokerListener = raw.interBrokerProto // the listener named after the protocol
	}
	return nil
}

// validateListeners applies KafkaConfig's cross-checks, then the ones of
// this broker: an advertised host defaults to localhost.
func (c *Config) validateListeners() error {
	var names, advertised []string
	for _, e := range c.Listeners {
		names = append(names, e.Listener)
	}
	for _, e := range c.AdvertisedListeners {
		advertised = append(advertised, e.Listener)
	}
	if !slices.Contains(advertised, c.InterBrokerListener) {
		return fmt.Errorf("inter.broker.listener.name must be a listener name defined in advertised.listeners. "+
			"The valid options based on currently configured listeners are %s (the inter-broker listener is %s)", strings.Join(advertised, ","), c.InterBrokerListener)
	}
	for _, a := range advertised {
		if !slices.Contains(names, a) {
			return fmt.Errorf("advertised.listeners listener names must be equal to or a subset of the ones defined in listeners. "+
				"Found %s. The valid options based on the current configuration are %s", strings.Join(advertised, ","), strings.Join(names, ","))
		}
	}
	for i, e := range c.AdvertisedListeners {
		if e.Host == "0.0.0.0" {
			return fmt.Errorf("advertised.listeners cannot use the nonroutable meta-address 0.0.0.0 (listeners is advertised when advertised.listeners is unset); use a routable address")
		}
		if e.Host == "" {
			c.AdvertisedListeners[i].Host = "localhost"
		}
	}
	return nil
}

// ListenerEndpoint is the endpoint this broker listens on for name.
func (c Config) ListenerEndpoint(name string) (Endpoint, bool) {
	for _, e := range c.Listeners {
		if e.Listener == name {
			return e, true
		}
	}
	return Endpoint{}, false
}

// endpointOn finds a listener's endpoint in eps.
func endpointOn(eps []Endpoint, listener string) (Endpoint, bool) {
	for _, e := range eps {
		if e.Listener == listener {
			return e, true
		}
	}
	return Endpoint{}, false
}

// joinEndpoints is a list of endpoints as Kafka's properties write it.
func joinEndpoints(eps []Endpoint) string {
	s := make([]string, len(eps))
	for i, e := range eps {
		s[i] = e.String()
	}
	return strings.Join(s, ",")
}
