package history

import (
	"encoding/json"

	bkv1 "github.com/bkplugin/bk-plugin-operator/api/v1alpha1"
	"github.com/bkplugin/bk-plugin-operator/internal/sensitive"
)

// LogLimits bound the plugin log lines one invocation keeps in its status
// until it is archived with them. The plugin bounds each execute's lines
// (the SDK: 200 lines, 64 KiB); these bound the sum over executes, so that a
// long POLL invocation stays far below the API server's object limit.
type LogLimits struct {
	// MaxLines is the most lines kept (default 1000).
	MaxLines int
	// MaxBytes is the most bytes of lines kept (default 256 KiB).
	MaxBytes int
	// MaxLineBytes cuts longer lines (default 4096), whoever wrote the
	// plugin.
	MaxLineBytes int
}

// Defaults of LogLimits.
const (
	DefaultMaxLogLines     = 1000
	DefaultMaxLogBytes     = 256 << 10
	DefaultMaxLogLineBytes = 4096
)

// WithDefaults fills the zero fields of l.
func (l LogLimits) WithDefaults() LogLimits {
	if l.MaxLines <= 0 {
		l.MaxLines = DefaultMaxLogLines
	}
	if l.MaxBytes <= 0 {
		l.MaxBytes = DefaultMaxLogBytes
	}
	if l.MaxLineBytes <= 0 {
		l.MaxLineBytes = DefaultMaxLogLineBytes
	}
	return l
}

// KeepLines adds the lines of one execute answer to st.Logs. Each line is
// cleaned (valid UTF-8, no NUL byte, at most MaxLineBytes) and scrubbed of
// the invocation's sensitive values (a plugin not built on the SDK may log
// them); past the limits the oldest lines are dropped and counted in
// st.LogLinesDropped, so that the lines that led to the end are kept.
func KeepLines(st *bkv1.PluginInvocationStatus, lines []string, l LogLimits, secrets ...map[string]json.RawMessage) {
	if len(lines) == 0 {
		return
	}
	l = l.WithDefaults()
	kept := st.Logs
	for _, line := range lines {
		kept = append(kept, sensitive.Scrub(cleanLine(line, l.MaxLineBytes), secrets...))
	}
	size := 0
	for _, line := range kept {
		size += len(line)
	}
	drop := 0
	for len(kept)-drop > l.MaxLines || (size > l.MaxBytes && drop < len(kept)) {
		size -= len(kept[drop])
		drop++
	}
	if drop > 0 {
		st.LogLinesDropped += int32(drop)
		kept = append([]string(nil), kept[drop:]...)
	}
	st.Logs = kept
}

// cleanLine makes line fit a text column of either archive backend and
// bounds it.
func cleanLine(line string, max int) string {
	line = cleanText(line)
	if len(line) > max {
		cut := max
		for cut > 0 && !isRuneStart(line[cut]) {
			cut--
		}
		line = line[:cut] + "…"
	}
	return line
}

func isRuneStart(b byte) bool { return b&0xC0 != 0x80 }
