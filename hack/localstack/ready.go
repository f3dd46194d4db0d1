package main

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"time"

	"k8s.io/apimachinery/pkg/api/meta"
	"sigs.k8s.io/controller-runtime/pkg/client"

	bkv1 "github.com/bkplugin/bk-plugin-operator/api/v1alpha1"
)

// pollInterval is how often readiness is checked again.
const pollInterval = 200 * time.Millisecond

// check is one readiness condition: nil when met, else what is missing.
type check struct {
	what string
	fn   func(ctx context.Context) error
}

// waitAll waits until every check passes or the deadline passes, naming
// the checks still failing and why. alive is consulted on every round, so
// that a crashed process fails the wait at once instead of at the deadline.
func waitAll(ctx context.Context, timeout time.Duration, checks []check, alive func() error) error {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	pending := checks
	ticker := time.NewTicker(pollInterval)
	defer ticker.Stop()
	for {
		if err := alive(); err != nil {
			return err
		}
		var still []check
		var last error
		for _, c := range pending {
			if err := c.fn(ctx); err != nil {
				still = append(still, c)
				last = fmt.Errorf("%s: %w", c.what, err)
			}
		}
		if len(still) == 0 {
			return nil
		}
		pending = still
		select {
		case <-ctx.Done():
			return fmt.Errorf("not ready after %s: %d checks still failing, the last: %w", timeout, len(still), last)
		case <-ticker.C:
		}
	}
}

// httpOK passes when GET url answers 2xx.
func httpOK(hc *http.Client, url string) func(ctx context.Context) error {
	return func(ctx context.Context) error {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
		if err != nil {
			return err
		}
		resp, err := hc.Do(req)
		if err != nil {
			return err
		}
		defer resp.Body.Close()
		_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 4096))
		if resp.StatusCode < 200 || resp.StatusCode > 299 {
			return fmt.Errorf("GET %s: status %d", url, resp.StatusCode)
		}
		return nil
	}
}

// versionsReady passes when want PluginVersions exist in namespace and all
// are Ready=True, which the manager sets after probing the plugin pod.
func versionsReady(c client.Client, namespace string, want int) func(ctx context.Context) error {
	return func(ctx context.Context) error {
		var list bkv1.PluginVersionList
		if err := c.List(ctx, &list, client.InNamespace(namespace)); err != nil {
			return fmt.Errorf("list PluginVersions: %w", err)
		}
		if len(list.Items) < want {
			return fmt.Errorf("%d of %d PluginVersions exist", len(list.Items), want)
		}
		for _, pv := range list.Items {
			if !meta.IsStatusConditionTrue(pv.Status.Conditions, bkv1.ConditionReady) {
				msg := "no Ready condition yet"
				if c := meta.FindStatusCondition(pv.Status.Conditions, bkv1.ConditionReady); c != nil {
					msg = c.Reason + ": " + c.Message
				}
				return fmt.Errorf("PluginVersion %s is not Ready (%s)", pv.Name, msg)
			}
		}
		return nil
	}
}
