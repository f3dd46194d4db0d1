package client

import (
	"context"
	"encoding/json"
	"reflect"
	"testing"
	"time"

	"github.com/bkplugin/bk-plugin-operator/sdk/protocol"
	"github.com/bkplugin/bk-plugin-operator/sdk/stdapi"
)

const tid = "5f1c0d3e9a7b4c2d8e6f0a1b2c3d4e5f"

// TestMethods checks, for every method, the request on the wire (method,
// escaped path, body, headers) and the decoding of the documented answer.
// Paths and answers are literal strings from DESIGN.md's table and the
// Python framework, not built with the stdapi helpers the client uses.
func TestMethods(t *testing.T) {
	created := time.Date(2024, 5, 6, 7, 8, 9, 0, time.UTC)
	tests := []struct {
		name       string
		opts       Options
		answer     answer
		call       func(context.Context, *Client) (any, error)
		wantMethod string
		wantPath   string
		wantBody   string // JSON; "" means no body
		wantHeader map[string]string
		want       any
	}{
		{
			name:   "list plugins",
			answer: answer{Body: `{"result":true,"data":{"count":2,"results":[{"code":"hello","versions":["1.0.0"]},{"code":"sops-exec"}]},"message":"","trace_id":"r1"}`},
			call: func(ctx context.Context, c *Client) (any, error) {
				return c.ListPlugins(ctx)
			},
			wantMethod: "GET", wantPath: "/plugins/",
			want: &stdapi.PluginList{Count: 2, Results: []stdapi.PluginSummary{{Code: "hello", Versions: []string{"1.0.0"}}, {Code: "sops-exec"}}},
		},
		{
			name: "meta, without trace_id as Python answers it",
			answer: answer{Body: `{"result":true,"data":{"code":"hello","versions":["1.0.0","1.1.0"],"language":"go","description":"says hello",` +
				`"framework_version":"0.1.0","runtime_version":null,"allow_scope":{}},"message":""}`},
			call: func(ctx context.Context, c *Client) (any, error) {
				return c.Meta(ctx, "hello")
			},
			wantMethod: "GET", wantPath: "/plugins/hello/bk_plugin/meta/",
			want: &stdapi.Meta{Code: "hello", Description: "says hello", Versions: []string{"1.0.0", "1.1.0"}, Language: "go",
				FrameworkVersion: "0.1.0", AllowScope: map[string]stdapi.AllowedScope{}},
		},
		{
			name: "detail",
			answer: answer{Body: `{"result":true,"data":{"desc":"d","version":"1.0.0","enable_plugin_callback":false,` +
				`"inputs":{"type":"object","properties":{"name":{"type":"string"}},"required":["name"],"definitions":{}},` +
				`"outputs":{"type":"object","properties":{},"required":[],"definitions":{}},` +
				`"context_inputs":{"type":"object","properties":{},"required":[],"definitions":{}},` +
				`"forms":{"renderform":"form-js"}},"message":""}`},
			call: func(ctx context.Context, c *Client) (any, error) {
				d, err := c.Detail(ctx, "hello", "1.0.0")
				if d != nil {
					// Compare schemas by value; their bytes are the server's.
					d.Inputs, d.Outputs, d.ContextInputs = compact(d.Inputs), compact(d.Outputs), compact(d.ContextInputs)
				}
				return d, err
			},
			wantMethod: "GET", wantPath: "/plugins/hello/bk_plugin/detail/1.0.0",
			want: &stdapi.Detail{Version: "1.0.0", Desc: "d",
				Inputs:  compact(json.RawMessage(`{"type":"object","properties":{"name":{"type":"string"}},"required":["name"],"definitions":{}}`)),
				Outputs: compact(stdapi.EmptySchema), ContextInputs: compact(stdapi.EmptySchema), Forms: stdapi.Forms{Renderform: "form-js"}},
		},
		{
			name:   "invoke answers after the first execute",
			opts:   Options{AppCode: "bk_sops", Username: "admin", BearerToken: "s3cret", Scope: Scope{Type: "project", Value: "1"}},
			answer: answer{Body: `{"result":true,"data":{"outputs":{"greeting":"hi"},"state":4,"err":""},"message":"success","trace_id":"` + tid + `"}`},
			call: func(ctx context.Context, c *Client) (any, error) {
				return c.Invoke(ctx, "hello", "1.0.0", stdapi.InvokeRequest{Inputs: json.RawMessage(`{"name":"bk"}`)}, InvokeOptions{})
			},
			wantMethod: "POST", wantPath: "/plugins/hello/bk_plugin/invoke/1.0.0",
			wantBody: `{"inputs":{"name":"bk"},"context":{}}`,
			wantHeader: map[string]string{
				"Content-Type": "application/json", "Authorization": "Bearer s3cret",
				"X-Bkplugin-App-Code": "bk_sops", "X-Bkplugin-Username": "admin",
				"Bkplugin-Scope-Type": "project", "Bkplugin-Scope-Value": "1",
				"X-Bkplugin-Trace-Id": "", "X-Bkplugin-Async": "",
			},
			want: &InvokeResult{TraceID: tid, InvokeData: stdapi.InvokeData{Outputs: json.RawMessage(`{"greeting":"hi"}`), State: protocol.StateSuccess}},
		},
		{
			name:   "invoke with client trace id, async, scope override and a version constraint",
			opts:   Options{Scope: Scope{Type: "project", Value: "1"}},
			answer: answer{Status: 202, Body: `{"result":true,"data":{"outputs":{},"state":1,"err":""},"message":"success","trace_id":"` + tid + `"}`},
			call: func(ctx context.Context, c *Client) (any, error) {
				return c.Invoke(ctx, "hello", "^1.0", stdapi.InvokeRequest{}, InvokeOptions{
					TraceID: tid, Async: true, Scope: &Scope{Type: "biz", Value: "2"},
				})
			},
			wantMethod: "POST", wantPath: "/plugins/hello/bk_plugin/invoke/%5E1.0",
			wantBody: `{"inputs":{},"context":{}}`,
			wantHeader: map[string]string{
				"X-Bkplugin-Trace-Id": tid, "X-Bkplugin-Async": "true",
				"Bkplugin-Scope-Type": "biz", "Bkplugin-Scope-Value": "2",
			},
			want: &InvokeResult{TraceID: tid, InvokeData: stdapi.InvokeData{Outputs: json.RawMessage(`{}`), State: protocol.StateEmpty}},
		},
		{
			name: "schedule while waiting for a callback: finish_at empty",
			answer: answer{Body: `{"result":true,"data":{"trace_id":"` + tid + `","plugin_version":"1.0.0","state":3,"outputs":{},` +
				`"err":"","created_at":"2024-05-06 07:08:09","finish_at":""},"trace_id":"r2","message":""}`},
			call: func(ctx context.Context, c *Client) (any, error) {
				return c.Schedule(ctx, "hello", tid)
			},
			wantMethod: "GET", wantPath: "/plugins/hello/bk_plugin/schedule/" + tid,
			want: &stdapi.ScheduleData{TraceID: tid, PluginVersion: "1.0.0", State: protocol.StateCallback,
				Outputs: json.RawMessage(`{}`), CreatedAt: stdapi.Timestamp{Time: created}},
		},
		{
			name:   "callback by token",
			opts:   Options{BearerToken: "s3cret"},
			answer: answer{Body: `{"result":true,"message":"success"}`},
			call: func(ctx context.Context, c *Client) (any, error) {
				return nil, c.Callback(ctx, "hello", "eyJ0IjoiYSJ9.c2ln", map[string]any{"job": "done"})
			},
			wantMethod: "POST", wantPath: "/plugins/hello/bk_plugin/callback/eyJ0IjoiYSJ9.c2ln/",
			wantBody:   `{"job":"done"}`,
			wantHeader: map[string]string{"Authorization": "Bearer s3cret", "Content-Type": "application/json"},
		},
		{
			name:   "callback with no data sends an empty object",
			answer: answer{Body: `{"result":true,"message":"success"}`},
			call: func(ctx context.Context, c *Client) (any, error) {
				return nil, c.Callback(ctx, "hello", "tok.sig", nil)
			},
			wantMethod: "POST", wantPath: "/plugins/hello/bk_plugin/callback/tok.sig/",
			wantBody: `{}`,
		},
		{
			name:   "plugin api dispatch answers a list",
			opts:   Options{Username: "admin"},
			answer: answer{Body: `{"result":true,"data":[{"text":"task 1","value":1}],"message":"success","trace_id":"r3"}`},
			call: func(ctx context.Context, c *Client) (any, error) {
				return c.PluginAPIDispatch(ctx, "hello", stdapi.PluginAPIDispatchRequest{
					URL: "/bk_plugin/plugin_api/task_list/123", Method: "GET", Username: "admin", Data: json.RawMessage(`{"q":"x"}`),
				})
			},
			wantMethod: "POST", wantPath: "/plugins/hello/bk_plugin/plugin_api_dispatch/",
			wantBody: `{"url":"/bk_plugin/plugin_api/task_list/123","method":"GET","username":"admin","data":{"q":"x"}}`,
			want:     json.RawMessage(`[{"text":"task 1","value":1}]`),
		},
		{
			name:   "logs",
			answer: answer{Body: `{"result":true,"data":{"log":"[INFO] start\n[INFO] done\n"},"message":""}`},
			call: func(ctx context.Context, c *Client) (any, error) {
				return c.Logs(ctx, "hello", tid)
			},
			wantMethod: "GET", wantPath: "/plugins/hello/bk_plugin/logs/" + tid,
			want: &stdapi.LogsData{Log: "[INFO] start\n[INFO] done\n"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			shim := newFakeShim(t, tt.answer)
			c := shim.newClient(tt.opts)
			got, err := tt.call(context.Background(), c)
			if err != nil {
				t.Fatalf("call: %v", err)
			}
			reqs := shim.requests()
			if len(reqs) != 1 {
				t.Fatalf("shim got %d requests, want 1", len(reqs))
			}
			r := reqs[0]
			if r.Method != tt.wantMethod || r.Path != tt.wantPath {
				t.Errorf("request %s %s, want %s %s", r.Method, r.Path, tt.wantMethod, tt.wantPath)
			}
			if tt.wantBody == "" {
				if len(r.Body) != 0 {
					t.Errorf("request body %q, want none", r.Body)
				}
			} else if !jsonEqual(t, r.Body, tt.wantBody) {
				t.Errorf("request body %s, want %s", r.Body, tt.wantBody)
			}
			if a := r.Header.Get("Accept"); a != "application/json" {
				t.Errorf("Accept = %q", a)
			}
			for k, v := range tt.wantHeader {
				if g := r.Header.Get(k); g != v {
					t.Errorf("header %s = %q, want %q", k, g, v)
				}
			}
			if tt.want != nil && !reflect.DeepEqual(got, tt.want) {
				t.Errorf("result:\n got %+v\nwant %+v", got, tt.want)
			}
		})
	}
}

// compact re-encodes a JSON document with sorted keys, so that documents
// equal by value compare equal as bytes.
func compact(raw json.RawMessage) json.RawMessage {
	var v any
	if err := json.Unmarshal(raw, &v); err != nil {
		return raw
	}
	b, _ := json.Marshal(v)
	return b
}
