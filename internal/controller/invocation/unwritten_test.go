package invocation

import (
	"testing"

	"k8s.io/apimachinery/pkg/types"

	bkv1 "github.com/bkplugin/bk-plugin-operator/api/v1alpha1"
)

func TestUnwrittenAnswers(t *testing.T) {
	key := types.NamespacedName{Namespace: "ns", Name: "inv"}
	cases := []struct {
		name  string
		base  bkv1.PluginInvocationStatus
		now   bkv1.PluginInvocationStatus
		apply bool
	}{
		{"the invocation is where the answer left it", bkv1.PluginInvocationStatus{State: bkv1.StatePoll, InvokeCount: 2},
			bkv1.PluginInvocationStatus{State: bkv1.StatePoll, InvokeCount: 2}, true},
		{"a new invocation, never written", bkv1.PluginInvocationStatus{},
			bkv1.PluginInvocationStatus{State: bkv1.StateEmpty}, true},
		{"another execute was recorded since", bkv1.PluginInvocationStatus{State: bkv1.StatePoll, InvokeCount: 2},
			bkv1.PluginInvocationStatus{State: bkv1.StatePoll, InvokeCount: 3}, false},
		{"the invocation ended since (cancelled)", bkv1.PluginInvocationStatus{State: bkv1.StateCallback, InvokeCount: 1},
			bkv1.PluginInvocationStatus{State: bkv1.StateFail, InvokeCount: 1}, false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			u := newUnwrittenAnswers()
			u.keep(key, unwrittenAnswer{baseCount: tc.base.InvokeCount, baseState: tc.base.State})
			if _, ok := u.take(key, &tc.now); ok != tc.apply {
				t.Fatalf("take = %v, want %v", ok, tc.apply)
			}
			if _, ok := u.take(key, &tc.now); ok {
				t.Fatal("an answer was taken twice")
			}
		})
	}
}
