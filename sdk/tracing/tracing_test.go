package tracing

import (
	"context"
	"net/http"
	"net/http/httptest"
	"testing"

	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.opentelemetry.io/otel/trace"

	bkv1 "github.com/bkplugin/bk-plugin-operator/api/v1alpha1"
)

// A caller's traceparent crosses a Handler, an annotation round trip and a
// Client into a second Handler: every span shares the caller's trace id and
// each is the child of the one before.
func TestTraceCrossesHandlerAnnotationsAndClient(t *testing.T) {
	exp := tracetest.NewInMemoryExporter()
	tp := sdktrace.NewTracerProvider(sdktrace.WithSyncer(exp))
	tr := Tracing{TracerProvider: tp}

	backend := httptest.NewServer(tr.Handler(http.HandlerFunc(func(_ http.ResponseWriter, r *http.Request) {
		NameRoute(r, "/execute/{version}")
	}), "backend", nil))
	defer backend.Close()
	annotations := map[string]string{}
	front := httptest.NewServer(tr.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		NameRoute(r, "/invoke")
		InjectAnnotations(r.Context(), annotations)
	}), "front", func(r *http.Request) bool { return r.URL.Path == "/healthz" }))
	defer front.Close()

	const caller = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"
	req, _ := http.NewRequest(http.MethodGet, front.URL+"/invoke", nil)
	req.Header.Set("traceparent", caller)
	mustDo(t, http.DefaultClient, req)
	req, _ = http.NewRequest(http.MethodGet, front.URL+"/healthz", nil)
	mustDo(t, http.DefaultClient, req)

	if annotations[bkv1.AnnotationTraceparent] == "" {
		t.Fatalf("no traceparent annotation written: %v", annotations)
	}
	ctx := ContextFromAnnotations(context.Background(), annotations)
	ctx, span := tr.Tracer().Start(ctx, "reconcile")
	req, _ = http.NewRequestWithContext(ctx, http.MethodPost, backend.URL+"/execute/1.0.0", nil)
	mustDo(t, tr.Client(nil), req)
	span.End()

	spans := exp.GetSpans()
	byName := map[string]tracetest.SpanStub{}
	for _, s := range spans {
		if s.SpanContext.TraceID().String() != "0af7651916cd43dd8448eb211c80319c" {
			t.Errorf("span %q has trace id %s, not the caller's", s.Name, s.SpanContext.TraceID())
		}
		byName[s.Name] = s
	}
	// front, reconcile, the client span and backend; no span for /healthz.
	if len(spans) != 4 {
		t.Fatalf("got %d spans %v, want 4", len(spans), names(spans))
	}
	parentOf := func(child, parent string) {
		t.Helper()
		if byName[child].Parent.SpanID() != byName[parent].SpanContext.SpanID() {
			t.Errorf("%s's parent is %s, want %s", child, byName[child].Parent.SpanID(), parent)
		}
	}
	if byName["GET /invoke"].Parent.SpanID().String() != "b7ad6b7169203331" {
		t.Errorf("front's parent = %s, want the caller's span", byName["GET /invoke"].Parent.SpanID())
	}
	parentOf("reconcile", "GET /invoke")
	parentOf("HTTP POST", "reconcile")
	parentOf("POST /execute/{version}", "HTTP POST")
}

func TestContextFromAnnotationsIgnoresGarbage(t *testing.T) {
	for _, a := range []map[string]string{nil, {}, {bkv1.AnnotationTraceparent: "not a traceparent"}} {
		ctx := ContextFromAnnotations(context.Background(), a)
		if trace.SpanContextFromContext(ctx).IsValid() {
			t.Errorf("annotations %v gave a valid span context", a)
		}
	}
}

// The zero Tracing records nothing but passes the caller's trace on.
func TestZeroTracingPassesTraceContextThrough(t *testing.T) {
	var tr Tracing
	var got string
	backend := httptest.NewServer(http.HandlerFunc(func(_ http.ResponseWriter, r *http.Request) { got = r.Header.Get("traceparent") }))
	defer backend.Close()
	front := httptest.NewServer(tr.Handler(http.HandlerFunc(func(_ http.ResponseWriter, r *http.Request) {
		req, _ := http.NewRequestWithContext(r.Context(), http.MethodGet, backend.URL, nil)
		if resp, err := tr.Client(nil).Do(req); err != nil {
			t.Error(err)
		} else {
			_ = resp.Body.Close()
		}
	}), "front", nil))
	defer front.Close()
	req, _ := http.NewRequest(http.MethodGet, front.URL, nil)
	req.Header.Set("traceparent", "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01")
	mustDo(t, http.DefaultClient, req)
	if want := "00-0af7651916cd43dd8448eb211c80319c-"; len(got) < len(want) || got[:len(want)] != want {
		t.Fatalf("backend saw traceparent %q, want the caller's trace", got)
	}
}

func TestSetupIsOffByDefault(t *testing.T) {
	tr, shutdown, err := Setup(context.Background(), Options{ServiceName: "x", Getenv: func(string) string { return "" }})
	if err != nil {
		t.Fatal(err)
	}
	if tr.TracerProvider != nil {
		t.Fatalf("tracing is on with no OTEL_* variable set")
	}
	if err := shutdown(context.Background()); err != nil {
		t.Fatal(err)
	}
	if _, _, err := Setup(context.Background(), Options{Getenv: func(k string) string {
		return map[string]string{EnvTracesExporter: "jaeger"}[k]
	}}); err == nil {
		t.Fatal("an unsupported exporter was accepted")
	}
}

func mustDo(t *testing.T, c *http.Client, req *http.Request) {
	t.Helper()
	resp, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	_ = resp.Body.Close()
}

func names(spans tracetest.SpanStubs) []string {
	out := make([]string, 0, len(spans))
	for _, s := range spans {
		out = append(out, s.Name)
	}
	return out
}

// The zero Tracing's transport adds the trace context to the request it
// sends, never to the caller's: a RoundTripper must not change its request.
func TestZeroTracingTransportLeavesTheRequestAlone(t *testing.T) {
	var got string
	backend := httptest.NewServer(http.HandlerFunc(func(_ http.ResponseWriter, r *http.Request) { got = r.Header.Get("traceparent") }))
	defer backend.Close()
	var tr Tracing
	ctx := tr.Extract(context.Background(), http.Header{"Traceparent": {"00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"}})
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, backend.URL, nil)
	mustDo(t, tr.Client(nil), req)
	if got != "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01" {
		t.Errorf("backend saw traceparent %q, want the context's", got)
	}
	if h := req.Header.Get("traceparent"); h != "" {
		t.Errorf("the caller's request got traceparent %q", h)
	}
}

// Without a trace context the zero Tracing's transport adds no header;
// baggage alone still crosses.
func TestZeroTracingTransportWithoutTrace(t *testing.T) {
	var got http.Header
	backend := httptest.NewServer(http.HandlerFunc(func(_ http.ResponseWriter, r *http.Request) { got = r.Header.Clone() }))
	defer backend.Close()
	var tr Tracing
	req, _ := http.NewRequest(http.MethodGet, backend.URL, nil)
	mustDo(t, tr.Client(nil), req)
	if got.Get("traceparent") != "" || got.Get("baggage") != "" {
		t.Errorf("a request without a trace got traceparent %q, baggage %q", got.Get("traceparent"), got.Get("baggage"))
	}
	ctx := tr.Extract(context.Background(), http.Header{"Baggage": {"tenant=t1"}})
	req, _ = http.NewRequestWithContext(ctx, http.MethodGet, backend.URL, nil)
	mustDo(t, tr.Client(nil), req)
	if got.Get("baggage") != "tenant=t1" {
		t.Errorf("baggage = %q, want the context's", got.Get("baggage"))
	}
}
