// Command deployer is the deployer example plugin (see package
// deployerplugin) as a plugin pod: `deployer serve` serves it, `deployer
// manifest --service deployer` prints its PluginVersions, task.json
// description included.
package main

import (
	"github.com/bkplugin/bk-plugin-operator/sdk/examples/deployer/deployerplugin"
	"github.com/bkplugin/bk-plugin-operator/sdk/server"
)

func main() { server.Main(deployerplugin.Plugin()) }
