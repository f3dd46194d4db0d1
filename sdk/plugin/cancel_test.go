package plugin_test

import (
	"context"
	"encoding/json"
	"errors"
	"testing"

	"github.com/bkplugin/bk-plugin-operator/sdk/plugin"
	"github.com/bkplugin/bk-plugin-operator/sdk/protocol"
)

type jobInputs struct {
	Name string `json:"name"`
}

func TestCancelRunsOnCancelWithStorage(t *testing.T) {
	var gotJob, gotReason, gotName string
	p := plugin.MustNew(plugin.Meta{Code: "canceller"})
	plugin.MustAddVersion(p, plugin.Version[jobInputs, plugin.None, plugin.None]{
		Version: "1.0.0",
		Execute: func(*plugin.Context[jobInputs, plugin.None, plugin.None]) error { return nil },
		OnCancel: func(ctx *plugin.Context[jobInputs, plugin.None, plugin.None], reason string) error {
			gotReason, gotName = reason, ctx.Inputs.Name
			_, err := ctx.Storage.Get("job", &gotJob)
			return err
		},
	})
	plugin.MustAddVersion(p, plugin.Version[plugin.None, plugin.None, plugin.None]{
		Version: "2.0.0",
		Execute: func(*plugin.Context[plugin.None, plugin.None, plugin.None]) error { return nil },
	})
	req := &protocol.CancelRequest{Reason: protocol.CancelReasonTimeout, ExecuteRequest: protocol.ExecuteRequest{
		TraceID: "t", PluginVersion: "1.0.0", State: protocol.StatePoll, InvokeCount: 2,
		Inputs: json.RawMessage(`{"name":"n"}`), Storage: json.RawMessage(`{"job":"job-42"}`),
	}}
	if err := p.Cancel(context.Background(), req, plugin.ExecuteOptions{}); err != nil {
		t.Fatal(err)
	}
	if gotJob != "job-42" || gotReason != "timeout" || gotName != "n" {
		t.Errorf("OnCancel saw job %q reason %q name %q", gotJob, gotReason, gotName)
	}
	req.PluginVersion = "2.0.0"
	if err := p.Cancel(context.Background(), req, plugin.ExecuteOptions{}); err != nil {
		t.Errorf("a version without OnCancel: %v, want nil", err)
	}
	req.PluginVersion = "9.0.0"
	if err := p.Cancel(context.Background(), req, plugin.ExecuteOptions{}); !errors.Is(err, plugin.ErrUnknownVersion) {
		t.Errorf("unknown version: %v", err)
	}
}
