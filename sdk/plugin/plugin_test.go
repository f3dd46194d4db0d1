package plugin_test

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/bkplugin/bk-plugin-operator/sdk/plugin"
	"github.com/bkplugin/bk-plugin-operator/sdk/plugintest"
	"github.com/bkplugin/bk-plugin-operator/sdk/protocol"
)

type in struct {
	Step string `json:"step" jsonschema:"enum=success,enum=error,enum=panic,enum=poll,enum=callback,enum=poll_then_error,enum=callback_then_poll,enum=error_after_outputs,enum=panic_after_outputs,enum=bad_outputs"`
	N    int    `json:"n,omitempty" jsonschema:"minimum=0"`
}

type ctxIn struct {
	BizID    int    `json:"biz_id"`
	Executor string `json:"executor" jsonschema:"default=admin"`
}

type out struct {
	Seen  []string `json:"seen,omitempty"`
	Bad   any      `json:"bad,omitempty"`
	Count int      `json:"count,omitempty"`
}

// newPlugin returns a plugin whose one version does what its step input says.
func newPlugin(t *testing.T) *plugin.Plugin {
	t.Helper()
	p, err := plugin.New(plugin.Meta{Code: "steps", Description: "test plugin"})
	if err != nil {
		t.Fatal(err)
	}
	err = plugin.AddVersion(p, plugin.Version[in, ctxIn, out]{
		Version: "1.0.0",
		Execute: func(ctx *plugin.Context[in, ctxIn, out]) error {
			ctx.Outputs.Seen = append(ctx.Outputs.Seen, ctx.State.String())
			ctx.Log.Info("execute", "state", ctx.State.String(), "executor", ctx.ContextInputs.Executor)
			switch ctx.Inputs.Step {
			case "error":
				return errors.New("it broke")
			case "panic":
				panic("boom")
			case "error_after_outputs":
				ctx.Outputs.Count = 7
				return errors.New("late failure")
			case "panic_after_outputs":
				ctx.Outputs.Count = 8
				var m map[string]int
				m["x"] = 1 // a real runtime panic, not a string
			case "bad_outputs":
				ctx.Outputs.Bad = func() {}
			case "poll":
				if ctx.InvokeCount <= ctx.Inputs.N {
					ctx.WaitPoll(10 * time.Second)
				}
			case "poll_then_error":
				if ctx.State == plugin.StatePoll {
					return errors.New("failed while polling")
				}
				ctx.WaitPoll(time.Second)
			case "callback":
				if ctx.State == plugin.StateCallback {
					var data struct{ OK bool }
					if err := ctx.Callback.Decode(&data); err != nil {
						return err
					}
					if !data.OK {
						ctx.WaitCallback()
					}
					return nil
				}
				for range max(ctx.Inputs.N, 1) {
					cb, err := ctx.PrepareCallback()
					if err != nil {
						return err
					}
					ctx.Storage.Set("last", cb.ID)
				}
				ctx.WaitCallbackTimeout(time.Hour)
			case "callback_then_poll":
				// The last of WaitCallback and WaitPoll wins.
				ctx.WaitCallback()
				ctx.WaitPoll(3 * time.Second)
			}
			return nil
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func TestStateTransitions(t *testing.T) {
	ctxOK := map[string]any{"biz_id": 2}
	tests := []struct {
		name    string
		inputs  map[string]any
		context any
		// states after each execute; callbacks are delivered by id with {"OK": true}
		states []plugin.State
		err    string
		seen   []string
	}{
		{"EMPTY -> SUCCESS", map[string]any{"step": "success"}, ctxOK, []plugin.State{plugin.StateSuccess}, "", []string{"EMPTY"}},
		{"EMPTY -> FAIL by error", map[string]any{"step": "error"}, ctxOK, []plugin.State{plugin.StateFail}, "it broke", []string{"EMPTY"}},
		{"EMPTY -> FAIL by panic", map[string]any{"step": "panic"}, ctxOK, []plugin.State{plugin.StateFail}, "panic: boom", []string{"EMPTY"}},
		{"EMPTY -> POLL -> POLL -> SUCCESS", map[string]any{"step": "poll", "n": 2}, ctxOK,
			[]plugin.State{plugin.StatePoll, plugin.StatePoll, plugin.StateSuccess}, "", []string{"EMPTY", "POLL", "POLL"}},
		{"POLL -> FAIL", map[string]any{"step": "poll_then_error"}, ctxOK,
			[]plugin.State{plugin.StatePoll, plugin.StateFail}, "failed while polling", []string{"EMPTY", "POLL"}},
		{"EMPTY -> CALLBACK -> SUCCESS", map[string]any{"step": "callback"}, ctxOK,
			[]plugin.State{plugin.StateCallback, plugin.StateSuccess}, "", []string{"EMPTY", "CALLBACK"}},
		{"last wait wins", map[string]any{"step": "callback_then_poll"}, ctxOK,
			[]plugin.State{plugin.StatePoll, plugin.StatePoll}, "", []string{"EMPTY", "POLL"}},
		{"invalid inputs and context", map[string]any{"step": "nope", "n": -1}, map[string]any{"executor": 3}, []plugin.State{plugin.StateFail},
			`inputs validation error: n: must be >= 0; step: must be one of ["success","error","panic","poll","callback","poll_then_error","callback_then_poll","error_after_outputs","panic_after_outputs","bad_outputs"]; context.biz_id: required; context.executor: must be string, got number`, nil},
		{"outputs are not JSON", map[string]any{"step": "bad_outputs"}, ctxOK, []plugin.State{plugin.StateFail}, "outputs are not JSON-encodable", nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := plugintest.New(t, newPlugin(t), plugintest.Options{})
			inv := h.Start("1.0.0", tt.inputs, tt.context)
			for i, want := range tt.states {
				if i > 0 {
					if inv.State() == plugin.StateCallback {
						inv.Callback(inv.Callbacks()[0].ID, map[string]bool{"OK": true})
					} else {
						inv.Step()
					}
				}
				if inv.State() != want {
					t.Fatalf("after execute %d: state %s, want %s (error %q)", i+1, inv.State(), want, inv.Err())
				}
			}
			if tt.err != "" && !strings.Contains(inv.Err(), tt.err) {
				t.Errorf("error = %q, want it to contain %q", inv.Err(), tt.err)
			}
			if tt.err == "" && inv.Err() != "" {
				t.Errorf("error = %q, want none", inv.Err())
			}
			if tt.seen != nil {
				inv.AssertOutputs(out{Seen: tt.seen})
			}
		})
	}
}

func TestOutputsSurviveErrorsAndPanics(t *testing.T) {
	for step, count := range map[string]int{"error_after_outputs": 7, "panic_after_outputs": 8} {
		t.Run(step, func(t *testing.T) {
			inv := plugintest.New(t, newPlugin(t), plugintest.Options{}).Start("1.0.0", map[string]any{"step": step}, map[string]any{"biz_id": 1})
			inv.AssertState(plugin.StateFail)
			inv.AssertOutputs(out{Seen: []string{"EMPTY"}, Count: count})
		})
	}
	inv := plugintest.New(t, newPlugin(t), plugintest.Options{}).Start("1.0.0", map[string]any{"step": "panic_after_outputs"}, map[string]any{"biz_id": 1})
	inv.AssertError("panic: assignment to entry in nil map")
}

func TestPollIntervalAndFakeClock(t *testing.T) {
	h := plugintest.New(t, newPlugin(t), plugintest.Options{})
	start := h.Clock().Now()
	inv := h.Start("1.0.0", map[string]any{"step": "poll", "n": 3}, map[string]any{"biz_id": 1})
	if got, want := inv.NextPoll(), start.Add(10*time.Second); !got.Equal(want) {
		t.Errorf("next poll at %s, want %s", got, want)
	}
	if got := inv.Run(); got != plugin.StateSuccess {
		t.Fatalf("Run = %s", got)
	}
	if got := h.Clock().Now().Sub(start); got != 30*time.Second {
		t.Errorf("fake clock moved %s, want 30s (three polls of 10s)", got)
	}
	for i, s := range inv.Steps() {
		if s.Request.InvokeCount != i+1 {
			t.Errorf("execute %d sent invoke_count %d", i+1, s.Request.InvokeCount)
		}
	}
}

func TestPrepareCallback(t *testing.T) {
	h := plugintest.New(t, newPlugin(t), plugintest.Options{})
	inv := h.Start("1.0.0", map[string]any{"step": "callback", "n": 3}, map[string]any{"biz_id": 1})
	inv.AssertState(plugin.StateCallback)
	step := inv.Steps()[0]
	if step.Response.CallbackTimeoutSeconds != 3600 {
		t.Errorf("callback timeout = %vs, want 3600s", step.Response.CallbackTimeoutSeconds)
	}
	cbs := inv.Callbacks()
	if len(cbs) != 3 {
		t.Fatalf("%d callbacks prepared, want 3", len(cbs))
	}
	ids := map[string]bool{}
	for _, cb := range cbs {
		if ids[cb.ID] {
			t.Errorf("callback id %s handed out twice", cb.ID)
		}
		ids[cb.ID] = true
		token := strings.TrimSuffix(strings.TrimPrefix(cb.URL, plugintest.DefaultCallbackBaseURL), "/")
		claims, err := protocol.VerifyToken(token, time.Now(), []byte("plugintest master key"))
		if err != nil {
			t.Fatalf("callback URL %s does not verify: %v", cb.URL, err)
		}
		if claims.CallbackID != cb.ID || claims.TraceID != inv.TraceID() {
			t.Errorf("token claims %+v, want callback %s of trace %s", claims, cb.ID, inv.TraceID())
		}
	}
	inv.AssertStorage("last", cbs[2].ID)

	// A callback that does not say OK keeps the invocation waiting; the
	// second one ends it, through its signed URL.
	inv.Callback(cbs[0].ID, map[string]bool{"OK": false})
	inv.AssertState(plugin.StateCallback)
	if err := inv.CallbackURL(cbs[1].URL, map[string]bool{"OK": true}); err != nil {
		t.Fatal(err)
	}
	inv.AssertState(plugin.StateSuccess)
	inv.AssertOutputs(out{Seen: []string{"EMPTY", "CALLBACK", "CALLBACK"}})
}

func TestEarlyCallbackIsKept(t *testing.T) {
	h := plugintest.New(t, newPlugin(t), plugintest.Options{})
	inv := h.Start("1.0.0", map[string]any{"step": "callback_then_poll"}, map[string]any{"biz_id": 1})
	inv.Callback("early", map[string]bool{"OK": true})
	inv.AssertState(plugin.StatePoll) // not delivered: the invocation is not waiting
	if n := inv.InvokeCount(); n != 1 {
		t.Errorf("InvokeCount = %d, want 1", n)
	}
}

func TestPrepareCallbackWithoutKey(t *testing.T) {
	inv := plugintest.New(t, newPlugin(t), plugintest.Options{NoCallbacks: true}).
		Start("1.0.0", map[string]any{"step": "callback"}, map[string]any{"biz_id": 1})
	inv.AssertError("no callback_key or callback_base_url")
}

func TestContextInputsAndLogs(t *testing.T) {
	inv := plugintest.New(t, newPlugin(t), plugintest.Options{}).
		Start("1.0.0", map[string]any{"step": "success"}, map[string]any{"biz_id": 1})
	logs := inv.Logs()
	if len(logs) != 1 || !strings.Contains(logs[0], "msg=execute") || !strings.Contains(logs[0], "executor=admin") {
		t.Errorf("logs = %q, want one execute line with the default executor", logs)
	}
}

func TestRegistrationErrors(t *testing.T) {
	exec := func(*plugin.Context[plugin.None, plugin.None, plugin.None]) error { return nil }
	tests := []struct {
		name    string
		version plugin.Version[plugin.None, plugin.None, plugin.None]
		want    string
	}{
		{"not semver", plugin.Version[plugin.None, plugin.None, plugin.None]{Version: "1.0", Execute: exec}, "not a semantic version"},
		{"v prefix", plugin.Version[plugin.None, plugin.None, plugin.None]{Version: "v1.0.0", Execute: exec}, "not a semantic version"},
		{"build metadata", plugin.Version[plugin.None, plugin.None, plugin.None]{Version: "1.0.0+abc", Execute: exec}, "build metadata"},
		{"duplicate", plugin.Version[plugin.None, plugin.None, plugin.None]{Version: "1.0.0", Execute: exec}, "registered twice"},
		{"no execute", plugin.Version[plugin.None, plugin.None, plugin.None]{Version: "2.0.0"}, "no Execute"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := plugin.MustNew(plugin.Meta{Code: "reg"})
			plugin.MustAddVersion(p, plugin.Version[plugin.None, plugin.None, plugin.None]{Version: "1.0.0", Execute: exec})
			err := plugin.AddVersion(p, tt.version)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("AddVersion = %v, want an error containing %q", err, tt.want)
			}
		})
	}
	p := plugin.MustNew(plugin.Meta{Code: "reg"})
	if err := plugin.AddVersion(p, plugin.Version[*in, plugin.None, plugin.None]{Version: "1.0.0", Execute: func(*plugin.Context[*in, plugin.None, plugin.None]) error { return nil }}); err == nil {
		t.Error("AddVersion accepted pointer inputs")
	}
	for _, code := range []string{"", "Hello", "a_b", "-a", strings.Repeat("a", 41)} {
		if _, err := plugin.New(plugin.Meta{Code: code}); err == nil {
			t.Errorf("New accepted code %q", code)
		}
	}
}

func TestVersionsAreOrderedBySemver(t *testing.T) {
	p := plugin.MustNew(plugin.Meta{Code: "order"})
	exec := func(*plugin.Context[plugin.None, plugin.None, plugin.None]) error { return nil }
	for _, v := range []string{"1.10.0", "1.2.0", "1.2.0-rc.1", "0.9.1"} {
		plugin.MustAddVersion(p, plugin.Version[plugin.None, plugin.None, plugin.None]{Version: v, Execute: exec})
	}
	var got []string
	for _, v := range p.Versions() {
		got = append(got, v.Version)
	}
	if want := "0.9.1 1.2.0-rc.1 1.2.0 1.10.0"; strings.Join(got, " ") != want {
		t.Errorf("Versions = %v, want %s", got, want)
	}
	// meta answers newest first, as the Python framework does: bk-sops
	// takes versions[0] as the latest.
	if m := p.MetaAnswer("x"); strings.Join(m.Versions, " ") != "1.10.0 1.2.0 1.2.0-rc.1 0.9.1" || m.Language != "go" {
		t.Errorf("MetaAnswer = %+v", m)
	}
}

func TestExecuteRejectsBadRequests(t *testing.T) {
	p := newPlugin(t)
	ok := protocol.ExecuteRequest{TraceID: "t", PluginVersion: "1.0.0", State: plugin.StateEmpty, InvokeCount: 1}
	tests := []struct {
		name   string
		mutate func(*protocol.ExecuteRequest)
		want   string
	}{
		{"unknown version", func(r *protocol.ExecuteRequest) { r.PluginVersion = "9.9.9" }, "unknown plugin version"},
		{"no trace id", func(r *protocol.ExecuteRequest) { r.TraceID = "" }, "trace_id is required"},
		{"invoke count 0", func(r *protocol.ExecuteRequest) { r.InvokeCount = 0 }, "invoke_count must be >= 1"},
		{"terminal state", func(r *protocol.ExecuteRequest) { r.State = plugin.StateSuccess }, "terminal"},
		{"no state", func(r *protocol.ExecuteRequest) { r.State = 0 }, "state must be EMPTY, POLL or CALLBACK"},
		{"callback state without callback", func(r *protocol.ExecuteRequest) { r.State = plugin.StateCallback }, "callback.id"},
		{"storage not an object", func(r *protocol.ExecuteRequest) { r.Storage = json.RawMessage(`[1]`) }, "storage must be a JSON object"},
		{"other protocol", func(r *protocol.ExecuteRequest) { r.ProtocolVersion = "2" }, "protocol_version"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req := ok
			tt.mutate(&req)
			resp, err := p.Execute(context.Background(), &req, plugin.ExecuteOptions{})
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("Execute = %+v, %v; want an error containing %q", resp, err, tt.want)
			}
			var re *plugin.RequestError
			if tt.name != "unknown version" && !errors.As(err, &re) {
				t.Errorf("error %v is not a *RequestError", err)
			}
		})
	}
}
