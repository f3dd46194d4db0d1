package compat_test

import (
	"encoding/json"
	"testing"

	"github.com/bkplugin/bk-plugin-operator/sdk/compat"
)

// Old and new input types of the table below. Each pair differs in what
// its case is about; the SDK turns them into schemas with $ref'd
// definitions, defaults and required lists, as a plugin version stores.
type (
	nameOnly struct {
		Name string `json:"name"`
	}
	nameAge struct {
		Name string `json:"name"`
		Age  int    `json:"age"`
	}
	nameOptAge struct {
		Name string `json:"name"`
		Age  int    `json:"age,omitempty"`
	}
	fullName struct {
		FullName string `json:"full_name"`
	}
	countInt struct {
		Count int `json:"count"`
	}
	countFloat struct {
		Count float64 `json:"count"`
	}
	countString struct {
		Count string `json:"count"`
	}
	modeFastSlow struct {
		Mode string `json:"mode" jsonschema:"enum=fast,enum=slow"`
	}
	modeFast struct {
		Mode string `json:"mode" jsonschema:"enum=fast"`
	}
	modeFree struct {
		Mode string `json:"mode"`
	}
	modeFastSlowTurbo struct {
		Mode string `json:"mode" jsonschema:"enum=fast,enum=slow,enum=turbo"`
	}
	ipFree struct {
		IP string `json:"ip"`
	}
	ipDigits struct {
		IP string `json:"ip" jsonschema:"pattern=^[0-9.]+$"`
	}
	ipV4 struct {
		IP string `json:"ip" jsonschema:"pattern=^[0-9]{1\\,3}(\\.[0-9]{1\\,3}){3}$"`
	}
	pollsLoose struct {
		Polls int      `json:"polls" jsonschema:"minimum=0,maximum=10"`
		Tag   string   `json:"tag" jsonschema:"minLength=1,maxLength=64"`
		Hosts []string `json:"hosts" jsonschema:"minItems=1,maxItems=10"`
	}
	pollsTight struct {
		Polls int      `json:"polls" jsonschema:"minimum=1,maximum=5"`
		Tag   string   `json:"tag" jsonschema:"minLength=2,maxLength=32"`
		Hosts []string `json:"hosts" jsonschema:"minItems=2,maxItems=5"`
	}
	pollsLooser struct {
		Polls int      `json:"polls" jsonschema:"maximum=20"`
		Tag   string   `json:"tag" jsonschema:"maxLength=128"`
		Hosts []string `json:"hosts"`
	}
	pollsDefault struct {
		Polls int `json:"polls" jsonschema:"default=3"`
	}
	pollsDefault5 struct {
		Polls int `json:"polls" jsonschema:"default=5"`
	}
	pollsNoDefault struct {
		Polls int `json:"polls"`
	}
	pollsOptDefault struct {
		Polls int `json:"polls,omitempty" jsonschema:"default=3"`
	}
	pollsOptNoDefault struct {
		Polls int `json:"polls,omitempty"`
	}

	optionsV1 struct {
		Name  string `json:"name"`
		Value string `json:"value,omitempty"`
	}
	optionsV2 struct {
		Name  string `json:"name"`
		Value string `json:"value"`
		Level int    `json:"level"`
	}
	optionsV3 struct {
		Name  int    `json:"name"`
		Value string `json:"value,omitempty"`
		Extra string `json:"extra,omitempty"`
	}
	withOptionsV1 struct {
		Options optionsV1 `json:"options"`
	}
	withOptionsV2 struct {
		Options optionsV2 `json:"options"`
	}
	withOptionsV3 struct {
		Options optionsV3 `json:"options"`
	}
	hostV1 struct {
		IP   string `json:"ip"`
		Port int    `json:"port,omitempty"`
	}
	hostV2 struct {
		IP string `json:"ip" jsonschema:"pattern=^[0-9.]+$"`
	}
	hostsV1 struct {
		Hosts []hostV1 `json:"hosts"`
	}
	hostsV2 struct {
		Hosts []hostV2 `json:"hosts"`
	}
	nodeV1 struct {
		Name     string   `json:"name"`
		Children []nodeV1 `json:"children,omitempty"`
	}
	nodeV2 struct {
		Name     string   `json:"name" jsonschema:"minLength=1"`
		Children []nodeV2 `json:"children,omitempty"`
	}
	// A recursive type is compared below the root: the SDK expands the
	// root struct, so a root that refers to itself has no definition.
	treeV1 struct {
		Root nodeV1 `json:"root"`
	}
	treeV2 struct {
		Root nodeV2 `json:"root"`
	}
)

// TestGeneratedInputs runs every input rule on schemas the SDK generates.
func TestGeneratedInputs(t *testing.T) {
	for _, tc := range []struct {
		name     string
		old, new json.RawMessage
		want     []string
		notices  []string
	}{
		{"unchanged", gen[nameAge](t), gen[nameAge](t), nil, []string{}},
		{"new required input", gen[nameOnly](t), gen[nameAge](t),
			[]string{"required-added inputs.age"}, []string{}},
		{"new optional input", gen[nameOnly](t), gen[nameOptAge](t),
			nil, []string{"added inputs.age"}},
		{"optional made required", gen[nameOptAge](t), gen[nameAge](t),
			[]string{"required-added inputs.age"}, []string{}},
		{"required made optional", gen[nameAge](t), gen[nameOptAge](t),
			nil, []string{"loosened inputs.age"}},
		{"optional input removed", gen[nameOptAge](t), gen[nameOnly](t),
			[]string{"removed inputs.age"}, []string{}},
		{"renamed is removed and added", gen[nameOnly](t), gen[fullName](t),
			[]string{"required-added inputs.full_name", "removed inputs.name"}, []string{}},
		{"type changed", gen[countInt](t), gen[countString](t),
			[]string{"type-changed inputs.count"}, []string{}},
		{"integer widened to number", gen[countInt](t), gen[countFloat](t),
			nil, []string{"loosened inputs.count"}},
		{"number narrowed to integer", gen[countFloat](t), gen[countInt](t),
			[]string{"type-changed inputs.count"}, []string{}},
		{"enum narrowed", gen[modeFastSlow](t), gen[modeFast](t),
			[]string{"enum-narrowed inputs.mode"}, []string{}},
		{"enum added", gen[modeFree](t), gen[modeFastSlow](t),
			[]string{"enum-narrowed inputs.mode"}, []string{}},
		{"enum widened", gen[modeFastSlow](t), gen[modeFastSlowTurbo](t),
			nil, []string{"loosened inputs.mode"}},
		{"enum removed", gen[modeFastSlow](t), gen[modeFree](t),
			nil, []string{"loosened inputs.mode"}},
		{"pattern added", gen[ipFree](t), gen[ipDigits](t),
			[]string{"constraint-tightened inputs.ip"}, []string{}},
		{"pattern changed", gen[ipDigits](t), gen[ipV4](t),
			[]string{"constraint-tightened inputs.ip"}, []string{}},
		{"pattern removed", gen[ipDigits](t), gen[ipFree](t),
			nil, []string{"loosened inputs.ip"}},
		{"bounds tightened", gen[pollsLoose](t), gen[pollsTight](t), []string{
			"constraint-tightened inputs.hosts", "constraint-tightened inputs.hosts",
			"constraint-tightened inputs.polls", "constraint-tightened inputs.polls",
			"constraint-tightened inputs.tag", "constraint-tightened inputs.tag",
		}, []string{}},
		{"bounds loosened", gen[pollsLoose](t), gen[pollsLooser](t), nil, []string{
			"loosened inputs.hosts", "loosened inputs.hosts",
			"loosened inputs.polls", "loosened inputs.polls",
			"loosened inputs.tag", "loosened inputs.tag",
		}},
		{"default that made it optional removed", gen[pollsDefault](t), gen[pollsNoDefault](t),
			[]string{"default-removed inputs.polls"}, []string{}},
		{"default of an optional input removed", gen[pollsOptDefault](t), gen[pollsOptNoDefault](t),
			[]string{"default-removed inputs.polls"}, []string{}},
		{"default added", gen[pollsNoDefault](t), gen[pollsDefault](t),
			nil, []string{"loosened inputs.polls"}},
		{"default changed", gen[pollsDefault](t), gen[pollsDefault5](t),
			nil, []string{"default-changed inputs.polls"}},
		{"nested struct gains required fields", gen[withOptionsV1](t), gen[withOptionsV2](t),
			[]string{"required-added inputs.options.level", "required-added inputs.options.value"}, []string{}},
		{"nested struct changes a type, adds an optional field", gen[withOptionsV1](t), gen[withOptionsV3](t),
			[]string{"type-changed inputs.options.name"}, []string{"added inputs.options.extra"}},
		{"array element struct tightened and shrunk", gen[hostsV1](t), gen[hostsV2](t),
			[]string{"constraint-tightened inputs.hosts[].ip", "removed inputs.hosts[].port"}, []string{}},
		{"recursive type terminates", gen[treeV1](t), gen[treeV2](t),
			[]string{"constraint-tightened inputs.root.name"}, []string{}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r, err := compat.CompareSchemas(compat.SectionInputs, tc.old, tc.new)
			if err != nil {
				t.Fatalf("CompareSchemas: %v", err)
			}
			checkReport(t, r, tc.want, tc.notices)
		})
	}
}

type (
	outV1 struct {
		Greeting string `json:"greeting"`
		Count    int    `json:"count"`
		Note     string `json:"note,omitempty"`
		Level    string `json:"level" jsonschema:"enum=info,enum=warn"`
	}
	outRemoved struct {
		Greeting string `json:"greeting"`
		Count    int    `json:"count"`
		Level    string `json:"level" jsonschema:"enum=info,enum=warn"`
	}
	outOptional struct {
		Greeting string `json:"greeting,omitempty"`
		Count    int    `json:"count"`
		Note     string `json:"note,omitempty"`
		Level    string `json:"level" jsonschema:"enum=info,enum=warn"`
	}
	outRetyped struct {
		Greeting string  `json:"greeting"`
		Count    float64 `json:"count"`
		Note     string  `json:"note,omitempty"`
		Level    string  `json:"level" jsonschema:"enum=info,enum=warn,enum=error"`
	}
	outAdded struct {
		Greeting string `json:"greeting"`
		Count    int    `json:"count"`
		Note     string `json:"note"`
		Level    string `json:"level" jsonschema:"enum=info"`
		Extra    string `json:"extra,omitempty"`
	}
)

// TestGeneratedOutputs checks the output rules, which run the other way:
// the new version must promise all the old one promised.
func TestGeneratedOutputs(t *testing.T) {
	for _, tc := range []struct {
		name     string
		old, new json.RawMessage
		want     []string
		notices  []string
	}{
		{"output removed", gen[outV1](t), gen[outRemoved](t),
			[]string{"removed outputs.note"}, []string{}},
		{"output became optional", gen[outV1](t), gen[outOptional](t),
			[]string{"output-optional outputs.greeting"}, []string{}},
		{"output widened type and enum", gen[outV1](t), gen[outRetyped](t),
			[]string{"type-changed outputs.count", "enum-widened outputs.level"}, []string{}},
		{"output added, made always present, enum narrowed", gen[outV1](t), gen[outAdded](t),
			nil, []string{"added outputs.extra", "loosened outputs.level"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r, err := compat.CompareSchemas(compat.SectionOutputs, tc.old, tc.new)
			if err != nil {
				t.Fatalf("CompareSchemas: %v", err)
			}
			checkReport(t, r, tc.want, tc.notices)
		})
	}
}

// TestCompareVersion runs all sections at once, context inputs included,
// and checks the order and the message a webhook would return.
func TestCompareVersion(t *testing.T) {
	old := compat.Version{
		Inputs:        gen[nameOnly](t),
		ContextInputs: gen[nameOptAge](t),
		Outputs:       gen[outV1](t),
	}
	new := compat.Version{
		Inputs:        gen[nameAge](t),
		ContextInputs: gen[nameOnly](t),
		Outputs:       gen[outRemoved](t),
	}
	r, err := compat.Compare(old, new)
	if err != nil {
		t.Fatalf("Compare: %v", err)
	}
	checkReport(t, r, []string{
		"required-added inputs.age",
		"removed contextInputs.age",
		"removed outputs.note",
	}, []string{})
	for _, f := range r.Breaking {
		if string(f.Section) != f.Path[:len(f.Section)] {
			t.Errorf("finding %v: path does not start with its section", f)
		}
	}
	want := "3 breaking changes: inputs.age: required-added: new required input; " +
		"contextInputs.age: removed: input removed (a rename is a removal and an addition); " +
		"outputs.note: removed: output removed (a rename is a removal and an addition)"
	if got := r.Error(); got != want {
		t.Errorf("Error() =\n%s\nwant\n%s", got, want)
	}
	same, err := compat.Compare(old, old)
	if err != nil || !same.Compatible() || same.Error() != "" {
		t.Errorf("Compare(old, old) = %+v, %v; want compatible", same, err)
	}
}
