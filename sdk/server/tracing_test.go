package server_test

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"

	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.opentelemetry.io/otel/trace"

	"github.com/bkplugin/bk-plugin-operator/sdk/examples/hello/helloplugin"
	"github.com/bkplugin/bk-plugin-operator/sdk/protocol"
	"github.com/bkplugin/bk-plugin-operator/sdk/server"
	"github.com/bkplugin/bk-plugin-operator/sdk/tracing"
)

// An execute carrying a traceparent is served under a server span, the
// caller's child, named after the route, with the plugin's Execute as its
// child; probes and metrics get no span.
func TestExecuteJoinsTheCallersTrace(t *testing.T) {
	spans := tracetest.NewInMemoryExporter()
	ts := serve(t, helloplugin.Plugin(), server.Options{Tracing: tracing.Tracing{
		TracerProvider: sdktrace.NewTracerProvider(sdktrace.WithSyncer(spans)),
	}})
	const traceHex, callerSpan = "4bf92f3577b34da6a3ce929d0e0e4736", "00f067aa0ba902b7"
	body, _ := json.Marshal(protocol.ExecuteRequest{ProtocolVersion: protocol.Version, TraceID: "0123456789abcdef0123456789abcdef",
		State: protocol.StateEmpty, InvokeCount: 1, Inputs: json.RawMessage(`{"name":"world"}`)})
	req, _ := http.NewRequest(http.MethodPost, ts.URL+"/bk_plugin/execute/1.0.0", strings.NewReader(string(body)))
	req.Header.Set("traceparent", "00-"+traceHex+"-"+callerSpan+"-01")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	_ = resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("execute answered %d", resp.StatusCode)
	}
	for _, p := range []string{"/healthz", "/readyz", "/metrics"} {
		do(t, http.MethodGet, ts.URL+p, "")
	}

	got := spans.GetSpans()
	if len(got) != 2 {
		t.Fatalf("got %d spans, want the execute's server span and the plugin's Execute", len(got))
	}
	srv, exec := got[1], got[0] // ended in this order
	if srv.Name != "POST /bk_plugin/execute/{version}" || srv.SpanKind != trace.SpanKindServer {
		t.Errorf("server span = %q (%s)", srv.Name, srv.SpanKind)
	}
	if srv.SpanContext.TraceID().String() != traceHex || srv.Parent.SpanID().String() != callerSpan {
		t.Errorf("server span is not the caller's child: trace %s parent %s", srv.SpanContext.TraceID(), srv.Parent.SpanID())
	}
	if exec.Name != "plugin Execute" || exec.Parent.SpanID() != srv.SpanContext.SpanID() {
		t.Errorf("execute span = %q with parent %s, want plugin Execute under the server span", exec.Name, exec.Parent.SpanID())
	}
	var state string
	for _, kv := range exec.Attributes {
		if kv.Key == "bkplugin.answer_state" {
			state = kv.Value.AsString()
		}
	}
	if state != protocol.StateSuccess.String() {
		t.Errorf("bkplugin.answer_state = %q, want %s", state, protocol.StateSuccess)
	}
}
