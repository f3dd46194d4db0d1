package shipperplugin_test

import (
	"testing"

	"github.com/bkplugin/bk-plugin-operator/sdk/examples/shipper/shipperplugin"
	"github.com/bkplugin/bk-plugin-operator/sdk/plugin"
	"github.com/bkplugin/bk-plugin-operator/sdk/plugintest"
)

func TestShipper(t *testing.T) {
	to := map[string]any{"city": "Berlin", "country": "DE"}
	tests := []struct {
		name   string
		inputs map[string]any
		state  plugin.State
		want   any // Outputs, or the error's text
	}{
		{"ships with defaults", map[string]any{"to": map[string]any{"city": "Shenzhen"}, "items": []any{map[string]any{"sku": "a"}}},
			plugin.StateSuccess, shipperplugin.Outputs{Label: "standard to Shenzhen, CN: 1 units", Units: 1, Tags: []string{}}},
		{"sums quantities", map[string]any{"to": to, "speed": "express", "tags": []string{"fragile"},
			"items": []any{map[string]any{"sku": "a", "quantity": 2}, map[string]any{"sku": "b", "quantity": 3}}},
			plugin.StateSuccess, shipperplugin.Outputs{Label: "express to Berlin, DE: 5 units", Units: 5, Tags: []string{"fragile"}}},
		{"refuses the broken sku", map[string]any{"to": to, "items": []any{map[string]any{"sku": "broken"}}},
			plugin.StateFail, "cannot ship sku broken"},
		{"the nested city is required", map[string]any{"to": map[string]any{}, "items": []any{map[string]any{"sku": "a"}}},
			plugin.StateFail, "inputs validation error: to.city: required"},
		{"speed is an enum", map[string]any{"to": to, "speed": "teleport", "items": []any{map[string]any{"sku": "a"}}},
			plugin.StateFail, "speed"},
		{"an item's quantity is at least 1", map[string]any{"to": to, "items": []any{map[string]any{"sku": "a", "quantity": 0}}},
			plugin.StateFail, "items[0].quantity"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := plugintest.New(t, shipperplugin.Plugin(), plugintest.Options{})
			inv := h.Start("1.0.0", tt.inputs, nil)
			inv.AssertState(tt.state)
			if tt.state == plugin.StateSuccess {
				inv.AssertOutputs(tt.want)
				return
			}
			inv.AssertError(tt.want.(string))
		})
	}
}
