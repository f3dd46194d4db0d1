// Command formapi serves the formapi example plugin.
package main

import (
	"github.com/bkplugin/bk-plugin-operator/sdk/examples/formapi/formapiplugin"
	"github.com/bkplugin/bk-plugin-operator/sdk/server"
)

func main() { server.Main(formapiplugin.Plugin()) }
