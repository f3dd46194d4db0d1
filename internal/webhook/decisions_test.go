package webhook

import (
	"fmt"
	"strings"
	"testing"

	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	"k8s.io/utils/ptr"

	bkv1 "github.com/bkplugin/bk-plugin-operator/api/v1alpha1"
	"github.com/bkplugin/bk-plugin-operator/sdk/compat"
)

func raw(s string) *apiextensionsv1.JSON { return &apiextensionsv1.JSON{Raw: []byte(s)} }

func TestContractChanges(t *testing.T) {
	base := func() bkv1.PluginVersionSpec {
		return bkv1.PluginVersionSpec{
			Plugin: "hello", Version: "1.2.0", Description: "says hello",
			Inputs:   raw(`{"type":"object","properties":{"name":{"type":"string"}}}`),
			Outputs:  raw(`{"type":"object"}`),
			Endpoint: bkv1.PluginEndpoint{URL: ptr.To("http://hello:8080")},
			TaskJSON: &bkv1.TaskDescription{Input: map[string]bkv1.TaskInput{"name": {Type: "vuex-input"}}},
		}
	}
	tests := []struct {
		name   string
		change func(*bkv1.PluginVersionSpec)
		want   []string // changed contract fields
	}{
		{"nothing", func(*bkv1.PluginVersionSpec) {}, nil},
		{"description", func(s *bkv1.PluginVersionSpec) { s.Description = "greets"; s.PluginDescription = "all" }, nil},
		{"operational fields", func(s *bkv1.PluginVersionSpec) {
			s.Endpoint = bkv1.PluginEndpoint{Service: &bkv1.ServiceReference{Name: "hello", Port: 80}}
			s.TimeoutSeconds = ptr.To[int32](60)
			s.RetireGracePeriodSeconds = ptr.To[int64](10)
			s.AllowScopes = []bkv1.AllowScope{{ScopeType: "project", ScopeValues: []string{"*"}}}
			s.Canary = &bkv1.CanarySpec{Weight: 10}
		}, nil},
		{"same schema, other formatting", func(s *bkv1.PluginVersionSpec) {
			s.Inputs = raw(`{ "properties": {"name": {"type": "string"}}, "type": "object" }`)
		}, nil},
		{"inputs", func(s *bkv1.PluginVersionSpec) { s.Inputs = raw(`{"type":"object","required":["name"]}`) }, []string{"spec.inputs"}},
		{"outputs removed", func(s *bkv1.PluginVersionSpec) { s.Outputs = nil }, []string{"spec.outputs"}},
		{"context inputs added", func(s *bkv1.PluginVersionSpec) { s.ContextInputs = raw(`{"type":"object"}`) }, []string{"spec.contextInputs"}},
		{"forms", func(s *bkv1.PluginVersionSpec) { s.Forms = raw(`{"renderform":"x"}`) }, []string{"spec.forms"}},
		{"task.json", func(s *bkv1.PluginVersionSpec) {
			s.TaskJSON = &bkv1.TaskDescription{Input: map[string]bkv1.TaskInput{"name": {Type: "vuex-input", Required: true}}}
		}, []string{"spec.taskJSON"}},
		{"callback mode", func(s *bkv1.PluginVersionSpec) { s.EnablePluginCallback = true }, []string{"spec.enablePluginCallback"}},
		{"several", func(s *bkv1.PluginVersionSpec) { s.Inputs = nil; s.Description = "x"; s.EnablePluginCallback = true },
			[]string{"spec.inputs", "spec.enablePluginCallback"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			old, new := base(), base()
			tc.change(&new)
			errs := contractChanges(&old, &new)
			var got []string
			for _, e := range errs {
				got = append(got, e.Field)
				if !strings.Contains(e.Detail, "immutable") {
					t.Errorf("%s: detail %q does not say the contract is immutable", e.Field, e.Detail)
				}
			}
			if fmt.Sprint(got) != fmt.Sprint(tc.want) {
				t.Errorf("changed fields = %v, want %v", got, tc.want)
			}
		})
	}
}

func TestContractFieldsAreCovered(t *testing.T) {
	// Every field ContractFields names must be one contractChanges checks:
	// change each and see it reported.
	changes := map[string]func(*bkv1.PluginVersionSpec){
		"inputs":               func(s *bkv1.PluginVersionSpec) { s.Inputs = raw(`{"type":"string"}`) },
		"contextInputs":        func(s *bkv1.PluginVersionSpec) { s.ContextInputs = raw(`{"type":"string"}`) },
		"outputs":              func(s *bkv1.PluginVersionSpec) { s.Outputs = raw(`{"type":"string"}`) },
		"forms":                func(s *bkv1.PluginVersionSpec) { s.Forms = raw(`{"a":1}`) },
		"taskJSON":             func(s *bkv1.PluginVersionSpec) { s.TaskJSON = &bkv1.TaskDescription{} },
		"enablePluginCallback": func(s *bkv1.PluginVersionSpec) { s.EnablePluginCallback = true },
	}
	for _, f := range ContractFields {
		change, ok := changes[f]
		if !ok {
			t.Errorf("no change for contract field %s in this test", f)
			continue
		}
		var old, new bkv1.PluginVersionSpec
		change(&new)
		if errs := contractChanges(&old, &new); len(errs) != 1 || errs[0].Field != "spec."+f {
			t.Errorf("changing %s reported %v", f, errs)
		}
	}
}

func TestBreakingErrors(t *testing.T) {
	prev := &bkv1.PluginVersion{Spec: bkv1.PluginVersionSpec{Plugin: "hello", Version: "1.2.0"}}
	report := compat.Report{Breaking: []compat.Finding{
		{Rule: compat.RuleRequiredAdded, Path: "inputs.name", Message: "name is now required"},
		{Rule: compat.RuleRemoved, Path: "outputs.greeting", Message: "greeting is gone"},
	}}
	errs := breakingErrors(prev, report)
	if len(errs) != 2 {
		t.Fatalf("got %d errors, want 2: %v", len(errs), errs)
	}
	for i, want := range []struct{ field, rule string }{{"spec.inputs.name", "required-added"}, {"spec.outputs.greeting", "removed"}} {
		if errs[i].Field != want.field || !strings.HasPrefix(errs[i].Detail, want.rule+": ") || !strings.Contains(errs[i].Detail, "hello 1.2.0") {
			t.Errorf("error %d = %s: %s; want field %s, rule %s, naming hello 1.2.0", i, errs[i].Field, errs[i].Detail, want.field, want.rule)
		}
	}

	var many compat.Report
	for i := range 30 {
		many.Breaking = append(many.Breaking, compat.Finding{Rule: compat.RuleRemoved, Path: fmt.Sprintf("outputs.f%d", i)})
	}
	errs = breakingErrors(prev, many)
	if len(errs) != maxFindingErrors+1 || !strings.Contains(errs[maxFindingErrors].Detail, "and 10 more") {
		t.Errorf("30 findings gave %d errors, last %v; want %d and 'and 10 more'", len(errs), errs[len(errs)-1], maxFindingErrors+1)
	}
}
