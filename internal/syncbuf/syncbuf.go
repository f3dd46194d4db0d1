// Package syncbuf is a text buffer safe for concurrent writers: a child
// process's stderr written by exec's goroutine, or the loggers of
// concurrent reconciles, while a test or a caller reads what was written.
package syncbuf

import (
	"strings"
	"sync"
)

// Buffer collects writes; its zero value is ready to use.
type Buffer struct {
	mu  sync.Mutex
	buf strings.Builder
}

// Write appends p.
func (b *Buffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

// String returns everything written so far.
func (b *Buffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}
