package main

// The web console in headless Firefox (Debian's firefox-esr), driven
// through Marionette, Firefox's own remote protocol: the same page
// works there as in Chromium (e2e_console_test.go). Marionette's
// framing is "<length>:<JSON>"; a command is [0, id, name, params] and
// its answer [1, id, error, result].

import (
	"bufio"
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"
)

// marionette is a session with one headless Firefox.
type marionette struct {
	t    *testing.T
	conn net.Conn
	r    *bufio.Reader
	id   int
	dir  string // screenshots

	mu     sync.Mutex
	output strings.Builder // Firefox's stdout and stderr
}

func startFirefox(t *testing.T) *marionette {
	t.Helper()
	path, err := exec.LookPath("firefox-esr")
	if err != nil {
		path, err = exec.LookPath("firefox")
	}
	requireTool(t, "firefox-esr", err)
	profile := t.TempDir()
	port := freeAddr(t)
	_, portNum, _ := net.SplitHostPort(port)
	prefs := strings.Join([]string{
		`user_pref("marionette.port", ` + portNum + `);`,
		`user_pref("devtools.console.stdout.content", true);`, // the page's console on stdout
		`user_pref("browser.shell.checkDefaultBrowser", false);`,
		`user_pref("datareporting.policy.dataSubmissionEnabled", false);`,
		`user_pref("app.update.enabled", false);`,
	}, "\n")
	if err := os.WriteFile(filepath.Join(profile, "user.js"), []byte(prefs), 0o644); err != nil {
		t.Fatal(err)
	}
	m := &marionette{t: t}
	cmd := exec.Command(path, "--headless", "--marionette", "--no-remote", "--profile", profile, "--width", "1280", "--height", "900")
	cmd.Stdout, cmd.Stderr = lockedWriter{&m.mu, &m.output}, lockedWriter{&m.mu, &m.output}
	cmd.Env = append(os.Environ(), "MOZ_HEADLESS=1")
	if err := cmd.Start(); err != nil {
		t.Fatalf("starting Firefox: %v", err)
	}
	t.Cleanup(func() {
		if m.conn != nil {
			m.conn.Close()
		}
		cmd.Process.Kill()
		cmd.Wait()
	})
	for deadline := time.Now().Add(60 * time.Second); ; time.Sleep(200 * time.Millisecond) {
		if m.conn, err = net.Dial("tcp", "127.0.0.1:"+portNum); err == nil {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("Firefox's Marionette did not listen on %s: %v; output:\n%s", portNum, err, m.firefoxOutput())
		}
	}
	m.r = bufio.NewReader(m.conn)
	var hello map[string]any
	if err := m.read(&hello); err != nil || hello["applicationType"] != "gecko" {
		t.Fatalf("Marionette greeting: %v %v", hello, err)
	}
	m.call("WebDriver:NewSession", map[string]any{"capabilities": map[string]any{}})
	dir := os.Getenv("CK_ARTIFACTS")
	if dir == "" {
		dir = filepath.Join(os.TempDir(), "cloudkafka-artifacts")
	}
	m.dir = filepath.Join(dir, "console-firefox")
	if err := os.MkdirAll(m.dir, 0o755); err != nil {
		t.Fatal(err)
	}
	t.Logf("Firefox screenshots go to %s", m.dir)
	return m
}

func (m *marionette) firefoxOutput() string {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.output.String()
}

// read reads one "<length>:<JSON>" packet into v.
func (m *marionette) read(v any) error {
	m.conn.SetReadDeadline(time.Now().Add(60 * time.Second))
	head, err := m.r.ReadString(':')
	if err != nil {
		return err
	}
	n, err := strconv.Atoi(strings.TrimSuffix(head, ":"))
	if err != nil || n < 0 || n > 64<<20 {
		return fmt.Errorf("bad Marionette packet length %q", head)
	}
	body := make([]byte, n)
	if _, err := io.ReadFull(m.r, body); err != nil {
		return err
	}
	return json.Unmarshal(body, v)
}

// call sends a command and returns its result; an error answer stops
// the test.
func (m *marionette) call(name string, params any) json.RawMessage {
	m.t.Helper()
	res, err := m.try(name, params)
	if err != nil {
		m.shot("failed-" + strings.ReplaceAll(name, ":", "-"))
		m.t.Fatalf("Marionette %s: %v", name, err)
	}
	return res
}

func (m *marionette) try(name string, params any) (json.RawMessage, error) {
	m.id++
	body, _ := json.Marshal([]any{0, m.id, name, params})
	if _, err := fmt.Fprintf(m.conn, "%d:%s", len(body), body); err != nil {
		return nil, err
	}
	var answer []json.RawMessage
	if err := m.read(&answer); err != nil {
		return nil, err
	}
	if len(answer) != 4 {
		return nil, fmt.Errorf("malformed answer %s", answer)
	}
	if string(answer[2]) != "null" {
		return nil, fmt.Errorf("%s", answer[2])
	}
	return answer[3], nil
}

// eval runs a script (its body returns a value) and decodes the value.
func (m *marionette) eval(script string, v any) error {
	res, err := m.try("WebDriver:ExecuteScript", map[string]any{"script": script, "args": []any{}})
	if err != nil {
		return err
	}
	var out struct {
		Value json.RawMessage `json:"value"`
	}
	if err := json.Unmarshal(res, &out); err != nil {
		return err
	}
	return json.Unmarshal(out.Value, v)
}

// until waits until a JavaScript expression is true in the page.
func (m *marionette) until(what, expr string) {
	m.t.Helper()
	var ok bool
	var err error
	for deadline := time.Now().Add(20 * time.Second); time.Now().Before(deadline); time.Sleep(100 * time.Millisecond) {
		if err = m.eval("return !!("+expr+");", &ok); err == nil && ok {
			return
		}
	}
	m.shot("failed-" + strings.ReplaceAll(what, " ", "-"))
	m.t.Fatalf("Firefox: %s: %s never held (%v); output:\n%s", what, expr, err, m.firefoxOutput())
}

// do runs statements in the page.
func (m *marionette) do(what, js string) {
	m.t.Helper()
	var ignored any
	if err := m.eval(js+"; return null;", &ignored); err != nil {
		m.shot("failed-" + strings.ReplaceAll(what, " ", "-"))
		m.t.Fatalf("Firefox: %s: %v", what, err)
	}
}

// set is the statement that sets a field as a user would.
func set(sel, value string) string {
	return fmt.Sprintf(`{ const el = document.querySelector(%q); el.value = %q; el.dispatchEvent(new Event("input", {bubbles: true})); el.dispatchEvent(new Event("change", {bubbles: true})); }`, sel, value)
}

func clickJS(sel string) string { return fmt.Sprintf(`document.querySelector(%q).click()`, sel) }

func (m *marionette) open(url, page string) {
	m.t.Helper()
	m.call("WebDriver:Navigate", map[string]any{"url": url})
	m.until("open "+url, fmt.Sprintf(`document.querySelector('#page[data-page=%q][data-ready="true"]')`, page))
}

func (m *marionette) shot(name string) {
	res, err := m.try("WebDriver:TakeScreenshot", map[string]any{"full": true, "hash": false})
	if err != nil {
		m.t.Logf("Firefox screenshot %s: %v", name, err)
		return
	}
	var out struct {
		Value string `json:"value"`
	}
	png, err := []byte(nil), json.Unmarshal(res, &out)
	if err == nil {
		png, err = base64.StdEncoding.DecodeString(out.Value)
	}
	if err == nil {
		err = os.WriteFile(filepath.Join(m.dir, name+".png"), png, 0o644)
	}
	if err != nil {
		m.t.Logf("Firefox screenshot %s: %v", name, err)
	}
}

// pageErrors are the errors Firefox printed for the console's pages:
// uncaught exceptions and console.error calls.
func (m *marionette) pageErrors(origin string) []string {
	var out []string
	for _, line := range strings.Split(m.firefoxOutput(), "\n") {
		if (strings.Contains(line, "JavaScript error") || strings.HasPrefix(strings.TrimSpace(line), "console.error")) && strings.Contains(line, origin) {
			out = append(out, line)
		}
	}
	return out
}

// TestConsoleInFirefox: the console's main paths in Firefox: create a
// topic, read records by offset with markup in them shown as text, a
// group's lag, a narrow window.
func TestConsoleInFirefox(t *testing.T) {
	admin := freeAddr(t)
	bk := startBroker(t, "admin.listener="+admin)
	base := "http://" + admin + "/"
	m := startFirefox(t)

	m.open(base+"#/topics", "topics")
	m.do("create topic", set("#topic-create-name", "views")+set("#topic-create-partitions", "1")+clickJS("#topic-create-submit"))
	m.until("topic listed", `document.querySelector('#topics-table tr[data-topic="views"]')`)
	m.shot("01-topics")

	cl := newClient(t, bk, kgo.RecordPartitioner(kgo.ManualPartitioner()))
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	for i := 0; i < 10; i++ {
		rec := &kgo.Record{Topic: "views", Partition: 0, Key: []byte(fmt.Sprintf(`<img src=x onerror="window.__xss=%d">`, i)),
			Value: []byte(fmt.Sprintf(`{"view":%d}`, i))}
		if err := cl.ProduceSync(ctx, rec).FirstErr(); err != nil {
			t.Fatalf("produce: %v", err)
		}
	}
	m.open(base+"#/messages?topic=views&partition=0", "messages")
	m.do("query", set("#msg-mode", "offset")+set("#msg-offset", "3")+set("#msg-limit", "4")+clickJS("#msg-submit"))
	m.until("offset 3 first", `(document.querySelector("#messages-table tr[data-offset]") || {dataset: {}}).dataset.offset === "3"`)
	var key string
	var rows, elems int
	var xss bool
	if err := m.eval(`return document.querySelector('#messages-table tr[data-offset="3"] td.key').textContent;`, &key); err != nil {
		t.Fatal(err)
	}
	m.eval(`return document.querySelectorAll("#messages-table tr[data-offset]").length;`, &rows)
	m.eval(`return document.querySelectorAll("#page img").length;`, &elems)
	m.eval(`return window.__xss !== undefined;`, &xss)
	if !strings.Contains(key, `<img src=x onerror="window.__xss=3">`) || rows != 4 || elems != 0 || xss {
		t.Errorf("Firefox, offset 3: key %q, %d rows, %d images, ran %v; want the key as text in 4 rows", key, rows, elems, xss)
	}
	m.shot("02-messages")

	adm := kadm.NewClient(cl)
	offs := kadm.Offsets{}
	offs.Add(kadm.Offset{Topic: "views", Partition: 0, At: 4, LeaderEpoch: -1})
	if resps, err := adm.CommitOffsets(ctx, "watchers", offs); err != nil || resps.Error() != nil {
		t.Fatalf("commit: %v %v", err, resps.Error())
	}
	m.open(base+"#/groups/watchers", "group")
	m.until("lag 6", `document.querySelector("#group-lag").textContent.trim() === "6"`)
	m.shot("03-group")

	m.call("WebDriver:SetWindowRect", map[string]any{"width": 375, "height": 800})
	m.open(base+"#/topics", "topics")
	// Firefox keeps a window at least about 500 px wide.
	var overflow bool
	var width int
	m.eval(`return document.documentElement.scrollWidth > window.innerWidth + 1;`, &overflow)
	m.eval(`return window.innerWidth;`, &width)
	if width > 520 {
		t.Errorf("Firefox's narrow window is %d px wide; want at most 520", width)
	}
	if overflow {
		t.Errorf("Firefox at %d px: the topics page scrolls sideways; want it to fit", width)
	}
	m.shot("04-narrow-topics")
	if errs := m.pageErrors(admin); len(errs) > 0 {
		t.Errorf("Firefox reported errors in the page: %q", errs)
	}
}
