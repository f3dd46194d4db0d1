package plugin

import (
	"context"
	"encoding/json"
	"log/slog"
	"strings"

	"github.com/bkplugin/bk-plugin-operator/api/v1alpha1"
)

// minRedactedLen is the shortest value redacted: replacing every "a" or
// "1" in a log line would hide more than it protects.
const minRedactedLen = 3

// sensitiveValues returns the text of the inputs a version's task.json
// marks isSensitive, as this execute received them.
func sensitiveValues(fields []string, inputs json.RawMessage) []string {
	if len(fields) == 0 || len(inputs) == 0 {
		return nil
	}
	var in map[string]json.RawMessage
	if json.Unmarshal(inputs, &in) != nil {
		return nil
	}
	var values []string
	for _, f := range fields {
		raw, ok := in[f]
		if !ok {
			continue
		}
		var s string
		if json.Unmarshal(raw, &s) != nil {
			s = strings.TrimSpace(string(raw))
		}
		if len(s) >= minRedactedLen && s != "null" {
			values = append(values, s)
		}
	}
	return values
}

// redact replaces each of values in s with the mask.
func redact(s string, values []string) string {
	for _, v := range values {
		s = strings.ReplaceAll(s, v, v1alpha1.SensitiveMask)
	}
	return s
}

// redactHandler keeps sensitive values out of every log line of an
// execute, whoever logs them: the plugin's author or the SDK quoting an
// error that quotes an input.
type redactHandler struct {
	next   slog.Handler
	values []string
}

func (h redactHandler) Enabled(ctx context.Context, l slog.Level) bool { return h.next.Enabled(ctx, l) }

func (h redactHandler) Handle(ctx context.Context, r slog.Record) error {
	out := slog.NewRecord(r.Time, r.Level, redact(r.Message, h.values), r.PC)
	r.Attrs(func(a slog.Attr) bool {
		out.AddAttrs(h.attr(a))
		return true
	})
	return h.next.Handle(ctx, out)
}

func (h redactHandler) attr(a slog.Attr) slog.Attr {
	v := a.Value.Resolve()
	switch v.Kind() {
	case slog.KindString:
		return slog.String(a.Key, redact(v.String(), h.values))
	case slog.KindGroup:
		attrs := v.Group()
		out := make([]any, 0, len(attrs))
		for _, g := range attrs {
			out = append(out, h.attr(g))
		}
		return slog.Group(a.Key, out...)
	case slog.KindAny:
		// Errors, Stringers and structs print through fmt; redact that text.
		return slog.String(a.Key, redact(v.String(), h.values))
	}
	return a
}

func (h redactHandler) WithAttrs(as []slog.Attr) slog.Handler {
	red := make([]slog.Attr, len(as))
	for i, a := range as {
		red[i] = h.attr(a)
	}
	return redactHandler{next: h.next.WithAttrs(red), values: h.values}
}

func (h redactHandler) WithGroup(name string) slog.Handler {
	return redactHandler{next: h.next.WithGroup(name), values: h.values}
}
