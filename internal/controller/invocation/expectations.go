package invocation

import (
	"sync"

	"k8s.io/apimachinery/pkg/types"

	bkv1 "github.com/bkplugin/bk-plugin-operator/api/v1alpha1"
)

// writeExpectations remembers, per invocation, the status the reconciler
// last wrote, until the informer cache shows it. Acting on a cached object
// older than our own write would execute the plugin a second time for the
// same invoke count, so such a reconcile waits for the cache instead — the
// pattern kube-controller-manager calls expectations. They live in memory
// only: after a restart the cache is filled from a fresh list.
type writeExpectations struct {
	mu   sync.Mutex
	seen map[types.NamespacedName]expectedStatus
}

type expectedStatus struct {
	// uid is the object written: a later object of the same name (a trace
	// id reused after deletion) owes nothing to its predecessor's writes.
	uid         types.UID
	invokeCount int32
	// attempt orders writes across retried attempts (retry.go), each of
	// which starts its invoke count again.
	attempt  int32
	terminal bool
}

func newWriteExpectations() *writeExpectations {
	return &writeExpectations{seen: map[types.NamespacedName]expectedStatus{}}
}

// wrote records a status written for key.
func (e *writeExpectations) wrote(key types.NamespacedName, uid types.UID, st *bkv1.PluginInvocationStatus) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.seen[key] = expectedStatus{uid: uid, invokeCount: st.InvokeCount, attempt: max(st.Attempt, 1), terminal: st.State.Terminal()}
}

// stale reports whether cached is older than the last status written for
// key; once it is not, the expectation is dropped.
func (e *writeExpectations) stale(key types.NamespacedName, uid types.UID, cached *bkv1.PluginInvocationStatus) bool {
	e.mu.Lock()
	defer e.mu.Unlock()
	want, ok := e.seen[key]
	if !ok {
		return false
	}
	if want.uid != uid {
		delete(e.seen, key)
		return false
	}
	attempt := max(cached.Attempt, 1)
	if attempt < want.attempt || (attempt == want.attempt && cached.InvokeCount < want.invokeCount) ||
		(want.terminal && !cached.State.Terminal()) {
		return true
	}
	delete(e.seen, key)
	return false
}

// forget drops key, for deleted invocations.
func (e *writeExpectations) forget(key types.NamespacedName) {
	e.mu.Lock()
	defer e.mu.Unlock()
	delete(e.seen, key)
}
