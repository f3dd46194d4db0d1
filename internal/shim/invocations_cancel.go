package shim

import (
	"context"
	"net/http"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"

	bkv1 "github.com/bkplugin/bk-plugin-operator/api/v1alpha1"
)

// cancelPatch sets spec.cancel; the CRD refuses to unset it.
var cancelPatch = []byte(`{"spec":{"cancel":true}}`)

// cancel records that invocation traceID of plugin code is to be cancelled
// (spec.cancel) and returns it as it is now. The manager ends it FAIL
// "cancelled" at its next reconcile and tells the plugin pod. An invocation
// that has already ended is returned unchanged: cancelling it is a no-op.
func (s *invocations) cancel(ctx context.Context, code, traceID string) (*bkv1.PluginInvocation, error) {
	inv, err := s.getFresh(ctx, code, traceID)
	if err != nil {
		return nil, err
	}
	if inv.Spec.Cancel || inv.Status.State.Terminal() {
		return inv, nil
	}
	target := &bkv1.PluginInvocation{ObjectMeta: metav1.ObjectMeta{Namespace: inv.Namespace, Name: inv.Name}}
	switch err := s.kube.Patch(ctx, target, client.RawPatch(types.MergePatchType, cancelPatch)); {
	case apierrors.IsNotFound(err):
		return nil, errorf(http.StatusNotFound, "no invocation with trace id %s", traceID)
	case err != nil:
		return nil, kubeErr(err, "cancel invocation %s", traceID)
	}
	return target, nil
}
