package plugintest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/bkplugin/bk-plugin-operator/sdk/plugin"
	"github.com/bkplugin/bk-plugin-operator/sdk/protocol"
)

// DefaultCallbackBaseURL is where prepared callbacks point unless Options
// says otherwise; nothing listens there, deliver with Invocation.CallbackURL.
const DefaultCallbackBaseURL = "http://plugintest.invalid/bk_plugin/callback/"

// Options configure a Harness. The zero value is ready to use.
type Options struct {
	// Start is the fake clock's starting time; 2024-01-01T00:00:00Z when zero.
	Start time.Time
	// CallbackMasterKey signs callback tokens, as the manager's key does; a
	// fixed test key when nil.
	CallbackMasterKey []byte
	// CallbackBaseURL is sent to the plugin as callback_base_url;
	// DefaultCallbackBaseURL when "". Set NoCallbacks to send none.
	CallbackBaseURL string
	// NoCallbacks sends no callback key or base URL, as a manager without a
	// callback key would, so that PrepareCallback fails.
	NoCallbacks bool
	// MaxSteps bounds Run, catching a plugin that polls forever; 1000 when zero.
	MaxSteps int
	// PluginCode overrides the code sent in requests; the plugin's own when "".
	PluginCode string
}

// Harness runs invocations of one plugin.
type Harness struct {
	t     testing.TB
	p     *plugin.Plugin
	opts  Options
	clock *Clock
}

// New returns a harness for p that reports failures to t.
func New(t testing.TB, p *plugin.Plugin, opts Options) *Harness {
	t.Helper()
	if opts.Start.IsZero() {
		opts.Start = time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)
	}
	if opts.CallbackMasterKey == nil {
		opts.CallbackMasterKey = []byte("plugintest master key")
	}
	if opts.CallbackBaseURL == "" {
		opts.CallbackBaseURL = DefaultCallbackBaseURL
	}
	if opts.MaxSteps <= 0 {
		opts.MaxSteps = 1000
	}
	if opts.PluginCode == "" {
		opts.PluginCode = p.Meta().Code
	}
	return &Harness{t: t, p: p, opts: opts, clock: NewClock(opts.Start)}
}

// Clock returns the fake clock the plugin sees.
func (h *Harness) Clock() *Clock { return h.clock }

// Start invokes version with inputs and context (each a struct, a map, raw
// JSON as json.RawMessage, or nil for none) and runs the first execute.
func (h *Harness) Start(version string, inputs, context any) *Invocation {
	h.t.Helper()
	return h.StartAttempt(version, 1, inputs, context)
}

// StartAttempt is Start as attempt number attempt of an invocation that a
// retry policy runs again after a failed attempt: the plugin sees
// ctx.Attempt == attempt, and, as in the cluster, a clean state (EMPTY,
// invoke count 1, no storage or outputs).
func (h *Harness) StartAttempt(version string, attempt int, inputs, context any) *Invocation {
	h.t.Helper()
	var id [16]byte
	_, _ = rand.Read(id[:])
	inv := &Invocation{
		h:       h,
		t:       h.t,
		traceID: hex.EncodeToString(id[:]),
		version: version,
		inputs:  h.raw("inputs", inputs),
		context: h.raw("context", context),
		state:   plugin.StateEmpty,
		attempt: max(attempt, 1),
	}
	inv.execute(nil)
	return inv
}

func (h *Harness) raw(what string, v any) json.RawMessage {
	h.t.Helper()
	switch v := v.(type) {
	case nil:
		return nil
	case json.RawMessage:
		return v
	case []byte:
		return v
	}
	b, err := json.Marshal(v)
	if err != nil {
		h.t.Fatalf("plugintest: encode %s: %v", what, err)
	}
	return b
}

// Step is one execute of an invocation.
type Step struct {
	// At is the fake clock's time when the execute ran.
	At time.Time
	// Request and Response are the execute's wire messages.
	Request  protocol.ExecuteRequest
	Response protocol.ExecuteResponse
}

// Invocation is one invocation run by a Harness. Its methods report
// failures to the harness's testing.TB.
type Invocation struct {
	h       *Harness
	t       testing.TB
	traceID string
	version string
	inputs  json.RawMessage
	context json.RawMessage

	state       plugin.State
	attempt     int
	invokeCount int
	outputs     json.RawMessage
	storage     json.RawMessage
	err         string
	callbacks   []plugin.PreparedCallback
	pending     []protocol.Callback
	delivered   map[string]bool
	logs        []string
	steps       []Step
	nextPoll    time.Time
}

// TraceID returns the invocation's trace id.
func (inv *Invocation) TraceID() string { return inv.traceID }

// State returns the state after the last execute.
func (inv *Invocation) State() plugin.State { return inv.state }

// InvokeCount returns how many executes have run.
func (inv *Invocation) InvokeCount() int { return inv.invokeCount }

// Outputs returns the outputs after the last execute.
func (inv *Invocation) Outputs() json.RawMessage { return inv.outputs }

// Storage returns the storage after the last execute.
func (inv *Invocation) Storage() json.RawMessage { return inv.storage }

// Err returns the error of a failed invocation, or "".
func (inv *Invocation) Err() string { return inv.err }

// Callbacks returns every callback the plugin prepared so far.
func (inv *Invocation) Callbacks() []plugin.PreparedCallback { return inv.callbacks }

// Logs returns every line the plugin logged so far.
func (inv *Invocation) Logs() []string { return inv.logs }

// Steps returns every execute so far.
func (inv *Invocation) Steps() []Step { return inv.steps }

// NextPoll returns when the next execute of a POLL invocation is due.
func (inv *Invocation) NextPoll() time.Time { return inv.nextPoll }

// Step runs the next execute: in POLL it moves the fake clock to the poll
// time first; in CALLBACK it delivers the oldest pending callback and fails
// the test when there is none.
func (inv *Invocation) Step() {
	inv.t.Helper()
	switch inv.state {
	case plugin.StatePoll:
		inv.h.clock.AdvanceTo(inv.nextPoll)
		inv.execute(nil)
	case plugin.StateCallback:
		if len(inv.pending) == 0 {
			inv.t.Fatalf("plugintest: invocation %s waits for a callback and none was delivered", inv.traceID)
			return
		}
		cb := inv.pending[0]
		inv.pending = inv.pending[1:]
		inv.execute(&cb)
	default:
		inv.t.Fatalf("plugintest: invocation %s ended %s (%s); there is no next execute", inv.traceID, inv.state, inv.err)
	}
}

// Run executes until the invocation ends or waits for a callback that has
// not been delivered, and returns the state it stopped in.
func (inv *Invocation) Run() plugin.State {
	inv.t.Helper()
	for range inv.h.opts.MaxSteps {
		if inv.state != plugin.StatePoll && !(inv.state == plugin.StateCallback && len(inv.pending) > 0) {
			return inv.state
		}
		inv.Step()
	}
	inv.t.Fatalf("plugintest: invocation %s still %s after %d executes", inv.traceID, inv.state, inv.h.opts.MaxSteps)
	return inv.state
}

// Callback delivers the callback id with data (marshalled to JSON unless it
// is json.RawMessage). Like the manager, it executes at once when the
// invocation waits for a callback, keeps the callback until it does
// otherwise, and delivers each id once.
func (inv *Invocation) Callback(id string, data any) {
	inv.t.Helper()
	if inv.delivered[id] {
		inv.t.Logf("plugintest: callback %s was already delivered; ignored", id)
		return
	}
	if inv.delivered == nil {
		inv.delivered = map[string]bool{}
	}
	inv.delivered[id] = true
	inv.pending = append(inv.pending, protocol.Callback{ID: id, Data: inv.h.raw("callback data", data)})
	if inv.state == plugin.StateCallback {
		inv.Step()
	}
}

// CallbackURL delivers a callback the way a third party does, by posting to
// a URL the plugin prepared: the token in the URL must verify against the
// harness's key and this invocation, or CallbackURL returns an error and
// delivers nothing.
func (inv *Invocation) CallbackURL(url string, data any) error {
	inv.t.Helper()
	token, ok := strings.CutPrefix(url, inv.h.opts.CallbackBaseURL)
	if !ok {
		return fmt.Errorf("callback URL %q does not start with %q", url, inv.h.opts.CallbackBaseURL)
	}
	claims, err := protocol.VerifyToken(strings.TrimSuffix(token, "/"), inv.h.clock.Now(), inv.h.opts.CallbackMasterKey)
	if err != nil {
		return err
	}
	if claims.TraceID != inv.traceID {
		return fmt.Errorf("callback URL belongs to invocation %s, not %s", claims.TraceID, inv.traceID)
	}
	inv.Callback(claims.CallbackID, data)
	return nil
}

func (inv *Invocation) execute(cb *protocol.Callback) {
	inv.t.Helper()
	h := inv.h
	req := protocol.ExecuteRequest{
		ProtocolVersion: protocol.Version,
		TraceID:         inv.traceID,
		PluginCode:      h.opts.PluginCode,
		PluginVersion:   inv.version,
		State:           inv.state,
		InvokeCount:     inv.invokeCount + 1,
		Attempt:         inv.attempt,
		Inputs:          inv.inputs,
		Context:         inv.context,
		Storage:         inv.storage,
		Outputs:         inv.outputs,
		Callback:        cb,
	}
	if !h.opts.NoCallbacks {
		req.CallbackBaseURL = h.opts.CallbackBaseURL
		req.CallbackKey = protocol.DeriveInvocationKey(h.opts.CallbackMasterKey, inv.traceID)
	}
	req = roundTrip(inv.t, "request", req)
	resp, err := h.p.Execute(context.Background(), &req, plugin.ExecuteOptions{Now: h.clock.Now})
	if err != nil {
		inv.t.Fatalf("plugintest: execute %d of %s %s: %v", req.InvokeCount, h.opts.PluginCode, inv.version, err)
		return
	}
	*resp = roundTrip(inv.t, "response", *resp)
	inv.steps = append(inv.steps, Step{At: h.clock.Now(), Request: req, Response: *resp})
	inv.invokeCount = req.InvokeCount
	inv.state = resp.State
	inv.outputs = resp.Outputs
	inv.storage = resp.Storage
	inv.err = resp.Error
	inv.callbacks = append(inv.callbacks, resp.Callbacks...)
	inv.logs = append(inv.logs, resp.Logs...)
	if resp.State == plugin.StatePoll {
		inv.nextPoll = h.clock.Now().Add(time.Duration(resp.PollIntervalSeconds * float64(time.Second)))
	}
}

// roundTrip passes a message through its JSON wire form, so that tests see
// exactly what the manager and the plugin pod would.
func roundTrip[T any](t testing.TB, what string, v T) T {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatalf("plugintest: encode %s: %v", what, err)
	}
	var out T
	if err := json.Unmarshal(b, &out); err != nil {
		t.Fatalf("plugintest: decode %s %s: %v", what, b, err)
	}
	return out
}
