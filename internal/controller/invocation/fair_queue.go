package invocation

import (
	"sync"
	"time"

	"k8s.io/client-go/util/workqueue"
	"k8s.io/utils/clock"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"
)

// This file holds the invocation reconciler's work queue. controller-runtime's
// queues are FIFO (or priority by event kind) over all keys: a flood of one
// plugin's invocations fills the queue ahead of every other plugin's, and
// slow executes of that plugin hold every worker. fairQueue keeps one FIFO
// per plugin and hands a free worker to the plugin with ready items that
// holds the fewest workers (round robin among equals), and never lets one
// plugin hold more than maxPerGroup workers. So another plugin's
// invocation waits at most for a free worker, not for the flood, and a
// plugin that needs more than the workers the bound leaves free gets them
// as the flood's workers finish (max-min fairness: under two saturating
// plugins each ends up with half). The choice is nextGroup, pure and
// table-tested.

// fairQueue is a workqueue.TypedRateLimitingInterface over reconcile
// requests, fair across groups (plugins). Like client-go's queue, an item is
// queued at most once, is never handed to two workers at once, and an item
// added while it is processed is queued again when it is done.
type fairQueue struct {
	groupOf     func(reconcile.Request) string
	maxPerGroup int
	limiter     workqueue.TypedRateLimiter[reconcile.Request]
	// metrics is nil when the queue exports none; guarded by mu.
	metrics *queueMetrics
	// stop ends the unfinished-work updates at shutdown.
	stop     chan struct{}
	stopOnce sync.Once

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

// fairQueueOptions configure a fair queue.
type fairQueueOptions struct {
	// GroupOf names an item's group (its namespace and plugin).
	GroupOf func(reconcile.Request) string
	// MaxPerGroup bounds the workers one group holds (at least 1).
	MaxPerGroup int
	// Limiter gives AddRateLimited its delays.
	Limiter workqueue.TypedRateLimiter[reconcile.Request]
	// Metrics, when set, are the queue's metrics (fair_queue_metrics.go).
	Metrics *queueMetrics
	// UnfinishedPeriod is how often the unfinished-work gauges are set;
	// zero means unfinishedWorkPeriod.
	UnfinishedPeriod time.Duration
	// Clock times the unfinished-work updates; nil means the real clock.
	Clock clock.WithTicker
}

// newFairQueue makes a fair queue.
func newFairQueue(o fairQueueOptions) *fairQueue {
	q := &fairQueue{
		groupOf: o.GroupOf, maxPerGroup: max(o.MaxPerGroup, 1), limiter: o.Limiter, metrics: o.Metrics,
		stop:  make(chan struct{}),
		ready: map[string][]reconcile.Request{}, dirty: map[reconcile.Request]struct{}{},
		processing: map[reconcile.Request]string{}, busy: map[string]int{},
		groups: map[reconcile.Request]string{}, after: map[reconcile.Request]time.Time{},
	}
	q.cond = sync.NewCond(&q.mu)
	if q.metrics != nil {
		c := o.Clock
		if c == nil {
			c = clock.RealClock{}
		}
		period := o.UnfinishedPeriod
		if period <= 0 {
			period = unfinishedWorkPeriod
		}
		go q.updateUnfinishedWork(c, period)
	}
	return q
}

// updateUnfinishedWork sets the unfinished-work gauges every period until
// the queue shuts down, as client-go's queue does.
func (q *fairQueue) updateUnfinishedWork(c clock.WithTicker, period time.Duration) {
	t := c.NewTicker(period)
	defer t.Stop()
	for {
		select {
		case <-q.stop:
			return
		case <-t.C():
			q.mu.Lock()
			q.metrics.updateUnfinished()
			q.mu.Unlock()
		}
	}
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
	q.metrics.add(item)
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
	q.metrics.groupDepth(g, len(q.ready[g]))
	q.cond.Signal()
}

// Len is the number of queued items.
func (q *fairQueue) Len() int {
	q.mu.Lock()
	defer q.mu.Unlock()
	return q.count
}

// Get blocks until an item of a group under its worker bound is queued,
// and hands out the oldest item of the group nextGroup chooses: the one
// holding the fewest workers, round robin among equals.
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
			q.metrics.groupDepth(g, len(items)-1)
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
			q.metrics.get(item)
			q.metrics.groupWorkers(g, q.busy[g])
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
	q.metrics.done(item)
	if q.busy[g]--; q.busy[g] <= 0 {
		delete(q.busy, g)
	}
	q.metrics.groupWorkers(g, q.busy[g])
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
	q.metrics.retry()
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
	q.shutDownLocked()
}

// shutDownLocked marks the queue shut down, wakes its workers and stops
// the metrics' updates; the caller holds mu.
func (q *fairQueue) shutDownLocked() {
	q.shuttingDown = true
	q.stopOnce.Do(func() { close(q.stop) })
	q.cond.Broadcast()
}

// ShutDownWithDrain shuts down and waits for the items being processed.
func (q *fairQueue) ShutDownWithDrain() {
	q.mu.Lock()
	defer q.mu.Unlock()
	q.shutDownLocked()
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

// nextGroup is the fairness choice: the index in ring of the group, among
// those whose workers in use (busy) are under maxPerGroup, that holds the
// fewest workers; of equals the first going round from start. ring holds
// only groups with queued items. ok is false when every such group is at
// its bound (or none has items): the worker waits.
//
// Fewest workers first, not plain round robin: with round robin a flood at
// its bound takes back every other worker it frees, so another plugin
// never holds more than the workers the bound leaves free, and when it
// needs more (hello at c=10 beside a flood holding 24 of 32) its
// invocations queue behind their own plugin's work.
func nextGroup(ring []string, start int, busy map[string]int, maxPerGroup int) (int, bool) {
	n := len(ring)
	if n == 0 {
		return 0, false
	}
	start = ((start % n) + n) % n
	best, found := 0, false
	for k := range n {
		i := (start + k) % n
		b := busy[ring[i]]
		if b >= maxPerGroup {
			continue
		}
		if !found || b < busy[ring[best]] {
			best, found = i, true
		}
	}
	return best, found
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
