package main

// A pass-through TCP proxy in front of the broker that notes the request
// versions a client sends and can play an old broker's ApiVersions answer.
//
// librdkafka asks for ApiVersions whenever broker.version.fallback is
// 0.10.0 or later, whatever api.version.request says, and then speaks the
// newest versions both sides know. To make kcat speak Kafka 0.10.0's
// requests (Produce v2 with magic 1, Fetch v2, ...), the proxy answers its
// ApiVersions requests itself with Kafka 0.10.0's table; every other byte
// goes to the broker and back unchanged. The broker advertises the proxy
// (advertised.listeners), so that every connection a client opens goes
// through it.

import (
	"bufio"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
	"sort"
	"strings"
	"sync"
	"testing"

	"github.com/twmb/franz-go/pkg/kmsg"
	"github.com/twmb/franz-go/pkg/kversion"
)

// versionProxy forwards connections to upstream. For clients whose client
// id starts with prefix, it records the highest version of every request
// key, and if answer is set, it answers their ApiVersions requests with
// answer's table instead of forwarding them.
type versionProxy struct {
	t        *testing.T
	ln       net.Listener
	addr     string
	upstream string // guarded by mu; set with setUpstream before clients connect
	prefix   string
	answer   *kversion.Versions

	mu       sync.Mutex
	seen     map[string]map[int16]int16 // client id → key → highest version
	answered int                        // ApiVersions requests the proxy answered
	errs     []string
	wg       sync.WaitGroup
	conns    map[net.Conn]bool
	closed   bool
}

// startVersionProxy listens on a free loopback port; the proxy stops when
// the test ends.
func startVersionProxy(t *testing.T, prefix string, answer *kversion.Versions) *versionProxy {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("proxy: listening: %v", err)
	}
	p := &versionProxy{t: t, ln: ln, addr: ln.Addr().String(), prefix: prefix, answer: answer,
		seen: map[string]map[int16]int16{}, conns: map[net.Conn]bool{}}
	p.wg.Add(1)
	go p.accept()
	t.Cleanup(p.close)
	return p
}

func (p *versionProxy) accept() {
	defer p.wg.Done()
	for {
		c, err := p.ln.Accept()
		if err != nil {
			return
		}
		if !p.track(c) {
			c.Close()
			return
		}
		p.wg.Add(1)
		go p.serve(c)
	}
}

// track remembers an open connection so that close can end it.
func (p *versionProxy) track(c net.Conn) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.closed {
		return false
	}
	p.conns[c] = true
	return true
}

func (p *versionProxy) untrack(c net.Conn) {
	p.mu.Lock()
	defer p.mu.Unlock()
	delete(p.conns, c)
	c.Close()
}

func (p *versionProxy) fail(format string, args ...any) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.errs = append(p.errs, fmt.Sprintf(format, args...))
}

// serve relays one client connection: requests one by one (parsing each
// header), responses as a byte stream.
func (p *versionProxy) serve(client net.Conn) {
	defer p.wg.Done()
	defer p.untrack(client)
	in := bufio.NewReader(client)
	var server net.Conn
	var toClient sync.Mutex // the relay goroutine and ApiVersions answers both write to the client
	for {
		frame, err := readFrame(in)
		if err != nil {
			var bad badFrame
			if errors.As(err, &bad) {
				p.fail("reading a request: %v", err)
			}
			return // the client hung up, or the proxy closed
		}
		key, version, corr, clientID, ok := requestHeader(frame)
		if !ok {
			p.fail("a request too short for its header (%d bytes)", len(frame))
			return
		}
		if strings.HasPrefix(clientID, p.prefix) {
			p.note(clientID, key, version)
			if key == 18 && p.answer != nil {
				toClient.Lock()
				_, err := client.Write(p.apiVersionsAnswer(version, corr))
				toClient.Unlock()
				if err != nil {
					return
				}
				continue
			}
		}
		if server == nil {
			p.mu.Lock()
			upstream := p.upstream
			p.mu.Unlock()
			if server, err = net.Dial("tcp", upstream); err != nil {
				p.fail("dialing the broker %s: %v", upstream, err)
				return
			}
			if !p.track(server) {
				server.Close()
				return
			}
			defer p.untrack(server)
			p.wg.Add(1)
			go func(server net.Conn) {
				defer p.wg.Done()
				buf := make([]byte, 64<<10)
				for {
					n, err := server.Read(buf)
					if n > 0 {
						toClient.Lock()
						_, werr := client.Write(buf[:n])
						toClient.Unlock()
						if werr != nil {
							return
						}
					}
					if err != nil {
						client.Close() // the broker hung up: so does the proxy
						return
					}
				}
			}(server)
		}
		if _, err := server.Write(frame); err != nil {
			return
		}
	}
}

// readFrame reads one size-prefixed request, prefix included.
func readFrame(r *bufio.Reader) ([]byte, error) {
	var size [4]byte
	if _, err := io.ReadFull(r, size[:]); err != nil {
		return nil, err
	}
	n := int32(binary.BigEndian.Uint32(size[:]))
	if n < 0 || n > 200<<20 {
		return nil, badFrame{n}
	}
	frame := make([]byte, 4+int(n))
	copy(frame, size[:])
	if _, err := io.ReadFull(r, frame[4:]); err != nil {
		return nil, err
	}
	return frame, nil
}

// badFrame is a request size no client sends.
type badFrame struct{ size int32 }

func (e badFrame) Error() string { return fmt.Sprintf("request size %d", e.size) }

// requestHeader reads a request's key, version, correlation id and client
// id (request headers v1 and v2 agree up to there).
func requestHeader(frame []byte) (key, version int16, corr int32, clientID string, ok bool) {
	b := frame[4:]
	if len(b) < 10 {
		return 0, 0, 0, "", false
	}
	key = int16(binary.BigEndian.Uint16(b[0:2]))
	version = int16(binary.BigEndian.Uint16(b[2:4]))
	corr = int32(binary.BigEndian.Uint32(b[4:8]))
	n := int(int16(binary.BigEndian.Uint16(b[8:10])))
	if n > 0 && len(b) >= 10+n {
		clientID = string(b[10 : 10+n])
	}
	return key, version, corr, clientID, true
}

func (p *versionProxy) note(clientID string, key, version int16) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.seen[clientID] == nil {
		p.seen[clientID] = map[int16]int16{}
	}
	if v, ok := p.seen[clientID][key]; !ok || version > v {
		p.seen[clientID][key] = version
	}
}

// apiVersionsAnswer is an ApiVersions response in the request's version
// (at most 3) listing answer's keys, each from version 0.
func (p *versionProxy) apiVersionsAnswer(version int16, corr int32) []byte {
	p.mu.Lock()
	p.answered++
	p.mu.Unlock()
	resp := kmsg.NewPtrApiVersionsResponse()
	resp.Version = min(version, 3)
	p.answer.EachMaxKeyVersion(func(k, v int16) {
		ak := kmsg.NewApiVersionsResponseApiKey()
		ak.ApiKey, ak.MinVersion, ak.MaxVersion = k, 0, v
		resp.ApiKeys = append(resp.ApiKeys, ak)
	})
	body := resp.AppendTo(binary.BigEndian.AppendUint32(nil, uint32(corr)))
	return append(binary.BigEndian.AppendUint32(nil, uint32(len(body))), body...)
}

// versions returns the highest version of each request key that clients
// with the prefix sent, over all of them, and the ApiVersions requests the
// proxy answered.
func (p *versionProxy) versions() (map[int16]int16, int) {
	p.mu.Lock()
	defer p.mu.Unlock()
	out := map[int16]int16{}
	for _, byKey := range p.seen {
		for k, v := range byKey {
			if cur, ok := out[k]; !ok || v > cur {
				out[k] = v
			}
		}
	}
	return out, p.answered
}

func (p *versionProxy) setUpstream(addr string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.upstream = addr
}

// reset forgets what the proxy noted so far.
func (p *versionProxy) reset() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.seen = map[string]map[int16]int16{}
	p.answered = 0
}

func (p *versionProxy) close() {
	p.mu.Lock()
	p.closed = true
	p.ln.Close()
	for c := range p.conns {
		c.Close()
	}
	errs := p.errs
	p.mu.Unlock()
	p.wg.Wait()
	for _, e := range errs {
		p.t.Errorf("proxy: %s", e)
	}
}

// checkVersionsWithin checks that every request key the proxy saw is in
// pin, at or below pin's version, and that each key of must was sent at
// exactly the given version.
func checkVersionsWithin(t *testing.T, what string, got map[int16]int16, pin *kversion.Versions, must map[int16]int16) {
	t.Helper()
	var keys []int
	for k := range got {
		keys = append(keys, int(k))
	}
	sort.Ints(keys)
	var sent []string
	for _, k := range keys {
		sent = append(sent, fmt.Sprintf("%s v%d", kmsg.NameForKey(int16(k)), got[int16(k)]))
	}
	t.Logf("%s sent: %s", what, strings.Join(sent, ", "))
	for _, k := range keys {
		v := got[int16(k)]
		max, ok := pin.LookupMaxKeyVersion(int16(k))
		if !ok || v > max {
			t.Errorf("%s: sent %s v%d; want only requests of %s (max v%d) (all sent: %s)", what, kmsg.NameForKey(int16(k)), v, pin.VersionGuess(), max, strings.Join(sent, ", "))
		}
	}
	for k, v := range must {
		if gv, ok := got[k]; !ok || gv != v {
			t.Errorf("%s: sent %s at v%d (present: %v); want v%d (all sent: %s)", what, kmsg.NameForKey(k), gv, ok, v, strings.Join(sent, ", "))
		}
	}
	if len(keys) == 0 {
		t.Errorf("%s: the proxy saw no request", what)
	}
}
