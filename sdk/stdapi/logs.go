package stdapi

import "strings"

// LogsData is the data of GET /plugins/{code}/bk_plugin/logs/{trace_id}: the
// Python framework answers the invocation's log as one plain-text string,
// lines separated by "\n".
type LogsData struct {
	// Log is the invocation's log, one line per entry.
	Log string `json:"log"`
}

// Lines splits Log into its lines, without a trailing empty line.
func (d LogsData) Lines() []string {
	s := strings.TrimSuffix(d.Log, "\n")
	if s == "" {
		return nil
	}
	return strings.Split(s, "\n")
}
