package shim

import (
	"bytes"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/bkplugin/bk-plugin-operator/sdk/stdapi"
)

// FuzzDecodeRequest feeds any body to the invoke, dispatch and callback
// decoders and any header values to the header readers. None may panic;
// every refusal is a 4xx apiError (never a 500); and an accepted invoke body
// holds two JSON objects that are valid UTF-8 with numbers Kubernetes keeps
// exactly, so what the API server stores is what the caller sent.
func FuzzDecodeRequest(f *testing.F) {
	for _, s := range []string{
		``, `{}`, `null`, `[1]`, `{"inputs":{},"context":{}}`, `{"inputs":{"a":[1,{"b":null}]},"context":{"x":"y"}}`,
		`{"inputs":{"n":1e400},"context":{}}`, `{"inputs":{"n":12345678901234567890123},"context":{}}`,
		"{\"inputs\":{\"s\":\"\xff\"},\"context\":{}}", `{"inputs":{},"context":{}}{}`, `{"inputs":` + strings.Repeat("[", 200),
		`{"url":"/bk_plugin/plugin_api/x","method":"GET","username":"u","data":{"q":1}}`, `{"url":"/bk_plugin/plugin_api/../../x"}`,
	} {
		f.Add([]byte(s), "5c1f0b3e9d2a4c7f8e6b1a2d3c4e5f60", "true", "bk_sops")
	}
	f.Add([]byte(`{"inputs":{},"context":{}}`), "5C1F", "yes", strings.Repeat("x", 65))
	f.Fuzz(func(t *testing.T, body []byte, traceID, async, appCode string) {
		req, err := decodeInvoke(body)
		if err != nil {
			mustBeRefusal(t, "invoke", err)
		} else {
			for name, raw := range map[string]json.RawMessage{"inputs": req.Inputs, "context": req.Context} {
				var obj map[string]any
				if jerr := json.Unmarshal(raw, &obj); jerr != nil || obj == nil {
					t.Fatalf("accepted invoke body %q whose %s %q is not an object (%v)", body, name, raw, jerr)
				}
			}
			if !utf8.Valid(body) {
				t.Fatalf("accepted invoke body %q that is not UTF-8", body)
			}
		}
		if _, err := decodeDispatch(body); err != nil {
			mustBeRefusal(t, "dispatch", err)
		}
		if data, err := callbackData(body); err != nil {
			mustBeRefusal(t, "callback", err)
		} else if len(data) > 0 && (!json.Valid(data) || !utf8.Valid(data)) {
			t.Fatalf("accepted callback data %q", data)
		}

		r := httptest.NewRequest(http.MethodPost, "/plugins/x/bk_plugin/invoke/1.0.0", bytes.NewReader(body))
		for h, v := range map[string]string{stdapi.HeaderTraceID: traceID, stdapi.HeaderAsync: async, stdapi.HeaderAppCode: appCode} {
			if strings.ContainsAny(v, "\r\n\x00") {
				return // net/http never hands such a header to a handler
			}
			r.Header.Set(h, v)
		}
		if id, err := invokeTraceID(r); err != nil {
			mustBeRefusal(t, "trace id header", err)
		} else if id != traceID && traceID != "" || !stdapi.ValidTraceID(id) {
			t.Fatalf("trace id header %q gave trace id %q", traceID, id)
		}
		if _, err := asyncRequested(r); err != nil {
			mustBeRefusal(t, "async header", err)
		}
		if _, err := callerOf(r); err != nil {
			mustBeRefusal(t, "caller headers", err)
		}
	})
}

// mustBeRefusal fails unless err is an apiError with a 4xx status and a message.
func mustBeRefusal(t *testing.T, what string, err error) {
	t.Helper()
	var ae *apiError
	if !errors.As(err, &ae) {
		t.Fatalf("%s: %v is not an apiError (it would answer 500)", what, err)
	}
	if ae.status < 400 || ae.status >= 500 || ae.msg == "" {
		t.Fatalf("%s: refused with %d %q, want a 4xx with a message", what, ae.status, ae.msg)
	}
}
