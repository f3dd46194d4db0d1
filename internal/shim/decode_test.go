package shim

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/bkplugin/bk-plugin-operator/sdk/stdapi"
)

func TestDecodeInvoke(t *testing.T) {
	tests := []struct {
		name    string
		body    string
		wantErr string // "" means valid
	}{
		{"valid", `{"inputs":{"a":1},"context":{}}`, ""},
		{"unknown fields are ignored, as by the Python serializer", `{"inputs":{},"context":{},"credentials":{}}`, ""},
		{"surrounding space", " \n{\"inputs\":{},\"context\":{}}\n", ""},
		{"empty", ``, "body is empty"},
		{"null", `null`, "must be a JSON object"},
		{"array", `[]`, "must be a JSON object, got []"},
		{"truncated", `{"inputs":{}`, "not valid JSON"},
		{"inputs missing", `{"context":{}}`, "inputs is required"},
		{"context missing", `{"inputs":{}}`, "context is required"},
		{"inputs null", `{"inputs":null,"context":{}}`, "inputs must be a JSON object, got null"},
		{"inputs a string", `{"inputs":"x","context":{}}`, "inputs must be a JSON object"},
		{"context an array", `{"inputs":{},"context":[1]}`, "context must be a JSON object"},
		{"trailing value", `{"inputs":{},"context":{}}{}`, "more than one JSON value"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := decodeInvoke([]byte(tt.body))
			if tt.wantErr == "" {
				if err != nil {
					t.Fatalf("decodeInvoke: %v", err)
				}
				return
			}
			if err == nil {
				t.Fatalf("decodeInvoke accepted %q", tt.body)
			}
			status, msg := statusOf(err)
			if status != http.StatusBadRequest {
				t.Errorf("status = %d, want 400", status)
			}
			if !strings.Contains(msg, tt.wantErr) || !strings.HasPrefix(msg, "invalid invoke body") {
				t.Errorf("message %q, want it to start with 'invalid invoke body' and contain %q", msg, tt.wantErr)
			}
		})
	}
}

func TestDecodeDispatch(t *testing.T) {
	tests := []struct {
		name, body, wantErr string
	}{
		{"valid GET", `{"url":"/bk_plugin/plugin_api/x","method":"GET","username":"u"}`, ""},
		{"valid post with data", `{"url":"/bk_plugin/plugin_api/x","method":"post","username":"u","data":{"a":1}}`, ""},
		{"url prefix", `{"url":"/x","method":"GET","username":"u"}`, `must start with "/bk_plugin/plugin_api/"`},
		{"method", `{"url":"/bk_plugin/plugin_api/x","method":"PUT","username":"u"}`, "only GET and POST"},
		{"username", `{"url":"/bk_plugin/plugin_api/x","method":"GET"}`, "username is required"},
		{"url type", `{"url":1,"method":"GET","username":"u"}`, "field url must be a JSON string"},
		{"data type", `{"url":"/bk_plugin/plugin_api/x","method":"GET","username":"u","data":"s"}`, "data must be a JSON object"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := decodeDispatch([]byte(tt.body))
			if tt.wantErr == "" {
				if err != nil {
					t.Fatalf("decodeDispatch: %v", err)
				}
				return
			}
			if _, msg := statusOf(err); err == nil || !strings.Contains(msg, tt.wantErr) {
				t.Errorf("error %v, want one containing %q", err, tt.wantErr)
			}
		})
	}
}

func TestInvokeHeaders(t *testing.T) {
	const valid = "0123456789abcdef0123456789abcdef"
	tests := []struct {
		name      string
		header    map[string]string
		wantTrace string // "" means any fresh valid id
		wantAsync bool
		wantErr   string
	}{
		{"nothing", nil, "", false, ""},
		{"client trace id", map[string]string{stdapi.HeaderTraceID: valid}, valid, false, ""},
		{"upper-case trace id", map[string]string{stdapi.HeaderTraceID: strings.ToUpper(valid)}, "", false, "lowercase hex"},
		{"short trace id", map[string]string{stdapi.HeaderTraceID: "abc"}, "", false, "lowercase hex"},
		{"async", map[string]string{stdapi.HeaderAsync: "true"}, "", true, ""},
		{"async junk", map[string]string{stdapi.HeaderAsync: "yes please"}, "", false, "must be true or false"},
		{"long scope value", map[string]string{stdapi.HeaderScopeValue: strings.Repeat("u", 257)}, "", false, stdapi.HeaderScopeValue},
		// The caller's own identity headers are not read: no error, no identity.
		{"long username header is ignored", map[string]string{stdapi.HeaderUsername: strings.Repeat("u", 257)}, "", false, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := httptest.NewRequest(http.MethodPost, "/", nil)
			for k, v := range tt.header {
				r.Header.Set(k, v)
			}
			trace, errT := invokeTraceID(r)
			async, errA := asyncRequested(r)
			_, errC := callerOf(r)
			var err error
			for _, e := range []error{errT, errA, errC} {
				if e != nil {
					err = e
				}
			}
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("error %v, want one containing %q", err, tt.wantErr)
				}
				if status, _ := statusOf(err); status != http.StatusBadRequest {
					t.Errorf("status = %d, want 400", status)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !stdapi.ValidTraceID(trace) || (tt.wantTrace != "" && trace != tt.wantTrace) {
				t.Errorf("trace id = %q, want %q", trace, tt.wantTrace)
			}
			if async != tt.wantAsync {
				t.Errorf("async = %v, want %v", async, tt.wantAsync)
			}
		})
	}
}

// TestDecodeInvokeHostile checks the bodies the API server would store as
// something else than sent, or that only an attacker sends: each is a 400
// naming the problem, never accepted.
func TestDecodeInvokeHostile(t *testing.T) {
	// The body and inputs objects are two levels of the limit.
	deep := strings.Repeat("[", maxJSONDepth-1) + strings.Repeat("]", maxJSONDepth-1)
	tests := []struct {
		name, body, wantErr string // wantErr "" means accepted
	}{
		{"invalid UTF-8 in a string", "{\"inputs\":{\"a\":\"\xff\xfe\"},\"context\":{}}", "not valid UTF-8"},
		{"invalid UTF-8 in a key", "{\"inputs\":{\"\xc3\x28\":1},\"context\":{}}", "not valid UTF-8"},
		{"integer beyond int64", `{"inputs":{"n":1234567890123456789012345678901234567890},"context":{}}`, "does not fit in 64 bits"},
		{"float beyond float64", `{"inputs":{"n":1e400},"context":{}}`, "out of the range"},
		{"negative float beyond float64", `{"inputs":{"n":-1e400},"context":{}}`, "out of the range"},
		{"int64 max", `{"inputs":{"n":9223372036854775807},"context":{}}`, ""},
		{"int64 overflow by one", `{"inputs":{"n":9223372036854775808},"context":{}}`, "does not fit in 64 bits"},
		{"large finite float", `{"inputs":{"n":1.7976931348623157e308},"context":{}}`, ""},
		{"nesting at the limit", `{"inputs":{"a":` + deep[1:len(deep)-1] + `},"context":{}}`, ""},
		{"nesting past the limit", `{"inputs":{"a":` + deep + `},"context":{}}`, "nested deeper than"},
		{"ten thousand levels", `{"inputs":{"a":` + strings.Repeat("[", 10000) + strings.Repeat("]", 10000) + `},"context":{}}`, "invalid invoke body"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := decodeInvoke([]byte(tt.body))
			if tt.wantErr == "" {
				if err != nil {
					t.Fatalf("decodeInvoke refused: %v", err)
				}
				return
			}
			if err == nil {
				t.Fatalf("decodeInvoke accepted %.80q", tt.body)
			}
			status, msg := statusOf(err)
			if status != http.StatusBadRequest || !strings.Contains(msg, tt.wantErr) {
				t.Errorf("got %d %q, want 400 containing %q", status, msg, tt.wantErr)
			}
		})
	}
}
