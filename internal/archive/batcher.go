package archive

import (
	"context"
	"sync"
	"time"
)

// writeTimeout bounds one transaction of Puts, so that a database that
// stops answering fails the Puts waiting on it instead of holding them.
const writeTimeout = 30 * time.Second

// batcher turns concurrent Puts into few transactions (group commit): each
// writer takes every Put waiting when it becomes free, up to maxBatch, and
// writes them in one transaction. Nothing waits on purpose: under light
// load a Put is written at once, alone; under heavy load batches grow with
// the backlog, and so does the rate.
type batcher struct {
	reqs     chan *putRequest
	maxBatch int
	// writeBatch writes recs in one transaction.
	writeBatch func(ctx context.Context, recs []Record) error
	// writeOne writes one record in its own transaction.
	writeOne func(ctx context.Context, rec Record) error

	mu     sync.RWMutex // held for reading while sending to reqs
	closed bool
	stop   context.CancelFunc
	wg     sync.WaitGroup
}

// putRequest is one Put waiting for its transaction.
type putRequest struct {
	ctx  context.Context
	rec  Record
	done chan error // buffered: the writer never blocks on it
}

// newBatcher starts writers goroutines.
func newBatcher(writers, maxBatch int, writeBatch func(context.Context, []Record) error,
	writeOne func(context.Context, Record) error) *batcher {
	ctx, stop := context.WithCancel(context.Background())
	b := &batcher{reqs: make(chan *putRequest, maxBatch*writers), maxBatch: maxBatch,
		writeBatch: writeBatch, writeOne: writeOne, stop: stop}
	for range writers {
		b.wg.Add(1)
		go b.run(ctx)
	}
	return b
}

// put writes rec and returns when it is committed (or failed), or when ctx
// ends; a Put abandoned by its caller may still be written, which is
// harmless since Put is an idempotent upsert.
func (b *batcher) put(ctx context.Context, rec Record) error {
	req := &putRequest{ctx: ctx, rec: rec, done: make(chan error, 1)}
	b.mu.RLock()
	if b.closed {
		b.mu.RUnlock()
		return ErrClosed
	}
	select {
	case b.reqs <- req:
		b.mu.RUnlock()
	case <-ctx.Done():
		b.mu.RUnlock()
		return ctx.Err()
	}
	select {
	case err := <-req.done:
		return err
	case <-ctx.Done():
		return ctx.Err()
	}
}

// run is one writer.
func (b *batcher) run(ctx context.Context) {
	defer b.wg.Done()
	batch := make([]*putRequest, 0, b.maxBatch)
	for req := range b.reqs {
		batch = append(batch[:0], req)
	drain:
		for len(batch) < b.maxBatch {
			select {
			case r, ok := <-b.reqs:
				if !ok {
					break drain
				}
				batch = append(batch, r)
			default:
				break drain
			}
		}
		b.write(ctx, batch)
	}
}

// write commits one batch and answers its Puts. When the batch fails as a
// whole, each Put is retried alone, so that one record the database refuses
// fails only its own caller.
func (b *batcher) write(ctx context.Context, batch []*putRequest) {
	live := batch[:0]
	for _, r := range batch {
		if err := r.ctx.Err(); err != nil {
			r.done <- err
			continue
		}
		live = append(live, r)
	}
	if len(live) == 0 {
		return
	}
	ctx, cancel := context.WithTimeout(ctx, writeTimeout)
	defer cancel()
	if len(live) > 1 {
		recs := make([]Record, len(live))
		for i, r := range live {
			recs[i] = r.rec
		}
		if err := b.writeBatch(ctx, recs); err == nil {
			for _, r := range live {
				r.done <- nil
			}
			return
		}
	}
	for _, r := range live {
		r.done <- b.writeOne(ctx, r.rec)
	}
}

// close stops taking Puts, lets the writers finish what was sent and waits
// for them.
func (b *batcher) close() {
	b.mu.Lock()
	if b.closed {
		b.mu.Unlock()
		return
	}
	b.closed = true
	close(b.reqs)
	b.mu.Unlock()
	b.wg.Wait()
	b.stop()
}
