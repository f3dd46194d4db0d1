package main

import (
	"context"
	"encoding/json"
	"fmt"
	"sort"
	"sync"
	"time"

	"k8s.io/apimachinery/pkg/watch"
	"sigs.k8s.io/controller-runtime/pkg/client"

	bkv1 "github.com/bkplugin/bk-plugin-operator/api/v1alpha1"
	shimclient "github.com/bkplugin/bk-plugin-operator/sdk/client"
	"github.com/bkplugin/bk-plugin-operator/sdk/protocol"
	"github.com/bkplugin/bk-plugin-operator/sdk/stdapi"
)

// callback measures, one at a time on an otherwise idle stack, the round
// trip from a third party's callback POST to the invocation's SUCCESS as a
// watch of the API server shows it.
func (b *bench) callback(ctx context.Context, r *results) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	w, err := b.kube.Watch(ctx, &bkv1.PluginInvocationList{}, client.InNamespace(benchNamespace),
		client.MatchingLabels{bkv1.LabelPlugin: "callbacker"})
	if err != nil {
		return fmt.Errorf("watch callbacker invocations: %w", err)
	}
	defer w.Stop()
	var mu sync.Mutex
	finished := map[string]chan struct{}{}
	go func() {
		for ev := range w.ResultChan() {
			inv, ok := ev.Object.(*bkv1.PluginInvocation)
			if !ok || ev.Type == watch.Deleted || !inv.Status.State.Terminal() {
				continue
			}
			mu.Lock()
			if ch, ok := finished[inv.Name]; ok {
				close(ch)
				delete(finished, inv.Name)
			}
			mu.Unlock()
		}
	}()

	n := b.cfg.callbacks
	rtts := make([]time.Duration, 0, n)
	stop := ticker(func() { progress("callback round trips: %d/%d", len(rtts), n) })
	defer stop()
	for range n {
		res, err := b.shim.Invoke(ctx, "callbacker", "1.0.0", stdapi.InvokeRequest{Inputs: []byte(`{}`), Context: []byte(`{}`)}, shimclient.InvokeOptions{})
		if err != nil {
			return err
		}
		var out struct {
			CallbackURL string `json:"callback_url"`
		}
		if res.State != protocol.StateCallback || json.Unmarshal(res.Outputs, &out) != nil || out.CallbackURL == "" {
			return fmt.Errorf("invoke of callbacker %s answered state %v outputs %s, want CALLBACK with a callback_url", res.TraceID, res.State, res.Outputs)
		}
		ch := make(chan struct{})
		mu.Lock()
		finished[res.TraceID] = ch
		mu.Unlock()
		start := time.Now()
		if err := b.shim.CallbackURL(ctx, out.CallbackURL, map[string]any{"ok": true}); err != nil {
			return err
		}
		select {
		case <-ch:
			rtts = append(rtts, time.Since(start))
		case <-time.After(30 * time.Second):
			return fmt.Errorf("invocation %s did not finish within 30s of its callback", res.TraceID)
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	sort.Slice(rtts, func(i, j int) bool { return rtts[i] < rtts[j] })
	r.CallbackP50Ms = ms(percentile(rtts, 0.50))
	r.CallbackP99Ms = ms(percentile(rtts, 0.99))
	progress("callback: %d round trips, p50 %.1f ms, p99 %.1f ms", n, r.CallbackP50Ms, r.CallbackP99Ms)
	return nil
}
