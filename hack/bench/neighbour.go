package main

import (
	"context"
	"fmt"
	"math"
	"net/http/httptest"
	"slices"
	"sort"
	"sync"
	"time"

	apimeta "k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"

	bkv1 "github.com/bkplugin/bk-plugin-operator/api/v1alpha1"
	shimclient "github.com/bkplugin/bk-plugin-operator/sdk/client"
	"github.com/bkplugin/bk-plugin-operator/sdk/manifest"
	"github.com/bkplugin/bk-plugin-operator/sdk/plugin"
	"github.com/bkplugin/bk-plugin-operator/sdk/protocol"
	"github.com/bkplugin/bk-plugin-operator/sdk/server"
	"github.com/bkplugin/bk-plugin-operator/sdk/stdapi"
)

// The noisy-neighbour phase (issue 17): a flood of a slow plugin's
// invocations (executes of 500 ms) while hello is invoked at c=10, against
// hello at c=10 with no flood in the same run; the flood's version is
// capped at 5 executes in flight, and another version of the slow plugin
// runs under 10 executes/s. A second flood, of a version with no limits at
// all, measures fairness alone: only the manager's fair queue and its
// --max-workers-per-plugin stand between it and hello. The slow plugin is served by this process, so
// that what its pods saw (executes in flight, request times) is measured
// where it happens, not inferred from the manager's metrics.

const (
	slowCode = "slowbench"
	// slowFloodVersion is capped at neighbourMaxInFlight executes in flight;
	// slowRateVersion at neighbourRate executes/s (burst 1);
	// slowUncappedVersion has no limits.
	slowFloodVersion     = "1.0.0"
	slowRateVersion      = "1.1.0"
	slowUncappedVersion  = "1.2.0"
	neighbourMaxInFlight = 5
	neighbourRate        = 10
	neighbourConcurrency = 10
	// neighbourWarmUp invokes of hello precede the measurements.
	neighbourWarmUp = 50
	// targetNeighbourRatio: hello's p99 under the flood within 1.5x its
	// p99 without it.
	targetNeighbourRatio = 1.5
)

// neighbourResult are the phase's figures.
type neighbourResult struct {
	Flood        int
	HelloInvokes int
	QuietP99Ms   float64
	// QuietAfterP99Ms is hello alone again after the floods: the quiet
	// p99's drift within the run.
	QuietAfterP99Ms float64
	FloodP99Ms      float64
	Ratio           float64
	// UncappedP99Ms is hello's p99 beside a flood of the same size of a
	// version with no limits; UncappedRatio is it over QuietP99Ms.
	UncappedP99Ms float64
	UncappedRatio float64
	// UncappedMaxInFlight is what the uncapped flood reached (the workers
	// one plugin may hold bound it); UncappedExecutes how many it served
	// while hello was measured.
	UncappedMaxInFlight int
	UncappedExecutes    int
	MaxInFlight         int
	FloodExecutes       int
	RateExecutes        int
	RatePerS            float64
	FloodSizeReason     string
}

type slowInputs struct {
	SleepMillis int `json:"sleep_ms,omitempty"`
}

// slowPod serves the slow plugin and records, per version, the executes in
// flight and when each began.
type slowPod struct {
	mu          sync.Mutex
	inFlight    map[string]int
	maxInFlight map[string]int
	starts      map[string][]time.Time
}

func (p *slowPod) begin(version string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.inFlight[version]++
	p.maxInFlight[version] = max(p.maxInFlight[version], p.inFlight[version])
	p.starts[version] = append(p.starts[version], time.Now())
}

func (p *slowPod) end(version string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.inFlight[version]--
}

func (p *slowPod) snapshot(version string) (maxInFlight int, starts []time.Time) {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.maxInFlight[version], slices.Clone(p.starts[version])
}

// slowPlugin is the plugin slowPod serves: every execute sleeps sleep_ms
// and succeeds.
func (p *slowPod) plugin() *plugin.Plugin {
	pl := plugin.MustNew(plugin.Meta{Code: slowCode, Description: "Bench plugin: executes that take sleep_ms."})
	for _, v := range []string{slowFloodVersion, slowRateVersion, slowUncappedVersion} {
		plugin.MustAddVersion(pl, plugin.Version[slowInputs, plugin.None, plugin.None]{
			Version: v,
			Execute: func(ctx *plugin.Context[slowInputs, plugin.None, plugin.None]) error {
				p.begin(v)
				defer p.end(v)
				time.Sleep(time.Duration(ctx.Inputs.SleepMillis) * time.Millisecond)
				return nil
			},
		})
	}
	return pl
}

// neighbour runs the phase.
func (b *bench) neighbour(ctx context.Context, r *results) error {
	pod := &slowPod{inFlight: map[string]int{}, maxInFlight: map[string]int{}, starts: map[string][]time.Time{}}
	pl := pod.plugin()
	srv := httptest.NewServer(server.Handler(pl))
	defer srv.Close()
	if err := b.registerSlow(ctx, pl, srv.URL); err != nil {
		return err
	}
	res := &neighbourResult{HelloInvokes: b.cfg.neighbourHello}
	res.Flood, res.FloodSizeReason = neighbourFloodSize(b.cfg.neighbourFlood, r.BaselinePairsPerS)
	r.Neighbour = res

	// 1. hello alone, after a warm-up: the phase's first invokes of hello
	// pay for cold connections and caches, which would inflate the quiet
	// p99 and flatter the ratios.
	if _, err := b.helloLatencies(ctx, "hello, warm-up", neighbourWarmUp); err != nil {
		return err
	}
	quiet, err := b.helloLatencies(ctx, "hello, no flood", res.HelloInvokes)
	if err != nil {
		return err
	}
	res.QuietP99Ms = ms(percentile(quiet, 0.99))

	// 2. The flood, then hello again while it runs: capped at 5 in flight
	// and 500 ms each, the flood drains at 10/s, so it outlasts hello's
	// invokes by far.
	if err := b.createInvocations(ctx, "create the flood of slow invocations", res.Flood, func(int) *bkv1.PluginInvocation {
		return newInvocation(benchNamespace, slowCode, slowFloodVersion, `{"sleep_ms":500}`)
	}); err != nil {
		return err
	}
	flooded, err := b.helloLatencies(ctx, "hello beside the flood", res.HelloInvokes)
	if err != nil {
		return err
	}
	res.FloodP99Ms = ms(percentile(flooded, 0.99))
	res.Ratio = res.FloodP99Ms / max(res.QuietP99Ms, 0.001)
	var floodStarts []time.Time
	res.MaxInFlight, floodStarts = pod.snapshot(slowFloodVersion)
	res.FloodExecutes = len(floodStarts)
	progress("neighbour: hello p99 %.1f ms alone, %.1f ms beside %d slow invocations (x%.2f); slow executes in flight at most %d (cap %d), %d served so far",
		res.QuietP99Ms, res.FloodP99Ms, res.Flood, res.Ratio, res.MaxInFlight, neighbourMaxInFlight, res.FloodExecutes)
	if err := b.deleteInvocations(ctx, slowCode); err != nil {
		return err
	}

	// 3. Fairness alone: the same flood of a version with no limits, so
	// that nothing but the fair queue keeps hello's invocations moving.
	if err := b.createInvocations(ctx, "create the flood of uncapped slow invocations", res.Flood, func(int) *bkv1.PluginInvocation {
		return newInvocation(benchNamespace, slowCode, slowUncappedVersion, `{"sleep_ms":500}`)
	}); err != nil {
		return err
	}
	uncapped, err := b.helloLatencies(ctx, "hello beside the uncapped flood", res.HelloInvokes)
	if err != nil {
		return err
	}
	res.UncappedP99Ms = ms(percentile(uncapped, 0.99))
	res.UncappedRatio = res.UncappedP99Ms / max(res.QuietP99Ms, 0.001)
	var uncappedStarts []time.Time
	res.UncappedMaxInFlight, uncappedStarts = pod.snapshot(slowUncappedVersion)
	res.UncappedExecutes = len(uncappedStarts)
	progress("neighbour: hello p99 %.1f ms beside %d uncapped slow invocations (x%.2f); their executes in flight at most %d, %d served so far",
		res.UncappedP99Ms, res.Flood, res.UncappedRatio, res.UncappedMaxInFlight, res.UncappedExecutes)
	if err := b.deleteInvocations(ctx, slowCode); err != nil {
		return err
	}
	// hello alone again: how far the quiet p99 drifts within the run (a
	// machine shared with other work) tells how much of a ratio is noise.
	after, err := b.helloLatencies(ctx, "hello, no flood, after the floods", res.HelloInvokes)
	if err != nil {
		return err
	}
	res.QuietAfterP99Ms = ms(percentile(after, 0.99))
	progress("neighbour: hello p99 %.1f ms alone after the floods (%.1f ms before)", res.QuietAfterP99Ms, res.QuietP99Ms)

	// 4. The rate: executes/s the plugin pod saw for a version limited to 10/s.
	const rateInvocations = 60
	if err := b.createInvocations(ctx, "create invocations of the rate-limited version", rateInvocations, func(int) *bkv1.PluginInvocation {
		return newInvocation(benchNamespace, slowCode, slowRateVersion, `{}`)
	}); err != nil {
		return err
	}
	deadline := time.Now().Add(time.Duration(2*rateInvocations/neighbourRate+60) * time.Second)
	for {
		_, starts := pod.snapshot(slowRateVersion)
		if len(starts) >= rateInvocations {
			sort.Slice(starts, func(i, j int) bool { return starts[i].Before(starts[j]) })
			res.RateExecutes = len(starts)
			res.RatePerS = float64(len(starts)-1) / starts[len(starts)-1].Sub(starts[0]).Seconds()
			break
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("only %d of %d executes of the rate-limited version were served by %s", len(starts), rateInvocations, deadline.Format(time.TimeOnly))
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(500 * time.Millisecond):
		}
	}
	progress("neighbour: %d executes of a version limited to %d/s came at %.2f/s", res.RateExecutes, neighbourRate, res.RatePerS)
	return b.deleteInvocations(ctx, slowCode)
}

// neighbourFloodSize is the flood's size: the one asked for, or, when the
// run's baseline shows an API server too slow to create it within a
// minute, what it creates in a minute (at least 200), and why.
func neighbourFloodSize(asked int, pairsPerS float64) (int, string) {
	if pairsPerS <= 0 || float64(asked) <= pairsPerS*60 {
		return asked, ""
	}
	n := max(int(pairsPerS*60), 200)
	if n >= asked {
		return asked, ""
	}
	return n, fmt.Sprintf("flood cut from %d to %d: the baseline's %.0f create+status pairs/s would take over a minute to create it", asked, n, pairsPerS)
}

// registerSlow registers the slow plugin's versions, pointing at url, with
// their limits, and waits until both are Ready.
func (b *bench) registerSlow(ctx context.Context, pl *plugin.Plugin, url string) error {
	plvs, err := manifest.PluginVersions(pl, manifest.Options{Namespace: benchNamespace, URL: url})
	if err != nil {
		return err
	}
	for i := range plvs {
		switch plvs[i].Spec.Version {
		case slowFloodVersion:
			plvs[i].Spec.Limits = &bkv1.ExecutionLimits{MaxExecutesInFlight: ptr.To[int32](neighbourMaxInFlight)}
		case slowRateVersion:
			plvs[i].Spec.Limits = &bkv1.ExecutionLimits{ExecutesPerSecond: ptr.To[int32](neighbourRate), Burst: ptr.To[int32](1)}
		case slowUncappedVersion:
			// No limits: fairness alone protects hello.
		}
		if err := b.kube.Create(ctx, &plvs[i]); err != nil {
			return fmt.Errorf("create PluginVersion %s: %w", plvs[i].Name, err)
		}
	}
	deadline := time.Now().Add(2 * time.Minute)
	for _, plv := range plvs {
		for {
			got := &bkv1.PluginVersion{}
			if err := b.kube.Get(ctx, client.ObjectKeyFromObject(&plv), got); err == nil &&
				apimeta.IsStatusConditionPresentAndEqual(got.Status.Conditions, bkv1.ConditionReady, metav1.ConditionTrue) {
				break
			}
			if time.Now().After(deadline) {
				return fmt.Errorf("PluginVersion %s is not Ready after 2m", plv.Name)
			}
			time.Sleep(200 * time.Millisecond)
		}
	}
	return nil
}

// helloLatencies invokes hello n times at c=10 through the shim and returns
// the sorted latencies.
func (b *bench) helloLatencies(ctx context.Context, what string, n int) ([]time.Duration, error) {
	lat := make([]time.Duration, n)
	err := parallel(ctx, what, n, neighbourConcurrency, func(ctx context.Context, i int) error {
		start := time.Now()
		res, err := b.shim.Invoke(ctx, "hello", "1.0.0",
			stdapi.InvokeRequest{Inputs: []byte(`{"name":"world"}`), Context: []byte(`{}`)}, shimclient.InvokeOptions{})
		if err != nil {
			return err
		}
		if res.State != protocol.StateSuccess {
			return fmt.Errorf("invoke %s answered state %v (%s), want SUCCESS", res.TraceID, res.State, res.Err)
		}
		lat[i] = time.Since(start)
		return nil
	})
	sort.Slice(lat, func(i, j int) bool { return lat[i] < lat[j] })
	return lat, err
}

// rows adds the phase's rows to the report.
func (n *neighbourResult) rows(row func(name, value, ratio, target string, met *bool)) {
	yes := func(b bool) *bool { return &b }
	if n.FloodSizeReason != "" {
		row("neighbour flood size", n.FloodSizeReason, "", "", nil)
	}
	row(fmt.Sprintf("neighbour hello p99 ms, no flood (c=%d, n=%d)", neighbourConcurrency, n.HelloInvokes), fmt.Sprintf("%.1f", n.QuietP99Ms), "1.00", "", nil)
	row("neighbour hello p99 ms, no flood, after the floods (drift)", fmt.Sprintf("%.1f", n.QuietAfterP99Ms), fmt.Sprintf("%.2f", n.QuietAfterP99Ms/max(n.QuietP99Ms, 0.001)), "", nil)
	row(fmt.Sprintf("neighbour hello p99 ms beside %d slow invocations", n.Flood), fmt.Sprintf("%.1f", n.FloodP99Ms),
		fmt.Sprintf("%.2f", n.Ratio), fmt.Sprintf("<= %.1f x no flood", targetNeighbourRatio), yes(n.Ratio <= targetNeighbourRatio))
	row(fmt.Sprintf("neighbour hello p99 ms beside %d uncapped slow invocations (fair queue alone)", n.Flood), fmt.Sprintf("%.1f", n.UncappedP99Ms),
		fmt.Sprintf("%.2f", n.UncappedRatio), fmt.Sprintf("<= %.1f x no flood", targetNeighbourRatio), yes(n.UncappedRatio <= targetNeighbourRatio))
	row(fmt.Sprintf("neighbour uncapped slow executes in flight at most (%d served)", n.UncappedExecutes), fmt.Sprintf("%d", n.UncappedMaxInFlight), "", "", nil)
	row(fmt.Sprintf("neighbour slow executes in flight at most (cap %d, %d served)", neighbourMaxInFlight, n.FloodExecutes), fmt.Sprintf("%d", n.MaxInFlight),
		"", fmt.Sprintf("<= %d", neighbourMaxInFlight), yes(n.MaxInFlight <= neighbourMaxInFlight))
	row(fmt.Sprintf("neighbour executes/s under a %d/s limit (%d executes)", neighbourRate, n.RateExecutes), fmt.Sprintf("%.2f", n.RatePerS),
		"", fmt.Sprintf("<= %d (+10%%)", neighbourRate), yes(n.RatePerS <= neighbourRate*1.1))
}

// fields adds the phase's figures to the JSON line.
func (n *neighbourResult) fields(f map[string]float64, round func(float64) float64) {
	f["neighbour_flood"] = float64(n.Flood)
	f["neighbour_hello_p99_ms"] = round(n.FloodP99Ms)
	f["neighbour_quiet_hello_p99_ms"] = round(n.QuietP99Ms)
	f["neighbour_quiet_after_hello_p99_ms"] = round(n.QuietAfterP99Ms)
	f["neighbour_p99_ratio"] = math.Round(n.Ratio*100) / 100
	f["neighbour_max_in_flight"] = float64(n.MaxInFlight)
	f["neighbour_uncapped_hello_p99_ms"] = round(n.UncappedP99Ms)
	f["neighbour_uncapped_p99_ratio"] = math.Round(n.UncappedRatio*100) / 100
	f["neighbour_uncapped_max_in_flight"] = float64(n.UncappedMaxInFlight)
	f["neighbour_rate_executes_per_s"] = round(n.RatePerS)
}
