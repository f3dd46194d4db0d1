package stdapi

import (
	"bytes"
	"encoding/json"
	"fmt"

	"github.com/bkplugin/bk-plugin-operator/sdk/protocol"
)

// InvokeRequest is the body of POST /plugins/{code}/bk_plugin/invoke/{version}.
// Both fields are JSON objects and both are required, as in the Python
// framework; the Marshal side sends {} for a nil field so that callers need
// not care.
type InvokeRequest struct {
	// Inputs are the plugin's inputs, checked against the version's inputs schema.
	Inputs json.RawMessage `json:"inputs"`
	// Context holds the context inputs (the plugin sees them as context.data).
	Context json.RawMessage `json:"context"`
	// Timeout, in seconds, bounds the whole invocation (an extension: the
	// Python framework has none, and bk-sops #7442 asks for one). Past it the
	// invocation ends FAIL "timeout" and the plugin is told, as on cancel.
	// Unset means no bound.
	Timeout *int64 `json:"timeout,omitempty"`
	// Retry runs a failed attempt again (an extension; see RetryPolicy).
	// Unset means the version's policy, if any.
	Retry *RetryPolicy `json:"retry,omitempty"`
	// Priority orders the invocation among those waiting for a slot of
	// their version's limits.maxActiveInvocations, higher first (an
	// extension: the Python framework has none). Unset means 0; bounds
	// MinPriority..MaxPriority.
	Priority *int32 `json:"priority,omitempty"`
}

// Bounds of InvokeRequest.Priority, the PluginInvocation's spec.priority.
const (
	MinPriority = -1000
	MaxPriority = 1000
)

// MaxTimeoutSeconds bounds InvokeRequest.Timeout (a year, the CRD's limit).
const MaxTimeoutSeconds = 31536000

// NewInvokeRequest marshals inputs and context (structs or maps) into an
// InvokeRequest. A nil value becomes {}.
func NewInvokeRequest(inputs, context any) (InvokeRequest, error) {
	in, err := marshalObject(inputs)
	if err != nil {
		return InvokeRequest{}, fmt.Errorf("encode invoke inputs: %w", err)
	}
	ctx, err := marshalObject(context)
	if err != nil {
		return InvokeRequest{}, fmt.Errorf("encode invoke context: %w", err)
	}
	return InvokeRequest{Inputs: in, Context: ctx}, nil
}

func marshalObject(v any) (json.RawMessage, error) {
	if v == nil {
		return json.RawMessage("{}"), nil
	}
	b, err := json.Marshal(v)
	if err != nil {
		return nil, err
	}
	return b, nil
}

// MarshalJSON writes {} for an unset field: the Python framework answers 400
// when inputs or context is missing, and an empty object is what a caller
// with nothing to pass means.
func (r InvokeRequest) MarshalJSON() ([]byte, error) {
	type wire InvokeRequest
	w := wire(r)
	if len(w.Inputs) == 0 {
		w.Inputs = json.RawMessage("{}")
	}
	if len(w.Context) == 0 {
		w.Context = json.RawMessage("{}")
	}
	return json.Marshal(w)
}

// Validate reports what is wrong with a decoded request: the shim answers
// 400 with this message, as the Python framework does for a body whose inputs
// or context is missing or not an object.
func (r InvokeRequest) Validate() error {
	if err := checkObject("inputs", r.Inputs); err != nil {
		return err
	}
	if r.Timeout != nil && (*r.Timeout < 1 || *r.Timeout > MaxTimeoutSeconds) {
		return fmt.Errorf("timeout must be between 1 and %d seconds, got %d", MaxTimeoutSeconds, *r.Timeout)
	}
	if err := r.Retry.Validate(); err != nil {
		return err
	}
	if r.Priority != nil && (*r.Priority < MinPriority || *r.Priority > MaxPriority) {
		return fmt.Errorf("priority must be between %d and %d, got %d", MinPriority, MaxPriority, *r.Priority)
	}
	return checkObject("context", r.Context)
}

func checkObject(field string, raw json.RawMessage) error {
	trimmed := bytes.TrimSpace(raw)
	if len(trimmed) == 0 {
		return fmt.Errorf("%s is required", field)
	}
	if trimmed[0] != '{' {
		return fmt.Errorf("%s must be a JSON object, got %s", field, preview(trimmed))
	}
	return nil
}

func preview(b []byte) string {
	const max = 40
	if len(b) > max {
		return string(b[:max]) + "..."
	}
	return string(b)
}

// InvokeData is the data of an invoke answer; the envelope's trace_id names
// the invocation for later schedule, logs and callback calls.
type InvokeData struct {
	// Outputs are the outputs after the first execute (a JSON object), null
	// when the invocation failed, as the Python framework answers.
	Outputs json.RawMessage `json:"outputs"`
	// State is the state after the first execute (POLL, CALLBACK, SUCCESS or
	// FAIL). The shim answers POLL for an invocation whose first execute has
	// not finished (an async invoke, or one slower than the invoke timeout):
	// platforms then poll schedule.
	State protocol.State `json:"state"`
	// Err says why the invocation failed; "" otherwise, which is sent as
	// null (the Python framework's None).
	Err string `json:"err"`
}

// MarshalJSON writes err as null when it is empty and outputs as null when
// unset, the Python framework's invoke answer.
func (d InvokeData) MarshalJSON() ([]byte, error) {
	w := struct {
		Outputs json.RawMessage `json:"outputs"`
		State   protocol.State  `json:"state"`
		Err     *string         `json:"err"`
	}{Outputs: d.Outputs, State: d.State}
	if len(w.Outputs) == 0 {
		w.Outputs = json.RawMessage("null")
	}
	if d.Err != "" {
		w.Err = &d.Err
	}
	return json.Marshal(w)
}
