//go:build envtest

package shim_test

import (
	"net/http"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.opentelemetry.io/otel/trace"

	bkv1 "github.com/bkplugin/bk-plugin-operator/api/v1alpha1"
	"github.com/bkplugin/bk-plugin-operator/sdk/stdapi"
	"github.com/bkplugin/bk-plugin-operator/sdk/tracing"
)

// One trace from the caller's traceparent through the shim's request, the
// manager's reconcile and execute, into the plugin pod's request and the
// plugin's Execute: the shim, the manager and the pod each record into the
// suite's in-memory exporter, as three processes would into one collector.
var _ = Describe("Tracing", func() {
	It("continues the caller's W3C trace through the shim, the manager and the plugin pod", func() {
		traceHex := newTraceID() // 32 hex digits: a valid W3C trace id too
		const callerSpan = "00f067aa0ba902b7"
		name := newTraceID()
		a := rawCall(http.MethodPost, "/plugins/poller/bk_plugin/invoke/1.0.0", `{"inputs":{"polls":1,"interval":1},"context":{}}`,
			map[string]string{"traceparent": "00-" + traceHex + "-" + callerSpan + "-01", stdapi.HeaderTraceID: name, "X-Bkplugin-App-Code": "tracer"})
		Expect(a.Status).To(Equal(http.StatusOK), a.Body)

		// The invocation carries the trace for the manager.
		Expect(getInvocation(name).Annotations).To(HaveKeyWithValue(bkv1.AnnotationTraceparent, HavePrefix("00-"+traceHex+"-")))

		// Wait for the second execute (after the poll) and for the
		// reconciles around both executes to end: a span is recorded when it
		// ends, and a reconcile ends after its status write.
		var got []tracetest.SpanStub
		Eventually(func(g Gomega) {
			got = spansOf(traceHex)
			g.Expect(countNamed(got, "plugin Execute")).To(BeNumerically(">=", 2))
			ids := spanIDs(named(got, "reconcile PluginInvocation"))
			for _, e := range named(got, "execute poller") {
				g.Expect(ids).To(ContainElement(e.Parent.SpanID()))
			}
		}).Should(Succeed())

		invoke := only(got, "POST "+stdapi.InvokeRoute)
		Expect(invoke.Parent.SpanID().String()).To(Equal(callerSpan), "the shim's span is the caller's child")
		Expect(invoke.SpanKind).To(Equal(trace.SpanKindServer))
		Expect(attr(invoke, tracing.AttrTraceID)).To(Equal(name))

		reconciles := named(got, "reconcile PluginInvocation")
		Expect(reconciles).NotTo(BeEmpty())
		for _, r := range reconciles {
			Expect(r.Parent.SpanID()).To(Equal(invoke.SpanContext.SpanID()), "every reconcile continues the invoke's trace")
			Expect(attr(r, tracing.AttrTraceID)).To(Equal(name))
		}
		executes := named(got, "execute poller")
		Expect(executes).To(HaveLen(2))
		for _, e := range executes {
			Expect(spanIDs(reconciles)).To(ContainElement(e.Parent.SpanID()), "an execute is a reconcile's child")
			client := childOf(got, e, "HTTP POST")
			Expect(client.SpanKind).To(Equal(trace.SpanKindClient))
			server := childOf(got, client, "POST /bk_plugin/execute/{version}")
			Expect(server.SpanKind).To(Equal(trace.SpanKindServer))
			pluginExecute := childOf(got, server, "plugin Execute")
			Expect(attr(pluginExecute, tracing.AttrTraceID)).To(Equal(name))
		}
	})
})

// spansOf returns the recorded spans of the trace traceHex.
func spansOf(traceHex string) []tracetest.SpanStub {
	var out []tracetest.SpanStub
	for _, s := range spans.GetSpans() {
		if s.SpanContext.TraceID().String() == traceHex {
			out = append(out, s)
		}
	}
	return out
}

func named(spans []tracetest.SpanStub, name string) []tracetest.SpanStub {
	var out []tracetest.SpanStub
	for _, s := range spans {
		if s.Name == name {
			out = append(out, s)
		}
	}
	return out
}

func countNamed(spans []tracetest.SpanStub, name string) int { return len(named(spans, name)) }

// only returns the one span named name.
func only(spans []tracetest.SpanStub, name string) tracetest.SpanStub {
	GinkgoHelper()
	got := named(spans, name)
	Expect(got).To(HaveLen(1), "spans named %q among %v", name, spanNames(spans))
	return got[0]
}

// childOf returns the one span named name whose parent is parent.
func childOf(spans []tracetest.SpanStub, parent tracetest.SpanStub, name string) tracetest.SpanStub {
	GinkgoHelper()
	var out []tracetest.SpanStub
	for _, s := range named(spans, name) {
		if s.Parent.SpanID() == parent.SpanContext.SpanID() {
			out = append(out, s)
		}
	}
	Expect(out).To(HaveLen(1), "children named %q of %q among %v", name, parent.Name, spanNames(spans))
	return out[0]
}

func spanIDs(spans []tracetest.SpanStub) []trace.SpanID {
	out := make([]trace.SpanID, 0, len(spans))
	for _, s := range spans {
		out = append(out, s.SpanContext.SpanID())
	}
	return out
}

func spanNames(spans []tracetest.SpanStub) []string {
	out := make([]string, 0, len(spans))
	for _, s := range spans {
		out = append(out, s.Name)
	}
	return out
}

// attr returns the string attribute key of s, or "".
func attr(s tracetest.SpanStub, key string) string {
	for _, kv := range s.Attributes {
		if string(kv.Key) == key {
			return kv.Value.AsString()
		}
	}
	return ""
}
