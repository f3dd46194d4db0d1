package taskjson

import (
	"fmt"
	"unicode/utf8"
)

// ruleViolations checks the rule on a present value: a scalar as its
// text, an array element by element; objects and nested arrays are not
// checked.
func (f *field) ruleViolations(v any) []Violation {
	if f.rule == nil {
		return nil
	}
	if arr, ok := v.([]any); ok {
		var vs []Violation
		for i, el := range arr {
			if s, ok := scalarText(el); ok && s != "" {
				vs = append(vs, f.checkText(fmt.Sprintf("%s[%d]", f.name, i), s)...)
			}
		}
		return vs
	}
	if s, ok := scalarText(v); ok {
		return f.checkText(f.name, s)
	}
	return nil
}

// checkText checks one text against every attribute of the rule. The
// messages say what the rule wants, never what s is.
func (f *field) checkText(name, s string) []Violation {
	r := f.rule
	var vs []Violation
	add := func(rule, msg string) {
		vs = append(vs, Violation{Field: name, Label: f.label, Rule: rule, Message: msg})
	}
	if r.Alpha && !all(s, isLetter) {
		add("alpha", "rule alpha: letters only")
	}
	if r.Numeric && !all(s, isDigit) {
		add("numeric", "rule numeric: digits only")
	}
	if r.AlphaDash && !all(s, func(c rune) bool { return isLetter(c) || isDigit(c) || c == '_' || c == '-' }) {
		add("alpha_dash", "rule alpha_dash: letters, digits, '_' and '-' only")
	}
	if r.AlphaNum && !all(s, func(c rune) bool { return isLetter(c) || isDigit(c) }) {
		add("alpha_num", "rule alpha_num: letters and digits only")
	}
	n := utf8.RuneCountInString(s)
	if r.Min != nil && n < int(*r.Min) {
		add("min", fmt.Sprintf("rule min: at least %d characters", *r.Min))
	}
	if r.Max != nil && n > int(*r.Max) {
		add("max", fmt.Sprintf("rule max: at most %d characters", *r.Max))
	}
	if f.ruleRe != nil && !f.ruleRe.MatchString(s) {
		add("regex", fmt.Sprintf("rule regex %s not matched", f.ruleRe.String()))
	}
	return vs
}

// all reports whether s is non-empty and every character satisfies ok.
func all(s string, ok func(rune) bool) bool {
	if s == "" {
		return false
	}
	for _, c := range s {
		if !ok(c) {
			return false
		}
	}
	return true
}

// isLetter and isDigit are ASCII on purpose: the seed's alpha and numeric
// mean English letters and digits, not every Unicode letter.
func isLetter(c rune) bool { return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' }

func isDigit(c rune) bool { return c >= '0' && c <= '9' }
