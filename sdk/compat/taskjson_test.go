package compat_test

import (
	"testing"

	"github.com/bkplugin/bk-plugin-operator/api/v1alpha1"
	"github.com/bkplugin/bk-plugin-operator/sdk/compat"
	"github.com/bkplugin/bk-plugin-operator/sdk/taskjson"
)

// task parses and checks a task.json, as a plugin embedding one does.
func task(t *testing.T, s string) *v1alpha1.TaskDescription {
	t.Helper()
	d, err := taskjson.Parse([]byte(s))
	if err != nil {
		t.Fatalf("Parse: %v", err)
	}
	if err := taskjson.Check(d); err != nil {
		t.Fatalf("Check %s: %v", s, err)
	}
	return d
}

// in is a task.json with the given input fields (a JSON object body).
func in(fields string) string { return `{"input":{` + fields + `}}` }

func TestTaskJSON(t *testing.T) {
	const (
		name     = `"name":{"type":"vuex-input","label":"Name"}`
		nameReq  = `"name":{"type":"vuex-input","required":true}`
		nameDef  = `"name":{"type":"vuex-input","required":true,"default":"x"}`
		relyA    = `"rely":{"operation":"AND","expression":[{"key":"mode","value":"a"}]}`
		relyAB   = `"rely":{"operation":"AND","expression":[{"key":"mode","value":"a"},{"key":"on","value":true}]}`
		relyOrA  = `"rely":{"operation":"OR","expression":[{"key":"mode","value":"a"}]}`
		relyOrAB = `"rely":{"operation":"OR","expression":[{"key":"mode","value":"a"},{"key":"mode","value":"b"}]}`
		mode     = `"mode":{"type":"vuex-input"},"on":{"type":"atom-checkbox"}`
		selAB    = `"pick":{"type":"selector","options":[{"id":"a","name":"A"},{"id":"b","name":"B"}]}`
		selA     = `"pick":{"type":"selector","options":[{"id":"a","name":"A"}]}`
		selInAB  = `"pick":{"type":"select-input","options":[{"id":"a","name":"A"},{"id":"b","name":"B"}]}`
		selInA   = `"pick":{"type":"select-input","options":[{"id":"a","name":"A"}]}`
		selMulti = `"pick":{"type":"selector","optionsConf":{"multiple":true},"options":[{"id":"a","name":"A"},{"id":"b","name":"B"}]}`
		listAB   = `"langs":{"type":"atom-checkbox-list","list":[{"id":"php","name":"PHP"},{"id":"go","name":"Go"}]}`
		listA    = `"langs":{"type":"atom-checkbox-list","list":[{"id":"php","name":"PHP"}]}`
		enumAB   = `"lang":{"type":"enum-input","list":[{"label":"PHP","value":"php"},{"label":"Go","value":"go"}]}`
		enumA    = `"lang":{"type":"enum-input","list":[{"label":"PHP","value":"php"}]}`
	)
	for _, tc := range []struct {
		name     string
		old, new string
		want     []string
		notices  []string
	}{
		{"unchanged", in(nameReq), in(nameReq), nil, []string{}},
		{"new required field", in(name), in(name + `,"age":{"type":"vuex-input","required":true}`),
			[]string{"required-added taskJSON.input.age"}, []string{}},
		{"new required field with a default", in(name), in(name + `,"age":{"type":"vuex-input","required":true,"default":"1"}`),
			nil, []string{"added taskJSON.input.age"}},
		{"new required field behind a rely", in(mode), in(mode + `,"age":{"type":"vuex-input","required":true,` + relyA + `}`),
			[]string{"rely-required taskJSON.input.age"}, []string{}},
		{"optional made required", in(name), in(nameReq),
			[]string{"required-added taskJSON.input.name.required"}, []string{}},
		{"required made optional", in(nameReq), in(name),
			nil, []string{"loosened taskJSON.input.name.required"}},
		{"field removed", in(name + `,` + mode), in(mode),
			[]string{"removed taskJSON.input.name"}, []string{}},
		{"component changes the value's kind", in(name), in(`"name":{"type":"atom-checkbox"}`),
			[]string{"type-changed taskJSON.input.name.type"}, []string{}},
		{"selector made multiple", in(selAB), in(selMulti),
			[]string{"type-changed taskJSON.input.pick.type"}, []string{}},
		{"component changes, kind kept", in(name), in(`"name":{"type":"vuex-textarea"}`),
			nil, []string{"component-changed taskJSON.input.name.type"}},
		{"rules added", in(name), in(`"name":{"type":"vuex-input","rule":{"alpha":true,"alpha_num":true,"min":2,"max":9,"regex":"^a"}}`),
			[]string{
				"task-rule-tightened taskJSON.input.name.rule.alpha",
				"task-rule-tightened taskJSON.input.name.rule.alpha_num",
				"task-rule-tightened taskJSON.input.name.rule.max",
				"task-rule-tightened taskJSON.input.name.rule.min",
				"task-rule-tightened taskJSON.input.name.rule.regex",
			}, []string{}},
		{"rule bounds tightened", in(`"name":{"type":"vuex-input","rule":{"numeric":true,"min":2,"max":9}}`),
			in(`"name":{"type":"vuex-input","rule":{"numeric":true,"alpha_dash":true,"min":3,"max":8}}`),
			[]string{
				"task-rule-tightened taskJSON.input.name.rule.alpha_dash",
				"task-rule-tightened taskJSON.input.name.rule.max",
				"task-rule-tightened taskJSON.input.name.rule.min",
			}, []string{}},
		{"rules loosened", in(`"name":{"type":"vuex-input","rule":{"numeric":true,"min":2,"max":9,"regex":"^1"}}`),
			in(`"name":{"type":"vuex-input","rule":{"min":1,"max":10}}`),
			nil, []string{
				"loosened taskJSON.input.name.rule.max",
				"loosened taskJSON.input.name.rule.min",
				"loosened taskJSON.input.name.rule.numeric",
				"loosened taskJSON.input.name.rule.regex",
			}},
		{"rule regex changed", in(`"name":{"type":"vuex-input","rule":{"regex":"^a"}}`), in(`"name":{"type":"vuex-input","rule":{"regex":"^b"}}`),
			[]string{"task-rule-tightened taskJSON.input.name.rule.regex"}, []string{}},
		{"selector option removed", in(selAB), in(selA),
			[]string{"option-removed taskJSON.input.pick.options"}, []string{}},
		{"selector option added", in(selA), in(selAB), nil, []string{}},
		{"select-input option removed", in(selInAB), in(selInA),
			nil, []string{"loosened taskJSON.input.pick.options"}},
		{"checkbox list option removed", in(listAB), in(listA),
			[]string{"option-removed taskJSON.input.langs.list"}, []string{}},
		{"enum-input value removed", in(enumAB), in(enumA),
			[]string{"option-removed taskJSON.input.lang.list"}, []string{}},
		{"default that made a required field optional removed", in(nameDef), in(nameReq),
			[]string{"default-removed taskJSON.input.name.default"}, []string{}},
		{"default of an optional field removed", in(`"name":{"type":"vuex-input","default":"x"}`), in(name),
			[]string{"default-removed taskJSON.input.name.default"}, []string{}},
		{"default changed", in(nameDef), in(`"name":{"type":"vuex-input","required":true,"default":"y"}`),
			nil, []string{"default-changed taskJSON.input.name.default"}},
		{"optional made required behind a rely", in(mode + `,"name":{"type":"vuex-input",` + relyA + `}`),
			in(mode + `,"name":{"type":"vuex-input","required":true,` + relyA + `}`),
			[]string{"rely-required taskJSON.input.name.required"}, []string{}},
		{"rely removed from a required field", in(mode + `,"name":{"type":"vuex-input","required":true,` + relyA + `}`),
			in(mode + `,"name":{"type":"vuex-input","required":true}`),
			[]string{"required-added taskJSON.input.name.rely"}, []string{}},
		{"rely OR gained an expression", in(mode + `,"name":{"type":"vuex-input","required":true,` + relyOrA + `}`),
			in(mode + `,"name":{"type":"vuex-input","required":true,` + relyOrAB + `}`),
			[]string{"rely-required taskJSON.input.name.rely"}, []string{}},
		{"rely OR lost an expression", in(mode + `,"name":{"type":"vuex-input","required":true,` + relyOrAB + `}`),
			in(mode + `,"name":{"type":"vuex-input","required":true,` + relyOrA + `}`), nil, []string{}},
		{"rely AND gained an expression", in(mode + `,"name":{"type":"vuex-input","required":true,` + relyA + `}`),
			in(mode + `,"name":{"type":"vuex-input","required":true,` + relyAB + `}`), nil, []string{}},
		{"rely AND lost an expression", in(mode + `,"name":{"type":"vuex-input","required":true,` + relyAB + `}`),
			in(mode + `,"name":{"type":"vuex-input","required":true,` + relyA + `}`),
			[]string{"rely-required taskJSON.input.name.rely"}, []string{}},
		{"rely operation changed", in(mode + `,"name":{"type":"vuex-input","required":true,` + relyA + `}`),
			in(mode + `,"name":{"type":"vuex-input","required":true,` + relyOrA + `}`),
			[]string{"rely-required taskJSON.input.name.rely"}, []string{}},
		{"rely changed on an optional field", in(mode + `,"name":{"type":"vuex-input",` + relyA + `}`),
			in(mode + `,"name":{"type":"vuex-input",` + relyOrAB + `}`), nil, []string{}},
		{"output removed, retyped, added",
			`{"output":{"a":{"type":"string"},"b":{"type":"artifact"}}}`,
			`{"output":{"b":{"type":"report"},"c":{"type":"string"}}}`,
			[]string{"removed taskJSON.output.a", "type-changed taskJSON.output.b.type"},
			[]string{"added taskJSON.output.c"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := compat.CompareTaskJSON(task(t, tc.old), task(t, tc.new))
			checkReport(t, r, tc.want, tc.notices)
		})
	}
}

func TestTaskJSONPresence(t *testing.T) {
	d := task(t, in(`"name":{"type":"vuex-input","required":true}`))
	checkReport(t, compat.CompareTaskJSON(nil, nil), nil, []string{})
	checkReport(t, compat.CompareTaskJSON(nil, d), nil, []string{"added taskJSON"})
	checkReport(t, compat.CompareTaskJSON(d, nil), []string{"removed taskJSON"}, []string{})
}

// TestTaskJSONWithDerivedSchemas compares two versions as the SDK builds
// them from task.json: the derived inputs schema and the description both
// report the new required field, each in its own section.
func TestTaskJSONWithDerivedSchemas(t *testing.T) {
	old := task(t, in(`"name":{"type":"vuex-input","required":true}`))
	new := task(t, in(`"name":{"type":"vuex-input","required":true},"env":{"type":"selector","required":true,"options":[{"id":"prod","name":"Prod"}]}`))
	r, err := compat.Compare(
		compat.Version{Inputs: taskjson.InputsSchema(old), Outputs: taskjson.OutputsSchema(old), TaskJSON: old},
		compat.Version{Inputs: taskjson.InputsSchema(new), Outputs: taskjson.OutputsSchema(new), TaskJSON: new},
	)
	if err != nil {
		t.Fatal(err)
	}
	checkReport(t, r, []string{"required-added inputs.env", "required-added taskJSON.input.env"}, nil)
}
