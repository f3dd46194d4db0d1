package schema

import (
	"encoding/json"
	"fmt"
	"reflect"
	"slices"
	"strings"

	"github.com/invopop/jsonschema"
)

// For generates the JSON Schema of T and compiles it. See [FromType].
func For[T any]() (*Schema, error) {
	return FromType(reflect.TypeFor[T]())
}

// FromType generates the JSON Schema of a Go type from its json and
// jsonschema struct tags, in the shape the standard BlueKing plugin API
// answers: {type, properties, required, definitions}, nested struct types
// under "definitions" and referenced as "#/definitions/<Type>".
//
// Rules, so that a Go struct reads like a Python framework model:
//   - a field is required unless its json tag says omitempty or omitzero, or
//     it declares a default;
//   - title, description, default, minimum, maximum, enum, pattern and the
//     other keywords come from the jsonschema tag, for example
//     `json:"polls" jsonschema:"title=Polls,default=3,minimum=0"`
//     (escape a comma inside a value as \,);
//   - unknown fields are allowed, as the Python framework ignores them.
func FromType(t reflect.Type) (*Schema, error) {
	raw, err := Generate(t)
	if err != nil {
		return nil, err
	}
	s, err := Compile(raw)
	if err != nil {
		return nil, fmt.Errorf("schema generated for %s: %w", t, err)
	}
	return s, nil
}

// Generate returns the JSON Schema document of a Go type (see [FromType])
// without compiling it.
func Generate(t reflect.Type) (json.RawMessage, error) {
	if t == nil {
		return nil, fmt.Errorf("generate JSON schema: nil type")
	}
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	r := &jsonschema.Reflector{
		Anonymous:                 true,
		ExpandedStruct:            true,
		AllowAdditionalProperties: true,
	}
	s := r.ReflectFromType(t)
	s.Version = ""
	if t.Kind() == reflect.Struct && s.Properties == nil {
		// An empty struct, such as plugin.None, still answers an object
		// schema with properties, as detail consumers expect.
		s.Type = "object"
	}
	defs := s.Definitions
	s.Definitions = nil
	fixSchema(s)
	for _, d := range defs {
		fixSchema(d)
	}
	if s.Type == "object" && s.Properties == nil {
		s.Properties = jsonschema.NewProperties()
	}
	// Marshal the struct rather than a map, to keep properties in field
	// order: forms and detail pages list inputs in that order.
	raw, err := json.Marshal(s)
	if err != nil {
		return nil, fmt.Errorf("generate JSON schema for %s: %w", t, err)
	}
	if len(defs) > 0 {
		// Definitions go under the draft-07 name BlueKing consumers read.
		d, err := json.Marshal(defs)
		if err != nil {
			return nil, fmt.Errorf("generate JSON schema for %s: %w", t, err)
		}
		raw = append(raw[:len(raw)-1], []byte(`,"definitions":`)...)
		raw = append(raw, d...)
		raw = append(raw, '}')
	}
	return raw, nil
}

// fixSchema rewrites references to "#/definitions/..." and makes fields
// with a default optional, in s and every subschema.
func fixSchema(s *jsonschema.Schema) {
	if s == nil {
		return
	}
	if rest, ok := strings.CutPrefix(s.Ref, "#/$defs/"); ok {
		s.Ref = "#/definitions/" + rest
	}
	if s.Properties != nil {
		s.Required = slices.DeleteFunc(s.Required, func(name string) bool {
			p, ok := s.Properties.Get(name)
			return ok && p != nil && p.Default != nil
		})
		if len(s.Required) == 0 {
			s.Required = nil
		}
		for pair := s.Properties.Oldest(); pair != nil; pair = pair.Next() {
			fixSchema(pair.Value)
		}
	}
	for _, sub := range slices.Concat(s.AllOf, s.AnyOf, s.OneOf, s.PrefixItems) {
		fixSchema(sub)
	}
	for _, sub := range []*jsonschema.Schema{s.Items, s.AdditionalProperties, s.Not, s.If, s.Then, s.Else, s.Contains} {
		fixSchema(sub)
	}
	for _, sub := range s.PatternProperties {
		fixSchema(sub)
	}
}
