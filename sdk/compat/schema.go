package compat

import (
	"fmt"
	"maps"
	"slices"
	"strings"

	"github.com/bkplugin/bk-plugin-operator/sdk/schema"
)

// maxDepth bounds the walk through nested schemas and "$ref"s, which may
// be recursive.
const maxDepth = 64

// maxSteps bounds the schemas one comparison visits. Definitions that
// refer to others many times over are walked once per path, which grows
// exponentially with their nesting; a webhook must answer all the same.
const maxSteps = 20000

// walker compares two schema documents of one section.
type walker struct {
	section Section
	// out is true for outputs: the new schema must promise all the old
	// one did, rather than accept all the old one did.
	out              bool
	oldRoot, newRoot any
	// active holds the pairs of references being compared, so that a
	// recursive type is compared once, not forever.
	active map[string]bool
	// steps counts the schemas compared, up to maxSteps.
	steps int
	// expandLeft is what remains of expandBudget.
	expandLeft        int
	breaking, notices []Finding
}

func (w *walker) breaks(rule Rule, path, format string, args ...any) {
	w.breaking = append(w.breaking, Finding{Rule: rule, Section: w.section, Path: path, Message: fmt.Sprintf(format, args...)})
}

func (w *walker) note(rule Rule, path, format string, args ...any) {
	w.notices = append(w.notices, Finding{Rule: rule, Section: w.section, Path: path, Message: fmt.Sprintf(format, args...)})
}

// compare compares the schemas of one field (or the whole document).
func (w *walker) compare(path string, oldS, newS any, depth int) {
	if depth > maxDepth {
		return
	}
	w.steps++
	if w.steps == maxSteps {
		// Reported on the section, so that it is listed first.
		w.breaks(RuleCombinatorChanged, string(w.section), "schemas too large to compare (more than %d nested schemas, stopped at %s); the rest is unchecked", maxSteps, path)
	}
	if w.steps >= maxSteps {
		return
	}
	o, oldRef, oldOK := resolve(w.oldRoot, oldS)
	n, newRef, newOK := resolve(w.newRoot, newS)
	if !oldOK || !newOK {
		// A reference outside the document: the same reference is
		// trusted to mean the same thing, another one cannot be checked.
		if oldRef != newRef {
			w.breaks(RuleCombinatorChanged, path, "reference %q changed to %q, which cannot be resolved to compare", oldRef, newRef)
		}
		return
	}
	if oldRef != "" || newRef != "" {
		key := oldRef + "\x00" + newRef
		if w.active[key] {
			return // a recursive type, being compared further up
		}
		w.active[key] = true
		defer delete(w.active, key)
	}
	if !w.compareTypes(path, o, n) {
		return // nothing below a type that changed means the same
	}
	w.compareEnum(path, o, n)
	w.compareBounds(path, o, n)
	w.compareProperties(path, o, n, depth)
	w.compareAdditional(path, o, n, depth)
	w.compareItems(path, o, n, depth)
	w.compareAllOf(path, o, n)
	w.compareOpaque(path, o, n)
}

// compareTypes reports a type change; it returns false when the old and
// new types have nothing in common.
func (w *walker) compareTypes(path string, o, n map[string]any) bool {
	ot, nt := types(o), types(n)
	from, to := ot, nt // the types that must be covered, and by what
	if w.out {
		from, to = nt, ot
	}
	if !covers(to, from) {
		w.breaks(RuleTypeChanged, path, "type changed from %s to %s", typeText(ot), typeText(nt))
	} else if !slices.Equal(ot, nt) {
		w.note(NoticeLoosened, path, "type widened from %s to %s", typeText(ot), typeText(nt))
	}
	return overlap(ot, nt)
}

// overlap reports whether some value has a type in a and a type in b.
func overlap(a, b []string) bool {
	if a == nil || b == nil {
		return true
	}
	return slices.ContainsFunc(a, func(t string) bool { return covers(b, []string{t}) }) ||
		slices.ContainsFunc(b, func(t string) bool { return covers(a, []string{t}) })
}

// types returns a schema's types, sorted; nil means any type.
func types(s map[string]any) []string {
	var ts []string
	switch t := s["type"].(type) {
	case string:
		ts = []string{t}
	case []any:
		for _, e := range t {
			if s, ok := e.(string); ok {
				ts = append(ts, s)
			}
		}
	default:
		return nil
	}
	slices.Sort(ts)
	return slices.Compact(ts)
}

// covers reports whether a value of every type in need is a value of some
// type in have (nil: any type). A number covers an integer.
func covers(have, need []string) bool {
	if have == nil {
		return true
	}
	if need == nil {
		return false
	}
	for _, t := range need {
		if !slices.Contains(have, t) && (t != "integer" || !slices.Contains(have, "number")) {
			return false
		}
	}
	return true
}

func typeText(ts []string) string {
	if ts == nil {
		return "any type"
	}
	return strings.Join(ts, " or ")
}

// compareEnum compares the values an enum or const allows.
func (w *walker) compareEnum(path string, o, n map[string]any) {
	ov, oOK := allowed(o)
	nv, nOK := allowed(n)
	switch {
	case !oOK && !nOK:
		return
	case !w.out && !oOK:
		w.breaks(RuleEnumNarrowed, path, "now limited to %s", strings.Join(nv, ", "))
		return
	case w.out && !nOK:
		w.breaks(RuleEnumWidened, path, "no longer limited to %s", strings.Join(ov, ", "))
		return
	case !oOK || !nOK:
		w.note(NoticeLoosened, path, "enum changed from %s to %s", enumText(ov, oOK), enumText(nv, nOK))
		return
	}
	gone := without(ov, nv)
	added := without(nv, ov)
	if !w.out && len(gone) > 0 {
		w.breaks(RuleEnumNarrowed, path, "no longer accepts %s", strings.Join(gone, ", "))
	}
	if w.out && len(added) > 0 {
		w.breaks(RuleEnumWidened, path, "may now be %s", strings.Join(added, ", "))
	}
	if !w.out && len(added) > 0 {
		w.note(NoticeLoosened, path, "now also accepts %s", strings.Join(added, ", "))
	}
	if w.out && len(gone) > 0 {
		w.note(NoticeLoosened, path, "no longer produces %s", strings.Join(gone, ", "))
	}
}

func enumText(vs []string, ok bool) string {
	if !ok {
		return "any value"
	}
	return "[" + strings.Join(vs, ", ") + "]"
}

// allowed returns the values an enum or const allows, as canonical JSON.
func allowed(s map[string]any) ([]string, bool) {
	var vs []string
	if c, ok := s["const"]; ok {
		vs = []string{canonical(c)}
	}
	if e, ok := s["enum"].([]any); ok {
		var es []string
		for _, v := range e {
			es = append(es, canonical(v))
		}
		if vs != nil {
			es = slices.DeleteFunc(es, func(v string) bool { return v != vs[0] })
		}
		vs = es
	} else if vs == nil {
		return nil, false
	}
	slices.Sort(vs)
	return slices.Compact(vs), true
}

// without returns the elements of a not in b.
func without(a, b []string) []string {
	var out []string
	for _, v := range a {
		if !slices.Contains(b, v) {
			out = append(out, v)
		}
	}
	return out
}

// compareProperties compares an object's fields: removed, added, made
// required or optional, defaults, and each field's own schema.
func (w *walker) compareProperties(path string, o, n map[string]any, depth int) {
	op, _ := o["properties"].(map[string]any)
	np, _ := n["properties"].(map[string]any)
	oreq, nreq := requiredSet(o), requiredSet(n)
	names := map[string]bool{}
	for _, m := range []map[string]any{op, np} {
		for k := range m {
			names[k] = true
		}
	}
	for _, m := range []map[string]bool{oreq, nreq} {
		for k := range m {
			names[k] = true
		}
	}
	for _, name := range slices.Sorted(maps.Keys(names)) {
		p := path + "." + name
		oldS, inOld := op[name]
		newS, inNew := np[name]
		inOld = inOld || oreq[name]
		inNew = inNew || nreq[name]
		what := "input"
		if w.out {
			what = "output"
		}
		switch {
		case !inNew:
			w.breaks(RuleRemoved, p, "%s removed (a rename is a removal and an addition)", what)
			continue
		case !inOld:
			switch {
			case w.out:
				w.note(NoticeAdded, p, "new output")
			case nreq[name] && !hasDefault(w.newRoot, newS):
				w.breaks(RuleRequiredAdded, p, "new required input")
			default:
				w.note(NoticeAdded, p, "new optional input")
			}
			continue
		}
		if oldS == nil {
			oldS = map[string]any{}
		}
		if newS == nil {
			newS = map[string]any{}
		}
		w.compare(p, oldS, newS, depth+1)
		if w.out {
			if oreq[name] && !nreq[name] {
				w.breaks(RuleOutputOptional, p, "output was always present and may now be absent")
			}
			continue
		}
		od, oHas := schema.DefaultOf(w.oldRoot, oldS)
		nd, nHas := schema.DefaultOf(w.newRoot, newS)
		oldReq := oreq[name] && !oHas
		newReq := nreq[name] && !nHas
		switch {
		case newReq && !oldReq && oHas:
			w.breaks(RuleDefaultRemoved, p, "default %s removed: the field is now required", canonical(od))
		case newReq && !oldReq:
			w.breaks(RuleRequiredAdded, p, "was optional, now required")
		case oHas && !nHas:
			w.breaks(RuleDefaultRemoved, p, "default %s removed: callers that leave the field out no longer get it", canonical(od))
		case oHas && nHas && canonical(od) != canonical(nd):
			w.note(NoticeDefaultChanged, p, "default changed from %s to %s", canonical(od), canonical(nd))
		case oldReq && !newReq:
			w.note(NoticeLoosened, p, "was required, now optional")
		}
	}
}

func requiredSet(s map[string]any) map[string]bool {
	out := map[string]bool{}
	req, _ := s["required"].([]any)
	for _, r := range req {
		if name, ok := r.(string); ok {
			out[name] = true
		}
	}
	return out
}

// compareAdditional compares what an object says of fields it does not
// list: absent or true allows any, false none, a schema those it matches.
func (w *walker) compareAdditional(path string, o, n map[string]any, depth int) {
	oa, oHas := o["additionalProperties"]
	na, nHas := n["additionalProperties"]
	if !oHas && !nHas {
		return
	}
	if !isObjectSchema(o) && !isObjectSchema(n) {
		return
	}
	p := path + ".*"
	oFalse, nFalse := oa == false, na == false
	switch {
	case oFalse && nFalse:
	case nFalse:
		w.constraint(p, "fields not listed are now refused", true, false)
	case oFalse:
		w.constraint(p, "fields not listed are now allowed", false, true)
	default:
		if !oHas || oa == true {
			oa = map[string]any{}
		}
		if !nHas || na == true {
			na = map[string]any{}
		}
		w.compare(p, oa, na, depth+1)
	}
}

func isObjectSchema(s map[string]any) bool {
	ts := types(s)
	return ts == nil || slices.Contains(ts, "object")
}

// compareItems compares the schema of an array's elements.
func (w *walker) compareItems(path string, o, n map[string]any, depth int) {
	oi, oHas := o["items"]
	ni, nHas := n["items"]
	if !oHas && !nHas {
		return
	}
	_, oTuple := oi.([]any)
	_, nTuple := ni.([]any)
	if oTuple || nTuple { // draft-07 tuples: compared as a whole
		if canonical(w.expand(w.oldRoot, oi)) != canonical(w.expand(w.newRoot, ni)) {
			w.breaks(RuleCombinatorChanged, path+"[]", "tuple items changed")
		}
		return
	}
	if !oHas || oi == true {
		oi = map[string]any{}
	}
	if !nHas || ni == true {
		ni = map[string]any{}
	}
	w.compare(path+"[]", oi, ni, depth+1)
}

// compareAllOf compares allOf lists as sets: each entry is one more
// constraint, as task.json rules with several patterns become.
func (w *walker) compareAllOf(path string, o, n map[string]any) {
	oa := w.canonicalList(w.oldRoot, o["allOf"])
	na := w.canonicalList(w.newRoot, n["allOf"])
	if added := without(na, oa); len(added) > 0 {
		w.constraint(path, "allOf gained "+strings.Join(added, ", "), true, false)
	}
	if gone := without(oa, na); len(gone) > 0 {
		w.constraint(path, "allOf lost "+strings.Join(gone, ", "), false, true)
	}
}

// compareOpaque compares the keywords whose effect the checker does not
// work out: any change is reported, except an anyOf or oneOf that only
// gained alternatives (inputs) or only lost some (outputs).
func (w *walker) compareOpaque(path string, o, n map[string]any) {
	for _, k := range []string{"anyOf", "oneOf"} {
		oa, na := w.canonicalList(w.oldRoot, o[k]), w.canonicalList(w.newRoot, n[k])
		gone, added := without(oa, na), without(na, oa)
		if len(gone) == 0 && len(added) == 0 {
			continue
		}
		if len(oa) == 0 || len(na) == 0 {
			w.breaks(RuleCombinatorChanged, path, "%s added or removed", k)
			continue
		}
		narrower, wider := len(gone) > 0, len(added) > 0
		if k == "oneOf" && wider {
			narrower = true // a new alternative may make a value match two
		}
		if (!w.out && narrower) || (w.out && wider) {
			w.breaks(RuleCombinatorChanged, path, "%s changed: lost %d and gained %d alternatives", k, len(gone), len(added))
		} else {
			w.note(NoticeLoosened, path, "%s changed: lost %d and gained %d alternatives", k, len(gone), len(added))
		}
	}
	for _, k := range []string{"not", "if", "then", "else", "prefixItems", "contains", "patternProperties", "propertyNames", "dependentRequired", "dependentSchemas", "dependencies", "unevaluatedProperties", "unevaluatedItems"} {
		ov, oHas := o[k]
		nv, nHas := n[k]
		if !oHas && !nHas {
			continue
		}
		if !oHas || !nHas || canonical(w.expand(w.oldRoot, ov)) != canonical(w.expand(w.newRoot, nv)) {
			w.breaks(RuleCombinatorChanged, path, "%s changed, which cannot be checked for compatibility", k)
		}
	}
}

func (w *walker) canonicalList(root, v any) []string {
	list, _ := v.([]any)
	out := make([]string, 0, len(list))
	for _, e := range list {
		out = append(out, canonical(w.expand(root, e)))
	}
	slices.Sort(out)
	return slices.Compact(out)
}
