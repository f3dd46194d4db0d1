package archive

import (
	"context"
	"errors"
	"fmt"
	"time"
)

// Archive is the history of finished invocations. Implementations are safe
// for concurrent use by many goroutines and many processes on the same
// database.
type Archive interface {
	// Put stores a finished invocation, replacing whatever is stored under
	// its key, logs included: a second Put of the same record leaves one
	// row, never two. Concurrent Puts are written together in one
	// transaction. An invalid record fails with ErrInvalid and is not
	// written.
	Put(ctx context.Context, rec Record) error

	// Get returns the invocation stored under key, without its log lines
	// (read them with Logs). An unknown key fails with ErrNotFound.
	Get(ctx context.Context, key Key) (Record, error)

	// List returns one page of invocations of a namespace, newest first
	// (by creation time), filtered by opts. Items carry no log lines.
	List(ctx context.Context, opts ListOptions) (ListPage, error)

	// AppendLogs stores lines as the invocation's log lines number from,
	// from+1, ... (counted from 0). Lines already stored at those numbers are
	// left as they are, so a retried append writes nothing twice; from past
	// the stored count fails with ErrInvalid (a gap). The invocation must
	// have been Put first (else ErrNotFound).
	AppendLogs(ctx context.Context, key Key, from int64, lines []string) error

	// Logs returns up to limit of the invocation's log lines from line
	// offset, and how many there are. An unknown key fails with ErrNotFound.
	Logs(ctx context.Context, key Key, offset, limit int) (LogPage, error)

	// DeleteFinishedBefore deletes the invocations that finished before
	// cutoff, with their log lines, in short transactions of at most
	// Options.DeleteBatch rows each so that Puts are never held up for
	// longer than one batch. It returns how many invocations it deleted.
	DeleteFinishedBefore(ctx context.Context, cutoff time.Time) (int64, error)

	// Ping checks that the database answers.
	Ping(ctx context.Context) error

	// Close waits for Puts in flight and releases the database.
	Close() error
}

// Key names one invocation: the trace id is unique within a namespace.
type Key struct {
	// Namespace is the invocation's Kubernetes namespace.
	Namespace string
	// TraceID is the invocation's trace id (its PluginInvocation's name).
	TraceID string
}

// String returns "namespace/traceID", for messages.
func (k Key) String() string { return k.Namespace + "/" + k.TraceID }

// Errors callers switch on with errors.Is. Any other error means the
// database could not be used (down, unreachable, full): retry later.
var (
	// ErrNotFound: no invocation is stored under the key.
	ErrNotFound = errors.New("invocation not found in the archive")
	// ErrInvalid: the argument is wrong (the message says how); retrying
	// will not help.
	ErrInvalid = errors.New("invalid archive request")
	// ErrClosed: the archive was closed.
	ErrClosed = errors.New("archive is closed")
)

// deleteInBatches runs deleteBatch, which deletes at most batch rows
// finished before cutoff, until a batch deletes fewer, and returns how many
// it deleted in all.
func deleteInBatches(cutoff time.Time, batch int, deleteBatch func() (int64, error)) (int64, error) {
	var total int64
	for {
		n, err := deleteBatch()
		if err != nil {
			return total, fmt.Errorf("delete archived invocations finished before %s: %w", cutoff.Format(time.RFC3339), err)
		}
		total += n
		if n < int64(batch) {
			return total, nil
		}
	}
}
