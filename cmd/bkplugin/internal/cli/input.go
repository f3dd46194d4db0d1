package cli

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"strings"
)

// readJSON reads a flag's JSON value: the value itself, "@file" for a
// file's content, or "@-" for standard input. Empty means def. When
// object is set the value must be a JSON object.
func readJSON(flag, value string, in io.Reader, def string, object bool) (json.RawMessage, error) {
	raw := []byte(value)
	switch {
	case value == "":
		raw = []byte(def)
	case value == "@-":
		if in == nil {
			return nil, usagef("--%s @-: no standard input", flag)
		}
		b, err := io.ReadAll(in)
		if err != nil {
			return nil, fmt.Errorf("--%s @-: read standard input: %w", flag, err)
		}
		raw = b
	case strings.HasPrefix(value, "@"):
		b, err := os.ReadFile(value[1:])
		if err != nil {
			return nil, usagef("--%s %s: %w", flag, value, err)
		}
		raw = b
	}
	raw = bytes.TrimSpace(raw)
	if !json.Valid(raw) {
		var probe any
		err := json.Unmarshal(raw, &probe)
		return nil, usagef("--%s is not valid JSON: %v", flag, err)
	}
	if object && (len(raw) == 0 || raw[0] != '{') {
		return nil, usagef("--%s must be a JSON object such as {\"name\": \"world\"}, got %s", flag, preview(raw))
	}
	return raw, nil
}

func preview(b []byte) string {
	const max = 40
	if len(b) > max {
		return string(b[:max]) + "..."
	}
	return string(b)
}
