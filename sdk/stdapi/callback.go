package stdapi

// CallbackResult is the body of a callback answer. Unlike the other routes,
// the Python framework answers callbacks with {"result", "message"} only, no
// data or trace_id, and 400 when the token or the body is bad; Envelope reads
// it all the same.
type CallbackResult struct {
	// Result is true when the callback was accepted.
	Result bool `json:"result"`
	// Message says why a callback was refused.
	Message string `json:"message"`
}
