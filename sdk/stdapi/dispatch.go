package stdapi

import (
	"encoding/json"
	"fmt"
	"strings"
)

// PluginAPIPrefix is the prefix every dispatched URL must start with; the
// Python framework refuses any other with 400.
const PluginAPIPrefix = "/bk_plugin/plugin_api/"

// PluginAPIDispatchRequest is the body of
// POST /plugins/{code}/bk_plugin/plugin_api_dispatch/: the shim forwards it
// to the plugin pod's plugin API (the data sources of a plugin's forms) and
// answers, as envelope data, whatever that API answered — an object or a
// list, hence undecoded.
type PluginAPIDispatchRequest struct {
	// URL is the plugin API's path and query, such as
	// "/bk_plugin/plugin_api/task_list/123".
	URL string `json:"url"`
	// Method is "GET" or "POST" (any case), the only two Python accepts.
	Method string `json:"method"`
	// Username is the user the call is made for; required.
	Username string `json:"username"`
	// Data is sent as the query (GET) or the JSON body (POST); a JSON object.
	Data json.RawMessage `json:"data,omitempty"`
}

// Validate reports what the Python framework would refuse with 400.
func (r PluginAPIDispatchRequest) Validate() error {
	if !strings.HasPrefix(r.URL, PluginAPIPrefix) {
		return fmt.Errorf("url must start with %q, got %q", PluginAPIPrefix, r.URL)
	}
	switch strings.ToLower(r.Method) {
	case "get", "post":
	default:
		return fmt.Errorf("method %q is not supported: only GET and POST", r.Method)
	}
	if r.Username == "" {
		return fmt.Errorf("username is required")
	}
	// Absent data is fine (Python defaults it to {}); present data must be an object.
	if len(r.Data) > 0 {
		if err := checkObject("data", r.Data); err != nil {
			return err
		}
	}
	return nil
}
