package invocation

import (
	"sync"

	"k8s.io/apimachinery/pkg/types"
)

// writtenHere remembers the invocations created before this process
// started whose archive it has already read and found nothing to adopt in
// (adopt.go): from then on their status is as new as anything an earlier
// process left, so their executes need no look at the archive. Invocations
// created after the start need none at all (needsArchiveCheck), so only
// the old ones are ever marked. It lives in memory only,
// which is the point: a new process starts with none. An entry is dropped
// when its invocation is deleted.
type writtenHere struct {
	mu   sync.Mutex
	uids map[types.NamespacedName]types.UID
}

func newWrittenHere() *writtenHere {
	return &writtenHere{uids: map[types.NamespacedName]types.UID{}}
}

// mark records that key (the object uid) needs no look at the archive.
func (w *writtenHere) mark(key types.NamespacedName, uid types.UID) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.uids[key] = uid
}

// has reports whether key, as the object uid, was marked: a later object
// of the same name (a trace id reused after deletion) was not.
func (w *writtenHere) has(key types.NamespacedName, uid types.UID) bool {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.uids[key] == uid && uid != ""
}

// forget drops key, for deleted invocations.
func (w *writtenHere) forget(key types.NamespacedName) {
	w.mu.Lock()
	defer w.mu.Unlock()
	delete(w.uids, key)
}
