package realio

import (
	"bytes"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"time"

	"cloudkafka/console"
	"cloudkafka/core"
)

// newConsole builds the web console (package console) for the admin
// listener: its clients connect to one of the broker's own listeners
// (admin.console.listener, else the first SASL one, else the first),
// as the operators who log in there. nil, logged, when no listener
// suits it.
func (s *Server) newConsole(secure bool) *console.Console {
	ep, err := s.consoleListener()
	if err != nil {
		s.logf("admin.console: %v: no web console", err)
		return nil
	}
	addr := s.ListenerAddr(ep.Listener).(*net.TCPAddr)
	host := addr.IP
	if host.IsUnspecified() {
		host = net.IPv4(127, 0, 0, 1)
		if addr.IP.To4() == nil {
			host = net.IPv6loopback
		}
	}
	opts := console.Options{
		Broker:      net.JoinHostPort(host.String(), fmt.Sprint(addr.Port)),
		Secure:      secure,
		SessionsMax: s.cfg.Metrics.ConsoleSessionsMax,
		SessionIdle: time.Duration(s.cfg.Metrics.ConsoleSessionIdleMs) * time.Millisecond,
		Sample:      s.consoleSample,
		Logf:        s.logf,
	}
	if sl, ok := s.cfg.SASL[ep.Listener]; ok && core.ProtocolUsesSASL(ep.Protocol) {
		opts.Mechanisms = sl.Mechanisms
	}
	if core.ProtocolUsesTLS(ep.Protocol) {
		if opts.TLS, err = pinnedTLS(s.cfg.TLS[ep.Listener]); err != nil {
			s.logf("admin.console: listener %s: %v: no web console", ep.Listener, err)
			return nil
		}
	}
	return console.New(opts)
}

// consoleListener picks the listener the console's clients use.
func (s *Server) consoleListener() (core.Endpoint, error) {
	eps := s.cfg.Listeners
	usable := func(ep core.Endpoint) error {
		if t, ok := s.cfg.TLS[ep.Listener]; ok && core.ProtocolUsesTLS(ep.Protocol) && !core.ProtocolUsesSASL(ep.Protocol) && t.ClientAuth == core.ClientAuthRequired {
			return fmt.Errorf("listener %s requires client certificates, which operators in a browser do not present to the console", ep.Listener)
		}
		return nil
	}
	if name := s.cfg.Metrics.ConsoleListener; name != "" {
		for _, ep := range eps {
			if ep.Listener == name {
				return ep, usable(ep)
			}
		}
		return core.Endpoint{}, fmt.Errorf("admin.console.listener %s is not a listener", name)
	}
	for _, ep := range eps {
		if core.ProtocolUsesSASL(ep.Protocol) && usable(ep) == nil {
			return ep, nil
		}
	}
	for _, ep := range eps {
		if usable(ep) == nil {
			return ep, nil
		}
	}
	return core.Endpoint{}, errors.New("every listener requires client certificates")
}

// pinnedTLS is how the console dials its own broker's TLS listener: it
// accepts exactly the certificate that listener serves (the broker's own
// keystore), whatever names it carries.
func pinnedTLS(t core.TLSSettings) (*tls.Config, error) {
	own, err := serverTLS(t)
	if err != nil {
		return nil, err
	}
	leaf := own.Certificates[0].Certificate[0]
	return &tls.Config{
		InsecureSkipVerify: true, // replaced by the pin below
		VerifyConnection: func(cs tls.ConnectionState) error {
			if len(cs.PeerCertificates) == 0 || !bytes.Equal(cs.PeerCertificates[0].Raw, leaf) {
				return errors.New("the listener's certificate is not the broker's own")
			}
			return nil
		},
	}, nil
}

// consoleSample reads the counters the console charts, from a snapshot
// of the core.
func (s *Server) consoleSample() (console.Sample, error) {
	snap, err := s.snapshot()
	if err != nil {
		return console.Sample{}, err
	}
	smp := console.Sample{Topics: map[string]console.TopicCounters{}, Lag: map[string]int64{}}
	for _, t := range snap.stats.Topics {
		smp.Topics[t.Topic] = console.TopicCounters{BytesIn: t.BytesIn, BytesOut: t.BytesOut, MessagesIn: t.MessagesIn}
	}
	for _, l := range snap.stats.Lag {
		smp.Lag[l.Group] += l.Lag
	}
	return smp, nil
}
