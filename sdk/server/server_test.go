package server_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/bkplugin/bk-plugin-operator/sdk/examples/callbacker/callbackerplugin"
	"github.com/bkplugin/bk-plugin-operator/sdk/examples/deployer/deployerplugin"
	"github.com/bkplugin/bk-plugin-operator/sdk/examples/hello/helloplugin"
	"github.com/bkplugin/bk-plugin-operator/sdk/examples/poller/pollerplugin"
	"github.com/bkplugin/bk-plugin-operator/sdk/plugin"
	"github.com/bkplugin/bk-plugin-operator/sdk/protocol"
	"github.com/bkplugin/bk-plugin-operator/sdk/server"
	"github.com/bkplugin/bk-plugin-operator/sdk/stdapi"
)

func serve(t *testing.T, p *plugin.Plugin, opts server.Options) *httptest.Server {
	t.Helper()
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	// These tests play the manager and send no execute token unless they
	// configure one; executeauth_test.go tests the refusals.
	if opts.ExecuteToken == "" && opts.ExecuteTokenFile == "" {
		opts.InsecureNoExecuteToken = true
	}
	s, err := server.New(p, opts)
	if err != nil {
		t.Fatal(err)
	}
	ts := httptest.NewServer(s)
	t.Cleanup(ts.Close)
	return ts
}

func do(t *testing.T, method, url, body string) (int, []byte) {
	t.Helper()
	req, err := http.NewRequest(method, url, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, b
}

func decode[T any](t *testing.T, b []byte) T {
	t.Helper()
	var v T
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&v); err != nil {
		t.Fatalf("answer %s does not decode strictly into %T: %v", b, v, err)
	}
	return v
}

func execute(t *testing.T, base, version string, req protocol.ExecuteRequest) protocol.ExecuteResponse {
	t.Helper()
	body, _ := json.Marshal(req)
	code, b := do(t, "POST", base+"/bk_plugin/execute/"+version, string(body))
	if code != http.StatusOK {
		t.Fatalf("execute answered %d: %s", code, b)
	}
	return decode[protocol.ExecuteResponse](t, b)
}

// The examples answer meta, detail and execute in the documented
// shapes over real HTTP.
func TestExamplesOverHTTP(t *testing.T) {
	tests := []struct {
		p        *plugin.Plugin
		versions []string
		inputs   string
		state    protocol.State
		outputs  string // "" to skip
	}{
		{helloplugin.Plugin(), []string{"1.1.0", "1.0.0"}, `{"name":"world"}`, protocol.StateSuccess, `{"greeting":"Hello, world!"}`},
		{pollerplugin.Plugin(), []string{"1.0.0"}, `{"polls":1,"interval":7}`, protocol.StatePoll, `{"polls_done":0}`},
		{callbackerplugin.Plugin(), []string{"1.0.0"}, `{}`, protocol.StateCallback, ""},
		{deployerplugin.Plugin(), []string{"1.0.0"}, `{"version":"1.0.0","env":"dev","token":"t"}`, protocol.StateSuccess, ""},
	}
	for _, tt := range tests {
		code := tt.p.Meta().Code
		t.Run(code, func(t *testing.T) {
			ts := serve(t, tt.p, server.Options{RuntimeVersion: "test"})

			status, b := do(t, "GET", ts.URL+"/bk_plugin/meta/", "")
			meta := decode[stdapi.Envelope[server.Meta]](t, b)
			if status != 200 || !meta.Result || meta.Data.Code != code || meta.Data.Language != "go" ||
				strings.Join(meta.Data.Versions, ",") != strings.Join(tt.versions, ",") ||
				meta.Data.ProtocolVersion != protocol.Version || meta.Data.RuntimeVersion != "test" || meta.Data.FrameworkVersion != plugin.FrameworkVersion {
				t.Errorf("meta = %d %s", status, b)
			}

			for _, v := range tt.versions {
				status, b := do(t, "GET", ts.URL+"/bk_plugin/detail/"+v, "")
				d := decode[stdapi.Envelope[stdapi.Detail]](t, b)
				if status != 200 || !d.Result || d.Data.Version != v || d.Data.Desc == "" {
					t.Errorf("detail %s = %d %s", v, status, b)
				}
				// Only a version described by a task.json answers one.
				if hasTask := len(d.Data.TaskJSON) > 0; hasTask != (code == deployerplugin.Code) {
					t.Errorf("detail %s task_json = %s", v, d.Data.TaskJSON)
				}
				for name, s := range map[string]json.RawMessage{"inputs": d.Data.Inputs, "context_inputs": d.Data.ContextInputs, "outputs": d.Data.Outputs} {
					var sch struct {
						Type       string         `json:"type"`
						Properties map[string]any `json:"properties"`
					}
					if err := json.Unmarshal(s, &sch); err != nil || sch.Type != "object" || sch.Properties == nil {
						t.Errorf("detail %s %s = %s, want an object schema with properties", v, name, s)
					}
				}
			}

			resp := execute(t, ts.URL, tt.versions[0], protocol.ExecuteRequest{
				ProtocolVersion: protocol.Version, TraceID: "trace1", PluginCode: code,
				State: protocol.StateEmpty, InvokeCount: 1, Inputs: json.RawMessage(tt.inputs),
				CallbackBaseURL: "http://shim/plugins/callbacker/bk_plugin/callback/", CallbackKey: []byte("k"),
			})
			if resp.State != tt.state || resp.ProtocolVersion != protocol.Version {
				t.Errorf("execute = %+v, want state %s", resp, tt.state)
			}
			if tt.outputs != "" && string(resp.Outputs) != tt.outputs {
				t.Errorf("outputs = %s, want %s", resp.Outputs, tt.outputs)
			}
			if tt.state == protocol.StatePoll && resp.PollIntervalSeconds != 7 {
				t.Errorf("poll interval = %v, want 7", resp.PollIntervalSeconds)
			}
			if tt.state == protocol.StateCallback {
				if len(resp.Callbacks) != 1 || !strings.HasPrefix(resp.Callbacks[0].URL, "http://shim/plugins/callbacker/bk_plugin/callback/") {
					t.Errorf("callbacks = %+v", resp.Callbacks)
				}
			}
		})
	}
}

func TestCallbackerWholeLifeOverHTTP(t *testing.T) {
	ts := serve(t, callbackerplugin.Plugin(), server.Options{})
	master := []byte("master")
	req := protocol.ExecuteRequest{
		TraceID: "t2", State: protocol.StateEmpty, InvokeCount: 1,
		CallbackBaseURL: "http://shim/cb/", CallbackKey: protocol.DeriveInvocationKey(master, "t2"),
	}
	first := execute(t, ts.URL, "1.0.0", req)
	token := strings.TrimSuffix(strings.TrimPrefix(first.Callbacks[0].URL, "http://shim/cb/"), "/")
	claims, err := protocol.VerifyToken(token, time.Now(), master)
	if err != nil || claims.CallbackID != first.Callbacks[0].ID || claims.TraceID != "t2" {
		t.Fatalf("token %s: claims %+v, %v", token, claims, err)
	}
	req.State, req.InvokeCount, req.Storage, req.Outputs = first.State, 2, first.Storage, first.Outputs
	req.Callback = &protocol.Callback{ID: claims.CallbackID, Data: json.RawMessage(`{"x":1}`)}
	second := execute(t, ts.URL, "1.0.0", req)
	if second.State != protocol.StateSuccess || !strings.Contains(string(second.Outputs), `"received":{"x":1}`) {
		t.Errorf("second execute = %+v %s", second, second.Outputs)
	}
}

func TestExecuteErrors(t *testing.T) {
	ts := serve(t, helloplugin.Plugin(), server.Options{MaxRequestBytes: 1024})
	valid := `{"trace_id":"t","state":1,"invoke_count":1,"inputs":{"name":"x"}}`
	tests := []struct {
		name, path, body string
		status           int
		message          string
	}{
		{"unknown version", "/bk_plugin/execute/9.0.0", valid, 404, `no version "9.0.0"`},
		{"malformed body", "/bk_plugin/execute/1.0.0", `{"trace_id":`, 400, "execute request: body is not valid"},
		{"empty body", "/bk_plugin/execute/1.0.0", ``, 400, "body is empty"},
		{"two values", "/bk_plugin/execute/1.0.0", valid + valid, 400, "more than one JSON value"},
		{"bad state", "/bk_plugin/execute/1.0.0", `{"trace_id":"t","state":9,"invoke_count":1}`, 400, "state 9 is not one of"},
		{"terminal state", "/bk_plugin/execute/1.0.0", `{"trace_id":"t","state":4,"invoke_count":1}`, 400, "terminal"},
		{"version mismatch", "/bk_plugin/execute/1.0.0", `{"trace_id":"t","state":1,"invoke_count":1,"plugin_version":"1.1.0"}`, 400, "does not match"},
		{"other plugin", "/bk_plugin/execute/1.0.0", `{"trace_id":"t","state":1,"invoke_count":1,"plugin_code":"poller"}`, 400, `serves plugin "hello"`},
		{"too large", "/bk_plugin/execute/1.0.0", `{"trace_id":"t","inputs":{"name":"` + strings.Repeat("x", 2000) + `"}}`, 413, "larger than 1024 bytes"},
		{"unknown detail", "/bk_plugin/detail/2.0.0", "", 404, `no version "2.0.0"`},
		{"unknown route", "/nope", "", 404, "no route"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			method := "POST"
			if strings.HasPrefix(tt.path, "/bk_plugin/detail") {
				method = "GET"
			}
			status, b := do(t, method, ts.URL+tt.path, tt.body)
			env := decode[stdapi.RawEnvelope](t, b)
			if status != tt.status || env.Result || !strings.Contains(env.Message, tt.message) {
				t.Errorf("answer %d %s, want %d with a message containing %q", status, b, tt.status, tt.message)
			}
		})
	}
}

func TestInputsValidationOverHTTP(t *testing.T) {
	ts := serve(t, pollerplugin.Plugin(), server.Options{})
	resp := execute(t, ts.URL, "1.0.0", protocol.ExecuteRequest{
		TraceID: "t", State: protocol.StateEmpty, InvokeCount: 1,
		Inputs: json.RawMessage(`{"polls":-1,"interval":"x","fail_at":1.5}`),
	})
	want := "inputs validation error: fail_at: must be integer, got number; interval: must be integer, got string; polls: must be >= 0"
	if resp.State != protocol.StateFail || resp.Error != want {
		t.Errorf("execute = %s %q, want FAIL %q", resp.State, resp.Error, want)
	}
}

func TestPluginAPIRouting(t *testing.T) {
	p := helloplugin.Plugin()
	p.HandleAPIFunc("GET task_list/{biz_id}", func(w http.ResponseWriter, r *http.Request) {
		plugin.WriteJSON(w, 200, map[string]string{"biz": r.PathValue("biz_id"), "user": plugin.Username(r)})
	})
	p.HandleAPIFunc("POST echo", func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		w.Write(b)
	})
	p.HandleAPIFunc("broken", func(http.ResponseWriter, *http.Request) { panic("api bug") })
	ts := serve(t, p, server.Options{})

	tests := []struct {
		method, path, body string
		status             int
		contains           string
	}{
		{"GET", "/bk_plugin/plugin_api/punctuations", "", 200, `"value":"!"`},
		{"GET", "/bk_plugin/plugin_api/task_list/12", "", 200, `"biz":"12"`},
		{"POST", "/bk_plugin/plugin_api/echo", `{"a":1}`, 200, `{"a":1}`},
		{"GET", "/bk_plugin/plugin_api/echo", "", 404, `"result":false`},
		{"GET", "/bk_plugin/plugin_api/missing", "", 404, "has no plugin API for GET /bk_plugin/plugin_api/missing"},
		{"GET", "/bk_plugin/plugin_api/broken", "", 500, "api bug"},
	}
	for _, tt := range tests {
		status, b := do(t, tt.method, ts.URL+tt.path, tt.body)
		if status != tt.status || !strings.Contains(string(b), tt.contains) {
			t.Errorf("%s %s = %d %s, want %d containing %q", tt.method, tt.path, status, b, tt.status, tt.contains)
		}
	}
	req, _ := http.NewRequest("GET", ts.URL+"/bk_plugin/plugin_api/task_list/3", nil)
	req.Header.Set(protocol.HeaderUsername, "alice")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if !strings.Contains(string(b), `"user":"alice"`) {
		t.Errorf("plugin API did not see the user: %s", b)
	}
}

func TestLogsByTraceID(t *testing.T) {
	ts := serve(t, helloplugin.Plugin(), server.Options{})
	for _, trace := range []string{"a", "b", "a"} {
		resp := execute(t, ts.URL, "1.0.0", protocol.ExecuteRequest{TraceID: trace, State: 1, InvokeCount: 1, Inputs: json.RawMessage(`{"name":"` + trace + `"}`)})
		if len(resp.Logs) != 1 {
			t.Fatalf("execute answered logs %q, want one line", resp.Logs)
		}
	}
	_, b := do(t, "GET", ts.URL+"/bk_plugin/logs/a", "")
	logs := decode[stdapi.Envelope[stdapi.LogsData]](t, b)
	lines := logs.Data.Lines()
	if len(lines) != 2 || !strings.Contains(lines[0], "name=a") {
		t.Errorf("logs of a = %q", lines)
	}
	_, b = do(t, "GET", ts.URL+"/bk_plugin/logs/unknown", "")
	if logs := decode[stdapi.Envelope[stdapi.LogsData]](t, b); !logs.Result || logs.Data.Log != "" {
		t.Errorf("logs of an unknown trace = %s", b)
	}
}

func TestProbesAndMetrics(t *testing.T) {
	ts := serve(t, pollerplugin.Plugin(), server.Options{})
	for _, path := range []string{"/healthz", "/readyz"} {
		if status, _ := do(t, "GET", ts.URL+path, ""); status != 200 {
			t.Errorf("%s = %d", path, status)
		}
	}
	execute(t, ts.URL, "1.0.0", protocol.ExecuteRequest{TraceID: "m", State: 1, InvokeCount: 1})
	execute(t, ts.URL, "1.0.0", protocol.ExecuteRequest{TraceID: "m", State: 1, InvokeCount: 1, Inputs: json.RawMessage(`{"polls":0}`)})
	do(t, "POST", ts.URL+"/bk_plugin/execute/1.0.0", "{")
	_, b := do(t, "GET", ts.URL+"/metrics", "")
	for _, want := range []string{
		`bkplugin_executes_total{outcome="POLL",plugin="poller",version="1.0.0"} 1`,
		`bkplugin_executes_total{outcome="SUCCESS",plugin="poller",version="1.0.0"} 1`,
		`bkplugin_execute_duration_seconds_count{plugin="poller",version="1.0.0"} 2`,
		`bkplugin_execute_requests_rejected_total{plugin="poller",reason="malformed"} 1`,
		`go_goroutines`,
	} {
		if !strings.Contains(string(b), want) {
			t.Errorf("metrics lack %s", want)
		}
	}
}

// Serve finishes in-flight executes after its context ends and turns unready
// while it drains.
func TestGracefulShutdown(t *testing.T) {
	release := make(chan struct{})
	started := make(chan struct{})
	p := plugin.MustNew(plugin.Meta{Code: "slow"})
	plugin.MustAddVersion(p, plugin.Version[plugin.None, plugin.None, plugin.None]{
		Version: "1.0.0",
		Execute: func(*plugin.Context[plugin.None, plugin.None, plugin.None]) error {
			close(started)
			<-release
			return nil
		},
	})
	s, err := server.New(p, server.Options{Logger: slog.New(slog.DiscardHandler), ShutdownDelay: 200 * time.Millisecond, InsecureNoExecuteToken: true})
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	base := "http://" + ln.Addr().String()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- s.Serve(ctx, ln) }()

	answer := make(chan protocol.State, 1)
	go func() {
		body := `{"trace_id":"s","state":1,"invoke_count":1}`
		resp, err := http.Post(base+"/bk_plugin/execute/1.0.0", "application/json", strings.NewReader(body))
		if err != nil {
			answer <- 0
			return
		}
		defer resp.Body.Close()
		var r protocol.ExecuteResponse
		_ = json.NewDecoder(resp.Body).Decode(&r)
		answer <- r.State
	}()
	<-started
	cancel()
	time.Sleep(50 * time.Millisecond) // within ShutdownDelay: still serving, unready
	if status, _ := do(t, "GET", base+"/readyz", ""); status != http.StatusServiceUnavailable {
		t.Errorf("readyz while shutting down = %d, want 503", status)
	}
	close(release)
	if st := <-answer; st != protocol.StateSuccess {
		t.Errorf("in-flight execute answered %s, want SUCCESS", st)
	}
	if err := <-done; err != nil {
		t.Errorf("Serve = %v", err)
	}
}
