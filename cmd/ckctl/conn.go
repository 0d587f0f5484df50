package main

import (
	"crypto/tls"
	"crypto/x509"
	"flag"
	"fmt"
	"os"
	"strings"

	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/sasl"
	"github.com/twmb/franz-go/pkg/sasl/plain"
	"github.com/twmb/franz-go/pkg/sasl/scram"
)

// Connection security, shared by every command: every client is built by
// env.newClient, which adds these options. TLS is used when --tls or any
// --tls-* file is given; SASL when --sasl-mechanism is. Each flag has an
// environment default ($CKCTL_TLS_CA, $CKCTL_TLS_CERT, $CKCTL_TLS_KEY,
// $CKCTL_SASL_MECHANISM, $CKCTL_SASL_USER, $CKCTL_SASL_PASSWORD), so that
// a password need not appear in the process list.

// connFlags say how to reach a secured listener.
type connFlags struct {
	tls bool
	// tlsCA is a PEM file of the roots that verify the broker's
	// certificate; empty: the system's roots.
	tlsCA string
	// tlsCert and tlsKey are PEM files of a client certificate and its
	// key, for listeners that require one (ssl.client.auth=required).
	tlsCert, tlsKey string
	// saslMechanism is PLAIN, SCRAM-SHA-256 or SCRAM-SHA-512; empty: no
	// SASL.
	saslMechanism, saslUser, saslPassword string
}

// register adds the connection flags to fs. A value already parsed (by
// the top-level flag set, when the flag stood before the command) is the
// default, else the environment's.
func (c *connFlags) register(fs *flag.FlagSet) {
	fs.BoolVar(&c.tls, "tls", c.tls, "connect with TLS")
	fs.StringVar(&c.tlsCA, "tls-ca", envDefault(c.tlsCA, "CKCTL_TLS_CA"), "PEM file of the roots that verify the brokers (default: the system's)")
	fs.StringVar(&c.tlsCert, "tls-cert", envDefault(c.tlsCert, "CKCTL_TLS_CERT"), "PEM file of the client certificate")
	fs.StringVar(&c.tlsKey, "tls-key", envDefault(c.tlsKey, "CKCTL_TLS_KEY"), "PEM file of the client certificate's key")
	fs.StringVar(&c.saslMechanism, "sasl-mechanism", envDefault(c.saslMechanism, "CKCTL_SASL_MECHANISM"), "PLAIN, SCRAM-SHA-256 or SCRAM-SHA-512")
	fs.StringVar(&c.saslUser, "sasl-user", envDefault(c.saslUser, "CKCTL_SASL_USER"), "SASL user name")
	fs.StringVar(&c.saslPassword, "sasl-password", envDefault(c.saslPassword, "CKCTL_SASL_PASSWORD"), "SASL password")
}

func envDefault(cur, name string) string {
	if cur != "" {
		return cur
	}
	return os.Getenv(name)
}

// opts are the client options the flags ask for.
func (c *connFlags) opts() ([]kgo.Opt, error) {
	var opts []kgo.Opt
	cfg, err := c.tlsConfig()
	if err != nil {
		return nil, err
	}
	if cfg != nil {
		// kgo sets ServerName to each broker's host when it is empty.
		opts = append(opts, kgo.DialTLSConfig(cfg))
	}
	mech, err := c.sasl()
	if err != nil {
		return nil, err
	}
	if mech != nil {
		opts = append(opts, kgo.SASL(mech))
	}
	return opts, nil
}

// tlsConfig is the TLS configuration, or nil without TLS.
func (c *connFlags) tlsConfig() (*tls.Config, error) {
	if !c.tls && c.tlsCA == "" && c.tlsCert == "" && c.tlsKey == "" {
		return nil, nil
	}
	if (c.tlsCert == "") != (c.tlsKey == "") {
		return nil, fmt.Errorf("%w: --tls-cert and --tls-key go together", errUsage)
	}
	cfg := &tls.Config{MinVersion: tls.VersionTLS12}
	if c.tlsCA != "" {
		pem, err := os.ReadFile(c.tlsCA)
		if err != nil {
			return nil, fmt.Errorf("reading the TLS roots: %w", err)
		}
		cfg.RootCAs = x509.NewCertPool()
		if !cfg.RootCAs.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("reading the TLS roots: no PEM certificate in %s", c.tlsCA)
		}
	}
	if c.tlsCert != "" {
		pair, err := tls.LoadX509KeyPair(c.tlsCert, c.tlsKey)
		if err != nil {
			return nil, fmt.Errorf("reading the client certificate: %w", err)
		}
		cfg.Certificates = []tls.Certificate{pair}
	}
	return cfg, nil
}

// sasl is the SASL mechanism, or nil without SASL.
func (c *connFlags) sasl() (sasl.Mechanism, error) {
	if c.saslMechanism == "" {
		if c.saslUser != "" {
			return nil, fmt.Errorf("%w: --sasl-user needs --sasl-mechanism", errUsage)
		}
		return nil, nil
	}
	if c.saslUser == "" {
		return nil, fmt.Errorf("%w: --sasl-mechanism needs --sasl-user", errUsage)
	}
	if c.saslPassword == "" {
		return nil, fmt.Errorf("%w: no SASL password: give --sasl-password or set $CKCTL_SASL_PASSWORD", errUsage)
	}
	switch strings.ToUpper(c.saslMechanism) {
	case "PLAIN":
		return plain.Auth{User: c.saslUser, Pass: c.saslPassword}.AsMechanism(), nil
	case "SCRAM-SHA-256":
		return scram.Auth{User: c.saslUser, Pass: c.saslPassword}.AsSha256Mechanism(), nil
	case "SCRAM-SHA-512":
		return scram.Auth{User: c.saslUser, Pass: c.saslPassword}.AsSha512Mechanism(), nil
	}
	return nil, fmt.Errorf("%w: unknown SASL mechanism %q (PLAIN, SCRAM-SHA-256, SCRAM-SHA-512)", errUsage, c.saslMechanism)
}
