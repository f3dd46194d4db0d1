// Package client is a Go client of the standard BlueKing plugin HTTP API, for
// platforms (pipeline engines, job systems) that invoke plugins run by
// bk-plugin-operator. It is the Go counterpart of bk-plugin-client-go, aimed
// at the shim instead of the PaaS gateway: one base URL (the shim's root,
// such as http://bk-plugin-apiserver:8080) reaches every plugin under
// /plugins/{code}.
//
// Every call takes a context. A call fails with *APIError when the shim
// answers a non-2xx status or an envelope with result false, and with a
// wrapped transport error (which names the URL) when no answer came at all.
// The client retries nothing unless Options.RetryGET opts in, and then only
// idempotent GETs: an invoke is made safe to repeat with
// InvokeOptions.TraceID instead.
package client
