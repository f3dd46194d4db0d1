package tracing

import (
	"context"

	"go.opentelemetry.io/otel/propagation"

	bkv1 "github.com/bkplugin/bk-plugin-operator/api/v1alpha1"
)

// annotationField is a W3C Trace Context field and the annotation that
// keeps it on a PluginInvocation.
type annotationField struct{ field, key string }

// annotationFields are the fields InjectAnnotations keeps.
func annotationFields() []annotationField {
	return []annotationField{
		{"traceparent", bkv1.AnnotationTraceparent},
		{"tracestate", bkv1.AnnotationTracestate},
	}
}

// InjectAnnotations writes ctx's trace context into annotations (which
// must not be nil) as bkv1.AnnotationTraceparent and
// bkv1.AnnotationTracestate, so that the manager's reconciles of an
// invocation continue the trace of the invoke that created it. Nothing is
// written when ctx carries no valid span context. Only the W3C Trace Context
// fields are kept: baggage is the caller's and may be large.
func InjectAnnotations(ctx context.Context, annotations map[string]string) {
	carrier := propagation.MapCarrier{}
	propagation.TraceContext{}.Inject(ctx, carrier)
	for _, f := range annotationFields() {
		if v := carrier.Get(f.field); v != "" {
			annotations[f.key] = v
		}
	}
}

// ContextFromAnnotations returns ctx with the trace context that
// InjectAnnotations left in annotations, or ctx unchanged when there is
// none or it is not valid (annotations can be edited by hand).
func ContextFromAnnotations(ctx context.Context, annotations map[string]string) context.Context {
	carrier := propagation.MapCarrier{}
	for _, f := range annotationFields() {
		if v, ok := annotations[f.key]; ok {
			carrier.Set(f.field, v)
		}
	}
	if len(carrier) == 0 {
		return ctx
	}
	return propagation.TraceContext{}.Extract(ctx, carrier)
}
