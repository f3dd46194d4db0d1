// Command notifier serves the notifier example plugin.
package main

import (
	"github.com/bkplugin/bk-plugin-operator/sdk/examples/notifier/notifierplugin"
	"github.com/bkplugin/bk-plugin-operator/sdk/server"
)

func main() { server.Main(notifierplugin.Plugin()) }
