package taskjson_test

import (
	"encoding/json"
	"testing"

	"github.com/bkplugin/bk-plugin-operator/sdk/schema"
	"github.com/bkplugin/bk-plugin-operator/sdk/taskjson"
)

// Each component gets its JSON type; rules become keywords only where a
// schema can say them exactly.
func TestInputsSchemaProperties(t *testing.T) {
	tests := []struct {
		name, field, want string
	}{
		{"vuex-input", `{"label":"L","desc":"D","type":"vuex-input","default":"x"}`,
			`{"title":"L","description":"D","type":"string","default":"x"}`},
		{"unknown component is a string", `{"type":"cron-timer"}`, `{"type":"string"}`},
		{"atom-checkbox, titled by its text", `{"label":"","type":"atom-checkbox","text":"Rebuild?","default":true}`,
			`{"title":"Rebuild?","type":"boolean","default":true}`},
		{"atom-checkbox-list", `{"type":"atom-checkbox-list","list":[{"id":"php"},{"id":"go"}]}`,
			`{"type":"array","items":{"type":"string","enum":["php","go"]}}`},
		{"required selector", `{"type":"selector","required":true,"options":[{"id":"dev"},{"id":"prod"}]}`,
			`{"type":"string","enum":["dev","prod"]}`},
		{"optional selector may be empty", `{"type":"selector","options":[{"id":"dev"}]}`,
			`{"type":"string","enum":["dev",""]}`},
		{"multiple selector", `{"type":"selector","optionsConf":{"multiple":true},"options":[{"id":"a"}]}`,
			`{"type":"array","items":{"type":"string","enum":["a"]}}`},
		{"remote selector has no enum", `{"type":"selector","optionsConf":{"url":"/x"}}`, `{"type":"string"}`},
		{"select-input takes any value", `{"type":"select-input","options":[{"id":"a"}]}`, `{"type":"string"}`},
		{"multiple devops-select", `{"type":"devops-select","optionsConf":{"multiple":true}}`, `{"type":"array","items":{"type":"string"}}`},
		{"enum-input", `{"type":"enum-input","required":true,"list":[{"value":"php","label":"PHP"},{"value":"go","label":"Go"}]}`,
			`{"type":"string","enum":["php","go"]}`},
		{"parameter", `{"type":"parameter"}`, `{"type":"array"}`},
		{"dynamic-parameter", `{"type":"dynamic-parameter"}`, `{"type":"array"}`},
		{"dynamic-parameter-simple", `{"type":"dynamic-parameter-simple"}`, `{"type":"array"}`},
		{"sensitive", `{"type":"vuex-input","inputType":"password","isSensitive":true}`,
			`{"type":"string","writeOnly":true,"format":"password"}`},
		{"required rules", `{"type":"vuex-input","required":true,"rule":{"min":1,"max":9,"regex":"^\\d+$"}}`,
			`{"type":"string","minLength":1,"maxLength":9,"pattern":"^\\d+$"}`},
		{"several character rules", `{"type":"vuex-input","required":true,"rule":{"alpha_num":true,"regex":"^a"}}`,
			`{"type":"string","allOf":[{"pattern":"^[A-Za-z0-9]+$"},{"pattern":"^a"}]}`},
		{"RE2-only regex is left out", `{"type":"vuex-input","required":true,"rule":{"regex":"(?i)^abc\\z"}}`, `{"type":"string"}`},
		{"optional fields carry no rules", `{"type":"vuex-input","rule":{"min":3,"alpha":true}}`, `{"type":"string"}`},
		{"rely-dependent fields carry no rules", `{"type":"vuex-input","required":true,"rule":{"min":3},"rely":{"expression":[{"key":"other","value":1}]}}`,
			`{"type":"string"}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d := desc(t, `{"input":{"f":`+tt.field+`,"other":{"type":"vuex-input"}}}`)
			var s struct {
				Properties map[string]json.RawMessage `json:"properties"`
			}
			if err := json.Unmarshal(taskjson.InputsSchema(d), &s); err != nil {
				t.Fatal(err)
			}
			if !jsonEqual(t, s.Properties["f"], []byte(tt.want)) {
				t.Errorf("property = %s\nwant       %s", s.Properties["f"], tt.want)
			}
		})
	}
}

func TestInputsSchemaRequiredAndShape(t *testing.T) {
	got := taskjson.InputsSchema(desc(t, deployer))
	var s struct {
		Type        string         `json:"type"`
		Required    []string       `json:"required"`
		Definitions map[string]any `json:"definitions"`
		Properties  map[string]any `json:"properties"`
	}
	if err := json.Unmarshal(got, &s); err != nil {
		t.Fatal(err)
	}
	// approver is required only when env is prod: the schema cannot say so.
	if s.Type != "object" || len(s.Properties) != 5 || s.Definitions == nil ||
		len(s.Required) != 3 || s.Required[0] != "env" || s.Required[1] != "token" || s.Required[2] != "version" {
		t.Errorf("schema = %s", got)
	}
	sch, err := schema.Compile(got)
	if err != nil {
		t.Fatal(err)
	}
	for doc, ok := range map[string]bool{
		`{"version":"1.0.0","env":"dev","token":"t0k3n-t0k3n"}`: true,
		`{"version":"1.0.0","env":"qa","token":"t0k3n-t0k3n"}`:  false,
		`{"version":"1.0","env":"dev","token":"t0k3n-t0k3n"}`:   false,
		`{"version":"1.0.0","env":"dev"}`:                       false,
	} {
		if err := sch.Validate([]byte(doc)); (err == nil) != ok {
			t.Errorf("Validate(%s) = %v, want ok=%v", doc, err, ok)
		}
	}
	if string(taskjson.InputsSchema(nil)) != `{"definitions":{},"properties":{},"required":[],"type":"object"}` {
		t.Errorf("InputsSchema(nil) = %s", taskjson.InputsSchema(nil))
	}
}

func TestOutputsSchema(t *testing.T) {
	got := taskjson.OutputsSchema(desc(t, `{"output":{
		"deploy_id":{"type":"string","description":"ID"},
		"pkg":{"type":"artifact"},
		"report":{"type":"report","description":"Report"},
		"secret":{"type":"string","isSensitive":true}}}`))
	want := `{"type":"object","required":[],"definitions":{},"properties":{
		"deploy_id":{"type":"string","description":"ID"},
		"pkg":{"type":"string"},
		"report":{"type":"string","description":"Report","contentMediaType":"text/html"},
		"secret":{"type":"string","writeOnly":true}}}`
	if !jsonEqual(t, got, []byte(want)) {
		t.Errorf("OutputsSchema = %s", got)
	}
}
