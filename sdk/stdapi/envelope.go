package stdapi

import "encoding/json"

// Envelope is the body of every JSON answer of the standard API:
//
//	{"result": true, "data": ..., "message": "", "trace_id": "..."}
//
// Result false means the call failed and Message says why; Data is then null.
// TraceID is the invocation's trace id on invoke answers and the request's
// trace id elsewhere; the Python framework leaves it out of some answers
// (meta, detail, logs), so readers must not rely on it outside invoke and
// schedule.
type Envelope[T any] struct {
	// Result is true when the call succeeded.
	Result bool `json:"result"`
	// Data is the answer's payload; null when Result is false.
	Data T `json:"data"`
	// Message says what went wrong when Result is false; may be "success" or
	// "" otherwise.
	Message string `json:"message"`
	// TraceID identifies the invocation (invoke, schedule) or the request.
	TraceID string `json:"trace_id"`
}

// RawEnvelope is an Envelope whose data is kept undecoded, for readers that
// must look at result and message before they know what data holds.
type RawEnvelope = Envelope[json.RawMessage]

// OK returns a successful envelope carrying data.
func OK[T any](data T, traceID string) Envelope[T] {
	return Envelope[T]{Result: true, Data: data, Message: "success", TraceID: traceID}
}

// Fail returns a failed envelope. Its data marshals to null, as the Python
// framework answers.
func Fail(message, traceID string) Envelope[json.RawMessage] {
	return Envelope[json.RawMessage]{Result: false, Data: json.RawMessage("null"), Message: message, TraceID: traceID}
}
