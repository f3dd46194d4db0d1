package stdapi

import "net/url"

// Route templates of the standard API in gorilla/mux syntax, for the shim's
// router. Each plugin's routes sit under /plugins/{code}, so that a platform
// configured with a Python plugin's base URL (".../bk_plugin/") only needs
// http://<shim>/plugins/<code> as its new base. Trailing slashes follow the
// Python framework exactly: platforms build these URLs by string formatting.
const (
	// PluginsRoute (GET) lists the plugins the shim knows. Not in the Python
	// framework, where the PaaS platform lists plugins.
	PluginsRoute = "/plugins/"
	// PluginPrefixRoute is the prefix of one plugin's routes.
	PluginPrefixRoute = "/plugins/{code}"
	// MetaRoute (GET) answers Meta.
	MetaRoute = PluginPrefixRoute + "/bk_plugin/meta/"
	// DetailRoute (GET) answers Detail; 404 for an unknown version.
	DetailRoute = PluginPrefixRoute + "/bk_plugin/detail/{version}"
	// InvokeRoute (POST) takes an InvokeRequest and answers InvokeData.
	InvokeRoute = PluginPrefixRoute + "/bk_plugin/invoke/{version}"
	// ScheduleRoute (GET) answers ScheduleData.
	ScheduleRoute = PluginPrefixRoute + "/bk_plugin/schedule/{trace_id}"
	// CallbackRoute (POST) takes the callback data and wakes the invocation
	// named by the signed token.
	CallbackRoute = PluginPrefixRoute + "/bk_plugin/callback/{token}/"
	// PluginAPIDispatchRoute (POST) takes a PluginAPIDispatchRequest.
	PluginAPIDispatchRoute = PluginPrefixRoute + "/bk_plugin/plugin_api_dispatch/"
	// LogsRoute (GET) answers LogsData.
	LogsRoute = PluginPrefixRoute + "/bk_plugin/logs/{trace_id}"
)

// Route variable names used in the templates above, for mux.Vars.
const (
	// VarCode is the plugin code.
	VarCode = "code"
	// VarVersion is a version or semver constraint, already unescaped by mux.
	VarVersion = "version"
	// VarTraceID is an invocation's trace id.
	VarTraceID = "trace_id"
	// VarToken is a signed callback token.
	VarToken = "token"
)

// PluginsPath returns the path of the plugin list.
func PluginsPath() string { return PluginsRoute }

// PluginBasePath returns /plugins/{code}: the base URL a platform uses in
// place of a Python plugin's host.
func PluginBasePath(code string) string { return "/plugins/" + url.PathEscape(code) }

// MetaPath returns the meta path of plugin code.
func MetaPath(code string) string { return PluginBasePath(code) + "/bk_plugin/meta/" }

// DetailPath returns the detail path of one version of plugin code.
func DetailPath(code, version string) string {
	return PluginBasePath(code) + "/bk_plugin/detail/" + url.PathEscape(version)
}

// InvokePath returns the invoke path of one version of plugin code. version
// may be a semver constraint such as "^1.2"; it is escaped for the path.
func InvokePath(code, version string) string {
	return PluginBasePath(code) + "/bk_plugin/invoke/" + url.PathEscape(version)
}

// SchedulePath returns the schedule path of one invocation.
func SchedulePath(code, traceID string) string {
	return PluginBasePath(code) + "/bk_plugin/schedule/" + url.PathEscape(traceID)
}

// CallbackPath returns the callback path for a signed callback token.
func CallbackPath(code, token string) string {
	return PluginBasePath(code) + "/bk_plugin/callback/" + url.PathEscape(token) + "/"
}

// PluginAPIDispatchPath returns the plugin API dispatch path of plugin code.
func PluginAPIDispatchPath(code string) string {
	return PluginBasePath(code) + "/bk_plugin/plugin_api_dispatch/"
}

// LogsPath returns the logs path of one invocation.
func LogsPath(code, traceID string) string {
	return PluginBasePath(code) + "/bk_plugin/logs/" + url.PathEscape(traceID)
}
