package stdapi

import "strings"

// Routes of a plugin's own APIs, served directly (any method), as the Python
// framework serves bk_plugin/plugin_api/, and in 2.3 openapi/ and private/:
// the shim passes the request to the plugin pod and its answer back as it
// is, with no envelope.
const (
	// VarAPIFamily is "plugin_api", "openapi" or "private".
	VarAPIFamily = "family"
	// VarAPIPath is the rest of the path after the family.
	VarAPIPath = "path"
	// PluginAPIsRoute matches every path of the three families.
	PluginAPIsRoute = PluginPrefixRoute + "/bk_plugin/{" + VarAPIFamily + ":plugin_api|openapi|private}/{" + VarAPIPath + ":.*}"
)

// API families of PluginAPIsRoute, and who may call each: plugin_api needs
// a known user (the gateway's user verification), openapi a known app,
// private both, as the Python framework's gateway resources require.
const (
	APIFamilyPlugin  = "plugin_api"
	APIFamilyOpen    = "openapi"
	APIFamilyPrivate = "private"
)

// PluginAPIPath returns the direct path of a plugin API of plugin code:
// family is one of the APIFamily* constants and path is relative to it,
// such as "task_list/?biz_cc_id=2".
func PluginAPIPath(code, family, path string) string {
	return PluginBasePath(code) + "/bk_plugin/" + family + "/" + strings.TrimPrefix(path, "/")
}
