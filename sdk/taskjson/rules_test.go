package taskjson_test

import (
	"testing"
)

// Every rule attribute, alone and combined, on strings, other scalars and
// arrays; an optional empty value skips the rules.
func TestRules(t *testing.T) {
	tests := []struct {
		name   string
		rule   string
		inputs string
		want   string // the error, "" when accepted
	}{
		{"alpha accepts letters", `{"alpha":true}`, `{"f":"abcXYZ"}`, ""},
		{"alpha refuses a digit", `{"alpha":true}`, `{"f":"abc1"}`, "inputs validation error: f (F): rule alpha: letters only"},
		{"alpha refuses non-ASCII letters", `{"alpha":true}`, `{"f":"版本"}`, "inputs validation error: f (F): rule alpha: letters only"},
		{"alpha refuses a space", `{"alpha":true}`, `{"f":"ab c"}`, "inputs validation error: f (F): rule alpha: letters only"},
		{"numeric accepts digits", `{"numeric":true}`, `{"f":"0123"}`, ""},
		{"numeric refuses a sign", `{"numeric":true}`, `{"f":"-1"}`, "inputs validation error: f (F): rule numeric: digits only"},
		{"numeric refuses a dot", `{"numeric":true}`, `{"f":"1.5"}`, "inputs validation error: f (F): rule numeric: digits only"},
		{"numeric checks a number's text", `{"numeric":true}`, `{"f":42}`, ""},
		{"numeric refuses a fractional number", `{"numeric":true}`, `{"f":4.2}`, "inputs validation error: f (F): rule numeric: digits only"},
		{"alpha_dash accepts - and _", `{"alpha_dash":true}`, `{"f":"my-app_2"}`, ""},
		{"alpha_dash refuses a dot", `{"alpha_dash":true}`, `{"f":"my.app"}`, "inputs validation error: f (F): rule alpha_dash: letters, digits, '_' and '-' only"},
		{"alpha_num accepts letters and digits", `{"alpha_num":true}`, `{"f":"abc123"}`, ""},
		{"alpha_num refuses a dash", `{"alpha_num":true}`, `{"f":"abc-123"}`, "inputs validation error: f (F): rule alpha_num: letters and digits only"},
		{"min accepts the bound", `{"min":3}`, `{"f":"abc"}`, ""},
		{"min refuses shorter", `{"min":3}`, `{"f":"ab"}`, "inputs validation error: f (F): rule min: at least 3 characters"},
		{"min counts characters, not bytes", `{"min":3}`, `{"f":"版本号"}`, ""},
		{"max accepts the bound", `{"max":3}`, `{"f":"abc"}`, ""},
		{"max refuses longer", `{"max":3}`, `{"f":"abcd"}`, "inputs validation error: f (F): rule max: at most 3 characters"},
		{"max counts characters, not bytes", `{"max":2}`, `{"f":"版本"}`, ""},
		{"max 0 allows only empty", `{"max":0}`, `{"f":"a"}`, "inputs validation error: f (F): rule max: at most 0 characters"},
		{"regex matches", `{"regex":"^v\\d+$"}`, `{"f":"v12"}`, ""},
		{"regex not matched", `{"regex":"^v\\d+$"}`, `{"f":"12"}`, `inputs validation error: f (F): rule regex ^v\d+$ not matched`},
		{"unanchored regex matches anywhere", `{"regex":"\\d"}`, `{"f":"ab1"}`, ""},
		{"regex checks a boolean's text", `{"regex":"^true$"}`, `{"f":true}`, ""},
		{"every broken attribute is reported", `{"alpha":true,"min":3,"regex":"^z"}`, `{"f":"1"}`,
			"inputs validation error: f (F): rule alpha: letters only; f (F): rule min: at least 3 characters; f (F): rule regex ^z not matched"},
		{"an absent optional value skips the rules", `{"min":3}`, `{}`, ""},
		{"an empty optional value skips the rules", `{"alpha":true,"min":3}`, `{"f":""}`, ""},
		{"a null optional value skips the rules", `{"alpha":true}`, `{"f":null}`, ""},
		{"arrays are checked element by element", `{"alpha":true}`, `{"f":["ab","c1","d"]}`, "inputs validation error: f[1] (F): rule alpha: letters only"},
		{"arrays of valid elements pass", `{"max":2}`, `{"f":["ab","c"]}`, ""},
		{"objects are not checked", `{"alpha":true}`, `{"f":{"a":"1"}}`, ""},
		{"nested arrays are not checked", `{"alpha":true}`, `{"f":[["1"]]}`, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d := desc(t, `{"input":{"f":{"label":"F","type":"vuex-input","rule":`+tt.rule+`}}}`)
			if got := evalErr(t, d, tt.inputs); got != tt.want {
				t.Errorf("Evaluate(%s) = %q, want %q", tt.inputs, got, tt.want)
			}
		})
	}
}

// The seed's first rule sample: letters only, 3 to 7 long.
func TestSeedRuleSamples(t *testing.T) {
	tests := []struct {
		rule, value, want string
	}{
		{`{"min":3,"max":7,"alpha":true}`, "abcd", ""},
		{`{"min":3,"max":7,"alpha":true}`, "ab", "min"},
		{`{"min":3,"max":7,"alpha":true}`, "abcdefgh", "max"},
		{`{"min":3,"max":7,"alpha":true}`, "abc1", "alpha"},
		{`{"regex":"^[0-9]"}`, "1a", ""},
		{`{"regex":"^[0-9]"}`, "a1", "regex"},
	}
	for _, tt := range tests {
		t.Run(tt.rule+" "+tt.value, func(t *testing.T) {
			d := desc(t, `{"input":{"f":{"type":"vuex-input","rule":`+tt.rule+`}}}`)
			got := evalErr(t, d, `{"f":"`+tt.value+`"}`)
			want := ""
			if tt.want != "" {
				want = "inputs validation error: f: rule " + tt.want
			}
			if (want == "") != (got == "") || len(got) < len(want) || got[:len(want)] != want {
				t.Errorf("got %q, want a message starting %q", got, want)
			}
		})
	}
}
