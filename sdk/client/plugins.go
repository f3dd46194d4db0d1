package client

import (
	"context"
	"fmt"
	"net/http"

	"github.com/bkplugin/bk-plugin-operator/sdk/stdapi"
)

// ListPlugins lists the plugins the shim serves (GET /plugins/).
func (c *Client) ListPlugins(ctx context.Context) (*stdapi.PluginList, error) {
	var out stdapi.PluginList
	if _, err := c.call(ctx, request{method: http.MethodGet, path: stdapi.PluginsPath()}, &out); err != nil {
		return nil, fmt.Errorf("list plugins: %w", err)
	}
	return &out, nil
}

// Meta returns a plugin's meta: its versions, description and framework.
func (c *Client) Meta(ctx context.Context, code string) (*stdapi.Meta, error) {
	if code == "" {
		return nil, fmt.Errorf("meta: plugin code is required")
	}
	var out stdapi.Meta
	if _, err := c.call(ctx, request{method: http.MethodGet, path: stdapi.MetaPath(code)}, &out); err != nil {
		return nil, fmt.Errorf("meta of plugin %s: %w", code, err)
	}
	return &out, nil
}

// Detail returns one version's schemas and forms. An unknown version fails
// with a 404 APIError (see IsNotFound).
func (c *Client) Detail(ctx context.Context, code, version string) (*stdapi.Detail, error) {
	if code == "" || version == "" {
		return nil, fmt.Errorf("detail: plugin code and version are required")
	}
	var out stdapi.Detail
	if _, err := c.call(ctx, request{method: http.MethodGet, path: stdapi.DetailPath(code, version)}, &out); err != nil {
		return nil, fmt.Errorf("detail of plugin %s version %s: %w", code, version, err)
	}
	return &out, nil
}
