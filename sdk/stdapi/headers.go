package stdapi

// Request headers of the standard API.
const (
	// HeaderScopeType carries the caller's scope type (for example "project").
	// The Python framework checks it on invoke against the allow_scope that
	// the plugin declares for the calling app; callers not listed there pass.
	HeaderScopeType = "Bkplugin-Scope-Type"
	// HeaderScopeValue carries the caller's scope value (for example a
	// project id); it must be one of the values allow_scope lists for the app.
	HeaderScopeValue = "Bkplugin-Scope-Value"

	// HeaderTraceID lets a caller choose the trace id of an invoke, making
	// the invoke idempotent: a retried invoke with the same trace id answers
	// the existing invocation instead of starting a second one. The value
	// must be a valid trace id (see ValidTraceID). Not in the Python
	// framework, which always generates the trace id itself.
	HeaderTraceID = "X-Bkplugin-Trace-Id"
	// HeaderAsync set to "true" on an invoke asks the shim to answer as soon
	// as the invocation is recorded, with state EMPTY, instead of waiting for
	// the first execute. Not in the Python framework.
	HeaderAsync = "X-Bkplugin-Async"

	// HeaderAppCode names the calling platform's app code. Behind BlueKing's
	// API gateway the app comes from the gateway's JWT instead; in a cluster
	// without the gateway the shim reads this header for allow_scope checks.
	HeaderAppCode = "X-Bkplugin-App-Code"
	// HeaderUsername names the user on whose behalf the platform calls.
	HeaderUsername = "X-Bkplugin-Username"
)
