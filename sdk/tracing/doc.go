// Package tracing is the OpenTelemetry setup the shim, the manager and
// plugin pods (sdk/server) share: where spans go (Setup reads the standard
// OTEL_* environment variables and exports OTLP; tracing is off unless
// they ask for it), how the W3C trace context crosses HTTP (Handler,
// Client) and how it crosses the cluster, from the shim's invoke to the
// manager's reconciles, on a PluginInvocation's annotations
// (InjectAnnotations, ContextFromAnnotations).
//
// Nothing here sets OpenTelemetry's global providers: each process passes
// its Tracing to the options of what it instruments, so that tests run
// several processes' worth of tracing side by side.
package tracing
