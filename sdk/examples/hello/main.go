// Command hello is the hello example plugin (see package helloplugin) as a plugin
// pod: `hello serve` serves it, `hello manifest --service hello` prints its
// PluginVersions.
package main

import (
	"github.com/bkplugin/bk-plugin-operator/sdk/examples/hello/helloplugin"
	"github.com/bkplugin/bk-plugin-operator/sdk/server"
)

func main() { server.Main(helloplugin.Plugin()) }
