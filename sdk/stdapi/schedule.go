package stdapi

import (
	"encoding/json"

	"github.com/bkplugin/bk-plugin-operator/sdk/protocol"
)

// ScheduleData is the data of GET /plugins/{code}/bk_plugin/schedule/{trace_id}.
type ScheduleData struct {
	// TraceID names the invocation.
	TraceID string `json:"trace_id"`
	// PluginVersion is the version that runs the invocation (the resolved
	// version when the invoke named a constraint).
	PluginVersion string `json:"plugin_version"`
	// State is the invocation's current state.
	State protocol.State `json:"state"`
	// Outputs are the outputs so far (a JSON object).
	Outputs json.RawMessage `json:"outputs"`
	// Err says why the invocation failed; "" otherwise.
	Err string `json:"err"`
	// CreatedAt is when the invocation was created.
	CreatedAt Timestamp `json:"created_at"`
	// FinishAt is when the invocation reached SUCCESS or FAIL. The Python
	// framework answers "" (not null) while it runs; Timestamp does the same
	// and also reads null.
	FinishAt Timestamp `json:"finish_at"`
	// Attempt is the number of the invocation's current (or last) attempt
	// when it runs under a retry policy: an extension, absent otherwise.
	Attempt int32 `json:"attempt,omitempty"`
}

// ScheduleNotFoundPrefix starts the message of a schedule answer for a trace
// id that names no invocation of the plugin. Like the Python framework, the
// shim answers it with status 200 and result false.
const ScheduleNotFoundPrefix = "can not find schedule for trace_id "

// ScheduleNotFoundMessage is the message of a schedule answer for traceID
// when it names no invocation.
func ScheduleNotFoundMessage(traceID string) string { return ScheduleNotFoundPrefix + traceID }
