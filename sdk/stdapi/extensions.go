package stdapi

import (
	"net/url"
	"strconv"
	"time"

	"github.com/bkplugin/bk-plugin-operator/sdk/protocol"
)

// Routes of the extensions beyond the Python framework's API (docs/api.md
// lists them as ours): cancelling an invocation and listing a plugin's
// invocations, live and archived.
const (
	// CancelRoute (POST, empty body) asks for an invocation to be cancelled;
	// it answers the invocation's ScheduleData once the request is recorded.
	// The invocation ends FAIL when the manager has told the plugin.
	CancelRoute = PluginPrefixRoute + "/bk_plugin/cancel/{trace_id}"
	// InvocationsRoute (GET) answers an InvocationList, newest first,
	// filtered by the query parameters named by the Query* constants.
	InvocationsRoute = PluginPrefixRoute + "/bk_plugin/invocations"
)

// Query parameters of InvocationsRoute.
const (
	// QueryState keeps invocations in one state, by name ("FAIL") or code ("5").
	QueryState = "state"
	// QueryVersion keeps invocations of one plugin version.
	QueryVersion = "version"
	// QueryCursor continues a listing where InvocationList.NextCursor left it.
	QueryCursor = "cursor"
	// QueryLimit bounds the page's length; the shim caps it.
	QueryLimit = "limit"
	// QueryCreatedAfter keeps invocations created at or after a time
	// (RFC 3339).
	QueryCreatedAfter = "created_after"
	// QueryCreatedBefore keeps invocations created before a time (RFC 3339).
	QueryCreatedBefore = "created_before"
)

// CancelPath returns the cancel path of one invocation.
func CancelPath(code, traceID string) string {
	return PluginBasePath(code) + "/bk_plugin/cancel/" + url.PathEscape(traceID)
}

// InvocationsQuery selects a page of InvocationsRoute. Zero fields are
// left out of the query.
type InvocationsQuery struct {
	// State keeps invocations in this state; 0 keeps all.
	State protocol.State
	// Version keeps invocations of this version; "" keeps all.
	Version string
	// Cursor is the NextCursor of the previous page; "" starts at the newest.
	Cursor string
	// Limit bounds the page; 0 lets the shim choose.
	Limit int
	// CreatedAfter keeps invocations created at or after it; zero keeps all.
	CreatedAfter time.Time
	// CreatedBefore keeps invocations created before it; zero keeps all.
	CreatedBefore time.Time
}

// InvocationsPath returns the path and query of a page of plugin code's
// invocations.
func InvocationsPath(code string, q InvocationsQuery) string {
	p := PluginBasePath(code) + "/bk_plugin/invocations"
	v := url.Values{}
	if q.State != 0 {
		v.Set(QueryState, q.State.String())
	}
	if q.Version != "" {
		v.Set(QueryVersion, q.Version)
	}
	if q.Cursor != "" {
		v.Set(QueryCursor, q.Cursor)
	}
	if q.Limit > 0 {
		v.Set(QueryLimit, strconv.Itoa(q.Limit))
	}
	if !q.CreatedAfter.IsZero() {
		v.Set(QueryCreatedAfter, q.CreatedAfter.UTC().Format(time.RFC3339Nano))
	}
	if !q.CreatedBefore.IsZero() {
		v.Set(QueryCreatedBefore, q.CreatedBefore.UTC().Format(time.RFC3339Nano))
	}
	if len(v) == 0 {
		return p
	}
	return p + "?" + v.Encode()
}

// InvocationList is the data of InvocationsRoute: one page of a plugin's
// invocations, newest first.
type InvocationList struct {
	// Items are the page's invocations.
	Items []InvocationSummary `json:"items"`
	// NextCursor continues the listing (QueryCursor); "" on the last page.
	NextCursor string `json:"next_cursor"`
}

// InvocationSummary is one invocation in an InvocationList: the fields of
// ScheduleData but the outputs, which Schedule answers.
type InvocationSummary struct {
	// TraceID names the invocation.
	TraceID string `json:"trace_id"`
	// PluginVersion is the version that ran it.
	PluginVersion string `json:"plugin_version"`
	// State is its state.
	State protocol.State `json:"state"`
	// Err says why it failed; "" otherwise.
	Err string `json:"err"`
	// CreatedAt is when it was created.
	CreatedAt Timestamp `json:"created_at"`
	// FinishAt is when it ended; zero while it runs.
	FinishAt Timestamp `json:"finish_at"`
}
