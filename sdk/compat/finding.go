package compat

import (
	"cmp"
	"fmt"
	"io"
	"slices"
	"strings"
)

// Rule names the versioning rule a change breaks (or, for a notice, the
// kind of harmless change). Rules are stable strings: tools and webhooks
// may match on them.
type Rule string

// The rules a breaking change can break.
const (
	// RuleRequiredAdded: an input (or a nested field of one) is required in
	// the new version and was not in the old one, either new or made
	// required; callers that leave it out are refused.
	RuleRequiredAdded Rule = "required-added"
	// RuleRemoved: an input or output the old version had is gone (a rename
	// is a removal and an addition). Callers' values for a removed input
	// are ignored or refused; consumers of a removed output get nothing.
	RuleRemoved Rule = "removed"
	// RuleTypeChanged: the field's JSON type (or task.json component's
	// value kind, or output type) changed to one that does not cover the
	// old one.
	RuleTypeChanged Rule = "type-changed"
	// RuleEnumNarrowed: an input accepts fewer values from its enum (or
	// const), or gained an enum where it had none.
	RuleEnumNarrowed Rule = "enum-narrowed"
	// RuleEnumWidened: an output may now produce values its old enum (or
	// const) did not allow, which consumers may not handle.
	RuleEnumWidened Rule = "enum-widened"
	// RuleConstraintTightened: an input constraint (pattern, format,
	// minimum, maximum, exclusiveMinimum, exclusiveMaximum, multipleOf,
	// minLength, maxLength, minItems, maxItems, uniqueItems, minProperties,
	// maxProperties, additionalProperties, allOf) was added or made
	// stricter: values the old version accepted are refused.
	RuleConstraintTightened Rule = "constraint-tightened"
	// RuleConstraintLoosened: an output constraint was removed or made
	// looser: the plugin may produce values consumers were promised it
	// would not.
	RuleConstraintLoosened Rule = "constraint-loosened"
	// RuleDefaultRemoved: an input lost its default. Where the default made
	// it optional it is now required; elsewhere callers that leave it out
	// get no value instead of the default.
	RuleDefaultRemoved Rule = "default-removed"
	// RuleOutputOptional: an output that was always present (required in
	// the outputs schema) may now be absent.
	RuleOutputOptional Rule = "output-optional"
	// RuleCombinatorChanged: an anyOf, oneOf, not, if/then/else or $ref the
	// checker cannot compare changed; reported as breaking because it
	// cannot be proved harmless.
	RuleCombinatorChanged Rule = "combinator-changed"
	// RuleTaskRuleTightened: a task.json input's rule (alpha, numeric,
	// alpha_dash, alpha_num, min, max, regex) was added or made stricter.
	RuleTaskRuleTightened Rule = "task-rule-tightened"
	// RuleOptionRemoved: a task.json select list (selector options,
	// atom-checkbox-list or enum-input list) lost an option callers could
	// pick.
	RuleOptionRemoved Rule = "option-removed"
	// RuleRelyRequired: a required task.json input's rely changed so that
	// it is shown, and so required, in cases where it was not before.
	RuleRelyRequired Rule = "rely-required"
)

// The kinds of harmless change listed as notices.
const (
	// NoticeAdded: an optional input, or an output, was added.
	NoticeAdded Rule = "added"
	// NoticeLoosened: an input constraint was loosened, or an output
	// constraint tightened.
	NoticeLoosened Rule = "loosened"
	// NoticeDefaultChanged: an input's default changed value; callers
	// that leave it out get the new one.
	NoticeDefaultChanged Rule = "default-changed"
	// NoticeComponentChanged: a task.json input's component changed
	// without changing the kind of value it holds.
	NoticeComponentChanged Rule = "component-changed"
)

// Section is the part of a version a finding is about.
type Section string

// The sections of a version, in the order findings are listed.
const (
	SectionInputs        Section = "inputs"
	SectionContextInputs Section = "contextInputs"
	SectionOutputs       Section = "outputs"
	SectionTaskJSON      Section = "taskJSON"
)

func (s Section) order() int {
	switch s {
	case SectionInputs:
		return 0
	case SectionContextInputs:
		return 1
	case SectionOutputs:
		return 2
	}
	return 3
}

// Finding is one change between two versions.
type Finding struct {
	// Rule is the rule the change breaks, or the kind of a notice.
	Rule Rule `json:"rule"`
	// Section is the part of the version the field is in.
	Section Section `json:"section"`
	// Path names the field, starting with the section: "inputs.options.name",
	// "outputs.hosts[].ip", "taskJSON.input.branch.rule.max". "[]" stands
	// for every element of an array, "*" for every additional property.
	Path string `json:"path"`
	// Message says what changed, old and new value included, in words an
	// author can act on.
	Message string `json:"message"`
}

// String formats a finding as "path: rule: message".
func (f Finding) String() string {
	return fmt.Sprintf("%s: %s: %s", f.Path, f.Rule, f.Message)
}

// Report is the outcome of comparing two versions.
type Report struct {
	// Breaking lists the changes that break callers, in a stable order
	// (by section, path, then rule).
	Breaking []Finding `json:"breaking,omitempty"`
	// Notices lists harmless changes, in the same order, for information.
	Notices []Finding `json:"notices,omitempty"`
}

// Compatible reports whether the new version breaks no caller.
func (r Report) Compatible() bool { return len(r.Breaking) == 0 }

// maxErrorFindings bounds the findings Error lists, so that a denial
// reason stays readable and within what an API response carries.
const maxErrorFindings = 20

// Error returns the breaking changes as one message, "" when compatible:
// "2 breaking changes: inputs.name: required-added: ...; ...". Past 20
// findings it ends with "; and N more". A webhook can return it as its
// denial reason.
func (r Report) Error() string {
	if r.Compatible() {
		return ""
	}
	n := min(len(r.Breaking), maxErrorFindings)
	parts := make([]string, n, n+1)
	for i, f := range r.Breaking[:n] {
		parts[i] = f.String()
	}
	if rest := len(r.Breaking) - n; rest > 0 {
		parts = append(parts, fmt.Sprintf("and %d more", rest))
	}
	noun := "changes"
	if len(r.Breaking) == 1 {
		noun = "change"
	}
	return fmt.Sprintf("%d breaking %s: %s", len(r.Breaking), noun, strings.Join(parts, "; "))
}

// Write prints the report, one finding a line, breaking changes first,
// each line prefixed with indent.
func (r Report) Write(w io.Writer, indent string) error {
	for _, f := range r.Breaking {
		if _, err := fmt.Fprintf(w, "%sBREAKING %s\n", indent, f); err != nil {
			return err
		}
	}
	for _, f := range r.Notices {
		if _, err := fmt.Fprintf(w, "%snotice   %s\n", indent, f); err != nil {
			return err
		}
	}
	return nil
}

// sortFindings puts findings in their stable order and drops exact
// duplicates (a $ref reached twice reports once).
func sortFindings(fs []Finding) []Finding {
	slices.SortStableFunc(fs, func(a, b Finding) int {
		return cmp.Or(
			cmp.Compare(a.Section.order(), b.Section.order()),
			cmp.Compare(a.Path, b.Path),
			cmp.Compare(a.Rule, b.Rule),
			cmp.Compare(a.Message, b.Message),
		)
	})
	return slices.Compact(fs)
}
