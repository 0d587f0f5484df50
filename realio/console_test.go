package realio

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"io"
	"net/http"
	"net/http/cookiejar"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"
	"github.com/twmb/franz-go/pkg/sasl/scram"
)

// The web console's API (console/API.md) on a real broker: every call
// goes through the console's own Kafka client to the broker.

// consoleClient is a browser-like client of one broker's console: a
// cookie jar and the session's CSRF token.
type consoleClient struct {
	t    *testing.T
	base string
	hc   *http.Client
	csrf string
}

func newConsoleClient(t *testing.T, b *testBroker) *consoleClient {
	t.Helper()
	jar, _ := cookiejar.New(nil)
	c := &consoleClient{t: t, base: "http://" + b.AdminAddr().String(), hc: &http.Client{Jar: jar, Timeout: 30 * time.Second}}
	return c
}

// do sends a request (body: a value to encode as JSON, or nil) and
// decodes a JSON answer into out when given; it returns the status and
// the raw body.
func (c *consoleClient) do(method, path string, body, out any, csrf bool) (int, string) {
	c.t.Helper()
	var rd io.Reader
	if body != nil {
		raw, _ := json.Marshal(body)
		rd = bytes.NewReader(raw)
	}
	req, err := http.NewRequest(method, c.base+path, rd)
	if err != nil {
		c.t.Fatalf("%s %s: %v", method, path, err)
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if csrf {
		req.Header.Set("X-CK-CSRF", c.csrf)
	}
	resp, err := c.hc.Do(req)
	if err != nil {
		c.t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	if resp.StatusCode >= 500 && resp.StatusCode != http.StatusServiceUnavailable && resp.StatusCode != http.StatusBadGateway || strings.Contains(string(raw), "goroutine ") {
		c.t.Errorf("%s %s: got %d %q; never a 500 or a stack trace", method, path, resp.StatusCode, raw)
	}
	if out != nil && resp.StatusCode < 300 {
		if err := json.Unmarshal(raw, out); err != nil {
			c.t.Fatalf("%s %s: %d %q is not the expected JSON: %v", method, path, resp.StatusCode, raw, err)
		}
	}
	if resp.StatusCode >= 400 && !strings.Contains(string(raw), `"error"`) {
		c.t.Errorf("%s %s: got %d %q; want an error document", method, path, resp.StatusCode, raw)
	}
	return resp.StatusCode, string(raw)
}

func (c *consoleClient) expect(method, path string, body, out any, want int) string {
	c.t.Helper()
	code, raw := c.do(method, path, body, out, true)
	if code != want {
		c.t.Errorf("%s %s: got %d %s; want %d", method, path, code, raw, want)
	}
	return raw
}

type sessionReply struct {
	LoginRequired bool     `json:"loginRequired"`
	LoggedIn      bool     `json:"loggedIn"`
	Principal     string   `json:"principal"`
	Mechanisms    []string `json:"mechanisms"`
	CSRF          string   `json:"csrf"`
	CanAlter      bool     `json:"canAlter"`
}

// TestConsoleAPI: a broker without SASL: no login, every operator is
// User:ANONYMOUS; topics, configs, partitions, messages by offset and by
// time, group lag and its reset, charts; bad input answered with 4xx.
func TestConsoleAPI(t *testing.T) {
	b := startBroker(t, map[string]string{"admin.listener": "127.0.0.1:0"})
	c := newConsoleClient(t, b)

	code, page := c.do("GET", "/", nil, nil, false)
	if code != 200 || !strings.Contains(page, "/static/app.js") {
		t.Errorf("GET /: got %d %.200q; want the console page loading /static/app.js", code, page)
	}
	var s sessionReply
	c.expect("GET", "/api/session", nil, &s, 200)
	if s.LoginRequired || !s.LoggedIn || s.Principal != "User:ANONYMOUS" || s.CSRF == "" || !s.CanAlter {
		t.Fatalf("session: got %+v; want no login, User:ANONYMOUS, a CSRF token, may alter", s)
	}
	c.csrf = s.CSRF

	// Changes need the CSRF token.
	if code, _ := c.do("POST", "/api/topics", map[string]any{"name": "web", "partitions": 2}, nil, false); code != http.StatusForbidden {
		t.Errorf("POST /api/topics without the CSRF header: got %d; want 403", code)
	}
	c.expect("POST", "/api/topics", map[string]any{"name": "web", "partitions": 2, "configs": map[string]string{"retention.ms": "3600000"}}, nil, 201)
	c.expect("POST", "/api/topics", map[string]any{"name": "web", "partitions": 2}, nil, 409)
	c.expect("POST", "/api/topics", map[string]any{"name": "bad/name"}, nil, 400)
	// Markup never becomes a topic name: Kafka's rules refuse it.
	if raw := c.expect("POST", "/api/topics", map[string]any{"name": "<script>alert(1)</script>"}, nil, 400); strings.Contains(raw, "<script>") {
		t.Errorf("refusing a topic named with markup: the error %s repeats the markup unescaped; want it escaped", raw)
	}
	c.expect("POST", "/api/topics", map[string]any{"name": "cfgbad", "configs": map[string]string{"retention.ms": "soon"}}, nil, 400)
	c.expect("POST", "/api/topics", map[string]any{"name": "x", "bogus": 1}, nil, 400)
	c.expect("POST", "/api/topics", strings.Repeat("x", 70<<10), nil, 413)

	var topics struct {
		Topics []struct {
			Name       string `json:"name"`
			Partitions int    `json:"partitions"`
			SizeBytes  int64  `json:"sizeBytes"`
		} `json:"topics"`
	}
	c.expect("GET", "/api/topics", nil, &topics, 200)
	if len(topics.Topics) != 1 || topics.Topics[0].Name != "web" || topics.Topics[0].Partitions != 2 || topics.Topics[0].SizeBytes != 0 {
		t.Errorf("GET /api/topics: got %+v; want web with 2 partitions, 0 bytes", topics.Topics)
	}

	// Records with HTML in them, a null key, headers, known times.
	cl, err := kgo.NewClient(kgo.SeedBrokers(b.Addr().String()), kgo.RecordPartitioner(kgo.ManualPartitioner()))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	base := time.UnixMilli(1_700_000_000_000)
	for i := 0; i < 10; i++ {
		rec := &kgo.Record{Topic: "web", Partition: 0, Key: []byte("<script>k" + string(rune('0'+i)) + "</script>"),
			Value: []byte(`{"n":` + string(rune('0'+i)) + `}`), Timestamp: base.Add(time.Duration(i) * time.Second),
			Headers: []kgo.RecordHeader{{Key: "h", Value: []byte("<img src=x>")}}}
		if i == 9 {
			rec.Key = nil
		}
		if err := cl.ProduceSync(ctx, rec).FirstErr(); err != nil {
			t.Fatalf("produce: %v", err)
		}
	}
	type msg struct {
		Offset    int64   `json:"offset"`
		Timestamp int64   `json:"timestamp"`
		Key       *string `json:"key"`
		Value     *string `json:"value"`
		Headers   []struct {
			Key   string  `json:"key"`
			Value *string `json:"value"`
		} `json:"headers"`
	}
	var page1 struct {
		StartOffset int64 `json:"startOffset"`
		EndOffset   int64 `json:"endOffset"`
		Messages    []msg `json:"messages"`
	}
	c.expect("GET", "/api/topics/web/messages?partition=0&offset=3&limit=4", nil, &page1, 200)
	if page1.StartOffset != 0 || page1.EndOffset != 10 || len(page1.Messages) != 4 || page1.Messages[0].Offset != 3 || page1.Messages[3].Offset != 6 {
		t.Errorf("messages from offset 3, limit 4: got %+v; want offsets 3-6 of 0-10", page1)
	} else if k, _ := base64.StdEncoding.DecodeString(*page1.Messages[0].Key); string(k) != "<script>k3</script>" ||
		page1.Messages[0].Timestamp != base.Add(3*time.Second).UnixMilli() || len(page1.Messages[0].Headers) != 1 {
		t.Errorf("message 3: got key %q, %+v; want its key, time and header as produced", k, page1.Messages[0])
	}
	var byTime struct {
		Messages []msg `json:"messages"`
	}
	c.expect("GET", "/api/topics/web/messages?partition=0&timestamp="+strconv.FormatInt(base.Add(7500*time.Millisecond).UnixMilli(), 10), nil, &byTime, 200)
	if len(byTime.Messages) != 2 || byTime.Messages[0].Offset != 8 || byTime.Messages[1].Key != nil {
		t.Errorf("messages from time base+7.5s: got %+v; want offsets 8 and 9 (a null key)", byTime.Messages)
	}
	for _, bad := range []string{"partition=0", "offset=1", "partition=x&offset=1", "partition=0&offset=1&timestamp=5",
		"partition=0&offset=-1", "partition=0&offset=1&limit=0", "partition=0&offset=1&limit=1000"} {
		c.expect("GET", "/api/topics/web/messages?"+bad, nil, nil, 400)
	}
	c.expect("GET", "/api/topics/nope/messages?partition=0&offset=0", nil, nil, 404)
	c.expect("GET", "/api/topics/web/messages?partition=9&offset=0", nil, nil, 404)

	// Configs and partitions.
	var detail struct {
		Partitions []struct {
			Partition int32 `json:"partition"`
			EndOffset int64 `json:"endOffset"`
			SizeBytes int64 `json:"sizeBytes"`
		} `json:"partitions"`
		Configs []struct {
			Name   string  `json:"name"`
			Value  *string `json:"value"`
			Source string  `json:"source"`
			Doc    *string `json:"documentation"`
		} `json:"configs"`
	}
	c.expect("GET", "/api/topics/web", nil, &detail, 200)
	if len(detail.Partitions) != 2 || detail.Partitions[0].EndOffset != 10 || detail.Partitions[0].SizeBytes <= 0 {
		t.Errorf("GET /api/topics/web: got partitions %+v; want 2, the first with 10 records and a size", detail.Partitions)
	}
	configValue := func(name string) (string, string) {
		for _, cfg := range detail.Configs {
			if cfg.Name == name && cfg.Value != nil {
				if cfg.Doc == nil || *cfg.Doc == "" {
					t.Errorf("config %s: no documentation", name)
				}
				return *cfg.Value, cfg.Source
			}
		}
		return "", ""
	}
	if v, src := configValue("retention.ms"); v != "3600000" || src != "DYNAMIC_TOPIC_CONFIG" {
		t.Errorf("retention.ms: got %s from %s; want 3600000 from DYNAMIC_TOPIC_CONFIG", v, src)
	}
	c.expect("PATCH", "/api/topics/web/configs", map[string]any{"set": map[string]string{"segment.bytes": "1048576"}, "delete": []string{"retention.ms"}}, &detail, 200)
	if v, _ := configValue("segment.bytes"); v != "1048576" {
		t.Errorf("segment.bytes after PATCH: got %q; want 1048576", v)
	}
	if v, src := configValue("retention.ms"); src != "DEFAULT_CONFIG" {
		t.Errorf("retention.ms after its deletion: got %s from %s; want the default", v, src)
	}
	c.expect("PATCH", "/api/topics/web/configs", map[string]any{"set": map[string]string{"segment.bytes": "tiny"}}, nil, 400)
	c.expect("PATCH", "/api/topics/web/configs", map[string]any{}, nil, 400)
	c.expect("POST", "/api/topics/web/partitions", map[string]int{"count": 3}, nil, 200)
	c.expect("POST", "/api/topics/web/partitions", map[string]int{"count": 2}, nil, 400)
	c.expect("GET", "/api/topics/nope", nil, nil, 404)

	// A group that committed 4 of partition 0's 10 records lags 6; reset
	// to the earliest offset it lags 10.
	adm := kadm.NewClient(cl)
	offs := kadm.Offsets{}
	offs.Add(kadm.Offset{Topic: "web", Partition: 0, At: 4, LeaderEpoch: -1})
	if resps, err := adm.CommitOffsets(ctx, "readers", offs); err != nil || resps.Error() != nil {
		t.Fatalf("commit: %v %v", err, resps.Error())
	}
	var groups struct {
		Groups []struct {
			ID  string `json:"id"`
			Lag *int64 `json:"lag"`
		} `json:"groups"`
	}
	c.expect("GET", "/api/groups", nil, &groups, 200)
	if len(groups.Groups) != 1 || groups.Groups[0].ID != "readers" || groups.Groups[0].Lag == nil || *groups.Groups[0].Lag != 6 {
		t.Errorf("GET /api/groups: got %+v; want readers lagging 6", groups.Groups)
	}
	var group struct {
		State   string `json:"state"`
		Lag     *int64 `json:"lag"`
		Offsets []struct {
			Partition int32 `json:"partition"`
			Committed int64 `json:"committed"`
			End       int64 `json:"end"`
			Lag       int64 `json:"lag"`
		} `json:"offsets"`
	}
	c.expect("GET", "/api/groups/readers", nil, &group, 200)
	if group.Lag == nil || *group.Lag != 6 || len(group.Offsets) != 1 || group.Offsets[0].Committed != 4 || group.Offsets[0].End != 10 {
		t.Errorf("GET /api/groups/readers: got %+v; want partition 0 at 4 of 10", group)
	}
	c.expect("POST", "/api/groups/readers/reset", map[string]any{"to": "earliest"}, nil, 200)
	c.expect("GET", "/api/groups/readers", nil, &group, 200)
	if group.Lag == nil || *group.Lag != 10 {
		t.Errorf("after a reset to earliest: got lag %v; want 10", group.Lag)
	}
	c.expect("POST", "/api/groups/readers/reset", map[string]any{"to": "offset", "value": 8, "topic": "web"}, nil, 200)
	c.expect("GET", "/api/groups/readers", nil, &group, 200)
	if group.Lag == nil || *group.Lag != 2 {
		t.Errorf("after a reset to offset 8: got lag %v; want 2", group.Lag)
	}
	c.expect("POST", "/api/groups/readers/reset", map[string]any{"to": "somewhere"}, nil, 400)
	c.expect("GET", "/api/groups/nobody", nil, nil, 404)

	var series struct {
		IntervalMs int64             `json:"intervalMs"`
		Throughput []json.RawMessage `json:"throughput"`
		Lag        []json.RawMessage `json:"lag"`
	}
	c.expect("GET", "/api/metrics/series?topic=web&group=readers", nil, &series, 200)
	if series.IntervalMs <= 0 || series.Throughput == nil || series.Lag == nil {
		t.Errorf("GET /api/metrics/series: got %+v; want an interval and two lists", series)
	}

	c.expect("DELETE", "/api/topics/web", nil, nil, 204)
	c.expect("GET", "/api/nothing", nil, nil, 404)
	c.expect("GET", "/nothing", nil, nil, 404)
	c.expect("PUT", "/api/topics", nil, nil, 405)
}

// TestConsoleLogin: on a SASL listener the console asks operators to log
// in as the broker's users; wrong credentials are refused, and a user
// the ACLs allow only to describe sees topics but cannot create one.
func TestConsoleLogin(t *testing.T) {
	b := startSASLBroker(t, map[string]string{"admin.listener": "127.0.0.1:0",
		"authorizer.class.name": "kafka.security.authorizer.AclAuthorizer", "super.users": "User:ANONYMOUS;User:admin"})
	// SCRAM users for an administrator and a reader, stored through the
	// PLAINTEXT listener (a super user there).
	cl, err := kgo.NewClient(kgo.SeedBrokers(b.Addr().String()))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	req := kmsg.NewPtrAlterUserSCRAMCredentialsRequest()
	req.Upsertions = append(req.Upsertions, upsertion("admin", "admin-secret", 4096), upsertion("reader", "reader-secret", 4096))
	if _, err := req.RequestWith(ctx, cl); err != nil {
		t.Fatal(err)
	}
	adm := kadm.NewClient(cl)
	if _, err := adm.CreateTopic(ctx, 1, 1, nil, "seen"); err != nil {
		t.Fatal(err)
	}
	acl := kadm.NewACLs().Allow("User:reader").Topics("*").Groups("*").Operations(kadm.OpDescribe, kadm.OpRead).
		ResourcePatternType(kadm.ACLPatternLiteral)
	if res, err := adm.CreateACLs(ctx, acl); err != nil || res[0].Err != nil {
		t.Fatalf("CreateACLs: %v %v", err, res)
	}
	// The SCRAM credentials must authenticate before the console can use them.
	probe, _ := kgo.NewClient(kgo.SeedBrokers(b.ListenerAddr("SASL_PLAINTEXT").String()),
		kgo.SASL(scram.Auth{User: "reader", Pass: "reader-secret"}.AsSha256Mechanism()))
	defer probe.Close()
	if err := probe.Ping(ctx); err != nil {
		t.Fatalf("reader's SCRAM login: %v", err)
	}

	c := newConsoleClient(t, b)
	var s sessionReply
	c.expect("GET", "/api/session", nil, &s, 200)
	if !s.LoginRequired || s.LoggedIn || len(s.Mechanisms) != 2 {
		t.Fatalf("session before login: got %+v; want a login with PLAIN and SCRAM-SHA-256", s)
	}
	c.expect("GET", "/api/topics", nil, nil, 401)
	c.expect("POST", "/api/login", map[string]string{"user": "reader", "password": "wrong", "mechanism": "SCRAM-SHA-256"}, nil, 401)
	c.expect("POST", "/api/login", map[string]string{"user": "reader", "password": "reader-secret", "mechanism": "GSSAPI"}, nil, 400)
	c.expect("POST", "/api/login", map[string]string{"user": "reader", "password": "reader-secret", "mechanism": "SCRAM-SHA-256"}, &s, 200)
	if !s.LoggedIn || s.Principal != "User:reader" || s.CanAlter {
		t.Errorf("reader's session: got %+v; want logged in as User:reader, read-only", s)
	}
	c.csrf = s.CSRF
	var topics struct {
		Topics []struct {
			Name string `json:"name"`
		} `json:"topics"`
	}
	c.expect("GET", "/api/topics", nil, &topics, 200)
	if len(topics.Topics) != 1 || topics.Topics[0].Name != "seen" {
		t.Errorf("reader's topics: got %+v; want seen", topics.Topics)
	}
	c.expect("POST", "/api/topics", map[string]any{"name": "nope"}, nil, 403)
	c.expect("DELETE", "/api/topics/seen", nil, nil, 403)
	c.expect("POST", "/api/logout", nil, nil, 204)
	c.expect("GET", "/api/topics", nil, nil, 401)

	admin := newConsoleClient(t, b)
	admin.expect("POST", "/api/login", map[string]string{"user": "admin", "password": "admin-secret", "mechanism": "SCRAM-SHA-256"}, &s, 200)
	if !s.CanAlter {
		t.Errorf("admin's session: got %+v; want may alter", s)
	}
	admin.csrf = s.CSRF
	admin.expect("POST", "/api/topics", map[string]any{"name": "made"}, nil, 201)
}
