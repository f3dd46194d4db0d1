package v1alpha1

import (
	"encoding/json"
	"fmt"

	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
)

// TaskDescription is a BK-CI task.json-style description of a version's
// inputs and outputs (seed 004): UI components, grouping, validity rules,
// conditional visibility and sensitivity. The operator enforces required,
// rule and rely on invocation inputs and keeps sensitive values out of
// status, events and logs.
type TaskDescription struct {
	// InputGroups group the input fields in a form.
	// +optional
	// +listType=map
	// +listMapKey=name
	// +kubebuilder:validation:MaxItems=64
	InputGroups []TaskInputGroup `json:"inputGroups,omitempty"`

	// Input describes the input fields, keyed by field name.
	// +optional
	// +kubebuilder:validation:MaxProperties=128
	Input map[string]TaskInput `json:"input,omitempty"`

	// Output describes the output fields, keyed by field name.
	// +optional
	// +kubebuilder:validation:MaxProperties=256
	Output map[string]TaskOutput `json:"output,omitempty"`
}

// TaskInputGroup is a group of input fields.
type TaskInputGroup struct {
	// Name is what input fields put in groupName.
	// +required
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=128
	Name string `json:"name"`
	// Label is the group's title.
	// +optional
	// +kubebuilder:validation:MaxLength=256
	Label string `json:"label,omitempty"`
	// IsExpanded shows the group expanded at first.
	// +optional
	IsExpanded bool `json:"isExpanded,omitempty"`
}

// TaskInput describes one input field: the common attributes of the seed's
// table, typed and validated; the component-specific ones (options,
// optionsConf, list, param, inputType, text, tipStr, ...) kept as written.
//
// +kubebuilder:pruning:PreserveUnknownFields
type TaskInput struct {
	// Label is the field's display name.
	// +optional
	// +kubebuilder:validation:MaxLength=256
	Label string `json:"label,omitempty"`
	// Type is the UI component, such as vuex-input, selector or atom-checkbox.
	// +required
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=64
	Type string `json:"type"`
	// Default is the value used when the caller gives none.
	// +optional
	// +kubebuilder:pruning:PreserveUnknownFields
	// +kubebuilder:validation:Schemaless
	Default *apiextensionsv1.JSON `json:"default,omitempty"`
	// Placeholder is the empty field's hint.
	// +optional
	Placeholder string `json:"placeholder,omitempty"`
	// GroupName names the inputGroups entry the field belongs to.
	// +optional
	GroupName string `json:"groupName,omitempty"`
	// Desc explains the field.
	// +optional
	Desc string `json:"desc,omitempty"`
	// Required fields must have a value, unless rely hides them.
	// +optional
	Required bool `json:"required,omitempty"`
	// Disabled fields are shown but not editable.
	// +optional
	Disabled bool `json:"disabled,omitempty"`
	// Hidden fields are not shown.
	// +optional
	Hidden bool `json:"hidden,omitempty"`
	// IsSensitive values never appear in clear in status, events or logs.
	// +optional
	IsSensitive bool `json:"isSensitive,omitempty"`
	// Rely shows the field only when its conditions hold.
	// +optional
	Rely *TaskRely `json:"rely,omitempty"`
	// Rule restricts the field's value.
	// +optional
	Rule *TaskRule `json:"rule,omitempty"`

	// Extra holds the component-specific attributes as written.
	Extra map[string]apiextensionsv1.JSON `json:"-"`
}

// TaskRely shows a field only when its expressions hold.
type TaskRely struct {
	// Operation combines the expressions: AND (all hold), OR (any holds),
	// NOT (none holds).
	// +optional
	// +kubebuilder:default=AND
	// +kubebuilder:validation:Enum=AND;OR;NOT
	Operation string `json:"operation,omitempty"`
	// Expression lists the conditions.
	// +required
	// +listType=atomic
	// +kubebuilder:validation:MinItems=1
	// +kubebuilder:validation:MaxItems=16
	Expression []TaskRelyExpression `json:"expression"`
}

// TaskRelyExpression is one condition on another field: its value equals
// value, or matches regex. (That it has exactly one of them is checked when
// the description is read: CEL cannot see a schemaless value.)
type TaskRelyExpression struct {
	// Key is the other field's name.
	// +required
	// +kubebuilder:validation:MinLength=1
	Key string `json:"key"`
	// Value is the value the field must equal.
	// +optional
	// +kubebuilder:pruning:PreserveUnknownFields
	// +kubebuilder:validation:Schemaless
	Value *apiextensionsv1.JSON `json:"value,omitempty"`
	// Regex is a regular expression the field's value must match.
	// +optional
	// +kubebuilder:validation:MaxLength=512
	// +kubebuilder:validation:XValidation:rule="''.matches(self) || !''.matches(self)",message="regex must be a valid regular expression"
	Regex *string `json:"regex,omitempty"`
}

// TaskRule restricts a field's value.
//
// +kubebuilder:validation:XValidation:rule="!has(self.min) || !has(self.max) || self.min <= self.max",message="min must not exceed max"
type TaskRule struct {
	// Alpha allows letters only.
	// +optional
	Alpha bool `json:"alpha,omitempty"`
	// Numeric allows digits only.
	// +optional
	Numeric bool `json:"numeric,omitempty"`
	// AlphaDash allows letters, digits, underscores and dashes.
	// +optional
	AlphaDash bool `json:"alpha_dash,omitempty"`
	// AlphaNum allows letters and digits.
	// +optional
	AlphaNum bool `json:"alpha_num,omitempty"`
	// Max is the longest value, in characters.
	// +optional
	// +kubebuilder:validation:Minimum=0
	Max *int32 `json:"max,omitempty"`
	// Min is the shortest value, in characters.
	// +optional
	// +kubebuilder:validation:Minimum=0
	Min *int32 `json:"min,omitempty"`
	// Regex is a regular expression the value must match.
	// +optional
	// +kubebuilder:validation:MaxLength=512
	// +kubebuilder:validation:XValidation:rule="''.matches(self) || !''.matches(self)",message="regex must be a valid regular expression"
	Regex *string `json:"regex,omitempty"`
}

// TaskOutput describes one output field.
type TaskOutput struct {
	// Type is string, artifact (a file archived by the platform) or report
	// (an HTML report).
	// +required
	// +kubebuilder:validation:Enum=string;artifact;report
	Type string `json:"type"`
	// Description explains the output.
	// +optional
	Description string `json:"description,omitempty"`
	// IsSensitive values never appear in clear in status, events or logs.
	// +optional
	IsSensitive bool `json:"isSensitive,omitempty"`
}

// typedTaskInputField reports whether TaskInput types attribute k; every
// other attribute is component-specific and kept in Extra.
func typedTaskInputField(k string) bool {
	switch k {
	case "label", "type", "default", "placeholder", "groupName", "desc",
		"required", "disabled", "hidden", "isSensitive", "rely", "rule":
		return true
	}
	return false
}

// UnmarshalJSON reads the typed attributes and keeps the others in Extra.
func (in *TaskInput) UnmarshalJSON(b []byte) error {
	type plain TaskInput
	var p plain
	if err := json.Unmarshal(b, &p); err != nil {
		return err
	}
	var all map[string]json.RawMessage
	if err := json.Unmarshal(b, &all); err != nil {
		return err
	}
	for k, v := range all {
		if typedTaskInputField(k) {
			continue
		}
		if p.Extra == nil {
			p.Extra = map[string]apiextensionsv1.JSON{}
		}
		p.Extra[k] = apiextensionsv1.JSON{Raw: append([]byte(nil), v...)}
	}
	*in = TaskInput(p)
	return nil
}

// MarshalJSON writes the typed attributes and Extra as one object.
func (in TaskInput) MarshalJSON() ([]byte, error) {
	type plain TaskInput
	b, err := json.Marshal(plain(in))
	if err != nil || len(in.Extra) == 0 {
		return b, err
	}
	all := map[string]json.RawMessage{}
	if err := json.Unmarshal(b, &all); err != nil {
		return nil, err
	}
	for k, v := range in.Extra {
		if typedTaskInputField(k) {
			return nil, fmt.Errorf("task input attribute %q is typed and cannot be in Extra", k)
		}
		all[k] = v.Raw
	}
	return json.Marshal(all)
}
