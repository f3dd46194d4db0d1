package plugin_test

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/bkplugin/bk-plugin-operator/sdk/plugin"
	"github.com/bkplugin/bk-plugin-operator/sdk/plugintest"
	"github.com/bkplugin/bk-plugin-operator/sdk/taskjson"
)

type taskIn struct {
	Mode  string `json:"mode"`
	Count string `json:"count"`
	On    bool   `json:"on"`
}

type taskOut struct {
	Echo string `json:"echo"`
}

const taskDesc = `{"atomCode":"t","input":{
	"mode":{"label":"Mode","type":"selector","required":true,"options":[{"id":"auto"},{"id":"manual"}]},
	"count":{"label":"Count","type":"vuex-input","required":true,"rule":{"numeric":true},"rely":{"expression":[{"key":"mode","value":"manual"}]}},
	"on":{"type":"atom-checkbox","default":true}
}}`

func taskPlugin(t *testing.T, desc string) (*plugin.Plugin, error) {
	t.Helper()
	d, err := taskjson.Parse([]byte(desc))
	if err != nil {
		t.Fatal(err)
	}
	p := plugin.MustNew(plugin.Meta{Code: "t"})
	return p, plugin.AddVersion(p, plugin.Version[taskIn, plugin.None, taskOut]{
		Version:  "1.0.0",
		TaskJSON: d,
		Execute: func(ctx *plugin.Context[taskIn, plugin.None, taskOut]) error {
			b, _ := json.Marshal(ctx.Inputs)
			ctx.Outputs.Echo = string(b)
			return nil
		},
	})
}

// A version with a task.json enforces it before Execute, decodes into the
// typed inputs with the task.json's defaults, and answers it in detail.
func TestTaskJSONVersion(t *testing.T) {
	p, err := taskPlugin(t, taskDesc)
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name, inputs string
		state        plugin.State
		want         string // echo of the decoded inputs, or the error
	}{
		{"auto hides count", `{"mode":"auto"}`, plugin.StateSuccess, `{"mode":"auto","count":"","on":true}`},
		{"manual needs count", `{"mode":"manual"}`, plugin.StateFail, "inputs validation error: count (Count): required"},
		{"count must be numeric", `{"mode":"manual","count":"x"}`, plugin.StateFail, "inputs validation error: count (Count): rule numeric: digits only"},
		{"manual with count", `{"mode":"manual","count":"3","on":false}`, plugin.StateSuccess, `{"mode":"manual","count":"3","on":false}`},
		{"the derived schema checks types", `{"mode":"auto","on":"yes"}`, plugin.StateFail, "inputs validation error: on: must be boolean, got string"},
		{"an empty invocation misses mode", `{}`, plugin.StateFail, "inputs validation error: mode (Mode): required"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := plugintest.New(t, p, plugintest.Options{})
			var inputs map[string]any
			if err := json.Unmarshal([]byte(tt.inputs), &inputs); err != nil {
				t.Fatal(err)
			}
			inv := h.Start("1.0.0", inputs, nil)
			inv.AssertState(tt.state)
			if tt.state == plugin.StateFail {
				if inv.Err() != tt.want {
					t.Errorf("error = %q, want %q", inv.Err(), tt.want)
				}
				return
			}
			inv.AssertOutputs(taskOut{Echo: tt.want})
		})
	}

	v, _ := p.Version("1.0.0")
	d := v.Detail()
	if !strings.Contains(string(d.TaskJSON), `"rely":{"expression":[{"key":"mode","value":"manual"}]}`) {
		t.Errorf("detail task_json = %s", d.TaskJSON)
	}
	if strings.Contains(string(d.TaskJSON), "atomCode") {
		t.Errorf("detail task_json carries atomCode: %s", d.TaskJSON)
	}
	if !jsonHas(t, d.Inputs, "required", []any{"mode"}) {
		t.Errorf("inputs schema = %s, want it derived from the task.json", d.Inputs)
	}
	// Without outputs in the task.json, the Out type's schema stays.
	if !strings.Contains(string(d.Outputs), `"echo"`) {
		t.Errorf("outputs schema = %s, want the typed one", d.Outputs)
	}
}

func TestTaskJSONOutputsSchemaIsDerived(t *testing.T) {
	p, err := taskPlugin(t, `{"output":{"echo":{"type":"report","description":"E"}}}`)
	if err != nil {
		t.Fatal(err)
	}
	v, _ := p.Version("1.0.0")
	if !strings.Contains(string(v.Outputs), `"contentMediaType":"text/html"`) {
		t.Errorf("outputs schema = %s, want the derived one", v.Outputs)
	}
}

// A malformed task.json is refused at registration, naming the field.
func TestTaskJSONRegistrationErrors(t *testing.T) {
	tests := []struct{ desc, want string }{
		{`{"input":{"v":{"type":"vuex-input","rule":{"regex":"(?=x)"}}}}`,
			"plugin t 1.0.0: task.json: invalid task.json description: input.v.rule.regex: error parsing regexp"},
		{`{"output":{"o":{"type":"file"}}}`,
			`plugin t 1.0.0: task.json: invalid task.json description: output.o.type: "file" is not string, artifact or report`},
		{`{"input":{"v":{"type":"t","rely":{"operation":"XOR","expression":[{"key":"w","value":1}]}},"w":{"type":"t"}}}`,
			`plugin t 1.0.0: task.json: invalid task.json description: input.v.rely.operation: "XOR" is not AND, OR or NOT`},
	}
	for _, tt := range tests {
		if _, err := taskPlugin(t, tt.desc); err == nil || !strings.HasPrefix(err.Error(), tt.want) {
			t.Errorf("AddVersion(%s) = %v, want %q", tt.desc, err, tt.want)
		}
	}
}

func jsonHas(t *testing.T, doc json.RawMessage, key string, want any) bool {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal(doc, &m); err != nil {
		t.Fatal(err)
	}
	a, _ := json.Marshal(m[key])
	b, _ := json.Marshal(want)
	return string(a) == string(b)
}
