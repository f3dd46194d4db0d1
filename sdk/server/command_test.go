package server_test

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"strings"
	"testing"

	"github.com/bkplugin/bk-plugin-operator/sdk/examples/poller/pollerplugin"
	"github.com/bkplugin/bk-plugin-operator/sdk/server"
)

func TestManifestCommand(t *testing.T) {
	var out, errOut bytes.Buffer
	err := server.Command(context.Background(), pollerplugin.Plugin(),
		[]string{"manifest", "--service", "poller", "--port", "8080", "--namespace", "demo"}, &out, &errOut)
	if err != nil {
		t.Fatalf("Command: %v (%s)", err, errOut.String())
	}
	for _, want := range []string{"kind: PluginVersion", "name: poller-1-0-0", "namespace: demo", "port: 8080", "polls:"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("manifest lacks %q:\n%s", want, out.String())
		}
	}
}

func TestCommandUsageErrors(t *testing.T) {
	for _, args := range [][]string{
		{"manifest"},
		{"manifest", "--service", "a", "--url", "http://a"},
		{"manifest", "--service", "a", "--port", "-1"},
		{"manifest", "--service", "a", "extra"},
		{"serve", "--no-such-flag"},
		{"frobnicate"},
	} {
		var out, errOut bytes.Buffer
		err := server.Command(context.Background(), pollerplugin.Plugin(), args, &out, &errOut)
		if err == nil || errors.Is(err, flag.ErrHelp) {
			t.Errorf("Command(%q) = %v, want a usage error", args, err)
		}
		if out.Len() > 0 {
			t.Errorf("Command(%q) printed %q on a usage error", args, out.String())
		}
	}
}

// serve runs until its context ends; an address that cannot be listened on
// fails at once.
func TestServeCommand(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	var out, errOut bytes.Buffer
	if err := server.Command(ctx, pollerplugin.Plugin(), []string{"serve", "--addr", "127.0.0.1:0", "--shutdown-delay", "0s"}, &out, &errOut); err != nil {
		t.Errorf("serve with a done context = %v", err)
	}
	if err := server.Command(context.Background(), pollerplugin.Plugin(), []string{"--addr", "256.0.0.1:1"}, &out, &errOut); err == nil {
		t.Error("serve on a bad address succeeded")
	}
}
