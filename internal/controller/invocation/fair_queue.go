package invocation

import (
	"sync"
	"time"

	"k8s.io/client-go/util/workqueue"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"
)

// This file holds the invocation reconciler's work queue. controller-runtime's
// queues are FIFO (or priority by event kind) over all keys: a flood of one
// plugin's invocations fills the queue ahead of every other plugin's, and
// slow executes of that plugin hold every worker. fairQueue keeps one FIFO
// per plugin, hands out items round-robin across plugins with ready items,
// and never lets one plugin hold more than maxPerGroup workers, so another
// plugin's invocation waits at most for a free worker, not for the flood.
// The choice is nextGroup, pure and table-tested.

// fairQueue is a workqueue.TypedRateLimitingInterface over reconcile
// requests, fair across groups (plugins). Like client-go's queue, an item is
// queued at most once, is never handed to two workers at once, and an item
// added while it is processed is queued again when it is done.
type fairQueue struct {
	groupOf     func(reconcile.Request) string
	maxPerGroup int
	limiter     workqueue.TypedRateLimiter[reconcile.Request]

	mu   sync.Mutex
	cond *sync.Cond
	// ready holds each group's queued items in order; ring is the round
	// robin over groups, next the place in it to look first.
	ready map[string][]reconcile.Request
	ring  []string
	next  int
	count int
	// dirty: queued, or added again while processing.
	dirty map[reconcile.Request]struct{}
	// processing maps items handed to a worker to their group; busy counts
	// them per group.
	processing map[reconcile.Request]string
	busy       map[string]int
	// groups remembers each item's group between adds (a plugin never
	// changes), so that groupOf is asked once per item.
	groups map[reconcile.Request]string
	// after holds the earliest pending AddAfter of each item.
	after map[reconcile.Request]time.Time

	shuttingDown bool
}

// newFairQueue makes a fair queue; groupOf names an item's group (its
// namespace and plugin) and maxPerGroup bounds the workers one group holds.
func newFairQueue(groupOf func(reconcile.Request) string, maxPerGroup int, limiter workqueue.TypedRateLimiter[reconcile.Request]) *fairQueue {
	q := &fairQueue{
		groupOf: groupOf, maxPerGroup: max(maxPerGroup, 1), limiter: limiter,
		ready: map[string][]reconcile.Request{}, dirty: map[reconcile.Request]struct{}{},
		processing: map[reconcile.Request]string{}, busy: map[string]int{},
		groups: map[reconcile.Request]string{}, after: map[reconcile.Request]time.Time{},
	}
	q.cond = sync.NewCond(&q.mu)
	return q
}

// groupFor returns item's group, asking groupOf outside the lock on the
// first add.
func (q *fairQueue) groupFor(item reconcile.Request) string {
	q.mu.Lock()
	g, ok := q.groups[item]
	q.mu.Unlock()
	if ok {
		return g
	}
	return q.groupOf(item)
}

// Add queues item unless it is queued already.
func (q *fairQueue) Add(item reconcile.Request) {
	g := q.groupFor(item)
	q.mu.Lock()
	defer q.mu.Unlock()
	if q.shuttingDown {
		return
	}
	q.groups[item] = g
	if _, ok := q.dirty[item]; ok {
		return
	}
	q.dirty[item] = struct{}{}
	if _, ok := q.processing[item]; ok {
		// Queued again when its worker is done.
		return
	}
	q.push(g, item)
}

// push appends item to group g's FIFO; the caller holds mu.
func (q *fairQueue) push(g string, item reconcile.Request) {
	if len(q.ready[g]) == 0 {
		q.ring = append(q.ring, g)
	}
	q.ready[g] = append(q.ready[g], item)
	q.count++
	q.cond.Signal()
}

// Len is the number of queued items.
func (q *fairQueue) Len() int {
	q.mu.Lock()
	defer q.mu.Unlock()
	return q.count
}

// Get blocks until an item of a group under its worker bound is queued,
// and hands out the oldest item of the next such group in the round robin.
func (q *fairQueue) Get() (reconcile.Request, bool) {
	q.mu.Lock()
	defer q.mu.Unlock()
	for {
		if q.shuttingDown {
			return reconcile.Request{}, true
		}
		if i, ok := nextGroup(q.ring, q.next, q.busy, q.maxPerGroup); ok {
			g := q.ring[i]
			items := q.ready[g]
			item := items[0]
			if len(items) == 1 {
				delete(q.ready, g)
				q.ring = append(q.ring[:i], q.ring[i+1:]...)
				q.next = i
			} else {
				q.ready[g] = items[1:]
				q.next = i + 1
			}
			if q.next >= len(q.ring) {
				q.next = 0
			}
			q.count--
			delete(q.dirty, item)
			q.processing[item] = g
			q.busy[g]++
			return item, false
		}
		q.cond.Wait()
	}
}

// Done marks item processed; it is queued again if it was added meanwhile.
func (q *fairQueue) Done(item reconcile.Request) {
	q.mu.Lock()
	defer q.mu.Unlock()
	g, ok := q.processing[item]
	if !ok {
		return
	}
	delete(q.processing, item)
	if q.busy[g]--; q.busy[g] <= 0 {
		delete(q.busy, g)
	}
	if _, again := q.dirty[item]; again && !q.shuttingDown {
		q.push(g, item)
	} else if _, waits := q.after[item]; !waits {
		delete(q.groups, item)
	}
	// A worker freed for g may let a waiting Get take g's next item.
	q.cond.Broadcast()
}

// AddAfter queues item after d; of several pending adds of an item the
// earliest counts.
func (q *fairQueue) AddAfter(item reconcile.Request, d time.Duration) {
	if d <= 0 {
		q.Add(item)
		return
	}
	at := time.Now().Add(d)
	q.mu.Lock()
	if q.shuttingDown {
		q.mu.Unlock()
		return
	}
	if prev, ok := q.after[item]; ok && !prev.After(at) {
		q.mu.Unlock()
		return
	}
	q.after[item] = at
	q.mu.Unlock()
	time.AfterFunc(d, func() {
		q.mu.Lock()
		if cur, ok := q.after[item]; ok && cur.Equal(at) {
			delete(q.after, item)
		}
		q.mu.Unlock()
		q.Add(item)
	})
}

// AddRateLimited queues item after the rate limiter's delay for it.
func (q *fairQueue) AddRateLimited(item reconcile.Request) { q.AddAfter(item, q.limiter.When(item)) }

// Forget ends the rate limiter's tracking of item.
func (q *fairQueue) Forget(item reconcile.Request) { q.limiter.Forget(item) }

// NumRequeues is how often item was rate-limited.
func (q *fairQueue) NumRequeues(item reconcile.Request) int { return q.limiter.NumRequeues(item) }

// ShutDown stops handing out items; workers' Get returns shutdown.
func (q *fairQueue) ShutDown() {
	q.mu.Lock()
	defer q.mu.Unlock()
	q.shuttingDown = true
	q.cond.Broadcast()
}

// ShutDownWithDrain shuts down and waits for the items being processed.
func (q *fairQueue) ShutDownWithDrain() {
	q.mu.Lock()
	defer q.mu.Unlock()
	q.shuttingDown = true
	q.cond.Broadcast()
	for len(q.processing) > 0 {
		q.cond.Wait()
	}
}

// ShuttingDown reports whether ShutDown was called.
func (q *fairQueue) ShuttingDown() bool {
	q.mu.Lock()
	defer q.mu.Unlock()
	return q.shuttingDown
}

// nextGroup is the fairness choice: the index in ring, starting at start and
// going round, of the first group whose workers in use (busy) are under
// maxPerGroup. ring holds only groups with queued items. ok is false when
// every such group is at its bound (or none has items): the worker waits.
func nextGroup(ring []string, start int, busy map[string]int, maxPerGroup int) (int, bool) {
	n := len(ring)
	if n == 0 {
		return 0, false
	}
	start = ((start % n) + n) % n
	for k := range n {
		i := (start + k) % n
		if busy[ring[i]] < maxPerGroup {
			return i, true
		}
	}
	return 0, false
}

// defaultMaxPerPlugin is the workers one plugin may hold of workers in all:
// three quarters, so that a quarter (at least one) stays free for the
// others; all of them when there is only one.
func defaultMaxPerPlugin(workers int) int {
	if workers <= 1 {
		return 1
	}
	return max(workers-max(workers/4, 1), 1)
}
