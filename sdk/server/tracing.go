package server

import (
	"context"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/trace"

	"github.com/bkplugin/bk-plugin-operator/sdk/protocol"
	"github.com/bkplugin/bk-plugin-operator/sdk/tracing"
)

// spanPluginExecute names the span around the plugin's own Execute, so
// that the plugin's time is told from the server's decoding and writing.
const spanPluginExecute = "plugin Execute"

// startExecuteSpan starts the span of the plugin's Execute for req, a
// child of the request's server span.
func (s *Server) startExecuteSpan(ctx context.Context, req *protocol.ExecuteRequest) (context.Context, trace.Span) {
	return s.opts.Tracing.Tracer().Start(ctx, spanPluginExecute, trace.WithAttributes(
		attribute.String(tracing.AttrTraceID, req.TraceID),
		attribute.String("bkplugin.plugin", s.p.Meta().Code),
		attribute.String("bkplugin.version", req.PluginVersion),
		attribute.String("bkplugin.state", req.State.String()),
		attribute.Int("bkplugin.invoke_count", req.InvokeCount),
	))
}

// endExecuteSpan records the state the plugin answered (an error is a
// request the plugin refused) and ends span.
func endExecuteSpan(span trace.Span, resp *protocol.ExecuteResponse, err error) {
	switch {
	case err != nil:
		span.RecordError(err)
		span.SetStatus(codes.Error, err.Error())
	case resp != nil:
		span.SetAttributes(attribute.String("bkplugin.answer_state", resp.State.String()))
		if resp.Error != "" {
			// A FAIL answer is the plugin's verdict, not a broken call;
			// the message may quote inputs, so it stays out of the span.
			span.SetStatus(codes.Error, "the plugin answered "+resp.State.String())
		}
	}
	span.End()
}
