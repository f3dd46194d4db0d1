package stdapi

import (
	"encoding/json"
	"fmt"
	"time"
)

// TimestampLayout is the Python framework's strftime("%Y-%m-%d %H:%M:%S").
const TimestampLayout = "2006-01-02 15:04:05"

// Timestamp is a time on the wire as "YYYY-MM-DD HH:MM:SS" in UTC, the
// format of the Python framework's schedule answer. The zero Timestamp is
// written as "" — what Python answers for an unfinished invocation's
// finish_at — and both "" and null read back as zero.
type Timestamp struct {
	time.Time
}

// NewTimestamp returns t truncated to whole seconds, since the wire format
// has no fraction, so that a value survives a round trip unchanged.
func NewTimestamp(t time.Time) Timestamp {
	if t.IsZero() {
		return Timestamp{}
	}
	return Timestamp{Time: t.UTC().Truncate(time.Second)}
}

// String returns the wire form: "" for zero, else the layout in UTC.
func (t Timestamp) String() string {
	if t.IsZero() {
		return ""
	}
	return t.UTC().Format(TimestampLayout)
}

// MarshalJSON writes the wire form as a JSON string.
func (t Timestamp) MarshalJSON() ([]byte, error) {
	return json.Marshal(t.String())
}

// UnmarshalJSON reads "", null or "YYYY-MM-DD HH:MM:SS" (taken as UTC).
func (t *Timestamp) UnmarshalJSON(b []byte) error {
	if string(b) == "null" {
		*t = Timestamp{}
		return nil
	}
	var s string
	if err := json.Unmarshal(b, &s); err != nil {
		return fmt.Errorf("timestamp must be a string like %q: %w", TimestampLayout, err)
	}
	if s == "" {
		*t = Timestamp{}
		return nil
	}
	v, err := time.ParseInLocation(TimestampLayout, s, time.UTC)
	if err != nil {
		return fmt.Errorf("timestamp %q is not in the form %q: %w", s, TimestampLayout, err)
	}
	*t = Timestamp{Time: v}
	return nil
}
