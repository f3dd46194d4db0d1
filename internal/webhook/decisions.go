package webhook

import (
	"encoding/json"
	"fmt"
	"reflect"

	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	"k8s.io/apimachinery/pkg/util/validation/field"

	bkv1 "github.com/bkplugin/bk-plugin-operator/api/v1alpha1"
	"github.com/bkplugin/bk-plugin-operator/sdk/compat"
)

// maxFindingErrors bounds the field errors one denial lists, so that the
// answer stays readable and well within what an API response carries.
const maxFindingErrors = 20

// ContractFields are the spec fields of a PluginVersion that callers
// depend on, immutable once the version was served (status.servedSince):
// what it accepts and promises (inputs, contextInputs, outputs, taskJSON),
// how callers' forms are built (forms) and how it finishes
// (enablePluginCallback). plugin and version are immutable always (CEL).
// Every other field is description or operational and may change:
// description, pluginDescription, endpoint, timeoutSeconds,
// retireGracePeriodSeconds, allowScopes, canary, retry and limits.
var ContractFields = []string{"inputs", "contextInputs", "outputs", "forms", "taskJSON", "enablePluginCallback"}

// contractChanges lists, as field errors, the contract fields (see
// ContractFields) that differ between old and new. JSON documents are
// compared by value, so formatting and key order are no change.
func contractChanges(old, new *bkv1.PluginVersionSpec) field.ErrorList {
	spec := field.NewPath("spec")
	var errs field.ErrorList
	forbid := func(name string) {
		errs = append(errs, field.Forbidden(spec.Child(name),
			"the contract of a served PluginVersion is immutable (only description and operational fields may change); register a new version instead"))
	}
	for _, f := range []struct {
		name     string
		old, new []byte
	}{
		{"inputs", rawOf(old.Inputs), rawOf(new.Inputs)},
		{"contextInputs", rawOf(old.ContextInputs), rawOf(new.ContextInputs)},
		{"outputs", rawOf(old.Outputs), rawOf(new.Outputs)},
		{"forms", rawOf(old.Forms), rawOf(new.Forms)},
		{"taskJSON", marshal(old.TaskJSON), marshal(new.TaskJSON)},
	} {
		if !sameJSON(f.old, f.new) {
			forbid(f.name)
		}
	}
	if old.EnablePluginCallback != new.EnablePluginCallback {
		forbid("enablePluginCallback")
	}
	return errs
}

// breakingErrors turns the breaking findings of report, against the
// version previous (of the same major, below plv), into field errors, one
// per finding, naming its path and rule; past maxFindingErrors the last
// says how many more there are.
func breakingErrors(previous *bkv1.PluginVersion, report compat.Report) field.ErrorList {
	var errs field.ErrorList
	for i, f := range report.Breaking {
		if i == maxFindingErrors {
			errs = append(errs, field.Forbidden(field.NewPath("spec"),
				fmt.Sprintf("and %d more breaking changes", len(report.Breaking)-i)))
			break
		}
		errs = append(errs, field.Forbidden(field.NewPath("spec").Child(f.Path),
			fmt.Sprintf("%s: %s (breaks callers of %s %s; give a breaking change a new major version)",
				f.Rule, f.Message, previous.Spec.Plugin, previous.Spec.Version)))
	}
	return errs
}

// rawOf returns the raw JSON of a spec field, nil when unset.
func rawOf(j *apiextensionsv1.JSON) []byte {
	if j == nil {
		return nil
	}
	return j.Raw
}

// marshal returns v as JSON; a task description always marshals.
func marshal(v *bkv1.TaskDescription) []byte {
	if v == nil {
		return nil
	}
	b, err := json.Marshal(v)
	if err != nil {
		return []byte(err.Error())
	}
	return b
}

// sameJSON reports whether a and b hold the same JSON value; unset and
// null are the same, and bytes that are not JSON are compared as bytes.
func sameJSON(a, b []byte) bool {
	var va, vb any
	ea, eb := json.Unmarshal(orNull(a), &va), json.Unmarshal(orNull(b), &vb)
	if ea != nil || eb != nil {
		return string(a) == string(b)
	}
	return reflect.DeepEqual(va, vb)
}

// orNull is b, or the JSON null when b is empty.
func orNull(b []byte) []byte {
	if len(b) == 0 {
		return []byte("null")
	}
	return b
}
