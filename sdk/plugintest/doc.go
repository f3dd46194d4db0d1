// Package plugintest runs plugin invocations in-process, through their whole
// life cycle, the way the manager would run them in a cluster: from EMPTY,
// through POLL (on a fake clock, so a test never sleeps) and CALLBACK (with
// callbacks delivered by id or by the signed URL the plugin handed out), to
// SUCCESS or FAIL. Every execute goes through the same code as a plugin pod,
// with requests and answers round-tripped through their JSON wire form.
//
//	h := plugintest.New(t, helloplugin.Plugin(), plugintest.Options{})
//	inv := h.Start("1.0.0", map[string]any{"name": "world"}, nil)
//	inv.AssertState(plugin.StateSuccess)
//	inv.AssertOutputs(map[string]any{"greeting": "Hello, world!"})
//
// It also checks versions against the versioning rules (sdk/compat), so a
// breaking change fails a test before it reaches a cluster:
//
//	plugintest.AssertCompatible(t, helloplugin.Plugin(), "1.0.0", "1.1.0")
//	plugintest.AssertCompatibleWithManifest(t, helloplugin.Plugin(), "deploy/published.yaml")
package plugintest
