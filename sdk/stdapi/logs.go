package stdapi

import "strings"

// LogsData is the data of GET /plugins/{code}/bk_plugin/logs/{trace_id}: the
// Python framework answers the invocation's log as one plain-text string,
// lines separated by "\n".
type LogsData struct {
	// Log is the invocation's log, one line per entry.
	Log string `json:"log"`
	// Offset is the number of Log's first line (counted from 0) when the
	// caller asked for a page (QueryLogOffset, QueryLogLimit: our
	// extension); absent otherwise.
	Offset int `json:"offset,omitempty"`
	// Total is how many lines the whole log has, set when the caller asked
	// for a page; absent otherwise.
	Total *int `json:"total,omitempty"`
}

// Query parameters of the logs route, our extension: a page of the log.
const (
	// QueryLogOffset is the number of the first line to answer (from 0).
	QueryLogOffset = "offset"
	// QueryLogLimit is the most lines to answer.
	QueryLogLimit = "limit"
)

// Lines splits Log into its lines, without a trailing empty line.
func (d LogsData) Lines() []string {
	s := strings.TrimSuffix(d.Log, "\n")
	if s == "" {
		return nil
	}
	return strings.Split(s, "\n")
}
