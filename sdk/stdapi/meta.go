package stdapi

import "encoding/json"

// Meta is the data of GET /plugins/{code}/bk_plugin/meta/.
type Meta struct {
	// Code is the plugin's code, such as "sops-exec".
	Code string `json:"code"`
	// Description describes the plugin (bk_plugin/meta.py's description).
	Description string `json:"description"`
	// Versions lists every registered version, newest first: bk-sops takes
	// versions[0] as the latest, as the Python framework sorts them.
	Versions []string `json:"versions"`
	// Language is the plugin's implementation language; "go" for plugins
	// written with this SDK ("python" in the Python framework).
	Language string `json:"language"`
	// FrameworkVersion is the version of the plugin framework (the SDK).
	FrameworkVersion string `json:"framework_version"`
	// RuntimeVersion is the version of the runtime serving the plugin; the
	// Python framework may answer null, which decodes to "".
	RuntimeVersion string `json:"runtime_version"`
	// AllowScope maps a calling app code to the scope it may invoke with.
	// Like the Python framework's, it is always present: {} when the plugin
	// declares none (producers set an empty map; AllowScopeOrEmpty).
	AllowScope map[string]AllowedScope `json:"allow_scope"`
}

// AllowedScope is one entry of allow_scope: calls from the app pass only with
// the Bkplugin-Scope-Type header equal to Type and Bkplugin-Scope-Value one
// of Value.
type AllowedScope struct {
	// Type is the required scope type, such as "project".
	Type string `json:"type"`
	// Value lists the allowed scope values.
	Value []string `json:"value"`
}

// EmptySchema is the schema the Python framework answers for a model a plugin
// version does not declare (no Inputs, Outputs or ContextInputs).
var EmptySchema = json.RawMessage(`{"type":"object","properties":{},"required":[],"definitions":{}}`)

// Detail is the data of GET /plugins/{code}/bk_plugin/detail/{version}.
type Detail struct {
	// Version is the plugin version, such as "1.0.0".
	Version string `json:"version"`
	// Desc describes this version.
	Desc string `json:"desc"`
	// Inputs is the JSON Schema of the inputs
	// ({type, properties, required, definitions}).
	Inputs json.RawMessage `json:"inputs"`
	// ContextInputs is the JSON Schema of the context inputs.
	ContextInputs json.RawMessage `json:"context_inputs"`
	// Outputs is the JSON Schema of the outputs.
	Outputs json.RawMessage `json:"outputs"`
	// Forms holds the version's front-end forms.
	Forms Forms `json:"forms"`
	// EnablePluginCallback tells whether the version runs in the
	// finish-callback mode: a platform then passes plugin_callback_info
	// {url, data} in the invoke context and is POSTed data when the
	// invocation ends, instead of polling. Always present, as in the Python
	// framework.
	EnablePluginCallback bool `json:"enable_plugin_callback"`
	// TaskJSON is the version's BK-CI task.json description ({inputGroups,
	// input, output}), beside the JSON Schemas derived from it; absent when
	// the version has none.
	TaskJSON json.RawMessage `json:"task_json,omitempty"`
}

// Forms holds the forms a platform renders for a plugin version.
type Forms struct {
	// Renderform is the bk_plugin/forms/{version}/form.js content; "" when
	// the version has no form.
	Renderform string `json:"renderform"`
}

// AllowScopeOrEmpty returns m, or an empty map when m is nil, so that meta's
// allow_scope marshals as {} and not null.
func AllowScopeOrEmpty(m map[string]AllowedScope) map[string]AllowedScope {
	if m == nil {
		return map[string]AllowedScope{}
	}
	return m
}
