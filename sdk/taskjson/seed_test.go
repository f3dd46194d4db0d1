package taskjson_test

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/bkplugin/bk-plugin-operator/sdk/schema"
	"github.com/bkplugin/bk-plugin-operator/sdk/taskjson"
)

// seedCase is one invocation of a seed fixture and what the seed says of it.
type seedCase struct {
	inputs string
	want   string // the error; "" when accepted
	norm   string // the normalized inputs when accepted, "" to skip
}

// seedCases holds, for every file of testdata/seed (every example of seed
// 004 as a description), invocations judged as the seed says.
var seedCases = map[string][]seedCase{
	"task_json_sample.json":             {{`{}`, "", `{}`}, {`{"inputDemo":"示例"}`, "", ""}},
	"vuex_input_password.json":          {{`{"fieldName":"p@ss"}`, "", ""}},
	"atom_checkbox_default.json":        {{`{}`, "", `{"fieldName":true}`}, {`{"fieldName":false}`, "", `{"fieldName":false}`}},
	"selector_options_conf.json":        {{`{"fieldName":"remote-id"}`, "", ""}},
	"selector_options.json":             {{`{"fieldName":"typed-by-hand"}`, "", ""}},
	"enum_input_list.json":              {{`{"fieldName":""}`, "", ""}},
	"time_picker_attributes.json":       {{`{"fieldName":"1559555765000"}`, "", ""}},
	"tips_component.json":               {{`{}`, "", ""}},
	"atom_checkbox_list_component.json": {{`{"fieldName":["php"]}`, "", ""}},
	"atom_ace_editor.json":              {{`{"fieldName":"echo hello"}`, "", ""}},
	"company_staff_input.json":          {{`{"receiver2":"alice;group@example.com"}`, "", ""}},
	"dynamic_parameter.json": {{`{"params":[{"id":"parameterId","values":[{"id":123,"value":"3d029fbe08c011e99792fa163e50f2b5,${abc}"},{"id":1233,"value":"ab"},{"id":1235,"value":"id"}]}]}`, "", ""},
		{`{}`, "", ""}},
	"dynamic_parameter_simple.json": {{`{"input_dynamic_parameter_simple":[{"ip":"8.8.8.8","protocol_port":"443"}]}`, "", ""}},
	"vuex_input_required.json": {
		{`{"fieldName":"1.0.1"}`, "", ""},
		{`{}`, "inputs validation error: fieldName (版本号): required", ""},
		{`{"fieldName":""}`, "inputs validation error: fieldName (版本号): required", ""},
	},
	"user_input.json":              {{`{}`, "", ""}, {`{"fieldName":"alice"}`, "", ""}},
	"atom_checkbox.json":           {{`{"fieldName":true}`, "", ""}},
	"selector_static_options.json": {{`{"fieldName":"video"}`, "", ""}, {`{"fieldName":"website"}`, "", ""}},
	"selector_url_options.json":    {{`{"fieldName":"opt-1"}`, "", ""}},
	"atom_checkbox_list.json":      {{`{"fieldName":["php","python"]}`, "", ""}, {`{"fieldName":[]}`, "", ""}},
	"time_picker.json":             {{`{"fieldName":"2019-06-03"}`, "", ""}},
	"tips.json":                    {{`{}`, "", `{}`}},
	"parameter.json":               {{`{"params":[{"key":"abc","value":"ddd"}]}`, "", ""}},
	"enum_input.json":              {{`{"fieldName_1":"python"}`, "", ""}},
	"rule_alpha_min_max.json": {
		{`{"fieldName":"abcd"}`, "", ""},
		{`{"fieldName":"ab"}`, "inputs validation error: fieldName (字母): rule min: at least 3 characters", ""},
		{`{"fieldName":"abcdefgh"}`, "inputs validation error: fieldName (字母): rule max: at most 7 characters", ""},
		{`{"fieldName":"abc1"}`, "inputs validation error: fieldName (字母): rule alpha: letters only", ""},
	},
	"rule_regex.json": {
		{`{"fieldName":"1a"}`, "", ""},
		{`{"fieldName":"a1"}`, "inputs validation error: fieldName (数字开头): rule regex ^[0-9] not matched", ""},
	},
	// "Show the field when inputField_1 is true and inputField_2 ends with .apk."
	"rely_and.json": {
		{`{"inputField_1":true,"inputField_2":"app.apk"}`, "inputs validation error: fieldName (渠道): required", ""},
		{`{"inputField_1":true,"inputField_2":"app.apk","fieldName":"huawei"}`, "", ""},
		{`{"inputField_1":true,"inputField_2":"app.ipa"}`, "", ""},
		{`{"inputField_1":false,"inputField_2":"app.apk"}`, "", ""},
		{`{"inputField_2":"app.apk"}`, "", ""},
		{`{"inputField_1":"true","inputField_2":"app.apk"}`, "inputs validation error: fieldName (渠道): required", ""},
	},
	"input_groups.json": {
		{`{}`, "", `{"retries":"3"}`},
		{`{"retries":"three"}`, "inputs validation error: retries (重试次数): rule numeric: digits only", ""},
	},
	"output_types.json": {{`{}`, "", `{}`}},
}

// Every example of the seed parses, checks clean, keeps its
// component-specific attributes through a round trip, derives a schema
// that compiles and accepts what Evaluate accepts, and evaluates as the
// seed says.
func TestSeedFixtures(t *testing.T) {
	files, err := filepath.Glob("testdata/seed/*.json")
	if err != nil || len(files) == 0 {
		t.Fatalf("no fixtures: %v", err)
	}
	for _, file := range files {
		name := filepath.Base(file)
		t.Run(strings.TrimSuffix(name, ".json"), func(t *testing.T) {
			raw, err := os.ReadFile(file)
			if err != nil {
				t.Fatal(err)
			}
			d, err := taskjson.Parse(raw)
			if err != nil {
				t.Fatal(err)
			}
			if err := taskjson.Check(d); err != nil {
				t.Fatalf("Check: %v", err)
			}
			assertRoundTrip(t, raw, d)
			inSchema, err := schema.Compile(taskjson.InputsSchema(d))
			if err != nil {
				t.Fatalf("derived inputs schema: %v", err)
			}
			if _, err := schema.Compile(taskjson.OutputsSchema(d)); err != nil {
				t.Fatalf("derived outputs schema: %v", err)
			}
			cases, ok := seedCases[name]
			if !ok || len(cases) == 0 {
				t.Fatalf("no invocation says how %s evaluates; add one to seedCases", name)
			}
			e, err := taskjson.Compile(d)
			if err != nil {
				t.Fatal(err)
			}
			for _, c := range cases {
				norm, err := e.Evaluate(json.RawMessage(c.inputs))
				got := ""
				if err != nil {
					got = err.Error()
				}
				if got != c.want {
					t.Errorf("Evaluate(%s) = %q, want %q", c.inputs, got, c.want)
				}
				if err == nil && c.norm != "" && string(norm) != c.norm {
					t.Errorf("Evaluate(%s) normalized to %s, want %s", c.inputs, norm, c.norm)
				}
				if err == nil {
					if err := inSchema.Validate(norm); err != nil {
						t.Errorf("derived schema refuses %s, which Evaluate accepts: %v", norm, err)
					}
				}
			}
		})
	}
	for name := range seedCases {
		if _, err := os.Stat(filepath.Join("testdata/seed", name)); err != nil {
			t.Errorf("seedCases names %s, which is not a fixture", name)
		}
	}
}

// assertRoundTrip checks that the description, written back, holds the
// fixture's inputGroups, input and output as written: no common attribute
// lost, no component attribute (options, list, param, ...) dropped. Empty
// strings and false are left out of both sides: the typed attributes omit
// them when empty.
func assertRoundTrip(t *testing.T, raw []byte, d any) {
	t.Helper()
	var orig map[string]json.RawMessage
	if err := json.Unmarshal(raw, &orig); err != nil {
		t.Fatal(err)
	}
	back, err := json.Marshal(d)
	if err != nil {
		t.Fatal(err)
	}
	var got map[string]json.RawMessage
	if err := json.Unmarshal(back, &got); err != nil {
		t.Fatal(err)
	}
	for _, k := range []string{"inputGroups", "input", "output"} {
		if orig[k] == nil && got[k] == nil {
			continue
		}
		if orig[k] == nil || got[k] == nil || !jsonEqual(t, dropZero(t, orig[k]), dropZero(t, got[k])) {
			t.Errorf("%s written back as %s, want %s", k, got[k], orig[k])
		}
	}
}

func dropZero(t *testing.T, raw []byte) []byte {
	t.Helper()
	var v any
	if err := json.Unmarshal(raw, &v); err != nil {
		t.Fatal(err)
	}
	var walk func(v any) any
	walk = func(v any) any {
		switch v := v.(type) {
		case map[string]any:
			for k, e := range v {
				if e == "" || e == false {
					delete(v, k)
					continue
				}
				v[k] = walk(e)
			}
		case []any:
			for i := range v {
				v[i] = walk(v[i])
			}
		}
		return v
	}
	b, _ := json.Marshal(walk(v))
	return b
}
