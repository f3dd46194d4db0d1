package invocation

import (
	"sync"

	apimeta "k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
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
	// notified and archived are the finished invocation's milestones,
	// written with the same invoke count: a cached copy from before the
	// Notified write looked current, and the reconciler posted the finish
	// notification a second time (the shim suite saw it).
	notified, archived bool
}

// expectedOf is what a written status promises a later cached copy holds.
func expectedOf(uid types.UID, st *bkv1.PluginInvocationStatus) expectedStatus {
	return expectedStatus{uid: uid, invokeCount: st.InvokeCount, attempt: max(st.Attempt, 1), terminal: st.State.Terminal(),
		notified: notificationSettled(st), archived: st.ArchivedTime != nil}
}

// notificationSettled reports whether st records the finish notification
// as sent or given up (Notified True or False; Unknown while it retries).
func notificationSettled(st *bkv1.PluginInvocationStatus) bool {
	c := apimeta.FindStatusCondition(st.Conditions, bkv1.ConditionNotified)
	return c != nil && c.Status != metav1.ConditionUnknown
}

// olderThan reports whether cached lacks something want was written with.
func (want expectedStatus) olderThan(cached *bkv1.PluginInvocationStatus) bool {
	attempt := max(cached.Attempt, 1)
	switch {
	case attempt != want.attempt:
		return attempt < want.attempt
	case cached.InvokeCount != want.invokeCount:
		return cached.InvokeCount < want.invokeCount
	}
	return (want.terminal && !cached.State.Terminal()) ||
		(want.notified && !notificationSettled(cached)) ||
		(want.archived && cached.ArchivedTime == nil)
}

func newWriteExpectations() *writeExpectations {
	return &writeExpectations{seen: map[types.NamespacedName]expectedStatus{}}
}

// wrote records a status written for key.
func (e *writeExpectations) wrote(key types.NamespacedName, uid types.UID, st *bkv1.PluginInvocationStatus) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.seen[key] = expectedOf(uid, st)
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
	if want.olderThan(cached) {
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
