package realio

import (
	"crypto/tls"
	"errors"
	"fmt"
	"log"
	"net"
	"net/http"
	"net/http/pprof"
	"strconv"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"cloudkafka/console"
)

// The admin listener (admin.listener) serves operators over HTTP:
//
//	GET /metrics  Prometheus text format (realio/metrics.go names them)
//	GET /healthz  200 while the process serves
//	GET /debug/pprof/  Go's profiles, with admin.pprof.enable
//	GET /readyz   200 once the broker is registered and serving clients;
//	              503 with a one-line reason before (recovering, not yet
//	              registered, waiting for the controller's metadata) and
//	              while it shuts down
//
// Anything else is a 4xx with a short message. Handlers never read the
// core: they ask the loop for a snapshot (Server.snapshot) and wait for
// it, bounded.

// adminServer is the running admin listener.
type adminServer struct {
	ln      net.Listener
	http    *http.Server
	console *console.Console // nil: not served
	done    chan struct{}    // closed when Serve returned
}

// Admin HTTP bounds: a client gets this long to send its request
// headers, and this many bytes of them.
const (
	adminHeaderTimeout = 5 * time.Second
	adminHeaderBytes   = 8 << 10
	adminWriteTimeout  = 30 * time.Second
)

// listenAdmin opens admin.listener, over TLS when tlsCfg is set (an
// https:// admin.listener). /metrics, /healthz and /readyz ask for no
// login, so the default address is the loopback one; the console's
// operators log in as the broker's users (console.go). A default address that is taken (another
// broker on this host) is logged and skipped; an explicit one that
// cannot be bound fails the start.
func (s *Server) listenAdmin(tlsCfg *tls.Config) error {
	addr := s.cfg.Metrics.AdminListener
	if addr == "" {
		return nil
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		if _, explicit := s.cfg.Set["admin.listener"]; !explicit {
			s.logf("admin.listener: the default %s cannot be bound (%v): no admin listener; set admin.listener to another address, or to nothing", addr, err)
			return nil
		}
		return fmt.Errorf("admin.listener: listen on %s: %w", addr, err)
	}
	if tlsCfg != nil {
		ln = tls.NewListener(ln, tlsCfg)
	}
	mux := http.NewServeMux()
	mux.HandleFunc("/metrics", s.getOnly(s.serveMetrics))
	mux.HandleFunc("/healthz", s.getOnly(func(w http.ResponseWriter, _ *http.Request) { fmt.Fprintln(w, "ok") }))
	mux.HandleFunc("/readyz", s.getOnly(s.serveReady))
	if s.cfg.Metrics.PprofEnable {
		mux.HandleFunc("/debug/pprof/", pprof.Index)
		mux.HandleFunc("/debug/pprof/cmdline", pprof.Cmdline)
		mux.HandleFunc("/debug/pprof/profile", longRunning(pprof.Profile))
		mux.HandleFunc("/debug/pprof/symbol", pprof.Symbol)
		mux.HandleFunc("/debug/pprof/trace", longRunning(pprof.Trace))
	}
	s.admin = &adminServer{ln: ln, done: make(chan struct{})}
	if s.cfg.Metrics.ConsoleEnable {
		s.admin.console = s.newConsole(tlsCfg != nil)
	}
	if s.admin.console != nil {
		mux.Handle("/", s.admin.console)
	} else {
		mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
			http.Error(w, "not found: the admin listener serves /metrics, /healthz and /readyz", http.StatusNotFound)
		})
	}
	s.admin.http = &http.Server{Handler: mux, ErrorLog: log.New(logWriter{s.logf}, "admin listener: ", 0),
		ReadHeaderTimeout: adminHeaderTimeout, MaxHeaderBytes: adminHeaderBytes, WriteTimeout: adminWriteTimeout,
	}
	go func() {
		defer close(s.admin.done)
		if err := s.admin.http.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			s.logf("admin listener on %s stopped: %v", ln.Addr(), err)
		}
	}()
	scheme, served := "http", "/metrics, /healthz, /readyz"
	if tlsCfg != nil {
		scheme = "https"
	}
	if s.cfg.Metrics.PprofEnable {
		served += ", /debug/pprof/"
	}
	if s.admin.console != nil {
		served += " and the web console"
	}
	s.logf("admin listener on %s://%s: %s", scheme, ln.Addr(), served)
	return nil
}

// AdminAddr is the admin listener's bound address, or nil when there is
// none.
func (s *Server) AdminAddr() net.Addr {
	if s.admin == nil {
		return nil
	}
	return s.admin.ln.Addr()
}

// closeAdmin closes the admin listener and the connections on it.
func (s *Server) closeAdmin() {
	if s.admin == nil {
		return
	}
	s.admin.http.Close()
	<-s.admin.done
	if s.admin.console != nil {
		s.admin.console.Close()
	}
}

// longRunning lets a profile that records for ?seconds=N answer after
// the admin listener's usual write timeout.
func longRunning(h http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		secs, err := strconv.ParseInt(r.FormValue("seconds"), 10, 32)
		if err != nil || secs <= 0 {
			secs = 30 // the handlers' default
		}
		http.NewResponseController(w).SetWriteDeadline(time.Now().Add(time.Duration(secs)*time.Second + adminWriteTimeout))
		h(w, r)
	}
}

// getOnly answers 405 to methods other than GET and HEAD.
func (s *Server) getOnly(h http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodGet && r.Method != http.MethodHead {
			w.Header().Set("Allow", "GET, HEAD")
			http.Error(w, "method not allowed: use GET", http.StatusMethodNotAllowed)
			return
		}
		h(w, r)
	}
}

// serveReady answers 200 once the broker is registered and serves
// clients, else 503 with why not.
func (s *Server) serveReady(w http.ResponseWriter, _ *http.Request) {
	snap, err := s.snapshot()
	reason := ""
	switch st := snap.stats; {
	case err != nil:
		reason = err.Error()
	case st.ShuttingDown:
		reason = "the broker is shutting down"
	case !st.Registered:
		reason = "the broker is not registered under /brokers/ids"
	case !st.Serving:
		reason = "the broker is waiting for the controller's metadata"
	}
	if reason != "" {
		http.Error(w, "not ready: "+reason, http.StatusServiceUnavailable)
		return
	}
	fmt.Fprintln(w, "ready")
}

// serveMetrics writes the runtime's metrics and those of a snapshot the
// loop takes for this scrape. Without a snapshot (the loop did not
// answer in time) it answers 503.
func (s *Server) serveMetrics(w http.ResponseWriter, r *http.Request) {
	snap, err := s.snapshot()
	if err != nil {
		http.Error(w, "metrics unavailable: "+err.Error(), http.StatusServiceUnavailable)
		return
	}
	scrape := prometheus.NewRegistry()
	scrape.MustRegister(snapshotCollector{snap})
	promhttp.HandlerFor(prometheus.Gatherers{s.reqMetrics.reg, scrape}, promhttp.HandlerOpts{
		ErrorHandling: promhttp.ContinueOnError, ErrorLog: promLog{s.logf}}).ServeHTTP(w, r)
}

// logWriter writes the HTTP server's own errors (a bad TLS handshake, a
// malformed request) to the broker's log.
type logWriter struct{ logf func(string, ...any) }

func (l logWriter) Write(p []byte) (int, error) {
	l.logf("%s", strings.TrimRight(string(p), "\n"))
	return len(p), nil
}

// promLog reports promhttp's errors in the broker's log.
type promLog struct{ logf func(string, ...any) }

func (l promLog) Println(v ...any) { l.logf("metrics: %s", fmt.Sprint(v...)) }
