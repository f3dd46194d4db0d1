package archive

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/bkplugin/bk-plugin-operator/sdk/protocol"
)

// Page sizes of List.
const (
	// DefaultListLimit is the page size when ListOptions.Limit is 0.
	DefaultListLimit = 50
	// MaxListLimit is the largest page List returns.
	MaxListLimit = 500
)

// ListOptions selects invocations for List. Zero fields do not filter.
type ListOptions struct {
	// Namespace is required: history is per namespace.
	Namespace string
	// Plugin keeps the invocations of this plugin code.
	Plugin string
	// States keeps the invocations in one of these states.
	States []protocol.State
	// Version keeps the invocations whose resolved version is this one.
	Version string
	// CreatedAfter keeps the invocations created at or after it.
	CreatedAfter time.Time
	// CreatedBefore keeps the invocations created before it.
	CreatedBefore time.Time
	// Limit is the page size: 0 means DefaultListLimit; at most MaxListLimit.
	Limit int
	// Cursor continues a listing from ListPage.NextCursor of the previous
	// page, with the same filters; empty starts from the newest.
	Cursor string
}

// ListPage is one page of a listing.
type ListPage struct {
	// Items are the invocations, newest first, without log lines.
	Items []Record
	// NextCursor continues the listing; empty on the last page.
	NextCursor string
}

// listCursor is where a page ended: the last item's sort key. It travels
// as opaque base64 JSON.
type listCursor struct {
	CreatedAt int64  `json:"c"` // unix microseconds
	TraceID   string `json:"t"`
}

// encodeCursor returns the cursor that continues after rec.
func encodeCursor(rec Record) string {
	b, _ := json.Marshal(listCursor{CreatedAt: rec.CreatedAt.UnixMicro(), TraceID: rec.TraceID})
	return base64.RawURLEncoding.EncodeToString(b)
}

// CursorAfter returns the cursor that continues a listing after the
// invocation created at createdAt with traceID, for callers that merge the
// archive's pages with invocations of their own (the shim's history list)
// and so end a page on an item the archive did not return.
func CursorAfter(createdAt time.Time, traceID string) string {
	return encodeCursor(Record{Key: Key{TraceID: traceID}, CreatedAt: createdAt})
}

// decodeCursor parses a cursor made by encodeCursor.
func decodeCursor(s string) (listCursor, error) {
	var c listCursor
	b, err := base64.RawURLEncoding.DecodeString(s)
	if err == nil {
		err = json.Unmarshal(b, &c)
	}
	if err != nil || c.TraceID == "" {
		return listCursor{}, fmt.Errorf("%w: cursor %q is not one this archive returned", ErrInvalid, s)
	}
	return c, nil
}

// listQuery is ListOptions checked and resolved, ready for a backend.
type listQuery struct {
	ListOptions
	limit  int
	after  *listCursor
	states []int16
}

// resolve checks opts and returns the query a backend runs.
func (opts ListOptions) resolve() (listQuery, error) {
	q := listQuery{ListOptions: opts, limit: opts.Limit}
	if opts.Namespace == "" {
		return q, fmt.Errorf("%w: list needs a namespace", ErrInvalid)
	}
	switch {
	case q.limit == 0:
		q.limit = DefaultListLimit
	case q.limit < 0 || q.limit > MaxListLimit:
		return q, fmt.Errorf("%w: limit %d is out of range 1-%d", ErrInvalid, q.limit, MaxListLimit)
	}
	for _, s := range opts.States {
		if !s.Valid() {
			return q, fmt.Errorf("%w: state %d is not one of 1 (EMPTY), 2 (POLL), 3 (CALLBACK), 4 (SUCCESS), 5 (FAIL)", ErrInvalid, int(s))
		}
		q.states = append(q.states, int16(s))
	}
	if !opts.CreatedAfter.IsZero() && !opts.CreatedBefore.IsZero() && !opts.CreatedAfter.Before(opts.CreatedBefore) {
		return q, fmt.Errorf("%w: created-after %s is not before created-before %s", ErrInvalid,
			opts.CreatedAfter.Format(time.RFC3339Nano), opts.CreatedBefore.Format(time.RFC3339Nano))
	}
	if opts.Cursor != "" {
		c, err := decodeCursor(opts.Cursor)
		if err != nil {
			return q, err
		}
		q.after = &c
	}
	return q, nil
}

// page turns the limit+1 rows a backend read into a page.
func (q listQuery) page(rows []Record) ListPage {
	p := ListPage{Items: rows}
	if len(rows) > q.limit {
		p.Items = rows[:q.limit]
		p.NextCursor = encodeCursor(p.Items[q.limit-1])
	}
	return p
}

// listRecords is List: query runs the SELECT in dialect d and returns its
// records.
func listRecords(opts ListOptions, d sqlDialect, query func(sql string, args []any) ([]Record, error)) (ListPage, error) {
	q, err := opts.resolve()
	if err != nil {
		return ListPage{}, err
	}
	recs, err := query(q.sql(d))
	if err != nil {
		return ListPage{}, fmt.Errorf("list the archive: %w", err)
	}
	return q.page(recs), nil
}

// sqlDialect is what differs between the backends' List queries.
type sqlDialect struct {
	// numbered: placeholders are $1, $2, ... (PostgreSQL); else ? (SQLite).
	numbered bool
	// micros: times are unix microseconds (SQLite); else time.Time.
	micros bool
}

// time is t as a time column's argument.
func (d sqlDialect) time(t time.Time) any {
	if d.micros {
		return t.UnixMicro()
	}
	return t
}

// sql returns List's SELECT for q in dialect d, and its arguments.
func (q listQuery) sql(d sqlDialect) (string, []any) {
	var where []string
	var args []any
	param := func(v any) string {
		args = append(args, v)
		if d.numbered {
			return "$" + strconv.Itoa(len(args))
		}
		return "?"
	}
	where = append(where, "namespace = "+param(q.Namespace))
	if q.Plugin != "" {
		where = append(where, "plugin = "+param(q.Plugin))
	}
	if len(q.states) > 0 {
		ps := make([]string, len(q.states))
		for i, s := range q.states {
			ps[i] = param(s)
		}
		where = append(where, "state IN ("+strings.Join(ps, ", ")+")")
	}
	if q.Version != "" {
		where = append(where, "resolved_version = "+param(q.Version))
	}
	if !q.CreatedAfter.IsZero() {
		where = append(where, "created_at >= "+param(d.time(q.CreatedAfter)))
	}
	if !q.CreatedBefore.IsZero() {
		where = append(where, "created_at < "+param(d.time(q.CreatedBefore)))
	}
	if q.after != nil {
		created := param(d.time(time.UnixMicro(q.after.CreatedAt)))
		where = append(where, "(created_at, trace_id) < ("+created+", "+param(q.after.TraceID)+")")
	}
	return "SELECT " + recordColumns + " FROM " + invocationsTable + " WHERE " + strings.Join(where, " AND ") +
		" ORDER BY created_at DESC, trace_id DESC LIMIT " + param(q.limit+1), args
}
