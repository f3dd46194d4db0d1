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
	// DumpedData is a JSON object as text, merged into Data (its keys win),
	// as the Python framework's serializer does: bk-sops sends its form's
	// fields this way in a multipart body that also carries files.
	DumpedData string `json:"dumped_data,omitempty"`
}

// MergedData returns Data with DumpedData's keys merged in, or an error
// naming the field that is not a JSON object.
func (r PluginAPIDispatchRequest) MergedData() (map[string]json.RawMessage, error) {
	data := map[string]json.RawMessage{}
	if len(r.Data) > 0 && string(r.Data) != "null" {
		if err := json.Unmarshal(r.Data, &data); err != nil {
			return nil, fmt.Errorf("data must be a JSON object: %v", err)
		}
	}
	if r.DumpedData != "" {
		var dumped map[string]json.RawMessage
		if err := json.Unmarshal([]byte(r.DumpedData), &dumped); err != nil || dumped == nil {
			return nil, fmt.Errorf("dumped_data must be a JSON object as text, got %.40q", r.DumpedData)
		}
		for k, v := range dumped {
			data[k] = v
		}
	}
	return data, nil
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
	_, err := r.MergedData()
	return err
}
