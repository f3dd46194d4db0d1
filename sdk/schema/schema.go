package schema

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"

	"github.com/santhosh-tekuri/jsonschema/v6"
)

// schemaURL names the one resource each compiler holds; it never leaves this
// package, it only anchors relative references such as "#/definitions/X".
const schemaURL = "mem://schema.json"

// Schema is a compiled JSON Schema. It is safe for concurrent use; compile it
// once and validate many documents with it.
type Schema struct {
	raw      json.RawMessage
	doc      any
	compiled *jsonschema.Schema
}

// Compile compiles a JSON Schema document, such as one stored in a
// PluginVersion. Schemas without "$schema" are read as draft 2020-12; the
// draft-07 "definitions" used by the Python framework resolve as well.
func Compile(raw []byte) (*Schema, error) {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 || bytes.Equal(raw, []byte("null")) {
		// A version without a schema accepts any object, as the Python
		// framework does for a plugin without an Inputs model.
		raw = []byte(`{"type":"object"}`)
	}
	doc, err := Decode(raw)
	if err != nil {
		return nil, fmt.Errorf("parse JSON schema: %w", err)
	}
	c := jsonschema.NewCompiler()
	c.DefaultDraft(jsonschema.Draft2020)
	if err := c.AddResource(schemaURL, doc); err != nil {
		return nil, fmt.Errorf("load JSON schema: %w", err)
	}
	compiled, err := c.Compile(schemaURL)
	if err != nil {
		return nil, fmt.Errorf("compile JSON schema: %w", err)
	}
	return &Schema{raw: append(json.RawMessage(nil), raw...), doc: doc, compiled: compiled}, nil
}

// JSON returns the schema document. Callers must not modify it.
func (s *Schema) JSON() json.RawMessage { return s.raw }

// Validate reports whether doc (a JSON document) matches the schema. It
// returns a *ValidationError naming every offending field, or an error saying
// doc is not JSON. An empty doc is read as {}: an invocation without inputs
// has empty inputs.
func (s *Schema) Validate(doc []byte) error {
	_, err := s.Normalize(doc)
	return err
}

// Normalize fills in the defaults the schema declares for absent fields and
// validates the result. It returns the filled-in document, ready to be
// unmarshalled into the Go type the schema was generated from, so that a
// field left out by the caller gets its declared default and not Go's zero
// value.
func (s *Schema) Normalize(doc []byte) (json.RawMessage, error) {
	v, err := s.normalize(doc)
	if err != nil {
		return nil, err
	}
	out, err := json.Marshal(v)
	if err != nil {
		return nil, fmt.Errorf("encode document: %w", err)
	}
	return out, nil
}

func (s *Schema) normalize(doc []byte) (any, error) {
	doc = bytes.TrimSpace(doc)
	if len(doc) == 0 || bytes.Equal(doc, []byte("null")) {
		doc = []byte("{}")
	}
	v, err := Decode(doc)
	if err != nil {
		return nil, &ValidationError{Problems: []Problem{{Field: rootField, Message: "not valid JSON: " + err.Error()}}}
	}
	v = applyDefaults(s.doc, s.doc, v, 0)
	if err := s.compiled.Validate(v); err != nil {
		var ve *jsonschema.ValidationError
		if errors.As(err, &ve) {
			return nil, &ValidationError{Problems: problems(ve)}
		}
		return nil, fmt.Errorf("validate document: %w", err)
	}
	return v, nil
}

// Validate compiles schemaJSON and validates docJSON against it. Callers that
// validate many documents against one schema should Compile it once instead.
func Validate(schemaJSON, docJSON []byte) error {
	s, err := Compile(schemaJSON)
	if err != nil {
		return err
	}
	return s.Validate(docJSON)
}

// Decode parses one JSON value the way the validator expects it: numbers as
// json.Number, so that large integers and their text survive a round trip
// unchanged. Data after the value is an error. The task.json evaluator
// decodes with it too, so that both judge the same value.
func Decode(b []byte) (any, error) {
	d := json.NewDecoder(bytes.NewReader(b))
	d.UseNumber()
	var v any
	if err := d.Decode(&v); err != nil {
		return nil, err
	}
	if _, err := d.Token(); !errors.Is(err, io.EOF) {
		return nil, errors.New("unexpected data after the JSON value")
	}
	return v, nil
}
