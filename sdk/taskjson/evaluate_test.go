package taskjson_test

import (
	"encoding/json"
	"errors"
	"reflect"
	"strings"
	"testing"

	"github.com/bkplugin/bk-plugin-operator/sdk/schema"
	"github.com/bkplugin/bk-plugin-operator/sdk/taskjson"
)

// deployer is the description of the deployer example, the sample.
const deployer = `{"input":{
	"version":{"label":"版本号","type":"vuex-input","required":true,"rule":{"regex":"^\\d+\\.\\d+\\.\\d+$"}},
	"env":{"label":"Env","type":"selector","required":true,"options":[{"id":"dev","name":"dev"},{"id":"prod","name":"prod"}]},
	"approver":{"label":"Approver","type":"user-input","required":true,"rely":{"operation":"AND","expression":[{"key":"env","value":"prod"}]}},
	"token":{"label":"Token","type":"vuex-input","inputType":"password","required":true,"isSensitive":true,"rule":{"min":8}},
	"replicas":{"label":"Replicas","type":"vuex-input","default":"2","rule":{"numeric":true}}
},"output":{"deploy_id":{"type":"string"},"report":{"type":"report"}}}`

func TestEvaluate(t *testing.T) {
	d := desc(t, deployer)
	tests := []struct {
		name     string
		inputs   string
		want     string // normalized inputs, when accepted
		wantErr  string
		wantVios []taskjson.Violation
	}{
		{name: "defaults are applied", inputs: `{"version":"1.2.3","env":"dev","token":"t0k3n-t0k3n"}`,
			want: `{"env":"dev","replicas":"2","token":"t0k3n-t0k3n","version":"1.2.3"}`},
		{name: "a null value gets the default", inputs: `{"version":"1.2.3","env":"dev","token":"t0k3n-t0k3n","replicas":null}`,
			want: `{"env":"dev","replicas":"2","token":"t0k3n-t0k3n","version":"1.2.3"}`},
		{name: "given values and unknown fields are kept", inputs: `{"version":"1.2.3","env":"dev","token":"t0k3n-t0k3n","replicas":"5","x":{"y":[1,"<b>"]}}`,
			want: `{"env":"dev","replicas":"5","token":"t0k3n-t0k3n","version":"1.2.3","x":{"y":[1,"<b>"]}}`},
		{name: "a value hidden by rely is kept", inputs: `{"version":"1.2.3","env":"dev","token":"t0k3n-t0k3n","approver":"bob"}`,
			want: `{"approver":"bob","env":"dev","replicas":"2","token":"t0k3n-t0k3n","version":"1.2.3"}`},
		{name: "every violation at once", inputs: `{"version":"1.2","env":"prod","token":"short","replicas":"two"}`,
			wantErr: `inputs validation error: approver (Approver): required; replicas (Replicas): rule numeric: digits only; token (Token): rule min: at least 8 characters; version (版本号): rule regex ^\d+\.\d+\.\d+$ not matched`,
			wantVios: []taskjson.Violation{
				{Field: "approver", Label: "Approver", Rule: "required", Message: "required"},
				{Field: "replicas", Label: "Replicas", Rule: "numeric", Message: "rule numeric: digits only"},
				{Field: "token", Label: "Token", Rule: "min", Message: "rule min: at least 8 characters"},
				{Field: "version", Label: "版本号", Rule: "regex", Message: `rule regex ^\d+\.\d+\.\d+$ not matched`},
			}},
		{name: "empty inputs miss every required field", inputs: ``,
			wantErr: "inputs validation error: env (Env): required; token (Token): required; version (版本号): required"},
		{name: "empty strings and arrays are missing", inputs: `{"version":"","env":[],"token":"t0k3n-t0k3n"}`,
			wantErr: "inputs validation error: env (Env): required; version (版本号): required"},
		{name: "inputs must be an object", inputs: `["1.2.3"]`, wantErr: "inputs validation error: inputs must be a JSON object",
			wantVios: []taskjson.Violation{{Rule: "object", Message: "inputs must be a JSON object"}}},
		{name: "inputs must be JSON", inputs: `{"token":"secret-value"`, wantErr: "inputs validation error: inputs are not valid JSON"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := taskjson.Evaluate(d, json.RawMessage(tt.inputs))
			if tt.wantErr == "" {
				if err != nil || string(got) != tt.want {
					t.Fatalf("Evaluate = %s, %v; want %s", got, err, tt.want)
				}
				return
			}
			var ve *taskjson.ViolationsError
			if !errors.As(err, &ve) || err.Error() != tt.wantErr || got != nil {
				t.Fatalf("Evaluate = %s, %v; want the error %q", got, err, tt.wantErr)
			}
			if !strings.HasPrefix(err.Error(), schema.InputsErrorPrefix) {
				t.Errorf("error %q lacks the inputs error prefix", err)
			}
			if tt.wantVios != nil && !reflect.DeepEqual(ve.Violations, tt.wantVios) {
				t.Errorf("Violations = %+v, want %+v", ve.Violations, tt.wantVios)
			}
		})
	}
}

// No message quotes a value: inputs may be sensitive and errors end up in
// statuses, events and logs.
func TestMessagesNeverQuoteValues(t *testing.T) {
	d := desc(t, `{"input":{
		"a":{"type":"vuex-input","isSensitive":true,"rule":{"alpha":true,"numeric":true,"alpha_dash":true,"alpha_num":true,"min":40,"regex":"^z$"}},
		"c":{"type":"vuex-input","isSensitive":true,"rule":{"max":1}},
		"b":{"type":"vuex-input","isSensitive":true,"rule":{"alpha":true,"regex":"^z$"}}
	}}`)
	const secret = "S3cr3t.V@lue"
	_, err := taskjson.Evaluate(d, json.RawMessage(`{"a":"`+secret+`","b":["`+secret+`"],"c":"`+secret+`"}`))
	var ve *taskjson.ViolationsError
	if !errors.As(err, &ve) || len(ve.Violations) != 9 {
		t.Fatalf("Evaluate = %v, want 9 violations (6 on a, 2 on b[0], 1 on c)", err)
	}
	for _, part := range []string{secret, "S3cr3t", "V@lue"} {
		if strings.Contains(err.Error(), part) {
			t.Errorf("error quotes the value: %s", err)
		}
	}
	for _, p := range ve.Problems() {
		if strings.Contains(p.String(), "S3cr3t") {
			t.Errorf("problem quotes the value: %s", p)
		}
	}
	_, err = taskjson.Evaluate(d, json.RawMessage(`{"a":"`+secret+`" trailing}`))
	if err == nil || strings.Contains(err.Error(), "S3cr3t") || strings.Contains(err.Error(), "trailing") {
		t.Errorf("a malformed document's error = %v, want one quoting nothing", err)
	}
}

// A default is decoded afresh for each invocation: filling in one never
// changes what the next one gets.
func TestDefaultsAreNotShared(t *testing.T) {
	e, err := taskjson.Compile(desc(t, `{"input":{"l":{"type":"atom-checkbox-list","default":["a"]}}}`))
	if err != nil {
		t.Fatal(err)
	}
	for range 2 {
		got, err := e.Evaluate(nil)
		if err != nil || string(got) != `{"l":["a"]}` {
			t.Fatalf("Evaluate = %s, %v", got, err)
		}
	}
}

func TestViolationsProblemsMergeIntoInputsError(t *testing.T) {
	_, err := taskjson.Evaluate(desc(t, deployer), json.RawMessage(`{"version":"x","env":"dev","token":"t0k3n-t0k3n"}`))
	var ve *taskjson.ViolationsError
	if !errors.As(err, &ve) {
		t.Fatalf("Evaluate = %v", err)
	}
	merged := &schema.InputsError{Problems: append(ve.Problems(), schema.Problem{Field: "context.biz", Message: "required"})}
	want := `inputs validation error: version (版本号): rule regex ^\d+\.\d+\.\d+$ not matched; context.biz: required`
	if merged.Error() != want {
		t.Errorf("merged = %q, want %q", merged.Error(), want)
	}
}

func TestSensitive(t *testing.T) {
	d := desc(t, `{"input":{"z":{"type":"vuex-input","isSensitive":true},"a":{"type":"vuex-input","isSensitive":true},"m":{"type":"vuex-input"}},
		"output":{"y":{"type":"string","isSensitive":true},"b":{"type":"string","isSensitive":true},"n":{"type":"report"}}}`)
	if got := taskjson.SensitiveInputs(d); !reflect.DeepEqual(got, []string{"a", "z"}) {
		t.Errorf("SensitiveInputs = %v", got)
	}
	if got := taskjson.SensitiveOutputs(d); !reflect.DeepEqual(got, []string{"b", "y"}) {
		t.Errorf("SensitiveOutputs = %v", got)
	}
	if taskjson.SensitiveInputs(nil) != nil || taskjson.SensitiveOutputs(nil) != nil {
		t.Error("a nil description has sensitive fields")
	}
}
