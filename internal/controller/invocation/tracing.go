package invocation

import (
	"context"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/trace"

	bkv1 "github.com/bkplugin/bk-plugin-operator/api/v1alpha1"
	"github.com/bkplugin/bk-plugin-operator/sdk/protocol"
	"github.com/bkplugin/bk-plugin-operator/sdk/tracing"
)

// Span names of the reconciler.
const (
	spanReconcile = "reconcile PluginInvocation"
	spanExecute   = "execute"
)

// startReconcileSpan starts the span of one reconcile of inv: a child of
// the trace the shim left on it, so that every execute of a long POLL or
// CALLBACK invocation is found under the invoke that started it.
func (r *Reconciler) startReconcileSpan(ctx context.Context, inv *bkv1.PluginInvocation, traceID string) (context.Context, trace.Span) {
	ctx = tracing.ContextFromAnnotations(ctx, inv.Annotations)
	return r.Options.Tracing.Tracer().Start(ctx, spanReconcile, trace.WithAttributes(
		attribute.String(tracing.AttrTraceID, traceID),
		attribute.String("bkplugin.plugin", inv.Spec.Plugin),
		attribute.String("bkplugin.state", string(inv.Status.State)),
		attribute.Int64("bkplugin.invoke_count", int64(inv.Status.InvokeCount)),
		attribute.String("k8s.namespace.name", inv.Namespace),
	))
}

// startExecuteSpan starts the span of one execute of inv against plv; the
// HTTP client's span and the plugin pod's are its children.
func (r *Reconciler) startExecuteSpan(ctx context.Context, inv *bkv1.PluginInvocation, plv *bkv1.PluginVersion) (context.Context, trace.Span) {
	return r.Options.Tracing.Tracer().Start(ctx, spanExecute+" "+inv.Spec.Plugin, trace.WithAttributes(
		attribute.String("bkplugin.plugin", inv.Spec.Plugin),
		attribute.String("bkplugin.version", plv.Spec.Version),
		attribute.String("bkplugin.plugin_version", plv.Name),
	))
}

// endExecuteSpan records what the execute came to and ends span.
func endExecuteSpan(span trace.Span, answer *protocol.ExecuteResponse, err error) {
	switch {
	case err != nil:
		span.RecordError(err)
		span.SetStatus(codes.Error, err.Error())
	case answer != nil:
		span.SetAttributes(attribute.String("bkplugin.answer_state", answer.State.String()))
	}
	span.End()
}
