package shim

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"

	"github.com/bkplugin/bk-plugin-operator/sdk/tracing"
)

// A callback token in the path is a credential: the request's span, like
// the access log, never holds it. Probes get no span.
func TestSpansKeepCallbackTokensOutAndSkipProbes(t *testing.T) {
	spans := tracetest.NewInMemoryExporter()
	s := bare(t, Options{Tracing: tracing.Tracing{TracerProvider: sdktrace.NewTracerProvider(sdktrace.WithSyncer(spans))}})
	ok := http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(http.StatusNoContent) })
	h := s.opts.Tracing.Handler(s.observe(ok), "shim", isProbe)

	const token = "c2VjcmV0LXRva2Vu.signature"
	for _, path := range []string{"/plugins/hello/bk_plugin/callback/" + token + "/", HealthzPath, ReadyzPath, MetricsPath} {
		h.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest(http.MethodPost, path, nil))
	}
	got := spans.GetSpans()
	if len(got) != 1 {
		t.Fatalf("got %d spans, want 1 (the callback; probes and metrics get none)", len(got))
	}
	for _, kv := range got[0].Attributes {
		if strings.Contains(kv.Value.Emit(), token) {
			t.Errorf("span attribute %s holds the callback token: %q", kv.Key, kv.Value.Emit())
		}
	}
}
