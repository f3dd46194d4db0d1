package tracing

import (
	"context"
	"net/http"

	"go.opentelemetry.io/contrib/instrumentation/net/http/otelhttp"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/propagation"
	"go.opentelemetry.io/otel/trace"
	"go.opentelemetry.io/otel/trace/noop"
)

// ScopeName is the instrumentation scope of the spans this module starts.
const ScopeName = "github.com/bkplugin/bk-plugin-operator"

// Tracing is what instrumented code needs: where spans go and how the
// trace context crosses process boundaries. The zero value records no
// span but still carries a caller's W3C trace context through, so that a
// plugin pod that traces sees the trace its caller started even when the
// shim and the manager export nothing.
type Tracing struct {
	// TracerProvider starts spans; nil records none.
	TracerProvider trace.TracerProvider
	// Propagator reads and writes the trace context on requests and
	// annotations; nil means W3C Trace Context and Baggage.
	Propagator propagation.TextMapPropagator
}

// Provider is t's TracerProvider, or one that records nothing.
func (t Tracing) Provider() trace.TracerProvider {
	if t.TracerProvider == nil {
		return noop.NewTracerProvider()
	}
	return t.TracerProvider
}

// Propagators is t's Propagator, or W3C Trace Context and Baggage.
func (t Tracing) Propagators() propagation.TextMapPropagator {
	if t.Propagator == nil {
		return propagation.NewCompositeTextMapPropagator(propagation.TraceContext{}, propagation.Baggage{})
	}
	return t.Propagator
}

// Tracer is the tracer of this module's own spans (reconcile, execute).
func (t Tracing) Tracer() trace.Tracer { return t.Provider().Tracer(ScopeName) }

// Handler wraps h in a server span per request, a child of the trace
// context the request carries. Requests skip says true for (probes,
// metrics) get no span: they come every few seconds and say nothing about
// a trace.
func (t Tracing) Handler(h http.Handler, operation string, skip func(*http.Request) bool) http.Handler {
	if t.TracerProvider == nil {
		// Nothing is recorded: only the trace context has to pass
		// (propagate.go). otelhttp would still build each request's span
		// and metric attributes for nobody.
		return propagatingHandler{next: h, propagator: t.Propagators()}
	}
	opts := []otelhttp.Option{otelhttp.WithTracerProvider(t.Provider()), otelhttp.WithPropagators(t.Propagators())}
	if skip != nil {
		opts = append(opts, otelhttp.WithFilter(func(r *http.Request) bool { return !skip(r) }))
	}
	return otelhttp.NewHandler(h, operation, opts...)
}

// Transport wraps rt (http.DefaultTransport when nil) so that each request
// gets a client span and carries its trace context (traceparent) to the
// server.
func (t Tracing) Transport(rt http.RoundTripper) http.RoundTripper {
	if rt == nil {
		rt = http.DefaultTransport
	}
	if t.TracerProvider == nil {
		// Nothing is recorded: only the trace context has to pass
		// (propagate.go).
		return propagatingTransport{next: rt, propagator: t.Propagators(), defaults: t.Propagator == nil}
	}
	return otelhttp.NewTransport(rt, otelhttp.WithTracerProvider(t.Provider()), otelhttp.WithPropagators(t.Propagators()))
}

// Client returns a copy of c (http.DefaultClient when nil) whose requests
// go through Transport; redirect policy and timeout are kept.
func (t Tracing) Client(c *http.Client) *http.Client {
	if c == nil {
		c = http.DefaultClient
	}
	cp := *c
	cp.Transport = t.Transport(c.Transport)
	return &cp
}

// Extract returns ctx with the trace context h carries, for code that
// starts its own server span instead of using Handler.
func (t Tracing) Extract(ctx context.Context, h http.Header) context.Context {
	return t.Propagators().Extract(ctx, propagation.HeaderCarrier(h))
}

// NameRoute names the server span of r after its route template, such as
// "POST /plugins/{code}/bk_plugin/invoke/{version}", and records the
// template as http.route: Handler names a span before routing, by method
// alone, and a name with the path's trace ids in it would never group.
func NameRoute(r *http.Request, route string) {
	span := trace.SpanFromContext(r.Context())
	if !span.IsRecording() || route == "" {
		return
	}
	span.SetName(r.Method + " " + route)
	span.SetAttributes(attribute.String("http.route", route))
}

// AttrTraceID is the span attribute holding the BlueKing trace id (the
// X-Bkplugin-Trace-Id, which names the invocation), so that a trace is
// found from an invocation and an invocation from a trace.
const AttrTraceID = "bkplugin.trace_id"
