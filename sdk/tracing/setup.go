package tracing

import (
	"context"
	"errors"
	"fmt"
	"os"
	"time"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracegrpc"
	"go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracehttp"
	"go.opentelemetry.io/otel/sdk/resource"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
)

// Options say how Setup builds one process's tracing.
type Options struct {
	// ServiceName is the service.name of the process's spans unless
	// OTEL_SERVICE_NAME (or service.name in OTEL_RESOURCE_ATTRIBUTES)
	// names another: "bk-plugin-shim", "bk-plugin-manager", the plugin code.
	ServiceName string
	// ServiceVersion, when set, is the service.version attribute.
	ServiceVersion string
	// Getenv reads the variables that decide the exporter (chooseExporter);
	// os.Getenv when nil. The OTLP exporters and the resource read the
	// process's environment themselves.
	Getenv func(string) string
	// Exporter, when set, receives every span synchronously instead of the
	// exporter the environment names (tests pass tracetest's in-memory one).
	Exporter sdktrace.SpanExporter
}

// Shutdown flushes the spans not yet exported and stops the exporter.
type Shutdown func(context.Context) error

// FlushTimeout bounds how long a process's last flush of spans may take.
const FlushTimeout = 5 * time.Second

// AtExit flushes at a process's end: within FlushTimeout, on a context that
// outlives ctx's cancellation (which is usually why the process is ending).
func (s Shutdown) AtExit(ctx context.Context) error {
	fctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), FlushTimeout)
	defer cancel()
	return s(fctx)
}

// Setup builds the process's Tracing from opts and the OTEL_* environment.
// With no exporter asked for it returns the zero Tracing, which records no
// span (and carries trace context through), and a Shutdown that does
// nothing. The sampler follows OTEL_TRACES_SAMPLER (parent-based, always
// on, by default).
func Setup(ctx context.Context, opts Options) (Tracing, Shutdown, error) {
	nothing := func(context.Context) error { return nil }
	getenv := opts.Getenv
	if getenv == nil {
		getenv = os.Getenv
	}
	var processor sdktrace.SpanProcessor
	if opts.Exporter != nil {
		processor = sdktrace.NewSimpleSpanProcessor(opts.Exporter)
	} else {
		kind, err := chooseExporter(getenv)
		if err != nil {
			return Tracing{}, nothing, fmt.Errorf("tracing: %w", err)
		}
		var exp sdktrace.SpanExporter
		switch kind {
		case exportNone:
			return Tracing{}, nothing, nil
		case exportOTLPGRPC:
			exp, err = otlptracegrpc.New(ctx)
		default:
			exp, err = otlptracehttp.New(ctx)
		}
		if err != nil {
			return Tracing{}, nothing, fmt.Errorf("tracing: create the %s exporter: %w", kind, err)
		}
		processor = sdktrace.NewBatchSpanProcessor(exp)
	}
	res, err := serviceResource(ctx, opts)
	if err != nil {
		return Tracing{}, nothing, err
	}
	tp := sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(processor), sdktrace.WithResource(res))
	return Tracing{TracerProvider: tp}, tp.Shutdown, nil
}

// serviceResource describes the process: service.name and version from
// opts, overridden by OTEL_SERVICE_NAME and OTEL_RESOURCE_ATTRIBUTES.
func serviceResource(ctx context.Context, opts Options) (*resource.Resource, error) {
	var attrs []attribute.KeyValue
	if opts.ServiceName != "" {
		attrs = append(attrs, attribute.String("service.name", opts.ServiceName))
	}
	if opts.ServiceVersion != "" {
		attrs = append(attrs, attribute.String("service.version", opts.ServiceVersion))
	}
	// The environment comes last so that it wins.
	res, err := resource.New(ctx, resource.WithTelemetrySDK(), resource.WithAttributes(attrs...), resource.WithFromEnv())
	if err != nil && !errors.Is(err, resource.ErrPartialResource) {
		return nil, fmt.Errorf("tracing: describe the service (%s): %w", "OTEL_RESOURCE_ATTRIBUTES", err)
	}
	return res, nil
}
