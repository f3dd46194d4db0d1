package retirement

import (
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/event"

	bkv1 "github.com/bkplugin/bk-plugin-operator/api/v1alpha1"
)

func TestNeedsRetirementWork(t *testing.T) {
	version := func(finalizer, deleting bool) *bkv1.PluginVersion {
		plv := &bkv1.PluginVersion{}
		if finalizer {
			plv.Finalizers = []string{bkv1.RetireFinalizer}
		}
		if deleting {
			plv.DeletionTimestamp = &metav1.Time{Time: time.Now()}
		}
		return plv
	}
	p := needsRetirementWork()
	cases := []struct {
		name               string
		finalizer, deletes bool
		want               bool
	}{
		{"new version without the finalizer", false, false, true},
		{"version held, not deleted: nothing to do", true, false, false},
		{"held version being deleted", true, true, true},
		{"deleted without our finalizer", false, true, true},
	}
	for _, tc := range cases {
		obj := version(tc.finalizer, tc.deletes)
		if got := p.Create(event.CreateEvent{Object: obj}); got != tc.want {
			t.Errorf("%s: create %v, want %v", tc.name, got, tc.want)
		}
		if got := p.Update(event.UpdateEvent{ObjectOld: obj, ObjectNew: obj}); got != tc.want {
			t.Errorf("%s: update %v, want %v", tc.name, got, tc.want)
		}
	}
}
