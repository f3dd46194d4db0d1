//go:build envtest

package invocation_test

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/bkplugin/bk-plugin-operator/sdk/plugin"
	"github.com/bkplugin/bk-plugin-operator/sdk/protocol"
)

// relay is a plugin written for these specs with the SDK: it can poll
// before it waits for callbacks, wait for several callbacks, bound its wait,
// and fill its storage, so that each life-cycle path has a plugin that takes it.
const relayCode = "relay"

type relayInputs struct {
	PollFirstSeconds       float64 `json:"poll_first_seconds,omitempty"`
	CallbackTimeoutSeconds float64 `json:"callback_timeout_seconds,omitempty"`
	Want                   int     `json:"want,omitempty" jsonschema:"default=1"`
	StorageBytes           int     `json:"storage_bytes,omitempty"`
}

type relayOutputs struct {
	CallbackID string            `json:"callback_id,omitempty"`
	Received   []json.RawMessage `json:"received,omitempty"`
}

func relayPlugin() *plugin.Plugin {
	p := plugin.MustNew(plugin.Meta{Code: relayCode, Description: "Test plugin: polls, then collects callbacks."})
	plugin.MustAddVersion(p, plugin.Version[relayInputs, plugin.None, relayOutputs]{
		Version: "1.0.0",
		Execute: func(ctx *plugin.Context[relayInputs, plugin.None, relayOutputs]) error {
			in := ctx.Inputs
			switch ctx.State {
			case plugin.StateEmpty:
				if in.StorageBytes > 0 {
					return ctx.Storage.Set("blob", strings.Repeat("x", in.StorageBytes))
				}
				cb, err := ctx.PrepareCallback()
				if err != nil {
					return err
				}
				ctx.Outputs.CallbackID = cb.ID
				if in.PollFirstSeconds > 0 {
					ctx.WaitPoll(time.Duration(in.PollFirstSeconds * float64(time.Second)))
					return nil
				}
				ctx.WaitCallbackTimeout(time.Duration(in.CallbackTimeoutSeconds * float64(time.Second)))
			case plugin.StatePoll:
				ctx.WaitCallbackTimeout(time.Duration(in.CallbackTimeoutSeconds * float64(time.Second)))
			case plugin.StateCallback:
				ctx.Outputs.Received = append(ctx.Outputs.Received, ctx.Callback.Data)
				if len(ctx.Outputs.Received) < max(in.Want, 1) {
					ctx.WaitCallback()
				}
			}
			return nil
		},
	})
	return p
}

// executeRecord is one execute a plugin pod served.
type executeRecord struct {
	TraceID     string
	InvokeCount int
	Attempt     int
	State       protocol.State
	At          time.Time
}

// recordingPod serves a plugin and records every execute, so that specs can
// tell when the plugin ran and whether an invoke count was executed twice.
type recordingPod struct {
	handler http.Handler
	mu      sync.Mutex
	records []executeRecord
}

func (p *recordingPod) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if strings.HasPrefix(r.URL.Path, protocol.ExecutePathPrefix) {
		body, _ := io.ReadAll(r.Body)
		var req protocol.ExecuteRequest
		if json.Unmarshal(body, &req) == nil {
			p.mu.Lock()
			p.records = append(p.records, executeRecord{TraceID: req.TraceID, InvokeCount: req.InvokeCount, Attempt: max(req.Attempt, 1), State: req.State, At: time.Now()})
			p.mu.Unlock()
		}
		r.Body = io.NopCloser(bytes.NewReader(body))
	}
	p.handler.ServeHTTP(w, r)
}

// executes returns the executes served for traceID.
func (p *recordingPod) executes(traceID string) []executeRecord {
	p.mu.Lock()
	defer p.mu.Unlock()
	var out []executeRecord
	for _, r := range p.records {
		if r.TraceID == traceID {
			out = append(out, r)
		}
	}
	return out
}
