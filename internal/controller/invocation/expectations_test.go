package invocation

import (
	"testing"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"

	bkv1 "github.com/bkplugin/bk-plugin-operator/api/v1alpha1"
)

func TestWriteExpectationsStale(t *testing.T) {
	key := types.NamespacedName{Namespace: "ns", Name: "trace"}
	const uid = types.UID("u1")
	archivedAt := metav1.Now()
	notified := func(status metav1.ConditionStatus) []metav1.Condition {
		return []metav1.Condition{{Type: bkv1.ConditionNotified, Status: status, Reason: "X"}}
	}
	st := func(state bkv1.InvocationState, attempt, count int32, conds []metav1.Condition, archived bool) *bkv1.PluginInvocationStatus {
		s := &bkv1.PluginInvocationStatus{State: state, Attempt: attempt, InvokeCount: count, Conditions: conds}
		if archived {
			s.ArchivedTime = &archivedAt
		}
		return s
	}
	cases := []struct {
		name    string
		written *bkv1.PluginInvocationStatus
		uid     types.UID
		cached  *bkv1.PluginInvocationStatus
		stale   bool
	}{
		{"the written status itself", st(bkv1.StatePoll, 1, 2, nil, false), uid, st(bkv1.StatePoll, 1, 2, nil, false), false},
		{"an earlier invoke count", st(bkv1.StatePoll, 1, 2, nil, false), uid, st(bkv1.StatePoll, 1, 1, nil, false), true},
		{"a later invoke count", st(bkv1.StatePoll, 1, 2, nil, false), uid, st(bkv1.StatePoll, 1, 3, nil, false), false},
		{"an earlier attempt with a higher count", st(bkv1.StatePoll, 2, 1, nil, false), uid, st(bkv1.StatePoll, 1, 5, nil, false), true},
		{"a later attempt starting its count again", st(bkv1.StatePoll, 1, 3, nil, false), uid, st(bkv1.StatePoll, 2, 0, nil, false), false},
		{"not yet terminal", st(bkv1.StateSuccess, 1, 1, nil, false), uid, st(bkv1.StateEmpty, 1, 1, nil, false), true},
		{"before the Notified write", st(bkv1.StateSuccess, 1, 1, notified(metav1.ConditionTrue), false), uid, st(bkv1.StateSuccess, 1, 1, nil, false), true},
		{"while the notification retried", st(bkv1.StateSuccess, 1, 1, notified(metav1.ConditionFalse), false), uid, st(bkv1.StateSuccess, 1, 1, notified(metav1.ConditionUnknown), false), true},
		{"notified", st(bkv1.StateSuccess, 1, 1, notified(metav1.ConditionTrue), false), uid, st(bkv1.StateSuccess, 1, 1, notified(metav1.ConditionTrue), false), false},
		{"before the archive's mark", st(bkv1.StateSuccess, 1, 1, nil, true), uid, st(bkv1.StateSuccess, 1, 1, nil, false), true},
		{"archived", st(bkv1.StateSuccess, 1, 1, nil, true), uid, st(bkv1.StateSuccess, 1, 1, nil, true), false},
		{"another object with the name", st(bkv1.StateSuccess, 1, 3, nil, true), "u2", st(bkv1.StateEmpty, 0, 0, nil, false), false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			e := newWriteExpectations()
			e.wrote(key, uid, tc.written)
			if got := e.stale(key, tc.uid, tc.cached); got != tc.stale {
				t.Errorf("stale = %v, want %v", got, tc.stale)
			}
			if !tc.stale && e.stale(key, uid, &bkv1.PluginInvocationStatus{}) {
				t.Errorf("the expectation was kept after a current copy was seen")
			}
		})
	}
}
