package compat_test

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"

	"github.com/bkplugin/bk-plugin-operator/sdk/compat"
)

// fanOut is a schema whose definitions refer to the next one four times,
// twenty levels deep: 4^20 paths, which a comparison must not walk.
func fanOut(leafType string) json.RawMessage {
	defs := map[string]any{}
	for i := range 20 {
		props := map[string]any{}
		var alts []any
		for _, k := range []string{"a", "b", "c", "d"} {
			ref := map[string]any{"$ref": fmt.Sprintf("#/definitions/D%d", i+1)}
			props[k] = ref
			alts = append(alts, ref)
		}
		// anyOf is compared by content, with references expanded.
		defs[fmt.Sprintf("D%d", i)] = map[string]any{"type": "object", "properties": props, "anyOf": alts}
	}
	defs["D20"] = map[string]any{"type": leafType}
	b, _ := json.Marshal(map[string]any{"$ref": "#/definitions/D0", "definitions": defs})
	return b
}

func TestHugeSchemasAreBounded(t *testing.T) {
	r, err := compat.CompareSchemas(compat.SectionInputs, fanOut("string"), fanOut("string"))
	if err != nil || !r.Compatible() {
		t.Errorf("identical huge schemas: %+v, %v", r, err)
	}
	r, err = compat.CompareSchemas(compat.SectionInputs, fanOut("string"), fanOut("integer"))
	if err != nil {
		t.Fatal(err)
	}
	if r.Compatible() || r.Breaking[0].Path != "inputs" || !strings.Contains(r.Breaking[0].Message, "too large to compare") {
		t.Errorf("different huge schemas: %s", r.Error())
	}
}

// FuzzCompareSchemas: whatever two documents hold, the comparison ends
// with a report or an error, never a panic, and a document compared with
// itself is compatible.
func FuzzCompareSchemas(f *testing.F) {
	for _, s := range []string{
		`{"type":"object","properties":{"a":{"$ref":"#/definitions/A"}},"definitions":{"A":{"type":"string","enum":["x"]}}}`,
		`{"type":"object","required":["a"],"properties":{"a":{"type":["integer","null"],"minimum":1e400}}}`,
		`{"items":[true,false],"additionalProperties":{"$ref":"#"}}`,
		`{"anyOf":[{"$ref":"#/anyOf/0"}],"allOf":[{}],"not":true}`,
		`true`, `{}`, `[]`, `null`, `{"$ref":"#/definitions/missing"}`,
	} {
		f.Add(s, `{"type":"object"}`)
		f.Add(`{"type":"object"}`, s)
	}
	f.Fuzz(func(t *testing.T, old, new string) {
		for _, sec := range []compat.Section{compat.SectionInputs, compat.SectionOutputs} {
			if _, err := compat.CompareSchemas(sec, json.RawMessage(old), json.RawMessage(new)); err != nil {
				continue
			}
			r, err := compat.CompareSchemas(sec, json.RawMessage(old), json.RawMessage(old))
			if err != nil || !r.Compatible() {
				t.Errorf("%s compared with itself: %s %v", old, r.Error(), err)
			}
		}
	})
}

func TestErrorIsBounded(t *testing.T) {
	var r compat.Report
	for i := range 25 {
		r.Breaking = append(r.Breaking, compat.Finding{Rule: compat.RuleRemoved, Section: compat.SectionInputs, Path: fmt.Sprintf("inputs.f%02d", i), Message: "input removed"})
	}
	msg := r.Error()
	if !strings.HasPrefix(msg, "25 breaking changes: inputs.f00: removed: input removed; ") ||
		!strings.HasSuffix(msg, "inputs.f19: removed: input removed; and 5 more") {
		t.Errorf("Error() = %s", msg)
	}
}
