//go:build envtest

package monitoring

import (
	"encoding/json"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"
	"sigs.k8s.io/controller-runtime/pkg/envtest"
	"sigs.k8s.io/yaml"

	"github.com/bkplugin/bk-plugin-operator/internal/controller/invocation"
	"github.com/bkplugin/bk-plugin-operator/internal/shim"
	"github.com/bkplugin/bk-plugin-operator/sdk/examples/hello/helloplugin"
	"github.com/bkplugin/bk-plugin-operator/sdk/server"
)

// repo is the repository root, seen from this package.
const repo = "../.."

// descName pulls the metric name out of a *prometheus.Desc's String(),
// the only place client_golang exposes it.
var descName = regexp.MustCompile(`fqName: "([^"]+)"`)

// metricName matches our metrics' names in PromQL, and the workqueue_*
// names the manager's fair queue feeds (invocation.NewMetrics registers
// them in a registry that lacks them, as a test's does).
var metricName = regexp.MustCompile(`\b(?:bkplugin|workqueue)_[a-zA-Z0-9_:]*`)

// exported returns the series names reg's collectors produce: a counter or
// gauge's name, a histogram's _bucket, _sum and _count.
func exported(t *testing.T, reg *prometheus.Registry, names map[string]string, who string) {
	t.Helper()
	ch := make(chan *prometheus.Desc)
	go func() { reg.Describe(ch); close(ch) }()
	var found []string
	for d := range ch {
		m := descName.FindStringSubmatch(d.String())
		if m == nil {
			t.Fatalf("cannot read a metric name from %s", d)
		}
		found = append(found, m[1])
	}
	// The type comes from Gather, which lists only series with samples;
	// a histogram is known by its _bucket series when it has any, so
	// every name also admits the histogram suffixes.
	types := map[string]dto.MetricType{}
	if mfs, err := reg.Gather(); err == nil {
		for _, mf := range mfs {
			types[mf.GetName()] = mf.GetType()
		}
	}
	if len(found) == 0 {
		t.Fatalf("%s registers no metrics", who)
	}
	for _, n := range found {
		names[n] = who
		if tp, ok := types[n]; !ok || tp == dto.MetricType_HISTOGRAM {
			for _, s := range []string{"_bucket", "_sum", "_count"} {
				names[n+s] = who
			}
		}
	}
}

// registered gathers the names the three binaries register.
func registered(t *testing.T) map[string]string {
	t.Helper()
	names := map[string]string{}

	mgr := prometheus.NewRegistry()
	if _, err := invocation.NewMetrics(mgr); err != nil {
		t.Fatal(err)
	}
	exported(t, mgr, names, "manager")

	plugin := prometheus.NewRegistry()
	if _, err := server.New(helloplugin.Plugin(), server.Options{Registry: plugin, Logger: slog.New(slog.NewTextHandler(io.Discard, nil))}); err != nil {
		t.Fatal(err)
	}
	exported(t, plugin, names, "plugin server (sdk/server)")

	// The shim builds its informers (and so needs an API server with the
	// CRDs) before it registers its metrics.
	env := &envtest.Environment{CRDDirectoryPaths: []string{filepath.Join(repo, "config", "crd", "bases")}, ErrorIfCRDPathMissing: true}
	cfg, err := env.Start()
	if err != nil {
		t.Fatalf("start envtest: %v", err)
	}
	t.Cleanup(func() { _ = env.Stop() })
	shimReg := prometheus.NewRegistry()
	if _, err := shim.New(shim.Options{Config: cfg, Registry: shimReg}); err != nil {
		t.Fatal(err)
	}
	exported(t, shimReg, names, "shim")
	return names
}

// query is one PromQL expression and where it is.
type query struct{ where, expr string }

// alertQueries reads the alerts' expressions.
func alertQueries(t *testing.T) []query {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(repo, "config", "prometheus", "alerts.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	var rule struct {
		Spec struct {
			Groups []struct {
				Rules []struct{ Alert, Record, Expr string }
			}
		}
	}
	if err := yaml.Unmarshal(b, &rule); err != nil {
		t.Fatalf("alerts.yaml: %v", err)
	}
	var qs []query
	for _, g := range rule.Spec.Groups {
		for _, r := range g.Rules {
			qs = append(qs, query{"alert " + r.Alert + r.Record, r.Expr})
		}
	}
	return qs
}

// dashboardQueries reads every target's expression of the dashboard.
func dashboardQueries(t *testing.T) []query {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(repo, "config", "grafana", "bk-plugin-operator.json"))
	if err != nil {
		t.Fatal(err)
	}
	var d struct {
		Panels []struct {
			Title   string
			Targets []struct{ Expr string }
		}
	}
	if err := json.Unmarshal(b, &d); err != nil {
		t.Fatalf("dashboard: %v", err)
	}
	var qs []query
	for _, p := range d.Panels {
		for _, tg := range p.Targets {
			qs = append(qs, query{"panel " + p.Title, tg.Expr})
		}
	}
	return qs
}

// TestQueriesNameExportedMetrics fails on any bkplugin_* name in an alert
// or a dashboard panel that no binary registers, and on an empty query.
func TestQueriesNameExportedMetrics(t *testing.T) {
	if os.Getenv("KUBEBUILDER_ASSETS") == "" {
		t.Skip("KUBEBUILDER_ASSETS is unset; make test sets it (hack/setup-envtest.sh)")
	}
	names := registered(t)
	qs := append(alertQueries(t), dashboardQueries(t)...)
	if len(qs) < 10 {
		t.Fatalf("found %d queries; the alerts or the dashboard did not parse as expected", len(qs))
	}
	used := map[string]bool{}
	for _, q := range qs {
		if strings.TrimSpace(q.expr) == "" {
			t.Errorf("%s has an empty query", q.where)
			continue
		}
		found := metricName.FindAllString(q.expr, -1)
		if len(found) == 0 && !strings.Contains(q.expr, "up{") {
			t.Errorf("%s queries no bkplugin metric: %s", q.where, q.expr)
		}
		for _, n := range found {
			used[n] = true
			if _, ok := names[n]; !ok {
				t.Errorf("%s queries %s, which no binary exports; known: %s", q.where, n, strings.Join(sortedNames(names), ", "))
			}
		}
	}
	t.Logf("%d queries over %d metric names checked", len(qs), len(used))
}

func sortedNames(m map[string]string) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}
