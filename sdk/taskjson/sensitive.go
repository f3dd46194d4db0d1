package taskjson

import "github.com/bkplugin/bk-plugin-operator/api/v1alpha1"

// SensitiveInputs returns the names of the inputs marked isSensitive,
// sorted: their values must never appear in clear in statuses, events,
// logs or answers.
func SensitiveInputs(d *v1alpha1.TaskDescription) []string {
	if d == nil {
		return nil
	}
	var out []string
	for _, name := range sortedKeys(d.Input) {
		if d.Input[name].IsSensitive {
			out = append(out, name)
		}
	}
	return out
}

// SensitiveOutputs returns the names of the outputs marked isSensitive,
// sorted.
func SensitiveOutputs(d *v1alpha1.TaskDescription) []string {
	if d == nil {
		return nil
	}
	var out []string
	for _, name := range sortedKeys(d.Output) {
		if d.Output[name].IsSensitive {
			out = append(out, name)
		}
	}
	return out
}
