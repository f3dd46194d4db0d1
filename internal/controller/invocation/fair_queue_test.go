package invocation

import (
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/util/workqueue"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"
)

func TestNextGroup(t *testing.T) {
	cases := []struct {
		name   string
		ring   []string
		start  int
		busy   map[string]int
		max    int
		want   int
		wantOK bool
	}{
		{"empty", nil, 0, nil, 2, 0, false},
		{"start's group", []string{"a", "b"}, 1, nil, 2, 1, true},
		{"wraps round", []string{"a", "b", "c"}, 5, nil, 2, 2, true},
		{"skips a group at its bound", []string{"flood", "hello"}, 0, map[string]int{"flood": 3}, 3, 1, true},
		{"all at their bound: wait", []string{"flood"}, 0, map[string]int{"flood": 3}, 3, 0, false},
		{"a group under its bound after one at it", []string{"a", "b", "c"}, 1, map[string]int{"b": 1, "c": 1}, 1, 0, true},
		{"fewest workers first, whatever the turn", []string{"flood", "hello"}, 0, map[string]int{"flood": 23, "hello": 8}, 24, 1, true},
		{"equals: the turn decides", []string{"a", "b", "c"}, 1, map[string]int{"a": 2, "b": 2, "c": 2}, 4, 1, true},
		{"equals after the turn: wraps round", []string{"a", "b", "c"}, 2, map[string]int{"a": 1, "b": 2, "c": 2}, 4, 0, true},
		{"fewest, skipping one at its bound", []string{"a", "b", "c"}, 0, map[string]int{"a": 3, "b": 0, "c": 1}, 3, 1, true},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got, ok := nextGroup(c.ring, c.start, c.busy, c.max)
			if got != c.want || ok != c.wantOK {
				t.Errorf("nextGroup = %d, %v; want %d, %v", got, ok, c.want, c.wantOK)
			}
		})
	}
}

func TestDefaultMaxPerPlugin(t *testing.T) {
	for workers, want := range map[int]int{0: 1, 1: 1, 2: 1, 4: 3, 16: 12, 64: 48} {
		if got := defaultMaxPerPlugin(workers); got != want {
			t.Errorf("defaultMaxPerPlugin(%d) = %d, want %d", workers, got, want)
		}
	}
}

// req is a request named "<plugin>-<n>"; byPrefix groups by the plugin.
func req(name string) reconcile.Request {
	return reconcile.Request{NamespacedName: types.NamespacedName{Namespace: "ns", Name: name}}
}

func byPrefix(r reconcile.Request) string { return strings.SplitN(r.Name, "-", 2)[0] }

func newTestQueue(maxPerGroup int) *fairQueue {
	return newFairQueue(fairQueueOptions{GroupOf: byPrefix, MaxPerGroup: maxPerGroup, Limiter: workqueue.DefaultTypedControllerRateLimiter[reconcile.Request]()})
}

func TestFairQueueRoundRobin(t *testing.T) {
	q := newTestQueue(100)
	for i := range 1000 {
		q.Add(req(fmt.Sprintf("flood-%d", i)))
	}
	q.Add(req("hello-1"))
	q.Add(req("hello-2"))
	q.Add(req("hello-1")) // queued already: no second copy
	if q.Len() != 1002 {
		t.Fatalf("Len = %d, want 1002", q.Len())
	}
	var got []string
	for range 4 {
		item, shutdown := q.Get()
		if shutdown {
			t.Fatal("shut down")
		}
		got = append(got, item.Name)
		q.Done(item)
	}
	want := []string{"flood-0", "hello-1", "flood-1", "hello-2"}
	if strings.Join(got, ",") != strings.Join(want, ",") {
		t.Errorf("order %v, want %v: behind a flood of 1000 the other plugin is served every other item", got, want)
	}
}

func TestFairQueueBoundsWorkersPerGroup(t *testing.T) {
	q := newTestQueue(2)
	for i := range 5 {
		q.Add(req(fmt.Sprintf("flood-%d", i)))
	}
	a, _ := q.Get()
	b, _ := q.Get()
	got := make(chan reconcile.Request, 1)
	go func() {
		item, _ := q.Get()
		got <- item
	}()
	select {
	case item := <-got:
		t.Fatalf("a third worker got %s while the group holds its bound of 2", item.Name)
	case <-time.After(50 * time.Millisecond):
	}
	q.Add(req("hello-1"))
	if item := <-got; item.Name != "hello-1" {
		t.Fatalf("got %s, want hello-1: another group is served while the flood is at its bound", item.Name)
	}
	q.Done(a)
	c, _ := q.Get()
	if c.Name != "flood-2" {
		t.Fatalf("got %s after a flood worker finished, want flood-2", c.Name)
	}
	q.Done(b)
	q.Done(c)
}

func TestFairQueueReaddWhileProcessing(t *testing.T) {
	q := newTestQueue(4)
	q.Add(req("a-1"))
	item, _ := q.Get()
	q.Add(req("a-1"))
	if q.Len() != 0 {
		t.Fatal("an item being processed must not be handed out again before Done")
	}
	q.Done(item)
	if q.Len() != 1 {
		t.Fatalf("Len = %d after Done, want 1: the add while processing queues it again", q.Len())
	}
	again, _ := q.Get()
	q.Done(again)
	q.AddAfter(req("a-2"), 20*time.Millisecond)
	q.AddAfter(req("a-2"), time.Hour) // later: the earlier one counts
	start := time.Now()
	later, _ := q.Get()
	if later.Name != "a-2" || time.Since(start) > 10*time.Second {
		t.Fatalf("AddAfter: got %s after %s", later.Name, time.Since(start))
	}
	q.Done(later)
}

func TestFairQueueShutDown(t *testing.T) {
	q := newTestQueue(1)
	q.Add(req("a-1"))
	item, _ := q.Get()
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		if _, shutdown := q.Get(); !shutdown {
			t.Error("Get after ShutDown must report shutdown")
		}
	}()
	drained := make(chan struct{})
	go func() { q.ShutDownWithDrain(); close(drained) }()
	select {
	case <-drained:
		t.Fatal("ShutDownWithDrain returned while an item is processed")
	case <-time.After(30 * time.Millisecond):
	}
	q.Done(item)
	<-drained
	wg.Wait()
	if !q.ShuttingDown() {
		t.Error("ShuttingDown = false")
	}
	q.Add(req("a-2"))
	if q.Len() != 0 {
		t.Error("Add after ShutDown queued an item")
	}
}

// TestFairQueueFreedWorkerGoesToTheLeastServed: a worker the flood frees
// goes to the plugin holding fewer workers, even when round robin would
// hand it back to the flood; so another plugin is not held to the workers
// the flood's bound leaves free.
func TestFairQueueFreedWorkerGoesToTheLeastServed(t *testing.T) {
	q := newTestQueue(3) // 4 workers, 3 of them the most one plugin holds
	for i := range 10 {
		q.Add(req(fmt.Sprintf("flood-%d", i)))
	}
	var flood []reconcile.Request
	for range 3 {
		item, _ := q.Get()
		flood = append(flood, item)
	}
	q.Add(req("hello-1"))
	q.Add(req("hello-2"))
	if item, _ := q.Get(); item.Name != "hello-1" {
		t.Fatalf("the fourth worker got %s, want hello-1", item.Name)
	}
	// Every worker is busy: 3 on the flood, 1 on hello. The flood's turn
	// comes next in the round, but hello holds fewer workers.
	q.Done(flood[0])
	if item, _ := q.Get(); item.Name != "hello-2" {
		t.Fatalf("the worker the flood freed went to %s, want hello-2", item.Name)
	}
}
