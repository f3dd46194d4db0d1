package version

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"

	bkv1 "github.com/bkplugin/bk-plugin-operator/api/v1alpha1"
	"github.com/bkplugin/bk-plugin-operator/sdk/examples/hello/helloplugin"
	"github.com/bkplugin/bk-plugin-operator/sdk/manifest"
	"github.com/bkplugin/bk-plugin-operator/sdk/server"
)

// answer serves one fixed status and body on every path.
func answer(status int, body string) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(status)
		_, _ = w.Write([]byte(body))
	})
}

// detailOf serves, for version 1.0.0 only, a detail whose schemas are the
// given JSON texts; other versions get the SDK's 404.
func detailOf(inputs, contextInputs, outputs string) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/bk_plugin/detail/1.0.0" {
			answer(http.StatusNotFound, `{"result":false,"data":null,"message":"no such version"}`).ServeHTTP(w, r)
			return
		}
		answer(http.StatusOK, `{"result":true,"message":"","data":{"version":"1.0.0","desc":"d",`+
			`"inputs":`+inputs+`,"context_inputs":`+contextInputs+`,"outputs":`+outputs+`,"forms":{"renderform":""}}}`).ServeHTTP(w, r)
	})
}

const (
	inputsSchema  = `{"type":"object","properties":{"name":{"type":"string","maxLength":64}},"required":["name"]}`
	emptySchema   = `{"type":"object","properties":{}}`
	outputsSchema = `{"type":"object","properties":{"greeting":{"type":"string"}}}`
)

func TestProbeDetail(t *testing.T) {
	raw := func(s string) *apiextensionsv1.JSON { return &apiextensionsv1.JSON{Raw: []byte(s)} }
	// handWritten is version 1.0.0 declaring the schemas detailOf serves.
	handWritten := func(edit func(*bkv1.PluginVersionSpec)) *bkv1.PluginVersion {
		v := &bkv1.PluginVersion{Spec: bkv1.PluginVersionSpec{
			Plugin: "demo", Version: "1.0.0",
			Inputs: raw(inputsSchema), ContextInputs: raw(emptySchema), Outputs: raw(outputsSchema),
		}}
		if edit != nil {
			edit(&v.Spec)
		}
		return v
	}
	// fromManifest is what the hello plugin's own manifest says of version.
	fromManifest := func(version string) *bkv1.PluginVersion {
		plvs, err := manifest.PluginVersions(helloplugin.Plugin(), manifest.Options{URL: "http://unused", Versions: []string{version}})
		if err != nil {
			t.Fatalf("manifest of hello %s: %v", version, err)
		}
		return &plvs[0]
	}
	hello := server.Handler(helloplugin.Plugin())
	served := detailOf(inputsSchema, emptySchema, outputsSchema)

	tests := []struct {
		name     string
		handler  http.Handler // nil: a server that is closed before the probe
		plv      *bkv1.PluginVersion
		timeout  time.Duration
		reason   string
		contains []string // in the message; "URL" stands for the probed URL
	}{
		{name: "hello serves 1.0.0 as its manifest says", handler: hello, plv: fromManifest("1.0.0"),
			reason: bkv1.VersionReasonServing, contains: []string{"serves version 1.0.0"}},
		{name: "hello serves 1.1.0 as its manifest says", handler: hello, plv: fromManifest("1.1.0"),
			reason: bkv1.VersionReasonServing},
		{name: "hello does not serve 9.9.9", handler: hello,
			plv:    func() *bkv1.PluginVersion { v := fromManifest("1.0.0"); v.Spec.Version = "9.9.9"; return v }(),
			reason: bkv1.VersionReasonNotServed, contains: []string{"URL", "404", `plugin hello has no version "9.9.9"`}},
		{name: "schemas not declared by the spec are not compared", handler: served,
			plv:    handWritten(func(s *bkv1.PluginVersionSpec) { s.Inputs, s.ContextInputs, s.Outputs = nil, nil, nil }),
			reason: bkv1.VersionReasonServing},
		{name: "same schemas in another key order and spacing", handler: served,
			plv: handWritten(func(s *bkv1.PluginVersionSpec) {
				s.Inputs = raw("{\n  \"required\": [\"name\"],\n  \"properties\": {\"name\": {\"maxLength\": 64.0, \"type\": \"string\"}},\n  \"type\": \"object\"\n}")
				s.Outputs = raw(`{ "properties" : { "greeting" : { "type" : "string" } } , "type" : "object" }`)
			}),
			reason: bkv1.VersionReasonServing},
		{name: "inputs differ", handler: served,
			plv: handWritten(func(s *bkv1.PluginVersionSpec) {
				s.Inputs = raw(`{"type":"object","properties":{"name":{"type":"string","maxLength":65}},"required":["name"]}`)
			}),
			reason: bkv1.VersionReasonSchemaMismatch, contains: []string{"the inputs schema"}},
		{name: "order of required matters", handler: detailOf(`{"required":["a","b"]}`, emptySchema, outputsSchema),
			plv:    handWritten(func(s *bkv1.PluginVersionSpec) { s.Inputs = raw(`{"required":["b","a"]}`) }),
			reason: bkv1.VersionReasonSchemaMismatch, contains: []string{"inputs"}},
		{name: "context inputs and outputs differ", handler: served,
			plv: handWritten(func(s *bkv1.PluginVersionSpec) {
				s.ContextInputs = raw(`{"type":"object","properties":{"project":{"type":"string"}}}`)
				s.Outputs = raw(emptySchema)
			}),
			reason: bkv1.VersionReasonSchemaMismatch, contains: []string{"the contextInputs, outputs schema"}},
		{name: "the pod answers no schema the spec declares", handler: detailOf("null", emptySchema, outputsSchema),
			plv: handWritten(nil), reason: bkv1.VersionReasonSchemaMismatch, contains: []string{"inputs"}},
		{name: "404 with a plain body", handler: answer(http.StatusNotFound, "404 page not found"),
			plv: handWritten(nil), reason: bkv1.VersionReasonNotServed, contains: []string{"URL", "404 page not found"}},
		{name: "result false", handler: answer(http.StatusOK, `{"result":false,"data":null,"message":"version retired"}`),
			plv: handWritten(nil), reason: bkv1.VersionReasonNotServed, contains: []string{"URL", "version retired"}},
		{name: "detail of another version", handler: detailOf(inputsSchema, emptySchema, outputsSchema),
			plv:    handWritten(func(s *bkv1.PluginVersionSpec) { s.Version = "1.0.1" }),
			reason: bkv1.VersionReasonNotServed, contains: []string{"/bk_plugin/detail/1.0.1"}},
		{name: "500", handler: answer(http.StatusInternalServerError, `{"result":false,"data":null,"message":"database is down"}`),
			plv: handWritten(nil), reason: bkv1.VersionReasonUnreachable, contains: []string{"URL", "500 Internal Server Error", "database is down"}},
		{name: "503 with an HTML page", handler: answer(http.StatusServiceUnavailable, "<html>"+strings.Repeat("busy ", 100)+"</html>"),
			plv: handWritten(nil), reason: bkv1.VersionReasonUnreachable, contains: []string{"URL", "503", "<html>busy busy", "..."}},
		{name: "garbage JSON", handler: answer(http.StatusOK, `{"result":true,"data":{"version":`),
			plv: handWritten(nil), reason: bkv1.VersionReasonUnreachable, contains: []string{"URL", "not the standard envelope"}},
		{name: "closed port", plv: handWritten(nil),
			reason: bkv1.VersionReasonUnreachable, contains: []string{"URL", "connection refused"}},
		{name: "timeout", timeout: 100 * time.Millisecond, plv: handWritten(nil),
			handler: http.HandlerFunc(func(_ http.ResponseWriter, r *http.Request) { <-r.Context().Done() }),
			reason:  bkv1.VersionReasonUnreachable, contains: []string{"URL", "no answer within 100ms"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var ts *httptest.Server
			if tt.handler == nil {
				ts = httptest.NewServer(http.NotFoundHandler())
				ts.Close()
			} else {
				ts = httptest.NewServer(tt.handler)
				defer ts.Close()
			}
			timeout := tt.timeout
			if timeout == 0 {
				timeout = 5 * time.Second
			}
			started := time.Now()
			got := probeDetail(context.Background(), ts.Client(), ts.URL, tt.plv, timeout)
			if elapsed := time.Since(started); elapsed > timeout+2*time.Second {
				t.Errorf("probe took %s, beyond its timeout %s", elapsed, timeout)
			}
			if got.Reason != tt.reason {
				t.Fatalf("probe reason = %s (%s), want %s", got.Reason, got.Message, tt.reason)
			}
			if got.ready() != (tt.reason == bkv1.VersionReasonServing) {
				t.Errorf("ready() = %v for reason %s", got.ready(), got.Reason)
			}
			probed := ts.URL + "/bk_plugin/detail/" + tt.plv.Spec.Version
			for _, want := range tt.contains {
				if want == "URL" {
					want = probed
				}
				if !strings.Contains(got.Message, want) {
					t.Errorf("probe message %q does not contain %q", got.Message, want)
				}
			}
		})
	}
}

func TestSameJSON(t *testing.T) {
	tests := []struct {
		a, b string
		want bool
	}{
		{`{"a":1,"b":[1,2]}`, ` { "b" : [1, 2], "a" : 1 } `, true},
		{`{"n":1}`, `{"n":1.0}`, true},
		{`{"n":100}`, `{"n":1e2}`, true},
		{`{"n":9007199254740993}`, `{"n":9007199254740992}`, false},
		{`[1,2]`, `[2,1]`, false},
		{`{"a":null}`, `{}`, false},
		{`{"a":"1"}`, `{"a":1}`, false},
		{`{}`, `{} {}`, false},
		{`{}`, ``, false},
		{`not json`, `not json`, false},
	}
	for _, tt := range tests {
		if got := sameJSON([]byte(tt.a), []byte(tt.b)); got != tt.want {
			t.Errorf("sameJSON(%s, %s) = %v, want %v", tt.a, tt.b, got, tt.want)
		}
		if got := sameJSON([]byte(tt.b), []byte(tt.a)); got != tt.want {
			t.Errorf("sameJSON(%s, %s) = %v, want %v", tt.b, tt.a, got, tt.want)
		}
	}
}
