package shim

import "sync"

// keyedLocks serialises work on one key (an invocation's namespace/trace
// id) inside one shim process, so that two concurrent invokes with the same
// trace id never both execute: the second waits for the first, then finds
// its result in the archive or the cluster. Entries live only while held
// or waited for.
type keyedLocks struct {
	mu   sync.Mutex
	keys map[string]*keyedLock
}

type keyedLock struct {
	mu   sync.Mutex
	refs int
}

func newKeyedLocks() *keyedLocks { return &keyedLocks{keys: map[string]*keyedLock{}} }

// lock takes key's lock and returns the function that releases it.
func (l *keyedLocks) lock(key string) func() {
	l.mu.Lock()
	k := l.keys[key]
	if k == nil {
		k = &keyedLock{}
		l.keys[key] = k
	}
	k.refs++
	l.mu.Unlock()
	k.mu.Lock()
	return func() {
		k.mu.Unlock()
		l.mu.Lock()
		if k.refs--; k.refs == 0 {
			delete(l.keys, key)
		}
		l.mu.Unlock()
	}
}

// held counts the keys held or waited for, for tests.
func (l *keyedLocks) held() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return len(l.keys)
}
