package archive

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
)

// ErrUnavailable: the archive is not open yet (its database has not
// answered since the process started). It is a "retry later" error, as any
// error that is not ErrNotFound, ErrInvalid or ErrClosed.
var ErrUnavailable = errors.New("archive is unavailable")

// DeferredOptions tune OpenDeferred.
type DeferredOptions struct {
	// AttemptTimeout bounds one attempt to open the archive (default 30s:
	// migrations included).
	AttemptTimeout time.Duration
	// MinBackoff and MaxBackoff bound the wait between attempts (defaults
	// 1s and 30s, doubling).
	MinBackoff, MaxBackoff time.Duration
	// OnError, when set, is told each failed attempt and the wait before
	// the next, for the process's log.
	OnError func(err error, retryIn time.Duration)
	// OnOpen, when set, is told once the archive is open.
	OnOpen func()
}

// Deferred is an Archive that opens its database in the background: a
// process that needs the archive starts, and keeps its live work going,
// while the database is down. Until the first successful Open, every method
// fails with ErrUnavailable wrapping the last attempt's error; afterwards
// it is the opened archive (whose own errors say when the database goes
// away again: pgx reconnects by itself, SQLite is a local file).
type Deferred struct {
	mu      sync.RWMutex
	a       Archive
	lastErr error
	closed  bool
	ready   chan struct{}
	cancel  context.CancelFunc
	done    chan struct{}
}

// OpenDeferred checks dsn and starts opening it in the background, retrying
// with backoff until it succeeds, Close is called or ctx ends. A DSN that
// can never work (a scheme it does not know, a malformed path or URL) fails
// here with ErrInvalid, so that a typo is an error at start-up and not a
// retry loop.
func OpenDeferred(ctx context.Context, dsn string, opts Options, d DeferredOptions) (*Deferred, error) {
	if err := CheckDSN(dsn); err != nil {
		return nil, err
	}
	if d.AttemptTimeout <= 0 {
		d.AttemptTimeout = 30 * time.Second
	}
	if d.MinBackoff <= 0 {
		d.MinBackoff = time.Second
	}
	if d.MaxBackoff < d.MinBackoff {
		d.MaxBackoff = max(30*time.Second, d.MinBackoff)
	}
	ctx, cancel := context.WithCancel(ctx)
	x := &Deferred{ready: make(chan struct{}), cancel: cancel, done: make(chan struct{}),
		lastErr: errors.New("not opened yet")}
	go x.run(ctx, dsn, opts, d)
	return x, nil
}

func (x *Deferred) run(ctx context.Context, dsn string, opts Options, d DeferredOptions) {
	defer close(x.done)
	wait := d.MinBackoff
	for {
		actx, cancel := context.WithTimeout(ctx, d.AttemptTimeout)
		a, err := Open(actx, dsn, opts)
		cancel()
		if err == nil {
			x.mu.Lock()
			if x.closed {
				x.mu.Unlock()
				_ = a.Close()
				return
			}
			x.a, x.lastErr = a, nil
			close(x.ready)
			x.mu.Unlock()
			if d.OnOpen != nil {
				d.OnOpen()
			}
			return
		}
		x.mu.Lock()
		x.lastErr = err
		x.mu.Unlock()
		if ctx.Err() != nil {
			return
		}
		if d.OnError != nil {
			d.OnError(err, wait)
		}
		select {
		case <-ctx.Done():
			return
		case <-time.After(wait):
		}
		wait = min(2*wait, d.MaxBackoff)
	}
}

// Ready is closed once the archive is open.
func (x *Deferred) Ready() <-chan struct{} { return x.ready }

// get returns the open archive, or why there is none.
func (x *Deferred) get() (Archive, error) {
	x.mu.RLock()
	defer x.mu.RUnlock()
	switch {
	case x.closed:
		return nil, ErrClosed
	case x.a == nil:
		return nil, fmt.Errorf("%w: %v", ErrUnavailable, x.lastErr)
	}
	return x.a, nil
}

// Put implements Archive.
func (x *Deferred) Put(ctx context.Context, rec Record) error {
	a, err := x.get()
	if err != nil {
		return err
	}
	return a.Put(ctx, rec)
}

// Get implements Archive.
func (x *Deferred) Get(ctx context.Context, key Key) (Record, error) {
	a, err := x.get()
	if err != nil {
		return Record{}, err
	}
	return a.Get(ctx, key)
}

// List implements Archive.
func (x *Deferred) List(ctx context.Context, opts ListOptions) (ListPage, error) {
	a, err := x.get()
	if err != nil {
		return ListPage{}, err
	}
	return a.List(ctx, opts)
}

// AppendLogs implements Archive.
func (x *Deferred) AppendLogs(ctx context.Context, key Key, from int64, lines []string) error {
	a, err := x.get()
	if err != nil {
		return err
	}
	return a.AppendLogs(ctx, key, from, lines)
}

// Logs implements Archive.
func (x *Deferred) Logs(ctx context.Context, key Key, offset, limit int) (LogPage, error) {
	a, err := x.get()
	if err != nil {
		return LogPage{}, err
	}
	return a.Logs(ctx, key, offset, limit)
}

// DeleteFinishedBefore implements Archive.
func (x *Deferred) DeleteFinishedBefore(ctx context.Context, cutoff time.Time) (int64, error) {
	a, err := x.get()
	if err != nil {
		return 0, err
	}
	return a.DeleteFinishedBefore(ctx, cutoff)
}

// Ping implements Archive.
func (x *Deferred) Ping(ctx context.Context) error {
	a, err := x.get()
	if err != nil {
		return err
	}
	return a.Ping(ctx)
}

// Close stops opening and closes the archive if it was opened.
func (x *Deferred) Close() error {
	x.mu.Lock()
	if x.closed {
		x.mu.Unlock()
		return nil
	}
	x.closed = true
	a := x.a
	x.mu.Unlock()
	x.cancel()
	<-x.done
	if a != nil {
		return a.Close()
	}
	return nil
}

// CheckDSN reports what is wrong with dsn without connecting: its scheme,
// a sqlite path, a PostgreSQL URL that pgx cannot parse.
func CheckDSN(dsn string) error {
	switch {
	case dsn == "":
		return fmt.Errorf("%w: the archive DSN is empty; want sqlite:///path/file.db or postgres://user@host/db", ErrInvalid)
	case strings.HasPrefix(dsn, postgresScheme), strings.HasPrefix(dsn, postgresqlSheme):
		if _, err := pgxpool.ParseConfig(dsn); err != nil {
			// pgx's message names the DSN with its password redacted.
			return fmt.Errorf("%w: archive DSN: %v", ErrInvalid, err)
		}
		return nil
	case strings.HasPrefix(dsn, sqliteScheme):
		_, err := sqlitePath(dsn)
		return err
	}
	scheme, _, _ := strings.Cut(dsn, ":")
	return fmt.Errorf("%w: archive DSN scheme %q is not supported; want sqlite:///path/file.db or postgres://user@host/db", ErrInvalid, scheme)
}
