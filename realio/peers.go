package realio

import (
	"crypto/tls"
	"encoding/binary"
	"fmt"
	"io"
	"net"
	"strconv"
	"sync"
	"time"

	"github.com/twmb/franz-go/pkg/kmsg"

	"cloudkafka/core"
	kio "cloudkafka/io"
)

// The peer transport carries the controller's requests to other brokers
// (and a stopping broker's ControlledShutdown to the controller):
// one connection and one goroutine per destination broker, requests sent
// one at a time and in order, each answered by a PeerResponse on the
// event loop. A failed connection fails the request in flight (the core
// sends it again); the next request dials anew.

// peerTimeout bounds a dial and a request's round trip.
const peerTimeout = 30 * time.Second

type peers struct {
	s     *Server
	mu    sync.Mutex
	links map[core.BrokerID]*peerLink
}

type peerLink struct {
	queue chan core.PeerSend
}

// Send implements driver.Transport; it runs on the loop goroutine.
func (s *Server) Send(ps core.PeerSend) {
	p := &s.peers
	p.mu.Lock()
	if p.links == nil {
		p.links = map[core.BrokerID]*peerLink{}
	}
	l := p.links[ps.Broker]
	if l == nil {
		l = &peerLink{queue: make(chan core.PeerSend, 1024)}
		p.links[ps.Broker] = l
		go s.runPeer(l)
	}
	p.mu.Unlock()
	select {
	case l.queue <- ps:
	default: // the core sends one request at a time per broker: never full
		go s.send(core.PeerResponse{Token: ps.Token, Err: fmt.Errorf("peer queue to broker %d full", ps.Broker)})
	}
}

// runPeer sends one destination's requests in order.
func (s *Server) runPeer(l *peerLink) {
	var nc net.Conn
	var addr string
	var corr int32
	defer func() {
		if nc != nil {
			nc.Close()
		}
	}()
	for {
		var ps core.PeerSend
		select {
		case ps = <-l.queue:
		case <-s.quit:
			return
		}
		target := net.JoinHostPort(ps.Host, strconv.Itoa(int(ps.Port)))
		if nc != nil && addr != target {
			nc.Close()
			nc = nil
		}
		if nc == nil {
			c, err := s.dialPeer(ps, target)
			if err != nil {
				if !s.send(core.PeerResponse{Token: ps.Token, Err: err}) {
					return
				}
				continue
			}
			nc, addr = c, target
		}
		corr++
		clientID := fmt.Sprintf("controller-%d-to-broker-%d", s.cfg.BrokerID, ps.Broker)
		if ps.Request.Key() == 7 {
			clientID = fmt.Sprintf("broker-%d-controlled-shutdown", s.cfg.BrokerID) // to the controller
		}
		resp, err := exchange(nc, corr, clientID, ps)
		if err != nil {
			nc.Close()
			nc = nil
		}
		if !s.send(core.PeerResponse{Token: ps.Token, Response: resp, Err: err}) {
			return
		}
	}
}

// dialPeer connects to another broker's endpoint on the inter-broker
// listener, with TLS when that listener's protocol uses it (the broker's
// own keystore as its client certificate).
func (s *Server) dialPeer(ps core.PeerSend, target string) (net.Conn, error) {
	if ps.Host == "" {
		return nil, fmt.Errorf("broker %d has no endpoint on listener %s", ps.Broker, ps.Listener)
	}
	d := &net.Dialer{Timeout: peerTimeout}
	var c net.Conn
	var err error
	if s.peerTLS == nil || ps.Listener != s.cfg.InterBrokerListener {
		c, err = d.Dial("tcp", target)
	} else if c, err = tls.DialWithDialer(d, "tcp", target, s.peerTLS); err != nil {
		return nil, fmt.Errorf("TLS to broker %d at %s (listener %s): %w", ps.Broker, target, ps.Listener, err)
	}
	if err != nil {
		return nil, err
	}
	if _, ok := s.cfg.SASL[ps.Listener]; ok && ps.Listener == s.cfg.InterBrokerListener {
		if err := s.peerSASL(c); err != nil {
			c.Close()
			return nil, fmt.Errorf("SASL to broker %d at %s (listener %s): %w", ps.Broker, target, ps.Listener, err)
		}
	}
	return c, nil
}

// exchange writes one request and reads its response.
func exchange(nc net.Conn, corr int32, clientID string, ps core.PeerSend) (kmsg.Response, error) {
	return roundTrip(nc, corr, clientID, ps.Request)
}

// roundTrip writes one request and reads its response.
func roundTrip(nc net.Conn, corr int32, clientID string, req kmsg.Request) (kmsg.Response, error) {
	nc.SetDeadline(time.Now().Add(peerTimeout))
	if _, err := nc.Write(kio.AppendRequest(nil, corr, clientID, req)); err != nil {
		return nil, err
	}
	var size [4]byte
	if _, err := io.ReadFull(nc, size[:]); err != nil {
		return nil, err
	}
	n := binary.BigEndian.Uint32(size[:])
	if n < 4 || n > 64<<20 {
		return nil, fmt.Errorf("response of %d bytes", n)
	}
	frame := make([]byte, 4+n)
	copy(frame, size[:])
	if _, err := io.ReadFull(nc, frame[4:]); err != nil {
		return nil, err
	}
	if got := int32(binary.BigEndian.Uint32(frame[4:])); got != corr {
		return nil, fmt.Errorf("response correlation id %d, want %d", got, corr)
	}
	return kio.DecodeResponse(req, frame)
}
