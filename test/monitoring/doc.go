// Package monitoring checks that the alerts (config/prometheus) and the
// Grafana dashboard (config/grafana) query only metrics the binaries
// really export: it gathers the names the manager, the shim and the SDK's
// plugin server register, from their real registries in-process, and
// compares every bkplugin_* name in the PromQL against them. It has no
// non-test code.
package monitoring
