package main

import (
	"encoding/json"
	"fmt"
	"io"
	"math"
	"text/tabwriter"
)

// results are the figures of one run; zero when a phase did not run.
type results struct {
	BaselinePairsPerS   float64
	BaselineUpdatesPerS float64
	BaselinePairP50Ms   float64
	BaselinePairP99Ms   float64
	InvokePerS          float64
	InvokeP50Ms         float64
	InvokeP95Ms         float64
	InvokeP99Ms         float64
	// InvokeClusterCPUMs is the CPU per cluster-path invoke, summed over
	// the shim, hello, the manager, kube-apiserver and etcd.
	InvokeClusterCPUMs float64
	// InvokeClusterAPICPUMs is the part of it kube-apiserver and etcd
	// used; BaselinePairAPICPUMs what they used per baseline pair (the
	// mean over the baseline runs). Their ratio bounds invoke_per_pair
	// when the API server is the limit.
	InvokeClusterAPICPUMs float64
	BaselinePairAPICPUMs  float64
	// The direct path (a second shim with --sync-invoke=direct).
	InvokeDirectPerS  float64
	InvokeDirectP99Ms float64
	// InvokeDirectCPUMs is the CPU per direct invoke, summed over the same
	// processes (the manager, API server and etcd only where used).
	InvokeDirectCPUMs float64
	// DirectNote says why the direct path was not measured.
	DirectNote        string
	SchedulePerS      float64
	CallbackP50Ms     float64
	CallbackP99Ms     float64
	LatenessPollers   int
	LatenessIntervalS int
	PollLatenessP50Ms float64
	PollLatenessP99Ms float64
	// PollLatenessOver is set when p99 is beyond the histogram's largest
	// bound, which PollLatenessP99Ms then is.
	PollLatenessOver bool
	// LatenessLoad says how the lateness phase's load was chosen.
	LatenessLoad string
	Scale        []scalePoint
	// Soak is the soak phase's figures; nil when it did not run.
	Soak *soakResult
	// Neighbour is the neighbour phase's figures; nil when it did not run.
	Neighbour *neighbourResult

	// Sums over the baseline\'s runs.
	baselineRuns         int
	pairsSum, updatesSum float64
	pairCPUSum           float64
	pairCPURuns          int
}

type scalePoint struct {
	Waiting         int
	RSSBytes        int64
	BytesPerWaiting float64
	// HeapBytesPerWaiting is the growth of the heap in use, per waiting.
	HeapBytesPerWaiting float64
}

// Targets of issue 8, as issue 21 revised them: the cluster path's invoke
// against the baseline's pairs, its p99 against the pair's p99 (the
// absolute 100 ms p99 target is withdrawn: at c=50 the raw API server is
// above it).
const (
	targetInvokeRatio     = 0.85
	targetInvokeP99Ratio  = 1.3
	targetScheduleRatio   = 0.7
	targetCallbackP99Ms   = 100
	targetLatenessP99Ms   = 1000
	targetBytesPerWaiting = 10 << 10
)

// Targets of issue 21 (the direct path): three times the baseline's pairs
// (one Python process reached 2.1x, eight 2.9x, on the same machine) and
// at most 1.5 ms of CPU per invoke (Python: 2.7).
const (
	targetDirectRatio = 3
	targetDirectCPUMs = 1.5
)

// Targets of issue 14 (the soak phase).
const (
	// targetArchiveRatio: the archive inserts at least 10x the invoke rate.
	targetArchiveRatio = 10
	// targetArchivedScheduleRatio: schedule of an archived invocation is
	// within 2x a live one's, p99 against p99 in the same run.
	targetArchivedScheduleRatio = 2
	// targetRSSGrowth is "near zero": below the noise of a Go heap's
	// collection cycle at this rate (before issue 14 a finished invocation
	// cost 8.7 KB of manager RSS, 260 MB over a 10-minute soak at 50/s).
	targetRSSGrowth = 16 << 20
)

// print writes the table, then the JSON line, last.
func (r *results) print(w io.Writer, cfg config) error {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "figure\tvalue\tx baseline\ttarget\tmet")
	row := func(name, value, ratio, target string, met *bool) {
		m := ""
		if met != nil {
			m = map[bool]string{true: "yes", false: "NO"}[*met]
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", name, value, ratio, target, m)
	}
	yes := func(b bool) *bool { return &b }
	ratio := func(v, base float64) float64 {
		if base == 0 {
			return math.NaN()
		}
		return v / base
	}
	if cfg.phases["baseline"] {
		row(fmt.Sprintf("baseline create+status pairs/s (c=%d, mean of %d)", cfg.concurrency, r.baselineRuns), fmt.Sprintf("%.0f", r.BaselinePairsPerS), "1.00", "", nil)
		row("baseline pair p50 / p99 ms", fmt.Sprintf("%.1f / %.1f", r.BaselinePairP50Ms, r.BaselinePairP99Ms), "", "", nil)
		row(fmt.Sprintf("baseline status updates/s (c=%d, mean of %d)", cfg.concurrency, r.baselineRuns), fmt.Sprintf("%.0f", r.BaselineUpdatesPerS), fmt.Sprintf("%.2f", ratio(r.BaselineUpdatesPerS, r.BaselinePairsPerS)), "", nil)
	}
	if cfg.phases["invoke"] {
		q := ratio(r.InvokePerS, r.BaselinePairsPerS)
		row(fmt.Sprintf("invoke hello/s, cluster path (c=%d, n=%d)", cfg.concurrency, cfg.invokes), fmt.Sprintf("%.0f", r.InvokePerS), fmt.Sprintf("%.2f of pairs", q), fmt.Sprintf(">= %.2f x pairs", targetInvokeRatio), yes(q >= targetInvokeRatio))
		row("invoke p50 / p95 ms, cluster path", fmt.Sprintf("%.1f / %.1f", r.InvokeP50Ms, r.InvokeP95Ms), "", "", nil)
		p := ratio(r.InvokeP99Ms, r.BaselinePairP99Ms)
		row("invoke p99 ms, cluster path", fmt.Sprintf("%.1f", r.InvokeP99Ms), fmt.Sprintf("%.2f of pair p99", p), fmt.Sprintf("<= %.1f x pair p99", targetInvokeP99Ratio), yes(p <= targetInvokeP99Ratio))
		row("invoke CPU ms per call, cluster path (all processes)", fmt.Sprintf("%.2f", r.InvokeClusterCPUMs), "", "", nil)
		if r.BaselinePairAPICPUMs > 0 {
			row("kube-apiserver+etcd CPU ms per invoke / per baseline pair", fmt.Sprintf("%.2f / %.2f", r.InvokeClusterAPICPUMs, r.BaselinePairAPICPUMs),
				fmt.Sprintf("%.2f pairs", ratio(r.InvokeClusterAPICPUMs, r.BaselinePairAPICPUMs)), "", nil)
		}
	}
	if cfg.phases["direct"] {
		if r.DirectNote != "" {
			row("invoke hello/s, direct path", "not measured", "", "", nil)
		} else {
			q := ratio(r.InvokeDirectPerS, r.BaselinePairsPerS)
			row(fmt.Sprintf("invoke hello/s, direct path (c=%d, n=%d)", cfg.concurrency, cfg.invokes), fmt.Sprintf("%.0f", r.InvokeDirectPerS), fmt.Sprintf("%.2f of pairs", q), fmt.Sprintf(">= %d x pairs", targetDirectRatio), yes(q >= targetDirectRatio))
			row("invoke p99 ms, direct path", fmt.Sprintf("%.1f", r.InvokeDirectP99Ms), fmt.Sprintf("%.2f of pair p99", ratio(r.InvokeDirectP99Ms, r.BaselinePairP99Ms)), "", nil)
			row("invoke CPU ms per call, direct path (all processes)", fmt.Sprintf("%.2f", r.InvokeDirectCPUMs), "", fmt.Sprintf("<= %.1f", targetDirectCPUMs), yes(r.InvokeDirectCPUMs <= targetDirectCPUMs))
		}
	}
	if cfg.phases["schedule"] {
		q := ratio(r.SchedulePerS, r.BaselineUpdatesPerS)
		row(fmt.Sprintf("poll executes/s (%d pollers)", cfg.pollers), fmt.Sprintf("%.0f", r.SchedulePerS), fmt.Sprintf("%.2f of updates", q), fmt.Sprintf(">= %.1f x updates", targetScheduleRatio), yes(q >= targetScheduleRatio))
	}
	if cfg.phases["callback"] {
		row("callback round trip p50 ms", fmt.Sprintf("%.1f", r.CallbackP50Ms), "", "", nil)
		row("callback round trip p99 ms", fmt.Sprintf("%.1f", r.CallbackP99Ms), "", fmt.Sprintf("<= %d", targetCallbackP99Ms), yes(r.CallbackP99Ms <= targetCallbackP99Ms))
	}
	if cfg.phases["lateness"] {
		due := float64(r.LatenessPollers) / float64(max(r.LatenessIntervalS, 1))
		row(fmt.Sprintf("poll lateness p50 ms (%d pollers, %ds)", r.LatenessPollers, r.LatenessIntervalS), fmt.Sprintf("%.0f", r.PollLatenessP50Ms), "", "", nil)
		p99 := fmt.Sprintf("%.0f", r.PollLatenessP99Ms)
		if r.PollLatenessOver {
			p99 = "> " + p99
		}
		row(fmt.Sprintf("poll lateness p99 ms (%.0f polls/s due: %s)", due, r.LatenessLoad), p99, fmt.Sprintf("%.2f of updates due", ratio(due, r.BaselineUpdatesPerS)), fmt.Sprintf("<= %d", targetLatenessP99Ms), yes(r.PollLatenessP99Ms <= targetLatenessP99Ms))
	}
	if r.Neighbour != nil {
		r.Neighbour.rows(row)
	}
	for _, p := range r.Scale {
		row(fmt.Sprintf("manager RSS at %d waiting (MiB)", p.Waiting), fmt.Sprintf("%.1f", float64(p.RSSBytes)/(1<<20)), "", "", nil)
		row(fmt.Sprintf("manager RSS bytes per waiting (%d)", p.Waiting), fmt.Sprintf("%.0f", p.BytesPerWaiting), "", fmt.Sprintf("<= %d", targetBytesPerWaiting), yes(p.BytesPerWaiting <= targetBytesPerWaiting))
		row(fmt.Sprintf("manager heap-in-use bytes per waiting (%d)", p.Waiting), fmt.Sprintf("%.0f", p.HeapBytesPerWaiting), "", "", nil)
	}
	if s := r.Soak; s != nil {
		bound := int(s.RatePerS*s.KeepFinishedS) + 500 // + what may be in flight
		row(fmt.Sprintf("soak invocations (hello at %.0f/s, %s, for %.0fs, keep-finished %.0fs)", s.RatePerS, s.Load, s.DurationS, s.KeepFinishedS), fmt.Sprintf("%d (%d failed, %d not sent)", s.Invocations, s.Failed, s.NotSent), "", "", nil)
		row("soak PluginInvocations at most at once", fmt.Sprintf("%d", s.LiveMax), "", fmt.Sprintf("<= rate x keep + in flight (%d)", bound), yes(s.LiveMax <= bound))
		row(fmt.Sprintf("soak manager RSS growth (last %.0fs - first after warm-up, MiB)", s.rssWindowS), fmt.Sprintf("%+.1f", float64(s.ManagerRSSGrowth)/(1<<20)), "", fmt.Sprintf("<= %d", targetRSSGrowth>>20), yes(s.ManagerRSSGrowth <= targetRSSGrowth))
		row(fmt.Sprintf("soak shim RSS growth (last %.0fs - first after warm-up, MiB)", s.rssWindowS), fmt.Sprintf("%+.1f", float64(s.ShimRSSGrowth)/(1<<20)), "", fmt.Sprintf("<= %d", targetRSSGrowth>>20), yes(s.ShimRSSGrowth <= targetRSSGrowth))
		ar := ratio(s.ArchiveRowsPerS, s.RatePerS)
		row(fmt.Sprintf("archive rows/s (%d writers, alone)", cfg.concurrency), fmt.Sprintf("%.0f", s.ArchiveRowsPerS), fmt.Sprintf("%.0f of invoke rate", ar), fmt.Sprintf(">= %d x rate", targetArchiveRatio), yes(ar >= targetArchiveRatio))
		row(fmt.Sprintf("live schedule p99 ms (c=%d, %d reads)", cfg.concurrency, s.LiveSchedN), fmt.Sprintf("%.1f", s.LiveSchedP99), "", "", nil)
		q := ratio(s.ArchivedSchedP99, s.LiveSchedP99)
		var met *bool
		if s.ArchivedSchedN > 0 && s.LiveSchedN > 0 {
			met = yes(q <= targetArchivedScheduleRatio)
		}
		row(fmt.Sprintf("archived schedule p99 ms (c=%d, %d reads)", cfg.concurrency, s.ArchivedSchedN), fmt.Sprintf("%.1f", s.ArchivedSchedP99), fmt.Sprintf("%.2f of live", q), fmt.Sprintf("<= %d x live", targetArchivedScheduleRatio), met)
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	if r.DirectNote != "" {
		fmt.Fprintln(w, "note: "+r.DirectNote)
	}
	if r.Soak != nil && r.Soak.ArchivedNotice != "" {
		fmt.Fprintln(w, "note: "+r.Soak.ArchivedNotice)
	}
	perWaiting := 0.0
	if len(r.Scale) > 0 {
		perWaiting = r.Scale[len(r.Scale)-1].BytesPerWaiting
	}
	round := func(v float64) float64 {
		if math.IsNaN(v) || math.IsInf(v, 0) {
			return 0
		}
		return math.Round(v*10) / 10
	}
	round2 := func(v float64) float64 {
		if math.IsNaN(v) || math.IsInf(v, 0) {
			return 0
		}
		return math.Round(v*100) / 100
	}
	fields := map[string]float64{
		"baseline_pairs_per_s":      round(r.BaselinePairsPerS),
		"baseline_updates_per_s":    round(r.BaselineUpdatesPerS),
		"invoke_per_s":              round(r.InvokePerS),
		"invoke_p99_ms":             round(r.InvokeP99Ms),
		"invoke_per_pair":           round2(ratio(r.InvokePerS, r.BaselinePairsPerS)),
		"invoke_p99_per_pair_p99":   round2(ratio(r.InvokeP99Ms, r.BaselinePairP99Ms)),
		"invoke_cluster_cpu_ms":     round2(r.InvokeClusterCPUMs),
		"invoke_cluster_api_cpu_ms": round2(r.InvokeClusterAPICPUMs),
		"baseline_pair_api_cpu_ms":  round2(r.BaselinePairAPICPUMs),
		"schedule_per_s":            round(r.SchedulePerS),
		"callback_rtt_p99_ms":       round(r.CallbackP99Ms),
		"poll_lateness_p99_ms":      round(r.PollLatenessP99Ms),
		"rss_bytes_per_waiting":     round(perWaiting),
	}
	if cfg.phases["direct"] && r.DirectNote == "" {
		fields["invoke_direct_per_s"] = round(r.InvokeDirectPerS)
		fields["invoke_direct_p99_ms"] = round(r.InvokeDirectP99Ms)
		fields["invoke_direct_per_pair"] = round2(ratio(r.InvokeDirectPerS, r.BaselinePairsPerS))
		fields["invoke_cpu_ms"] = round2(r.InvokeDirectCPUMs)
	}
	if s := r.Soak; s != nil {
		fields["soak_invocations"] = float64(s.Invocations)
		fields["soak_live_max"] = float64(s.LiveMax)
		fields["soak_manager_rss_growth_bytes"] = float64(s.ManagerRSSGrowth)
		fields["soak_shim_rss_growth_bytes"] = float64(s.ShimRSSGrowth)
		fields["archive_rows_per_s"] = round(s.ArchiveRowsPerS)
		fields["archived_schedule_p99_ms"] = round(s.ArchivedSchedP99)
		fields["live_schedule_p99_ms"] = round(s.LiveSchedP99)
	}
	if r.Neighbour != nil {
		r.Neighbour.fields(fields, round)
	}
	line, err := json.Marshal(fields)
	if err != nil {
		return err
	}
	_, err = fmt.Fprintln(w, string(line))
	return err
}
