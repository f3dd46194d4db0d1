package plugin

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/bkplugin/bk-plugin-operator/sdk/protocol"
)

// cancelFunc runs a version's OnCancel hook on the invocation req describes.
type cancelFunc func(ctx context.Context, st *execState, reason string) error

// Cancel runs the OnCancel hook of the version req names, for an invocation
// the platform cancelled or that passed its deadline: the hook sees the
// inputs, context, storage and outputs the last execute left, and stops
// the external job. A version without a hook has nothing to stop: nil.
// Inputs are decoded as they are, without validation: the invocation ends
// FAIL whatever the hook does, and it must get its chance to clean up.
func (p *Plugin) Cancel(ctx context.Context, req *protocol.CancelRequest, opts ExecuteOptions) error {
	e, ok := p.versions[req.PluginVersion]
	if !ok {
		return fmt.Errorf("%w: plugin %s has no version %q", ErrUnknownVersion, p.meta.Code, req.PluginVersion)
	}
	if e.cancel == nil {
		return nil
	}
	storage := Storage{}
	if len(req.Storage) > 0 && string(req.Storage) != "null" {
		if err := json.Unmarshal(req.Storage, &storage); err != nil {
			return badRequest("storage must be a JSON object: %v", err)
		}
	}
	lines := newLineBuffer(opts.MaxLogLines, opts.MaxLogBytes)
	defer lines.close()
	st := &execState{req: &req.ExecuteRequest, storage: storage, logger: newLogger(lines, opts.Logger, &req.ExecuteRequest)}
	return runProtected(ctx, func(ctx context.Context, st *execState, _, _ json.RawMessage) error {
		return e.cancel(ctx, st, req.Reason)
	}, st, nil, nil)
}

// cancel builds the typed Context of a cancel and runs OnCancel.
func (v Version[In, Ctx, Out]) cancel(goctx context.Context, st *execState, reason string) error {
	c := newContext[In, Ctx, Out](goctx, st)
	// Best effort: a hook needs what it stored far more than typed inputs.
	_ = json.Unmarshal(st.req.Inputs, &c.Inputs)
	_ = json.Unmarshal(st.req.Context, &c.ContextInputs)
	if len(st.req.Outputs) > 0 {
		_ = json.Unmarshal(st.req.Outputs, &c.Outputs)
	}
	return v.OnCancel(c, reason)
}
