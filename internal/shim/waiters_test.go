package shim

import (
	"context"
	"errors"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	toolscache "k8s.io/client-go/tools/cache"

	bkv1 "github.com/bkplugin/bk-plugin-operator/api/v1alpha1"
)

func inv(name string, state bkv1.InvocationState, count int32) *bkv1.PluginInvocation {
	return &bkv1.PluginInvocation{
		ObjectMeta: metav1.ObjectMeta{Name: name},
		Status:     bkv1.PluginInvocationStatus{State: state, InvokeCount: count},
	}
}

func TestWaiters(t *testing.T) {
	tests := []struct {
		name   string
		cur    *bkv1.PluginInvocation
		events func(h toolscache.ResourceEventHandler)
		want   bkv1.InvocationState
		err    error
	}{
		{
			name: "already executed answers at once",
			cur:  inv("a", bkv1.StateSuccess, 1),
			want: bkv1.StateSuccess,
		},
		{
			name: "update after EMPTY",
			cur:  inv("a", "", 0),
			events: func(h toolscache.ResourceEventHandler) {
				h.OnAdd(inv("a", "", 0), false)
				h.OnUpdate(nil, inv("a", bkv1.StateEmpty, 0))
				h.OnUpdate(nil, inv("a", bkv1.StatePoll, 1))
			},
			want: bkv1.StatePoll,
		},
		{
			name: "other invocations are not delivered",
			events: func(h toolscache.ResourceEventHandler) {
				h.OnUpdate(nil, inv("b", bkv1.StateSuccess, 1))
			},
			err: context.DeadlineExceeded,
		},
		{
			name: "updates not read yet collapse into the newest",
			cur:  inv("a", bkv1.StateEmpty, 0),
			events: func(h toolscache.ResourceEventHandler) {
				h.OnUpdate(nil, inv("a", bkv1.StateEmpty, 0))
				h.OnUpdate(nil, inv("a", bkv1.StateCallback, 1))
				h.OnUpdate(nil, inv("a", bkv1.StateSuccess, 2))
			},
			want: bkv1.StateSuccess,
		},
		{
			name: "deletion ends the wait",
			events: func(h toolscache.ResourceEventHandler) {
				h.OnDelete(toolscache.DeletedFinalStateUnknown{Key: "ns/a", Obj: inv("a", bkv1.StateEmpty, 0)})
			},
			err: errGone{},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ws := newWaiters()
			w, done := ws.add("a")
			if tt.events != nil {
				tt.events(ws.handler())
			}
			ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
			defer cancel()
			got, err := w.wait(ctx, tt.cur, executed)
			if tt.err != nil {
				if !errors.Is(err, tt.err) {
					t.Fatalf("err = %v, want %v", err, tt.err)
				}
			} else if err != nil {
				t.Fatalf("wait: %v", err)
			} else if got.Status.State != tt.want {
				t.Errorf("state = %q, want %q", got.Status.State, tt.want)
			}
			done()
			if n := ws.count(); n != 0 {
				t.Errorf("%d waiters left registered after done", n)
			}
		})
	}
}
