package manifest_test

import (
	"bytes"
	"encoding/json"
	"testing"

	"github.com/bkplugin/bk-plugin-operator/sdk/examples/deployer/deployerplugin"
	"github.com/bkplugin/bk-plugin-operator/sdk/manifest"
	"github.com/bkplugin/bk-plugin-operator/sdk/taskjson"
)

// A version's task.json travels into spec.taskJSON, through YAML, with
// its component attributes, so the controller and the shim enforce what the
// pod enforces.
func TestWriteTaskJSON(t *testing.T) {
	p := deployerplugin.Plugin()
	var buf bytes.Buffer
	if err := manifest.Write(&buf, p, manifest.Options{Service: "deployer"}); err != nil {
		t.Fatal(err)
	}
	pvs := parse(t, buf.String())
	if len(pvs) != 1 || pvs[0].Spec.TaskJSON == nil {
		t.Fatalf("PluginVersions = %+v, want one with a taskJSON", pvs)
	}
	got := pvs[0].Spec.TaskJSON
	if err := taskjson.Check(got); err != nil {
		t.Errorf("taskJSON no longer checks: %v", err)
	}
	info, _ := p.Version("1.0.0")
	if !jsonEqual(t, mustJSON(t, got), mustJSON(t, info.TaskJSON)) {
		t.Errorf("taskJSON = %s, want %s", mustJSON(t, got), mustJSON(t, info.TaskJSON))
	}
	if string(got.Input["env"].Extra["options"].Raw) == "" || got.Input["token"].Extra["inputType"].Raw == nil {
		t.Errorf("component attributes lost: %+v", got.Input)
	}
	if _, err := taskjson.Evaluate(got, []byte(`{"version":"1.0.0","env":"prod","token":"t"}`)); err == nil ||
		err.Error() != "inputs validation error: approver (Approver): required" {
		t.Errorf("the manifest's taskJSON evaluates to %v", err)
	}
}

func mustJSON(t *testing.T, v any) []byte {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return b
}
