package stdapi

import (
	"bytes"
	"encoding/json"
	"reflect"
	"testing"
	"time"

	"github.com/bkplugin/bk-plugin-operator/sdk/protocol"
)

// The golden documents below are written by hand from the Python framework's
// answers; a renamed json tag or a changed type makes a case fail both ways.
func TestWireShapes(t *testing.T) {
	created := time.Date(2024, 5, 6, 7, 8, 9, 0, time.UTC)
	tests := []struct {
		name   string
		value  any // pointer to the Go value
		golden string
	}{
		{
			name: "meta envelope",
			value: &Envelope[Meta]{Result: true, Data: Meta{
				Code: "sops-exec", Description: "run a sops task", Versions: []string{"1.0.0", "1.1.0"},
				Language: "go", FrameworkVersion: "0.1.0", RuntimeVersion: "0.2.0",
				AllowScope: map[string]AllowedScope{"bk_sops": {Type: "project", Value: []string{"1", "2"}}},
			}},
			golden: `{"result":true,"data":{"code":"sops-exec","description":"run a sops task","versions":["1.0.0","1.1.0"],"language":"go","framework_version":"0.1.0","runtime_version":"0.2.0","allow_scope":{"bk_sops":{"type":"project","value":["1","2"]}}},"message":"","trace_id":""}`,
		},
		{
			name: "detail",
			value: &Detail{
				Version: "1.0.0", Desc: "first", Inputs: json.RawMessage(`{"type":"object","properties":{"a":{"type":"integer"}},"required":["a"],"definitions":{}}`),
				ContextInputs: EmptySchema, Outputs: EmptySchema, Forms: Forms{Renderform: "(function(){})()"},
				EnablePluginCallback: true,
			},
			golden: `{"version":"1.0.0","desc":"first","inputs":{"type":"object","properties":{"a":{"type":"integer"}},"required":["a"],"definitions":{}},"context_inputs":{"type":"object","properties":{},"required":[],"definitions":{}},"outputs":{"type":"object","properties":{},"required":[],"definitions":{}},"forms":{"renderform":"(function(){})()"},"enable_plugin_callback":true}`,
		},
		{
			name:   "invoke request",
			value:  &InvokeRequest{Inputs: json.RawMessage(`{"template_id":1}`), Context: json.RawMessage(`{"executor":"admin"}`)},
			golden: `{"inputs":{"template_id":1},"context":{"executor":"admin"}}`,
		},
		{
			name: "invoke answer",
			value: &Envelope[InvokeData]{Result: true, Message: "success", TraceID: "0123456789abcdef0123456789abcdef",
				Data: InvokeData{Outputs: json.RawMessage(`{"task_id":3}`), State: protocol.StatePoll, Err: ""}},
			// err is null unless the invocation failed, as in the Python framework.
			golden: `{"result":true,"data":{"outputs":{"task_id":3},"state":2,"err":null},"message":"success","trace_id":"0123456789abcdef0123456789abcdef"}`,
		},
		{
			name: "schedule running",
			value: &ScheduleData{TraceID: "0123456789abcdef0123456789abcdef", PluginVersion: "1.0.0", State: protocol.StateCallback,
				Outputs: json.RawMessage(`{}`), CreatedAt: Timestamp{created}},
			golden: `{"trace_id":"0123456789abcdef0123456789abcdef","plugin_version":"1.0.0","state":3,"outputs":{},"err":"","created_at":"2024-05-06 07:08:09","finish_at":""}`,
		},
		{
			name: "schedule failed",
			value: &ScheduleData{TraceID: "0123456789abcdef0123456789abcdef", PluginVersion: "1.0.0", State: protocol.StateFail,
				Outputs: json.RawMessage(`{}`), Err: "inputs validation error: a is required",
				CreatedAt: Timestamp{created}, FinishAt: Timestamp{created.Add(90 * time.Second)}},
			golden: `{"trace_id":"0123456789abcdef0123456789abcdef","plugin_version":"1.0.0","state":5,"outputs":{},"err":"inputs validation error: a is required","created_at":"2024-05-06 07:08:09","finish_at":"2024-05-06 07:09:39"}`,
		},
		{
			name:   "plugin api dispatch request",
			value:  &PluginAPIDispatchRequest{URL: "/bk_plugin/plugin_api/task_list/1", Method: "GET", Username: "admin", Data: json.RawMessage(`{"q":"x"}`)},
			golden: `{"url":"/bk_plugin/plugin_api/task_list/1","method":"GET","username":"admin","data":{"q":"x"}}`,
		},
		{
			name:   "logs",
			value:  &LogsData{Log: "line one\nline two\n"},
			golden: `{"log":"line one\nline two\n"}`,
		},
		{
			name:   "plugin list",
			value:  &PluginList{Count: 1, Results: []PluginSummary{{Code: "hello", Name: "Hello", Versions: []string{"1.0.0"}}}},
			golden: `{"count":1,"results":[{"code":"hello","name":"Hello","versions":["1.0.0"]}]}`,
		},
		{
			name:   "callback answer",
			value:  &CallbackResult{Result: false, Message: "invalid callback token"},
			golden: `{"result":false,"message":"invalid callback token"}`,
		},
		{
			name:   "failed envelope",
			value:  ptr(Fail("plugin version 9.9.9 not found", "abc")),
			golden: `{"result":false,"data":null,"message":"plugin version 9.9.9 not found","trace_id":"abc"}`,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := json.Marshal(tt.value)
			if err != nil {
				t.Fatalf("marshal: %v", err)
			}
			if string(got) != tt.golden {
				t.Errorf("marshal:\n got %s\nwant %s", got, tt.golden)
			}
			// Decode the golden document into a fresh value of the same type
			// and expect the original back.
			fresh := reflect.New(reflect.TypeOf(tt.value).Elem())
			dec := json.NewDecoder(bytes.NewReader([]byte(tt.golden)))
			dec.DisallowUnknownFields()
			if err := dec.Decode(fresh.Interface()); err != nil {
				t.Fatalf("unmarshal golden: %v", err)
			}
			if !reflect.DeepEqual(fresh.Interface(), tt.value) {
				t.Errorf("unmarshal golden:\n got %+v\nwant %+v", fresh.Elem().Interface(), reflect.ValueOf(tt.value).Elem().Interface())
			}
		})
	}
}

func ptr[T any](v T) *T { return &v }

func TestInvokeRequestMarshalFillsEmptyObjects(t *testing.T) {
	tests := []struct {
		name string
		req  InvokeRequest
		want string
	}{
		{"both unset", InvokeRequest{}, `{"inputs":{},"context":{}}`},
		{"context unset", InvokeRequest{Inputs: json.RawMessage(`{"a":1}`)}, `{"inputs":{"a":1},"context":{}}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := json.Marshal(tt.req)
			if err != nil {
				t.Fatal(err)
			}
			if string(got) != tt.want {
				t.Errorf("got %s, want %s", got, tt.want)
			}
		})
	}
}

func TestNewInvokeRequest(t *testing.T) {
	type inputs struct {
		TemplateID int `json:"template_id"`
	}
	req, err := NewInvokeRequest(inputs{TemplateID: 7}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if string(req.Inputs) != `{"template_id":7}` || string(req.Context) != `{}` {
		t.Errorf("got inputs %s context %s", req.Inputs, req.Context)
	}
	if _, err := NewInvokeRequest(func() {}, nil); err == nil {
		t.Error("want an error for inputs that cannot be encoded")
	}
}

func TestInvokeRequestValidate(t *testing.T) {
	tests := []struct {
		body    string
		wantErr string
	}{
		{`{"inputs":{},"context":{}}`, ""},
		{`{"inputs":{"a":1},"context":{"b":2}}`, ""},
		{`{"context":{}}`, "inputs is required"},
		{`{"inputs":{}}`, "context is required"},
		{`{"inputs":[1],"context":{}}`, "inputs must be a JSON object, got [1]"},
		{`{"inputs":{},"context":"x"}`, `context must be a JSON object, got "x"`},
		{`{"inputs":null,"context":{}}`, "inputs must be a JSON object, got null"},
	}
	for _, tt := range tests {
		t.Run(tt.body, func(t *testing.T) {
			var r InvokeRequest
			if err := json.Unmarshal([]byte(tt.body), &r); err != nil {
				t.Fatal(err)
			}
			err := r.Validate()
			if tt.wantErr == "" {
				if err != nil {
					t.Errorf("unexpected error: %v", err)
				}
				return
			}
			if err == nil || err.Error() != tt.wantErr {
				t.Errorf("got error %v, want %q", err, tt.wantErr)
			}
		})
	}
}

func TestPluginAPIDispatchRequestValidate(t *testing.T) {
	tests := []struct {
		name    string
		req     PluginAPIDispatchRequest
		wantErr bool
	}{
		{"get", PluginAPIDispatchRequest{URL: "/bk_plugin/plugin_api/x", Method: "get", Username: "u"}, false},
		{"post with data", PluginAPIDispatchRequest{URL: "/bk_plugin/plugin_api/x", Method: "POST", Username: "u", Data: json.RawMessage(`{"a":1}`)}, false},
		{"outside plugin api", PluginAPIDispatchRequest{URL: "/bk_plugin/invoke/1.0.0", Method: "POST", Username: "u"}, true},
		{"put", PluginAPIDispatchRequest{URL: "/bk_plugin/plugin_api/x", Method: "PUT", Username: "u"}, true},
		{"no username", PluginAPIDispatchRequest{URL: "/bk_plugin/plugin_api/x", Method: "GET"}, true},
		{"list data", PluginAPIDispatchRequest{URL: "/bk_plugin/plugin_api/x", Method: "GET", Username: "u", Data: json.RawMessage(`[]`)}, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if err := tt.req.Validate(); (err != nil) != tt.wantErr {
				t.Errorf("Validate() = %v, wantErr %v", err, tt.wantErr)
			}
		})
	}
}

func TestTimestampDecode(t *testing.T) {
	tests := []struct {
		in      string
		want    time.Time
		wantErr bool
	}{
		{`""`, time.Time{}, false},
		{`null`, time.Time{}, false},
		{`"2024-05-06 07:08:09"`, time.Date(2024, 5, 6, 7, 8, 9, 0, time.UTC), false},
		{`"2024-05-06T07:08:09Z"`, time.Time{}, true},
		{`1714979289`, time.Time{}, true},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			var ts Timestamp
			err := json.Unmarshal([]byte(tt.in), &ts)
			if (err != nil) != tt.wantErr {
				t.Fatalf("err = %v, wantErr %v", err, tt.wantErr)
			}
			if !ts.Time.Equal(tt.want) {
				t.Errorf("got %v, want %v", ts.Time, tt.want)
			}
		})
	}
}

func TestNewTimestampWritesUTCWholeSeconds(t *testing.T) {
	shanghai := time.FixedZone("CST", 8*3600)
	ts := NewTimestamp(time.Date(2024, 5, 6, 15, 8, 9, 999_000_000, shanghai))
	if got := ts.String(); got != "2024-05-06 07:08:09" {
		t.Errorf("got %q", got)
	}
	if got := NewTimestamp(time.Time{}).String(); got != "" {
		t.Errorf("zero time: got %q, want empty", got)
	}
}

func TestLogsDataLines(t *testing.T) {
	tests := []struct {
		log  string
		want []string
	}{
		{"", nil},
		{"one", []string{"one"}},
		{"one\ntwo\n", []string{"one", "two"}},
	}
	for _, tt := range tests {
		if got := (LogsData{Log: tt.log}).Lines(); !reflect.DeepEqual(got, tt.want) {
			t.Errorf("Lines(%q) = %q, want %q", tt.log, got, tt.want)
		}
	}
}
