package tracing

import (
	"net/http"

	"go.opentelemetry.io/otel/baggage"
	"go.opentelemetry.io/otel/propagation"
	"go.opentelemetry.io/otel/trace"
)

// A Tracing without a TracerProvider records no span, but a caller's
// trace context must still cross it (a plugin pod that traces sees the
// trace its caller started). These two do only that. otelhttp with a
// no-op provider does the same and, per request, also builds span and
// metric attribute sets that nobody reads: in the shim's direct path that
// was about 7% of its CPU per invoke (issue 21, go tool pprof of the
// bench's direct phase), and as much again in every plugin pod.

// propagatingHandler puts the trace context a request carries into its
// context.
type propagatingHandler struct {
	next       http.Handler
	propagator propagation.TextMapPropagator
}

func (h propagatingHandler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	ctx := h.propagator.Extract(r.Context(), propagation.HeaderCarrier(r.Header))
	h.next.ServeHTTP(w, r.WithContext(ctx))
}

// propagatingTransport writes the trace context of a request's context
// into its headers.
type propagatingTransport struct {
	next       http.RoundTripper
	propagator propagation.TextMapPropagator
	// defaults is set when propagator is the default one (Tracing's
	// Propagator unset).
	defaults bool
}

func (t propagatingTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	if t.defaults {
		// W3C Trace Context and Baggage write nothing for a context
		// with neither: the request goes out as it is, uncopied.
		ctx := req.Context()
		if !trace.SpanContextFromContext(ctx).IsValid() && baggage.FromContext(ctx).Len() == 0 {
			return t.next.RoundTrip(req)
		}
	}
	// A RoundTripper must not change the request it is given: the
	// headers are copied before the trace context is added.
	out := *req
	out.Header = req.Header.Clone()
	if out.Header == nil {
		out.Header = http.Header{}
	}
	t.propagator.Inject(req.Context(), propagation.HeaderCarrier(out.Header))
	return t.next.RoundTrip(&out)
}

// CloseIdleConnections closes the idle connections of the transport
// underneath, as http.Client.CloseIdleConnections expects.
func (t propagatingTransport) CloseIdleConnections() {
	if c, ok := t.next.(interface{ CloseIdleConnections() }); ok {
		c.CloseIdleConnections()
	}
}
