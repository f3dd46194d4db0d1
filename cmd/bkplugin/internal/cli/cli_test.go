package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
)

// run runs the command line in-process with env as its environment.
func run(t *testing.T, env map[string]string, stdin string, args ...string) (stdout, stderr string, code int) {
	t.Helper()
	var out, errOut bytes.Buffer
	code = Main(context.Background(), append([]string{"bkplugin"}, args...), IO{
		In: strings.NewReader(stdin), Out: &out, Err: &errOut,
		Getenv: func(k string) string { return env[k] },
	})
	return out.String(), errOut.String(), code
}

// TestUsageErrors checks that each wrong command line exits 2 with a
// message that says what is wrong, before any call is made.
func TestUsageErrors(t *testing.T) {
	tests := []struct {
		args []string
		want string
	}{
		{[]string{"invoke", "hello"}, "want 2 arguments (CODE VERSION), got 1"},
		{[]string{"invoke", "hello", ""}, "VERSION must not be empty"},
		{[]string{"invoke", "hello", "1.0.0", "--inputs", "{"}, "--inputs is not valid JSON"},
		{[]string{"invoke", "hello", "1.0.0", "--inputs", "[1]"}, "--inputs must be a JSON object"},
		{[]string{"invoke", "hello", "1.0.0", "--context", "@/no/such/file"}, "--context @/no/such/file"},
		{[]string{"invoke", "hello", "1.0.0", "--trace-id", "xyz"}, "--trace-id"},
		{[]string{"invoke", "hello", "1.0.0", "--inputs", "@-", "--context", "@-"}, "cannot both read standard input"},
		{[]string{"plugins", "-o", "yaml"}, `--output "yaml": want table or json`},
		{[]string{"plugins", "--server", "ftp://x"}, "--server"},
		{[]string{"plugins", "--no-such-flag"}, "unknown flag: --no-such-flag"},
		{[]string{"history", "hello", "--state", "DONE"}, "--state: unknown state"},
		{[]string{"history", "hello", "--limit", "-1"}, "--limit -1"},
		{[]string{"callback", "token-only"}, "needs --code"},
		{[]string{"callback", "http://shim/plugins/x/bk_plugin/callback/t/", "--code", "x"}, "not both"},
		{[]string{"init", "Not A Path", "--sdk-version", "v0.1.0"}, "module path"},
		{[]string{"no-such-command"}, "unknown command"},
	}
	for _, tt := range tests {
		t.Run(strings.Join(tt.args, " "), func(t *testing.T) {
			_, stderr, code := run(t, nil, "", tt.args...)
			if code != ExitUsage || !strings.Contains(stderr, tt.want) {
				t.Errorf("exit %d, stderr %q; want %d and %q", code, stderr, ExitUsage, tt.want)
			}
		})
	}
}

// historyShim serves the documented shape of the history and cancel
// extensions, which the real shim is gaining on another branch: two pages
// of history, and a cancel that ends the invocation at the next schedule.
type historyShim struct {
	mu        sync.Mutex
	queries   []string
	cancelled bool
	auth      []string
}

const traceA, traceB = "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa", "bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb"

func (h *historyShim) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.auth = append(h.auth, r.Header.Get("Authorization"))
	w.Header().Set("Content-Type", "application/json")
	item := func(id string, state int, errMsg string) string {
		return fmt.Sprintf(`{"trace_id":%q,"plugin_version":"1.0.0","state":%d,"err":%q,"created_at":"2026-11-30 06:00:00","finish_at":"2026-11-30 06:00:01"}`, id, state, errMsg)
	}
	switch {
	case r.Method == "GET" && r.URL.Path == "/plugins/poller/bk_plugin/invocations":
		h.queries = append(h.queries, r.URL.RawQuery)
		if r.URL.Query().Get("cursor") == "" {
			fmt.Fprintf(w, `{"result":true,"message":"","trace_id":"","data":{"items":[%s],"next_cursor":"page2"}}`, item(traceA, 4, ""))
			return
		}
		fmt.Fprintf(w, `{"result":true,"message":"","trace_id":"","data":{"items":[%s],"next_cursor":""}}`, item(traceB, 5, "cancelled"))
	case r.Method == "POST" && r.URL.Path == "/plugins/poller/bk_plugin/cancel/"+traceA:
		h.cancelled = true
		fmt.Fprintf(w, `{"result":true,"message":"","trace_id":%q,"data":{"trace_id":%q,"plugin_version":"1.0.0","state":2,"outputs":{},"err":"","created_at":"2026-11-30 06:00:00","finish_at":""}}`, traceA, traceA)
	case r.Method == "GET" && r.URL.Path == "/plugins/poller/bk_plugin/schedule/"+traceA:
		state, errMsg, finish := 2, "", ""
		if h.cancelled {
			state, errMsg, finish = 5, "cancelled by the caller", "2026-11-30 06:00:05"
		}
		fmt.Fprintf(w, `{"result":true,"message":"","trace_id":%q,"data":{"trace_id":%q,"plugin_version":"1.0.0","state":%d,"outputs":{},"err":%q,"created_at":"2026-11-30 06:00:00","finish_at":%q}}`,
			traceA, traceA, state, errMsg, finish)
	default:
		w.WriteHeader(http.StatusNotFound)
		fmt.Fprintf(w, `{"result":false,"message":"no route %s %s","trace_id":"","data":null}`, r.Method, r.URL.Path)
	}
}

func TestHistory(t *testing.T) {
	h := &historyShim{}
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	env := map[string]string{EnvServer: srv.URL, EnvToken: "t0ken"}

	stdout, stderr, code := run(t, env, "", "history", "poller", "--state", "success", "--limit", "1")
	if code != ExitOK {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	if !strings.Contains(stdout, traceA) || strings.Contains(stdout, traceB) || !strings.HasPrefix(stdout, "TRACE ID") {
		t.Errorf("one page of history:\n%s", stdout)
	}
	if !strings.Contains(stderr, "more: --cursor page2") {
		t.Errorf("stderr does not give the next cursor: %q", stderr)
	}

	stdout, stderr, code = run(t, env, "", "history", "poller", "--all", "-o", "json")
	if code != ExitOK {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	var list struct {
		Items []struct {
			TraceID string `json:"trace_id"`
			State   int    `json:"state"`
			Err     string `json:"err"`
		} `json:"items"`
		NextCursor string `json:"next_cursor"`
	}
	if err := json.Unmarshal([]byte(stdout), &list); err != nil {
		t.Fatalf("%v:\n%s", err, stdout)
	}
	if len(list.Items) != 2 || list.Items[1].TraceID != traceB || list.Items[1].Err != "cancelled" || list.NextCursor != "" {
		t.Errorf("history --all = %+v", list)
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	want := []string{"limit=1&state=SUCCESS", "", "cursor=page2"}
	if strings.Join(h.queries, " | ") != strings.Join(want, " | ") {
		t.Errorf("queries = %q, want %q", h.queries, want)
	}
	for _, a := range h.auth {
		if a != "Bearer t0ken" {
			t.Errorf("Authorization = %q, want the token from %s", a, EnvToken)
		}
	}
}

func TestCancelWait(t *testing.T) {
	srv := httptest.NewServer(&historyShim{})
	t.Cleanup(srv.Close)
	stdout, stderr, code := run(t, nil, "", "cancel", "poller", traceA, "--server", srv.URL, "--wait", "--interval", "10ms", "-o", "json")
	if code != ExitOK {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	var inv invocationView
	if err := json.Unmarshal([]byte(stdout), &inv); err != nil {
		t.Fatal(err)
	}
	if inv.StateName != "FAIL" || inv.Err != "cancelled by the caller" || inv.FinishAt == "" {
		t.Errorf("cancel --wait = %+v", inv)
	}
	if !strings.Contains(stderr, "FAIL after") {
		t.Errorf("no progress on stderr: %q", stderr)
	}

	_, stderr, code = run(t, nil, "", "cancel", "poller", traceB, "--server", srv.URL)
	if code != ExitFailure || !strings.Contains(stderr, "404") || !strings.Contains(stderr, "no route") {
		t.Errorf("cancel of an unknown trace: exit %d, stderr %q", code, stderr)
	}
}

func TestKubectlPluginName(t *testing.T) {
	var out, errOut bytes.Buffer
	code := Main(context.Background(), []string{"/usr/local/bin/kubectl-bkplugin", "invoke", "--help"}, IO{Out: &out, Err: &errOut})
	if code != ExitOK || !strings.Contains(out.String(), "kubectl bkplugin invoke CODE VERSION") ||
		!strings.Contains(out.String(), "  kubectl bkplugin invoke hello 1.0.0") {
		t.Errorf("exit %d; help under kubectl-bkplugin:\n%s", code, out.String())
	}
	out.Reset()
	code = Main(context.Background(), []string{"kubectl-bkplugin", "invoke"}, IO{Out: &out, Err: &errOut})
	if code != ExitUsage || !strings.Contains(errOut.String(), "kubectl bkplugin: want 2 arguments") {
		t.Errorf("exit %d, stderr %q", code, errOut.String())
	}
}

func TestTokenNotShownInHelp(t *testing.T) {
	stdout, _, _ := run(t, map[string]string{EnvToken: "very-secret"}, "", "--help")
	if strings.Contains(stdout, "very-secret") {
		t.Errorf("--help shows the token from %s:\n%s", EnvToken, stdout)
	}
}

// TestLogsFollowPrintsEachLineOnce feeds logs -f a log that grows in the
// middle, as the shim's merge of manager and plugin lines by time does:
// every line is printed once, none twice.
func TestLogsFollowPrintsEachLineOnce(t *testing.T) {
	var mu sync.Mutex
	logs := [][]string{{"a", "c"}, {"a", "b", "c", "d"}, {"a", "b", "c", "d", "d", "e"}}
	schedules := 0
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		defer mu.Unlock()
		w.Header().Set("Content-Type", "application/json")
		switch {
		case strings.Contains(r.URL.Path, "/bk_plugin/schedule/"):
			state := 2
			if schedules >= len(logs)-1 {
				state = 4
			}
			schedules++
			fmt.Fprintf(w, `{"result":true,"message":"","trace_id":%q,"data":{"trace_id":%q,"plugin_version":"1.0.0","state":%d,"outputs":{},"err":"","created_at":"","finish_at":""}}`, traceA, traceA, state)
		case strings.Contains(r.URL.Path, "/bk_plugin/logs/"):
			i := min(schedules-1, len(logs)-1)
			body, _ := json.Marshal(strings.Join(logs[i], "\n") + "\n")
			fmt.Fprintf(w, `{"result":true,"message":"","trace_id":%q,"data":{"log":%s}}`, traceA, body)
		default:
			w.WriteHeader(http.StatusNotFound)
		}
	}))
	t.Cleanup(srv.Close)
	stdout, stderr, code := run(t, nil, "", "logs", "poller", traceA, "-f", "--interval", "10ms", "--server", srv.URL)
	if code != ExitOK {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	if got, want := strings.Fields(stdout), []string{"a", "c", "b", "d", "d", "e"}; strings.Join(got, " ") != strings.Join(want, " ") {
		t.Errorf("logs -f printed %q, want %q", got, want)
	}
	if !strings.Contains(stderr, "ended SUCCESS") {
		t.Errorf("stderr %q", stderr)
	}
}

func TestInitJSON(t *testing.T) {
	root, err := filepath.Abs("../../../..")
	if err != nil {
		t.Fatal(err)
	}
	dir := filepath.Join(t.TempDir(), "out")
	stdout, stderr, code := run(t, nil, "", "init", "example.com/acme/my-tool", "--dir", dir, "--code", "tool", "--no-tidy", "--sdk-replace", root, "-o", "json")
	if code != ExitOK {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	var v initView
	if err := json.Unmarshal([]byte(stdout), &v); err != nil {
		t.Fatalf("%v:\n%s", err, stdout)
	}
	if v.Code != "tool" || v.Package != "toolplugin" || v.Dir != dir || v.SDKReplace != root || v.Tidied || len(v.Files) != 9 {
		t.Errorf("init -o json = %+v", v)
	}
	if _, err := os.Stat(filepath.Join(dir, "go.sum")); !os.IsNotExist(err) {
		t.Errorf("--no-tidy wrote go.sum (stat: %v)", err)
	}
	// Again into the same folder: refused, nothing overwritten.
	_, stderr, code = run(t, nil, "", "init", "example.com/acme/my-tool", "--dir", dir, "--no-tidy", "--sdk-replace", root)
	if code != ExitUsage || !strings.Contains(stderr, "already exists") {
		t.Errorf("second init: exit %d, stderr %q", code, stderr)
	}
	// No replace and no published version to fall back on.
	_, stderr, code = run(t, nil, "", "init", "example.com/acme/other", "--dir", t.TempDir(), "--no-tidy", "--sdk-replace=")
	if code != ExitUsage || !strings.Contains(stderr, "--sdk-version") {
		t.Errorf("init with --sdk-replace=: exit %d, stderr %q", code, stderr)
	}
}
