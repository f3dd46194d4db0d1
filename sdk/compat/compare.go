package compat

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"

	"github.com/bkplugin/bk-plugin-operator/api/v1alpha1"
)

// Version is what callers of a plugin version depend on: its schemas and
// task.json description. The zero value is a version without schemas,
// which accepts any object and promises no outputs.
type Version struct {
	// Inputs, ContextInputs and Outputs are JSON Schema documents, as in a
	// PluginVersion's spec or plugin.VersionInfo; empty or null means
	// {"type":"object"}, as the SDK and the manager read it.
	Inputs, ContextInputs, Outputs json.RawMessage
	// TaskJSON is the version's task.json description, or nil.
	TaskJSON *v1alpha1.TaskDescription
}

// FromSpec returns the parts of a PluginVersion's spec that Compare
// compares, so that a webhook holding the old and new objects needs no
// conversion of its own.
func FromSpec(spec *v1alpha1.PluginVersionSpec) Version {
	if spec == nil {
		return Version{}
	}
	var v Version
	if spec.Inputs != nil {
		v.Inputs = spec.Inputs.Raw
	}
	if spec.ContextInputs != nil {
		v.ContextInputs = spec.ContextInputs.Raw
	}
	if spec.Outputs != nil {
		v.Outputs = spec.Outputs.Raw
	}
	v.TaskJSON = spec.TaskJSON
	return v
}

// Compare lists the changes from old to new that break callers of old, and
// the harmless ones as notices. It fails only when a schema is not JSON; a
// schema it cannot fully understand yields findings, never an error.
func Compare(old, new Version) (Report, error) {
	var all Report
	for _, part := range []struct {
		section  Section
		old, new json.RawMessage
	}{
		{SectionInputs, old.Inputs, new.Inputs},
		{SectionContextInputs, old.ContextInputs, new.ContextInputs},
		{SectionOutputs, old.Outputs, new.Outputs},
	} {
		r, err := CompareSchemas(part.section, part.old, part.new)
		if err != nil {
			return Report{}, err
		}
		all.Breaking = append(all.Breaking, r.Breaking...)
		all.Notices = append(all.Notices, r.Notices...)
	}
	r := CompareTaskJSON(old.TaskJSON, new.TaskJSON)
	all.Breaking = sortFindings(append(all.Breaking, r.Breaking...))
	all.Notices = sortFindings(append(all.Notices, r.Notices...))
	return all, nil
}

// CompareSchemas compares the old and new JSON Schema of one section.
// Inputs and context inputs are compared as documents callers send (the
// new schema must accept all the old one accepted); outputs as documents
// callers receive (the new schema must promise all the old one promised).
func CompareSchemas(section Section, old, new json.RawMessage) (Report, error) {
	oldDoc, err := decodeSchema(old)
	if err != nil {
		return Report{}, fmt.Errorf("%s: old schema: %w", section, err)
	}
	newDoc, err := decodeSchema(new)
	if err != nil {
		return Report{}, fmt.Errorf("%s: new schema: %w", section, err)
	}
	if canonical(oldDoc) == canonical(newDoc) {
		return Report{}, nil // the common case, and no walk to bound
	}
	w := &walker{
		section:    section,
		out:        section == SectionOutputs,
		oldRoot:    oldDoc,
		newRoot:    newDoc,
		active:     map[string]bool{},
		expandLeft: expandBudget,
	}
	w.compare(string(section), oldDoc, newDoc, 0)
	return Report{Breaking: sortFindings(w.breaking), Notices: sortFindings(w.notices)}, nil
}

// decodeSchema parses a schema document, numbers as json.Number so that
// bounds compare exactly.
func decodeSchema(raw json.RawMessage) (any, error) {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 || bytes.Equal(raw, []byte("null")) {
		return map[string]any{"type": "object"}, nil
	}
	d := json.NewDecoder(bytes.NewReader(raw))
	d.UseNumber()
	var v any
	if err := d.Decode(&v); err != nil {
		return nil, fmt.Errorf("not JSON: %w", err)
	}
	if _, err := d.Token(); !errors.Is(err, io.EOF) {
		return nil, errors.New("not JSON: unexpected data after the schema")
	}
	switch v.(type) {
	case map[string]any, bool:
		return v, nil
	}
	return nil, fmt.Errorf("a JSON Schema is an object or a boolean, not %s", raw)
}
