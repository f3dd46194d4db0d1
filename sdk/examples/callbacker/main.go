// Command callbacker is the callbacker example plugin (see package callbackerplugin) as a plugin
// pod: `callbacker serve` serves it, `callbacker manifest --service callbacker` prints its
// PluginVersions.
package main

import (
	"github.com/bkplugin/bk-plugin-operator/sdk/examples/callbacker/callbackerplugin"
	"github.com/bkplugin/bk-plugin-operator/sdk/server"
)

func main() { server.Main(callbackerplugin.Plugin()) }
