package main

// The web console in a real headless browser (Debian's chromium, driven
// through the DevTools protocol with chromedp) against a real broker
// process: create a topic, produce through a client, find records by
// offset and by time (HTML in keys and values shown as text), watch a
// group's lag fall to zero, a narrow window without horizontal
// scrolling, and no errors in the page's console. Screenshots are saved
// under $CK_ARTIFACTS (default: the system's temporary directory,
// cloudkafka-artifacts/console).

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/emulation"
	"github.com/chromedp/chromedp"
	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"
)

// browser is one headless chromium tab and what its console reported.
type browser struct {
	t    *testing.T
	ctx  context.Context
	base string // the console's URL
	dir  string // where screenshots go

	mu     sync.Mutex
	errors []string
}

func startBrowser(t *testing.T, base string, extra ...chromedp.ExecAllocatorOption) *browser {
	t.Helper()
	path, err := exec.LookPath("chromium")
	requireTool(t, "chromium", err)
	opts := append(chromedp.DefaultExecAllocatorOptions[:], chromedp.ExecPath(path), chromedp.NoSandbox,
		chromedp.DisableGPU, chromedp.WindowSize(1280, 900))
	opts = append(opts, extra...)
	actx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancelTab := chromedp.NewContext(actx)
	t.Cleanup(func() { cancelTab(); cancelAlloc() })
	dir := os.Getenv("CK_ARTIFACTS")
	if dir == "" {
		dir = filepath.Join(os.TempDir(), "cloudkafka-artifacts")
	}
	dir = filepath.Join(dir, "console")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatalf("artifacts: %v", err)
	}
	b := &browser{t: t, ctx: ctx, base: base, dir: dir}
	if err := chromedp.Do(ctx, chromedp.Navigate("about:blank")); err != nil { // starts the browser
		t.Fatalf("starting chromium: %v", err)
	}
	if _, err := chromedp.Call(ctx, emulation.SetTimezoneOverride, emulation.SetTimezoneOverrideParams{TimezoneID: "UTC"}); err != nil {
		t.Fatalf("chromium time zone: %v", err)
	}
	go func() {
		for m, err := range chromedp.Console(ctx) {
			if err != nil {
				return
			}
			if m.IsException() || m.Type == chromedp.ConsoleError {
				b.mu.Lock()
				b.errors = append(b.errors, m.String())
				b.mu.Unlock()
			}
		}
	}()
	t.Logf("console screenshots go to %s", dir)
	return b
}

// do runs steps in the tab, each bounded; a failure takes a screenshot
// and stops the test.
func (b *browser) do(what string, steps ...chromedp.Action[chromedp.Void]) {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, 30*time.Second)
	defer cancel()
	if err := chromedp.Do(ctx, steps...); err != nil {
		b.shot("failed-" + strings.ReplaceAll(what, " ", "-"))
		b.t.Fatalf("%s: %v (errors in the page: %q)", what, err, b.pageErrors())
	}
}

// eval evaluates a JavaScript expression in the page.
func eval[T any](b *browser, expr string) T {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, 30*time.Second)
	defer cancel()
	v, err := chromedp.Run(ctx, chromedp.Evaluate[T](expr))
	if err != nil {
		b.t.Fatalf("evaluating %s: %v", expr, err)
	}
	return v
}

// text is the text of the first element a CSS selector finds.
func (b *browser) text(sel string) string {
	b.t.Helper()
	return eval[string](b, fmt.Sprintf(`(document.querySelector(%q) || {textContent: "(no element)"}).textContent`, sel))
}

// set sets a form field's value as a user would (with its input and
// change events).
func (b *browser) set(sel, value string) chromedp.Action[chromedp.Void] {
	return chromedp.Func(func(ctx context.Context, t *chromedp.Target) error {
		_, err := chromedp.Evaluate[bool](fmt.Sprintf(`(() => { const el = document.querySelector(%q); if (!el) throw new Error("no element %s");
			el.value = %q; el.dispatchEvent(new Event("input", {bubbles: true})); el.dispatchEvent(new Event("change", {bubbles: true})); return true })()`,
			sel, strings.ReplaceAll(sel, `"`, `'`), value))(ctx, t)
		return err
	})
}

// until waits until a JavaScript expression is true in the page.
func until(expr string) chromedp.Action[chromedp.Void] {
	return chromedp.Func(func(ctx context.Context, t *chromedp.Target) error {
		_, err := chromedp.Poll[bool](expr, chromedp.WithPollingTimeout(20*time.Second))(ctx, t)
		return err
	})
}

// firstOffset is an expression: the first row of the message table
// shows offset n.
func firstOffset(n int) string {
	return fmt.Sprintf(`(document.querySelector("#messages-table tr[data-offset]") || {dataset: {}}).dataset.offset === "%d"`, n)
}

func click(sel string) chromedp.Action[chromedp.Void] { return chromedp.Click(chromedp.CSS(sel)) }

func visible(sel string) chromedp.Action[chromedp.Void] {
	return chromedp.WaitVisible(chromedp.CSS(sel))
}

// shot saves a screenshot of the whole page as name.png.
func (b *browser) shot(name string) {
	ctx, cancel := context.WithTimeout(b.ctx, 30*time.Second)
	defer cancel()
	png, err := chromedp.Run(ctx, chromedp.FullScreenshot(100))
	if err == nil {
		err = os.WriteFile(filepath.Join(b.dir, name+".png"), png, 0o644)
	}
	if err != nil {
		b.t.Logf("screenshot %s: %v", name, err)
	}
}

// forget drops the page errors so far that contain text: a failure the
// test caused on purpose (the browser logs every 4xx answer).
func (b *browser) forget(text string) {
	b.mu.Lock()
	defer b.mu.Unlock()
	kept := b.errors[:0]
	for _, e := range b.errors {
		if !strings.Contains(e, text) {
			kept = append(kept, e)
		}
	}
	b.errors = kept
}

func (b *browser) pageErrors() []string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return append([]string(nil), b.errors...)
}

// open goes to a page of the console and waits until it has its data.
func (b *browser) open(hash, page string) {
	b.t.Helper()
	b.do("open "+hash, chromedp.Navigate(b.base+"/"+hash),
		visible(fmt.Sprintf(`#page[data-page=%q][data-ready="true"]`, page)))
}

func TestConsoleInBrowser(t *testing.T) {
	admin := freeAddr(t)
	bk := startBroker(t, "admin.listener="+admin)
	b := startBrowser(t, "http://"+admin)

	// Create a topic through the form.
	b.open("#/topics", "topics")
	b.do("create topic", b.set("#topic-create-name", "clicks"), b.set("#topic-create-partitions", "2"),
		b.set("#topic-create-rf", "1"), click("#topic-create-submit"), visible(`#topics-table tr[data-topic="clicks"]`))
	if parts := b.text(`#topics-table tr[data-topic="clicks"] td.partitions`); strings.TrimSpace(parts) != "2" {
		t.Errorf("topics table: clicks shows %q partitions; want 2", parts)
	}
	b.shot("01-topics")

	// Produce 20 records a minute apart, with markup in keys and values.
	cl := newClient(t, bk, kgo.RecordPartitioner(kgo.ManualPartitioner()))
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	base := time.Date(2026, 11, 2, 10, 0, 0, 0, time.UTC)
	for i := 0; i < 20; i++ {
		rec := &kgo.Record{Topic: "clicks", Partition: 0, Timestamp: base.Add(time.Duration(i) * time.Minute),
			Key:     []byte(fmt.Sprintf(`<img src=x onerror="window.__xss=%d">`, i)),
			Value:   []byte(fmt.Sprintf(`{"click":%d,"page":"<script>window.__xss=1</script>"}`, i)),
			Headers: []kgo.RecordHeader{{Key: "source", Value: []byte("<b>web</b>")}}}
		if err := cl.ProduceSync(ctx, rec).FirstErr(); err != nil {
			t.Fatalf("produce: %v", err)
		}
	}

	// Find records by offset.
	b.open("#/messages?topic=clicks&partition=0", "messages")
	b.do("query by offset", b.set("#msg-partition", "0"), b.set("#msg-mode", "offset"), b.set("#msg-offset", "5"),
		b.set("#msg-limit", "5"), click("#msg-submit"), until(firstOffset(5)))
	key, value := b.text(`#messages-table tr[data-offset="5"] td.key`), b.text(`#messages-table tr[data-offset="5"] td.value`)
	rows := eval[int](b, `document.querySelectorAll("#messages-table tr[data-offset]").length`)
	if !strings.Contains(key, `<img src=x onerror="window.__xss=5">`) || !strings.Contains(value, `"click":5`) || rows != 5 {
		t.Errorf("offset 5: got key %q, value %q in %d rows; want record 5's, as text, in 5 rows", key, value, rows)
	}
	if n, xss := eval[int](b, `document.querySelectorAll("#page img, #page script, #page b").length`), eval[bool](b, `window.__xss !== undefined`); n != 0 || xss {
		t.Errorf("markup from records became elements (%d) or ran (%v); want it shown as text", n, xss)
	}
	b.shot("02-messages-by-offset")
	b.do("json view", b.set("#msg-view", "json"))
	if value = b.text(`#messages-table tr[data-offset="5"] td.value`); !strings.Contains(value, "\n") || !strings.Contains(value, `"click": 5`) {
		t.Errorf("JSON view of offset 5: got %q; want it pretty-printed", value)
	}
	b.shot("03-messages-json")

	// Find a record by time: 10:00 + 12 minutes is offset 12.
	b.do("query by time", b.set("#msg-mode", "timestamp"), b.set("#msg-time", base.Add(12*time.Minute).Format("2006-01-02T15:04")),
		click("#msg-submit"), until(firstOffset(12)))
	if first := eval[string](b, `document.querySelector("#messages-table tr[data-offset]").dataset.offset`); first != "12" {
		t.Errorf("by time %s: first row is offset %s; want 12", base.Add(12*time.Minute), first)
	}
	b.shot("04-messages-by-time")

	// A group that read 5 records lags 15 on partition 0, then none.
	adm := kadm.NewClient(cl)
	commit := func(at int64) {
		offs := kadm.Offsets{}
		offs.Add(kadm.Offset{Topic: "clicks", Partition: 0, At: at, LeaderEpoch: -1})
		if resps, err := adm.CommitOffsets(ctx, "dashboards", offs); err != nil || resps.Error() != nil {
			t.Fatalf("commit %d: %v %v", at, err, resps.Error())
		}
	}
	commit(5)
	b.open("#/groups/dashboards", "group")
	if lag := b.text("#group-lag"); strings.TrimSpace(lag) != "15" {
		t.Errorf("group dashboards: lag %q; want 15", lag)
	}
	b.shot("05-group-lagging")
	commit(20)
	b.do("lag falls to zero", visible(`#offsets-table tr[data-topic="clicks"][data-partition="0"]`),
		until(`document.querySelector("#group-lag").textContent.trim() === "0"`))
	b.shot("06-group-caught-up")

	// A group id with markup in it (group ids are free text) is shown as
	// text, in the list and on its page.
	evil := `<img src=x onerror="window.__xss='group'">`
	offs := kadm.Offsets{}
	offs.Add(kadm.Offset{Topic: "clicks", Partition: 0, At: 1, LeaderEpoch: -1})
	if resps, err := adm.CommitOffsets(ctx, evil, offs); err != nil || resps.Error() != nil {
		t.Fatalf("commit for %s: %v %v", evil, err, resps.Error())
	}
	b.open("#/groups", "groups")
	b.do("evil group listed", until(fmt.Sprintf(`[...document.querySelectorAll("#groups-table tr[data-group]")].some(r => r.dataset.group === %q)`, evil)))
	b.open("#/groups/"+url.PathEscape(evil), "group")
	if id := b.text("#group-id"); id != evil {
		t.Errorf("group page of %q: shows id %q; want it as text", evil, id)
	}
	if n, xss := eval[int](b, `document.querySelectorAll("#page img").length`), eval[bool](b, `window.__xss !== undefined`); n != 0 || xss {
		t.Errorf("a group id's markup became elements (%d) or ran (%v); want it shown as text", n, xss)
	}
	b.shot("07-group-markup")

	// The charts draw from the broker's own counters.
	b.open("#/charts", "charts")
	b.do("charts", visible("canvas#chart-throughput"), visible("canvas#chart-lag"))
	b.shot("08-charts")

	// A narrow window: no horizontal scrolling of the page.
	b.do("narrow", chromedp.EmulateViewport(375, 800, chromedp.EmulateScale(2), chromedp.EmulateMobile))
	for _, p := range []struct{ hash, page string }{{"#/topics", "topics"}, {"#/messages?topic=clicks&partition=0", "messages"}, {"#/groups/dashboards", "group"}} {
		b.open(p.hash, p.page)
		if eval[bool](b, `document.documentElement.scrollWidth > window.innerWidth + 1`) {
			t.Errorf("%s at 375 px: the page scrolls sideways; want it to fit", p.hash)
		}
		b.shot("09-narrow-" + p.page)
	}

	if errs := b.pageErrors(); len(errs) > 0 {
		t.Errorf("errors in the page's console: %q", errs)
	}
}

// TestConsoleLoginInBrowser: the admin listener over TLS, the console on
// a SASL listener with ACLs: an operator logs in as a broker user; a
// reader (Describe and Read only) sees topics but no control that
// changes them; an administrator gets them back.
func TestConsoleLoginInBrowser(t *testing.T) {
	admin := freeAddr(t)
	bk, _, _, roots := saslBroker(t, "admin.listener=https://"+admin,
		"authorizer.class.name=kafka.security.authorizer.AclAuthorizer", "super.users=User:ANONYMOUS;User:admin")
	upsertSCRAM(t, bk, kadm.UpsertSCRAM{User: "admin", Mechanism: kadm.ScramSha256, Iterations: 4096, Password: "admin-secret"},
		kadm.UpsertSCRAM{User: "reader", Mechanism: kadm.ScramSha256, Iterations: 4096, Password: "reader-secret"})
	adm := kadm.NewClient(newClient(t, bk))
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if _, err := adm.CreateTopic(ctx, 1, 1, nil, "seen"); err != nil {
		t.Fatalf("CreateTopic: %v", err)
	}
	acl := kadm.NewACLs().Allow("User:reader").Topics("*").Groups("*").Operations(kadm.OpDescribe, kadm.OpRead).
		ResourcePatternType(kadm.ACLPatternLiteral)
	if res, err := adm.CreateACLs(ctx, acl); err != nil || res[0].Err != nil {
		t.Fatalf("CreateACLs: %v %v", err, res)
	}

	// The admin listener serves TLS with the broker's certificate.
	hc := &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{TLSClientConfig: roots}}
	resp, err := hc.Get("https://" + admin + "/api/session")
	if err != nil {
		t.Fatalf("GET https://%s/api/session with the broker's CA: %v", admin, err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Errorf("GET /api/session over TLS: got %d; want 200", resp.StatusCode)
	}
	if resp, err := (&http.Client{Timeout: 5 * time.Second}).Get("http://" + admin + "/api/session"); err == nil && resp.StatusCode < 400 {
		resp.Body.Close()
		t.Errorf("plain HTTP to the TLS admin listener: got %d; want it refused", resp.StatusCode)
	}

	// The browser does not know the test's CA.
	b := startBrowser(t, "https://"+admin, chromedp.Flag("ignore-certificate-errors", true))
	login := func(user, password string) {
		b.do("log in as "+user, b.set("#login-user", user), b.set("#login-password", password),
			b.set("#login-mechanism", "SCRAM-SHA-256"), click("#login-submit"))
	}
	b.open("", "login")
	login("reader", "wrong")
	b.do("refused", until(`document.querySelector("#login-error").textContent.trim() !== ""`))
	b.forget("status of 401") // the refused login's answer
	b.shot("11-login-refused")
	login("reader", "reader-secret")
	b.do("logged in", until(`document.querySelector("#whoami").textContent.includes("User:reader")`))
	b.open("#/topics", "topics")
	b.do("reader sees topics", visible(`#topics-table tr[data-topic="seen"]`))
	if n := eval[int](b, `document.querySelectorAll("#topic-create-submit").length`); n != 0 {
		t.Errorf("a reader's topics page has a create button; want none")
	}
	b.shot("12-reader-topics")
	b.open("#/topics/seen", "topic")
	if n := eval[int](b, `document.querySelectorAll("#topic-delete, #config-edit-submit, #add-partitions-submit").length`); n != 0 {
		t.Errorf("a reader's topic page has %d controls that change it; want none", n)
	}
	if txt := eval[string](b, `document.querySelector("#page").textContent`); strings.Contains(txt, "null") || strings.Contains(txt, "undefined") {
		t.Errorf("a reader's topic page shows %q; want no null or undefined", txt)
	}
	b.shot("13-reader-topic")

	b.do("log out", click("#logout"), visible(`#page[data-page="login"]`))
	login("admin", "admin-secret")
	b.do("admin logged in", until(`document.querySelector("#whoami").textContent.includes("User:admin")`))
	b.open("#/topics", "topics")
	b.do("admin may create", visible("#topic-create-submit"))
	b.shot("14-admin-topics")
	if errs := b.pageErrors(); len(errs) > 0 {
		t.Errorf("errors in the page's console: %q", errs)
	}
}
