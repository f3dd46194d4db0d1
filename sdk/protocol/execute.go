package protocol

import "encoding/json"

// Version is the version of the plugin pod protocol described here. A plugin
// pod announces it in its meta answer; the manager refuses an answer whose
// protocol_version it does not know.
const Version = "1"

// Paths served by a plugin pod. Meta, detail and plugin_api have the shapes of
// the standard BlueKing plugin API; execute is this protocol's own.
const (
	// ExecutePathPrefix is followed by the plugin version: POST /bk_plugin/execute/1.0.0
	ExecutePathPrefix = "/bk_plugin/execute/"
	// MetaPath answers the plugin's meta in the standard envelope.
	MetaPath = "/bk_plugin/meta/"
	// DetailPathPrefix is followed by the plugin version.
	DetailPathPrefix = "/bk_plugin/detail/"
	// PluginAPIPathPrefix prefixes the routes a plugin author registers.
	PluginAPIPathPrefix = "/bk_plugin/plugin_api/"
	// OpenAPIPathPrefix prefixes a plugin's open APIs (the Python
	// framework 2.3's bk_plugin/openapi: app-authenticated).
	OpenAPIPathPrefix = "/bk_plugin/openapi/"
	// PrivateAPIPathPrefix prefixes a plugin's private APIs (the Python
	// framework 2.3's bk_plugin/private: app- and user-authenticated).
	PrivateAPIPathPrefix = "/bk_plugin/private/"
	// LogsPathPrefix is followed by a trace id and answers that invocation's log lines.
	LogsPathPrefix = "/bk_plugin/logs/"
)

// ExecuteTokenEnv names the file holding the token that proves an execute
// comes from the manager. The manager sends it as "Authorization: Bearer
// <token>" on every execute; a plugin pod that has it refuses executes
// without it (401). Both mount it from the same Secret.
const ExecuteTokenEnv = "BKPLUGIN_EXECUTE_TOKEN_FILE"

// InsecureNoExecuteTokenEnv, set to true, lets a plugin pod with no execute
// token serve executes from anyone (sdk/server's
// --insecure-no-execute-token): laptops and tests only. Without a token and
// without it, the pod refuses every execute.
const InsecureNoExecuteTokenEnv = "BKPLUGIN_INSECURE_NO_EXECUTE_TOKEN"

// Headers the manager and the shim set on requests to a plugin pod.
const (
	HeaderTraceID  = "Bk-Plugin-Trace-Id"
	HeaderUsername = "Bk-Plugin-Username"
	HeaderAppCode  = "Bk-Plugin-App-Code"
	// HeaderNoRoute is set ("true") on the 404 a plugin pod answers when
	// no plugin API is registered for the path, so that the shim tells
	// "no such API" from an API that itself answered 404.
	HeaderNoRoute = "Bk-Plugin-No-Route"
)

// ExecuteRequest is the body of POST /bk_plugin/execute/{version}. It carries
// everything the plugin needs: plugin pods keep no state between executes.
type ExecuteRequest struct {
	// ProtocolVersion is Version.
	ProtocolVersion string `json:"protocol_version"`
	// TraceID identifies the invocation; it is the same for every execute.
	TraceID string `json:"trace_id"`
	// PluginCode is the plugin's code, such as "hello".
	PluginCode string `json:"plugin_code"`
	// PluginVersion is the resolved semver version being executed.
	PluginVersion string `json:"plugin_version"`
	// State is the invocation's state before this execute: EMPTY on the first
	// execute, then POLL or CALLBACK.
	State State `json:"state"`
	// InvokeCount is 1 on the first execute and grows by one each time.
	// Each attempt of a retried invocation starts again at 1.
	InvokeCount int `json:"invoke_count"`
	// Attempt is the number of the invocation's attempt this execute
	// belongs to: 1 on the first, one more on each retry of a failed
	// attempt (the invocation's retry policy). Absent means 1.
	Attempt int `json:"attempt,omitempty"`
	// Inputs are the invocation's inputs as the caller sent them.
	Inputs json.RawMessage `json:"inputs,omitempty"`
	// Context is the invocation's context inputs (the seeds' context.data).
	Context json.RawMessage `json:"context,omitempty"`
	// Storage is what the previous execute left in storage.
	Storage json.RawMessage `json:"storage,omitempty"`
	// Outputs are the outputs so far.
	Outputs json.RawMessage `json:"outputs,omitempty"`
	// Callback is the callback being delivered; set only in CALLBACK state.
	Callback *Callback `json:"callback,omitempty"`
	// CallbackBaseURL is where third parties post callbacks; a prepared
	// callback's URL is CallbackBaseURL + token + "/".
	CallbackBaseURL string `json:"callback_base_url,omitempty"`
	// CallbackKey is a signing key derived for this invocation only (see
	// DeriveInvocationKey): it lets the plugin sign callback tokens that are
	// valid for this invocation and no other, without holding the master key.
	CallbackKey []byte `json:"callback_key,omitempty"`
	// CallbackTokenTTLSeconds is how long the callback tokens the plugin
	// signs stay valid; zero means DefaultCallbackTokenTTL.
	CallbackTokenTTLSeconds float64 `json:"callback_token_ttl_seconds,omitempty"`
}

// Callback is a callback delivered to a waiting invocation.
type Callback struct {
	// ID is the id that PrepareCallback returned.
	ID string `json:"id"`
	// Data is the JSON body the third party posted.
	Data json.RawMessage `json:"data,omitempty"`
}

// PreparedCallback is a callback the plugin prepared during an execute.
type PreparedCallback struct {
	ID  string `json:"id"`
	URL string `json:"url"`
}

// ExecuteResponse is the answer to an execute. Its HTTP status is 200 whatever
// the outcome; any other status is a transport failure the manager retries.
type ExecuteResponse struct {
	// ProtocolVersion is Version.
	ProtocolVersion string `json:"protocol_version"`
	// State is the new state: POLL, CALLBACK, SUCCESS or FAIL.
	State State `json:"state"`
	// Outputs replace the invocation's outputs.
	Outputs json.RawMessage `json:"outputs,omitempty"`
	// Storage replaces the invocation's storage.
	Storage json.RawMessage `json:"storage,omitempty"`
	// PollIntervalSeconds is how long to wait before the next execute (POLL).
	PollIntervalSeconds float64 `json:"poll_interval_seconds,omitempty"`
	// CallbackTimeoutSeconds bounds the wait for a callback (CALLBACK); zero
	// means the wait is bounded only by the invocation's deadline.
	CallbackTimeoutSeconds float64 `json:"callback_timeout_seconds,omitempty"`
	// Callbacks lists the callbacks prepared during this execute.
	Callbacks []PreparedCallback `json:"callbacks,omitempty"`
	// Error says why the invocation failed (FAIL).
	Error string `json:"error,omitempty"`
	// Logs are the lines the plugin logged during this execute, so that the
	// manager can keep an invocation's log whichever replica served it.
	// Optional: an older plugin pod leaves it out.
	Logs []string `json:"logs,omitempty"`
}
