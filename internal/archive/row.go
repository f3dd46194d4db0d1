package archive

import (
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/bkplugin/bk-plugin-operator/sdk/protocol"
)

// Table and column names, the same in both backends' schemas.
const (
	invocationsTable = "bkplugin_invocations"
	logsTable        = "bkplugin_invocation_logs"
	// recordColumns are read by Get and List in this order (see scanTarget).
	recordColumns = "namespace, trace_id, plugin, requested_version, resolved_version, state, " +
		"inputs, context, outputs, error, invoke_count, caller_app_code, caller_username, " +
		"created_at, started_at, finished_at, timeline, attempts, archived_at"
	// writeColumns are written by Put in this order (see writeValues),
	// followed by archived_at.
	writeColumns = "namespace, trace_id, plugin, requested_version, resolved_version, state, state_name, " +
		"inputs, context, outputs, error, invoke_count, caller_app_code, caller_username, " +
		"created_at, started_at, finished_at, timeline, attempts, archived_at"
	// upsertSet replaces every written column of an existing row.
	upsertSet = "plugin = excluded.plugin, requested_version = excluded.requested_version, " +
		"resolved_version = excluded.resolved_version, state = excluded.state, state_name = excluded.state_name, " +
		"inputs = excluded.inputs, context = excluded.context, outputs = excluded.outputs, error = excluded.error, " +
		"invoke_count = excluded.invoke_count, caller_app_code = excluded.caller_app_code, " +
		"caller_username = excluded.caller_username, created_at = excluded.created_at, " +
		"started_at = excluded.started_at, finished_at = excluded.finished_at, timeline = excluded.timeline, " +
		"attempts = excluded.attempts, archived_at = excluded.archived_at"
)

// writeValues returns r's column values in writeColumns order (without
// archived_at), times converted by toTime (nil for a zero time).
func writeValues(r Record, toTime func(time.Time) any) ([]any, error) {
	var timeline any
	if r.Timeline != nil {
		b, err := json.Marshal(r.Timeline)
		if err != nil {
			return nil, fmt.Errorf("%w: %s: timeline: %v", ErrInvalid, r.Key, err)
		}
		timeline = string(b)
	}
	return []any{
		r.Namespace, r.TraceID, r.Plugin, r.RequestedVersion, r.ResolvedVersion, int16(r.State), stateName(r.State),
		jsonValue(r.Inputs), jsonValue(r.Context), jsonValue(r.Outputs), r.Error, r.InvokeCount,
		r.Caller.AppCode, r.Caller.Username,
		toTime(r.CreatedAt), toTime(r.StartedAt), toTime(r.FinishedAt), timeline, jsonValue(r.Attempts),
	}, nil
}

// jsonValue is a JSON column's value: NULL for nil, else the text as given.
func jsonValue(raw json.RawMessage) any {
	if raw == nil {
		return nil
	}
	return string(raw)
}

// scanTarget receives one row of recordColumns; each backend scans the
// time columns into its own types and fills the times in.
type scanTarget struct {
	rec                      Record
	state                    int16
	inputs, context, outputs []byte
	timeline, attempts       []byte
}

// dests returns the scan destinations of the columns before created_at.
func (s *scanTarget) dests() []any {
	r := &s.rec
	return []any{&r.Namespace, &r.TraceID, &r.Plugin, &r.RequestedVersion, &r.ResolvedVersion, &s.state,
		&s.inputs, &s.context, &s.outputs, &r.Error, &r.InvokeCount, &r.Caller.AppCode, &r.Caller.Username}
}

// record finishes the scanned row into a Record.
func (s *scanTarget) record() (Record, error) {
	r := s.rec
	r.State = protocol.State(s.state)
	r.Inputs, r.Context, r.Outputs, r.Attempts = rawJSON(s.inputs), rawJSON(s.context), rawJSON(s.outputs), rawJSON(s.attempts)
	if s.timeline != nil {
		if err := json.Unmarshal(s.timeline, &r.Timeline); err != nil {
			return Record{}, fmt.Errorf("archive row %s: timeline: %w", r.Key, err)
		}
	}
	return r, nil
}

// rawJSON keeps nil for NULL and copies the bytes otherwise.
func rawJSON(b []byte) json.RawMessage {
	if b == nil {
		return nil
	}
	return json.RawMessage(append([]byte(nil), b...))
}

// scanner is one row of either backend (pgx.Row, *sql.Row, *sql.Rows).
type scanner interface{ Scan(dest ...any) error }

// resultRows is a result set of either backend (pgx.Rows, *sql.Rows).
type resultRows interface {
	scanner
	Next() bool
	Err() error
}

// scan reads one row of recordColumns into a Record: the columns before
// created_at into s, the time columns into the backend's own destinations
// (its scan converts them afterwards).
func (s *scanTarget) scan(row scanner, created, started, finished, archived any) (Record, error) {
	dests := append(s.dests(), created, started, finished, &s.timeline, &s.attempts, archived)
	if err := row.Scan(dests...); err != nil {
		return Record{}, err
	}
	return s.record()
}

// scanRecords reads every row of rows with scan.
func scanRecords[R resultRows](rows R, scan func(scanner) (Record, error)) ([]Record, error) {
	var recs []Record
	for rows.Next() {
		rec, err := scan(rows)
		if err != nil {
			return nil, err
		}
		recs = append(recs, rec)
	}
	return recs, rows.Err()
}

// getRecord is Get: it checks key, reads its row with read and says
// ErrNotFound for a missing row (noRows, the backend's own error).
func getRecord(key Key, noRows error, read func() (Record, error)) (Record, error) {
	if err := validateKey(key); err != nil {
		return Record{}, err
	}
	rec, err := read()
	if errors.Is(err, noRows) {
		return Record{}, fmt.Errorf("%w: %s", ErrNotFound, key)
	}
	if err != nil {
		return Record{}, fmt.Errorf("read %s from the archive: %w", key, err)
	}
	return rec, nil
}
