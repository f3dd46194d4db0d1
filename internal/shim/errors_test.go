package shim

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"testing"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"sigs.k8s.io/controller-runtime/pkg/cache"
)

func TestStatusOf(t *testing.T) {
	gr := schema.GroupResource{Group: "bkplugin.io", Resource: "plugininvocations"}
	dial := &url.Error{Op: "Get", URL: "https://10.0.0.1:6443", Err: &net.OpError{Op: "dial", Err: errors.New("connection refused")}}
	tests := []struct {
		name string
		err  error
		want int
	}{
		{"caller's mistake", errorf(http.StatusBadRequest, "bad"), 400},
		{"wrapped caller's mistake", fmt.Errorf("context: %w", errorf(http.StatusNotFound, "nope")), 404},
		{"API server unreachable", kubeErr(dial, "list"), 503},
		{"API server overloaded", kubeErr(apierrors.NewTooManyRequests("slow down", 1), "create"), 503},
		{"API server timeout", kubeErr(apierrors.NewServerTimeout(gr, "create", 1), "create"), 503},
		{"shim not allowed (RBAC)", kubeErr(apierrors.NewForbidden(gr, "x", errors.New("no")), "create"), 503},
		{"cache not started", kubeErr(&cache.ErrCacheNotStarted{}, "get"), 503},
		{"object refused as invalid", kubeErr(apierrors.NewInvalid(schema.GroupKind{Kind: "PluginInvocation"}, "x", nil), "create"), 400},
		{"object too large", kubeErr(apierrors.NewRequestEntityTooLargeError("limit"), "create"), 413},
		// What kube-apiserver answers when etcd refuses an object over its
		// request limit (seen by test/reliability).
		{"object too large for etcd", kubeErr(apierrors.NewInternalError(errors.New("rpc error: code = ResourceExhausted desc = trying to send message larger than max (2097747 vs. 2097152)")), "create"), 413},
		{"object too large for etcd, older message", kubeErr(apierrors.NewInternalError(errors.New("etcdserver: request is too large")), "create"), 413},
		{"other internal error", kubeErr(apierrors.NewInternalError(errors.New("etcd leader changed")), "create"), 503},
		{"deadline", context.DeadlineExceeded, 503},
		{"a bug", errors.New("nil map"), 500},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, msg := statusOf(tt.err)
			if got != tt.want {
				t.Errorf("status = %d, want %d (%s)", got, tt.want, msg)
			}
			if msg == "" {
				t.Error("empty message")
			}
		})
	}
}
