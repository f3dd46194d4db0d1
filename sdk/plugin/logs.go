package plugin

import (
	"context"
	"log/slog"
	"strconv"
	"strings"
	"sync"
	"unicode/utf8"

	"github.com/bkplugin/bk-plugin-operator/sdk/protocol"
)

// Bounds of one execute's log lines, which travel back in the execute
// answer: the manager keeps them with the invocation, so they must stay
// small next to the answer's outputs and storage.
const (
	// DefaultMaxLogLines is the most lines one execute keeps.
	DefaultMaxLogLines = 200
	// DefaultMaxLogBytes is the most bytes of lines one execute keeps.
	DefaultMaxLogBytes = 64 << 10
	// maxLogLineBytes cuts a longer line.
	maxLogLineBytes = 4096
)

// lineBuffer keeps the text lines of one execute's log, up to a number of
// lines and of bytes; the lines past them are counted, and a last line says
// how many. Lines written after the execute ended, by a goroutine Execute
// left behind, are dropped.
type lineBuffer struct {
	mu       sync.Mutex
	lines    []string
	size     int
	maxLines int
	maxBytes int
	dropped  int
	closed   bool
}

func newLineBuffer(maxLines, maxBytes int) *lineBuffer {
	if maxLines <= 0 {
		maxLines = DefaultMaxLogLines
	}
	if maxBytes <= 0 {
		maxBytes = DefaultMaxLogBytes
	}
	return &lineBuffer{maxLines: maxLines, maxBytes: maxBytes}
}

// Write takes one record from a slog.TextHandler, which writes each record
// in one call.
func (b *lineBuffer) Write(p []byte) (int, error) {
	line := strings.TrimSuffix(string(p), "\n")
	if len(line) > maxLogLineBytes {
		cut := maxLogLineBytes
		for cut > 0 && !utf8.RuneStart(line[cut]) {
			cut--
		}
		line = line[:cut] + "…"
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	switch {
	case b.closed:
	case len(b.lines) >= b.maxLines, b.size+len(line) > b.maxBytes:
		b.dropped++
	default:
		b.lines = append(b.lines, line)
		b.size += len(line)
	}
	return len(p), nil
}

// close ends the execute's log and returns its lines.
func (b *lineBuffer) close() []string {
	b.mu.Lock()
	defer b.mu.Unlock()
	if !b.closed && b.dropped > 0 {
		b.lines = append(b.lines, "… "+strconv.Itoa(b.dropped)+" more lines dropped (an execute keeps "+
			strconv.Itoa(b.maxLines)+" lines, "+strconv.Itoa(b.maxBytes>>10)+" KiB)")
	}
	b.closed = true
	return b.lines
}

// newLogger returns the logger Execute sees: every record becomes a kept
// line, and goes to the runtime's logger with the invocation's identity.
func newLogger(lines *lineBuffer, base *slog.Logger, req *protocol.ExecuteRequest) *slog.Logger {
	kept := slog.NewTextHandler(lines, &slog.HandlerOptions{Level: slog.LevelDebug})
	if base == nil {
		return slog.New(kept)
	}
	out := base.Handler().WithAttrs([]slog.Attr{
		slog.String("trace_id", req.TraceID),
		slog.String("plugin", req.PluginCode),
		slog.String("version", req.PluginVersion),
	})
	return slog.New(teeHandler{kept, out})
}

// teeHandler sends each record to two handlers.
type teeHandler struct{ a, b slog.Handler }

func (t teeHandler) Enabled(ctx context.Context, l slog.Level) bool {
	return t.a.Enabled(ctx, l) || t.b.Enabled(ctx, l)
}

func (t teeHandler) Handle(ctx context.Context, r slog.Record) error {
	var errA, errB error
	if t.a.Enabled(ctx, r.Level) {
		errA = t.a.Handle(ctx, r.Clone())
	}
	if t.b.Enabled(ctx, r.Level) {
		errB = t.b.Handle(ctx, r)
	}
	if errA != nil {
		return errA
	}
	return errB
}

func (t teeHandler) WithAttrs(as []slog.Attr) slog.Handler {
	return teeHandler{t.a.WithAttrs(as), t.b.WithAttrs(as)}
}

func (t teeHandler) WithGroup(name string) slog.Handler {
	return teeHandler{t.a.WithGroup(name), t.b.WithGroup(name)}
}
