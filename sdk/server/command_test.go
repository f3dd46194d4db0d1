package server_test

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/bkplugin/bk-plugin-operator/sdk/examples/poller/pollerplugin"
	"github.com/bkplugin/bk-plugin-operator/sdk/manifest"
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
		{"serve", "--addr", "127.0.0.1:8080", "--pprof-addr", "127.0.0.1:8080"},
		{"serve", "--addr", ":8080", "--pprof-addr", "0.0.0.0:8080"},
		{"serve", "--pprof-addr", "no-port"},
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

// manifest --check-against prints the comparison and fails with a typed
// error (exit status 1 from Main) when a version breaks callers.
func TestManifestCheckAgainst(t *testing.T) {
	dir := t.TempDir()
	var pub bytes.Buffer
	if err := server.Command(context.Background(), pollerplugin.Plugin(), []string{"manifest", "--service", "poller"}, &pub, io.Discard); err != nil {
		t.Fatal(err)
	}
	same := filepath.Join(dir, "same.yaml")
	if err := os.WriteFile(same, pub.Bytes(), 0o600); err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	if err := server.Command(context.Background(), pollerplugin.Plugin(), []string{"manifest", "--check-against", same}, &out, io.Discard); err != nil {
		t.Errorf("check against its own manifest = %v\n%s", err, out.String())
	}
	if !strings.Contains(out.String(), "poller 1.0.0 against 1.0.0 (poller-1-0-0): compatible") {
		t.Errorf("report:\n%s", out.String())
	}

	// A published poller whose inputs were looser than the code's: the
	// code's version tightens them.
	loose := strings.Replace(pub.String(), "minimum: 0", "minimum: -5", 1)
	if loose == pub.String() {
		t.Fatalf("poller manifest has no minimum to loosen:\n%s", pub.String())
	}
	looser := filepath.Join(dir, "loose.yaml")
	if err := os.WriteFile(looser, []byte(loose), 0o600); err != nil {
		t.Fatal(err)
	}
	out.Reset()
	err := server.Command(context.Background(), pollerplugin.Plugin(), []string{"manifest", "--check-against", looser}, &out, io.Discard)
	var inc *manifest.IncompatibleError
	if !errors.As(err, &inc) {
		t.Fatalf("check against a looser published version = %v, want an IncompatibleError\n%s", err, out.String())
	}
	if !strings.Contains(out.String(), "BREAKING inputs.") || !strings.Contains(out.String(), "constraint-tightened: minimum raised from -5 to 0") {
		t.Errorf("report:\n%s", out.String())
	}

	for _, args := range [][]string{
		{"manifest", "--check-against", same, "--service", "poller"},
		{"manifest", "--check-against", filepath.Join(dir, "missing.yaml")},
		{"manifest", "--check-against", same, "--versions", "9.9.9"},
	} {
		if err := server.Command(context.Background(), pollerplugin.Plugin(), args, io.Discard, io.Discard); err == nil {
			t.Errorf("Command(%q) succeeded", args)
		}
	}
}
