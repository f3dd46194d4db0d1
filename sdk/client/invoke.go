package client

import (
	"context"
	"fmt"
	"net/http"

	"github.com/bkplugin/bk-plugin-operator/sdk/stdapi"
)

// InvokeOptions tune one invoke.
type InvokeOptions struct {
	// TraceID, when set, names the invocation (32 lowercase hex characters,
	// see stdapi.NewTraceID) and makes the invoke idempotent: repeating it
	// after a lost answer returns the same invocation instead of running the
	// plugin twice. Empty lets the shim choose.
	TraceID string
	// Async asks the shim to answer as soon as the invocation is recorded
	// (state EMPTY) instead of after the first execute.
	Async bool
	// Scope overrides Options.Scope for this invoke.
	Scope *Scope
}

// InvokeResult is the answer of an invoke.
type InvokeResult struct {
	// TraceID names the invocation, for Schedule, Logs and WaitTerminal.
	TraceID string
	// InvokeData holds the state, outputs and error after the first execute.
	stdapi.InvokeData
}

// Invoke starts an invocation of one version of a plugin (POST
// /plugins/{code}/bk_plugin/invoke/{version}). version may be an exact
// version or a semver constraint such as "^1.2". Without Async the answer
// comes after the first execute, so a plugin that needs no waiting is
// already SUCCESS or FAIL.
//
// When the shim answers result false with a trace id, the returned APIError
// carries it: the invocation may exist and be worth a Schedule.
func (c *Client) Invoke(ctx context.Context, code, version string, req stdapi.InvokeRequest, opts InvokeOptions) (*InvokeResult, error) {
	if code == "" || version == "" {
		return nil, fmt.Errorf("invoke: plugin code and version are required")
	}
	header := http.Header{}
	if opts.TraceID != "" {
		if !stdapi.ValidTraceID(opts.TraceID) {
			return nil, fmt.Errorf("invoke plugin %s version %s: trace id %q is not %d lowercase hex characters",
				code, version, opts.TraceID, stdapi.TraceIDLength)
		}
		header.Set(stdapi.HeaderTraceID, opts.TraceID)
	}
	if opts.Async {
		header.Set(stdapi.HeaderAsync, "true")
	}
	var data stdapi.InvokeData
	traceID, err := c.call(ctx, request{
		method: http.MethodPost,
		path:   stdapi.InvokePath(code, version),
		body:   req,
		header: header,
		scope:  opts.Scope,
	}, &data)
	if err != nil {
		return nil, fmt.Errorf("invoke plugin %s version %s: %w", code, version, err)
	}
	// Without the trace id the platform cannot follow the invocation, and a
	// different one would break the idempotency the caller asked for.
	switch {
	case traceID == "":
		return nil, fmt.Errorf("invoke plugin %s version %s: the answer has no trace_id", code, version)
	case opts.TraceID != "" && traceID != opts.TraceID:
		return nil, fmt.Errorf("invoke plugin %s version %s: asked for trace id %s but the answer names %s",
			code, version, opts.TraceID, traceID)
	}
	return &InvokeResult{TraceID: traceID, InvokeData: data}, nil
}
