// Package server serves a plugin as a plugin pod: the execute route of the
// plugin pod protocol (see package protocol and docs/protocol.md), the
// standard meta, detail, plugin_api and logs routes, health and readiness
// probes and Prometheus metrics.
//
// A plugin's main function is one call:
//
//	func main() { server.Main(helloplugin.Plugin()) }
//
// which serves (`hello serve --addr :8080`, the default) or prints the
// plugin's PluginVersion manifests (`hello manifest --service hello --port 80`).
// Tests serve a plugin with New(p, Options{}) as an http.Handler.
//
// In a cluster, give the pod the manager's execute token
// (Options.ExecuteTokenFile, `serve --execute-token-file`, env
// BKPLUGIN_EXECUTE_TOKEN_FILE): executes without it are refused, so that
// only the manager, after the shim's checks, runs the plugin.
package server
