package client

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"

	"github.com/bkplugin/bk-plugin-operator/sdk/stdapi"
)

// PluginAPIDispatch calls one of a plugin's own APIs (the data sources of its
// forms) through the shim and returns what that API answered: an object or a
// list, left undecoded. The request is checked first, as the shim would.
func (c *Client) PluginAPIDispatch(ctx context.Context, code string, req stdapi.PluginAPIDispatchRequest) (json.RawMessage, error) {
	if code == "" {
		return nil, fmt.Errorf("plugin api dispatch: plugin code is required")
	}
	if err := req.Validate(); err != nil {
		return nil, fmt.Errorf("plugin api dispatch to plugin %s: %w", code, err)
	}
	var out json.RawMessage
	if _, err := c.call(ctx, request{method: http.MethodPost, path: stdapi.PluginAPIDispatchPath(code), body: req}, &out); err != nil {
		return nil, fmt.Errorf("plugin api dispatch %s %s to plugin %s: %w", req.Method, req.URL, code, err)
	}
	return out, nil
}
