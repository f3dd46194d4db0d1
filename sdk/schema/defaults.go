package schema

import (
	"strings"
)

// maxDefaultsDepth bounds the walk through "$ref"s, which may be recursive.
const maxDefaultsDepth = 64

// applyDefaults fills the absent properties of v that sch gives a "default",
// recursing into present objects and array items. It works on raw schema
// documents, so schemas written by hand or by the Python framework get the
// same treatment as generated ones.
func applyDefaults(root, sch, v any, depth int) any {
	if depth > maxDefaultsDepth {
		return v
	}
	s, ok := resolve(root, sch)
	if !ok {
		return v
	}
	if all, ok := s["allOf"].([]any); ok {
		for _, sub := range all {
			v = applyDefaults(root, sub, v, depth+1)
		}
	}
	switch v := v.(type) {
	case map[string]any:
		props, _ := s["properties"].(map[string]any)
		for name, ps := range props {
			cur, present := v[name]
			if !present {
				if d, ok := DefaultOf(root, ps); ok {
					v[name] = deepCopy(d)
				}
				continue
			}
			v[name] = applyDefaults(root, ps, cur, depth+1)
		}
		return v
	case []any:
		if items, ok := s["items"]; ok {
			for i := range v {
				v[i] = applyDefaults(root, items, v[i], depth+1)
			}
		}
		return v
	}
	return v
}

// DefaultOf returns the default of the schema sch inside the document root,
// looking through local "$ref"s as generated schemas reference nested
// types; ok is false when it has none.
func DefaultOf(root, sch any) (def any, ok bool) {
	for range maxDefaultsDepth {
		s, ok := sch.(map[string]any)
		if !ok {
			return nil, false
		}
		if d, ok := s["default"]; ok {
			return d, true
		}
		ref, ok := s["$ref"].(string)
		if !ok {
			return nil, false
		}
		sch = Pointer(root, ref)
	}
	return nil, false
}

// resolve follows local "$ref"s until it reaches a schema object.
func resolve(root, sch any) (map[string]any, bool) {
	for range maxDefaultsDepth {
		s, ok := sch.(map[string]any)
		if !ok {
			return nil, false
		}
		ref, ok := s["$ref"].(string)
		if !ok {
			return s, true
		}
		sch = Pointer(root, ref)
	}
	return nil, false
}

// Pointer resolves a local reference such as "#/definitions/Options"
// against the schema document root (decoded JSON); other references, and
// a pointer that leads nowhere, resolve to nil, so no default is applied
// through them.
func Pointer(root any, ref string) any {
	frag, ok := strings.CutPrefix(ref, "#")
	if !ok {
		return nil
	}
	cur := root
	for tok := range strings.SplitSeq(strings.TrimPrefix(frag, "/"), "/") {
		if tok == "" {
			continue
		}
		tok = strings.NewReplacer("~1", "/", "~0", "~").Replace(tok)
		m, ok := cur.(map[string]any)
		if !ok {
			return nil
		}
		cur = m[tok]
	}
	return cur
}

// deepCopy copies a default, which is shared by every document validated
// against the schema and must not be changed by filling in the next one.
func deepCopy(v any) any {
	switch v := v.(type) {
	case map[string]any:
		m := make(map[string]any, len(v))
		for k, e := range v {
			m[k] = deepCopy(e)
		}
		return m
	case []any:
		s := make([]any, len(v))
		for i, e := range v {
			s[i] = deepCopy(e)
		}
		return s
	}
	return v
}
