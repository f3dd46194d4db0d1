package plugin

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/bkplugin/bk-plugin-operator/sdk/protocol"
)

// Context is what one execute of a version sees: the invocation's identity
// and state, its typed and validated inputs, its storage and outputs, and the
// calls that decide what happens after Execute returns.
//
// It is a context.Context too, cancelled when the execute's request ends;
// pass it to the calls Execute makes. A Context is valid only until Execute
// returns.
type Context[In, Ctx, Out any] struct {
	context.Context

	// TraceID identifies the invocation; it is the same for every execute.
	TraceID string
	// PluginCode and Version name the plugin version being executed.
	PluginCode, Version string
	// State is EMPTY on the first execute, then POLL or CALLBACK.
	State State
	// InvokeCount is 1 on the first execute and grows by one each time;
	// each attempt of a retried invocation starts again at 1.
	InvokeCount int
	// Attempt is 1 on the invocation's first attempt and one more on each
	// retry of a failed one (the invocation's retry policy); every attempt
	// starts from a clean state, so a plugin that must not repeat a side
	// effect can tell a retry by Attempt > 1.
	Attempt int
	// Inputs are the invocation's inputs, validated, with defaults filled in.
	Inputs In
	// ContextInputs are the context inputs the platform passed (the Python
	// framework's context.data), validated, with defaults filled in.
	ContextInputs Ctx
	// Outputs are the outputs so far: set its fields and they are kept,
	// whatever the outcome.
	Outputs Out
	// Storage keeps JSON values between executes.
	Storage Storage
	// Callback is the callback being delivered; set only in state CALLBACK.
	Callback *Callback
	// Log writes the invocation's log: its lines are kept by trace id and
	// served at /bk_plugin/logs/{trace_id}.
	Log *slog.Logger

	st *execState
}

// Callback is a callback delivered to a waiting invocation.
type Callback struct {
	// ID is the ID PrepareCallback returned for it.
	ID string
	// Data is the JSON the third party posted.
	Data json.RawMessage
}

// Decode unmarshals the callback's data into v.
func (c *Callback) Decode(v any) error {
	if len(c.Data) == 0 {
		return fmt.Errorf("callback %s carries no data", c.ID)
	}
	if err := json.Unmarshal(c.Data, v); err != nil {
		return fmt.Errorf("decode the data of callback %s: %w", c.ID, err)
	}
	return nil
}

// Now returns the current time; tests run by plugintest see a fake clock.
func (c *Context[In, Ctx, Out]) Now() time.Time { return c.st.now() }

// WaitPoll asks to be executed again after interval, in state POLL, once
// Execute returns nil. The last of WaitPoll and WaitCallback wins.
func (c *Context[In, Ctx, Out]) WaitPoll(interval time.Duration) {
	c.st.wait = StatePoll
	c.st.pollInterval = max(interval, 0)
}

// WaitCallback asks to be executed again when a callback arrives, in state
// CALLBACK, once Execute returns nil. The wait is bounded only by the
// invocation's own deadline; see WaitCallbackTimeout.
func (c *Context[In, Ctx, Out]) WaitCallback() { c.WaitCallbackTimeout(0) }

// WaitCallbackTimeout is WaitCallback with a bound: when no callback arrives
// within timeout, the invocation fails. Zero means no bound of its own.
func (c *Context[In, Ctx, Out]) WaitCallbackTimeout(timeout time.Duration) {
	c.st.wait = StateCallback
	c.st.callbackTimeout = max(timeout, 0)
}

// PrepareCallback returns a new callback to hand to a third party: it posts
// its result to URL, and Execute runs again in state CALLBACK with
// ctx.Callback.ID equal to ID. Call it as often as needed; each callback is
// delivered once. It fails when the runtime gave this execute no way to sign
// callbacks (no callback key or base URL).
func (c *Context[In, Ctx, Out]) PrepareCallback() (PreparedCallback, error) {
	return c.st.prepareCallback()
}

// errNoCallbacks explains a PrepareCallback that cannot work.
var errNoCallbacks = errors.New("prepare callback: the execute request carries no callback_key or callback_base_url; " +
	"the manager sends them when it is configured with a callback signing key and the shim's public URL")

func (st *execState) prepareCallback() (PreparedCallback, error) {
	if len(st.req.CallbackKey) == 0 || st.req.CallbackBaseURL == "" {
		return PreparedCallback{}, errNoCallbacks
	}
	var b [16]byte
	if _, err := rand.Read(b[:]); err != nil {
		return PreparedCallback{}, fmt.Errorf("prepare callback: generate id: %w", err)
	}
	id := hex.EncodeToString(b[:])
	// Tokens expire (the shim refuses one without an expiry): a third
	// party's callback URL is good for the request's TTL, a day by default.
	ttl := protocol.DefaultCallbackTokenTTL
	if s := st.req.CallbackTokenTTLSeconds; s > 0 && s < protocol.DefaultCallbackTokenTTL.Seconds()*366 {
		ttl = time.Duration(s * float64(time.Second))
	}
	token, err := protocol.SignToken(st.req.CallbackKey, protocol.TokenClaims{TraceID: st.req.TraceID, CallbackID: id,
		ExpiresAt: time.Now().Add(ttl).Unix()})
	if err != nil {
		return PreparedCallback{}, fmt.Errorf("prepare callback: %w", err)
	}
	cb := PreparedCallback{ID: id, URL: st.req.CallbackBaseURL + token + "/"}
	st.callbacks = append(st.callbacks, cb)
	return cb, nil
}
