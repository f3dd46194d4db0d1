package deployerplugin_test

import (
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/bkplugin/bk-plugin-operator/sdk/examples/deployer/deployerplugin"
	"github.com/bkplugin/bk-plugin-operator/sdk/protocol"
	"github.com/bkplugin/bk-plugin-operator/sdk/server"
	"github.com/bkplugin/bk-plugin-operator/sdk/stdapi"
	"github.com/bkplugin/bk-plugin-operator/sdk/taskjson"
)

func get(t *testing.T, url string, body string) []byte {
	t.Helper()
	method := "GET"
	if body != "" {
		method = "POST"
	}
	req, err := http.NewRequest(method, url, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("%s %s = %d %s (%v)", method, url, resp.StatusCode, b, err)
	}
	return b
}

// The plugin pod answers meta, detail with its task.json, and executes
// that the task.json judges, over real HTTP.
func TestDeployerOverHTTP(t *testing.T) {
	s, err := server.New(deployerplugin.Plugin(), server.Options{Logger: slog.New(slog.DiscardHandler), InsecureNoExecuteToken: true})
	if err != nil {
		t.Fatal(err)
	}
	ts := httptest.NewServer(s)
	t.Cleanup(ts.Close)

	var meta stdapi.Envelope[server.Meta]
	if err := json.Unmarshal(get(t, ts.URL+"/bk_plugin/meta/", ""), &meta); err != nil || meta.Data.Code != deployerplugin.Code ||
		len(meta.Data.Versions) != 1 || meta.Data.Versions[0] != "1.0.0" {
		t.Fatalf("meta = %+v, %v", meta, err)
	}

	var detail stdapi.Envelope[stdapi.Detail]
	if err := json.Unmarshal(get(t, ts.URL+"/bk_plugin/detail/1.0.0", ""), &detail); err != nil {
		t.Fatal(err)
	}
	d, err := taskjson.Parse(detail.Data.TaskJSON)
	if err != nil || len(d.Input) != 4 || d.Input["approver"].Rely == nil || len(d.Output) != 2 ||
		string(d.Input["token"].Extra["inputType"].Raw) != `"password"` {
		t.Fatalf("detail task_json = %s (%v)", detail.Data.TaskJSON, err)
	}
	if got := taskjson.SensitiveInputs(d); len(got) != 1 || got[0] != "token" {
		t.Errorf("sensitive inputs = %v", got)
	}
	var inputs struct {
		Required   []string                   `json:"required"`
		Properties map[string]json.RawMessage `json:"properties"`
	}
	if err := json.Unmarshal(detail.Data.Inputs, &inputs); err != nil || strings.Join(inputs.Required, ",") != "env,token,version" ||
		!strings.Contains(string(inputs.Properties["token"]), `"writeOnly":true`) {
		t.Errorf("detail inputs = %s (%v)", detail.Data.Inputs, err)
	}
	if !strings.Contains(string(detail.Data.Outputs), `"report":{"contentMediaType":"text/html"`) {
		t.Errorf("detail outputs = %s", detail.Data.Outputs)
	}

	tests := []struct {
		name, inputs string
		state        protocol.State
		err          string
	}{
		{"valid dev", `{"version":"1.0.0","env":"dev","token":"t"}`, protocol.StateSuccess, ""},
		{"valid prod", `{"version":"1.0.0","env":"prod","approver":"alice","token":"t"}`, protocol.StateSuccess, ""},
		{"prod without approver", `{"version":"1.0.0","env":"prod","token":"t"}`, protocol.StateFail,
			"inputs validation error: approver (Approver): required"},
		{"bad version", `{"version":"v1","env":"dev","token":"t"}`, protocol.StateFail,
			`inputs validation error: version (Version): rule regex ^\d+\.\d+\.\d+$ not matched`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			body, _ := json.Marshal(protocol.ExecuteRequest{
				ProtocolVersion: protocol.Version, TraceID: "0123456789abcdef", State: protocol.StateEmpty,
				InvokeCount: 1, Inputs: json.RawMessage(tt.inputs),
			})
			var resp protocol.ExecuteResponse
			if err := json.Unmarshal(get(t, ts.URL+"/bk_plugin/execute/1.0.0", string(body)), &resp); err != nil {
				t.Fatal(err)
			}
			if resp.State != tt.state || resp.Error != tt.err {
				t.Fatalf("execute = %s %q, want %s %q", resp.State, resp.Error, tt.state, tt.err)
			}
			if tt.state == protocol.StateSuccess && !strings.HasPrefix(string(resp.Outputs), `{"deploy_id":"deploy-01234567","report":"\u003ch1\u003eDeployment deploy-01234567`) {
				t.Errorf("outputs = %s", resp.Outputs)
			}
		})
	}
}
