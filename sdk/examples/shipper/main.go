// Command shipper is the shipper example plugin (see package shipperplugin)
// as a plugin pod: `shipper serve` serves it, `shipper manifest --service
// shipper` prints its PluginVersions.
package main

import (
	"github.com/bkplugin/bk-plugin-operator/sdk/examples/shipper/shipperplugin"
	"github.com/bkplugin/bk-plugin-operator/sdk/server"
)

func main() { server.Main(shipperplugin.Plugin()) }
