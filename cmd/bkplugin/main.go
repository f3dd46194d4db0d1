// Command bkplugin is the command line of bk-plugin-operator: it invokes
// and inspects plugins through the shim's standard API and scaffolds new
// plugin projects. Installed as kubectl-bkplugin on PATH it is also the
// kubectl plugin `kubectl bkplugin`; see docs/cli.md.
package main

import (
	"context"
	"os"
	"os/signal"
	"syscall"

	"github.com/bkplugin/bk-plugin-operator/cmd/bkplugin/internal/cli"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := cli.Main(ctx, os.Args, cli.IO{In: os.Stdin, Out: os.Stdout, Err: os.Stderr, Getenv: os.Getenv})
	stop()
	os.Exit(code)
}
