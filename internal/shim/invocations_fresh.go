package shim

import (
	"context"
	"errors"
	"net/http"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"sigs.k8s.io/controller-runtime/pkg/client"

	bkv1 "github.com/bkplugin/bk-plugin-operator/api/v1alpha1"
)

// getFresh is get for answers a platform acts on (schedule): when the
// cached invocation has not ended, it is read again from the API server.
// In the finish-callback mode a platform schedules right after the manager's
// finish notification; the informer may not have seen the final status yet,
// and a stale POLL would leave the platform waiting for a callback that was
// already sent. Terminal states never change, so they are answered from the
// cache.
func (s *invocations) getFresh(ctx context.Context, code, traceID string) (*bkv1.PluginInvocation, error) {
	inv, err := s.get(ctx, code, traceID)
	if err != nil || inv.Status.State.Terminal() {
		return inv, err
	}
	live := &bkv1.PluginInvocation{}
	switch err := s.kube.Get(ctx, client.ObjectKeyFromObject(inv), live); {
	case apierrors.IsNotFound(err):
		return nil, errorf(http.StatusNotFound, "no invocation with trace id %s", traceID)
	case err != nil:
		return nil, kubeErr(err, "read invocation %s", traceID)
	}
	return live, nil
}

// isNotFound reports whether err answers 404.
func isNotFound(err error) bool {
	var ae *apiError
	return errors.As(err, &ae) && ae.status == http.StatusNotFound
}
