package cli

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"sort"
	"strings"
	"text/tabwriter"

	"github.com/bkplugin/bk-plugin-operator/sdk/protocol"
	"github.com/bkplugin/bk-plugin-operator/sdk/stdapi"
)

// writeJSON writes v as indented JSON and a new line.
func writeJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	enc.SetEscapeHTML(false)
	return enc.Encode(v)
}

// table writes rows aligned in columns, the first row being the header.
func table(w io.Writer, rows [][]string) error {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	for _, r := range rows {
		fmt.Fprintln(tw, strings.Join(r, "\t"))
	}
	return tw.Flush()
}

// invocationView is how the CLI shows one invocation, whether it came from
// invoke, schedule or cancel: the wire fields plus the state's name.
type invocationView struct {
	TraceID       string          `json:"trace_id"`
	Plugin        string          `json:"plugin"`
	PluginVersion string          `json:"plugin_version,omitempty"`
	State         protocol.State  `json:"state"`
	StateName     string          `json:"state_name"`
	Outputs       json.RawMessage `json:"outputs"`
	Err           string          `json:"err"`
	CreatedAt     string          `json:"created_at,omitempty"`
	FinishAt      string          `json:"finish_at,omitempty"`
}

func viewOfSchedule(code string, s stdapi.ScheduleData) invocationView {
	return invocationView{
		TraceID: s.TraceID, Plugin: code, PluginVersion: s.PluginVersion,
		State: s.State, StateName: s.State.String(), Outputs: orEmptyObject(s.Outputs), Err: s.Err,
		CreatedAt: s.CreatedAt.String(), FinishAt: s.FinishAt.String(),
	}
}

func orEmptyObject(raw json.RawMessage) json.RawMessage {
	if len(bytes.TrimSpace(raw)) == 0 || string(bytes.TrimSpace(raw)) == "null" {
		return json.RawMessage("{}")
	}
	return raw
}

// writeInvocation prints v as JSON or as a key/value block.
func (g *globals) writeInvocation(v invocationView) error {
	if g.json() {
		return writeJSON(g.io.Out, v)
	}
	rows := [][]string{
		{"TRACE ID", v.TraceID},
		{"PLUGIN", v.Plugin},
	}
	if v.PluginVersion != "" {
		rows = append(rows, []string{"VERSION", v.PluginVersion})
	}
	rows = append(rows, []string{"STATE", fmt.Sprintf("%s (%d)", v.StateName, int(v.State))})
	if v.Err != "" {
		rows = append(rows, []string{"ERROR", v.Err})
	}
	if v.CreatedAt != "" {
		rows = append(rows, []string{"CREATED", v.CreatedAt + " UTC"})
	}
	if v.FinishAt != "" {
		rows = append(rows, []string{"FINISHED", v.FinishAt + " UTC"})
	}
	rows = append(rows, []string{"OUTPUTS", indentJSON(v.Outputs)})
	return table(g.io.Out, rows)
}

// indentJSON pretty-prints raw JSON for a table cell; lines after the first
// are indented by the tabwriter's column, so they are kept compact instead.
func indentJSON(raw json.RawMessage) string {
	var buf bytes.Buffer
	if err := json.Compact(&buf, raw); err != nil {
		return string(raw)
	}
	return buf.String()
}

// schemaFields lists a JSON Schema object's property names, sorted, each
// required one marked with '*'; "-" when there are none.
func schemaFields(raw json.RawMessage) string {
	var s struct {
		Properties map[string]json.RawMessage `json:"properties"`
		Required   []string                   `json:"required"`
	}
	if err := json.Unmarshal(raw, &s); err != nil || len(s.Properties) == 0 {
		return "-"
	}
	required := map[string]bool{}
	for _, r := range s.Required {
		required[r] = true
	}
	names := make([]string, 0, len(s.Properties))
	for n := range s.Properties {
		if required[n] {
			n += "*"
		}
		names = append(names, n)
	}
	sort.Strings(names)
	return strings.Join(names, ",")
}

// orDash keeps empty table cells visible.
func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

// writeJSONLine writes v as one line of JSON, for streams.
func writeJSONLine(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	return enc.Encode(v)
}
