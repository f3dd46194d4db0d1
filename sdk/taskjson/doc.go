// Package taskjson reads, checks and enforces BK-CI task.json-style
// descriptions of a plugin version's inputs and outputs (seed 004). The
// SDK, the controller and the API shim all call it, so that a description
// means the same thing wherever an invocation's inputs are judged.
//
// It works on *v1alpha1.TaskDescription, the type PluginVersion carries, so
// that callers holding a PluginVersion need no conversion.
//
//   - Parse reads a task.json file (atomCode, execution and other keys of a
//     full BK-CI task.json are accepted and ignored).
//   - Check refuses a malformed description, naming every bad field.
//   - Compile and Evaluate apply defaults and enforce required, rule and
//     rely on an invocation's inputs, reporting every violation at once.
//   - InputsSchema and OutputsSchema derive JSON Schemas, so that one
//     task.json serves both the BK-CI form and the standard plugin API.
//   - SensitiveInputs and SensitiveOutputs name the fields whose values
//     must never be shown.
//
// # Semantics
//
// Defaults: the default of every field that is absent or null is applied
// first, before any rely is evaluated, so a default can make a rely hold.
//
// Missing: a field is missing when it is absent, null, "" or []. A required
// field that is missing is a violation; rules are never checked on a
// missing value (an optional field left empty passes its rules, as in the
// BK-CI form).
//
// Rely: a field with a rely is shown when its expressions hold: AND (or no
// operation) when all hold, OR when any holds, NOT when none holds. A value
// expression holds when the other field equals the value: JSON values are
// compared structurally, and a string equals a number or boolean with the
// same text ("true" equals true, "1" equals 1; numbers compare by value,
// so 1 equals 1.0); when the other field is an array and the value is not,
// the expression holds when an element equals the value (a checkbox list
// containing an option). A regex expression holds when the other field's
// value, as text (numbers and booleans as their JSON text), matches; for an
// array, when any scalar element matches. A field that is absent or null,
// or is itself hidden by its own rely, never satisfies an expression (""
// does: regex ^$ shows a field while another is empty); so rely chains
// (c shown when b is "x", b shown when a is true) hide c when a is false,
// whatever b holds. Check refuses rely cycles.
//
// Hidden by rely: a field hidden by its rely is not required and its rules
// are skipped; its value, if given, is kept in the normalized inputs.
//
// Static hidden (hidden: true) and disabled fields are validated like any
// other: they are hidden from the form, not from the rules, and usually
// carry a default that satisfies them.
//
// Rules: alpha allows [A-Za-z]+, numeric [0-9]+, alpha_dash [A-Za-z0-9_-]+,
// alpha_num [A-Za-z0-9]+ (ASCII only); min and max bound the length in
// characters (runes); regex must match somewhere in the value (anchor it
// with ^ and $ to match the whole value). Strings are checked as they are,
// numbers and booleans as their JSON text, and arrays element by element
// (each scalar element; nested arrays and objects are not checked). Objects
// are not checked by rules.
//
// Regular expressions are Go's (RE2, https://github.com/google/re2/wiki/Syntax):
// BK-CI's front end runs JavaScript regular expressions, and the common
// subset (classes, anchors, groups, repetition) means the same in both, but
// lookarounds (?= ?! ?<= ?<!) and backreferences are not supported and Check
// refuses them.
//
// Messages name the field, its label and the rule, never the value: inputs
// may be sensitive, and an error ends up in statuses, events and logs.
package taskjson
