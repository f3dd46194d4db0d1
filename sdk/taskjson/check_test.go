package taskjson_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/bkplugin/bk-plugin-operator/sdk/taskjson"
)

// Check refuses every malformed description, naming the field.
func TestCheckRefuses(t *testing.T) {
	tests := []struct {
		name string
		desc string
		want string // the whole error after "invalid task.json description: "
	}{
		{"input without a type", `{"input":{"x":{"label":"X"}}}`, "input.x.type: required"},
		{"unknown output type", `{"output":{"o":{"type":"number"}}}`, `output.o.type: "number" is not string, artifact or report`},
		{"output without a type", `{"output":{"o":{}}}`, "output.o.type: required: string, artifact or report"},
		{"rely operation", `{"input":{"a":{"type":"t"},"x":{"type":"t","rely":{"operation":"XOR","expression":[{"key":"a","value":1}]}}}}`,
			`input.x.rely.operation: "XOR" is not AND, OR or NOT`},
		{"lower-case rely operation", `{"input":{"a":{"type":"t"},"x":{"type":"t","rely":{"operation":"and","expression":[{"key":"a","value":1}]}}}}`,
			`input.x.rely.operation: "and" is not AND, OR or NOT`},
		{"rely without expressions", `{"input":{"x":{"type":"t","rely":{"operation":"AND","expression":[]}}}}`, "input.x.rely.expression: needs at least one expression"},
		{"rely expression with value and regex", `{"input":{"a":{"type":"t"},"x":{"type":"t","rely":{"expression":[{"key":"a","value":1,"regex":"1"}]}}}}`,
			"input.x.rely.expression[0]: has both value and regex; give one"},
		{"rely expression with neither", `{"input":{"a":{"type":"t"},"x":{"type":"t","rely":{"expression":[{"key":"a"}]}}}}`,
			"input.x.rely.expression[0]: has neither value nor regex; give one"},
		{"rely expression with a null value", `{"input":{"a":{"type":"t"},"x":{"type":"t","rely":{"expression":[{"key":"a","value":null}]}}}}`,
			"input.x.rely.expression[0]: has neither value nor regex; give one"},
		{"rely on an unknown field", `{"input":{"x":{"type":"t","rely":{"expression":[{"key":"nope","value":1}]}}}}`,
			`input.x.rely.expression[0].key: "nope" names no input field`},
		{"rely without a key", `{"input":{"x":{"type":"t","rely":{"expression":[{"key":"","value":1}]}}}}`,
			"input.x.rely.expression[0].key: required"},
		{"rely on itself", `{"input":{"x":{"type":"t","rely":{"expression":[{"key":"x","value":1}]}}}}`,
			"input.x.rely.expression[0].key: a field cannot rely on itself"},
		{"rely cycle", `{"input":{"a":{"type":"t","rely":{"expression":[{"key":"b","value":1}]}},"b":{"type":"t","rely":{"expression":[{"key":"a","value":1}]}}}}`,
			"input.a.rely: rely cycle a -> b -> a; input.b.rely: rely cycle b -> a -> b"},
		{"rely regex that does not compile", `{"input":{"a":{"type":"t"},"x":{"type":"t","rely":{"expression":[{"key":"a","regex":"(unclosed"}]}}}}`,
			"input.x.rely.expression[0].regex: error parsing regexp: missing closing ): `(unclosed`"},
		{"rule regex that does not compile", `{"input":{"version":{"type":"t","rule":{"regex":"[0-9"}}}}`,
			"input.version.rule.regex: error parsing regexp: missing closing ]: `[0-9`"},
		{"lookahead (RE2 has none)", `{"input":{"p":{"type":"t","rule":{"regex":"^(?=.*\\d).+$"}}}}`,
			"input.p.rule.regex: error parsing regexp: invalid or unsupported Perl syntax: `(?=`"},
		{"min above max", `{"input":{"x":{"type":"t","rule":{"min":8,"max":3}}}}`, "input.x.rule: min 8 exceeds max 3"},
		{"negative min and max", `{"input":{"x":{"type":"t","rule":{"min":-1,"max":-2}}}}`,
			"input.x.rule: min -1 exceeds max -2; input.x.rule.max: must be >= 0, got -2; input.x.rule.min: must be >= 0, got -1"},
		{"undeclared group", `{"inputGroups":[{"name":"g"}],"input":{"x":{"type":"t","groupName":"other"}}}`,
			`input.x.groupName: group "other" is not declared in inputGroups`},
		{"group without a name", `{"inputGroups":[{"label":"G"}]}`, "inputGroups[0].name: required"},
		{"group declared twice", `{"inputGroups":[{"name":"g"},{"name":"g"}]}`, `inputGroups[1].name: group "g" is declared twice`},
		{"every problem at once", `{"input":{"a":{},"b":{"type":"t","rule":{"regex":"("}}},"output":{"o":{"type":"file"}}}`,
			"input.a.type: required; input.b.rule.regex: error parsing regexp: missing closing ): `(`; output.o.type: \"file\" is not string, artifact or report"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := taskjson.Check(desc(t, tt.desc))
			var de *taskjson.DescriptionError
			if !errors.As(err, &de) {
				t.Fatalf("Check = %v, want a *DescriptionError", err)
			}
			if got := strings.TrimPrefix(err.Error(), "invalid task.json description: "); got != tt.want {
				t.Errorf("Check = %q\nwant   %q", got, tt.want)
			}
			if _, err := taskjson.Compile(desc(t, tt.desc)); err == nil {
				t.Error("Compile accepted what Check refuses")
			}
		})
	}
}

// Descriptions built in Go may carry raw JSON that is not JSON.
func TestCheckRefusesInvalidRawJSON(t *testing.T) {
	d := desc(t, `{"input":{"a":{"type":"t"},"x":{"type":"t","default":1,"rely":{"expression":[{"key":"a","value":1}]}}}}`)
	in := d.Input["x"]
	in.Default.Raw = []byte("{")
	in.Rely.Expression[0].Value.Raw = []byte("tru")
	d.Input["x"] = in
	want := "invalid task.json description: input.x.default: not valid JSON; input.x.rely.expression[0].value: not valid JSON"
	if err := taskjson.Check(d); err == nil || err.Error() != want {
		t.Errorf("Check = %v, want %s", err, want)
	}
}

func TestCheckAccepts(t *testing.T) {
	for _, s := range []string{
		`{}`,
		`null`,
		`{"input":{"a":{"type":"t"},"b":{"type":"t","rely":{"operation":"OR","expression":[{"key":"a","value":false}]}},
			"c":{"type":"t","rely":{"operation":"NOT","expression":[{"key":"b","regex":"^x"}]}}}}`,
		`{"input":{"x":{"type":"t","rule":{"min":0,"max":0,"regex":"^\\p{Han}+$"}}}}`,
	} {
		if err := taskjson.Check(desc(t, s)); err != nil {
			t.Errorf("Check(%s) = %v", s, err)
		}
	}
	if err := taskjson.Check(nil); err != nil {
		t.Errorf("Check(nil) = %v", err)
	}
}

func TestParse(t *testing.T) {
	for _, bad := range []string{``, `[]`, `{"input":{"x":{"type":1}}}`, `{} {}`, `{"input":{"x":{"type":"t","required":"yes"}}}`} {
		if _, err := taskjson.Parse([]byte(bad)); err == nil {
			t.Errorf("Parse(%s) succeeded", bad)
		}
	}
}

func TestMustParsePanicsOnAMalformedDescription(t *testing.T) {
	for _, bad := range []string{`{`, `{"output":{"o":{"type":"file"}}}`} {
		func() {
			defer func() {
				if recover() == nil {
					t.Errorf("MustParse(%s) did not panic", bad)
				}
			}()
			taskjson.MustParse([]byte(bad))
		}()
	}
	if d := taskjson.MustParse([]byte(`{"input":{"a":{"type":"t"}}}`)); d.Input["a"].Type != "t" {
		t.Errorf("MustParse = %+v", d)
	}
}
