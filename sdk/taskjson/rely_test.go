package taskjson_test

import (
	"testing"
)

// Every rely form: AND, OR and NOT over value and regex expressions, the
// comparisons, chains, missing fields and defaults. The dependent field c
// is required, so "required" in the error means rely showed it.
func TestRely(t *testing.T) {
	const required = "inputs validation error: c (C): required"
	tests := []struct {
		name   string
		rely   string
		extra  string // more inputs, after a and b
		inputs string
		want   string
	}{
		// AND
		{"AND values all hold", `{"operation":"AND","expression":[{"key":"a","value":"x"},{"key":"b","value":"y"}]}`, "", `{"a":"x","b":"y"}`, required},
		{"AND values one fails", `{"operation":"AND","expression":[{"key":"a","value":"x"},{"key":"b","value":"y"}]}`, "", `{"a":"x","b":"z"}`, ""},
		{"AND regexes all hold", `{"operation":"AND","expression":[{"key":"a","regex":"^x"},{"key":"b","regex":"y$"}]}`, "", `{"a":"xa","b":"ay"}`, required},
		{"AND regexes one fails", `{"operation":"AND","expression":[{"key":"a","regex":"^x"},{"key":"b","regex":"y$"}]}`, "", `{"a":"xa","b":"ya"}`, ""},
		{"empty operation is AND", `{"expression":[{"key":"a","value":"x"},{"key":"b","value":"y"}]}`, "", `{"a":"x","b":"z"}`, ""},
		{"empty operation is AND, holding", `{"expression":[{"key":"a","value":"x"},{"key":"b","value":"y"}]}`, "", `{"a":"x","b":"y"}`, required},
		// OR
		{"OR values one holds", `{"operation":"OR","expression":[{"key":"a","value":"x"},{"key":"b","value":"y"}]}`, "", `{"a":"no","b":"y"}`, required},
		{"OR values none holds", `{"operation":"OR","expression":[{"key":"a","value":"x"},{"key":"b","value":"y"}]}`, "", `{"a":"no","b":"no"}`, ""},
		{"OR regexes one holds", `{"operation":"OR","expression":[{"key":"a","regex":"^x"},{"key":"b","regex":"^y"}]}`, "", `{"a":"xx","b":"no"}`, required},
		{"OR regexes none holds", `{"operation":"OR","expression":[{"key":"a","regex":"^x"},{"key":"b","regex":"^y"}]}`, "", `{"a":"no","b":"no"}`, ""},
		// NOT
		{"NOT values none holds", `{"operation":"NOT","expression":[{"key":"a","value":"x"},{"key":"b","value":"y"}]}`, "", `{"a":"no","b":"no"}`, required},
		{"NOT values one holds", `{"operation":"NOT","expression":[{"key":"a","value":"x"},{"key":"b","value":"y"}]}`, "", `{"a":"no","b":"y"}`, ""},
		{"NOT regex holds", `{"operation":"NOT","expression":[{"key":"a","regex":"^prod"}]}`, "", `{"a":"production"}`, ""},
		{"NOT regex does not hold", `{"operation":"NOT","expression":[{"key":"a","regex":"^prod"}]}`, "", `{"a":"dev"}`, required},
		{"NOT on a missing field shows", `{"operation":"NOT","expression":[{"key":"a","value":"x"}]}`, "", `{}`, required},
		// Mixed expressions.
		{"AND value and regex (the seed's sample) hold", `{"operation":"AND","expression":[{"key":"a","value":true},{"key":"b","regex":".*\\.apk$"}]}`, "", `{"a":true,"b":"app.apk"}`, required},
		{"AND value and regex, regex fails", `{"operation":"AND","expression":[{"key":"a","value":true},{"key":"b","regex":".*\\.apk$"}]}`, "", `{"a":true,"b":"app.ipa"}`, ""},
		// Comparisons.
		{"string equals boolean", `{"expression":[{"key":"a","value":true}]}`, "", `{"a":"true"}`, required},
		{"boolean equals string", `{"expression":[{"key":"a","value":"false"}]}`, "", `{"a":false}`, required},
		{"string equals number", `{"expression":[{"key":"a","value":1}]}`, "", `{"a":"1"}`, required},
		{"numbers compare by value", `{"expression":[{"key":"a","value":1}]}`, "", `{"a":1.0}`, required},
		{"-0 equals 0", `{"expression":[{"key":"a","value":0}]}`, "", `{"a":-0}`, required},
		{"a number string equals by value", `{"expression":[{"key":"a","value":"1e2"}]}`, "", `{"a":100}`, required},
		{"large integers compare exactly", `{"expression":[{"key":"a","value":9007199254740993}]}`, "", `{"a":9007199254740992}`, ""},
		{"different text is not equal", `{"expression":[{"key":"a","value":"x"}]}`, "", `{"a":"X"}`, ""},
		{"a number is not a boolean", `{"expression":[{"key":"a","value":true}]}`, "", `{"a":1}`, ""},
		{"array contains the value", `{"expression":[{"key":"a","value":"php"}]}`, "", `{"a":["go","php"]}`, required},
		{"array lacks the value", `{"expression":[{"key":"a","value":"php"}]}`, "", `{"a":["go"]}`, ""},
		{"array equals an array value", `{"expression":[{"key":"a","value":["go","php"]}]}`, "", `{"a":["go","php"]}`, required},
		{"object equals an object value", `{"expression":[{"key":"a","value":{"k":1}}]}`, "", `{"a":{"k":"1"}}`, required},
		{"regex on a number's text", `{"expression":[{"key":"a","regex":"^4"}]}`, "", `{"a":42}`, required},
		{"regex on any array element", `{"expression":[{"key":"a","regex":"^p"}]}`, "", `{"a":["go","php"]}`, required},
		{"regex never matches an object", `{"expression":[{"key":"a","regex":".*"}]}`, "", `{"a":{}}`, ""},
		{"regex ^$ matches an empty value", `{"expression":[{"key":"a","regex":"^$"}]}`, "", `{"a":""}`, required},
		// Missing fields and defaults.
		{"a missing field satisfies no value", `{"expression":[{"key":"a","value":""}]}`, "", `{}`, ""},
		{"a null field satisfies no regex", `{"expression":[{"key":"a","regex":".*"}]}`, "", `{"a":null}`, ""},
		{"a default makes the rely hold", `{"expression":[{"key":"d","value":"on"}]}`, `,"d":{"type":"vuex-input","default":"on"}`, `{}`, required},
		{"a given value overrides the default", `{"expression":[{"key":"d","value":"on"}]}`, `,"d":{"type":"vuex-input","default":"on"}`, `{"d":"off"}`, ""},
		// Chains: b shown only when a is "x"; c relies on b.
		{"chain: shown all the way", `{"expression":[{"key":"b","value":"y"}]}`, "", `{"a":"x","b":"y"}`, required},
		{"chain: a hidden b hides c", `{"expression":[{"key":"b","value":"y"}]}`, "", `{"a":"no","b":"y"}`, ""},
		{"chain: a hidden b satisfies NOT", `{"operation":"NOT","expression":[{"key":"b","value":"y"}]}`, "", `{"a":"no","b":"y"}`, required},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b := `{"type":"vuex-input"}`
			if len(tt.name) > 6 && tt.name[:6] == "chain:" {
				b = `{"type":"vuex-input","rely":{"expression":[{"key":"a","value":"x"}]}}`
			}
			d := desc(t, `{"input":{
				"a":{"type":"vuex-input"},
				"b":`+b+`,
				"c":{"label":"C","type":"vuex-input","required":true,"rely":`+tt.rely+`}`+tt.extra+`}}`)
			if got := evalErr(t, d, tt.inputs); got != tt.want {
				t.Errorf("Evaluate(%s) = %q, want %q", tt.inputs, got, tt.want)
			}
		})
	}
}

// A field hidden by rely is not required and its rules are skipped; shown,
// both apply. A statically hidden field is still validated.
func TestRelyHidesRulesAndRequired(t *testing.T) {
	d := desc(t, `{"input":{
		"mode":{"type":"selector","options":[{"id":"auto"},{"id":"manual"}]},
		"count":{"label":"Count","type":"vuex-input","required":true,"rule":{"numeric":true},
			"rely":{"expression":[{"key":"mode","value":"manual"}]}},
		"internal":{"label":"Internal","type":"vuex-input","hidden":true,"required":true,"rule":{"alpha":true}}
	}}`)
	tests := []struct{ inputs, want string }{
		{`{"mode":"auto","internal":"ok"}`, ""},
		{`{"mode":"auto","count":"many","internal":"ok"}`, ""},
		{`{"mode":"manual","internal":"ok"}`, "inputs validation error: count (Count): required"},
		{`{"mode":"manual","count":"many","internal":"ok"}`, "inputs validation error: count (Count): rule numeric: digits only"},
		{`{"mode":"manual","count":"3"}`, "inputs validation error: internal (Internal): required"},
		{`{"mode":"auto","internal":"1"}`, "inputs validation error: internal (Internal): rule alpha: letters only"},
	}
	for _, tt := range tests {
		if got := evalErr(t, d, tt.inputs); got != tt.want {
			t.Errorf("Evaluate(%s) = %q, want %q", tt.inputs, got, tt.want)
		}
	}
}
