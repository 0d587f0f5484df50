package core_test

import (
	"reflect"
	"strings"
	"testing"

	"cloudkafka/core"
)

// pemSSL is an SSL listener's keystore in PEM form; the core only
// checks which settings are given, the runtime loads them.
var pemSSL = map[string]string{"ssl.keystore.type": "PEM", "ssl.keystore.location": "/etc/kafka/broker.pem"}

func with(base map[string]string, kv ...string) map[string]string {
	out := map[string]string{}
	for k, v := range base {
		out[k] = v
	}
	for i := 0; i < len(kv); i += 2 {
		out[kv[i]] = kv[i+1]
	}
	return out
}

// TestListenersKafkaAccepts: configurations Kafka's KafkaConfig starts
// with, and what they resolve to.
func TestListenersKafkaAccepts(t *testing.T) {
	for _, tt := range []struct {
		props       map[string]string
		listeners   string // resolved, as Kafka writes them
		advertised  string
		interBroker string
	}{
		{map[string]string{}, "PLAINTEXT://:9092", "PLAINTEXT://localhost:9092", "PLAINTEXT"},
		{with(pemSSL, "listeners", "PLAINTEXT://:9092,SSL://:9093"), "PLAINTEXT://:9092,SSL://:9093", "PLAINTEXT://localhost:9092,SSL://localhost:9093", "PLAINTEXT"},
		{with(pemSSL, "listeners", "PLAINTEXT://127.0.0.1:9092,SSL://127.0.0.1:9093", "inter.broker.listener.name", "SSL"),
			"PLAINTEXT://127.0.0.1:9092,SSL://127.0.0.1:9093", "PLAINTEXT://127.0.0.1:9092,SSL://127.0.0.1:9093", "SSL"},
		{with(pemSSL, "listeners", "PLAINTEXT://:9092,SSL://:9093", "security.inter.broker.protocol", "SSL"),
			"PLAINTEXT://:9092,SSL://:9093", "PLAINTEXT://localhost:9092,SSL://localhost:9093", "SSL"},
		// named listeners, names case-insensitive, advertised a subset
		{with(pemSSL, "listeners", "client://0.0.0.0:9092,REPLICATION://10.0.0.1:9093,internal://:9094",
			"listener.security.protocol.map", "CLIENT:SSL,REPLICATION:PLAINTEXT,INTERNAL:PLAINTEXT",
			"advertised.listeners", "CLIENT://kafka.example.com:9092,REPLICATION://10.0.0.1:9093",
			"inter.broker.listener.name", "replication"),
			"CLIENT://0.0.0.0:9092,REPLICATION://10.0.0.1:9093,INTERNAL://:9094", "CLIENT://kafka.example.com:9092,REPLICATION://10.0.0.1:9093", "REPLICATION"},
		// ports 0 may repeat; an IPv4 and an IPv6 address may share one
		{map[string]string{"listeners": "PLAINTEXT://:0,A://:0", "listener.security.protocol.map": "PLAINTEXT:PLAINTEXT,A:PLAINTEXT"},
			"PLAINTEXT://:0,A://:0", "PLAINTEXT://localhost:0,A://localhost:0", "PLAINTEXT"},
		{map[string]string{"listeners": "PLAINTEXT://127.0.0.1:9092,V6://[::1]:9092", "listener.security.protocol.map": "PLAINTEXT:PLAINTEXT,V6:PLAINTEXT"},
			"PLAINTEXT://127.0.0.1:9092,V6://[::1]:9092", "PLAINTEXT://127.0.0.1:9092,V6://[::1]:9092", "PLAINTEXT"},
		// advertised listeners may share a port (a proxy in front)
		{map[string]string{"listeners": "PLAINTEXT://:9092,B://:9093", "listener.security.protocol.map": "PLAINTEXT:PLAINTEXT,B:PLAINTEXT",
			"advertised.listeners": "PLAINTEXT://proxy:9000,B://proxy:9000"}, "PLAINTEXT://:9092,B://:9093", "PLAINTEXT://proxy:9000,B://proxy:9000", "PLAINTEXT"},
		// SASL listeners parse (the runtime refuses at start one with no mechanism it serves)
		{map[string]string{"listeners": "PLAINTEXT://:9092,SASL_PLAINTEXT://:9093"}, "PLAINTEXT://:9092,SASL_PLAINTEXT://:9093", "PLAINTEXT://localhost:9092,SASL_PLAINTEXT://localhost:9093", "PLAINTEXT"},
		// ssl.* settings need not be valid for a broker without TLS listeners
		{map[string]string{"ssl.keystore.type": "JKS", "ssl.keystore.location": "/x.jks"}, "PLAINTEXT://:9092", "PLAINTEXT://localhost:9092", "PLAINTEXT"},
	} {
		c, err := core.ParseProperties(tt.props)
		if err != nil {
			t.Errorf("%v: got %v; want accepted, as Kafka", tt.props, err)
			continue
		}
		var ls, as []string
		for _, e := range c.Listeners {
			ls = append(ls, e.String())
		}
		for _, e := range c.AdvertisedListeners {
			as = append(as, e.String())
		}
		if got := strings.Join(ls, ","); got != tt.listeners {
			t.Errorf("%v: listeners got %s; want %s", tt.props, got, tt.listeners)
		}
		if got := strings.Join(as, ","); got != tt.advertised {
			t.Errorf("%v: advertised got %s; want %s", tt.props, got, tt.advertised)
		}
		if c.InterBrokerListener != tt.interBroker {
			t.Errorf("%v: inter-broker listener got %s; want %s", tt.props, c.InterBrokerListener, tt.interBroker)
		}
	}
}

// TestListenersKafkaRefuses: configurations Kafka refuses, each with the
// reason the error must give.
func TestListenersKafkaRefuses(t *testing.T) {
	for _, tt := range []struct {
		props  map[string]string
		reason string
	}{
		{map[string]string{"listeners": "PLAINTEXT://:9092,PLAINTEXT://:9093"}, "different name"},
		{map[string]string{"listeners": "PLAINTEXT://:9092,plaintext://:9093"}, "different name"},
		{with(pemSSL, "listeners", "PLAINTEXT://:9092,SSL://:9092"), "different port"},
		{map[string]string{"listeners": "PLAINTEXT://127.0.0.1:9092,A://127.0.0.2:9092", "listener.security.protocol.map": "PLAINTEXT:PLAINTEXT,A:PLAINTEXT"}, "different port"},
		{map[string]string{"listeners": "CLIENT://:9092"}, "no security protocol defined for listener CLIENT"},
		{map[string]string{"listeners": "PLAINTEXT://:9092", "listener.security.protocol.map": "PLAINTEXT:TLS"}, "Invalid security protocol `TLS`"},
		{map[string]string{"listeners": "PLAINTEXT://9092"}, "unable to parse"},
		{map[string]string{"listeners": "PLAINTEXT://:70000"}, "bad port"},
		{map[string]string{"listeners": "://:9092"}, "null or empty"},
		{map[string]string{"advertised.listeners": "PLAINTEXT://h:9092,SSL://host:9093"}, "subset of the ones defined in listeners"},
		{map[string]string{"advertised.listeners": "PLAINTEXT://0.0.0.0:9092"}, "0.0.0.0"},
		{with(pemSSL, "listeners", "PLAINTEXT://:9092,SSL://0.0.0.0:9093"), "0.0.0.0"},
		{map[string]string{"inter.broker.listener.name": "SSL"}, "must be a listener name defined in advertised.listeners"},
		{map[string]string{"inter.broker.listener.name": "NOPE"}, "not found in listener.security.protocol.map"},
		{map[string]string{"security.inter.broker.protocol": "SSL"}, "must be a listener name defined in advertised.listeners"},
		{map[string]string{"security.inter.broker.protocol": "TLS"}, "Invalid security protocol `TLS`"},
		{map[string]string{"inter.broker.listener.name": "PLAINTEXT", "security.inter.broker.protocol": "PLAINTEXT"}, "only one of"},
		{with(pemSSL, "listeners", "PLAINTEXT://:9092,SSL://:9093", "advertised.listeners", "SSL://h:9093"), "inter.broker.listener.name must be"},
		// SSL settings, as DefaultSslEngineFactory checks them
		{map[string]string{"listeners": "SSL://:9093", "security.inter.broker.protocol": "SSL"}, "no key store"},
		{map[string]string{"listeners": "SSL://:9093", "security.inter.broker.protocol": "SSL", "ssl.keystore.location": "/k.jks", "ssl.keystore.password": "x"}, "ssl.keystore.type JKS is not supported"},
		{map[string]string{"listeners": "SSL://:9093", "security.inter.broker.protocol": "SSL", "ssl.keystore.type": "PKCS12", "ssl.keystore.location": "/k.p12"}, "PKCS12 is not supported"},
		{with(pemSSL, "listeners", "SSL://:9093", "security.inter.broker.protocol", "SSL", "ssl.keystore.password", "x"), "password cannot be specified with PEM"},
		{map[string]string{"listeners": "SSL://:9093", "security.inter.broker.protocol": "SSL", "ssl.keystore.type": "PEM", "ssl.keystore.key": "k"}, "certificate chain is not specified"},
		{map[string]string{"listeners": "SSL://:9093", "security.inter.broker.protocol": "SSL", "ssl.keystore.type": "PEM", "ssl.keystore.certificate.chain": "c"}, "private key is not specified"},
		{with(pemSSL, "listeners", "SSL://:9093", "security.inter.broker.protocol", "SSL", "ssl.keystore.key", "k", "ssl.keystore.certificate.chain", "c"), "location and separate private key"},
		{with(pemSSL, "listeners", "SSL://:9093", "security.inter.broker.protocol", "SSL", "ssl.truststore.location", "/t.jks"), "ssl.truststore.type JKS is not supported"},
		{with(pemSSL, "listeners", "SSL://:9093", "security.inter.broker.protocol", "SSL", "ssl.truststore.certificates", "c"), "trust store certs can be specified only for PEM"},
		{with(pemSSL, "listeners", "SSL://:9093", "security.inter.broker.protocol", "SSL", "listener.name.ssl.ssl.keystore.type", "JKS"), "listener SSL: ssl.keystore.type JKS"},
		{map[string]string{"ssl.client.auth": "REQUIRED"}, "not one of required, requested, none"},
		{map[string]string{"listener.name.ssl.ssl.client.auth": "maybe"}, "not one of required, requested, none"},
		{map[string]string{"ssl.enabled.protocols": "TLSv1.2,TLSv1.1"}, "TLS 1.2 is the minimum"},
		{map[string]string{"ssl.protocol": "SSLv3"}, "TLS 1.2 is the minimum"},
		{map[string]string{"ssl.principal.mapping.rules": "RULE:^CN=(.*?),OU=ServiceUsers.*$/$1/L/U"}, "invalid rule"},
	} {
		_, err := core.ParseProperties(tt.props)
		if err == nil || !strings.Contains(err.Error(), tt.reason) {
			t.Errorf("%v: got %v; want an error saying %q", tt.props, err, tt.reason)
		}
	}
}

// TestListenerTLSSettings: each listener's ssl.* values come from its
// listener.name.<name>. prefix, else the broker-wide ones, else Kafka's
// defaults; settings without effect are listed, secrets never shown.
func TestListenerTLSSettings(t *testing.T) {
	c, err := core.ParseProperties(map[string]string{
		"listeners":                      "PLAINTEXT://:9092,SSL://:9093,MTLS://:9094",
		"listener.security.protocol.map": "PLAINTEXT:PLAINTEXT,SSL:SSL,MTLS:SSL",
		"ssl.keystore.type":              "PEM", "ssl.keystore.location": "/broker.pem",
		"ssl.truststore.type": "PEM", "ssl.truststore.location": "/ca.pem",
		"listener.name.mtls.ssl.client.auth":             "required",
		"listener.name.mtls.ssl.principal.mapping.rules": "RULE:^CN=([^,]*).*$/$1/L",
		"listener.name.mtls.ssl.keystore.location":       "/mtls.pem",
		"ssl.enabled.protocols":                          "TLSv1.3",
		"ssl.key.password":                               "secret",
		"ssl.keymanager.algorithm":                       "PKIX",
		"listener.name.mtls.ssl.provider":                "SunJSSE",
	})
	if err != nil {
		t.Fatal(err)
	}
	ssl, mtls := c.TLS["SSL"], c.TLS["MTLS"]
	if len(c.TLS) != 2 || ssl.ClientAuth != "none" || mtls.ClientAuth != "required" || ssl.KeystoreLocation != "/broker.pem" ||
		mtls.KeystoreLocation != "/mtls.pem" || mtls.TruststoreLoc != "/ca.pem" || mtls.EndpointIdentAlgo != "https" {
		t.Errorf("got TLS settings %+v; want SSL with client auth none and /broker.pem, MTLS required with /mtls.pem, both /ca.pem", c.TLS)
	}
	if lo, hi := ssl.TLSMinMax(); lo != 0x0304 || hi != 0x0304 {
		t.Errorf("TLSv1.3 only: got versions %#x-%#x; want 0x304-0x304", lo, hi)
	}
	if got, _ := mtls.Principal.Name("CN=Alice,OU=eng"); got != "alice" {
		t.Errorf("MTLS principal got %q; want alice (its own rules)", got)
	}
	if got, _ := ssl.Principal.Name("CN=Alice,OU=eng"); got != "CN=Alice,OU=eng" {
		t.Errorf("SSL principal got %q; want the DN (DEFAULT)", got)
	}
	if got, want := c.NoEffect(), []string{"listener.name.mtls.ssl.provider", "ssl.keymanager.algorithm"}; !reflect.DeepEqual(got, want) {
		t.Errorf("no effect: got %v; want %v", got, want)
	}
	if got := c.ShownValue("ssl.key.password"); got != "[hidden]" {
		t.Errorf("ssl.key.password shown as %q; want [hidden]", got)
	}
	for _, e := range c.BrokerProperties() {
		if e.Name == "ssl.key.password" && !e.Sensitive {
			t.Errorf("ssl.key.password is not sensitive in DescribeConfigs")
		}
	}
}

// TestPrincipalMappingRules is Kafka's SslPrincipalMapperTest.
func TestPrincipalMappingRules(t *testing.T) {
	for _, rules := range []string{
		"DEFAULT",
		"RULE:^CN=(.*?),OU=ServiceUsers.*$/$1/",
		"RULE:^CN=(.*?),OU=ServiceUsers.*$/$1/L, DEFAULT",
		"RULE:^CN=(.*?),OU=(.*?),O=(.*?),L=(.*?),ST=(.*?),C=(.*?)$/$1@$2/",
		"RULE:^.*[Cc][Nn]=([a-zA-Z0-9.]*).*$/$1/L",
		"RULE:^cn=(.?),ou=(.?),dc=(.?),dc=(.?)$/$1@$2/U",
		"RULE:^CN=([^,ADEFLTU,]+)(,.*|$)/$1/",
		"RULE:^CN=([^,DEFAULT,]+)(,.*|$)/$1/",
		"", ",   , , ", "RULE://", "  RULE:([A-Z]*)/$1/U   ,RULE:([a-z]+)/$1/,   DEFAULT  ",
	} {
		if _, err := core.ParsePrincipalRules(rules); err != nil {
			t.Errorf("rules %q: got %v; want valid, as Kafka", rules, err)
		}
	}
	for _, rules := range []string{
		"default", "DEFAUL", "DEFAULT/L", "DEFAULT/U",
		"RULE:CN=(.*?),OU=ServiceUsers.*/$1",
		"rule:^CN=(.*?),OU=ServiceUsers.*$/$1/",
		"RULE:^CN=(.*?),OU=ServiceUsers.*$/$1/L/U",
		"RULE:^CN=(.*?),OU=ServiceUsers.*$/L",
		"RULE:^CN=(.*?),OU=ServiceUsers.*$/U",
		"RULE:^CN=(.*?),OU=ServiceUsers.*$/LU",
		"RULE:^CN=(?<=x)(.*)$/$1/", // lookbehind: not RE2
		"RULE:^CN=(.*)$/$x/",       // $ without a group number
	} {
		if _, err := core.ParsePrincipalRules(rules); err == nil {
			t.Errorf("rules %q: got valid; want refused", rules)
		}
	}
	m, err := core.ParsePrincipalRules(strings.Join([]string{
		"RULE:^CN=(.*?),OU=ServiceUsers.*$/$1/L",
		"RULE:^CN=(.*?),OU=(.*?),O=(.*?),L=(.*?),ST=(.*?),C=(.*?)$/$1@$2/L",
		"RULE:^cn=(.*?),ou=(.*?),dc=(.*?),dc=(.*?)$/$1@$2/U",
		"RULE:^.*[Cc][Nn]=([a-zA-Z0-9.]*).*$/$1/U",
		"DEFAULT",
	}, ", "))
	if err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct{ dn, want string }{
		{"CN=Duke,OU=ServiceUsers,O=Org,C=US", "duke"},
		{"CN=Duke,OU=SME,O=mycp,L=Fulton,ST=MD,C=US", "duke@sme"},
		{"cn=duke,ou=sme,dc=mycp,dc=com", "DUKE@SME"},
		{"cN=duke,OU=JavaSoft,O=Sun Microsystems", "DUKE"},
		{"OU=JavaSoft,O=Sun Microsystems,C=US", "OU=JavaSoft,O=Sun Microsystems,C=US"},
	} {
		if got, err := m.Name(tt.dn); err != nil || got != tt.want {
			t.Errorf("%s: got %q (%v); want %q", tt.dn, got, err, tt.want)
		}
	}
	// Kafka's testCommaWithWhitespace, and Java's group references.
	for _, tt := range []struct{ rules, dn, want string }{
		{`RULE:^CN=((\\, *|\w)+)(,.*|$)/$1/,DEFAULT`, `CN=Tkac\, Adam,OU=ITZ,DC=geodis,DC=cz`, `Tkac\, Adam`},
		{`RULE:^CN=(\w+),OU=(\w+)$/$1$2x/`, "CN=a,OU=b", "abx"},
		{`RULE:^CN=(\w+),OU=(\w+)$/$12/`, "CN=a,OU=b", "a2"},     // $12 is group 1 and "2": two groups only
		{`RULE:^CN=(\w+),OU=(\w+)$/$3-$1/`, "CN=a,OU=b", "$3-a"}, // no group 3: literal, as Kafka escapes it
		{`RULE:^CN=(\w+),OU=(\w+)$/\$1/`, "CN=a,OU=b", "$1"},
	} {
		m, err := core.ParsePrincipalRules(tt.rules)
		if err != nil {
			t.Errorf("%s: %v", tt.rules, err)
			continue
		}
		if got, err := m.Name(tt.dn); err != nil || got != tt.want {
			t.Errorf("%s on %s: got %q (%v); want %q", tt.rules, tt.dn, got, err, tt.want)
		}
	}
	only, _ := core.ParsePrincipalRules("RULE:^CN=(.*),OU=ops$/$1/")
	if _, err := only.Name("CN=a,OU=dev"); err == nil || !strings.Contains(err.Error(), "no rules apply") {
		t.Errorf("no matching rule: got %v; want an error saying no rules apply", err)
	}
}
