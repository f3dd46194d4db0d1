//go:build envtest

package cli

import (
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestCLIAgainstLocalStack drives every bkplugin client command as a
// platform engineer would, against the real shim, manager and example
// plugins of hack/localstack.
func TestCLIAgainstLocalStack(t *testing.T) {
	s := startStack(t)

	t.Run("the shim refuses a call without the token", func(t *testing.T) {
		r := runCmd(t, "", []string{"BKPLUGIN_TOKEN="}, time.Minute, s.bin, "plugins", "--server", s.shim)
		if r.code != 1 || !strings.Contains(r.stderr, "401") {
			t.Errorf("plugins without a token: exit %d, stderr %q; want exit 1 naming the 401", r.code, r.stderr)
		}
	})

	t.Run("plugins", func(t *testing.T) {
		list := decode[struct {
			Results []struct {
				Code     string   `json:"code"`
				Versions []string `json:"versions"`
			} `json:"results"`
		}](t, s.ok("plugins", "-o", "json"))
		codes := map[string]bool{}
		for _, p := range list.Results {
			codes[p.Code] = true
		}
		for _, want := range []string{"hello", "poller", "callbacker", "deployer"} {
			if !codes[want] {
				t.Errorf("plugins -o json lacks %s: %+v", want, list.Results)
			}
		}
		table := s.ok("plugins").stdout
		if !strings.HasPrefix(table, "CODE") || !strings.Contains(table, "1.0.0,1.1.0") {
			t.Errorf("plugins table:\n%s", table)
		}
	})

	t.Run("versions", func(t *testing.T) {
		v := decode[struct {
			Meta struct {
				Code     string   `json:"code"`
				Versions []string `json:"versions"`
			} `json:"meta"`
			Versions []struct {
				Version string          `json:"version"`
				Inputs  json.RawMessage `json:"inputs"`
			} `json:"versions"`
		}](t, s.ok("versions", "hello", "-o", "json"))
		// Newest first, as meta answers them (bk-sops takes versions[0] as the latest).
		if v.Meta.Code != "hello" || len(v.Versions) != 2 || v.Versions[0].Version != "1.1.0" ||
			!strings.Contains(string(v.Versions[0].Inputs), "punctuation") {
			t.Errorf("versions hello -o json = %+v", v)
		}
		table := s.ok("versions", "hello").stdout
		for _, want := range []string{"PLUGIN", "hello", "name*", "name*,punctuation", "greeting"} {
			if !strings.Contains(table, want) {
				t.Errorf("versions table lacks %q:\n%s", want, table)
			}
		}
		if r := s.run("versions", "no-such-plugin"); r.code != 1 || !strings.Contains(r.stderr, "404") {
			t.Errorf("versions of an unknown plugin: exit %d, stderr %q", r.code, r.stderr)
		}
	})

	t.Run("invoke answers after the first execute", func(t *testing.T) {
		// The token by flag, not by environment.
		r := runCmd(t, "", []string{"BKPLUGIN_TOKEN="}, time.Minute, s.bin, "invoke", "hello", "1.0.0",
			"--inputs", `{"name":"cli"}`, "--server", s.shim, "--token", cliToken, "-o", "json")
		if r.code != 0 {
			t.Fatalf("invoke exited %d: %s", r.code, r.stderr)
		}
		inv := decode[invocation](t, r)
		if inv.StateName != "SUCCESS" || inv.State != 4 || outputs(t, inv)["greeting"] != "Hello, cli!" || len(inv.TraceID) != 32 {
			t.Errorf("invoke hello = %+v (outputs %s)", inv, inv.Outputs)
		}
		table := s.ok("invoke", "hello", "^1.1", "--inputs", `{"name":"range","punctuation":"?"}`).stdout
		for _, want := range []string{"TRACE ID", "SUCCESS (4)", `{"greeting":"Hello, range?"}`} {
			if !strings.Contains(table, want) {
				t.Errorf("invoke table lacks %q:\n%s", want, table)
			}
		}
	})

	t.Run("invoke --trace-id is idempotent, --async --wait follows", func(t *testing.T) {
		const id = "c11c11c11c11c11c11c11c11c11c11c1"
		first := decode[invocation](t, s.ok("invoke", "poller", "1.0.0", "--inputs", `{"polls":1,"interval":1}`, "--trace-id", id, "--async", "--wait", "-q", "-o", "json"))
		if first.TraceID != id || first.StateName != "SUCCESS" || outputs(t, first)["polls_done"] != float64(1) {
			t.Errorf("invoke --trace-id --async --wait = %+v (outputs %s)", first, first.Outputs)
		}
		again := decode[invocation](t, s.ok("invoke", "poller", "1.0.0", "--inputs", `{"polls":1,"interval":1}`, "--trace-id", id, "-o", "json"))
		if again.TraceID != id || again.StateName != "SUCCESS" || outputs(t, again)["polls_done"] != float64(1) {
			t.Errorf("repeated invoke answered %+v (outputs %s), want the same finished invocation", again, again.Outputs)
		}
		if logs := decode[struct {
			Lines []string `json:"lines"`
		}](t, s.ok("logs", "poller", id, "-o", "json")); countContaining(logs.Lines, "msg=polled") != 2 {
			t.Errorf("the repeated invoke ran the plugin again: %q", logs.Lines)
		}
	})

	t.Run("invoke reports bad input and FAIL", func(t *testing.T) {
		if r := s.run("invoke", "hello", "1.0.0", "--inputs", `["not","an","object"]`); r.code != 2 || !strings.Contains(r.stderr, "must be a JSON object") {
			t.Errorf("inputs not an object: exit %d, stderr %q; want exit 2 saying so", r.code, r.stderr)
		}
		if r := s.run("invoke", "hello"); r.code != 2 || !strings.Contains(r.stderr, "CODE VERSION") {
			t.Errorf("missing version: exit %d, stderr %q", r.code, r.stderr)
		}
		file := filepath.Join(t.TempDir(), "inputs.json")
		if err := os.WriteFile(file, []byte(`{}`), 0o600); err != nil {
			t.Fatal(err)
		}
		r := s.run("invoke", "hello", "1.0.0", "--inputs", "@"+file, "-o", "json")
		inv := decode[invocation](t, r)
		if r.code != 1 || inv.StateName != "FAIL" || !strings.HasPrefix(inv.Err, "inputs validation error") {
			t.Errorf("invoke without name: exit %d, %+v; want exit 1, FAIL, inputs validation error", r.code, inv)
		}
		if !strings.Contains(r.stderr, "ended FAIL") {
			t.Errorf("stderr does not say the invocation failed: %q", r.stderr)
		}
	})

	var pollTrace string
	t.Run("invoke --wait follows a polling plugin, with progress", func(t *testing.T) {
		r := s.ok("invoke", "poller", "1.0.0", "--inputs", `{"polls":2,"interval":1}`, "--wait", "--interval", "200ms", "-o", "json")
		inv := decode[invocation](t, r)
		pollTrace = inv.TraceID
		if inv.StateName != "SUCCESS" || outputs(t, inv)["polls_done"] != float64(2) || inv.PluginVersion != "1.0.0" || inv.FinishAt == "" {
			t.Errorf("invoke --wait = %+v (outputs %s)", inv, inv.Outputs)
		}
		if !strings.Contains(r.stderr, "waiting: poller "+inv.TraceID+": POLL") || !strings.Contains(r.stderr, ": SUCCESS after") {
			t.Errorf("progress on stderr lacks POLL and SUCCESS:\n%s", r.stderr)
		}
	})

	t.Run("schedule and logs", func(t *testing.T) {
		if pollTrace == "" {
			t.Skip("no poller invocation")
		}
		inv := decode[invocation](t, s.ok("schedule", "poller", pollTrace, "-o", "json"))
		if inv.TraceID != pollTrace || inv.StateName != "SUCCESS" {
			t.Errorf("schedule = %+v", inv)
		}
		logs := decode[struct {
			TraceID string   `json:"trace_id"`
			Lines   []string `json:"lines"`
		}](t, s.ok("logs", "poller", pollTrace, "-o", "json"))
		if polled := countContaining(logs.Lines, "msg=polled"); polled != 3 {
			t.Errorf("logs has %d 'polled' lines, want 3 (first execute and two polls): %q", polled, logs.Lines)
		}
		// Answered as the Python framework answers it: 200, result false.
		if r := s.run("schedule", "poller", "0123456789abcdef0123456789abcdef"); r.code != 1 || !strings.Contains(r.stderr, "can not find schedule") {
			t.Errorf("schedule of an unknown trace: exit %d, stderr %q", r.code, r.stderr)
		}
	})

	t.Run("logs -f follows until the invocation ends", func(t *testing.T) {
		inv := decode[invocation](t, s.ok("invoke", "poller", "1.0.0", "--inputs", `{"polls":3,"interval":1}`, "--async", "-o", "json"))
		// Not executed yet is answered POLL on the wire (never EMPTY).
		if inv.StateName != "POLL" {
			t.Errorf("--async answered %s, want POLL", inv.StateName)
		}
		r := s.ok("logs", "poller", inv.TraceID, "-f", "--interval", "300ms")
		lines := strings.Split(strings.TrimSpace(r.stdout), "\n")
		if polled := countContaining(lines, "msg=polled"); polled != 4 {
			t.Errorf("logs -f printed %d 'polled' lines, want 4, each once:\n%s", polled, r.stdout)
		}
		if !strings.Contains(r.stderr, "ended SUCCESS") {
			t.Errorf("logs -f stderr: %q", r.stderr)
		}
	})

	t.Run("callback by URL and by token", func(t *testing.T) {
		inv := decode[invocation](t, s.ok("invoke", "callbacker", "1.0.0", "-o", "json"))
		cbURL, _ := outputs(t, inv)["callback_url"].(string)
		if inv.StateName != "CALLBACK" || cbURL == "" {
			t.Fatalf("callbacker invoke = %+v (outputs %s)", inv, inv.Outputs)
		}
		if out := s.ok("callback", cbURL, "--data", `{"approved":true}`).stdout; strings.TrimSpace(out) != "callback delivered" {
			t.Errorf("callback printed %q", out)
		}
		done := decode[invocation](t, s.ok("schedule", "callbacker", inv.TraceID, "--wait", "--interval", "200ms", "-q", "-o", "json"))
		if received, _ := json.Marshal(outputs(t, done)["received"]); done.StateName != "SUCCESS" || string(received) != `{"approved":true}` {
			t.Errorf("after the callback: %s with outputs %s", done.StateName, done.Outputs)
		}

		second := decode[invocation](t, s.ok("invoke", "callbacker", "1.0.0", "-o", "json"))
		token := callbackToken(t, outputs(t, second)["callback_url"].(string))
		if r := s.run("callback", token); r.code != 2 || !strings.Contains(r.stderr, "--code") {
			t.Errorf("a bare token without --code: exit %d, stderr %q", r.code, r.stderr)
		}
		data := filepath.Join(t.TempDir(), "data.json")
		if err := os.WriteFile(data, []byte(`{"fail": true}`), 0o600); err != nil {
			t.Fatal(err)
		}
		if out := s.ok("callback", token, "--code", "callbacker", "--data", "@"+data, "-o", "json").stdout; !strings.Contains(out, `"delivered": true`) {
			t.Errorf("callback -o json printed %q", out)
		}
		r := s.run("schedule", "callbacker", second.TraceID, "--wait", "--interval", "200ms", "-o", "json")
		if failed := decode[invocation](t, r); r.code != 1 || failed.StateName != "FAIL" {
			t.Errorf("schedule --wait of a failing callback: exit %d, %+v; want exit 1 and FAIL", r.code, failed)
		}
		if r := s.run("callback", token+"x", "--code", "callbacker"); r.code != 1 || !strings.Contains(r.stderr, "400") {
			t.Errorf("an altered token: exit %d, stderr %q; want the shim's 400", r.code, r.stderr)
		}
	})

	t.Run("history", func(t *testing.T) {
		r := s.run("history", "poller", "-o", "json", "--limit", "50")
		if r.code != 0 {
			t.Fatalf("history exited %d: %s", r.code, r.stderr)
		}
		list := decode[struct {
			Items []invocation `json:"items"`
		}](t, r)
		found := false
		for _, it := range list.Items {
			found = found || it.TraceID == pollTrace
		}
		if pollTrace != "" && !found {
			t.Errorf("history of poller lacks %s: %+v", pollTrace, list.Items)
		}
		// A failed invocation is listed by --state FAIL and only there.
		// (--wait exits 1 for an invocation that ends FAIL.)
		bad := decode[invocation](t, s.run("invoke", "poller", "1.0.0", "--inputs", `{"polls":3,"interval":0,"fail_at":1}`, "--wait", "--interval", "200ms", "-o", "json"))
		if bad.StateName != "FAIL" || bad.TraceID == "" {
			t.Fatalf("invoke of a poller failing at poll 1 = %+v, want FAIL", bad)
		}
		for _, c := range []struct {
			state string
			want  bool
		}{{"FAIL", true}, {"SUCCESS", false}} {
			page := decode[struct {
				Items []invocation `json:"items"`
			}](t, s.ok("history", "poller", "--state", c.state, "--all", "-o", "json"))
			found := false
			for _, it := range page.Items {
				if it.StateName != "" && it.StateName != c.state {
					t.Errorf("history --state %s lists %+v", c.state, it)
				}
				found = found || it.TraceID == bad.TraceID
			}
			if found != c.want {
				t.Errorf("history --state %s lists the failed %s: %v, want %v", c.state, bad.TraceID, found, c.want)
			}
		}
	})

	t.Run("cancel", func(t *testing.T) {
		inv := decode[invocation](t, s.ok("invoke", "poller", "1.0.0", "--inputs", `{"polls":1000,"interval":1}`, "-o", "json"))
		r := s.run("cancel", "poller", inv.TraceID, "--wait", "--interval", "200ms", "--wait-timeout", "2m", "-o", "json")
		if r.code != 0 && strings.Contains(r.stderr, ": 404 Not Found") && strings.Contains(r.stderr, "no route") {
			// The cancel route is being added to the shim on another branch
			// (parity); the history route above is served.
			t.Skipf("the shim serves no cancel route yet: %s", strings.TrimSpace(r.stderr))
		}
		if r.code != 0 {
			t.Fatalf("cancel exited %d: %s", r.code, r.stderr)
		}
		cancelled := decode[invocation](t, r)
		if cancelled.StateName != "FAIL" {
			t.Errorf("cancel --wait = %+v, want FAIL", cancelled)
		}
		failed := decode[struct {
			Items []invocation `json:"items"`
		}](t, s.ok("history", "poller", "--state", "FAIL", "--all", "-o", "json"))
		found := false
		for _, it := range failed.Items {
			if it.StateName != "" && it.StateName != "FAIL" {
				t.Errorf("history --state FAIL lists %+v", it)
			}
			found = found || it.TraceID == inv.TraceID
		}
		if !found {
			t.Errorf("history --state FAIL lacks the cancelled %s", inv.TraceID)
		}
	})

	t.Run("as a kubectl plugin", func(t *testing.T) {
		kubectl := filepath.Join(os.Getenv("KUBEBUILDER_ASSETS"), "kubectl")
		if _, err := os.Stat(kubectl); err != nil {
			if kubectl, err = exec.LookPath("kubectl"); err != nil {
				t.Skip("no kubectl in KUBEBUILDER_ASSETS or on PATH")
			}
		}
		pluginDir := t.TempDir()
		if err := os.Symlink(s.bin, filepath.Join(pluginDir, "kubectl-bkplugin")); err != nil {
			t.Fatal(err)
		}
		env := []string{"PATH=" + pluginDir + string(os.PathListSeparator) + os.Getenv("PATH"),
			"BKPLUGIN_SERVER=" + s.shim, "BKPLUGIN_TOKEN=" + cliToken}
		r := runCmd(t, "", env, time.Minute, kubectl, "bkplugin", "invoke", "hello", "1.0.0", "--inputs", `{"name":"kubectl"}`, "-o", "json")
		if r.code != 0 {
			t.Fatalf("kubectl bkplugin invoke exited %d: %s", r.code, r.stderr)
		}
		if inv := decode[invocation](t, r); outputs(t, inv)["greeting"] != "Hello, kubectl!" {
			t.Errorf("kubectl bkplugin invoke = %+v", inv)
		}
		help := runCmd(t, "", env, time.Minute, kubectl, "bkplugin", "--help")
		if help.code != 0 || !strings.Contains(help.stdout, "kubectl bkplugin [command]") {
			t.Errorf("kubectl bkplugin --help (exit %d) does not call itself kubectl bkplugin:\n%s", help.code, help.stdout)
		}
	})
}

func countContaining(lines []string, s string) int {
	n := 0
	for _, l := range lines {
		if strings.Contains(l, s) {
			n++
		}
	}
	return n
}
