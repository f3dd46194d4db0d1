package stdapi

import (
	"encoding/json"
	"testing"
)

func TestDetailSchema(t *testing.T) {
	tests := []struct {
		name, in, want string
	}{
		{"empty", ``, `{"type":"object","properties":{},"required":[],"definitions":{}}`},
		{"not an object", `[1]`, `{"type":"object","properties":{},"required":[],"definitions":{}}`},
		{"only properties", `{"properties":{"a":{"type":"string"}},"type":"object"}`,
			`{"type":"object","properties":{"a":{"type":"string"}},"required":[],"definitions":{}}`},
		{"drops other keys", `{"type":"object","title":"Inputs","additionalProperties":false,"properties":{},"required":["a"]}`,
			`{"type":"object","properties":{},"required":["a"],"definitions":{}}`},
		{"$defs become definitions", `{"properties":{"h":{"$ref":"#/$defs/Host"}},"$defs":{"Host":{"type":"object"}}}`,
			`{"type":"object","properties":{"h":{"$ref":"#/definitions/Host"}},"required":[],"definitions":{"Host":{"type":"object"}}}`},
		{"definitions kept", `{"type":"object","properties":{"h":{"$ref":"#/definitions/H"}},"definitions":{"H":{}}}`,
			`{"type":"object","properties":{"h":{"$ref":"#/definitions/H"}},"required":[],"definitions":{"H":{}}}`},
		{"wrong kinds replaced", `{"type":"object","properties":[],"required":{},"definitions":"x"}`,
			`{"type":"object","properties":{},"required":[],"definitions":{}}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := DetailSchema(json.RawMessage(tt.in))
			var g, w any
			if err := json.Unmarshal(got, &g); err != nil {
				t.Fatalf("DetailSchema(%s) = %s: %v", tt.in, got, err)
			}
			_ = json.Unmarshal([]byte(tt.want), &w)
			gb, _ := json.Marshal(g)
			wb, _ := json.Marshal(w)
			if string(gb) != string(wb) {
				t.Errorf("DetailSchema(%s) = %s, want %s", tt.in, gb, wb)
			}
		})
	}
}
