// Command poller is the poller example plugin (see package pollerplugin) as a plugin
// pod: `poller serve` serves it, `poller manifest --service poller` prints its
// PluginVersions.
package main

import (
	"github.com/bkplugin/bk-plugin-operator/sdk/examples/poller/pollerplugin"
	"github.com/bkplugin/bk-plugin-operator/sdk/server"
)

func main() { server.Main(pollerplugin.Plugin()) }
