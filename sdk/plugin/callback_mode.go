package plugin

import (
	"encoding/json"
	"fmt"
	"slices"

	"github.com/bkplugin/bk-plugin-operator/sdk/schema"
)

// PluginCallbackInfoKey is the context input a platform passes in the
// finish-callback mode: {"url": ..., "data": {...}}. The operator POSTs
// data, as JSON, to url when an execute after the first ends the
// invocation (the Python framework's plugin_callback_info).
const PluginCallbackInfoKey = "plugin_callback_info"

// pluginCallbackInfoSchema is the schema of PluginCallbackInfoKey: the
// Python framework's PluginCallbackModel, url and data both required. The
// url must be http or https, which is all the operator will POST to.
var pluginCallbackInfoSchema = map[string]any{
	"type":  "object",
	"title": "plugin callback info",
	"properties": map[string]any{
		"url":  map[string]any{"type": "string", "pattern": "^https?://[^\\s]+$", "maxLength": 2048},
		"data": map[string]any{"type": "object"},
	},
	"required": []any{"url", "data"},
}

// withPluginCallbackInfo returns the context inputs schema cin with the
// required plugin_callback_info property a finish-callback version declares,
// so that detail shows it (bk-sops passes only the context keys detail
// lists) and a context without a valid one fails "context validation error".
func withPluginCallbackInfo(cin *schema.Schema) (*schema.Schema, error) {
	var doc map[string]any
	if err := json.Unmarshal(cin.JSON(), &doc); err != nil {
		return nil, fmt.Errorf("decode context inputs schema: %w", err)
	}
	props, _ := doc["properties"].(map[string]any)
	if props == nil {
		props = map[string]any{}
	}
	if _, taken := props[PluginCallbackInfoKey]; taken {
		return nil, fmt.Errorf("the context inputs declare %s themselves; the finish-callback mode declares it", PluginCallbackInfoKey)
	}
	props[PluginCallbackInfoKey] = pluginCallbackInfoSchema
	doc["properties"] = props
	var required []any
	if r, ok := doc["required"].([]any); ok {
		required = r
	}
	if !slices.Contains(required, any(PluginCallbackInfoKey)) {
		required = append(required, PluginCallbackInfoKey)
	}
	doc["required"] = required
	raw, err := json.Marshal(doc)
	if err != nil {
		return nil, fmt.Errorf("encode context inputs schema: %w", err)
	}
	return schema.Compile(raw)
}
