package core

import (
	"fmt"
	"slices"
	"strings"
)

// TLSSettings are one TLS listener's ssl.* settings, each the listener's
// own (listener.name.<name>.ssl.*) when given, else the broker's
// (ssl.*), else Kafka's default. Key and certificate material is PEM,
// inline or in files; the runtime loads it (realio) and the core never
// reads it. Secrets are not printed by String.
type TLSSettings struct {
	KeystoreType      string // ssl.keystore.type: only PEM is served
	KeystoreLocation  string // ssl.keystore.location: a PEM file with the key and its chain
	KeystoreKey       string // ssl.keystore.key: a PEM private key (PKCS#8)
	KeystoreChain     string // ssl.keystore.certificate.chain: PEM certificates, leaf first
	KeyPassword       string // ssl.key.password: decrypts an encrypted PKCS#8 key
	TruststoreType    string // ssl.truststore.type: only PEM is served
	TruststoreLoc     string // ssl.truststore.location: a PEM file of CA certificates
	TruststoreCerts   string // ssl.truststore.certificates: PEM CA certificates
	ClientAuth        string // ssl.client.auth: none, requested or required
	Protocol          string // ssl.protocol
	EnabledProtocols  []string
	CipherSuites      []string // ssl.cipher.suites; empty: the runtime's defaults
	EndpointIdentAlgo string   // ssl.endpoint.identification.algorithm: https or "" (no host name check)
	Principal         *PrincipalMapper
}

// Client authentication modes (ssl.client.auth).
const (
	ClientAuthNone      = "none"
	ClientAuthRequested = "requested"
	ClientAuthRequired  = "required"
)

// sslProperty is one ssl.* property Kafka's broker accepts: its default,
// whether its value is secret (Kafka's PASSWORD type: never shown) and
// whether it changes anything here.
type sslProperty struct {
	name, def string
	secret    bool
	noEffect  bool
	check     func(string) error
}

var sslProperties = []sslProperty{
	{name: "ssl.protocol", def: "TLSv1.3", check: checkTLSProtocol("ssl.protocol", true)},
	{name: "ssl.enabled.protocols", def: "TLSv1.2,TLSv1.3", check: func(v string) error {
		for _, p := range splitList(v) {
			if err := checkTLSProtocol("ssl.enabled.protocols", false)(p); err != nil {
				return err
			}
		}
		return nil
	}},
	{name: "ssl.provider", noEffect: true},
	{name: "ssl.keystore.type", def: "JKS"},
	{name: "ssl.keystore.location"},
	{name: "ssl.keystore.password", secret: true},
	{name: "ssl.key.password", secret: true},
	{name: "ssl.keystore.key", secret: true},
	{name: "ssl.keystore.certificate.chain", secret: true},
	{name: "ssl.truststore.type", def: "JKS"},
	{name: "ssl.truststore.location"},
	{name: "ssl.truststore.password", secret: true},
	{name: "ssl.truststore.certificates", secret: true},
	{name: "ssl.keymanager.algorithm", def: "SunX509", noEffect: true},
	{name: "ssl.trustmanager.algorithm", def: "PKIX", noEffect: true},
	{name: "ssl.endpoint.identification.algorithm", def: "https", check: func(v string) error {
		if v != "" && !strings.EqualFold(v, "https") {
			return fmt.Errorf("ssl.endpoint.identification.algorithm: %q is not supported (https, or empty for none)", v)
		}
		return nil
	}},
	{name: "ssl.secure.random.implementation", noEffect: true},
	{name: "ssl.client.auth", def: ClientAuthNone, check: func(v string) error {
		if v != ClientAuthNone && v != ClientAuthRequested && v != ClientAuthRequired {
			return fmt.Errorf("ssl.client.auth: %q is not one of required, requested, none", v)
		}
		return nil
	}},
	{name: "ssl.cipher.suites"},
	{name: "ssl.principal.mapping.rules", def: "DEFAULT", check: func(v string) error {
		_, err := ParsePrincipalRules(v)
		return err
	}},
	{name: "ssl.engine.factory.class", noEffect: true},
	{name: "ssl.allow.dn.changes", def: "false", noEffect: true, check: checkBool("ssl.allow.dn.changes")},
	{name: "ssl.allow.san.changes", def: "false", noEffect: true, check: checkBool("ssl.allow.san.changes")},
}

// checkTLSProtocol accepts the protocols served: TLS 1.2 and 1.3 (and,
// for ssl.protocol, Java's generic "TLS"). Older ones are refused.
func checkTLSProtocol(name string, generic bool) func(string) error {
	return func(v string) error {
		switch {
		case v == "TLSv1.2" || v == "TLSv1.3" || (generic && v == "TLS"):
			return nil
		case v == "TLSv1" || v == "TLSv1.1" || strings.HasPrefix(v, "SSL"):
			return fmt.Errorf("%s: %s is not supported: TLS 1.2 is the minimum (TLSv1.2, TLSv1.3)", name, v)
		}
		return fmt.Errorf("%s: unknown protocol %q (TLSv1.2, TLSv1.3)", name, v)
	}
}

func checkBool(name string) func(string) error {
	return func(v string) error {
		if !strings.EqualFold(v, "true") && !strings.EqualFold(v, "false") {
			return fmt.Errorf("%s: %q is not true or false", name, v)
		}
		return nil
	}
}

func splitList(v string) []string {
	var out []string
	for _, s := range strings.Split(v, ",") {
		if s = strings.TrimSpace(s); s != "" {
			out = append(out, s)
		}
	}
	return out
}

func sslPropertyNamed(name string) (sslProperty, bool) {
	for _, p := range sslProperties {
		if p.name == name {
			return p, true
		}
	}
	return sslProperty{}, false
}

// listenerPrefixed splits listener.name.<name>.<property> into the
// listener (upper case) and the property.
func listenerPrefixed(name string) (listener, prop string, ok bool) {
	rest, ok := strings.CutPrefix(name, "listener.name.")
	if !ok {
		return "", "", false
	}
	l, prop, ok := strings.Cut(rest, ".")
	if !ok || l == "" {
		return "", "", false
	}
	return strings.ToUpper(l), prop, true
}

// checkSSLProperties validates every ssl.* value given, broker-wide or
// for a listener, so that a mistake is reported even on a listener
// without TLS, as Kafka's ConfigDef does for the broker-wide ones.
func checkSSLProperties(set map[string]string) error {
	for _, name := range sortedKeys(set) {
		prop := name
		if _, p, ok := listenerPrefixed(name); ok {
			prop = p
		}
		sp, ok := sslPropertyNamed(prop)
		if ok && sp.check != nil {
			if err := sp.check(strings.TrimSpace(set[name])); err != nil {
				return fmt.Errorf("%s: %v", name, err)
			}
		}
	}
	return nil
}

// sslValue is a listener's value of an ssl.* property.
func sslValue(set map[string]string, listener, prop string) (string, bool) {
	if v, ok := set["listener.name."+strings.ToLower(listener)+"."+prop]; ok {
		return strings.TrimSpace(v), true
	}
	if v, ok := set[prop]; ok {
		return strings.TrimSpace(v), true
	}
	p, _ := sslPropertyNamed(prop)
	return p.def, false
}

// resolveTLS collects the TLS settings of each listener whose protocol
// runs over TLS and checks their combinations as Kafka's
// DefaultSslEngineFactory does.
func (c *Config) resolveTLS(set map[string]string) error {
	c.TLS = map[string]TLSSettings{}
	for _, e := range c.Listeners {
		if !ProtocolUsesTLS(e.Protocol) {
			continue
		}
		t, err := tlsSettingsFor(set, e.Listener)
		if err != nil {
			return fmt.Errorf("listener %s: %v", e.Listener, err)
		}
		c.TLS[e.Listener] = t
	}
	return nil
}

func tlsSettingsFor(set map[string]string, listener string) (TLSSettings, error) {
	v := func(prop string) string { s, _ := sslValue(set, listener, prop); return s }
	given := func(prop string) bool { _, ok := sslValue(set, listener, prop); return ok && v(prop) != "" }
	t := TLSSettings{KeystoreType: v("ssl.keystore.type"), KeystoreLocation: v("ssl.keystore.location"),
		KeystoreKey: v("ssl.keystore.key"), KeystoreChain: v("ssl.keystore.certificate.chain"), KeyPassword: v("ssl.key.password"),
		TruststoreType: v("ssl.truststore.type"), TruststoreLoc: v("ssl.truststore.location"), TruststoreCerts: v("ssl.truststore.certificates"),
		ClientAuth: v("ssl.client.auth"), Protocol: v("ssl.protocol"), EnabledProtocols: splitList(v("ssl.enabled.protocols")),
		CipherSuites: splitList(v("ssl.cipher.suites")), EndpointIdentAlgo: strings.ToLower(v("ssl.endpoint.identification.algorithm"))}
	var err error
	if t.Principal, err = ParsePrincipalRules(v("ssl.principal.mapping.rules")); err != nil {
		return t, err
	}
	if err := checkKeystore(t, given("ssl.keystore.password")); err != nil {
		return t, err
	}
	return t, checkTruststore(t, given("ssl.truststore.password"))
}

// checkKeystore: a TLS listener needs a PEM keystore, inline (key and
// chain) or in a file.
func checkKeystore(t TLSSettings, password bool) error {
	pem := strings.EqualFold(t.KeystoreType, "PEM")
	switch {
	case t.KeystoreKey != "" && !pem:
		return fmt.Errorf("SSL private key can be specified only for PEM, but key store type is %s", t.KeystoreType)
	case t.KeystoreKey != "" && t.KeystoreChain == "":
		return fmt.Errorf("SSL private key is specified, but certificate chain is not specified")
	case t.KeystoreKey != "" && t.KeystoreLocation != "":
		return fmt.Errorf("both SSL key store location and separate private key are specified")
	case t.KeystoreChain != "" && t.KeystoreKey == "":
		return fmt.Errorf("SSL certificate chain is specified, but private key is not specified")
	case pem && password:
		return fmt.Errorf("SSL key store password cannot be specified with PEM format, only key password may be specified")
	case !pem && (t.KeystoreLocation != "" || password):
		return fmt.Errorf("ssl.keystore.type %s is not supported: use ssl.keystore.type=PEM (a PEM key and certificate chain, inline or in ssl.keystore.location)", t.KeystoreType)
	case t.KeystoreKey == "" && t.KeystoreLocation == "":
		return fmt.Errorf("no key store: set ssl.keystore.type=PEM with ssl.keystore.key and ssl.keystore.certificate.chain, or ssl.keystore.location")
	}
	return nil
}

// checkTruststore: a truststore is optional (without one, the system's
// roots are trusted, as Java's default truststore is); when given it is
// PEM.
func checkTruststore(t TLSSettings, password bool) error {
	pem := strings.EqualFold(t.TruststoreType, "PEM")
	switch {
	case t.TruststoreCerts != "" && !pem:
		return fmt.Errorf("SSL trust store certs can be specified only for PEM, but trust store type is %s", t.TruststoreType)
	case t.TruststoreCerts != "" && t.TruststoreLoc != "":
		return fmt.Errorf("both SSL trust store location and separate trust certificates are specified")
	case pem && password:
		return fmt.Errorf("SSL trust store password cannot be specified for PEM format")
	case !pem && t.TruststoreLoc != "":
		return fmt.Errorf("ssl.truststore.type %s is not supported: use ssl.truststore.type=PEM (PEM certificates, inline or in ssl.truststore.location)", t.TruststoreType)
	case t.TruststoreLoc == "" && password:
		return fmt.Errorf("SSL trust store is not specified, but trust store password is specified")
	}
	return nil
}

// sslNoEffect lists the ssl.* names set (broker-wide or per listener)
// that change nothing here.
func sslNoEffect(set map[string]string) []string {
	var out []string
	for _, name := range sortedKeys(set) {
		prop := name
		if _, p, ok := listenerPrefixed(name); ok {
			prop = p
		}
		if sp, ok := sslPropertyNamed(prop); ok && sp.noEffect {
			out = append(out, name)
		}
	}
	return out
}

// secretProperty says whether a property's value is secret (Kafka's
// PASSWORD type), broker-wide or per listener.
func secretProperty(name string) bool {
	if _, p, ok := listenerPrefixed(name); ok {
		name = p
	}
	sp, ok := sslPropertyNamed(name)
	return (ok && sp.secret) || saslSecret(name)
}

// ShownValue is a property's value as logs and DescribeConfigs may show
// it: a secret is "[hidden]", as Kafka prints its passwords.
func (c Config) ShownValue(name string) string {
	if secretProperty(name) {
		return "[hidden]"
	}
	return c.Set[name]
}

// knownListenerProperty says whether listener.name.<l>.<prop> is a
// property accepted per listener.
func knownListenerProperty(name string) bool {
	_, prop, ok := listenerPrefixed(name)
	if !ok {
		return false
	}
	_, known := sslPropertyNamed(prop)
	return known || saslListenerProperty(prop)
}

// TLSMinMax is the span of TLS versions the settings enable, as
// (major<<8 | minor) numbers: 0x0303 is TLS 1.2, 0x0304 TLS 1.3.
func (t TLSSettings) TLSMinMax() (uint16, uint16) {
	enabled := t.EnabledProtocols
	if len(enabled) == 0 { // the protocol's own
		enabled = []string{"TLSv1.2", "TLSv1.3"}
		if t.Protocol == "TLSv1.2" {
			enabled = enabled[:1]
		}
	}
	lo, hi := uint16(0x0304), uint16(0x0303)
	if slices.Contains(enabled, "TLSv1.2") {
		lo = 0x0303
	}
	if slices.Contains(enabled, "TLSv1.3") {
		hi = 0x0304
	}
	return lo, hi
}
