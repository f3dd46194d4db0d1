package client

import (
	"context"
	"fmt"
	"net/http"
	"time"

	"github.com/bkplugin/bk-plugin-operator/sdk/stdapi"
)

// DefaultWaitInterval is WaitTerminal's poll interval when none is given.
const DefaultWaitInterval = time.Second

// Schedule returns an invocation's current state, outputs and times.
func (c *Client) Schedule(ctx context.Context, code, traceID string) (*stdapi.ScheduleData, error) {
	if code == "" || traceID == "" {
		return nil, fmt.Errorf("schedule: plugin code and trace id are required")
	}
	var out stdapi.ScheduleData
	if _, err := c.call(ctx, request{method: http.MethodGet, path: stdapi.SchedulePath(code, traceID)}, &out); err != nil {
		return nil, fmt.Errorf("schedule of plugin %s trace %s: %w", code, traceID, err)
	}
	return &out, nil
}

// WaitTerminal polls Schedule every interval (DefaultWaitInterval when zero
// or less) until the invocation is SUCCESS or FAIL, and returns its last
// schedule. A FAIL is not an error here: the caller reads State and Err.
//
// onChange, when not nil, is called with the first schedule seen and then
// with each one whose state differs from the previous, so that a demo can
// print POLL -> CALLBACK -> SUCCESS as it happens.
//
// A failed Schedule ends the wait with its error (turn on Options.RetryGET
// to ride out a restarting shim). When ctx ends first, the error wraps
// ctx's error and the returned schedule is the last one seen, or nil.
func (c *Client) WaitTerminal(ctx context.Context, code, traceID string, interval time.Duration, onChange func(stdapi.ScheduleData)) (*stdapi.ScheduleData, error) {
	if interval <= 0 {
		interval = DefaultWaitInterval
	}
	var last *stdapi.ScheduleData
	ticker := time.NewTicker(interval)
	defer ticker.Stop()
	for {
		s, err := c.Schedule(ctx, code, traceID)
		if err != nil {
			if ctx.Err() != nil {
				// The context ended mid-call: report it, not the aborted call.
				return last, waitEnded(ctx, code, traceID, last)
			}
			return last, fmt.Errorf("wait for plugin %s trace %s: %w", code, traceID, err)
		}
		if onChange != nil && (last == nil || last.State != s.State) {
			onChange(*s)
		}
		last = s
		if s.State.Terminal() {
			return s, nil
		}
		select {
		case <-ctx.Done():
			return last, waitEnded(ctx, code, traceID, last)
		case <-ticker.C:
		}
	}
}

// waitEnded is WaitTerminal's error when ctx ends, naming the last state seen
// so that the caller knows where the invocation was left.
func waitEnded(ctx context.Context, code, traceID string, last *stdapi.ScheduleData) error {
	if last == nil {
		return fmt.Errorf("wait for plugin %s trace %s: no schedule seen: %w", code, traceID, ctx.Err())
	}
	return fmt.Errorf("wait for plugin %s trace %s: still %s: %w", code, traceID, last.State, ctx.Err())
}
