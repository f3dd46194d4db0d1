package taskjson_test

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"

	"github.com/bkplugin/bk-plugin-operator/sdk/taskjson"
)

// FuzzEvaluate feeds any bytes to Evaluate as inputs and as a description:
// it must never panic, must answer a *ViolationsError or accepted inputs
// that are a JSON object, and must never quote a secret in its error.
func FuzzEvaluate(f *testing.F) {
	for _, s := range []string{
		``, `null`, `{}`, `[]`, `"x"`, `1`, `{"version":"1.2.3","env":"prod"}`,
		`{"version":1,"env":["prod"],"approver":{"a":[null]},"token":true}`,
		`{"env":"prod","approver":"","replicas":1e400}`, `{"version":"` + strings.Repeat("9", 500) + `"}`,
		`{"replicas":-0,"env":"1.0"}`, `{"a":[[[[[]]]]]}`,
	} {
		f.Add([]byte(s), []byte(deployer))
	}
	f.Add([]byte(`{"a":1}`), []byte(`{"input":{"a":{"type":"t"},"b":{"type":"t","rely":{"operation":"NOT","expression":[{"key":"a","value":1.0}]}}}}`))
	f.Fuzz(func(t *testing.T, inputs, description []byte) {
		d, err := taskjson.Parse(description)
		if err != nil {
			return
		}
		_ = taskjson.InputsSchema(d) // never panics either
		e, err := taskjson.Compile(d)
		if err != nil {
			return
		}
		const secret = "Zq9-secret-Xv7"
		withSecret := strings.Replace(string(inputs), "{", `{"token":"`+secret+`",`, 1)
		for _, in := range []string{string(inputs), withSecret} {
			out, err := e.Evaluate(json.RawMessage(in))
			if err != nil {
				var ve *taskjson.ViolationsError
				if !errors.As(err, &ve) || len(ve.Violations) == 0 {
					t.Fatalf("Evaluate(%q) = %v, want a *ViolationsError", in, err)
				}
				if strings.Contains(err.Error(), secret) {
					t.Fatalf("Evaluate(%q) quotes the secret: %v", in, err)
				}
				continue
			}
			var m map[string]any
			if err := json.Unmarshal(out, &m); err != nil || m == nil {
				t.Fatalf("Evaluate(%q) = %s, not a JSON object", in, out)
			}
		}
	})
}
