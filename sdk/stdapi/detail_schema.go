package stdapi

import (
	"bytes"
	"encoding/json"
)

// DetailSchema returns a JSON Schema in the shape detail answers it: exactly
// the four keys the Python framework keeps (its _trim_schema), each always
// present — type ("object" when absent), properties ({}), required ([]) and
// definitions ({}). A 2020-12 "$defs" becomes "definitions" and its
// "#/$defs/" references "#/definitions/", the draft-7 spelling pydantic v1
// schemas use and platforms resolve. Other top-level keys are dropped, as
// the Python framework drops them. A schema that is not a JSON object
// answers EmptySchema.
func DetailSchema(raw json.RawMessage) json.RawMessage {
	var top map[string]json.RawMessage
	if len(bytes.TrimSpace(raw)) == 0 || json.Unmarshal(raw, &top) != nil || top == nil {
		return EmptySchema
	}
	out := struct {
		Type        json.RawMessage `json:"type"`
		Properties  json.RawMessage `json:"properties"`
		Required    json.RawMessage `json:"required"`
		Definitions json.RawMessage `json:"definitions"`
	}{
		Type:        orDefault(top["type"], `"object"`, '"'),
		Properties:  orDefault(top["properties"], `{}`, '{'),
		Required:    orDefault(top["required"], `[]`, '['),
		Definitions: orDefault(top["definitions"], `{}`, '{'),
	}
	if defs, ok := top["$defs"]; ok && string(out.Definitions) == "{}" && startsWith(defs, '{') {
		out.Definitions = defs
	}
	b, err := json.Marshal(out)
	if err != nil {
		return EmptySchema
	}
	return bytes.ReplaceAll(b, []byte(`"#/$defs/`), []byte(`"#/definitions/`))
}

// orDefault returns v when it is a JSON value starting with want (an object,
// array or string), else def.
func orDefault(v json.RawMessage, def string, want byte) json.RawMessage {
	if startsWith(v, want) {
		return v
	}
	return json.RawMessage(def)
}

func startsWith(v json.RawMessage, c byte) bool {
	v = bytes.TrimSpace(v)
	return len(v) > 0 && v[0] == c
}
