package deployerplugin_test

import (
	"strings"
	"testing"

	"github.com/bkplugin/bk-plugin-operator/sdk/examples/deployer/deployerplugin"
	"github.com/bkplugin/bk-plugin-operator/sdk/plugin"
	"github.com/bkplugin/bk-plugin-operator/sdk/plugintest"
)

const token = "tok-Zx81-secret"

func TestDeployer(t *testing.T) {
	tests := []struct {
		name   string
		inputs map[string]any
		state  plugin.State
		err    string // the whole error when FAIL
	}{
		{"dev needs no approver", map[string]any{"version": "1.2.3", "env": "dev", "token": token}, plugin.StateSuccess, ""},
		{"prod with an approver", map[string]any{"version": "1.2.3", "env": "prod", "approver": "alice", "token": token}, plugin.StateSuccess, ""},
		{"prod without an approver", map[string]any{"version": "1.2.3", "env": "prod", "token": token}, plugin.StateFail,
			"inputs validation error: approver (Approver): required"},
		{"a bad version", map[string]any{"version": "1.2", "env": "dev", "token": token}, plugin.StateFail,
			`inputs validation error: version (Version): rule regex ^\d+\.\d+\.\d+$ not matched`},
		{"an unknown env", map[string]any{"version": "1.2.3", "env": "qa", "token": token}, plugin.StateFail,
			`inputs validation error: env: must be one of ["dev","prod"]`},
		{"nothing given", map[string]any{}, plugin.StateFail,
			"inputs validation error: env (Environment): required; token (Deploy token): required; version (Version): required"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := plugintest.New(t, deployerplugin.Plugin(), plugintest.Options{})
			inv := h.Start("1.0.0", tt.inputs, nil)
			inv.AssertState(tt.state)
			if inv.InvokeCount() != 1 {
				t.Errorf("InvokeCount = %d, want 1: deployer ends on its first execute", inv.InvokeCount())
			}
			if tt.state == plugin.StateFail && inv.Err() != tt.err {
				t.Errorf("error = %q, want %q", inv.Err(), tt.err)
			}
			if tt.state == plugin.StateSuccess {
				var out deployerplugin.Outputs
				inv.DecodeOutputs(&out)
				if out.DeployID != "deploy-"+inv.TraceID()[:8] || !strings.Contains(out.Report, "Version 1.2.3 to "+tt.inputs["env"].(string)) {
					t.Errorf("outputs = %+v", out)
				}
			}
			for _, where := range append([]string{string(inv.Outputs()), inv.Err()}, inv.Logs()...) {
				if strings.Contains(where, token) {
					t.Errorf("the token leaks: %s", where)
				}
			}
		})
	}
}
