// Command bench measures the whole system against the one limit that
// matters here, the API server's write rate, in one run:
//
//   - baseline: raw create + status-update pairs/s and single status
//     updates/s of a PluginInvocation-sized object, at concurrency 50;
//   - invoke: throughput, latency and CPU of synchronous invokes of hello
//     through the shim on the cluster path (a PluginInvocation per call);
//   - direct: the same through a second shim with --sync-invoke=direct,
//     which executes the first call itself (issue 21);
//   - schedule: poll executes/s the manager achieves with 1000 pollers;
//   - callback: callback POST -> SUCCESS round trip on an idle stack;
//   - neighbour: hello's p99 at c=10 beside a flood of a slow plugin's
//     invocations against its p99 alone, executes in flight under a cap of
//     5 and executes/s under a 10/s limit (issue 17, neighbour.go);
//   - scale: manager RSS per waiting invocation at 10,000 and 50,000;
//   - lateness: poll lateness p99 with pollers due at 0.3x the baseline's
//     status updates/s, the waiting ones still there;
//   - soak: hello at a steady rate (0.3x the baseline's pairs/s) for 10
//     minutes with the manager's --keep-finished at 1m: live objects, RSS
//     growth, the archive's insert rate and schedule of archived against
//     live invocations (issue 14).
//
// Every rate a phase offers is sized from the same run's baseline, never
// fixed: a fixed rate measures the machine (on a slower one it is simply
// more than the API server takes), a fraction of what the API server
// sustains measures the code.
//
// It starts the local stack (bin/localstack) with the manager watching only
// the stack's namespace, so that the baseline runs beside it in a namespace
// nobody reconciles. Progress goes to stderr; the table and, as the last
// line, one JSON object go to stdout.
//
//	KUBEBUILDER_ASSETS=$(hack/setup-envtest.sh) bin/bench --bin-dir bin
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/bkplugin/bk-plugin-operator/internal/cmdutil"
)

// config is the command line.
type config struct {
	binDir, assetsDir, crdDir string
	phases                    map[string]bool
	concurrency               int
	baselineDuration          time.Duration
	invokes                   int
	pollers                   int
	scheduleWindow            time.Duration
	callbacks                 int
	latenessPollers           int
	latenessFraction          float64
	latenessInterval          time.Duration
	latenessWindow            time.Duration
	waiting                   []int
	pprofDir                  string
	managerArgs, shimArgs     cmdutil.StringList
	// The soak phase.
	soakRate         float64
	soakFraction     float64
	soakDuration     time.Duration
	soakKeepFinished time.Duration
	soakArchive      string
	// The neighbour phase (neighbour.go).
	neighbourFlood, neighbourHello int
}

// allPhases, in the order they run.
var allPhases = []string{"baseline", "invoke", "direct", "schedule", "callback", "neighbour", "scale", "lateness", "soak"}

func main() {
	cmdutil.Tool[config]{
		Name:  "bench",
		Parse: parseFlags,
		Run:   func(ctx context.Context, cfg config) error { return run(ctx, cfg, os.Stdout) },
	}.Main()
}

func parseFlags(args []string, stderr io.Writer) (config, error) {
	fs := flag.NewFlagSet("bench", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var cfg config
	waiting := os.Getenv("BENCH_SCALE")
	if waiting == "" {
		waiting = "10000,50000"
	}
	phases := strings.Join(allPhases, ",")
	fs.StringVar(&cfg.binDir, "bin-dir", "bin", "folder of the localstack, manager, apiserver and example binaries (make binaries)")
	fs.StringVar(&cfg.assetsDir, "assets", os.Getenv("KUBEBUILDER_ASSETS"), "folder of kube-apiserver, etcd and kubectl (env KUBEBUILDER_ASSETS)")
	fs.StringVar(&cfg.crdDir, "crd-dir", "config/crd/bases", "folder of the CRDs")
	fs.StringVar(&phases, "phases", phases, "comma-separated phases to run, of "+strings.Join(allPhases, ","))
	fs.IntVar(&cfg.concurrency, "concurrency", 50, "concurrent clients of the baseline and invoke phases")
	fs.DurationVar(&cfg.baselineDuration, "baseline-duration", 10*time.Second, "how long each baseline measurement runs")
	fs.IntVar(&cfg.invokes, "invokes", 1000, "synchronous invokes of hello in the invoke phase")
	fs.IntVar(&cfg.pollers, "pollers", 1000, "poller invocations (interval 0) of the schedule phase")
	fs.DurationVar(&cfg.scheduleWindow, "schedule-window", 20*time.Second, "how long poll executes are counted")
	fs.IntVar(&cfg.callbacks, "callbacks", 200, "sequential callback round trips")
	fs.IntVar(&cfg.latenessPollers, "lateness-pollers", 0, "poller invocations of the lateness phase; 0 sizes them from the baseline (--lateness-fraction)")
	fs.Float64Var(&cfg.latenessFraction, "lateness-fraction", 0.3, "the lateness phase's polls due per second, as a fraction of the baseline's status updates/s")
	fs.DurationVar(&cfg.latenessInterval, "lateness-interval", 60*time.Second, "their poll interval (whole seconds); pollers/interval is the executes/s due")
	fs.DurationVar(&cfg.latenessWindow, "lateness-window", 60*time.Second, "how long lateness is recorded once all are polling")
	fs.StringVar(&waiting, "waiting", waiting, "comma-separated totals of waiting invocations for the scale phase (env BENCH_SCALE)")
	fs.StringVar(&cfg.pprofDir, "pprof-dir", "", "when set, write CPU profiles of the manager and the shim during the invoke, direct and schedule phases (and of the hello plugin during invoke and direct), heap profiles after scale and when the soak warms up and ends, into this folder")
	fs.Float64Var(&cfg.soakRate, "soak-rate", 0, "invokes of hello per second in the soak phase; 0 sizes it from the baseline (--soak-fraction)")
	fs.Float64Var(&cfg.soakFraction, "soak-fraction", 0.2, "the soak phase's invokes per second, as a fraction of the baseline's create+status pairs/s (0.2: about the 50/s of issue 14 on a 2-core machine, within what the cluster path sustains with archiving and deletion; 0.3 ran it at capacity)")
	fs.DurationVar(&cfg.soakDuration, "soak-duration", 10*time.Minute, "how long the soak phase invokes (shorten it for a quick check)")
	fs.DurationVar(&cfg.soakKeepFinished, "soak-keep-finished", time.Minute, "the manager's --keep-finished when the soak phase runs; 0 leaves the manager's default")
	fs.StringVar(&cfg.soakArchive, "soak-archive", "", "the archive DSN the stack uses, for the insert-rate measurement; empty: localstack's SQLite file in its run folder")
	fs.IntVar(&cfg.neighbourFlood, "neighbour-flood", 2000, "slow invocations (500 ms executes) flooding in the neighbour phase; cut to what the baseline creates in a minute when the API server is slower")
	fs.IntVar(&cfg.neighbourHello, "neighbour-hello", 500, "invokes of hello at c=10 in the neighbour phase, without and beside the flood")
	fs.Var(&cfg.managerArgs, "manager-arg", "an extra argument of the manager (repeatable)")
	fs.Var(&cfg.shimArgs, "shim-arg", "an extra argument of the shim (repeatable)")
	if err := fs.Parse(args); err != nil {
		return config{}, err
	}
	if cfg.assetsDir == "" {
		return config{}, errors.New("no control-plane binaries: set KUBEBUILDER_ASSETS=$(hack/setup-envtest.sh) or pass --assets")
	}
	cfg.phases = map[string]bool{}
	for _, p := range strings.Split(phases, ",") {
		p = strings.TrimSpace(p)
		if p == "" {
			continue
		}
		known := false
		for _, a := range allPhases {
			known = known || a == p
		}
		if !known {
			return config{}, fmt.Errorf("unknown phase %q; phases are %s", p, strings.Join(allPhases, ","))
		}
		cfg.phases[p] = true
	}
	for _, w := range strings.Split(waiting, ",") {
		if w = strings.TrimSpace(w); w == "" {
			continue
		}
		n, err := strconv.Atoi(w)
		if err != nil || n <= 0 {
			return config{}, fmt.Errorf("--waiting: %q is not a positive count", w)
		}
		if len(cfg.waiting) > 0 && n <= cfg.waiting[len(cfg.waiting)-1] {
			return config{}, fmt.Errorf("--waiting: totals must grow (%d after %d)", n, cfg.waiting[len(cfg.waiting)-1])
		}
		cfg.waiting = append(cfg.waiting, n)
	}
	if cfg.soakRate < 0 || cfg.soakRate > 10000 {
		return config{}, fmt.Errorf("--soak-rate %g must be in [0, 10000]", cfg.soakRate)
	}
	for _, f := range []struct {
		name string
		v    float64
	}{{"--soak-fraction", cfg.soakFraction}, {"--lateness-fraction", cfg.latenessFraction}} {
		if f.v <= 0 || f.v > 10 {
			return config{}, fmt.Errorf("%s %g must be in (0, 10]", f.name, f.v)
		}
	}
	if cfg.latenessPollers < 0 {
		return config{}, fmt.Errorf("--lateness-pollers %d must not be negative", cfg.latenessPollers)
	}
	if cfg.soakDuration < 10*time.Second {
		return config{}, errors.New("--soak-duration must be at least 10s")
	}
	if cfg.neighbourFlood < 1 || cfg.neighbourHello < 10 {
		return config{}, errors.New("--neighbour-flood must be at least 1 and --neighbour-hello at least 10")
	}
	if cfg.latenessInterval < time.Second {
		return config{}, errors.New("--lateness-interval must be at least 1s: the poller's interval is whole seconds")
	}
	return cfg, nil
}

// run starts the stack, runs the phases and prints the report.
func run(ctx context.Context, cfg config, stdout io.Writer) error {
	started := time.Now()
	st, err := startStack(ctx, cfg)
	if err != nil {
		return err
	}
	defer st.stop()
	b := &bench{cfg: cfg, st: st}
	if err := b.init(); err != nil {
		return err
	}
	var r results
	steps := []struct {
		name string
		fn   func(context.Context, *results) error
	}{
		{"baseline", b.baseline},
		{"invoke", b.invoke},
		{"direct", b.direct},
		{"schedule", b.schedule},
		{"baseline", b.baseline},
		{"callback", b.callback},
		{"neighbour", b.neighbour},
		// Scale before lateness: its RSS is measured from a manager that
		// has not yet held the lateness phase's 10,000 pollers, and the
		// lateness phase then runs with every waiting invocation present.
		{"scale", b.scale},
		{"lateness", b.lateness},
		{"soak", b.soak},
	}
	for _, s := range steps {
		if !cfg.phases[s.name] {
			continue
		}
		progress("phase %s", s.name)
		if err := s.fn(ctx, &r); err != nil {
			return fmt.Errorf("phase %s: %w", s.name, err)
		}
		if err := st.alive(); err != nil {
			return err
		}
	}
	progress("done in %s", time.Since(started).Round(time.Second))
	return r.print(stdout, cfg)
}

// progress writes one progress line to stderr.
func progress(format string, args ...any) {
	fmt.Fprintf(os.Stderr, "%s bench: %s\n", time.Now().Format("15:04:05"), fmt.Sprintf(format, args...))
}
