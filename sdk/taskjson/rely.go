package taskjson

import (
	"encoding/json"
	"strconv"
	"strings"
)

// visState is where the visibility of one field stands.
type visState int

const (
	visUnknown visState = iota
	visComputing
	visShown
	visHidden
)

// visibility works out, once per field, whether its rely shows it.
type visibility struct {
	e     *Evaluator
	vals  map[string]any
	state map[string]visState
}

// shown reports whether the field's rely shows it (fields without a rely
// are always shown). A field met again while its own visibility is being
// worked out is in a cycle, which Check refuses; it counts as hidden so
// that an unchecked description still terminates.
func (v *visibility) shown(name string) bool {
	switch v.state[name] {
	case visShown:
		return true
	case visHidden, visComputing:
		return false
	}
	f, ok := v.e.fields[name]
	if !ok || f.rely == nil {
		return true
	}
	v.state[name] = visComputing
	held := 0
	for _, x := range f.rely.exprs {
		if v.holds(x) {
			held++
		}
	}
	var show bool
	switch f.rely.op {
	case OperationOr:
		show = held > 0
	case OperationNot:
		show = held == 0
	default:
		show = held == len(f.rely.exprs)
	}
	v.state[name] = visHidden
	if show {
		v.state[name] = visShown
	}
	return show
}

// holds reports whether one expression holds. The other field counts as
// absent when its own rely hides it.
func (v *visibility) holds(x compiledExpr) bool {
	if _, described := v.e.fields[x.key]; described && !v.shown(x.key) {
		return false
	}
	got, ok := v.vals[x.key]
	if !ok || got == nil {
		return false
	}
	if x.re != nil {
		return matchesAny(x.re.MatchString, got)
	}
	if x.value == nil {
		return false
	}
	if equal(x.value, got) {
		return true
	}
	// A scalar is looked for among an array's elements: "show when the
	// checkbox list has php".
	if arr, ok := got.([]any); ok {
		if _, wantArr := x.value.([]any); !wantArr {
			for _, el := range arr {
				if equal(x.value, el) {
					return true
				}
			}
		}
	}
	return false
}

// matchesAny applies match to a scalar's text, or to each scalar element
// of an array until one matches.
func matchesAny(match func(string) bool, v any) bool {
	if arr, ok := v.([]any); ok {
		for _, el := range arr {
			if s, ok := scalarText(el); ok && match(s) {
				return true
			}
		}
		return false
	}
	s, ok := scalarText(v)
	return ok && match(s)
}

// equal compares two decoded JSON values structurally; scalars compare by
// text and numbers by value, so "true" equals true and "1" equals 1.0.
func equal(a, b any) bool {
	switch a := a.(type) {
	case nil:
		return b == nil
	case map[string]any:
		bm, ok := b.(map[string]any)
		if !ok || len(a) != len(bm) {
			return false
		}
		for k, av := range a {
			bv, ok := bm[k]
			if !ok || !equal(av, bv) {
				return false
			}
		}
		return true
	case []any:
		ba, ok := b.([]any)
		if !ok || len(a) != len(ba) {
			return false
		}
		for i := range a {
			if !equal(a[i], ba[i]) {
				return false
			}
		}
		return true
	}
	as, aok := scalarText(a)
	bs, bok := scalarText(b)
	if !aok || !bok {
		return false
	}
	return as == bs || (isNumber(as) && isNumber(bs) && numbersEqual(as, bs))
}

// scalarText returns a string, number or boolean as text: numbers and
// booleans as their JSON text. ok is false for null, arrays and objects.
func scalarText(v any) (string, bool) {
	switch v := v.(type) {
	case string:
		return v, true
	case json.Number:
		return string(v), true
	case bool:
		return strconv.FormatBool(v), true
	}
	return "", false
}

// isNumber reports whether s is a JSON number.
func isNumber(s string) bool {
	if s == "" || strings.TrimSpace(s) != s || (s[0] != '-' && (s[0] < '0' || s[0] > '9')) {
		return false
	}
	return json.Valid([]byte(s))
}

// numbersEqual compares two JSON numbers by value: integers exactly,
// whatever their size, others as float64.
func numbersEqual(a, b string) bool {
	if isInteger(a) && isInteger(b) {
		return a == b || (strings.TrimPrefix(a, "-") == "0" && strings.TrimPrefix(b, "-") == "0")
	}
	x, errX := strconv.ParseFloat(a, 64)
	y, errY := strconv.ParseFloat(b, 64)
	return errX == nil && errY == nil && x == y
}

// isInteger reports whether a JSON number has no fraction or exponent;
// JSON integers have no leading zeros, so equal integers have equal text
// except for -0.
func isInteger(s string) bool { return !strings.ContainsAny(s, ".eE") }
