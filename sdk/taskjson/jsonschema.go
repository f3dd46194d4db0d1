package taskjson

import (
	"encoding/json"
	"slices"
	"strings"

	"github.com/bkplugin/bk-plugin-operator/api/v1alpha1"
)

// InputsSchema derives the JSON Schema of the inputs from a description, in
// the shape the standard plugin API answers ({type, properties, required,
// definitions}): title from label, description from desc, the default,
// and a type by component:
//
//   - atom-checkbox: boolean;
//   - atom-checkbox-list: array of strings (enum of the list's ids);
//   - selector, select-input, devops-select: string, or an array of strings
//     with optionsConf.multiple; selector's options give an enum;
//   - enum-input: string, enum of the list's values;
//   - parameter, dynamic-parameter, dynamic-parameter-simple: array;
//   - anything else: string.
//
// Sensitive fields are "writeOnly" with format "password". Only fields
// required without a rely are "required": a rely makes requirement depend
// on other values, which Evaluate enforces. For the same reason rules
// become minLength, maxLength and pattern only on required string fields
// without a rely (Evaluate skips rules on an empty optional value, which a
// schema cannot say), and a regex only where Go and JSON Schema (ECMA-262)
// read it alike. The schema is a description for callers and a type check;
// Evaluate is the judge of required, rule and rely.
func InputsSchema(d *v1alpha1.TaskDescription) json.RawMessage {
	props := map[string]any{}
	required := []string{}
	if d != nil {
		for _, name := range sortedKeys(d.Input) {
			in := d.Input[name]
			props[name] = inputProperty(in)
			if in.Required && in.Rely == nil {
				required = append(required, name)
			}
		}
	}
	return objectSchema(props, required)
}

// OutputsSchema derives the JSON Schema of the outputs: every output is a
// string (an artifact's path, a report's HTML) with its description;
// reports say contentMediaType text/html, sensitive outputs are writeOnly.
func OutputsSchema(d *v1alpha1.TaskDescription) json.RawMessage {
	props := map[string]any{}
	if d != nil {
		for _, name := range sortedKeys(d.Output) {
			out := d.Output[name]
			p := map[string]any{"type": "string"}
			if out.Description != "" {
				p["description"] = out.Description
			}
			if out.Type == OutputReport {
				p["contentMediaType"] = "text/html"
			}
			if out.IsSensitive {
				p["writeOnly"] = true
			}
			props[name] = p
		}
	}
	return objectSchema(props, []string{})
}

func objectSchema(props map[string]any, required []string) json.RawMessage {
	b, err := json.Marshal(map[string]any{
		"type":        "object",
		"properties":  props,
		"required":    required,
		"definitions": map[string]any{},
	})
	if err != nil {
		// Every value above is a map, a string, a bool or valid raw JSON.
		panic("taskjson: encode derived schema: " + err.Error())
	}
	return b
}

func inputProperty(in v1alpha1.TaskInput) map[string]any {
	p := map[string]any{}
	switch {
	case in.Label != "":
		p["title"] = in.Label
	case extraString(in, "text") != "":
		p["title"] = extraString(in, "text") // a checkbox's label is its text
	}
	if in.Desc != "" {
		p["description"] = in.Desc
	}
	if in.Default != nil && json.Valid(in.Default.Raw) && string(in.Default.Raw) != "null" {
		p["default"] = json.RawMessage(in.Default.Raw)
	}
	p["type"] = ValueKind(in)
	str := map[string]any{"type": "string"}
	switch in.Type {
	case "atom-checkbox-list":
		p["items"] = withEnum(str, extraIDs(in, "list", "id"), false)
	case "selector", "select-input", "devops-select":
		multi := p["type"] == "array"
		if in.Type == "selector" { // the others accept values not in the list
			str = withEnum(str, extraIDs(in, "options", "id"), !multi && (!in.Required || in.Rely != nil))
		}
		if multi {
			p["items"] = str
			break
		}
		for k, v := range str {
			p[k] = v
		}
	case "enum-input":
		if e := withEnum(str, extraIDs(in, "list", "value"), !in.Required || in.Rely != nil); e["enum"] != nil {
			p["enum"] = e["enum"]
		}
	}
	if p["type"] == "string" && in.Required && in.Rely == nil {
		addRule(p, in.Rule)
	}
	if in.IsSensitive {
		p["writeOnly"], p["format"] = true, "password"
	}
	return p
}

// addRule turns a rule into string keywords; several character rules
// become allOf patterns, as a schema has room for one pattern.
func addRule(p map[string]any, r *v1alpha1.TaskRule) {
	if r == nil {
		return
	}
	if r.Min != nil {
		p["minLength"] = *r.Min
	}
	if r.Max != nil {
		p["maxLength"] = *r.Max
	}
	var patterns []string
	for _, c := range []struct {
		on      bool
		pattern string
	}{
		{r.Alpha, "^[A-Za-z]+$"},
		{r.Numeric, "^[0-9]+$"},
		{r.AlphaDash, "^[A-Za-z0-9_-]+$"},
		{r.AlphaNum, "^[A-Za-z0-9]+$"},
	} {
		if c.on {
			patterns = append(patterns, c.pattern)
		}
	}
	if r.Regex != nil && portableRegex(*r.Regex) {
		patterns = append(patterns, *r.Regex)
	}
	switch len(patterns) {
	case 0:
	case 1:
		p["pattern"] = patterns[0]
	default:
		all := make([]any, len(patterns))
		for i, pat := range patterns {
			all[i] = map[string]any{"pattern": pat}
		}
		p["allOf"] = all
	}
}

// portableRegex reports whether a Go regular expression has none of the
// RE2-only syntax (flags and named groups "(?", \A, \z, \p, \P, \Q, \C,
// POSIX classes) that ECMA-262 reads differently or not at all.
func portableRegex(re string) bool {
	for _, s := range []string{"(?", `\A`, `\z`, `\p`, `\P`, `\Q`, `\C`, "[[:"} {
		if strings.Contains(re, s) {
			return false
		}
	}
	return true
}

// withEnum adds an enum of string ids to a string schema; "" joins it when
// the field may be left empty. Non-string ids leave the schema as it is.
func withEnum(s map[string]any, ids []string, allowEmpty bool) map[string]any {
	if len(ids) == 0 {
		return s
	}
	if allowEmpty && !slices.Contains(ids, "") {
		ids = append(ids, "")
	}
	out := map[string]any{"enum": ids}
	for k, v := range s {
		out[k] = v
	}
	return out
}

// extraIDs returns attribute key of every element of the component
// attribute list (options, list); nil when any is missing or not a string.
func extraIDs(in v1alpha1.TaskInput, list, key string) []string {
	raw, ok := in.Extra[list]
	if !ok {
		return nil
	}
	var items []map[string]any
	if json.Unmarshal(raw.Raw, &items) != nil {
		return nil
	}
	ids := make([]string, 0, len(items))
	for _, it := range items {
		id, ok := it[key].(string)
		if !ok {
			return nil
		}
		ids = append(ids, id)
	}
	return ids
}

// ValueKind is the JSON type of the value a component holds, as
// InputsSchema types it: "boolean" for a checkbox, "array" for a checkbox
// list, a parameter table or a multiple-choice selector, else "string".
func ValueKind(in v1alpha1.TaskInput) string {
	switch in.Type {
	case "atom-checkbox":
		return "boolean"
	case "atom-checkbox-list", "parameter", "dynamic-parameter", "dynamic-parameter-simple":
		return "array"
	case "selector", "select-input", "devops-select":
		if multiple(in) {
			return "array"
		}
	}
	return "string"
}

// multiple says whether a selector's optionsConf allows several values.
func multiple(in v1alpha1.TaskInput) bool {
	raw, ok := in.Extra["optionsConf"]
	if !ok {
		return false
	}
	var conf struct {
		Multiple bool `json:"multiple"`
	}
	return json.Unmarshal(raw.Raw, &conf) == nil && conf.Multiple
}

func extraString(in v1alpha1.TaskInput, key string) string {
	raw, ok := in.Extra[key]
	if !ok {
		return ""
	}
	var s string
	_ = json.Unmarshal(raw.Raw, &s) // not a string: no title from it
	return s
}
