package compat_test

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/bkplugin/bk-plugin-operator/sdk/compat"
)

// obj wraps one property schema in an inputs or outputs document.
func obj(prop string) string {
	return `{"type":"object","properties":{"f":` + prop + `}}`
}

// TestHandWritten covers what Go struct tags cannot express: keywords the
// SDK never generates, hand-written and Python-framework schemas.
func TestHandWritten(t *testing.T) {
	for _, tc := range []struct {
		name     string
		section  compat.Section
		old, new string
		want     []string
	}{
		{"exclusiveMinimum raised", compat.SectionInputs,
			obj(`{"type":"number","exclusiveMinimum":0}`), obj(`{"type":"number","exclusiveMinimum":1}`),
			[]string{"constraint-tightened inputs.f"}},
		{"exclusiveMaximum lowered exactly, beyond float64", compat.SectionInputs,
			obj(`{"type":"integer","exclusiveMaximum":9007199254740993}`), obj(`{"type":"integer","exclusiveMaximum":9007199254740992}`),
			[]string{"constraint-tightened inputs.f"}},
		{"exclusiveMaximum raised", compat.SectionInputs,
			obj(`{"type":"number","exclusiveMaximum":1}`), obj(`{"type":"number","exclusiveMaximum":2}`), nil},
		{"multipleOf made a multiple", compat.SectionInputs,
			obj(`{"type":"integer","multipleOf":2}`), obj(`{"type":"integer","multipleOf":4}`),
			[]string{"constraint-tightened inputs.f"}},
		{"multipleOf made a divisor", compat.SectionInputs,
			obj(`{"type":"integer","multipleOf":4}`), obj(`{"type":"integer","multipleOf":2}`), nil},
		{"multipleOf unrelated", compat.SectionInputs,
			obj(`{"type":"integer","multipleOf":2}`), obj(`{"type":"integer","multipleOf":3}`),
			[]string{"constraint-tightened inputs.f"}},
		{"uniqueItems set", compat.SectionInputs,
			obj(`{"type":"array"}`), obj(`{"type":"array","uniqueItems":true}`),
			[]string{"constraint-tightened inputs.f"}},
		{"format added", compat.SectionInputs,
			obj(`{"type":"string"}`), obj(`{"type":"string","format":"email"}`),
			[]string{"constraint-tightened inputs.f"}},
		{"minProperties added", compat.SectionInputs,
			obj(`{"type":"object"}`), obj(`{"type":"object","minProperties":1}`),
			[]string{"constraint-tightened inputs.f"}},
		{"const added", compat.SectionInputs,
			obj(`{"type":"string"}`), obj(`{"type":"string","const":"x"}`),
			[]string{"enum-narrowed inputs.f"}},
		{"const changed", compat.SectionInputs,
			obj(`{"const":"x"}`), obj(`{"const":"y"}`),
			[]string{"enum-narrowed inputs.f"}},
		{"numeric enum narrowed", compat.SectionInputs,
			obj(`{"enum":[1,2,3]}`), obj(`{"enum":[3,1]}`),
			[]string{"enum-narrowed inputs.f"}},
		{"additionalProperties false", compat.SectionInputs,
			`{"type":"object","properties":{}}`, `{"type":"object","properties":{},"additionalProperties":false}`,
			[]string{"constraint-tightened inputs.*"}},
		{"additionalProperties schema tightened", compat.SectionInputs,
			obj(`{"type":"object","additionalProperties":{"type":"string"}}`), obj(`{"type":"object","additionalProperties":{"type":"string","maxLength":3}}`),
			[]string{"constraint-tightened inputs.f.*"}},
		{"additionalProperties typed", compat.SectionInputs,
			obj(`{"type":"object"}`), obj(`{"type":"object","additionalProperties":{"type":"string"}}`),
			[]string{"type-changed inputs.f.*"}},
		{"allOf gained a pattern", compat.SectionInputs,
			obj(`{"type":"string","allOf":[{"pattern":"^a"}]}`), obj(`{"type":"string","allOf":[{"pattern":"^a"},{"pattern":"b$"}]}`),
			[]string{"constraint-tightened inputs.f"}},
		{"anyOf gained an alternative", compat.SectionInputs,
			obj(`{"anyOf":[{"type":"string"}]}`), obj(`{"anyOf":[{"type":"string"},{"type":"integer"}]}`), nil},
		{"anyOf lost an alternative", compat.SectionInputs,
			obj(`{"anyOf":[{"type":"string"},{"type":"integer"}]}`), obj(`{"anyOf":[{"type":"string"}]}`),
			[]string{"combinator-changed inputs.f"}},
		{"oneOf through a changed definition", compat.SectionInputs,
			`{"type":"object","properties":{"f":{"oneOf":[{"$ref":"#/definitions/A"}]}},"definitions":{"A":{"type":"string"}}}`,
			`{"type":"object","properties":{"f":{"oneOf":[{"$ref":"#/definitions/A"}]}},"definitions":{"A":{"type":"integer"}}}`,
			[]string{"combinator-changed inputs.f"}},
		{"not added", compat.SectionInputs,
			obj(`{"type":"string"}`), obj(`{"type":"string","not":{"const":""}}`),
			[]string{"combinator-changed inputs.f"}},
		{"nullable dropped", compat.SectionInputs,
			obj(`{"type":["string","null"]}`), obj(`{"type":"string"}`),
			[]string{"type-changed inputs.f"}},
		{"typed where any type was accepted", compat.SectionInputs,
			obj(`{}`), obj(`{"type":"string"}`),
			[]string{"type-changed inputs.f"}},
		{"boolean schema true to object", compat.SectionInputs,
			obj(`true`), obj(`{"type":"object"}`),
			[]string{"type-changed inputs.f"}},
		{"required with a default is optional (Python framework)", compat.SectionInputs,
			obj(`{"type":"string"}`), `{"type":"object","properties":{"f":{"type":"string","default":"a"}},"required":["f"]}`, nil},
		{"required only in the required list", compat.SectionInputs,
			`{"type":"object"}`, `{"type":"object","required":["g"]}`,
			[]string{"required-added inputs.g"}},
		{"draft-07 definitions and a renamed definition", compat.SectionInputs,
			`{"type":"object","properties":{"o":{"$ref":"#/definitions/Old"}},"definitions":{"Old":{"type":"object","properties":{"a":{"type":"string"}}}}}`,
			`{"type":"object","properties":{"o":{"$ref":"#/$defs/New"}},"$defs":{"New":{"type":"object","properties":{"a":{"type":"string","maxLength":3}}}}}`,
			[]string{"constraint-tightened inputs.o.a"}},
		{"unresolvable reference changed", compat.SectionInputs,
			obj(`{"$ref":"https://example.com/a.json"}`), obj(`{"$ref":"https://example.com/b.json"}`),
			[]string{"combinator-changed inputs.f"}},
		{"same unresolvable reference", compat.SectionInputs,
			obj(`{"$ref":"https://example.com/a.json"}`), obj(`{"$ref":"https://example.com/a.json"}`), nil},
		{"no schema is any object", compat.SectionInputs,
			"", `{"type":"object","properties":{"a":{"type":"string"}},"required":["a"]}`,
			[]string{"required-added inputs.a"}},
		{"array items typed", compat.SectionInputs,
			obj(`{"type":"array"}`), obj(`{"type":"array","items":{"type":"string"}}`),
			[]string{"type-changed inputs.f[]"}},
		{"tuple items changed", compat.SectionInputs,
			obj(`{"type":"array","items":[{"type":"string"}]}`), obj(`{"type":"array","items":[{"type":"integer"}]}`),
			[]string{"combinator-changed inputs.f[]"}},

		{"output maximum raised", compat.SectionOutputs,
			obj(`{"type":"integer","maximum":10}`), obj(`{"type":"integer","maximum":20}`),
			[]string{"constraint-loosened outputs.f"}},
		{"output pattern removed", compat.SectionOutputs,
			obj(`{"type":"string","pattern":"^a"}`), obj(`{"type":"string"}`),
			[]string{"constraint-loosened outputs.f"}},
		{"output maximum lowered", compat.SectionOutputs,
			obj(`{"type":"integer","maximum":10}`), obj(`{"type":"integer","maximum":5}`), nil},
		{"output enum dropped", compat.SectionOutputs,
			obj(`{"enum":["a","b"]}`), obj(`{"type":"string"}`),
			[]string{"enum-widened outputs.f"}},
		{"output may now be null", compat.SectionOutputs,
			obj(`{"type":"string"}`), obj(`{"type":["string","null"]}`),
			[]string{"type-changed outputs.f"}},
		{"output narrowed to integer", compat.SectionOutputs,
			obj(`{"type":"number"}`), obj(`{"type":"integer"}`), nil},
		{"output anyOf lost an alternative", compat.SectionOutputs,
			obj(`{"anyOf":[{"type":"string"},{"type":"integer"}]}`), obj(`{"anyOf":[{"type":"string"}]}`), nil},
		{"output lets unlisted fields in", compat.SectionOutputs,
			`{"type":"object","additionalProperties":false}`, `{"type":"object"}`,
			[]string{"constraint-loosened outputs.*"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r, err := compat.CompareSchemas(tc.section, json.RawMessage(tc.old), json.RawMessage(tc.new))
			if err != nil {
				t.Fatalf("CompareSchemas: %v", err)
			}
			checkReport(t, r, tc.want, nil)
		})
	}
}

// TestBadSchema: a schema that is not JSON is an error naming the section
// and side, not a panic or an empty report.
func TestBadSchema(t *testing.T) {
	for _, tc := range []struct {
		old, new string
		want     string
	}{
		{`{"type":`, `{}`, "outputs: old schema: not JSON"},
		{`{}`, `{} {}`, "outputs: new schema: not JSON: unexpected data"},
		{`{}`, `[1]`, "outputs: new schema: a JSON Schema is an object or a boolean"},
	} {
		_, err := compat.CompareSchemas(compat.SectionOutputs, json.RawMessage(tc.old), json.RawMessage(tc.new))
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("CompareSchemas(%s, %s) error = %v, want %q", tc.old, tc.new, err, tc.want)
		}
	}
	if _, err := compat.Compare(compat.Version{}, compat.Version{Inputs: json.RawMessage(`nope`)}); err == nil ||
		!strings.Contains(err.Error(), "inputs: new schema") {
		t.Errorf("Compare with a bad inputs schema: error = %v", err)
	}
}

// TestRecursiveDefinitions: a definition that refers to itself is compared
// once and the walk ends.
func TestRecursiveDefinitions(t *testing.T) {
	old := `{"$ref":"#/definitions/N","definitions":{"N":{"type":"object","properties":{"next":{"$ref":"#/definitions/N"},"v":{"type":"string"}}}}}`
	new := `{"$ref":"#/definitions/N","definitions":{"N":{"type":"object","properties":{"next":{"$ref":"#/definitions/N"},"v":{"type":"integer"}}}}}`
	r, err := compat.CompareSchemas(compat.SectionInputs, json.RawMessage(old), json.RawMessage(new))
	if err != nil {
		t.Fatal(err)
	}
	checkReport(t, r, []string{"type-changed inputs.v"}, nil)
}
