package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	"k8s.io/client-go/tools/clientcmd"
	"sigs.k8s.io/controller-runtime/pkg/client"

	bkv1 "github.com/bkplugin/bk-plugin-operator/api/v1alpha1"
	shimclient "github.com/bkplugin/bk-plugin-operator/sdk/client"
)

// bench holds what every phase uses.
type bench struct {
	cfg  config
	st   *stack
	kube client.WithWatch
	shim *shimclient.Client
}

// init connects to the API server, with limits far above what it can
// serve so that the client is never what limits a figure, and to the shim.
func (b *bench) init() error {
	rc, err := clientcmd.BuildConfigFromFlags("", b.st.kubeconfig)
	if err != nil {
		return fmt.Errorf("load %s: %w", b.st.kubeconfig, err)
	}
	rc.QPS, rc.Burst = 1e6, 1e6
	scheme := runtime.NewScheme()
	if err := clientgoscheme.AddToScheme(scheme); err != nil {
		return err
	}
	if err := bkv1.AddToScheme(scheme); err != nil {
		return err
	}
	if b.kube, err = client.NewWithWatch(rc, client.Options{Scheme: scheme}); err != nil {
		return fmt.Errorf("connect to kube-apiserver: %w", err)
	}
	t := http.DefaultTransport.(*http.Transport).Clone()
	t.MaxIdleConns, t.MaxIdleConnsPerHost = 2048, 2048
	b.shim, err = shimclient.New(b.st.shimURL, shimclient.Options{HTTPClient: &http.Client{Transport: t}, Timeout: time.Minute, BearerToken: b.st.run.Token})
	return err
}

// newTraceID returns a fresh trace id, as the shim makes them.
func newTraceID() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

// newInvocation is a PluginInvocation as the shim creates it for an invoke.
func newInvocation(ns, plugin, version, inputs string) *bkv1.PluginInvocation {
	return &bkv1.PluginInvocation{
		ObjectMeta: metav1.ObjectMeta{
			Name: newTraceID(), Namespace: ns,
			Labels: map[string]string{bkv1.LabelPlugin: plugin, bkv1.LabelVersion: version},
		},
		Spec: bkv1.PluginInvocationSpec{
			Plugin: plugin, Version: version,
			Inputs:  &apiextensionsv1.JSON{Raw: []byte(inputs)},
			Context: &apiextensionsv1.JSON{Raw: []byte(`{}`)},
		},
	}
}

// parallel runs fn(i) for i in [0, n) on conc workers, reporting progress
// every few seconds under what; it returns the first error.
func parallel(ctx context.Context, what string, n, conc int, fn func(ctx context.Context, i int) error) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var next, done atomic.Int64
	var firstErr error
	var once sync.Once
	var wg sync.WaitGroup
	start := time.Now()
	stop := ticker(func() {
		d := done.Load()
		progress("%s: %d/%d (%.0f/s)", what, d, n, float64(d)/time.Since(start).Seconds())
	})
	defer stop()
	for range conc {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := int(next.Add(1) - 1)
				if i >= n || ctx.Err() != nil {
					return
				}
				if err := fn(ctx, i); err != nil {
					once.Do(func() { firstErr = err; cancel() })
					return
				}
				done.Add(1)
			}
		}()
	}
	wg.Wait()
	if firstErr == nil && ctx.Err() != nil {
		return ctx.Err()
	}
	return firstErr
}

// ticker calls fn every 3 seconds until the returned function is called.
func ticker(fn func()) func() {
	t := time.NewTicker(3 * time.Second)
	quit, exited := make(chan struct{}), make(chan struct{})
	go func() {
		defer close(exited)
		for {
			select {
			case <-t.C:
				fn()
			case <-quit:
				return
			}
		}
	}()
	return func() { t.Stop(); close(quit); <-exited }
}

// createInvocations creates n invocations made by mk, 50 at a time.
func (b *bench) createInvocations(ctx context.Context, what string, n int, mk func(i int) *bkv1.PluginInvocation) error {
	return parallel(ctx, what, n, b.cfg.concurrency, func(ctx context.Context, i int) error {
		inv := mk(i)
		if err := b.kube.Create(ctx, inv); err != nil {
			return fmt.Errorf("create invocation %s: %w", inv.Name, err)
		}
		return nil
	})
}

// deleteInvocations deletes every invocation of plugin in the stack's
// namespace, one by one: a collection delete of thousands outlives the API
// server's request timeout.
func (b *bench) deleteInvocations(ctx context.Context, plugin string) error {
	var list metav1.PartialObjectMetadataList
	list.SetGroupVersionKind(bkv1.GroupVersion.WithKind("PluginInvocationList"))
	if err := b.kube.List(ctx, &list, client.InNamespace(benchNamespace), client.MatchingLabels{bkv1.LabelPlugin: plugin}); err != nil {
		return fmt.Errorf("list %s invocations: %w", plugin, err)
	}
	return parallel(ctx, "delete "+plugin+" invocations", len(list.Items), b.cfg.concurrency, func(ctx context.Context, i int) error {
		if err := b.kube.Delete(ctx, &list.Items[i]); err != nil && !apierrors.IsNotFound(err) {
			return fmt.Errorf("delete invocation %s: %w", list.Items[i].Name, err)
		}
		return nil
	})
}
