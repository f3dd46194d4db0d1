package retire

import (
	"testing"

	"sigs.k8s.io/controller-runtime/pkg/event"

	bkv1 "github.com/bkplugin/bk-plugin-operator/api/v1alpha1"
)

func TestFinished(t *testing.T) {
	inv := func(state bkv1.InvocationState) *bkv1.PluginInvocation {
		i := &bkv1.PluginInvocation{}
		i.Spec.Plugin, i.Spec.Version = "hello", "1.0.0"
		i.Status.State, i.Status.ResolvedVersion = state, "1.0.0"
		return i
	}
	p := Finished()
	cases := []struct {
		name     string
		old, new bkv1.InvocationState
		want     bool
	}{
		{"poll to success releases", bkv1.StatePoll, bkv1.StateSuccess, true},
		{"callback to fail releases", bkv1.StateCallback, bkv1.StateFail, true},
		{"poll to poll does not", bkv1.StatePoll, bkv1.StatePoll, false},
		{"success to success does not", bkv1.StateSuccess, bkv1.StateSuccess, false},
		{"empty to poll does not", bkv1.StateEmpty, bkv1.StatePoll, false},
	}
	for _, tc := range cases {
		if got := p.Update(event.UpdateEvent{ObjectOld: inv(tc.old), ObjectNew: inv(tc.new)}); got != tc.want {
			t.Errorf("%s: %v, want %v", tc.name, got, tc.want)
		}
	}
	if !p.Delete(event.DeleteEvent{Object: inv(bkv1.StatePoll)}) {
		t.Error("a deleted invocation does not release")
	}
	if p.Create(event.CreateEvent{Object: inv(bkv1.StatePoll)}) {
		t.Error("a new invocation counts as finished")
	}
}
