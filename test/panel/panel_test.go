//go:build envtest

package panel

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// Viewports the screenshots are taken at: a laptop and a phone.
const (
	desktopW, desktopH = 1280, 800
	phoneW, phoneH     = 390, 844
	// narrowW is the narrowest phone the panel is laid out for.
	narrowW, narrowH = 375, 740
)

// TestPanel drives the debug panel in headless chromium against the local
// stack: hello to SUCCESS with its greeting, poller watched execute by
// execute, callbacker completed with the callback button, and the deployer's
// task.json form refusing a production deploy without an approver.
func TestPanel(t *testing.T) {
	if os.Getenv("KUBEBUILDER_ASSETS") == "" {
		t.Skip("KUBEBUILDER_ASSETS is unset; make test sets it (hack/setup-envtest.sh)")
	}
	browser := chromiumPath(t)
	artifacts := artifactsDir(t)
	// The shim requires a bearer token, as every shim does: the page must
	// load without it and ask for it; the user pastes the dev token the
	// local stack printed in its READY line.
	shim, token := startStack(t)
	if token == "" {
		t.Fatal("the local stack's READY line names no dev token")
	}

	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	allocCtx, cancelAlloc := chromedp.NewExecAllocator(ctx,
		chromedp.ExecPath(browser),
		chromedp.UserDataDir(t.TempDir()),
		chromedp.WindowSize(desktopW, desktopH),
		// The flags this machine needs: no sandbox as root, no GPU, and
		// none of Chrome's own network traffic, which the closed network
		// refuses.
		chromedp.Flag("headless", true),
		chromedp.Flag("no-sandbox", true),
		chromedp.Flag("disable-gpu", true),
		chromedp.Flag("disable-quic", true),
		chromedp.Flag("no-first-run", true),
		chromedp.Flag("no-default-browser-check", true),
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.Flag("disable-dev-shm-usage", true),
	)
	defer cancelAlloc()
	tab, cancelTab := chromedp.NewContext(allocCtx)
	defer cancelTab()

	// Every console error and uncaught exception of the page fails the
	// test: a broken script or a refused request would otherwise show only
	// as a timeout.
	var consoleMu sync.Mutex
	var consoleErrors []string
	messages := chromedp.Console(tab)
	if err := chromedp.Do(tab, chromedp.EmulateViewport(desktopW, desktopH), chromedp.Navigate(shim+"/")); err != nil {
		t.Fatalf("open the panel: %v", err)
	}
	go func() {
		for m, err := range messages {
			if err != nil {
				return
			}
			// The page's first calls, before the token is typed, are
			// refused on purpose; Chrome logs each refused request.
			if strings.Contains(m.Text, "status of 401") {
				continue
			}
			// So is the invoke with a body over the shim's limit, which
			// shows a refused request.
			if strings.Contains(m.Text, "status of 413") {
				continue
			}
			if m.IsException() || m.Type == "error" || m.Type == "assert" {
				consoleMu.Lock()
				consoleErrors = append(consoleErrors, fmt.Sprintf("%s:%d %s", m.URL, m.Line+1, m))
				consoleMu.Unlock()
			}
		}
	}()
	t.Cleanup(func() {
		consoleMu.Lock()
		defer consoleMu.Unlock()
		for _, e := range consoleErrors {
			t.Errorf("browser console: %s", e)
		}
	})

	// do runs one step within its own deadline, so that a step that never
	// happens fails with what the page showed instead of using up the test.
	do := func(t *testing.T, what string, actions ...chromedp.Action[chromedp.Void]) {
		t.Helper()
		stepCtx, cancel := context.WithTimeout(tab, 30*time.Second)
		defer cancel()
		if err := chromedp.Do(stepCtx, actions...); err != nil {
			fail(t, tab, artifacts, "%s: %v", what, err)
		}
	}
	text := func(t *testing.T, sel string) string {
		t.Helper()
		s, err := chromedp.Run(tab, chromedp.Text(chromedp.CSS(sel)))
		if err != nil {
			fail(t, tab, artifacts, "read %s: %v", sel, err)
		}
		return s
	}

	t.Run("token", func(t *testing.T) {
		do(t, "see the page ask for the token",
			chromedp.WaitVisible(chromedp.CSS(`#token-error`)),
			chromedp.WaitNotPresent(chromedp.CSS(`a.version`)))
		if typ := attr(t, tab, `#token`, "type"); typ != "password" {
			t.Errorf("the bearer token field is type %q, want password", typ)
		}
		do(t, "type the token and see the plugins",
			chromedp.SendKeys(chromedp.CSS(`#token`), token),
			chromedp.Blur(chromedp.CSS(`#token`)),
			chromedp.WaitVisible(chromedp.CSS(`a.version[data-plugin="hello"][data-version="1.0.0"]`)),
			chromedp.WaitNotVisible(chromedp.CSS(`#token-error`)),
			// A token that works closes the box.
			chromedp.Poll[chromedp.Void](`!document.querySelector("#token-box").open`))
	})

	t.Run("hello", func(t *testing.T) {
		do(t, "pick hello 1.0.0",
			chromedp.Click(chromedp.CSS(`a.version[data-plugin="hello"][data-version="1.0.0"]`)),
			chromedp.WaitVisible(chromedp.CSS(`#invoke-form[data-plugin="hello"][data-version="1.0.0"]`)),
			chromedp.WaitVisible(chromedp.CSS(`#in-name`)),
			chromedp.SendKeys(chromedp.CSS(`#in-name`), "Panel"),
			chromedp.Click(chromedp.CSS(`#invoke`)))
		if got := waitTerminal(t, tab); got != "SUCCESS" {
			t.Fatalf("hello ended %s, want SUCCESS; error: %q", got, text(t, "#err"))
		}
		if got := text(t, "#outputs"); !strings.Contains(got, "Hello, Panel!") {
			t.Errorf("outputs %q do not hold the greeting Hello, Panel!", got)
		}
		if got := text(t, `#timeline`); !strings.Contains(got, "SUCCESS") {
			t.Errorf("timeline %q has no SUCCESS entry", got)
		}
		shot(t, tab, artifacts, "hello-desktop.png")
	})

	t.Run("poller", func(t *testing.T) {
		do(t, "pick poller 1.0.0 and invoke it with 3 polls a second apart",
			chromedp.Click(chromedp.CSS(`a.version[data-plugin="poller"][data-version="1.0.0"]`)),
			chromedp.WaitVisible(chromedp.CSS(`#invoke-form[data-plugin="poller"][data-version="1.0.0"]`)),
			chromedp.WaitVisible(chromedp.CSS(`#in-polls`)),
			chromedp.SetValue(chromedp.CSS(`#in-polls`), "3"),
			chromedp.SetValue(chromedp.CSS(`#in-interval`), "1"),
			chromedp.Click(chromedp.CSS(`#invoke`)))
		// Watch the timeline grow entry by entry while the invocation runs:
		// each wait ends when an entry is added or the invocation ends.
		var seen []int
		state, n := "", 0
		for !isTerminal(state) {
			res, err := chromedp.Run(tab, chromedp.Poll[[]any](fmt.Sprintf(
				`(() => { const s = document.querySelector("#invocation").dataset.state || "";
				 const n = document.querySelectorAll("#timeline > li").length;
				 return (n > %d || s === "SUCCESS" || s === "FAIL") ? [s, n] : null; })()`, n),
				chromedp.WithPollingTimeout(30*time.Second)))
			if err != nil {
				fail(t, tab, artifacts, "poller: no new timeline entry after %d: %v", n, err)
			}
			state, n = res[0].(string), int(res[1].(float64))
			seen = append(seen, n)
		}
		if state != "SUCCESS" {
			t.Fatalf("poller ended %s, want SUCCESS; error: %q", state, text(t, "#err"))
		}
		// EMPTY (the async invoke), POLL 1, 2, 3, then SUCCESS: at least 4
		// entries, seen arriving one at a time rather than all at the end.
		if n < 4 || len(seen) < 3 {
			t.Errorf("timeline grew %v to %d entries, want >= 4 seen growing", seen, n)
		}
		if got := text(t, `#timeline`); strings.Count(got, "POLL") < 2 || !strings.Contains(got, "executes: 4") {
			t.Errorf("timeline %q: want 2 or more POLL entries and the 4th execute (from --debug-api)", got)
		}
		if got := text(t, `#outputs`); !strings.Contains(got, "3") {
			t.Errorf("outputs %q: want polls_done 3", got)
		}
		do(t, "wait for the log", chromedp.Poll[chromedp.Void](`document.querySelector("#logs").textContent.includes("Succeeded")`,
			chromedp.WithPollingTimeout(15*time.Second)))
		shot(t, tab, artifacts, "poller-desktop.png")
		if os.Getenv("PANEL_UPDATE_DOCS") == "1" {
			copyFile(t, filepath.Join(artifacts, "poller-desktop.png"), "../../docs/panel.png")
		}
	})

	t.Run("callbacker", func(t *testing.T) {
		do(t, "pick callbacker 1.0.0 and invoke it",
			chromedp.Click(chromedp.CSS(`a.version[data-plugin="callbacker"][data-version="1.0.0"]`)),
			chromedp.WaitVisible(chromedp.CSS(`#invoke-form[data-plugin="callbacker"][data-version="1.0.0"]`)),
			chromedp.Click(chromedp.CSS(`#invoke`)),
			chromedp.WaitVisible(chromedp.CSS(`#invocation[data-state="CALLBACK"] #callback-send`)))
		do(t, "type the callback's data and send it",
			chromedp.Clear(chromedp.CSS(`#callback-data`)),
			chromedp.SendKeys(chromedp.CSS(`#callback-data`), `{"approved": true, "by": "panel-test"}`),
			chromedp.Click(chromedp.CSS(`#callback-send`)))
		if got := waitTerminal(t, tab); got != "SUCCESS" {
			t.Fatalf("callbacker ended %s, want SUCCESS; error: %q", got, text(t, "#err"))
		}
		if got := text(t, `#outputs`); !strings.Contains(got, `"by": "panel-test"`) {
			t.Errorf("outputs %q do not hold the callback's data", got)
		}
		// The first execute kept the callback id in its storage.
		if got := text(t, `#timeline .storage`); !strings.Contains(got, "callback_id") {
			t.Errorf("timeline storage %q does not hold the callback id", got)
		}
		if got := text(t, `#callback-result`); !strings.Contains(got, "success") {
			t.Errorf("callback result %q, want success", got)
		}
		shot(t, tab, artifacts, "callbacker-desktop.png")
	})

	t.Run("history", func(t *testing.T) {
		do(t, "pick poller 1.0.0 and see its history list the run above",
			chromedp.Click(chromedp.CSS(`a.version[data-plugin="poller"][data-version="1.0.0"]`)),
			chromedp.WaitVisible(chromedp.CSS(`#history[data-plugin="poller"] #history-rows tr.open-row[data-state="SUCCESS"]`)))
		trace := attr(t, tab, `#history-rows tr.open-row[data-state="SUCCESS"]`, "data-trace-id")
		if len(trace) != 32 {
			t.Fatalf("history row names trace id %q", trace)
		}
		do(t, "open the past invocation and see its timeline and log",
			chromedp.Click(chromedp.CSS(`#history-rows tr[data-trace-id="`+trace+`"] button`)),
			chromedp.WaitVisible(chromedp.CSS(`#invocation[data-state="SUCCESS"]`)),
			chromedp.Poll[chromedp.Void](`document.querySelector("#logs").textContent.includes("Succeeded")`,
				chromedp.WithPollingTimeout(15*time.Second)))
		if got := text(t, `#trace-id`); got != trace {
			t.Errorf("opened invocation %q, want %q", got, trace)
		}
		if got := text(t, `#logs`); !strings.Contains(got, "Created") || !strings.Contains(got, "polled") {
			t.Errorf("log of %s %q: want its timeline (Created) and the plugin's lines (polled)", trace, got)
		}
		do(t, "filter the history by FAIL",
			chromedp.SetValue(chromedp.CSS(`#history-state`), "FAIL"),
			chromedp.Evaluate[chromedp.Void](`document.querySelector("#history-state").dispatchEvent(new Event("change"))`),
			chromedp.WaitNotPresent(chromedp.CSS(`#history-rows tr[data-state="SUCCESS"]`)))
		shot(t, tab, artifacts, "history-desktop.png")
	})

	// shipper's inputs are a nested struct (to), an array of structs
	// (items), an array of strings (tags) and enums (to.country, speed):
	// the form renders each as fields of its own, not as a text box.
	t.Run("shipper nested inputs", func(t *testing.T) {
		do(t, "pick shipper 1.0.0 and see its nested, list and enum fields",
			chromedp.Click(chromedp.CSS(`a.version[data-plugin="shipper"][data-version="1.0.0"]`)),
			chromedp.WaitVisible(chromedp.CSS(`#invoke-form[data-plugin="shipper"][data-version="1.0.0"]`)),
			chromedp.WaitVisible(chromedp.CSS(`[data-field="to"] > fieldset.object [data-field="to.city"] input`)),
			chromedp.WaitVisible(chromedp.CSS(`[data-field="to.country"] select`)),
			chromedp.WaitVisible(chromedp.CSS(`[data-field="speed"] select`)),
			// items needs at least one: its first row is there at once.
			chromedp.WaitVisible(chromedp.CSS(`[data-field="items"] > fieldset.array [data-field="items[0].sku"] input`)))
		if got := options(t, tab, `[data-field="to.country"] select`); got != "CN,DE,US" {
			t.Errorf("country options %s, want the enum CN,DE,US", got)
		}
		if got := options(t, tab, `[data-field="speed"] select`); got != "standard,express" {
			t.Errorf("speed options %s, want the enum standard,express", got)
		}
		do(t, "fill the address, two items (adding three, removing one), a tag, and the speed",
			chromedp.SendKeys(chromedp.CSS(`[data-field="to.city"] input`), "Berlin"),
			chromedp.Evaluate[chromedp.Void](chooseOption(`[data-field="to.country"] select`, "DE")),
			chromedp.Evaluate[chromedp.Void](chooseOption(`[data-field="speed"] select`, "express")),
			chromedp.SendKeys(chromedp.CSS(`[data-field="items[0].sku"] input`), "a"),
			chromedp.SetValue(chromedp.CSS(`[data-field="items[0].quantity"] input`), "2"),
			chromedp.Click(chromedp.CSS(`[data-field="items"] button.add-item`)),
			chromedp.WaitVisible(chromedp.CSS(`[data-field="items[1].sku"] input`)),
			chromedp.SendKeys(chromedp.CSS(`[data-field="items[1].sku"] input`), "b"),
			chromedp.SetValue(chromedp.CSS(`[data-field="items[1].quantity"] input`), "3"),
			chromedp.Click(chromedp.CSS(`[data-field="items"] button.add-item`)),
			chromedp.WaitVisible(chromedp.CSS(`[data-field="items[2].sku"] input`)),
			chromedp.SendKeys(chromedp.CSS(`[data-field="items[2].sku"] input`), "gone"),
			chromedp.Click(chromedp.CSS(`[data-field="items"] li.item[data-index="2"] button.remove-item`)),
			chromedp.WaitNotPresent(chromedp.CSS(`[data-field="items[2].sku"]`)),
			chromedp.Click(chromedp.CSS(`[data-field="tags"] button.add-item`)),
			chromedp.WaitVisible(chromedp.CSS(`[data-field="tags[0]"] input`)),
			chromedp.SendKeys(chromedp.CSS(`[data-field="tags[0]"] input`), "fragile"))
		// The two items kept their values through the removal of the third.
		if got := value(t, tab, `[data-field="items[1].sku"] input`); got != "b" {
			t.Errorf("items[1].sku is %q after removing items[2], want b", got)
		}
		do(t, "invoke", chromedp.Click(chromedp.CSS(`#invoke`)))
		if got := waitTerminal(t, tab); got != "SUCCESS" {
			t.Fatalf("shipper ended %s, want SUCCESS; error: %q; form: %q", got, text(t, "#err"), text(t, "#invoke-form"))
		}
		if got := text(t, "#outputs"); !strings.Contains(got, "express to Berlin, DE: 5 units") || !strings.Contains(got, "fragile") {
			t.Errorf("outputs %q: want the label express to Berlin, DE: 5 units and the tag fragile", got)
		}
		do(t, "see the outcome", chromedp.WaitVisible(chromedp.CSS(`#invoke-outcome[data-kind="succeeded"]`)))
		noOverflow(t, tab, desktopW)
		shot(t, tab, artifacts, "shipper-desktop.png")
	})

	// An invocation that ran and failed is told apart from a request the
	// shim refused: the first names the invocation, its state and error;
	// the second the HTTP status and the shim's message, and no
	// invocation.
	t.Run("shipper failed or refused", func(t *testing.T) {
		do(t, "invoke with the sku the plugin refuses",
			chromedp.SetValue(chromedp.CSS(`[data-field="items[0].sku"] input`), "broken"),
			chromedp.Click(chromedp.CSS(`#invoke`)))
		if got := waitTerminal(t, tab); got != "FAIL" {
			t.Fatalf("shipper with sku broken ended %s, want FAIL", got)
		}
		do(t, "see it ran and failed", chromedp.WaitVisible(chromedp.CSS(`#invoke-outcome[data-kind="failed"]`)))
		trace := text(t, "#trace-id")
		got := text(t, "#invoke-outcome")
		if !strings.Contains(got, "ran and ended FAIL: cannot ship sku broken") || !strings.Contains(got, trace) || strings.Contains(got, "refused") {
			t.Errorf("outcome %q: want invocation %s ran and ended FAIL with its error, not a refusal", got, trace)
		}
		if got := text(t, "#err"); got != "cannot ship sku broken" {
			t.Errorf("the invocation's error shows %q", got)
		}
		// A body over the shim's --max-body-bytes (1 MiB) is refused
		// before any invocation exists.
		do(t, "invoke with a street too long for the shim",
			chromedp.SetValue(chromedp.CSS(`[data-field="items[0].sku"] input`), "a"),
			chromedp.Evaluate[chromedp.Void](`(() => { const s = document.querySelector('[data-field="to.street"] input');
				s.value = "x".repeat((1 << 20) + 10); s.dispatchEvent(new Event("input", { bubbles: true })); })()`),
			chromedp.Click(chromedp.CSS(`#invoke`)),
			chromedp.WaitVisible(chromedp.CSS(`#invoke-outcome[data-kind="refused"]`)))
		if got := text(t, "#invoke-outcome"); !strings.Contains(got, "HTTP 413") || !strings.Contains(got, "no invocation was created") {
			t.Errorf("outcome %q: want the shim's 413 and that no invocation was created", got)
		}
		if vis, err := chromedp.Run(tab, chromedp.Evaluate[bool](`!document.querySelector("#invocation").hidden`)); err != nil || vis {
			t.Errorf("a refused invoke still shows an invocation (%v)", err)
		}
		do(t, "clear the street", chromedp.Evaluate[chromedp.Void](`document.querySelector('[data-field="to.street"] input').value = ""`))
		shot(t, tab, artifacts, "shipper-refused-desktop.png")
	})

	t.Run("deployer on a phone", func(t *testing.T) {
		do(t, "pick deployer 1.0.0 on a phone-sized screen",
			chromedp.EmulateViewport(phoneW, phoneH, chromedp.EmulateScale(2), chromedp.EmulateMobile),
			chromedp.Click(chromedp.CSS(`a.version[data-plugin="deployer"][data-version="1.0.0"]`)),
			chromedp.WaitVisible(chromedp.CSS(`#invoke-form[data-plugin="deployer"][data-version="1.0.0"]`)),
			chromedp.WaitVisible(chromedp.CSS(`#in-version`)))
		// The sensitive token is typed into a password field.
		if typ := attr(t, tab, `#in-token`, "type"); typ != "password" {
			t.Errorf("the deploy token field is type %q, want password", typ)
		}
		// approver relies on env == prod: hidden until production is chosen.
		do(t, "approver hidden for another environment", chromedp.WaitNotVisible(chromedp.CSS(`#in-approver`)))
		do(t, "choose production and fill all but the approver",
			chromedp.Evaluate[chromedp.Void](`(() => { const s = document.querySelector("#in-env");
				s.value = [...s.options].find((o) => o.textContent === "Production").value;
				s.dispatchEvent(new Event("change", { bubbles: true })); })()`),
			chromedp.WaitVisible(chromedp.CSS(`#in-approver`)),
			chromedp.SendKeys(chromedp.CSS(`#in-version`), "1.2.3"),
			chromedp.SendKeys(chromedp.CSS(`#in-token`), "s3cret"),
			chromedp.Click(chromedp.CSS(`#invoke`)),
			chromedp.WaitVisible(chromedp.CSS(`[data-field="approver"] .field-error`)))
		if got := text(t, `[data-field="approver"] .field-error`); got != "required" {
			t.Errorf("approver error %q, want required", got)
		}
		// One column, and nothing wider than the phone.
		layout, err := chromedp.Run(tab, chromedp.Evaluate[[]any](`[getComputedStyle(document.querySelector(".layout")).gridTemplateColumns.split(" ").length,
			document.documentElement.scrollWidth]`))
		if err != nil {
			t.Fatal(err)
		}
		if cols, width := int(layout[0].(float64)), int(layout[1].(float64)); cols != 1 || width > phoneW {
			t.Errorf("on a %dpx phone the layout has %d columns and is %dpx wide, want 1 column within the screen", phoneW, cols, width)
		}
		do(t, "scroll to the error", chromedp.ScrollIntoView(chromedp.CSS(`[data-field="approver"]`)))
		shot(t, tab, artifacts, "deployer-phone.png")

		// The shim's own 400 names fields the same way: the page puts each
		// message next to its field.
		parsed, err := chromedp.Run(tab, chromedp.Evaluate[[]any](`import("/ui/taskjson.js").then((m) => m.parseValidationError(
			"inputs validation error: version (Version): rule regex ^\\d+$ not matched; approver (Approver): required",
			new Set(["version", "approver"])).map((e) => e.field + "=" + e.message))`, chromedp.EvalAwaitPromise))
		if err != nil {
			t.Fatal(err)
		}
		if got := fmt.Sprint(parsed); got != `[version=rule regex ^\d+$ not matched approver=required]` {
			t.Errorf("parsed shim message %s", got)
		}
	})

	t.Run("shipper on a narrow phone", func(t *testing.T) {
		do(t, "pick shipper 1.0.0 on a 375px screen",
			chromedp.EmulateViewport(narrowW, narrowH, chromedp.EmulateScale(2), chromedp.EmulateMobile),
			chromedp.Click(chromedp.CSS(`a.version[data-plugin="hello"][data-version="1.0.0"]`)),
			chromedp.WaitVisible(chromedp.CSS(`#invoke-form[data-plugin="hello"]`)),
			chromedp.Click(chromedp.CSS(`a.version[data-plugin="shipper"][data-version="1.0.0"]`)),
			chromedp.WaitVisible(chromedp.CSS(`#invoke-form[data-plugin="shipper"][data-version="1.0.0"]`)),
			chromedp.WaitVisible(chromedp.CSS(`[data-field="items[0].sku"] input`)))
		// The form, with a nested item, before anything ran.
		do(t, "add a second item", chromedp.Click(chromedp.CSS(`[data-field="items"] button.add-item`)),
			chromedp.WaitVisible(chromedp.CSS(`[data-field="items[1].quantity"] input`)))
		noOverflow(t, tab, narrowW)
		do(t, "submit without the city and see it marked",
			chromedp.Click(chromedp.CSS(`#invoke`)),
			chromedp.WaitVisible(chromedp.CSS(`[data-field="to.city"] .field-error`)))
		if got := text(t, `[data-field="items[1].sku"] .field-error`); got != "required" {
			t.Errorf("an empty second item's sku says %q, want required", got)
		}
		do(t, "fill and invoke",
			chromedp.SendKeys(chromedp.CSS(`[data-field="to.city"] input`), "Shenzhen"),
			chromedp.SendKeys(chromedp.CSS(`[data-field="items[0].sku"] input`), "a"),
			chromedp.Click(chromedp.CSS(`[data-field="items"] li.item[data-index="1"] button.remove-item`)),
			chromedp.WaitNotPresent(chromedp.CSS(`[data-field="items[1].sku"]`)),
			chromedp.Click(chromedp.CSS(`#invoke`)))
		if got := waitTerminal(t, tab); got != "SUCCESS" {
			t.Fatalf("shipper ended %s on a phone, want SUCCESS; error: %q", got, text(t, "#err"))
		}
		if got := text(t, "#outputs"); !strings.Contains(got, "standard to Shenzhen, CN: 1 units") {
			t.Errorf("outputs %q: want the defaults' label standard to Shenzhen, CN: 1 units", got)
		}
		// The invocation, its timeline and the history, all on the page.
		do(t, "wait for the history row", chromedp.WaitVisible(chromedp.CSS(`#history[data-plugin="shipper"] #history-rows tr.open-row`)))
		noOverflow(t, tab, narrowW)
		do(t, "scroll to the invocation", chromedp.ScrollIntoView(chromedp.CSS(`#invocation`)))
		shot(t, tab, artifacts, "shipper-phone.png")
		do(t, "back to desktop", chromedp.EmulateViewport(desktopW, desktopH))
	})

	t.Run("nested form semantics", func(t *testing.T) {
		got, err := chromedp.Run(tab, chromedp.Evaluate[map[string]any](nestedSemantics, chromedp.EvalAwaitPromise))
		if err != nil {
			t.Fatal(err)
		}
		want := map[string]any{
			"tree":       `{"root":{"name":"r","kids":[{"name":"k"}]}}`,
			"rootLegend": "Root",
			// Past the depth bound a recursive type is a JSON text box.
			"depthBounded": true,
			"taskKeys":     "env,env[0],env[0].key,env[0].value,target,target.host,target.port",
			"taskErrors":   "target.host: required",
			"task":         `{"env":[{"key":"A","value":"1"}],"target":{"host":"h","port":22}}`,
			"targetLegend": "Target *",
		}
		for k, w := range want {
			if fmt.Sprint(got[k]) != fmt.Sprint(w) {
				t.Errorf("%s: got %v, want %v", k, got[k], w)
			}
		}
	})

	t.Run("form semantics", func(t *testing.T) {
		got, err := chromedp.Run(tab, chromedp.Evaluate[map[string]any](formSemantics, chromedp.EvalAwaitPromise))
		if err != nil {
			t.Fatal(err)
		}
		want := map[string]any{
			// who relies on notify; any on ver ~ ^v9 OR mode b; notb on NOT mode b.
			"initial": "extra,t_mode,t_notb,t_notify,t_secret,t_ver",
			// "true" in the description equals the checkbox's true, as on the shim.
			"notify": "extra,t_mode,t_notb,t_notify,t_secret,t_ver,t_who",
			"modeB":  "extra,t_any,t_mode,t_notify,t_secret,t_ver,t_who",
			"regex":  "extra,t_any,t_mode,t_notb,t_notify,t_secret,t_ver,t_who",
			"errors": []any{"extra: must be at least 1", "t_ver: rule max: at most 4 characters; rule regex ^v\\d+$ not matched", "t_who: required"},
			// The error in the closed Advanced group opens it.
			"groupOpened": true,
			"secretType":  "password",
			"valid":       float64(0),
			"inputs":      `{"t_mode":"a","t_notify":true,"t_who":"ada","t_ver":"v1","extra":2}`,
		}
		for k, w := range want {
			if fmt.Sprint(got[k]) != fmt.Sprint(w) {
				t.Errorf("%s: got %v, want %v", k, got[k], w)
			}
		}
	})
}

// nestedSemantics builds forms in the page from schemas the example
// plugins do not have: a recursive type (a tree), a "$defs" reference, and
// task.json components over structured schemas (a key-value-normal list, a
// plain input whose schema is a nested object); it fills them and returns
// what they read.
const nestedSemantics = `(async () => {
  const { Form } = await import("/ui/form.js");
  const out = {};
  const tree = new Form({ inputs: { type: "object", properties: { root: { $ref: "#/definitions/Node", title: "Root" } },
    definitions: { Node: { type: "object", properties: { name: { type: "string" }, kids: { type: "array", items: { $ref: "#/definitions/Node" } } } } } } });
  const te = tree.inputsEl;
  te.querySelector('[data-field="root.name"] input').value = "r";
  te.querySelector('[data-field="root.kids"] button.add-item').click();
  te.querySelector('[data-field="root.kids[0].name"] input').value = "k";
  out.tree = JSON.stringify(tree.read().inputs);
  out.rootLegend = te.querySelector('[data-field="root"] legend').textContent;
  for (let i = 0; i < 8; i++) {
    const depth = (b) => { let n = 0; for (let e = b; e; e = e.parentElement) if (e.matches("li.item")) n++; return n; };
    const add = [...te.querySelectorAll("button.add-item")].sort((a, b) => depth(b) - depth(a))[0];
    if (!add) break;
    add.click();
  }
  out.depthBounded = te.querySelectorAll("textarea").length > 0 && tree.keys().size < 100;
  const t = new Form({
    inputs: { type: "object", properties: { env: { type: "array" }, target: { $ref: "#/$defs/T" } },
      $defs: { T: { type: "object", required: ["host"], properties: { host: { type: "string" }, port: { type: "integer", default: 22 } } } } },
    task_json: { input: { env: { type: "key-value-normal", label: "Env", default: [{ key: "A", value: "1" }] },
      target: { type: "vuex-input", label: "Target", required: true } } },
  });
  out.taskKeys = [...t.keys()].sort().join(",");
  out.taskErrors = t.validate().map((e) => e.field + ": " + e.message).join("; ");
  t.inputsEl.querySelector('[data-field="target.host"] input').value = "h";
  out.task = JSON.stringify(t.read().inputs);
  out.targetLegend = t.inputsEl.querySelector('[data-field="target"] legend').textContent;
  return out;
})()`

// formSemantics builds a form in the page from a task.json description
// that uses what the example plugins do not (groups, radios, a checkbox,
// rely with OR, NOT and regex, rules, a sensitive field, a field only in
// the schema), drives it, and returns what it saw.
const formSemantics = `(async () => {
  const { Form } = await import("/ui/form.js");
  const f = new Form({
    inputs: { type: "object", properties: { extra: { type: "integer", title: "Extra", minimum: 1 } } },
    context_inputs: { type: "object", properties: {} },
    task_json: {
      inputGroups: [{ name: "adv", label: "Advanced", isExpanded: false }],
      input: {
        t_mode: { type: "enum-input", label: "Mode", list: [{ value: "a", label: "A" }, { value: "b", label: "B" }], default: "a" },
        t_notify: { type: "atom-checkbox", label: "Notify", default: false },
        t_who: { type: "user-input", label: "Who", required: true, rely: { operation: "AND", expression: [{ key: "t_notify", value: "true" }] } },
        t_ver: { type: "vuex-input", label: "Ver", groupName: "adv", rule: { regex: "^v\\d+$", max: 4 } },
        t_notb: { type: "vuex-input", label: "Not B", rely: { operation: "NOT", expression: [{ key: "t_mode", value: "b" }] } },
        t_any: { type: "vuex-input", label: "Any", rely: { operation: "OR", expression: [{ key: "t_ver", regex: "^v9" }, { key: "t_mode", value: "b" }] } },
        t_secret: { type: "vuex-input", label: "Secret", isSensitive: true },
      },
    },
  });
  const el = (id) => f.inputsEl.querySelector("#" + id);
  const shown = () => f.fields.filter((x) => x.visible).map((x) => x.name).sort().join(",");
  const out = { initial: shown() };
  el("in-t_notify").checked = true; f.refresh();
  out.notify = shown();
  el("in-t_mode-1").checked = true; f.refresh();
  out.modeB = shown();
  el("in-t_mode-0").checked = true; el("in-t_ver").value = "v9"; f.refresh();
  out.regex = shown();
  el("in-t_ver").value = "bad12"; el("in-extra").value = "0";
  out.errors = f.validate().map((e) => e.field + ": " + e.message).sort();
  out.groupOpened = f.inputsEl.querySelector("details[data-group=adv]").open;
  out.secretType = el("in-t_secret").type;
  el("in-t_ver").value = "v1"; el("in-t_who").value = "ada"; el("in-extra").value = "2";
  out.valid = f.validate().length;
  out.inputs = JSON.stringify(f.read().inputs);
  return out;
})()`

// waitTerminal waits until the followed invocation is SUCCESS or FAIL and
// returns which.
func waitTerminal(t *testing.T, tab context.Context) string {
	t.Helper()
	s, err := chromedp.Run(tab, chromedp.Poll[string](
		`(() => { const s = document.querySelector("#invocation").dataset.state; return s === "SUCCESS" || s === "FAIL" ? s : null; })()`,
		chromedp.WithPollingTimeout(30*time.Second)))
	if err != nil {
		fail(t, tab, "", "the invocation did not end within 30s: %v", err)
	}
	return s
}

func isTerminal(s string) bool { return s == "SUCCESS" || s == "FAIL" }

// noOverflow fails the test when the page is wider than the viewport, so
// that it would scroll sideways.
func noOverflow(t *testing.T, tab context.Context, width int) {
	t.Helper()
	got, err := chromedp.Run(tab, chromedp.Evaluate[[]any](`[document.scrollingElement.scrollWidth, window.innerWidth,
		[...document.querySelectorAll("body *")].filter((e) => e.getBoundingClientRect().right > window.innerWidth + 0.5 && e.getClientRects().length)
			.slice(0, 5).map((e) => e.tagName + (e.id ? "#" + e.id : "") + "." + e.className).join(" ")]`))
	if err != nil {
		t.Fatal(err)
	}
	sw, iw := int(got[0].(float64)), int(got[1].(float64))
	if iw != width {
		t.Errorf("the viewport is %dpx wide, want %d", iw, width)
	}
	if sw > iw {
		t.Errorf("at %dpx the page is %dpx wide and scrolls sideways; wider than the screen: %s", iw, sw, got[2])
	}
}

// options lists a select's option texts, the empty choice left out.
func options(t *testing.T, tab context.Context, sel string) string {
	t.Helper()
	got, err := chromedp.Run(tab, chromedp.Evaluate[string](fmt.Sprintf(
		`[...document.querySelector(%q).options].filter((o) => o.value !== "").map((o) => o.textContent).join(",")`, sel)))
	if err != nil {
		t.Fatalf("options of %s: %v", sel, err)
	}
	return got
}

// value reads an input's value.
func value(t *testing.T, tab context.Context, sel string) string {
	t.Helper()
	got, err := chromedp.Run(tab, chromedp.Evaluate[string](fmt.Sprintf(`document.querySelector(%q).value`, sel)))
	if err != nil {
		t.Fatalf("value of %s: %v", sel, err)
	}
	return got
}

// chooseOption picks the option of a select by its text, as a user does,
// and tells the page.
func chooseOption(sel, label string) string {
	return fmt.Sprintf(`(() => { const s = document.querySelector(%q);
		s.value = [...s.options].find((o) => o.textContent === %q).value;
		s.dispatchEvent(new Event("change", { bubbles: true })); })()`, sel, label)
}

func attr(t *testing.T, tab context.Context, sel, name string) string {
	t.Helper()
	v, err := chromedp.Run(tab, chromedp.AttributeValue(chromedp.CSS(sel), name))
	if err != nil {
		t.Fatalf("attribute %s of %s: %v", name, sel, err)
	}
	return v.Value
}

// fail ends the test with what the page shows, and its screenshot.
func fail(t *testing.T, tab context.Context, artifacts, format string, args ...any) {
	t.Helper()
	dumpCtx, cancel := context.WithTimeout(tab, 10*time.Second)
	defer cancel()
	if body, err := chromedp.Run(dumpCtx, chromedp.Evaluate[string](`document.body.innerText`)); err == nil {
		t.Logf("the page shows:\n%s", body)
	}
	if artifacts != "" {
		shot(t, dumpCtx, artifacts, "failed.png")
	}
	t.Fatalf(format, args...)
}

// shot saves a screenshot of the viewport as it is now.
func shot(t *testing.T, tab context.Context, dir, name string) {
	t.Helper()
	png, err := chromedp.Run(tab, chromedp.CaptureScreenshot())
	if err != nil {
		t.Errorf("screenshot %s: %v", name, err)
		return
	}
	path := filepath.Join(dir, name)
	if err := os.WriteFile(path, png, 0o644); err != nil {
		t.Errorf("save %s: %v", path, err)
		return
	}
	t.Logf("screenshot %s", path)
}

// chromiumPath finds the browser: CHROMIUM_PATH, then chromium on the PATH.
// A missing browser fails the test rather than skipping it: the test setup
// (make chromium, .ci/run) installs Debian's.
func chromiumPath(t *testing.T) string {
	t.Helper()
	if p := os.Getenv("CHROMIUM_PATH"); p != "" {
		return p
	}
	for _, name := range []string{"chromium", "chromium-browser", "/usr/bin/chromium"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	t.Fatal("no chromium: install it with `make chromium` (Debian's package) or set CHROMIUM_PATH")
	return ""
}

// artifactsDir is where screenshots go: $ARTIFACTS_DIR/panel, or
// artifacts/panel at the top of the repository (git-ignored).
func artifactsDir(t *testing.T) string {
	t.Helper()
	base := os.Getenv("ARTIFACTS_DIR")
	if base == "" {
		base = "../../artifacts"
	}
	dir := filepath.Join(base, "panel")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	return dir
}

func copyFile(t *testing.T, from, to string) {
	t.Helper()
	b, err := os.ReadFile(from)
	if err != nil && !errors.Is(err, os.ErrNotExist) {
		t.Fatal(err)
	}
	if err := os.WriteFile(to, b, 0o644); err != nil {
		t.Fatal(err)
	}
}
