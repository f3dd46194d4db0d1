package invocation

import (
	"sync"
	"time"

	"k8s.io/apimachinery/pkg/types"

	bkv1 "github.com/bkplugin/bk-plugin-operator/api/v1alpha1"
)

// unwrittenAnswers keeps, per invocation, a plugin answer whose status write
// failed (the API server away or overloaded), so that the next reconcile
// retries the write instead of calling the plugin again for the same invoke
// count. It lives in memory only: after a restart the execute is repeated,
// which the at-least-once contract allows; this only keeps an API-server
// outage from costing an execute per retry.
type unwrittenAnswers struct {
	mu      sync.Mutex
	answers map[types.NamespacedName]unwrittenAnswer
}

type unwrittenAnswer struct {
	// baseCount and baseState are the status the answer was computed from;
	// the answer applies only to an invocation still in that status.
	baseCount int32
	baseState bkv1.InvocationState
	// baseAttempt is the attempt (retry.go) the answer belongs to.
	baseAttempt int32
	traceID     string
	version     string
	t           transition
	at          time.Time
}

func newUnwrittenAnswers() *unwrittenAnswers {
	return &unwrittenAnswers{answers: map[types.NamespacedName]unwrittenAnswer{}}
}

// keep records an answer whose write failed.
func (u *unwrittenAnswers) keep(key types.NamespacedName, a unwrittenAnswer) {
	u.mu.Lock()
	defer u.mu.Unlock()
	u.answers[key] = a
}

// take returns the answer kept for key if it still applies to st, and drops
// it either way.
func (u *unwrittenAnswers) take(key types.NamespacedName, st *bkv1.PluginInvocationStatus) (unwrittenAnswer, bool) {
	u.mu.Lock()
	defer u.mu.Unlock()
	a, ok := u.answers[key]
	if !ok {
		return a, false
	}
	delete(u.answers, key)
	state := st.State
	if state == "" {
		state = bkv1.StateEmpty
	}
	base := a.baseState
	if base == "" {
		base = bkv1.StateEmpty
	}
	return a, st.InvokeCount == a.baseCount && state == base && max(st.Attempt, 1) == max(a.baseAttempt, 1)
}

// forget drops key, once its status is written or it is deleted.
func (u *unwrittenAnswers) forget(key types.NamespacedName) {
	u.mu.Lock()
	defer u.mu.Unlock()
	delete(u.answers, key)
}
