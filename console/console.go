// Package console is Cloud Kafka's web console: a page and a JSON API
// (API.md) served on the broker's admin listener. The console is a Kafka
// client of its own broker: each operator's session holds a franz-go
// client authenticated with the operator's credentials on one of the
// broker's listeners, so the broker's authentication and ACLs decide what
// each operator may see and change, exactly as for any other client.
//
// The page is static (static/, embedded): no build step runs it.
package console

import (
	"context"
	"crypto/rand"
	"crypto/subtle"
	"crypto/tls"
	"embed"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"net/http"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/sasl/plain"
	"github.com/twmb/franz-go/pkg/sasl/scram"
)

//go:embed static
var static embed.FS

// Options configure a console.
type Options struct {
	// Broker is the address of the broker's listener the console's
	// clients connect to; TLS, when not nil, is how (the listener runs
	// TLS). Mechanisms lists the SASL mechanisms the listener enables:
	// none means a listener without SASL, where every operator is
	// User:ANONYMOUS and no login is asked for.
	Broker     string
	TLS        *tls.Config
	Mechanisms []string
	// Secure marks the session cookie Secure (the admin listener runs
	// TLS).
	Secure bool
	// SessionsMax bounds the sessions at once (admin.console.sessions.max);
	// SessionIdle ends a session unused that long
	// (admin.console.session.idle.ms).
	SessionsMax int
	SessionIdle time.Duration
	// Sample reads the broker's own counters for the charts (nil: no
	// charts); SampleEvery spaces the samples.
	Sample      func() (Sample, error)
	SampleEvery time.Duration
	Logf        func(format string, args ...any)
}

// Console serves the page and the API.
type Console struct {
	opts   Options
	mux    *http.ServeMux
	series *series

	mu       sync.Mutex
	sessions map[string]*session
	anon     *kgo.Client // the shared client without SASL, made on first use
	closed   bool

	stop chan struct{}
	done chan struct{}
}

// session is one operator's: their client and CSRF token.
type session struct {
	id, csrf  string
	principal string
	opts      []kgo.Opt // how to connect as this operator
	client    *kgo.Client
	adm       *kadm.Client
	owned     bool // the client is the session's own (closed with it)
	lastUsed  time.Time
}

const (
	cookieName   = "ck_session"
	csrfHeader   = "X-CK-CSRF"
	bodyMax      = 64 << 10
	requestLimit = 15 * time.Second
)

// New returns a console; Close stops it.
func New(opts Options) *Console {
	if opts.Logf == nil {
		opts.Logf = func(string, ...any) {}
	}
	if opts.SessionsMax <= 0 {
		opts.SessionsMax = 64
	}
	if opts.SessionIdle <= 0 {
		opts.SessionIdle = 30 * time.Minute
	}
	if opts.SampleEvery <= 0 {
		opts.SampleEvery = 5 * time.Second
	}
	c := &Console{opts: opts, sessions: map[string]*session{}, series: newSeries(opts.SampleEvery),
		stop: make(chan struct{}), done: make(chan struct{})}
	c.routes()
	go c.sampleLoop()
	return c
}

// Close ends every session and the sampling.
func (c *Console) Close() {
	c.mu.Lock()
	if c.closed {
		c.mu.Unlock()
		return
	}
	c.closed = true
	sessions := c.sessions
	c.sessions = map[string]*session{}
	anon := c.anon
	c.mu.Unlock()
	close(c.stop)
	<-c.done
	for _, s := range sessions {
		if s.owned {
			s.client.Close()
		}
	}
	if anon != nil {
		anon.Close()
	}
}

// loginRequired says operators log in: the listener runs SASL.
func (c *Console) loginRequired() bool { return len(c.opts.Mechanisms) > 0 }

func (c *Console) routes() {
	m := http.NewServeMux()
	sub, _ := fs.Sub(static, "static")
	files := http.FileServer(http.FS(sub))
	m.Handle("GET /static/", http.StripPrefix("/static/", files))
	m.HandleFunc("GET /{$}", func(w http.ResponseWriter, r *http.Request) {
		r2 := r.Clone(r.Context())
		r2.URL.Path = "/"
		files.ServeHTTP(w, r2)
	})
	m.HandleFunc("GET /api/session", c.handleSession)
	m.HandleFunc("POST /api/login", c.handleLogin)
	m.HandleFunc("POST /api/logout", c.handleLogout)
	apis := http.NewServeMux() // the API's routes alone: which methods a path takes
	api := func(pattern string, h func(http.ResponseWriter, *http.Request, *session)) {
		m.HandleFunc(pattern, c.withSession(h))
		apis.HandleFunc(pattern, func(http.ResponseWriter, *http.Request) {})
	}
	api("GET /api/cluster", c.handleCluster)
	api("GET /api/topics", c.handleTopics)
	api("POST /api/topics", c.handleCreateTopic)
	api("GET /api/topics/{name}", c.handleTopic)
	api("DELETE /api/topics/{name}", c.handleDeleteTopic)
	api("POST /api/topics/{name}/partitions", c.handleAddPartitions)
	api("PATCH /api/topics/{name}/configs", c.handleAlterConfigs)
	api("GET /api/topics/{name}/messages", c.handleMessages)
	api("GET /api/groups", c.handleGroups)
	api("GET /api/groups/{id}", c.handleGroup)
	api("POST /api/groups/{id}/reset", c.handleResetGroup)
	api("GET /api/metrics/series", c.handleSeries)
	m.HandleFunc("/api/", func(w http.ResponseWriter, r *http.Request) {
		var allowed []string
		for _, method := range []string{"GET", "POST", "PATCH", "DELETE"} {
			r2 := r.Clone(r.Context())
			r2.Method = method
			if _, pattern := apis.Handler(r2); pattern != "" {
				allowed = append(allowed, method)
			}
		}
		if len(allowed) > 0 {
			w.Header().Set("Allow", strings.Join(allowed, ", "))
			fail(w, http.StatusMethodNotAllowed, r.Method+" is not served on "+r.URL.Path+": use "+strings.Join(allowed, " or "))
			return
		}
		fail(w, http.StatusNotFound, "no such API: "+r.Method+" "+r.URL.Path)
	})
	m.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		fail(w, http.StatusNotFound, "not found: the admin listener serves the console at /, /metrics, /healthz and /readyz")
	})
	c.mux = m
}

// ServeHTTP serves the console with its security headers; a path it
// does not serve is a 404, a wrong method a 405, and a panic in a
// handler a 502 with a one-line reason (never a stack trace).
func (c *Console) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	h := w.Header()
	h.Set("Content-Security-Policy", "default-src 'self'; img-src 'self' data:; style-src 'self'; frame-ancestors 'none'; form-action 'self'")
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("X-Frame-Options", "DENY")
	h.Set("Referrer-Policy", "no-referrer")
	h.Set("Cache-Control", "no-store")
	defer func() {
		if v := recover(); v != nil {
			c.opts.Logf("console: %s %s failed: %v", r.Method, r.URL.Path, v)
			fail(w, http.StatusBadGateway, "the console could not answer this request")
		}
	}()
	c.mux.ServeHTTP(w, r)
}

// fail answers an error document.
func fail(w http.ResponseWriter, status int, msg string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(map[string]string{"error": msg})
}

// reply answers a JSON document.
func reply(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(true)
	enc.Encode(v)
}

// decode reads a JSON body, at most bodyMax bytes, into v; unknown
// fields are refused.
func decode(w http.ResponseWriter, r *http.Request, v any) bool {
	r.Body = http.MaxBytesReader(w, r.Body, bodyMax)
	dec := json.NewDecoder(r.Body)
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			fail(w, http.StatusRequestEntityTooLarge, fmt.Sprintf("the body is larger than %d bytes", bodyMax))
		} else {
			fail(w, http.StatusBadRequest, "the body is not the expected JSON: "+err.Error())
		}
		return false
	}
	return true
}

func randomToken() string {
	var b [24]byte
	if _, err := rand.Read(b[:]); err != nil {
		panic(err) // crypto/rand does not fail on supported systems
	}
	return base64.RawURLEncoding.EncodeToString(b[:])
}

// sessionOf returns the request's live session, or nil.
func (c *Console) sessionOf(r *http.Request) *session {
	ck, err := r.Cookie(cookieName)
	if err != nil {
		return nil
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	c.expireLocked()
	s := c.sessions[ck.Value]
	if s != nil {
		s.lastUsed = time.Now()
	}
	return s
}

// expireLocked ends the sessions idle too long.
func (c *Console) expireLocked() {
	now := time.Now()
	for id, s := range c.sessions {
		if now.Sub(s.lastUsed) > c.opts.SessionIdle {
			delete(c.sessions, id)
			if s.owned {
				go s.client.Close()
			}
		}
	}
}

// withSession gives h the request's session: 401 without one, 403 for a
// change without the session's CSRF token.
func (c *Console) withSession(h func(http.ResponseWriter, *http.Request, *session)) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		s := c.sessionOf(r)
		if s == nil && !c.loginRequired() {
			s = c.anonymousSession(w)
		}
		if s == nil {
			fail(w, http.StatusUnauthorized, "log in first")
			return
		}
		if r.Method != http.MethodGet && r.Method != http.MethodHead {
			if subtle.ConstantTimeCompare([]byte(r.Header.Get(csrfHeader)), []byte(s.csrf)) != 1 {
				fail(w, http.StatusForbidden, "a change needs the "+csrfHeader+" header of the session")
				return
			}
		}
		ctx, cancel := context.WithTimeout(r.Context(), requestLimit)
		defer cancel()
		h(w, r.WithContext(ctx), s)
	}
}

// anonymousSession starts a session on the shared client of a listener
// without SASL and sets its cookie; nil when the console is closed or
// full.
func (c *Console) anonymousSession(w http.ResponseWriter) *session {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.closed {
		return nil
	}
	if c.anon == nil {
		cl, err := kgo.NewClient(c.baseOpts()...)
		if err != nil {
			return nil
		}
		c.anon = cl
	}
	s := &session{id: randomToken(), csrf: randomToken(), principal: "User:ANONYMOUS", client: c.anon,
		adm: kadm.NewClient(c.anon), opts: c.baseOpts(), lastUsed: time.Now()}
	if !c.addLocked(s) {
		return nil
	}
	c.setCookie(w, s)
	return s
}

// addLocked keeps a new session, dropping the least recently used one
// at the bound.
func (c *Console) addLocked(s *session) bool {
	c.expireLocked()
	if len(c.sessions) >= c.opts.SessionsMax {
		var oldest *session
		for _, o := range c.sessions {
			if oldest == nil || o.lastUsed.Before(oldest.lastUsed) {
				oldest = o
			}
		}
		delete(c.sessions, oldest.id)
		if oldest.owned {
			go oldest.client.Close()
		}
	}
	c.sessions[s.id] = s
	return true
}

func (c *Console) setCookie(w http.ResponseWriter, s *session) {
	http.SetCookie(w, &http.Cookie{Name: cookieName, Value: s.id, Path: "/", HttpOnly: true,
		SameSite: http.SameSiteStrictMode, Secure: c.opts.Secure})
}

// baseOpts are the client options every session shares.
func (c *Console) baseOpts() []kgo.Opt {
	opts := []kgo.Opt{kgo.SeedBrokers(c.opts.Broker), kgo.ClientID("cloudkafka-console"),
		kgo.RequestRetries(2), kgo.RetryTimeout(5 * time.Second), kgo.DialTimeout(5 * time.Second)}
	if c.opts.TLS != nil {
		opts = append(opts, kgo.DialTLSConfig(c.opts.TLS.Clone()))
	}
	return opts
}

// sessionDoc is GET /api/session's answer.
type sessionDoc struct {
	LoginRequired bool     `json:"loginRequired"`
	LoggedIn      bool     `json:"loggedIn"`
	Principal     string   `json:"principal"`
	Mechanisms    []string `json:"mechanisms"`
	CSRF          string   `json:"csrf"`
	CanAlter      bool     `json:"canAlter"`
}

func (c *Console) sessionDoc(ctx context.Context, s *session) sessionDoc {
	d := sessionDoc{LoginRequired: c.loginRequired(), Mechanisms: c.opts.Mechanisms}
	if d.Mechanisms == nil {
		d.Mechanisms = []string{}
	}
	if s != nil {
		d.LoggedIn, d.Principal, d.CSRF = true, s.principal, s.csrf
		ops, err := clusterOperations(ctx, s)
		d.CanAlter = err == nil && slices.Contains(ops, "ALTER")
	}
	return d
}

func (c *Console) handleSession(w http.ResponseWriter, r *http.Request) {
	s := c.sessionOf(r)
	if s == nil && !c.loginRequired() {
		s = c.anonymousSession(w)
	}
	ctx, cancel := context.WithTimeout(r.Context(), requestLimit)
	defer cancel()
	reply(w, http.StatusOK, c.sessionDoc(ctx, s))
}

type loginRequest struct {
	User      string `json:"user"`
	Password  string `json:"password"`
	Mechanism string `json:"mechanism"`
}

// handleLogin checks the credentials by connecting with them: the
// broker's SASL authentication decides.
func (c *Console) handleLogin(w http.ResponseWriter, r *http.Request) {
	if !c.loginRequired() {
		fail(w, http.StatusBadRequest, "this console's listener has no SASL: there is nothing to log in to")
		return
	}
	var req loginRequest
	if !decode(w, r, &req) {
		return
	}
	if req.User == "" || req.Password == "" {
		fail(w, http.StatusBadRequest, "user and password are required")
		return
	}
	if req.Mechanism == "" {
		req.Mechanism = c.opts.Mechanisms[0]
	}
	opts := c.baseOpts()
	switch {
	case !slices.Contains(c.opts.Mechanisms, req.Mechanism):
		fail(w, http.StatusBadRequest, fmt.Sprintf("mechanism %q is not enabled on the console's listener (enabled: %s)", req.Mechanism, strings.Join(c.opts.Mechanisms, ", ")))
		return
	case req.Mechanism == "PLAIN":
		opts = append(opts, kgo.SASL(plain.Auth{User: req.User, Pass: req.Password}.AsMechanism()))
	case req.Mechanism == "SCRAM-SHA-256":
		opts = append(opts, kgo.SASL(scram.Auth{User: req.User, Pass: req.Password}.AsSha256Mechanism()))
	case req.Mechanism == "SCRAM-SHA-512":
		opts = append(opts, kgo.SASL(scram.Auth{User: req.User, Pass: req.Password}.AsSha512Mechanism()))
	default:
		fail(w, http.StatusBadRequest, fmt.Sprintf("mechanism %q is not supported by the console", req.Mechanism))
		return
	}
	cl, err := kgo.NewClient(opts...)
	if err != nil {
		fail(w, http.StatusBadRequest, "bad client settings: "+err.Error())
		return
	}
	ctx, cancel := context.WithTimeout(r.Context(), requestLimit)
	defer cancel()
	adm := kadm.NewClient(cl)
	if _, err := adm.BrokerMetadata(ctx); err != nil {
		cl.Close()
		if isAuthFailure(err) {
			c.opts.Logf("console: login of %q refused by the broker", req.User)
			fail(w, http.StatusUnauthorized, "the broker refused these credentials")
			return
		}
		fail(w, http.StatusServiceUnavailable, "cannot reach the broker: "+err.Error())
		return
	}
	s := &session{id: randomToken(), csrf: randomToken(), principal: "User:" + req.User, opts: opts,
		client: cl, adm: adm, owned: true, lastUsed: time.Now()}
	c.mu.Lock()
	if c.closed {
		c.mu.Unlock()
		cl.Close()
		fail(w, http.StatusServiceUnavailable, "the console is stopping")
		return
	}
	c.addLocked(s)
	c.mu.Unlock()
	c.opts.Logf("console: %s logged in", s.principal)
	c.setCookie(w, s)
	reply(w, http.StatusOK, c.sessionDoc(ctx, s))
}

func (c *Console) handleLogout(w http.ResponseWriter, r *http.Request) {
	s := c.sessionOf(r)
	if s != nil {
		if subtle.ConstantTimeCompare([]byte(r.Header.Get(csrfHeader)), []byte(s.csrf)) != 1 {
			fail(w, http.StatusForbidden, "logging out needs the "+csrfHeader+" header of the session")
			return
		}
		c.mu.Lock()
		delete(c.sessions, s.id)
		c.mu.Unlock()
		if s.owned {
			s.client.Close()
		}
	}
	http.SetCookie(w, &http.Cookie{Name: cookieName, Value: "", Path: "/", MaxAge: -1, HttpOnly: true,
		SameSite: http.SameSiteStrictMode, Secure: c.opts.Secure})
	w.WriteHeader(http.StatusNoContent)
}
