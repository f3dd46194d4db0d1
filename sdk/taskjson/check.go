package taskjson

import (
	"encoding/json"
	"fmt"
	"regexp"
	"slices"
	"strings"

	"github.com/bkplugin/bk-plugin-operator/api/v1alpha1"
)

// Output types a task.json may declare (seed 004's output table).
const (
	OutputString   = "string"
	OutputArtifact = "artifact"
	OutputReport   = "report"
)

// Rely operations; an empty operation is AND.
const (
	OperationAnd = "AND"
	OperationOr  = "OR"
	OperationNot = "NOT"
)

// Problem is one reason a description is malformed.
type Problem struct {
	// Field is the offending attribute's path, such as
	// "input.version.rule.regex" or "input.approver.rely.expression[0].key".
	Field string
	// Message says what is wrong with it.
	Message string
}

// String returns "field: message".
func (p Problem) String() string { return p.Field + ": " + p.Message }

// DescriptionError lists every problem of a malformed description, sorted
// by field. Callers that prefix the paths (with "spec.taskJSON.", say) use
// errors.As and read Problems.
type DescriptionError struct {
	Problems []Problem
}

// Error returns "invalid task.json description: input.x.type: required; ...".
func (e *DescriptionError) Error() string {
	parts := make([]string, len(e.Problems))
	for i, p := range e.Problems {
		parts[i] = p.String()
	}
	return "invalid task.json description: " + strings.Join(parts, "; ")
}

// Check reports every problem of a description at once as a
// *DescriptionError, or nil when it is well formed: every input has a type,
// a known group and a well-formed rule and rely; every output has a known
// type; every regular expression compiles (RE2: see the package
// documentation); rely expressions name other inputs, have exactly one of
// value and regex, and form no cycle.
func Check(d *v1alpha1.TaskDescription) error {
	if d == nil {
		return nil
	}
	var ps []Problem
	add := func(field, format string, args ...any) {
		ps = append(ps, Problem{Field: field, Message: fmt.Sprintf(format, args...)})
	}
	groups := map[string]bool{}
	for i, g := range d.InputGroups {
		f := fmt.Sprintf("inputGroups[%d].name", i)
		switch {
		case g.Name == "":
			add(f, "required")
		case groups[g.Name]:
			add(f, "group %q is declared twice", g.Name)
		}
		groups[g.Name] = true
	}
	for _, name := range sortedKeys(d.Input) {
		in := d.Input[name]
		f := "input." + name
		if name == "" {
			add("input", "a field has an empty name")
		}
		if in.Type == "" {
			add(f+".type", "required")
		}
		if in.Default != nil && !json.Valid(in.Default.Raw) {
			add(f+".default", "not valid JSON")
		}
		if in.GroupName != "" && !groups[in.GroupName] {
			add(f+".groupName", "group %q is not declared in inputGroups", in.GroupName)
		}
		ps = append(ps, checkRule(f+".rule", in.Rule)...)
		ps = append(ps, checkRely(f+".rely", name, in.Rely, d.Input)...)
	}
	ps = append(ps, relyCycles(d.Input)...)
	for _, name := range sortedKeys(d.Output) {
		out := d.Output[name]
		f := "output." + name
		if name == "" {
			add("output", "a field has an empty name")
		}
		switch out.Type {
		case OutputString, OutputArtifact, OutputReport:
		case "":
			add(f+".type", "required: string, artifact or report")
		default:
			add(f+".type", "%q is not string, artifact or report", out.Type)
		}
	}
	if len(ps) == 0 {
		return nil
	}
	slices.SortStableFunc(ps, func(a, b Problem) int { return strings.Compare(a.Field, b.Field) })
	return &DescriptionError{Problems: ps}
}

func checkRule(f string, r *v1alpha1.TaskRule) []Problem {
	if r == nil {
		return nil
	}
	var ps []Problem
	if r.Min != nil && *r.Min < 0 {
		ps = append(ps, Problem{f + ".min", fmt.Sprintf("must be >= 0, got %d", *r.Min)})
	}
	if r.Max != nil && *r.Max < 0 {
		ps = append(ps, Problem{f + ".max", fmt.Sprintf("must be >= 0, got %d", *r.Max)})
	}
	if r.Min != nil && r.Max != nil && *r.Min > *r.Max {
		ps = append(ps, Problem{f, fmt.Sprintf("min %d exceeds max %d", *r.Min, *r.Max)})
	}
	if r.Regex != nil {
		if _, err := regexp.Compile(*r.Regex); err != nil {
			ps = append(ps, Problem{f + ".regex", err.Error()})
		}
	}
	return ps
}

func checkRely(f, self string, r *v1alpha1.TaskRely, inputs map[string]v1alpha1.TaskInput) []Problem {
	if r == nil {
		return nil
	}
	var ps []Problem
	switch r.Operation {
	case "", OperationAnd, OperationOr, OperationNot:
	default:
		ps = append(ps, Problem{f + ".operation", fmt.Sprintf("%q is not AND, OR or NOT", r.Operation)})
	}
	if len(r.Expression) == 0 {
		ps = append(ps, Problem{f + ".expression", "needs at least one expression"})
	}
	for i, e := range r.Expression {
		ef := fmt.Sprintf("%s.expression[%d]", f, i)
		switch _, ok := inputs[e.Key]; {
		case e.Key == "":
			ps = append(ps, Problem{ef + ".key", "required"})
		case e.Key == self:
			ps = append(ps, Problem{ef + ".key", "a field cannot rely on itself"})
		case !ok:
			ps = append(ps, Problem{ef + ".key", fmt.Sprintf("%q names no input field", e.Key)})
		}
		switch hasValue := hasValue(e); {
		case hasValue && e.Regex != nil:
			ps = append(ps, Problem{ef, "has both value and regex; give one"})
		case !hasValue && e.Regex == nil:
			ps = append(ps, Problem{ef, "has neither value nor regex; give one"})
		}
		if e.Value != nil && len(e.Value.Raw) > 0 && !json.Valid(e.Value.Raw) {
			ps = append(ps, Problem{ef + ".value", "not valid JSON"})
		}
		if e.Regex != nil {
			if _, err := regexp.Compile(*e.Regex); err != nil {
				ps = append(ps, Problem{ef + ".regex", err.Error()})
			}
		}
	}
	return ps
}

// relyCycles reports each field whose rely leads back to itself through
// other fields: its visibility would depend on itself. (A field relying
// directly on itself is reported by checkRely.)
func relyCycles(inputs map[string]v1alpha1.TaskInput) []Problem {
	var ps []Problem
	for _, name := range sortedKeys(inputs) {
		if path := cycleFrom(name, inputs); path != nil {
			ps = append(ps, Problem{"input." + name + ".rely", "rely cycle " + strings.Join(path, " -> ")})
		}
	}
	return ps
}

// cycleFrom returns the path from start back to start through rely keys,
// or nil when there is none (or only the self-reference checkRely reports).
func cycleFrom(start string, inputs map[string]v1alpha1.TaskInput) []string {
	seen := map[string]bool{}
	var walk func(name string, path []string) []string
	walk = func(name string, path []string) []string {
		in, ok := inputs[name]
		if !ok || in.Rely == nil {
			return nil
		}
		for _, e := range in.Rely.Expression {
			switch {
			case e.Key == start && name != start:
				return append(slices.Clone(path), start)
			case e.Key == name || seen[e.Key]:
				continue
			}
			seen[e.Key] = true
			if p := walk(e.Key, append(path, e.Key)); p != nil {
				return p
			}
		}
		return nil
	}
	return walk(start, []string{start})
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

// hasValue reports whether a rely expression compares with a value; a null
// value compares with nothing, as a missing field never satisfies one.
func hasValue(e v1alpha1.TaskRelyExpression) bool {
	return e.Value != nil && len(e.Value.Raw) > 0 && string(e.Value.Raw) != "null"
}
