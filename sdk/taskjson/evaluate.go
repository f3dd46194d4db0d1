package taskjson

import (
	"bytes"
	"encoding/json"
	"fmt"
	"regexp"
	"strings"

	"github.com/bkplugin/bk-plugin-operator/api/v1alpha1"
	"github.com/bkplugin/bk-plugin-operator/sdk/schema"
)

// Evaluator enforces one description on invocation inputs. Compile it once
// per description; it is safe for concurrent use.
type Evaluator struct {
	names  []string // sorted, so violations come in a stable order
	fields map[string]*field
}

// field is one input with its regular expressions compiled.
type field struct {
	name    string
	label   string
	def     []byte // the default's JSON, nil without one
	require bool
	rule    *v1alpha1.TaskRule
	ruleRe  *regexp.Regexp
	rely    *compiledRely
}

// compiledRely is a rely with its values decoded and regexes compiled.
type compiledRely struct {
	op    string
	exprs []compiledExpr
}

type compiledExpr struct {
	key   string
	value any            // the value to equal, when re is nil
	re    *regexp.Regexp // the regex to match, or nil
}

// Compile checks d (see Check) and prepares it for Evaluate.
func Compile(d *v1alpha1.TaskDescription) (*Evaluator, error) {
	if err := Check(d); err != nil {
		return nil, err
	}
	e := &Evaluator{fields: map[string]*field{}}
	if d == nil {
		return e, nil
	}
	e.names = sortedKeys(d.Input)
	for _, name := range e.names {
		in := d.Input[name]
		f := &field{name: name, label: in.Label, require: in.Required, rule: in.Rule}
		if in.Default != nil && len(in.Default.Raw) > 0 && string(in.Default.Raw) != "null" {
			f.def = in.Default.Raw
		}
		if in.Rule != nil && in.Rule.Regex != nil {
			f.ruleRe = regexp.MustCompile(*in.Rule.Regex) // Check compiled it
		}
		if in.Rely != nil {
			r := &compiledRely{op: in.Rely.Operation}
			for _, x := range in.Rely.Expression {
				c := compiledExpr{key: x.Key}
				if x.Regex != nil {
					c.re = regexp.MustCompile(*x.Regex)
				} else if v, err := schema.Decode(x.Value.Raw); err == nil {
					c.value = v
				}
				r.exprs = append(r.exprs, c)
			}
			f.rely = r
		}
		e.fields[name] = f
	}
	return e, nil
}

// Evaluate is Compile followed by Evaluator.Evaluate, for one-off checks;
// callers judging many invocations of one version compile once.
func Evaluate(d *v1alpha1.TaskDescription, inputs json.RawMessage) (json.RawMessage, error) {
	e, err := Compile(d)
	if err != nil {
		return nil, err
	}
	return e.Evaluate(inputs)
}

// Evaluate applies the defaults to inputs (a JSON object; empty or null is
// {}), works out which fields their rely shows, and checks required and
// rule on those. It returns the inputs with defaults applied, or a
// *ViolationsError listing every violation. See the package documentation
// for the exact semantics.
func (e *Evaluator) Evaluate(inputs json.RawMessage) (json.RawMessage, error) {
	vals, verr := decodeObject(inputs)
	if verr != nil {
		return nil, &ViolationsError{Violations: []Violation{*verr}}
	}
	for _, name := range e.names {
		f := e.fields[name]
		if v, ok := vals[name]; (!ok || v == nil) && f.def != nil {
			if d, err := schema.Decode(f.def); err == nil { // decoded afresh: no two invocations share it
				vals[name] = d
			}
		}
	}
	vis := visibility{e: e, vals: vals, state: map[string]visState{}}
	var vs []Violation
	for _, name := range e.names {
		f := e.fields[name]
		if !vis.shown(name) {
			continue
		}
		v := vals[name]
		if missing(v) {
			if f.require {
				vs = append(vs, Violation{Field: name, Label: f.label, Rule: RuleRequired, Message: "required"})
			}
			continue
		}
		vs = append(vs, f.ruleViolations(v)...)
	}
	if len(vs) > 0 {
		return nil, &ViolationsError{Violations: vs}
	}
	return encode(vals)
}

// missing reports whether a value counts as not given for required.
func missing(v any) bool {
	switch v := v.(type) {
	case nil:
		return true
	case string:
		return v == ""
	case []any:
		return len(v) == 0
	}
	return false
}

// decodeObject reads the inputs document; the violation it returns on
// failure never quotes the document, which may hold sensitive values.
func decodeObject(raw json.RawMessage) (map[string]any, *Violation) {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 || string(raw) == "null" {
		return map[string]any{}, nil
	}
	v, err := schema.Decode(raw)
	if err != nil {
		return nil, &Violation{Rule: RuleObject, Message: "inputs are not valid JSON"}
	}
	m, ok := v.(map[string]any)
	if !ok {
		return nil, &Violation{Rule: RuleObject, Message: "inputs must be a JSON object"}
	}
	return m, nil
}

// encode writes the normalized inputs without HTML escaping, so that a
// value such as "a<b" comes back as it was sent.
func encode(v any) (json.RawMessage, error) {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return nil, fmt.Errorf("encode inputs: %w", err)
	}
	return json.RawMessage(strings.TrimSuffix(b.String(), "\n")), nil
}
