package taskjson

import (
	"strings"

	"github.com/bkplugin/bk-plugin-operator/sdk/schema"
)

// Rule names a Violation reports, besides the rule attributes of the seed
// (alpha, numeric, alpha_dash, alpha_num, min, max, regex).
const (
	// RuleRequired is the required attribute.
	RuleRequired = "required"
	// RuleObject is reported when the inputs are not a JSON object.
	RuleObject = "object"
)

// Violation is one input that breaks its description.
type Violation struct {
	// Field is the input's name; an element of an array is named
	// "name[2]"; "" is the inputs document as a whole.
	Field string
	// Label is the field's label, "" when it has none.
	Label string
	// Rule is what was broken: "required" or a rule attribute such as
	// "regex" or "min".
	Rule string
	// Message says what the rule wants, never what was given: values may
	// be sensitive.
	Message string
}

// Subject returns how messages name the field: "version (版本号)", or
// the name alone when the field has no label.
func (v Violation) Subject() string {
	if v.Label == "" {
		return v.Field
	}
	return v.Field + " (" + v.Label + ")"
}

// String returns "version (版本号): rule regex ^\d+$ not matched".
func (v Violation) String() string {
	if v.Field == "" {
		return v.Message
	}
	return v.Subject() + ": " + v.Message
}

// ViolationsError lists every violation of one invocation's inputs, in
// field order. Callers that want the fields use errors.As.
type ViolationsError struct {
	Violations []Violation
}

// Error returns "inputs validation error: version (版本号): rule regex
// ^\d+\.\d+\.\d+$ not matched; approver (Approver): required", with the
// prefix of schema.InputsError so that callers recognise both alike.
func (e *ViolationsError) Error() string {
	parts := make([]string, len(e.Violations))
	for i, v := range e.Violations {
		parts[i] = v.String()
	}
	return schema.InputsErrorPrefix + strings.Join(parts, "; ")
}

// Problems returns the violations as schema problems named by their
// subject, so that they merge with schema validation problems into one
// schema.InputsError.
func (e *ViolationsError) Problems() []schema.Problem {
	out := make([]schema.Problem, len(e.Violations))
	for i, v := range e.Violations {
		out[i] = schema.Problem{Field: v.Subject(), Message: v.Message}
	}
	return out
}
