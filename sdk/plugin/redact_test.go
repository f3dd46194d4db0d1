package plugin_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"strings"
	"testing"

	"github.com/bkplugin/bk-plugin-operator/sdk/plugin"
	"github.com/bkplugin/bk-plugin-operator/sdk/protocol"
	"github.com/bkplugin/bk-plugin-operator/sdk/taskjson"
)

// A plugin that logs and fails with its sensitive input must not put the
// value in the pod's log, the kept lines or the error it answers.
func TestSensitiveInputsAreRedacted(t *testing.T) {
	type in struct {
		Token string `json:"token"`
		Name  string `json:"name"`
	}
	p := plugin.MustNew(plugin.Meta{Code: "redactor"})
	plugin.MustAddVersion(p, plugin.Version[in, plugin.None, plugin.None]{
		Version: "1.0.0",
		TaskJSON: taskjson.MustParse([]byte(`{"input": {
			"token": {"type": "vuex-input", "isSensitive": true},
			"name": {"type": "vuex-input"}}}`)),
		Execute: func(ctx *plugin.Context[in, plugin.None, plugin.None]) error {
			ctx.Log.Info("using token "+ctx.Inputs.Token, "token", ctx.Inputs.Token, "err", errors.New("bad "+ctx.Inputs.Token),
				slog.Group("auth", "token", ctx.Inputs.Token), "name", ctx.Inputs.Name)
			return errors.New("login with " + ctx.Inputs.Token + " refused")
		},
	})
	const secret = "tok-SENSITIVE-42"
	var pod bytes.Buffer
	resp, err := p.Execute(context.Background(), &protocol.ExecuteRequest{
		ProtocolVersion: protocol.Version, TraceID: "0123456789abcdef0123456789abcdef", PluginCode: "redactor",
		PluginVersion: "1.0.0", State: protocol.StateEmpty, InvokeCount: 1,
		Inputs: json.RawMessage(`{"token":"` + secret + `","name":"visible-name"}`),
	}, plugin.ExecuteOptions{Logger: slog.New(slog.NewTextHandler(&pod, nil))})
	if err != nil {
		t.Fatal(err)
	}
	if resp.State != protocol.StateFail || resp.Error != "login with ****** refused" {
		t.Errorf("answer = %s %q, want FAIL with the token masked", resp.State, resp.Error)
	}
	kept := strings.Join(resp.Logs, "\n")
	for name, text := range map[string]string{"pod log": pod.String(), "kept lines": kept} {
		if strings.Contains(text, secret) {
			t.Errorf("%s shows the sensitive value:\n%s", name, text)
		}
		if !strings.Contains(text, "visible-name") {
			t.Errorf("%s lost a value that is not sensitive:\n%s", name, text)
		}
	}
}
