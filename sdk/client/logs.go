package client

import (
	"context"
	"fmt"
	"net/http"

	"github.com/bkplugin/bk-plugin-operator/sdk/stdapi"
)

// Logs returns an invocation's log (see stdapi.LogsData.Lines).
func (c *Client) Logs(ctx context.Context, code, traceID string) (*stdapi.LogsData, error) {
	if code == "" || traceID == "" {
		return nil, fmt.Errorf("logs: plugin code and trace id are required")
	}
	var out stdapi.LogsData
	if _, err := c.call(ctx, request{method: http.MethodGet, path: stdapi.LogsPath(code, traceID)}, &out); err != nil {
		return nil, fmt.Errorf("logs of plugin %s trace %s: %w", code, traceID, err)
	}
	return &out, nil
}
