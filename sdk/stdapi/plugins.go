package stdapi

// PluginList is the data of GET /plugins/. The Python framework has no such
// route (the PaaS platform lists plugins); the shape follows the PaaS
// listing that bk-plugin-client-go reads: {count, results}.
type PluginList struct {
	// Count is len(Results).
	Count int `json:"count"`
	// Results lists the plugins, sorted by code.
	Results []PluginSummary `json:"results"`
}

// PluginSummary is one plugin in a PluginList.
type PluginSummary struct {
	// Code is the plugin's code; the plugin's base URL is /plugins/{code}.
	Code string `json:"code"`
	// Name is a display name; may be "".
	Name string `json:"name,omitempty"`
	// Versions lists the registered versions.
	Versions []string `json:"versions,omitempty"`
}
