package client

import (
	"context"
	"fmt"
	"net/http"

	"github.com/bkplugin/bk-plugin-operator/sdk/stdapi"
)

// Cancel asks the shim to cancel an invocation (POST
// /plugins/{code}/bk_plugin/cancel/{trace_id}, an extension of the standard
// API) and returns the invocation's schedule as the shim answered it. The
// cancel is recorded, not finished: the invocation ends FAIL once the
// manager has told the plugin, so follow it with WaitTerminal. Cancelling
// an invocation that has already ended is answered by the shim as it
// chooses (an APIError, or the terminal schedule).
func (c *Client) Cancel(ctx context.Context, code, traceID string) (*stdapi.ScheduleData, error) {
	if code == "" || traceID == "" {
		return nil, fmt.Errorf("cancel: plugin code and trace id are required")
	}
	var out stdapi.ScheduleData
	answered, err := c.call(ctx, request{method: http.MethodPost, path: stdapi.CancelPath(code, traceID)}, &out)
	if err != nil {
		return nil, fmt.Errorf("cancel plugin %s trace %s: %w", code, traceID, err)
	}
	if out.TraceID == "" {
		out.TraceID = answered
	}
	if out.TraceID == "" {
		out.TraceID = traceID
	}
	return &out, nil
}

// History returns one page of a plugin's invocations, live and archived,
// newest first (GET /plugins/{code}/bk_plugin/invocations, an extension of
// the standard API). Pass the page's NextCursor in q.Cursor for the next
// one; "" means there is none.
func (c *Client) History(ctx context.Context, code string, q stdapi.InvocationsQuery) (*stdapi.InvocationList, error) {
	if code == "" {
		return nil, fmt.Errorf("history: plugin code is required")
	}
	if q.State != 0 && !q.State.Valid() {
		return nil, fmt.Errorf("history of plugin %s: %v is not a state", code, q.State)
	}
	if q.Limit < 0 {
		return nil, fmt.Errorf("history of plugin %s: limit %d is negative", code, q.Limit)
	}
	var out stdapi.InvocationList
	if _, err := c.call(ctx, request{method: http.MethodGet, path: stdapi.InvocationsPath(code, q)}, &out); err != nil {
		return nil, fmt.Errorf("history of plugin %s: %w", code, err)
	}
	return &out, nil
}
