package schema_test

import (
	"encoding/json"
	"errors"
	"reflect"
	"strings"
	"testing"

	"github.com/bkplugin/bk-plugin-operator/sdk/schema"
)

type options struct {
	Name  string `json:"name" jsonschema:"title=Option name"`
	Value string `json:"value,omitempty"`
}

type inputs struct {
	Action  string   `json:"action" jsonschema:"title=Action,description=What to do\\, and how"`
	Polls   int      `json:"polls" jsonschema:"default=3,minimum=0"`
	Mode    string   `json:"mode,omitempty" jsonschema:"enum=fast,enum=slow"`
	Options options  `json:"options"`
	Hosts   []host   `json:"hosts,omitempty"`
	FailAt  *int     `json:"fail_at,omitempty"`
	Tags    []string `json:"tags,omitempty"`
}

type host struct {
	IP string `json:"ip" jsonschema:"pattern=^[0-9.]+$"`
}

func generated(t *testing.T) map[string]any {
	t.Helper()
	raw, err := schema.Generate(reflect.TypeFor[inputs]())
	if err != nil {
		t.Fatalf("Generate: %v", err)
	}
	var doc map[string]any
	if err := json.Unmarshal(raw, &doc); err != nil {
		t.Fatalf("generated schema is not JSON: %v\n%s", err, raw)
	}
	return doc
}

func TestGenerateShape(t *testing.T) {
	doc := generated(t)
	props := doc["properties"].(map[string]any)

	if doc["type"] != "object" {
		t.Errorf("type = %v, want object", doc["type"])
	}
	for _, k := range []string{"$schema", "$id", "$defs", "additionalProperties"} {
		if _, ok := doc[k]; ok {
			t.Errorf("schema has %q; the standard API shape does not", k)
		}
	}
	gotReq := doc["required"].([]any)
	wantReq := []any{"action", "options"}
	if !reflect.DeepEqual(gotReq, wantReq) {
		t.Errorf("required = %v, want %v (fields with a default or omitempty are optional)", gotReq, wantReq)
	}
	action := props["action"].(map[string]any)
	if action["title"] != "Action" || action["description"] != "What to do, and how" {
		t.Errorf("action = %v, want title and description from tags", action)
	}
	if got := props["polls"].(map[string]any)["default"]; got != float64(3) {
		t.Errorf("polls default = %v, want 3", got)
	}
	if got := props["options"].(map[string]any)["$ref"]; got != "#/definitions/options" {
		t.Errorf("options $ref = %v, want #/definitions/options", got)
	}
	defs := doc["definitions"].(map[string]any)
	opt := defs["options"].(map[string]any)
	if got := opt["required"]; !reflect.DeepEqual(got, []any{"name"}) {
		t.Errorf("nested required = %v, want [name]", got)
	}
	if got := opt["properties"].(map[string]any)["name"].(map[string]any)["title"]; got != "Option name" {
		t.Errorf("nested title = %v", got)
	}
}

func TestGenerateKeepsFieldOrder(t *testing.T) {
	raw, err := schema.Generate(reflect.TypeFor[inputs]())
	if err != nil {
		t.Fatal(err)
	}
	s := string(raw)
	last := -1
	for _, name := range []string{`"action"`, `"polls"`, `"mode"`, `"options"`, `"hosts"`} {
		i := strings.Index(s, name)
		if i < last {
			t.Fatalf("%s appears before an earlier field in %s", name, s)
		}
		last = i
	}
}

func TestGenerateEmptyStruct(t *testing.T) {
	raw, err := schema.Generate(reflect.TypeFor[struct{}]())
	if err != nil {
		t.Fatal(err)
	}
	if got := string(raw); got != `{"properties":{},"type":"object"}` {
		t.Errorf("empty struct schema = %s", got)
	}
}

func TestValidateNamesEveryField(t *testing.T) {
	s, err := schema.For[inputs]()
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		doc  string
		want []string // problems, in any order
	}{
		{"valid", `{"action":"go","options":{"name":"a"}}`, nil},
		{"empty doc means {}", ``, []string{"action: required", "options: required"}},
		{"null doc means {}", `null`, []string{"action: required", "options: required"}},
		{"every field at once", `{"polls":-1,"options":{},"mode":"medium","hosts":[{"ip":"1.2.3.4"},{"ip":"x"}]}`, []string{
			"action: required",
			"polls: must be >= 0",
			`mode: must be one of ["fast","slow"]`,
			"options.name: required",
			`hosts[1].ip: must match pattern "^[0-9.]+$"`,
		}},
		{"wrong types", `{"action":1,"options":{"name":"a"},"fail_at":"x","tags":"a"}`, []string{
			"action: must be string, got number",
			"fail_at: must be integer, got string",
			"tags: must be array, got string",
		}},
		{"not an object", `[1]`, []string{"must be object, got array"}},
		{"not JSON", `{`, []string{"not valid JSON: unexpected EOF"}},
		{"unknown fields are allowed", `{"action":"go","options":{"name":"a"},"extra":1}`, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := s.Validate([]byte(tt.doc))
			if tt.want == nil {
				if err != nil {
					t.Fatalf("Validate = %v, want nil", err)
				}
				return
			}
			var ve *schema.ValidationError
			if !errors.As(err, &ve) {
				t.Fatalf("Validate = %v, want a *ValidationError", err)
			}
			var got []string
			for _, p := range ve.Problems {
				got = append(got, p.String())
			}
			if !sameSet(got, tt.want) {
				t.Errorf("problems = %q\nwant       %q", got, tt.want)
			}
		})
	}
}

func TestNormalizeFillsDefaults(t *testing.T) {
	s, err := schema.For[inputs]()
	if err != nil {
		t.Fatal(err)
	}
	out, err := s.Normalize([]byte(`{"action":"go","options":{"name":"a"}}`))
	if err != nil {
		t.Fatal(err)
	}
	var in inputs
	if err := json.Unmarshal(out, &in); err != nil {
		t.Fatal(err)
	}
	if in.Polls != 3 {
		t.Errorf("Polls = %d, want the default 3", in.Polls)
	}
	out, err = s.Normalize([]byte(`{"action":"go","polls":0,"options":{"name":"a"}}`))
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(out, &in); err != nil {
		t.Fatal(err)
	}
	if in.Polls != 0 {
		t.Errorf("Polls = %d, want the caller's 0 kept", in.Polls)
	}
}

// The manager validates against schemas stored in PluginVersions, which may
// come from the Python framework (pydantic, draft-07 "definitions").
func TestValidateRawPythonSchema(t *testing.T) {
	raw := []byte(`{
		"title": "Inputs", "type": "object",
		"properties": {
			"template_id": {"title": "Template Id", "type": "integer"},
			"constants": {"title": "Constants", "type": "object", "default": {"a": 1}},
			"options": {"$ref": "#/definitions/Options"}
		},
		"required": ["template_id", "options"],
		"definitions": {"Options": {"title": "Options", "type": "object",
			"properties": {"name": {"type": "string"}, "retries": {"type": "integer", "default": 2}},
			"required": ["name"]}}
	}`)
	if err := schema.Validate(raw, []byte(`{"template_id":1,"options":{"name":"x"}}`)); err != nil {
		t.Errorf("valid document: %v", err)
	}
	err := schema.Validate(raw, []byte(`{"template_id":"1","options":{}}`))
	if err == nil || err.Error() != "template_id: must be integer, got string; options.name: required" &&
		err.Error() != "options.name: required; template_id: must be integer, got string" {
		t.Errorf("Validate = %v", err)
	}
	s, err := schema.Compile(raw)
	if err != nil {
		t.Fatal(err)
	}
	out, err := s.Normalize([]byte(`{"template_id":1,"options":{"name":"x"}}`))
	if err != nil {
		t.Fatal(err)
	}
	want := `{"constants":{"a":1},"options":{"name":"x","retries":2},"template_id":1}`
	if string(out) != want {
		t.Errorf("Normalize = %s, want %s", out, want)
	}
	// The default is copied, never shared between documents.
	out2, _ := s.Normalize([]byte(`{"template_id":2,"options":{"name":"y"}}`))
	if !strings.Contains(string(out2), `"constants":{"a":1}`) {
		t.Errorf("second Normalize = %s", out2)
	}
}

func TestCompileErrors(t *testing.T) {
	for _, raw := range []string{`{`, `{"type": 12}`, `{"$ref": "#/definitions/Missing"}`} {
		if _, err := schema.Compile([]byte(raw)); err == nil {
			t.Errorf("Compile(%s) = nil error", raw)
		}
	}
	s, err := schema.Compile(nil)
	if err != nil {
		t.Fatalf("Compile(nil): %v", err)
	}
	if err := s.Validate([]byte(`{"anything":1}`)); err != nil {
		t.Errorf("an absent schema accepts any object: %v", err)
	}
}

func TestInputsError(t *testing.T) {
	s, err := schema.For[inputs]()
	if err != nil {
		t.Fatal(err)
	}
	ctxSchema, err := schema.Compile([]byte(`{"type":"object","properties":{"biz_id":{"type":"integer"}},"required":["biz_id"]}`))
	if err != nil {
		t.Fatal(err)
	}
	err = schema.NewInputsError(s.Validate([]byte(`{"options":{"name":"a"}}`)), ctxSchema.Validate([]byte(`[]`)))
	want := "inputs validation error: action: required; context: must be object, got array"
	if err == nil || err.Error() != want {
		t.Errorf("NewInputsError = %v\nwant %s", err, want)
	}
	err = schema.NewInputsError(nil, ctxSchema.Validate([]byte(`{}`)))
	if want := "context validation error: context.biz_id: required"; err == nil || err.Error() != want {
		t.Errorf("NewInputsError = %v, want %s", err, want)
	}
	if err := schema.NewInputsError(nil, nil); err != nil {
		t.Errorf("NewInputsError(nil, nil) = %v", err)
	}
}

func sameSet(a, b []string) bool {
	if len(a) != len(b) {
		return false
	}
	m := map[string]int{}
	for _, s := range a {
		m[s]++
	}
	for _, s := range b {
		m[s]--
	}
	for _, n := range m {
		if n != 0 {
			return false
		}
	}
	return true
}
