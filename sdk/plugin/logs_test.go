package plugin_test

import (
	"context"
	"strings"
	"testing"

	"github.com/bkplugin/bk-plugin-operator/sdk/plugin"
	"github.com/bkplugin/bk-plugin-operator/sdk/protocol"
)

// An execute's log lines travel back in its answer, bounded in lines and
// bytes, with a last line counting what was dropped.
func TestExecuteLogsAreBounded(t *testing.T) {
	type in struct {
		Lines int `json:"lines"`
		Size  int `json:"size"`
	}
	p := plugin.MustNew(plugin.Meta{Code: "chatty"})
	plugin.MustAddVersion(p, plugin.Version[in, plugin.None, plugin.None]{
		Version: "1.0.0",
		Execute: func(ctx *plugin.Context[in, plugin.None, plugin.None]) error {
			for i := 0; i < ctx.Inputs.Lines; i++ {
				ctx.Log.Info(strings.Repeat("x", ctx.Inputs.Size))
			}
			return nil
		},
	})
	cases := []struct {
		name      string
		inputs    string
		opts      plugin.ExecuteOptions
		wantKept  int
		wantMark  string
		maxLength int
	}{
		{name: "under the bounds", inputs: `{"lines":3,"size":10}`, wantKept: 3},
		{name: "over the default line bound", inputs: `{"lines":250,"size":10}`, wantKept: plugin.DefaultMaxLogLines, wantMark: "… 50 more lines dropped"},
		// Each line is about 2 KiB with its time and level: 32 fit in 64 KiB.
		{name: "over the default byte bound", inputs: `{"lines":100,"size":2000}`, wantKept: 32, wantMark: "… 68 more lines dropped"},
		{name: "own bounds", inputs: `{"lines":10,"size":10}`, opts: plugin.ExecuteOptions{MaxLogLines: 4}, wantKept: 4, wantMark: "… 6 more lines dropped"},
		{name: "a long line is cut", inputs: `{"lines":1,"size":10000}`, wantKept: 1, maxLength: 4096 + len("…")},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			resp, err := p.Execute(context.Background(), &protocol.ExecuteRequest{
				ProtocolVersion: protocol.Version, TraceID: "0123456789abcdef0123456789abcdef", PluginCode: "chatty",
				PluginVersion: "1.0.0", State: protocol.StateEmpty, InvokeCount: 1, Inputs: []byte(tc.inputs),
			}, tc.opts)
			if err != nil || resp.State != protocol.StateSuccess {
				t.Fatalf("execute: %v %+v", err, resp)
			}
			kept := resp.Logs
			if tc.wantMark != "" {
				last := kept[len(kept)-1]
				if !strings.HasPrefix(last, tc.wantMark) {
					t.Fatalf("last line %q, want it to start %q", last, tc.wantMark)
				}
				kept = kept[:len(kept)-1]
			}
			if len(kept) != tc.wantKept {
				t.Fatalf("kept %d lines, want %d", len(kept), tc.wantKept)
			}
			size := 0
			for _, l := range kept {
				size += len(l)
				if tc.maxLength > 0 && len(l) > tc.maxLength {
					t.Fatalf("line of %d bytes, want at most %d", len(l), tc.maxLength)
				}
			}
			if size > plugin.DefaultMaxLogBytes {
				t.Fatalf("kept %d bytes, over %d", size, plugin.DefaultMaxLogBytes)
			}
		})
	}
}
