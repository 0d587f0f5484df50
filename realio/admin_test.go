package realio

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
	"github.com/twmb/franz-go/pkg/kmsg"

	"cloudkafka/core"
)

// adminGet fetches path from the broker's admin listener and returns
// the status and body.
func adminGet(t testing.TB, addr net.Addr, method, path string) (int, string) {
	t.Helper()
	req, err := http.NewRequest(method, "http://"+addr.String()+path, nil)
	if err != nil {
		t.Fatal(err)
	}
	cl := &http.Client{Timeout: 10 * time.Second}
	resp, err := cl.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("%s %s: reading the body: %v", method, path, err)
	}
	return resp.StatusCode, string(body)
}

// TestAdminEndpoints: the admin listener (admin.listener with port 0)
// answers /healthz and /readyz, serves /metrics in a format Prometheus
// parses with the broker's gauges and the request counters of what was
// asked, and answers unknown paths, other methods and malformed requests
// with a 4xx and a short message, never a 500.
func TestAdminEndpoints(t *testing.T) {
	b := startBroker(t, map[string]string{"admin.listener": "127.0.0.1:0"})
	addr := b.AdminAddr()
	if addr == nil || addr.(*net.TCPAddr).Port == 0 {
		t.Fatalf("AdminAddr: got %v; want a bound address", addr)
	}
	if code, body := adminGet(t, addr, "GET", "/healthz"); code != 200 {
		t.Errorf("/healthz: got %d %q; want 200", code, body)
	}
	deadline := time.Now().Add(10 * time.Second)
	for {
		code, body := adminGet(t, addr, "GET", "/readyz")
		if code == 200 {
			break
		}
		if code != 503 || time.Now().After(deadline) {
			t.Fatalf("/readyz: got %d %q; want 200 within 10s (503 meanwhile)", code, body)
		}
		time.Sleep(50 * time.Millisecond)
	}
	c := b.dial(t)
	call[*kmsg.ApiVersionsResponse](t, c, 3, kmsg.NewPtrApiVersionsRequest())
	meta := kmsg.NewPtrMetadataRequest()
	meta.Topics = []kmsg.MetadataRequestTopic{{Topic: kmsg.StringPtr("absent")}}
	meta.AllowAutoTopicCreation = false
	call[*kmsg.MetadataResponse](t, c, 9, meta)

	code, body := adminGet(t, addr, "GET", "/metrics")
	if code != 200 {
		t.Fatalf("/metrics: got %d; want 200\n%s", code, body)
	}
	parser := expfmt.NewTextParser(model.LegacyValidation)
	families, err := parser.TextToMetricFamilies(strings.NewReader(body))
	if err != nil {
		t.Fatalf("/metrics does not parse as Prometheus text: %v\n%s", err, body)
	}
	for _, name := range []string{"kafka_network_requestchannel_requestqueuesize", "kafka_server_replicamanager_partitioncount",
		"kafka_controller_kafkacontroller_activecontrollercount", "kafka_network_requestmetrics_totaltimems",
		"cloudkafka_log_scrub_bytes_total", "cloudkafka_log_scrub_damaged_batches_total"} {
		if families[name] == nil {
			t.Errorf("/metrics has no %s", name)
		}
	}
	for _, want := range []string{
		`kafka_network_requestmetrics_requests_total{request="ApiVersions",version="3"} 1`,
		`kafka_network_requestmetrics_requests_total{request="Metadata",version="9"} 1`,
		`kafka_network_requestmetrics_errors_total{error="UNKNOWN_TOPIC_OR_PARTITION",request="Metadata"} 1`,
		`kafka_controller_kafkacontroller_activecontrollercount 1`,
		`kafka_network_requestmetrics_totaltimems_count{request="Metadata",version="9"} 1`,
	} {
		if !strings.Contains(body, want+"\n") {
			t.Errorf("/metrics lacks %q", want)
		}
	}

	for _, c := range []struct{ method, path string }{{"GET", "/nope"}, {"GET", "/metrics/x"}, {"POST", "/metrics"}, {"DELETE", "/readyz"}} {
		code, body := adminGet(t, addr, c.method, c.path)
		if code < 400 || code >= 500 || strings.Contains(body, "goroutine") || len(body) > 200 {
			t.Errorf("%s %s: got %d %q; want a 4xx with a short message", c.method, c.path, code, body)
		}
	}
	if code, _ := adminGet(t, addr, "GET", "/nope"); code != 404 {
		t.Errorf("GET /nope: got %d; want 404", code)
	}
	nc, err := net.DialTimeout("tcp", addr.String(), ioTimeout)
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	nc.SetDeadline(time.Now().Add(ioTimeout))
	fmt.Fprintf(nc, "GARBAGE \x00\x01 nonsense\r\n\r\n")
	status, err := bufio.NewReader(nc).ReadString('\n')
	if err != nil || !strings.HasPrefix(status, "HTTP/1.1 4") {
		t.Errorf("a malformed request: got status line %q (%v); want HTTP/1.1 4xx", status, err)
	}
}

// TestAdminListenerClosedOnShutdown: the admin listener stops accepting
// once the broker shut down.
func TestAdminListenerClosedOnShutdown(t *testing.T) {
	b := startBroker(t, map[string]string{"admin.listener": "127.0.0.1:0"})
	addr := b.AdminAddr().String()
	b.shutdown(t)
	if nc, err := net.DialTimeout("tcp", addr, time.Second); err == nil {
		nc.Close()
		t.Errorf("dial %s after Shutdown: connected; want refused", addr)
	}
}

// TestAdminListenerDisabled: an empty admin.listener opens none.
func TestAdminListenerDisabled(t *testing.T) {
	b := startBroker(t, map[string]string{"admin.listener": ""})
	if a := b.AdminAddr(); a != nil {
		t.Errorf("AdminAddr with admin.listener empty: got %v; want nil", a)
	}
}

// TestAdminListenerTaken: an explicit admin.listener that cannot be
// bound fails the start, naming the property.
func TestAdminListenerTaken(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	props := map[string]string{"listeners": "PLAINTEXT://127.0.0.1:0", "log.dirs": t.TempDir(), "admin.listener": ln.Addr().String()}
	cfg, err := parseForTest(props)
	if err != nil {
		t.Fatal(err)
	}
	s, err := Start(cfg, t.Logf)
	if err == nil {
		s.Shutdown()
		t.Fatalf("Start with admin.listener %s taken: started; want an error", ln.Addr())
	}
	if !strings.Contains(err.Error(), "admin.listener") {
		t.Errorf("Start with admin.listener taken: got %v; want an error naming admin.listener", err)
	}
}

func parseForTest(props map[string]string) (core.Config, error) { return core.ParseProperties(props) }

// TestAdminPprof: Go's profiles are served only with admin.pprof.enable.
func TestAdminPprof(t *testing.T) {
	off := startBroker(t, map[string]string{"admin.listener": "127.0.0.1:0", "admin.console.enable": "false"})
	if code, _ := adminGet(t, off.AdminAddr(), "GET", "/debug/pprof/"); code != 404 {
		t.Errorf("/debug/pprof/ without admin.pprof.enable: got %d; want 404", code)
	}
	on := startBroker(t, map[string]string{"admin.listener": "127.0.0.1:0", "admin.pprof.enable": "true"})
	if code, body := adminGet(t, on.AdminAddr(), "GET", "/debug/pprof/"); code != 200 || !strings.Contains(body, "goroutine") {
		t.Errorf("/debug/pprof/ with admin.pprof.enable: got %d %.100q; want the profile index", code, body)
	}
	if code, body := adminGet(t, on.AdminAddr(), "GET", "/debug/pprof/goroutine?debug=1"); code != 200 || !strings.Contains(body, "realio") {
		t.Errorf("/debug/pprof/goroutine: got %d %.100q; want the broker's goroutines", code, body)
	}
	if code, body := adminGet(t, on.AdminAddr(), "GET", "/debug/pprof/profile?seconds=1"); code != 200 || len(body) == 0 {
		t.Errorf("/debug/pprof/profile?seconds=1: got %d and %d bytes; want a CPU profile", code, len(body))
	}
}
