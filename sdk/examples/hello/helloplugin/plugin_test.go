package helloplugin_test

import (
	"testing"

	"github.com/bkplugin/bk-plugin-operator/sdk/examples/hello/helloplugin"
	"github.com/bkplugin/bk-plugin-operator/sdk/plugin"
	"github.com/bkplugin/bk-plugin-operator/sdk/plugintest"
)

func TestHello(t *testing.T) {
	tests := []struct {
		name    string
		version string
		inputs  any
		state   plugin.State
		want    string // greeting, or the error's text
	}{
		{"1.0.0 greets", "1.0.0", map[string]any{"name": "world"}, plugin.StateSuccess, "Hello, world!"},
		{"1.0.0 ignores punctuation", "1.0.0", map[string]any{"name": "world", "punctuation": "?"}, plugin.StateSuccess, "Hello, world!"},
		{"1.1.0 defaults to !", "1.1.0", map[string]any{"name": "world"}, plugin.StateSuccess, "Hello, world!"},
		{"1.1.0 uses punctuation", "1.1.0", map[string]any{"name": "world", "punctuation": "."}, plugin.StateSuccess, "Hello, world."},
		{"name is required", "1.0.0", map[string]any{}, plugin.StateFail, "inputs validation error: name: required"},
		{"name must be a string", "1.1.0", map[string]any{"name": 1, "punctuation": 2}, plugin.StateFail,
			"inputs validation error: name: must be string, got number; punctuation: must be string, got number"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := plugintest.New(t, helloplugin.Plugin(), plugintest.Options{})
			inv := h.Start(tt.version, tt.inputs, nil)
			inv.AssertState(tt.state)
			if inv.InvokeCount() != 1 {
				t.Errorf("InvokeCount = %d, want 1: hello ends on its first execute", inv.InvokeCount())
			}
			if tt.state == plugin.StateSuccess {
				inv.AssertOutputs(helloplugin.Outputs{Greeting: tt.want})
			} else if inv.Err() != tt.want {
				t.Errorf("error = %q, want %q", inv.Err(), tt.want)
			}
		})
	}
}
