package archive

import (
	"encoding/json"
	"fmt"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/bkplugin/bk-plugin-operator/sdk/protocol"
)

// Limits on what one record may hold; a record past them fails with
// ErrInvalid instead of being truncated, so nothing is silently lost.
const (
	// MaxNamespaceLen is the longest Kubernetes namespace name.
	MaxNamespaceLen = 63
	// MaxTraceIDLen bounds a trace id (ours are 32 hex characters; a caller's
	// X-Bkplugin-Trace-Id may be longer).
	MaxTraceIDLen = 128
	// MaxNameLen bounds plugin codes, versions and caller names.
	MaxNameLen = 256
)

// Record is one finished invocation as the archive stores it. JSON fields
// hold what status holds: sensitive values already masked by the caller.
type Record struct {
	// Key is (namespace, trace id).
	Key
	// Plugin is the plugin's code.
	Plugin string
	// RequestedVersion is the version or constraint the call named (spec.version).
	RequestedVersion string
	// ResolvedVersion is the exact version it resolved to; empty when it
	// never resolved (for example an unknown version).
	ResolvedVersion string
	// State is SUCCESS or FAIL (the archive holds finished invocations
	// only); stored as its wire code and its name.
	State protocol.State
	// Inputs are the call's inputs (a JSON object, masked), or nil.
	Inputs json.RawMessage
	// Context is the call's context data (a JSON object, masked), or nil.
	Context json.RawMessage
	// Outputs are the plugin's outputs (a JSON object, masked), or nil.
	Outputs json.RawMessage
	// Error says why the invocation failed.
	Error string
	// InvokeCount is how many executes completed.
	InvokeCount int32
	// Caller is who made the call, as the shim verified it.
	Caller Caller
	// CreatedAt is when the call was made; List sorts and filters by it.
	CreatedAt time.Time
	// StartedAt is when the first execute began; zero if none did.
	StartedAt time.Time
	// FinishedAt is when the invocation ended; retention counts from it.
	FinishedAt time.Time
	// Timeline is the invocation's life cycle, oldest first.
	Timeline []TimelineEntry
	// Attempts is free-form JSON about retried attempts (for example an
	// array of {time, error}), or nil; the archive does not look inside.
	Attempts json.RawMessage
	// Logs are the plugin's log lines. Put stores exactly these (replacing
	// any stored ones); Get and List leave it nil: read lines with Logs.
	Logs []string
	// ArchivedAt is when the row was last written, set by the archive;
	// Put ignores it.
	ArchivedAt time.Time
}

// Caller identifies who made the call.
type Caller struct {
	// AppCode is the calling app's code.
	AppCode string
	// Username is the user the app called for.
	Username string
}

// TimelineEntry is one step of an invocation's life cycle.
type TimelineEntry struct {
	// Time is when it happened.
	Time time.Time `json:"time"`
	// State is the invocation's state name after the step ("POLL"), or empty.
	State string `json:"state,omitempty"`
	// Reason is a CamelCase reason, as on events and conditions.
	Reason string `json:"reason,omitempty"`
	// Message says what happened, for people.
	Message string `json:"message,omitempty"`
}

// validateKey checks a key before it reaches the database.
func validateKey(k Key) error {
	if k.Namespace == "" {
		return fmt.Errorf("%w: namespace is empty", ErrInvalid)
	}
	if len(k.Namespace) > MaxNamespaceLen {
		return fmt.Errorf("%w: namespace is %d bytes long, the limit is %d", ErrInvalid, len(k.Namespace), MaxNamespaceLen)
	}
	if k.TraceID == "" {
		return fmt.Errorf("%w: trace id is empty", ErrInvalid)
	}
	if len(k.TraceID) > MaxTraceIDLen {
		return fmt.Errorf("%w: trace id is %d bytes long, the limit is %d", ErrInvalid, len(k.TraceID), MaxTraceIDLen)
	}
	if !utf8.ValidString(k.Namespace) || !utf8.ValidString(k.TraceID) {
		return fmt.Errorf("%w: key %q is not valid UTF-8", ErrInvalid, k.String())
	}
	return nil
}

// Validate reports the first thing wrong with r, wrapping ErrInvalid; Put
// calls it before writing anything.
func (r *Record) Validate() error {
	if err := validateKey(r.Key); err != nil {
		return err
	}
	if r.Plugin == "" {
		return fmt.Errorf("%w: %s: plugin is empty", ErrInvalid, r.Key)
	}
	if r.RequestedVersion == "" {
		return fmt.Errorf("%w: %s: requested version is empty", ErrInvalid, r.Key)
	}
	for name, v := range map[string]string{
		"plugin": r.Plugin, "requested version": r.RequestedVersion, "resolved version": r.ResolvedVersion,
		"caller app code": r.Caller.AppCode, "caller username": r.Caller.Username,
	} {
		if len(v) > MaxNameLen {
			return fmt.Errorf("%w: %s: %s is %d bytes long, the limit is %d", ErrInvalid, r.Key, name, len(v), MaxNameLen)
		}
	}
	if !r.State.Terminal() {
		return fmt.Errorf("%w: %s: state %s is not terminal: the archive holds finished invocations (SUCCESS or FAIL)", ErrInvalid, r.Key, r.State)
	}
	if r.InvokeCount < 0 {
		return fmt.Errorf("%w: %s: invoke count %d is negative", ErrInvalid, r.Key, r.InvokeCount)
	}
	if r.CreatedAt.IsZero() {
		return fmt.Errorf("%w: %s: created time is missing", ErrInvalid, r.Key)
	}
	if r.FinishedAt.IsZero() {
		return fmt.Errorf("%w: %s: finished time is missing", ErrInvalid, r.Key)
	}
	for name, raw := range map[string]json.RawMessage{"inputs": r.Inputs, "context": r.Context, "outputs": r.Outputs, "attempts": r.Attempts} {
		if raw != nil && !json.Valid(raw) {
			return fmt.Errorf("%w: %s: %s are not valid JSON", ErrInvalid, r.Key, name)
		}
	}
	// Text columns hold UTF-8 without NUL on PostgreSQL; check here so that
	// both backends refuse the same records with the same message.
	for name, v := range map[string]string{"error": r.Error, "plugin": r.Plugin, "requested version": r.RequestedVersion,
		"resolved version": r.ResolvedVersion, "caller app code": r.Caller.AppCode, "caller username": r.Caller.Username} {
		if err := checkText(v); err != "" {
			return fmt.Errorf("%w: %s: %s %s", ErrInvalid, r.Key, name, err)
		}
	}
	for i, e := range r.Timeline {
		for name, v := range map[string]string{"state": e.State, "reason": e.Reason, "message": e.Message} {
			if err := checkText(v); err != "" {
				return fmt.Errorf("%w: %s: timeline entry %d: %s %s", ErrInvalid, r.Key, i, name, err)
			}
		}
	}
	return validateLines(r.Key, 0, r.Logs)
}

// validateLines checks log lines numbered from first.
func validateLines(k Key, first int64, lines []string) error {
	for i, l := range lines {
		if err := checkText(l); err != "" {
			return fmt.Errorf("%w: %s: log line %d %s", ErrInvalid, k, first+int64(i), err)
		}
	}
	return nil
}

// checkText says what makes s unfit for a text column, or "".
func checkText(s string) string {
	if !utf8.ValidString(s) {
		return "is not valid UTF-8"
	}
	if strings.IndexByte(s, 0) >= 0 {
		return "holds a NUL byte"
	}
	return ""
}

// stateName is the name stored next to a state's code, for people reading
// the table.
func stateName(s protocol.State) string { return s.String() }

// truncTime brings t to the microsecond and UTC, the precision both
// backends keep, so that a record reads back equal to what was put.
func truncTime(t time.Time) time.Time {
	if t.IsZero() {
		return time.Time{}
	}
	return t.Truncate(time.Microsecond).UTC()
}

// normalize prepares r for writing: times at the stored precision.
func (r *Record) normalize() {
	r.CreatedAt = truncTime(r.CreatedAt)
	r.StartedAt = truncTime(r.StartedAt)
	r.FinishedAt = truncTime(r.FinishedAt)
	// Copy the timeline: the caller's slice is theirs.
	tl := make([]TimelineEntry, len(r.Timeline))
	for i, e := range r.Timeline {
		e.Time = truncTime(e.Time)
		tl[i] = e
	}
	if r.Timeline != nil {
		r.Timeline = tl
	}
}
