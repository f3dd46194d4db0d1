package compat

import (
	"encoding/json"
	"fmt"
	"math/big"

	"github.com/bkplugin/bk-plugin-operator/sdk/schema"
)

// Bounds: a lower bound is stricter when added or raised, an upper bound
// when added or lowered.
var (
	lowerBounds = []string{"minimum", "exclusiveMinimum", "minLength", "minItems", "minProperties"}
	upperBounds = []string{"maximum", "exclusiveMaximum", "maxLength", "maxItems", "maxProperties"}
)

// compareBounds compares the keywords that restrict a value of one type:
// bounds, multipleOf, pattern, format and uniqueItems.
func (w *walker) compareBounds(path string, o, n map[string]any) {
	for _, k := range lowerBounds {
		w.bound(path, k, o, n, 1)
	}
	for _, k := range upperBounds {
		w.bound(path, k, o, n, -1)
	}
	w.multipleOf(path, o, n)
	for _, k := range []string{"pattern", "format"} {
		ov, oHas := o[k]
		nv, nHas := n[k]
		switch {
		case !oHas && !nHas:
		case !oHas:
			w.constraint(path, fmt.Sprintf("%s %s added", k, canonical(nv)), true, false)
		case !nHas:
			w.constraint(path, fmt.Sprintf("%s %s removed", k, canonical(ov)), false, true)
		case canonical(ov) != canonical(nv):
			// Whether one regular expression matches less than another
			// cannot be decided here: a change is both.
			w.constraint(path, fmt.Sprintf("%s changed from %s to %s", k, canonical(ov), canonical(nv)), true, true)
		}
	}
	ou, nu := o["uniqueItems"] == true, n["uniqueItems"] == true
	if ou != nu {
		w.constraint(path, fmt.Sprintf("uniqueItems changed from %t to %t", ou, nu), nu, ou)
	}
}

// bound compares one bound; sign is 1 for a lower bound, -1 for an upper.
func (w *walker) bound(path, k string, o, n map[string]any, sign int) {
	ov, oHas := o[k]
	nv, nHas := n[k]
	switch {
	case !oHas && !nHas:
		return
	case !oHas:
		w.constraint(path, fmt.Sprintf("%s %s added", k, canonical(nv)), true, false)
		return
	case !nHas:
		w.constraint(path, fmt.Sprintf("%s %s removed", k, canonical(ov)), false, true)
		return
	}
	a, aOK := number(ov)
	b, bOK := number(nv)
	if !aOK || !bOK {
		// Draft-04's boolean exclusiveMinimum, say: unequal is both.
		if canonical(ov) != canonical(nv) {
			w.constraint(path, fmt.Sprintf("%s changed from %s to %s", k, canonical(ov), canonical(nv)), true, true)
		}
		return
	}
	c := b.Cmp(a) * sign
	if c == 0 {
		return
	}
	verb := "raised"
	if b.Cmp(a) < 0 {
		verb = "lowered"
	}
	w.constraint(path, fmt.Sprintf("%s %s from %s to %s", k, verb, canonical(ov), canonical(nv)), c > 0, c < 0)
}

// multipleOf: a new multiple of the old one allows fewer values, a divisor
// more; any other change both.
func (w *walker) multipleOf(path string, o, n map[string]any) {
	ov, oHas := o["multipleOf"]
	nv, nHas := n["multipleOf"]
	switch {
	case !oHas && !nHas:
		return
	case !oHas:
		w.constraint(path, fmt.Sprintf("multipleOf %s added", canonical(nv)), true, false)
		return
	case !nHas:
		w.constraint(path, fmt.Sprintf("multipleOf %s removed", canonical(ov)), false, true)
		return
	}
	a, aOK := number(ov)
	b, bOK := number(nv)
	if aOK && bOK && a.Cmp(b) == 0 {
		return
	}
	msg := fmt.Sprintf("multipleOf changed from %s to %s", canonical(ov), canonical(nv))
	switch {
	case !aOK || !bOK || a.Sign() == 0 || b.Sign() == 0:
		w.constraint(path, msg, true, true)
	case new(big.Rat).Quo(b, a).IsInt():
		w.constraint(path, msg, true, false)
	case new(big.Rat).Quo(a, b).IsInt():
		w.constraint(path, msg, false, true)
	default:
		w.constraint(path, msg, true, true)
	}
}

// constraint records a changed constraint that makes the schema accept
// fewer values (stricter), more (looser), or some fewer and some more.
// Fewer breaks callers of inputs, more breaks consumers of outputs.
func (w *walker) constraint(path, msg string, stricter, looser bool) {
	switch {
	case !w.out && stricter:
		w.breaks(RuleConstraintTightened, path, "%s", msg)
	case w.out && looser:
		w.breaks(RuleConstraintLoosened, path, "%s", msg)
	case stricter || looser:
		w.note(NoticeLoosened, path, "%s", msg)
	}
}

// number reads a JSON number exactly.
func number(v any) (*big.Rat, bool) {
	n, ok := v.(json.Number)
	if !ok {
		return nil, false
	}
	r, ok := new(big.Rat).SetString(n.String())
	return r, ok
}

// canonical is a value's JSON text with object keys sorted, so that equal
// values compare equal as strings.
func canonical(v any) string {
	b, err := json.Marshal(v)
	if err != nil {
		// Decoded JSON always encodes; a value that does not is unequal
		// to every other.
		return fmt.Sprintf("%#v", v)
	}
	return string(b)
}

// resolve follows local "$ref"s to a schema object. It returns the first
// reference followed ("" when none), and ok false for a reference it
// cannot resolve. Boolean schemas become objects: true is {}, false
// {"not":{}}.
func resolve(root, s any) (m map[string]any, ref string, ok bool) {
	for range maxDepth {
		switch v := s.(type) {
		case bool:
			if v {
				return map[string]any{}, ref, true
			}
			return map[string]any{"not": map[string]any{}}, ref, true
		case map[string]any:
			r, isRef := v["$ref"].(string)
			if !isRef {
				return v, ref, true
			}
			if ref == "" {
				ref = r
			}
			s = schema.Pointer(root, r)
			if s == nil {
				return nil, r, false
			}
		default:
			return nil, ref, false
		}
	}
	return nil, ref, false
}

// hasDefault says whether the field s has a default (schema.DefaultOf).
func hasDefault(root, s any) bool {
	_, ok := schema.DefaultOf(root, s)
	return ok
}

// expandBudget bounds the nodes the expansions of one comparison produce:
// a definition that refers to itself several times would otherwise grow
// exponentially.
const expandBudget = 50000

// expand replaces local "$ref"s with what they name, a few levels deep, so
// that opaque keywords compare by content and not by definition name.
// Past the walker's budget it leaves references as they are, which can
// only make more changes visible, never hide one.
func (w *walker) expand(root, v any) any {
	return expandWithin(root, v, 0, &w.expandLeft)
}

func expandWithin(root, v any, depth int, budget *int) any {
	*budget--
	if *budget < 0 {
		return v
	}
	switch v := v.(type) {
	case map[string]any:
		if ref, ok := v["$ref"].(string); ok && depth < 8 {
			if t := schema.Pointer(root, ref); t != nil {
				return expandWithin(root, t, depth+1, budget)
			}
		}
		out := make(map[string]any, len(v))
		for k, e := range v {
			out[k] = expandWithin(root, e, depth, budget)
		}
		return out
	case []any:
		out := make([]any, len(v))
		for i, e := range v {
			out[i] = expandWithin(root, e, depth, budget)
		}
		return out
	}
	return v
}
