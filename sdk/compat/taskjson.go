package compat

import (
	"encoding/json"
	"fmt"
	"maps"
	"slices"
	"strings"

	"github.com/bkplugin/bk-plugin-operator/api/v1alpha1"
	"github.com/bkplugin/bk-plugin-operator/sdk/taskjson"
)

// CompareTaskJSON compares two task.json descriptions: the form callers
// fill in (BK-CI pipelines) and the outputs they read. nil is a version
// without a description; adding one is a notice, removing one breaks the
// forms built from it.
func CompareTaskJSON(old, new *v1alpha1.TaskDescription) Report {
	t := &taskWalker{}
	switch {
	case old == nil && new == nil:
	case old == nil:
		t.note(NoticeAdded, string(SectionTaskJSON), "task.json description added")
	case new == nil:
		t.breaks(RuleRemoved, string(SectionTaskJSON), "task.json description removed: forms built from it no longer match the version")
	default:
		t.inputs(old.Input, new.Input)
		t.outputs(old.Output, new.Output)
	}
	return Report{Breaking: sortFindings(t.breaking), Notices: sortFindings(t.notices)}
}

type taskWalker struct {
	breaking, notices []Finding
}

func (t *taskWalker) breaks(rule Rule, path, format string, args ...any) {
	t.breaking = append(t.breaking, Finding{Rule: rule, Section: SectionTaskJSON, Path: path, Message: fmt.Sprintf(format, args...)})
}

func (t *taskWalker) note(rule Rule, path, format string, args ...any) {
	t.notices = append(t.notices, Finding{Rule: rule, Section: SectionTaskJSON, Path: path, Message: fmt.Sprintf(format, args...)})
}

func (t *taskWalker) inputs(old, new map[string]v1alpha1.TaskInput) {
	names := slices.Sorted(maps.Keys(union(old, new)))
	for _, name := range names {
		p := string(SectionTaskJSON) + ".input." + name
		o, inOld := old[name]
		n, inNew := new[name]
		switch {
		case !inNew:
			t.breaks(RuleRemoved, p, "input removed (a rename is a removal and an addition)")
			continue
		case !inOld:
			switch {
			case !effectivelyRequired(n):
				t.note(NoticeAdded, p, "new optional input")
			case n.Rely == nil:
				t.breaks(RuleRequiredAdded, p, "new required input")
			default:
				t.breaks(RuleRelyRequired, p, "new input, required whenever its rely shows it")
			}
			continue
		}
		t.input(p, o, n)
	}
}

// input compares one input field present in both versions.
func (t *taskWalker) input(p string, o, n v1alpha1.TaskInput) {
	if ok, nk := taskjson.ValueKind(o), taskjson.ValueKind(n); ok != nk {
		t.breaks(RuleTypeChanged, p+".type", "component %s (%s) changed to %s (%s)", o.Type, ok, n.Type, nk)
		return
	} else if o.Type != n.Type {
		t.note(NoticeComponentChanged, p+".type", "component %s changed to %s, both hold a %s", o.Type, n.Type, nk)
	}
	oReq, nReq := effectivelyRequired(o), effectivelyRequired(n)
	oDef, nDef := defaultText(o), defaultText(n)
	switch {
	case nReq && !oReq && o.Required && oDef != "":
		t.breaks(RuleDefaultRemoved, p+".default", "default %s removed: the required field must now be given", oDef)
	case nReq && !oReq && n.Rely == nil:
		t.breaks(RuleRequiredAdded, p+".required", "was optional, now required")
	case nReq && !oReq:
		t.breaks(RuleRelyRequired, p+".required", "was optional, now required whenever its rely shows it")
	case nReq && o.Rely != nil && n.Rely == nil:
		t.breaks(RuleRequiredAdded, p+".rely", "rely removed: the field is now required always, not only when its rely held")
	case nReq && o.Rely != nil && !relyNarrower(o.Rely, n.Rely):
		t.breaks(RuleRelyRequired, p+".rely", "rely changed: the field may be shown, and so required, where it was not")
	case oDef != "" && nDef == "":
		t.breaks(RuleDefaultRemoved, p+".default", "default %s removed: callers that leave the field out no longer get it", oDef)
	case oDef != "" && oDef != nDef:
		t.note(NoticeDefaultChanged, p+".default", "default changed from %s to %s", oDef, nDef)
	case oReq && !nReq:
		t.note(NoticeLoosened, p+".required", "was required, now optional")
	}
	t.rule(p+".rule", o.Rule, n.Rule)
	t.options(p, o, n)
}

// effectivelyRequired: a required field with a default is filled in before
// required is checked, so callers need not give it.
func effectivelyRequired(in v1alpha1.TaskInput) bool {
	return in.Required && defaultText(in) == ""
}

func defaultText(in v1alpha1.TaskInput) string {
	if in.Default == nil || len(in.Default.Raw) == 0 || string(in.Default.Raw) == "null" {
		return ""
	}
	var v any
	d := json.NewDecoder(strings.NewReader(string(in.Default.Raw)))
	d.UseNumber()
	if d.Decode(&v) != nil {
		return string(in.Default.Raw)
	}
	return canonical(v)
}

// rule compares two rules: a character class or bound added, a bound made
// stricter, or a regex added or changed refuses values that passed.
func (t *taskWalker) rule(p string, o, n *v1alpha1.TaskRule) {
	if o == nil {
		o = &v1alpha1.TaskRule{}
	}
	if n == nil {
		n = &v1alpha1.TaskRule{}
	}
	for _, c := range []struct {
		name     string
		old, new bool
	}{
		{"alpha", o.Alpha, n.Alpha},
		{"numeric", o.Numeric, n.Numeric},
		{"alpha_dash", o.AlphaDash, n.AlphaDash},
		{"alpha_num", o.AlphaNum, n.AlphaNum},
	} {
		switch {
		case c.new && !c.old:
			t.breaks(RuleTaskRuleTightened, p+"."+c.name, "rule %s added", c.name)
		case c.old && !c.new:
			t.note(NoticeLoosened, p+"."+c.name, "rule %s removed", c.name)
		}
	}
	t.ruleBound(p+".min", "min", o.Min, n.Min, 1)
	t.ruleBound(p+".max", "max", o.Max, n.Max, -1)
	switch {
	case o.Regex == nil && n.Regex == nil:
	case o.Regex == nil:
		t.breaks(RuleTaskRuleTightened, p+".regex", "rule regex %q added", *n.Regex)
	case n.Regex == nil:
		t.note(NoticeLoosened, p+".regex", "rule regex %q removed", *o.Regex)
	case *o.Regex != *n.Regex:
		t.breaks(RuleTaskRuleTightened, p+".regex", "rule regex changed from %q to %q", *o.Regex, *n.Regex)
	}
}

// ruleBound compares min (sign 1) or max (sign -1).
func (t *taskWalker) ruleBound(p, name string, o, n *int32, sign int32) {
	switch {
	case o == nil && n == nil:
	case o == nil:
		t.breaks(RuleTaskRuleTightened, p, "rule %s %d added", name, *n)
	case n == nil:
		t.note(NoticeLoosened, p, "rule %s %d removed", name, *o)
	case (*n-*o)*sign > 0:
		t.breaks(RuleTaskRuleTightened, p, "rule %s changed from %d to %d", name, *o, *n)
	case *n != *o:
		t.note(NoticeLoosened, p, "rule %s changed from %d to %d", name, *o, *n)
	}
}

// options compares the lists a field's value is picked from. Removing an
// option breaks pipelines that picked it where the list restricts the
// value (selector, atom-checkbox-list, enum-input); select-input and
// devops-select accept any value, so there it is a notice.
func (t *taskWalker) options(p string, o, n v1alpha1.TaskInput) {
	for _, l := range []struct{ attr, key string }{{"options", "id"}, {"list", "id"}, {"list", "value"}} {
		oldIDs, oOK := listIDs(o, l.attr, l.key)
		newIDs, nOK := listIDs(n, l.attr, l.key)
		if !oOK {
			continue
		}
		gone := without(oldIDs, newIDs)
		if !nOK || len(gone) == 0 {
			continue
		}
		msg := fmt.Sprintf("%s no longer offers %s", l.attr, strings.Join(gone, ", "))
		switch n.Type {
		case "select-input", "devops-select":
			t.note(NoticeLoosened, p+"."+l.attr, "%s (the component accepts values not listed)", msg)
		default:
			t.breaks(RuleOptionRemoved, p+"."+l.attr, "%s", msg)
		}
		return
	}
}

// listIDs returns attribute key of every element of the component list
// attr, as canonical JSON; ok is false when the list is absent or not a
// list of objects with that key.
func listIDs(in v1alpha1.TaskInput, attr, key string) ([]string, bool) {
	raw, ok := in.Extra[attr]
	if !ok {
		return nil, false
	}
	d := json.NewDecoder(strings.NewReader(string(raw.Raw)))
	d.UseNumber()
	var items []map[string]any
	if d.Decode(&items) != nil {
		return nil, false
	}
	ids := make([]string, 0, len(items))
	for _, it := range items {
		id, ok := it[key]
		if !ok {
			return nil, false
		}
		ids = append(ids, canonical(id))
	}
	return ids, true
}

// relyNarrower reports whether the new rely shows a field in no case where
// the old one hid it: same operation and, for AND and NOT, more
// expressions (harder to satisfy), for OR fewer. Other changes cannot be
// proved narrower.
func relyNarrower(o, n *v1alpha1.TaskRely) bool {
	if n == nil {
		return false
	}
	op := func(r *v1alpha1.TaskRely) string {
		if r.Operation == "" {
			return "AND"
		}
		return r.Operation
	}
	if op(o) != op(n) {
		return false
	}
	oe, ne := relyExprs(o), relyExprs(n)
	if op(n) == "OR" {
		return len(without(ne, oe)) == 0
	}
	return len(without(oe, ne)) == 0
}

func relyExprs(r *v1alpha1.TaskRely) []string {
	out := make([]string, 0, len(r.Expression))
	for _, e := range r.Expression {
		x := map[string]any{"key": e.Key}
		if e.Value != nil {
			x["value"] = json.RawMessage(e.Value.Raw)
		}
		if e.Regex != nil {
			x["regex"] = *e.Regex
		}
		out = append(out, canonical(x))
	}
	return out
}

func (t *taskWalker) outputs(old, new map[string]v1alpha1.TaskOutput) {
	for _, name := range slices.Sorted(maps.Keys(union(old, new))) {
		p := string(SectionTaskJSON) + ".output." + name
		o, inOld := old[name]
		n, inNew := new[name]
		switch {
		case !inNew:
			t.breaks(RuleRemoved, p, "output removed (a rename is a removal and an addition)")
		case !inOld:
			t.note(NoticeAdded, p, "new output")
		case o.Type != n.Type:
			t.breaks(RuleTypeChanged, p+".type", "output type changed from %s to %s", o.Type, n.Type)
		}
	}
}

// union returns the keys of two maps.
func union[V any](a, b map[string]V) map[string]bool {
	out := make(map[string]bool, len(a)+len(b))
	for k := range a {
		out[k] = true
	}
	for k := range b {
		out[k] = true
	}
	return out
}
