package protocol

// CancelPathPrefix is followed by the plugin version: the manager POSTs a
// CancelRequest there when an invocation that has executed is cancelled or
// passes its deadline, so that the plugin can stop the external job it
// started. The pod answers 200 {"result": true} once its hook has run (or
// when the version has none); the invocation ends FAIL either way.
const CancelPathPrefix = "/bk_plugin/cancel/"

// Reasons a CancelRequest gives.
const (
	// CancelReasonCancelled: the platform cancelled the invocation.
	CancelReasonCancelled = "cancelled"
	// CancelReasonTimeout: the invocation passed its deadline.
	CancelReasonTimeout = "timeout"
)

// CancelRequest is the body of POST /bk_plugin/cancel/{version}: the
// invocation as its last execute left it (the fields of an ExecuteRequest,
// without callback keys), and why it ends.
type CancelRequest struct {
	ExecuteRequest
	// Reason is CancelReasonCancelled or CancelReasonTimeout.
	Reason string `json:"reason"`
}

// CancelResponse is the pod's answer to a CancelRequest.
type CancelResponse struct {
	// Result is true once the hook has run.
	Result bool `json:"result"`
	// Message says what went wrong when Result is false.
	Message string `json:"message,omitempty"`
}
