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

// mypl manifest --image reg/mypl:1.2.0 | kubectl apply -f - is the whole
// registration: a PluginServer named after the plugin and its versions.
func TestManifestCommandImage(t *testing.T) {
	var out, errOut bytes.Buffer
	err := server.Command(context.Background(), pollerplugin.Plugin(),
		[]string{"manifest", "--image", "reg.example.com/poller:1.2.0"}, &out, &errOut)
	if err != nil {
		t.Fatalf("Command: %v (%s)", err, errOut.String())
	}
	s := out.String()
	for _, want := range []string{"kind: PluginServer", "image: reg.example.com/poller:1.2.0", "kind: PluginVersion", "server:\n      name: poller"} {
		if !strings.Contains(s, want) {
			t.Errorf("manifest lacks %q:\n%s", want, s)
		}
	}
	if strings.Index(s, "kind: PluginServer") > strings.Index(s, "kind: PluginVersion") {
		t.Error("the server comes after the versions that name it")
	}
}

func TestManifestCommandImageUsageErrors(t *testing.T) {
	for _, args := range [][]string{
		{"manifest", "--image", "img:1", "--service", "a"},
		{"manifest", "--image", "img:1", "--port", "8080"},
		{"manifest", "--server", "a", "--url", "http://a"},
		{"manifest", "--image", "img:1", "--check-against", "x.yaml"},
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
