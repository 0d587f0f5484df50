package realio

import (
	"bufio"
	"context"
	cryptorand "crypto/rand"
	"crypto/tls"
	"encoding/binary"
	"errors"
	"fmt"
	stdio "io"
	"math"
	"net"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/twmb/franz-go/pkg/kmsg"

	"cloudkafka/core"
	kio "cloudkafka/io"
	"cloudkafka/io/driver"
)

// Server is the production runtime of one broker: a TCP listener whose
// connection goroutines decode frames and feed one event loop, which alone
// drives the broker core through the driver.
//
//	conn reader ──Request──▶ events ──▶ loop: driver.Handle ──▶ Transport
//	ticker ──────Tick──────▶   chan        ▲                      │
//	conn writer ◀── responses, in request order ◀─────────────────┘
//	IO workers ─────Finished──────────────┘
//
// Storage work (appends, fsyncs, reads, cleaning) runs on num.io.threads
// IO workers, one partition's work at a time on one of them, so an fsync
// or a cold read of one partition never stalls the loop or the others.
type Server struct {
	cfg       core.Config
	listeners []*listener // one per configured listener, in order
	peerTLS   *tls.Config // dialing other brokers on a TLS inter-broker listener; nil: plaintext
	driver    *driver.Driver
	logf      func(string, ...any)

	events chan core.Event
	quit   chan struct{}
	done   chan struct{}
	peers  peers // connections to the other brokers, for the controller's requests

	// IO work (io.go) runs on the IO workers and posts its outcome to
	// finished; bg counts the workers.
	finished chan driver.Finished
	bg       sync.WaitGroup
	io       ioQueue
	frames   framePool // response frames, recycled by the writers
	// budget bounds the request bytes read and not yet answered
	// (queued.max.request.bytes).
	budget *requestBudget
	// afterBackground, when set, sees the outcome of IO work on its
	// worker before the loop does (tests hold a clean with it).
	afterBackground atomic.Pointer[func(driver.Finished)]

	mu     sync.Mutex
	conns  map[core.ConnID]*conn
	nextID atomic.Uint64
	wg     sync.WaitGroup

	// zk is the ZooKeeper session when zookeeper.connect is set; its
	// operations run in order on coordQueue's worker goroutine.
	zk         *ZooKeeper
	coordMu    sync.Mutex
	coordCond  *sync.Cond
	coordQueue []core.CoordOp
	coordStop  bool
	coordDone  chan struct{}
	// lifecycle receives the broker's first registration or fatal
	// condition, which Start waits for; started says Start has it.
	lifecycle chan core.Lifecycle
	started   atomic.Bool
	// fatal receives a fatal condition reported after the start.
	fatal chan string
	// readyToStop is closed when the core, asked to stop, reports it may
	// (its controlled shutdown done); readyClosed, on the loop
	// goroutine, guards the close.
	readyToStop chan struct{}
	readyClosed bool

	// admin is the HTTP admin listener (admin.go), nil without one;
	// reqMetrics the metrics only the runtime sees (metrics.go).
	// snapshots carries the admin handlers' requests for a snapshot to
	// the loop, which answers on the channel sent; looping says the loop
	// runs. lastSizes, touched by the loop alone, keeps each log's last
	// size for a scrape during its background clean.
	admin      *adminServer
	reqMetrics *requestMetrics
	snapshots  chan chan snapshot
	looping    atomic.Bool
	lastSizes  map[core.TopicPartition]logSize
}

// listener is one of the broker's listeners: its accept loop, and for a
// TLS one the server configuration and the principal mapping rules.
type listener struct {
	ep     core.Endpoint
	ln     net.Listener
	tls    *tls.Config // nil: PLAINTEXT
	mapper *core.PrincipalMapper
	sasl   bool // SASL_PLAINTEXT or SASL_SSL: the core authenticates
}

// TickInterval is how often the loop tells the core the time; it bounds
// how late a long-poll fetch or a timed flush can be.
const TickInterval = 10 * time.Millisecond

// Start recovers the log directory, opens the listener and serves.
func Start(cfg core.Config, logf func(string, ...any)) (*Server, error) {
	s := &Server{cfg: cfg, logf: logf, events: make(chan core.Event, 1024),
		quit: make(chan struct{}), done: make(chan struct{}), conns: map[core.ConnID]*conn{},
		finished: make(chan driver.Finished), lifecycle: make(chan core.Lifecycle, 1), fatal: make(chan string, 1),
		readyToStop: make(chan struct{}), reqMetrics: newRequestMetrics(), snapshots: make(chan chan snapshot),
		budget: newRequestBudget(cfg.QueuedMaxRequestBytes), frames: framePool{max: cfg.BufferPoolMaxBytes}}
	fs := OSFS{}
	dir := cfg.LogDirs[0]
	if err := fs.MkdirAll(dir); err != nil {
		return nil, fmt.Errorf("create log.dirs %s: %w", dir, err)
	}
	if err := s.listen(&cfg); err != nil {
		s.closeListeners()
		return nil, err
	}
	s.cfg = cfg
	var adminTLS *tls.Config
	if t := cfg.Metrics.AdminTLS; t != nil {
		var err error
		if adminTLS, err = serverTLS(*t); err != nil {
			s.closeListeners()
			return nil, fmt.Errorf("admin.listener: %w", err)
		}
	}
	if err := s.listenAdmin(adminTLS); err != nil {
		s.closeListeners()
		return nil, err
	}
	var coord kio.Coordinator
	var err error
	if cfg.ZookeeperConnect != "" {
		s.zk = s.dialZooKeeper()
		coord = s.zk
	} else if coord, err = kio.OpenFileCoordinatorWith(fs, dir, kio.FileCoordinatorOptions{Logf: logf}); err != nil {
		s.closeListeners()
		return nil, err
	}
	if s.driver, err = driver.Open(cfg, fs, dir, coord, s, logf); err != nil {
		s.closeListeners()
		s.closeZooKeeper()
		return nil, err
	}
	s.startIO(max(cfg.IOThreads, 1))
	s.driver.IO = s.io.push
	s.driver.Buffers = &s.frames
	cryptorand.Read(s.driver.Nonce[:]) // never fails (crypto/rand.Read)
	s.driver.Responded = s.reqMetrics.responded
	s.driver.RequestCost = func(_ core.Request, step func()) int64 {
		start := time.Now()
		step()
		return time.Since(start).Nanoseconds()
	}
	if s.zk != nil {
		s.coordCond = sync.NewCond(&s.coordMu)
		s.coordDone = make(chan struct{})
		s.driver.Coordinate = s.coordinate
		go s.coordWorker()
	}
	go s.loop()
	// Connections are taken once the broker registered, as in Kafka (the
	// controller's requests come over them); clients' requests wait in
	// the core until the controller's metadata arrived.
	l := <-s.lifecycle
	s.started.Store(true)
	if l.Fatal != "" {
		s.closeListeners()
		close(s.quit)
		<-s.done
		s.io.stop()
		s.bg.Wait()
		s.stopCoordinator()
		s.driver.Close()
		return nil, fmt.Errorf("broker %d: %s", cfg.BrokerID, l.Fatal)
	}
	var on []string
	for _, l := range s.listeners {
		on = append(on, l.ep.Listener+" "+l.ln.Addr().String())
	}
	logf("cluster %s: broker %d registered, listening on %s, log dir %s", s.driver.Broker().ClusterID(), cfg.BrokerID, strings.Join(on, ", "), dir)
	for _, l := range s.listeners {
		s.wg.Add(1)
		go s.accept(l)
	}
	return s, nil
}

// listen opens every listener (with its TLS configuration) and the
// inter-broker client's TLS configuration, and fills in the advertised
// port of a listener that asked for any free one.
func (s *Server) listen(cfg *core.Config) error {
	if err := cfg.SASLServeError(); err != nil {
		return err
	}
	for _, ep := range cfg.Listeners {
		l := &listener{ep: ep}
		if sl, ok := cfg.SASL[ep.Listener]; ok {
			l.sasl = true
			s.logf("listener %s (%s): SASL mechanisms %s", ep.Listener, ep.Protocol, strings.Join(sl.Mechanisms, ", "))
			if len(sl.NotServed) > 0 {
				s.logf("listener %s: enabled SASL mechanisms not served here: %s (clients asking for them get UNSUPPORTED_SASL_MECHANISM)", ep.Listener, strings.Join(sl.NotServed, ", "))
			}
		}
		if t, ok := cfg.TLS[ep.Listener]; ok {
			var err error
			if l.tls, err = serverTLS(t); err != nil {
				return fmt.Errorf("listener %s: %w", ep.Listener, err)
			}
			l.mapper = t.Principal
		}
		addr := net.JoinHostPort(ep.Host, fmt.Sprint(ep.Port))
		ln, err := net.Listen("tcp", addr)
		if err != nil {
			return fmt.Errorf("listener %s: listen on %s: %w", ep.Listener, addr, err)
		}
		l.ln = ln
		s.listeners = append(s.listeners, l)
		for i, a := range cfg.AdvertisedListeners {
			if a.Listener == ep.Listener && a.Port == 0 {
				cfg.AdvertisedListeners[i].Port = int32(ln.Addr().(*net.TCPAddr).Port) // any free port
			}
		}
	}
	if t, ok := cfg.TLS[cfg.InterBrokerListener]; ok {
		var err error
		if s.peerTLS, err = clientTLS(t); err != nil {
			return fmt.Errorf("inter-broker listener %s: %w", cfg.InterBrokerListener, err)
		}
	}
	return nil
}

func (s *Server) closeListeners() {
	for _, l := range s.listeners {
		l.ln.Close()
	}
	s.closeAdmin()
}

// dialZooKeeper connects to zookeeper.connect, retrying (and logging
// each failure) until a session is established.
func (s *Server) dialZooKeeper() *ZooKeeper {
	cfg := ZooKeeperConfig{Connect: s.cfg.ZookeeperConnect,
		SessionTimeout:    time.Duration(s.cfg.ZookeeperSessionMs) * time.Millisecond,
		ConnectionTimeout: time.Duration(s.cfg.ZookeeperConnectionMs) * time.Millisecond,
		OnExpired: func() {
			s.logf("zookeeper: session expired: registering %s again on a new session", core.BrokerPath(s.cfg.BrokerID))
		},
		OnWatch: func(path string, typ core.CoordWatchType) {
			go s.send(core.CoordWatchFired{Path: path, Type: typ}) // the callback must not block
		},
		OnNewSession: func(id int64) {
			s.logf("zookeeper: new session 0x%x", id)
			go s.send(core.CoordNewSession{Session: id}) // the callback must not block
		}}
	for {
		z, err := DialZooKeeper(cfg, nil)
		if err == nil {
			s.logf("zookeeper: connected to %s (session 0x%x)", cfg.Connect, z.SessionID())
			return z
		}
		s.logf("%v; retrying", err)
		time.Sleep(time.Second)
	}
}

// coordinate queues a coordination operation for the worker; it runs on
// the loop goroutine and never blocks on ZooKeeper.
func (s *Server) coordinate(op core.CoordOp) {
	s.coordMu.Lock()
	s.coordQueue = append(s.coordQueue, op)
	s.coordCond.Signal()
	s.coordMu.Unlock()
}

// coordWorker performs the queued operations in order and posts each
// result to the loop.
func (s *Server) coordWorker() {
	defer close(s.coordDone)
	for {
		s.coordMu.Lock()
		for len(s.coordQueue) == 0 && !s.coordStop {
			s.coordCond.Wait()
		}
		if s.coordStop {
			s.coordMu.Unlock()
			return
		}
		op := s.coordQueue[0]
		s.coordQueue = s.coordQueue[1:]
		s.coordMu.Unlock()
		if !s.send(s.zk.Apply(op)) {
			return
		}
	}
}

// stopCoordinator ends the ZooKeeper session (failing an operation in
// flight) and stops the worker.
func (s *Server) stopCoordinator() {
	s.closeZooKeeper()
	if s.coordCond != nil {
		s.coordMu.Lock()
		s.coordStop = true
		s.coordCond.Broadcast()
		s.coordMu.Unlock()
		<-s.coordDone
	}
}

func (s *Server) closeZooKeeper() {
	if s.zk != nil {
		s.zk.Close()
	}
}

// Lifecycle implements driver.Transport; it runs on the loop goroutine.
func (s *Server) Lifecycle(l core.Lifecycle) {
	if l.Leading != (core.TopicPartition{}) || l.Warning != "" {
		return // the simulator checks leaderships; the driver logged the warning
	}
	if l.Elected {
		s.logf("broker %d is the controller (controller epoch %d)", s.cfg.BrokerID, l.ControllerEpoch)
		return
	}
	if l.Ready {
		s.logf("broker %d has the controller's metadata: serving clients", s.cfg.BrokerID)
		return
	}
	if u := l.UncleanElection; u != nil {
		s.logf("controller: unclean leader election: %s-%d led by broker %d at leader epoch %d, outside its ISR %v "+
			"(unclean.leader.election.enable): records only the ISR had may be lost", u.Partition.Topic, u.Partition.Partition, u.Leader, u.LeaderEpoch, u.ISR)
		return
	}
	if a := l.ShutdownAccepted; a != nil {
		s.logf("controller: broker %d is shutting down: controlled shutdown accepted, %d partitions left to move", a.Broker, a.Remaining)
		return
	}
	if r := l.Shutdown; r != nil {
		s.logShutdown(*r)
		if r.Done && !s.readyClosed {
			s.readyClosed = true
			close(s.readyToStop)
		}
		return
	}
	if !s.started.Load() {
		select {
		case s.lifecycle <- l:
			return
		default:
		}
	}
	switch { // after the start
	case l.Fatal != "":
		select {
		case s.fatal <- l.Fatal:
		default: // one is reported already
		}
	case l.Registered:
		s.logf("broker %d registered again at %s", s.cfg.BrokerID, core.BrokerPath(s.cfg.BrokerID))
	}
}

// Fatal delivers a condition, reported after the start, that must stop
// the broker (its id registered by another broker while its own session
// had expired).
func (s *Server) Fatal() <-chan string { return s.fatal }

// Addr is the first listener's address.
func (s *Server) Addr() net.Addr { return s.listeners[0].ln.Addr() }

// ListenerAddr is the address of the listener named name, or nil.
func (s *Server) ListenerAddr(name string) net.Addr {
	for _, l := range s.listeners {
		if l.ep.Listener == name {
			return l.ln.Addr()
		}
	}
	return nil
}

// logShutdown reports how the broker's controlled shutdown goes.
func (s *Server) logShutdown(r core.ShutdownReport) {
	switch {
	case !r.Done:
		s.logf("controlled shutdown attempt %d of %d failed: %s; retrying in %d ms", r.Attempt, r.Attempts, r.Failure, r.RetryMs)
	case r.Succeeded:
		s.logf("controlled shutdown succeeded (attempt %d of %d)", r.Attempt, r.Attempts)
	case r.Skipped != "":
		if s.zk != nil {
			s.logf("no controlled shutdown: %s", r.Skipped)
		}
	case r.Attempt == 0:
		s.logf("controlled shutdown failed after 0 attempts (controlled.shutdown.max.retries=%d), shutting down anyway", s.cfg.ControlledShutdown.MaxRetries)
	default:
		s.logf("controlled shutdown failed after %d attempts, shutting down anyway (last: %s)", r.Attempt, r.Failure)
	}
}

// ControlledShutdown asks the broker to prepare to stop, and waits until
// it has: in a cluster, until its controlled shutdown succeeded or its
// attempts ran out (see core/shutdown.go). The broker serves clients
// meanwhile. The wait is bounded by what the attempts can take
// (controlledShutdownWaitMax); past it, the broker stops anyway. Call it
// before Shutdown.
func (s *Server) ControlledShutdown() {
	if !s.send(core.ShutdownRequested{}) {
		return
	}
	bound := controlledShutdownWaitMax(s.cfg.ControlledShutdown)
	t := time.NewTimer(bound)
	defer t.Stop()
	select {
	case <-s.readyToStop:
	case <-t.C:
		s.logf("controlled shutdown: no outcome within %v; shutting down anyway", bound)
	}
}

// controlledShutdownWaitMax bounds a controlled shutdown: each attempt
// ends within a dial and a round trip to the controller (peerTimeout
// each), the backoff separates attempts, and a little is left for the
// loop itself.
func controlledShutdownWaitMax(cs core.ControlledShutdown) time.Duration {
	const margin = 5 * time.Second
	attempts := time.Duration(max(cs.MaxRetries, 0))
	backoff := time.Duration(min(cs.RetryBackoffMs, int64((math.MaxInt64-2*peerTimeout)/time.Millisecond))) * time.Millisecond
	per := 2*peerTimeout + backoff
	if attempts > 0 && per > (math.MaxInt64-margin)/attempts {
		return math.MaxInt64
	}
	return attempts*per + margin
}

// Shutdown stops accepting, closes connections, stops the loop, and syncs
// and closes every log.
func (s *Server) Shutdown() error {
	s.closeListeners()
	s.mu.Lock()
	for _, c := range s.conns {
		c.closeAfter(0, "broker shutting down")
		c.nc.Close()
	}
	s.mu.Unlock()
	s.budget.stop()
	s.wg.Wait()
	close(s.quit)
	<-s.done
	s.io.stop()
	s.bg.Wait()
	s.settleIO()
	s.stopCoordinator()
	return s.driver.Close()
}

func (s *Server) loop() {
	defer close(s.done)
	s.looping.Store(true)
	t := time.NewTicker(TickInterval)
	defer t.Stop()
	start := time.Now()
	last := start
	tick := func(now time.Time) {
		last = now
		// time.Since reads the monotonic clock: the leadership lease
		// runs on it (core/lease.go).
		s.driver.Handle(core.Tick{Now: core.Instant(now.UnixNano()), Mono: core.Instant(now.Sub(start)) + 1})
	}
	tick(start)
	for {
		select {
		case ev := <-s.events:
			// After a stall (a stopped process, an overloaded machine)
			// the core learns the time before it answers anything.
			if now := time.Now(); now.Sub(last) >= TickInterval {
				tick(now)
			}
			if _, ok := ev.(core.Request); ok {
				s.reqMetrics.queued.Add(-1)
			}
			s.driver.Handle(ev)
		case reply := <-s.snapshots:
			reply <- s.takeSnapshot()
		case f := <-s.finished:
			s.driver.Finish(f)
		case now := <-t.C:
			tick(now)
		case <-s.quit:
			return
		}
	}
}

func (s *Server) accept(l *listener) {
	defer s.wg.Done()
	for {
		nc, err := l.ln.Accept()
		if err != nil {
			return
		}
		c := &conn{s: s, id: core.ConnID(s.nextID.Add(1)), nc: nc, pending: map[uint64]kio.Frame{},
			slots: make(chan struct{}, s.cfg.QueuedMaxRequests), listener: l, principal: core.PrincipalAnonymous}
		if l.tls != nil {
			c.nc = tls.Server(nc, l.tls)
		}
		c.cond = sync.NewCond(&c.mu)
		c.host = "/" + nc.RemoteAddr().String()
		if host, _, err := net.SplitHostPort(nc.RemoteAddr().String()); err == nil {
			c.host = "/" + host
		}
		s.mu.Lock()
		s.conns[c.id] = c
		s.mu.Unlock()
		s.wg.Add(2)
		go c.read()
		go c.write()
	}
}

// send hands an event to the loop unless the server is stopping.
func (s *Server) send(ev core.Event) bool {
	select {
	case s.events <- ev:
		return true
	case <-s.quit:
		return false
	}
}

// Respond implements driver.Transport; it runs on the loop goroutine.
func (s *Server) Respond(id core.ConnID, seq uint64, frame kio.Frame) {
	s.mu.Lock()
	c := s.conns[id]
	s.mu.Unlock()
	if c != nil {
		c.deliver(seq, frame)
	}
}

// Authenticated implements driver.Transport; it runs on the loop
// goroutine.
func (s *Server) Authenticated(a core.Authenticated) {
	s.mu.Lock()
	c := s.conns[a.Conn]
	s.mu.Unlock()
	if c != nil {
		c.authenticated.Store(true)
	}
}

// throttle is a response's throttle (driver.Transport.Throttle).
type throttle struct {
	d    time.Duration
	hold bool
}

// Throttle implements driver.Transport; it runs on the loop goroutine.
func (s *Server) Throttle(id core.ConnID, seq uint64, ms int32, hold bool) {
	s.mu.Lock()
	c := s.conns[id]
	s.mu.Unlock()
	if c != nil {
		c.mu.Lock()
		if c.throttles == nil {
			c.throttles = map[uint64]throttle{}
		}
		t := c.throttles[seq] // a request may earn two (bytes, time): the longer holds
		c.throttles[seq] = throttle{d: max(t.d, time.Duration(ms)*time.Millisecond), hold: t.hold || hold}
		c.mu.Unlock()
	}
}

// mute holds back the connection's requests until d from now.
func (c *conn) mute(d time.Duration) {
	until := time.Now().Add(d).UnixNano()
	for {
		old := c.muteUntil.Load()
		if old >= until || c.muteUntil.CompareAndSwap(old, until) {
			return
		}
	}
}

// waitUnmuted waits while the connection is throttled; false: the server
// is stopping.
func (c *conn) waitUnmuted() bool {
	d := time.Until(time.Unix(0, c.muteUntil.Load()))
	if d <= 0 {
		return true
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-c.s.quit:
		return false
	}
}

// Close implements driver.Transport.
func (s *Server) Close(id core.ConnID, seq uint64, reason string) {
	s.mu.Lock()
	c := s.conns[id]
	s.mu.Unlock()
	if c != nil {
		c.closeAfter(seq, reason)
	}
}

// conn is one client connection. Requests are numbered as they are read;
// responses are written strictly in that order. At most
// queued.max.requests requests of one connection are in flight: the reader
// stops reading until the writer catches up.
type conn struct {
	s     *Server
	id    core.ConnID
	nc    net.Conn
	host  string // the client's address as Kafka shows it: "/" and the IP
	slots chan struct{}
	// listener is the one the connection came in on; principal is who
	// it authenticated as (set before the first request is read).
	listener  *listener
	principal string
	// authenticated is set once a SASL connection authenticated (the
	// core's Authenticated effect): until then frames are bounded by
	// sasl.server.max.receive.size, and after a SaslHandshake v0 they
	// are bare tokens.
	authenticated atomic.Bool

	// muteUntil, in Unix nanoseconds, holds back the next request while
	// the client is throttled (a quota): the reader hands no request to
	// the broker before it.
	muteUntil atomic.Int64

	mu        sync.Mutex
	cond      *sync.Cond
	throttles map[uint64]throttle  // the throttles of responses not yet written
	arrivals  map[uint64]arrival   // the requests handed to the broker and not yet answered
	torn      bool                 // the writer tore the connection down: arrivals are released
	pending   map[uint64]kio.Frame // completed responses not yet written (no parts = none)
	done      map[uint64]bool      // which seqs have completed
	next      uint64               // next seq to write
	closeAt   uint64               // when closing: close once every seq below it is written
	closing   bool
	reason    string
	finished  bool
}

func (c *conn) read() {
	defer c.s.wg.Done()
	defer func() {
		c.mu.Lock()
		c.finished = true
		c.cond.Broadcast()
		c.mu.Unlock()
	}()
	if c.listener.tls != nil && !c.handshake() {
		c.closeAfter(0, "TLS handshake failed")
		return
	}
	r := bufio.NewReaderSize(c.nc, 64<<10)
	// held is the budget taken for the request read and not yet handed
	// to the broker; sendRequest passes it on to the request's arrival.
	var held int64
	defer func() { c.s.budget.release(held) }()
	var size [4]byte
	raw := false // after a SaslHandshake v0: bare SASL tokens until authenticated
	for seq := uint64(0); ; seq++ {
		if _, err := stdio.ReadFull(r, size[:]); err != nil {
			return
		}
		n := int32(binary.BigEndian.Uint32(size[:]))
		if c.listener.sasl && !c.authenticated.Load() && (n < 0 || n > c.s.cfg.SASLConfig.ReceiveMaxBytes) {
			c.s.logf("closing connection %d from %s: Failing SASL authentication due to invalid receive size: %d bytes before authentication exceeds sasl.server.max.receive.size (%d)", c.id, c.nc.RemoteAddr(), n, c.s.cfg.SASLConfig.ReceiveMaxBytes)
			c.closeAfter(seq, "oversized frame before authentication")
			return
		}
		if n < 0 || n > c.s.cfg.RequestMaxBytes {
			c.s.logf("closing connection %d from %s: request of %d bytes exceeds socket.request.max.bytes (%d)", c.id, c.nc.RemoteAddr(), n, c.s.cfg.RequestMaxBytes)
			c.closeAfter(seq, "oversized request")
			return
		}
		if !c.s.budget.acquire(int64(n)) {
			return
		}
		held = int64(n)
		frame := c.s.frames.Get(int(n))[:n]
		if _, err := stdio.ReadFull(r, frame); err != nil {
			if !errors.Is(err, stdio.EOF) {
				c.s.logf("closing connection %d from %s: truncated request frame: %v", c.id, c.nc.RemoteAddr(), err)
			}
			return
		}
		arrived := time.Now()
		if raw {
			if !c.rawToken(seq, frame, arrived, &held) {
				return
			}
			raw = !c.authenticated.Load()
			continue
		}
		h, body, err := kio.DecodeRequest(frame)
		if err != nil {
			c.s.logf("closing connection %d from %s: %v", c.id, c.nc.RemoteAddr(), err)
			c.closeAfter(seq, err.Error())
			return
		}
		if !c.waitUnmuted() {
			return
		}
		select {
		case c.slots <- struct{}{}:
		case <-c.s.quit:
			return
		}
		req := core.Request{Conn: c.id, Seq: seq, Header: h, Body: body, ClientHost: c.host,
			Listener: c.listener.ep.Listener, Principal: c.principal, Size: int(n)}
		var ref *reqFrame
		if h.Key == 0 {
			// A produce's records are written from the frame: it goes
			// back to the pool once they are and the response is.
			// Other requests' bytes may live on in the broker (group
			// members' metadata): their frames are the collector's.
			ref = newReqFrame(frame, &c.s.frames)
			req.Frame = ref
		}
		if !c.sendRequest(req, arrived, &held, ref) {
			return
		}
		raw = c.listener.sasl && h.Key == 17 && h.Version == 0 && !c.authenticated.Load()
	}
}

// sendRequest hands a request to the loop, counting it as queued until
// the loop takes it, and notes when it arrived (the response's write
// observes the time taken) and the request budget it holds, taken from
// *held, which the writer releases once the response is written.
func (c *conn) sendRequest(r core.Request, arrived time.Time, held *int64, frame *reqFrame) bool {
	c.mu.Lock()
	if c.torn {
		c.mu.Unlock()
		return false // the reader's deferred release gives back *held
	}
	if c.arrivals == nil {
		c.arrivals = map[uint64]arrival{}
	}
	c.arrivals[r.Seq] = arrival{key: r.Header.Key, version: r.Header.Version, at: arrived, bytes: *held, frame: frame}
	*held = 0
	c.mu.Unlock()
	c.s.reqMetrics.queued.Add(1)
	if !c.s.send(r) {
		c.s.reqMetrics.queued.Add(-1)
		return false
	}
	return true
}

// arrival is when a request was read, what it was, and the request
// budget its frame holds until the response is written.
type arrival struct {
	key, version int16
	at           time.Time
	bytes        int64
	frame        *reqFrame // a produce's frame, released once answered; nil: none
}

// rawToken hands a bare SASL token (after a SaslHandshake v0) to the
// core as a SaslAuthenticate v0 request, and waits until its answer is
// delivered, so that the next frame is read as what the outcome says
// it is: a token, or a Kafka request once authenticated. False: stop
// reading.
func (c *conn) rawToken(seq uint64, tok []byte, arrived time.Time, held *int64) bool {
	body := kmsg.NewPtrSASLAuthenticateRequest()
	body.SASLAuthBytes = tok
	select {
	case c.slots <- struct{}{}:
	case <-c.s.quit:
		return false
	}
	if !c.sendRequest(core.Request{Conn: c.id, Seq: seq, Header: core.RequestHeader{Key: 36}, Body: body, ClientHost: c.host,
		Listener: c.listener.ep.Listener, Principal: c.principal}, arrived, held, nil) {
		return false
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	for !c.done[seq] && c.next <= seq && !c.closing {
		c.cond.Wait()
	}
	return !c.closing
}

// handshake runs a TLS connection's handshake, within
// tlsHandshakeTimeout, and finds its principal. A failure (plaintext
// bytes, an unknown CA, an expired certificate, no client certificate
// where ssl.client.auth=required, no mapping rule for the subject) is
// logged with the client's address.
func (c *conn) handshake() bool {
	tc := c.nc.(*tls.Conn)
	ctx, cancel := context.WithTimeout(context.Background(), tlsHandshakeTimeout)
	defer cancel()
	name := c.listener.ep.Listener
	if err := tc.HandshakeContext(ctx); err != nil {
		c.s.logf("closing connection %d from %s on listener %s: TLS handshake failed: %v", c.id, c.nc.RemoteAddr(), name, err)
		return false
	}
	cs := tc.ConnectionState()
	p, err := tlsPrincipal(cs, c.listener.mapper)
	if err != nil {
		c.s.logf("closing connection %d from %s on listener %s: authentication failed: %v", c.id, c.nc.RemoteAddr(), name, err)
		return false
	}
	c.principal = p
	c.s.logf("connection %d from %s on listener %s (%s) authenticated as %s", c.id, c.nc.RemoteAddr(), name, tlsVersionName(cs.Version), p)
	return true
}

// deliver records the response to seq (a frame without parts: none) for
// the writer.
func (c *conn) deliver(seq uint64, frame kio.Frame) {
	c.mu.Lock()
	if c.done == nil {
		c.done = map[uint64]bool{}
	}
	c.pending[seq] = frame
	c.done[seq] = true
	c.cond.Broadcast()
	c.mu.Unlock()
}

// closeAfter closes the connection once the responses to every request
// before seq are written.
func (c *conn) closeAfter(seq uint64, reason string) {
	c.mu.Lock()
	if !c.closing || seq < c.closeAt {
		c.closing, c.reason, c.closeAt = true, reason, seq
	}
	c.cond.Broadcast()
	c.mu.Unlock()
}

func (c *conn) write() {
	defer c.s.wg.Done()
	defer c.teardown()
	w := bufio.NewWriterSize(c.nc, 64<<10)
	for {
		c.mu.Lock()
		for !c.done[c.next] && !(c.closing && c.next >= c.closeAt) && !(c.finished && len(c.slots) == 0) {
			c.cond.Wait()
		}
		if (c.closing && c.next >= c.closeAt) || !c.done[c.next] {
			c.mu.Unlock()
			w.Flush()
			return
		}
		frame := c.pending[c.next]
		th, throttled := c.throttles[c.next]
		arr, timed := c.arrivals[c.next]
		delete(c.pending, c.next)
		delete(c.done, c.next)
		delete(c.throttles, c.next)
		delete(c.arrivals, c.next)
		c.s.budget.release(arr.bytes) // answered: the request's bytes are done with
		c.next++
		more := c.done[c.next]
		c.mu.Unlock()
		<-c.slots
		if throttled {
			c.mute(th.d)
			if th.hold { // a client before KIP-219: the answer itself waits
				if err := w.Flush(); err != nil {
					return
				}
				if !c.waitUnmuted() {
					return
				}
			}
		}
		if frame.Parts != nil {
			err := writeFrame(w, c.nc, frame)
			for _, b := range frame.Bufs {
				c.s.frames.Put(b) // the writer copied or sent it
			}
			if err != nil {
				if errors.Is(err, kio.ErrStaleSpan) || errors.Is(err, stdio.ErrUnexpectedEOF) {
					c.s.logf("closing connection %d: the records of a fetch response cannot be sent: %v", c.id, err)
				}
				return
			}
		}
		if timed {
			c.s.reqMetrics.requestDone(arr.key, arr.version, arr.at, frame.Parts != nil)
			if arr.frame != nil {
				arr.frame.Release() // answered: the response's hold
			}
		}
		if !more {
			if err := w.Flush(); err != nil {
				return
			}
		}
	}
}

// writeFrame writes a frame's parts: through w when it is one part or
// small and has no spans, else, after what w holds, each run of byte
// parts with one writev and each span from its file: with sendfile on a
// plain TCP connection, so that fetched bytes go from the page cache to
// the socket without passing through the broker, or through w (TLS).
func writeFrame(w *bufio.Writer, nc net.Conn, frame kio.Frame) error {
	spans := frame.HasSpans()
	if !spans && (len(frame.Parts) == 1 || frame.Len() <= int64(w.Available())) {
		for _, p := range frame.Parts {
			if _, err := w.Write(p.Bytes); err != nil {
				return err
			}
		}
		return nil
	}
	rc := rawConn(nc)
	if err := w.Flush(); err != nil {
		return err
	}
	var run net.Buffers
	for i, p := range frame.Parts {
		if p.Bytes != nil {
			run = append(run, p.Bytes)
			if i+1 < len(frame.Parts) && frame.Parts[i+1].Bytes != nil {
				continue
			}
			if _, err := run.WriteTo(nc); err != nil {
				return err
			}
			run = nil
			continue
		}
		if err := writeSpan(w, rc, p.Span); err != nil {
			return err
		}
	}
	return nil
}

// rawConn is nc's raw connection when sendfile may write to it (plain
// TCP), else nil.
func rawConn(nc net.Conn) syscall.RawConn {
	tc, ok := nc.(*net.TCPConn)
	if !ok {
		return nil
	}
	rc, err := tc.SyscallConn()
	if err != nil {
		return nil
	}
	return rc
}

// writeSpan sends a span of a segment file: with sendfile when rc is set
// and the file is the OS's, else read into w's buffer piece by piece and
// written through w (and flushed).
func writeSpan(w *bufio.Writer, rc syscall.RawConn, s kio.Span) error {
	if f, ok := s.File.(*osFile); ok && rc != nil {
		return f.sendSpan(rc, s)
	}
	for s.N > 0 {
		if w.Available() == 0 {
			if err := w.Flush(); err != nil {
				return err
			}
		}
		buf := w.AvailableBuffer()[:min(int64(w.Available()), s.N)]
		piece := kio.Span{File: s.File, Off: s.Off, N: int64(len(buf)), Gen: s.Gen}
		if err := piece.Read(buf); err != nil {
			return err
		}
		if _, err := w.Write(buf); err != nil {
			return err
		}
		s.Off, s.N = s.Off+piece.N, s.N-piece.N
	}
	return w.Flush()
}

func (c *conn) teardown() {
	c.nc.Close()
	c.mu.Lock()
	c.torn = true
	for seq, arr := range c.arrivals {
		c.s.budget.release(arr.bytes)
		delete(c.arrivals, seq)
	}
	c.mu.Unlock()
	c.s.mu.Lock()
	delete(c.s.conns, c.id)
	c.s.mu.Unlock()
	select {
	case c.s.events <- core.ConnClosed{Conn: c.id}:
	case <-c.s.quit:
	}
}
