package schema

import (
	"encoding/json"
	"fmt"
	"math/big"
	"slices"
	"strconv"
	"strings"

	"github.com/santhosh-tekuri/jsonschema/v6"
	"github.com/santhosh-tekuri/jsonschema/v6/kind"
	"golang.org/x/text/language"
	"golang.org/x/text/message"
)

// problems flattens the validator's error tree into one problem per offending
// field, worded for the people who typed the inputs rather than for schema
// authors.
func problems(root *jsonschema.ValidationError) []Problem {
	var out []Problem
	seen := map[Problem]bool{}
	add := func(p Problem) {
		if !seen[p] {
			seen[p] = true
			out = append(out, p)
		}
	}
	var printer *message.Printer
	var walk func(e *jsonschema.ValidationError)
	walk = func(e *jsonschema.ValidationError) {
		switch k := e.ErrorKind.(type) {
		case *kind.AnyOf, *kind.OneOf:
			// The alternatives' own errors mostly restate that the value is
			// not of their shape; one line says it better.
			add(Problem{Field: fieldPath(e.InstanceLocation), Message: "does not match any of the allowed schemas"})
			return
		case *kind.Required:
			for _, m := range k.Missing {
				add(Problem{Field: fieldPath(append(e.InstanceLocation[:len(e.InstanceLocation):len(e.InstanceLocation)], m)), Message: "required"})
			}
			return
		case *kind.AdditionalProperties:
			for _, p := range k.Properties {
				add(Problem{Field: fieldPath(append(e.InstanceLocation[:len(e.InstanceLocation):len(e.InstanceLocation)], p)), Message: "unknown field"})
			}
			return
		}
		if len(e.Causes) > 0 {
			for _, c := range e.Causes {
				walk(c)
			}
			return
		}
		msg, ok := describe(e.ErrorKind)
		if !ok {
			if printer == nil {
				printer = message.NewPrinter(language.English)
			}
			msg = e.ErrorKind.LocalizedString(printer)
		}
		add(Problem{Field: fieldPath(e.InstanceLocation), Message: msg})
	}
	walk(root)
	// The validator walks properties in map order; sorting makes the
	// message the same every time, so it can be compared and deduplicated.
	slices.SortStableFunc(out, func(a, b Problem) int { return strings.Compare(a.Field, b.Field) })
	return out
}

// describe words the common failures; ok is false for the rest, which keep
// the validator's own wording.
func describe(k jsonschema.ErrorKind) (msg string, ok bool) {
	switch k := k.(type) {
	case *kind.Type:
		return fmt.Sprintf("must be %s, got %s", strings.Join(k.Want, " or "), k.Got), true
	case *kind.Minimum:
		return "must be >= " + ratString(k.Want), true
	case *kind.Maximum:
		return "must be <= " + ratString(k.Want), true
	case *kind.ExclusiveMinimum:
		return "must be > " + ratString(k.Want), true
	case *kind.ExclusiveMaximum:
		return "must be < " + ratString(k.Want), true
	case *kind.MultipleOf:
		return "must be a multiple of " + ratString(k.Want), true
	case *kind.MinLength:
		return fmt.Sprintf("must be at least %d characters long", k.Want), true
	case *kind.MaxLength:
		return fmt.Sprintf("must be at most %d characters long", k.Want), true
	case *kind.Pattern:
		return fmt.Sprintf("must match pattern %q", k.Want), true
	case *kind.MinItems:
		return fmt.Sprintf("must have at least %d items", k.Want), true
	case *kind.MaxItems:
		return fmt.Sprintf("must have at most %d items", k.Want), true
	case *kind.Enum:
		return "must be one of " + jsonString(k.Want), true
	case *kind.Const:
		return "must be " + jsonString(k.Want), true
	case *kind.Format:
		return "must be a valid " + k.Want, true
	case *kind.FalseSchema:
		return "not allowed", true
	}
	return "", false
}

// fieldPath turns an instance location into "options.hosts[2].ip".
func fieldPath(loc []string) string {
	var b strings.Builder
	for _, tok := range loc {
		if _, err := strconv.Atoi(tok); err == nil && b.Len() > 0 {
			b.WriteString("[" + tok + "]")
			continue
		}
		if b.Len() > 0 {
			b.WriteByte('.')
		}
		b.WriteString(tok)
	}
	return b.String()
}

func ratString(r *big.Rat) string {
	if r == nil {
		return "?"
	}
	if r.IsInt() {
		return r.Num().String()
	}
	f, _ := r.Float64()
	return strconv.FormatFloat(f, 'g', -1, 64)
}

func jsonString(v any) string {
	b, err := json.Marshal(v)
	if err != nil {
		return fmt.Sprint(v)
	}
	return string(b)
}
