package shim

import (
	"context"
	"sync"

	toolscache "k8s.io/client-go/tools/cache"

	bkv1 "github.com/bkplugin/bk-plugin-operator/api/v1alpha1"
)

// waiters hands the informer's view of an invocation to the requests waiting
// for it, by name. It is the informer's event handler: one handler for the
// whole shim, so a waiting invoke costs a map entry, not a watch.
type waiters struct {
	mu     sync.Mutex
	byName map[string]map[*waiter]struct{}
}

// waiter receives the newest version of one invocation. Only the newest
// matters, so its channel holds one and a newer one replaces it.
type waiter struct {
	ch chan *bkv1.PluginInvocation
	// gone is closed when the invocation is deleted.
	gone     chan struct{}
	goneOnce sync.Once
}

func newWaiters() *waiters {
	return &waiters{byName: map[string]map[*waiter]struct{}{}}
}

// add registers a waiter for the invocation named name. Register before
// creating the invocation, so that not even the first status update can
// slip by; call the returned function when done.
func (ws *waiters) add(name string) (*waiter, func()) {
	w := &waiter{ch: make(chan *bkv1.PluginInvocation, 1), gone: make(chan struct{})}
	ws.mu.Lock()
	set := ws.byName[name]
	if set == nil {
		set = map[*waiter]struct{}{}
		ws.byName[name] = set
	}
	set[w] = struct{}{}
	ws.mu.Unlock()
	return w, func() {
		ws.mu.Lock()
		defer ws.mu.Unlock()
		delete(ws.byName[name], w)
		if len(ws.byName[name]) == 0 {
			delete(ws.byName, name)
		}
	}
}

// count returns how many waiters are registered, for tests and metrics.
func (ws *waiters) count() int {
	ws.mu.Lock()
	defer ws.mu.Unlock()
	n := 0
	for _, set := range ws.byName {
		n += len(set)
	}
	return n
}

// handler returns the informer event handler feeding the waiters.
func (ws *waiters) handler() toolscache.ResourceEventHandler {
	return toolscache.ResourceEventHandlerFuncs{
		AddFunc:    ws.update,
		UpdateFunc: func(_, obj any) { ws.update(obj) },
		DeleteFunc: ws.deleted,
	}
}

func (ws *waiters) update(obj any) {
	inv, ok := obj.(*bkv1.PluginInvocation)
	if !ok {
		return
	}
	ws.mu.Lock()
	defer ws.mu.Unlock()
	for w := range ws.byName[inv.Name] {
		w.offer(inv)
	}
}

func (ws *waiters) deleted(obj any) {
	if tomb, ok := obj.(toolscache.DeletedFinalStateUnknown); ok {
		obj = tomb.Obj
	}
	inv, ok := obj.(*bkv1.PluginInvocation)
	if !ok {
		return
	}
	ws.mu.Lock()
	defer ws.mu.Unlock()
	for w := range ws.byName[inv.Name] {
		w.goneOnce.Do(func() { close(w.gone) })
	}
}

// offer replaces whatever the waiter has not read yet with inv. Callers hold
// waiters.mu, so offers to one waiter never interleave.
func (w *waiter) offer(inv *bkv1.PluginInvocation) {
	select {
	case <-w.ch:
	default:
	}
	w.ch <- inv
}

// errGone is wait's error when the invocation was deleted while waited for.
type errGone struct{}

func (errGone) Error() string { return "the invocation was deleted" }

// wait returns the first version of the invocation that satisfies done,
// starting from cur (what the caller already read; may be nil). It returns
// the last version seen and ctx's error when ctx ends first.
func (w *waiter) wait(ctx context.Context, cur *bkv1.PluginInvocation, done func(*bkv1.PluginInvocation) bool) (*bkv1.PluginInvocation, error) {
	if cur != nil && done(cur) {
		return cur, nil
	}
	for {
		select {
		case inv := <-w.ch:
			// The informer delivers versions in order and done only ever
			// turns true, so the newest version is all that matters, even
			// when cur was read live and is newer than inv.
			cur = inv
			if done(cur) {
				return cur, nil
			}
		case <-w.gone:
			return cur, errGone{}
		case <-ctx.Done():
			return cur, ctx.Err()
		}
	}
}
