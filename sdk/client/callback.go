package client

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"

	"github.com/bkplugin/bk-plugin-operator/sdk/stdapi"
)

// Callback posts data to the callback of a plugin's invocation, named by the
// signed token that the plugin's PrepareCallback handed out (POST
// /plugins/{code}/bk_plugin/callback/{token}/). data is marshalled to JSON;
// nil sends {}. A callback that arrives before the invocation waits for it is
// kept by the shim, so an early callback is not an error.
func (c *Client) Callback(ctx context.Context, code, token string, data any) error {
	if code == "" || token == "" {
		return fmt.Errorf("callback: plugin code and token are required")
	}
	if err := c.postCallback(ctx, request{path: stdapi.CallbackPath(code, token)}, data); err != nil {
		return fmt.Errorf("callback of plugin %s: %w", code, err)
	}
	return nil
}

// CallbackURL posts data to a full callback URL, as the plugin handed it to a
// third party. The bearer token, app code and username go with it only when
// the URL is on the shim's own scheme and host, so that a callback URL from
// an untrusted place cannot collect the platform's credentials.
func (c *Client) CallbackURL(ctx context.Context, callbackURL string, data any) error {
	u, err := url.Parse(callbackURL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return fmt.Errorf("callback: %q is not an absolute http or https URL", callbackURL)
	}
	if err := c.postCallback(ctx, request{url: u.String()}, data); err != nil {
		return fmt.Errorf("callback: %w", err)
	}
	return nil
}

func (c *Client) postCallback(ctx context.Context, r request, data any) error {
	if data == nil {
		data = json.RawMessage("{}")
	}
	r.method = http.MethodPost
	r.body = data
	_, err := c.call(ctx, r, nil)
	return err
}
