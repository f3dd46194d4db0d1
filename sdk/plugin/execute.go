package plugin

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"runtime/debug"
	"time"

	"github.com/bkplugin/bk-plugin-operator/sdk/protocol"
	"github.com/bkplugin/bk-plugin-operator/sdk/schema"
	"github.com/bkplugin/bk-plugin-operator/sdk/taskjson"
)

// RequestError is a malformed execute request: the caller broke the
// protocol (a plugin server answers it with 400), as opposed to the plugin
// failing, which is a FAIL answer.
type RequestError struct{ msg string }

func (e *RequestError) Error() string { return e.msg }

func badRequest(format string, args ...any) error {
	return &RequestError{msg: fmt.Sprintf(format, args...)}
}

// inputsError marks a failure to decode validated inputs into their Go type,
// reported as an inputs validation error rather than a plugin failure.
type inputsError struct{ err error }

func (e *inputsError) Error() string { return e.err.Error() }

// ExecuteOptions are the runtime's side of an execute.
type ExecuteOptions struct {
	// Now is the clock plugins see through Context.Now; time.Now when nil.
	Now func() time.Time
	// Logger receives the invocation's log records besides the lines kept
	// for /bk_plugin/logs, with trace_id and version attributes added.
	// Records go nowhere else when nil.
	Logger *slog.Logger
	// MaxLogLines and MaxLogBytes bound the lines kept from one execute,
	// which travel back in its answer; DefaultMaxLogLines (200) and
	// DefaultMaxLogBytes (64 KiB) when zero. The lines past them are counted
	// in a last line.
	MaxLogLines int
	MaxLogBytes int
}

// execState is the non-generic state of one execute, shared by the typed
// Context and by the code that turns the outcome into an answer.
type execState struct {
	req     *protocol.ExecuteRequest
	now     func() time.Time
	storage Storage
	logger  *slog.Logger

	wait            State // POLL, CALLBACK or 0 for "end"
	pollInterval    time.Duration
	callbackTimeout time.Duration
	callbacks       []PreparedCallback
	outputs         json.RawMessage
	outputsErr      error
}

// Execute runs one execute of the version req names and returns the answer
// of the plugin pod protocol. The plugin's own failures, including a panic
// and inputs that fail validation, are a FAIL answer, never an error: the
// error is ErrUnknownVersion or a *RequestError for a request that breaks
// the protocol.
func (p *Plugin) Execute(ctx context.Context, req *protocol.ExecuteRequest, opts ExecuteOptions) (*protocol.ExecuteResponse, error) {
	e, ok := p.versions[req.PluginVersion]
	if !ok {
		return nil, fmt.Errorf("%w: plugin %s has no version %q", ErrUnknownVersion, p.meta.Code, req.PluginVersion)
	}
	if err := checkRequest(req); err != nil {
		return nil, err
	}
	storage := Storage{}
	if len(req.Storage) > 0 && string(req.Storage) != "null" {
		if err := json.Unmarshal(req.Storage, &storage); err != nil {
			return nil, badRequest("storage must be a JSON object: %v", err)
		}
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	lines := newLineBuffer(opts.MaxLogLines, opts.MaxLogBytes)
	defer lines.close()
	secrets := sensitiveValues(e.sensitive, req.Inputs)
	logger := newLogger(lines, opts.Logger, req)
	if len(secrets) > 0 {
		logger = slog.New(redactHandler{next: logger.Handler(), values: secrets})
	}
	st := &execState{
		req:     req,
		now:     opts.Now,
		storage: storage,
		logger:  logger,
	}
	resp := &protocol.ExecuteResponse{ProtocolVersion: protocol.Version}

	inputs, inErr := e.normalizeInputs(req.Inputs)
	cinputs, ctxErr := e.context.Normalize(req.Context)
	if err := schema.NewInputsError(inErr, ctxErr); err != nil {
		st.logger.Error("inputs rejected", "error", err.Error())
		resp.State, resp.Error = StateFail, redact(err.Error(), secrets)
		resp.Outputs, resp.Storage = orEmpty(req.Outputs), orEmpty(req.Storage)
		resp.Logs = lines.close()
		return resp, nil
	}

	err := runProtected(ctx, e.run, st, inputs, cinputs)
	resp.Callbacks = st.callbacks
	resp.Outputs = orEmpty(req.Outputs)
	if st.outputs != nil {
		resp.Outputs = st.outputs
	}
	resp.Storage, _ = json.Marshal(st.storage) // a map of raw JSON always encodes
	var ie *inputsError
	switch {
	case errors.As(err, &ie):
		err = errors.New(schema.InputsErrorPrefix + ie.Error())
	case err == nil && st.outputsErr != nil:
		err = fmt.Errorf("outputs are not JSON-encodable: %w", st.outputsErr)
	}
	switch {
	case err != nil:
		resp.State, resp.Error = StateFail, err.Error()
		st.logger.Error("execute failed", "error", resp.Error)
	case st.wait == StatePoll:
		resp.State, resp.PollIntervalSeconds = StatePoll, st.pollInterval.Seconds()
	case st.wait == StateCallback:
		resp.State, resp.CallbackTimeoutSeconds = StateCallback, st.callbackTimeout.Seconds()
	default:
		resp.State = StateSuccess
	}
	resp.Error = redact(resp.Error, secrets)
	resp.Logs = lines.close()
	return resp, nil
}

// normalizeInputs applies the version's defaults and validates the inputs.
// A task.json is enforced first: it is the judge of required, rule and
// rely, which its derived schema can only approximate; the schema then
// checks the types of what it accepted.
func (e *entry) normalizeInputs(raw json.RawMessage) (json.RawMessage, error) {
	if e.task != nil {
		evaluated, err := e.task.Evaluate(raw)
		var ve *taskjson.ViolationsError
		if errors.As(err, &ve) {
			return nil, &schema.ValidationError{Problems: ve.Problems()}
		}
		if err != nil {
			return nil, err
		}
		raw = evaluated
	}
	return e.inputs.Normalize(raw)
}

// runProtected runs the plugin's code and turns a panic into an error, so
// that one bad input never takes the pod and its other invocations down.
func runProtected(ctx context.Context, run runFunc, st *execState, inputs, cinputs json.RawMessage) (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("panic: %v", r)
			st.logger.Error("execute panicked", "panic", fmt.Sprint(r), "stack", string(debug.Stack()))
		}
	}()
	return run(ctx, st, inputs, cinputs)
}

// checkRequest rejects requests that no correct manager sends.
func checkRequest(req *protocol.ExecuteRequest) error {
	switch {
	case req.ProtocolVersion != "" && req.ProtocolVersion != protocol.Version:
		return badRequest("protocol_version %q is not supported: this plugin speaks %q", req.ProtocolVersion, protocol.Version)
	case req.TraceID == "":
		return badRequest("trace_id is required")
	case req.InvokeCount < 1:
		return badRequest("invoke_count must be >= 1, got %d", req.InvokeCount)
	case req.State.Terminal():
		return badRequest("state %s is terminal: an ended invocation is never executed again", req.State)
	case req.State == StateCallback && (req.Callback == nil || req.Callback.ID == ""):
		return badRequest("state CALLBACK needs the callback being delivered (callback.id)")
	case req.State != StateEmpty && req.State != StatePoll && req.State != StateCallback:
		return badRequest("state must be EMPTY, POLL or CALLBACK, got %s", req.State)
	}
	return nil
}

func orEmpty(raw json.RawMessage) json.RawMessage {
	if len(raw) == 0 || string(raw) == "null" {
		return json.RawMessage("{}")
	}
	return raw
}
