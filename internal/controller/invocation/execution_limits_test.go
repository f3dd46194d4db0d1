//go:build envtest

package invocation_test

import (
	"fmt"
	"net/http/httptest"
	"slices"
	"sort"
	"sync"
	"sync/atomic"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	apimeta "k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"

	bkv1 "github.com/bkplugin/bk-plugin-operator/api/v1alpha1"
	"github.com/bkplugin/bk-plugin-operator/sdk/examples/hello/helloplugin"
	"github.com/bkplugin/bk-plugin-operator/sdk/manifest"
	"github.com/bkplugin/bk-plugin-operator/sdk/plugin"
	"github.com/bkplugin/bk-plugin-operator/sdk/server"
)

// The limits of issue 17, end to end: a real manager, a real API server and
// a plugin served over real HTTP whose server logs every execute, so that
// what the limits promise is read from what the plugin pod saw.

const limitedCode = "limited"

type limitedInputs struct {
	// SleepMillis is how long each execute takes.
	SleepMillis int `json:"sleep_ms,omitempty"`
	// Hold keeps the invocation polling (every second) until the spec
	// releases it.
	Hold bool `json:"hold,omitempty"`
	// Polls is how many polls (interval 0) come before SUCCESS.
	Polls int `json:"polls,omitempty"`
}

// limitedPod serves the limited plugin and logs its executes: when each
// began and ended, per trace id, and the most in flight at once.
type limitedPod struct {
	*httptest.Server
	released atomic.Bool

	mu          sync.Mutex
	inFlight    int
	maxInFlight int
	starts      []time.Time
	first, last map[string]time.Time
	order       []string
}

func newLimitedPod() *limitedPod {
	p := &limitedPod{first: map[string]time.Time{}, last: map[string]time.Time{}}
	pl := plugin.MustNew(plugin.Meta{Code: limitedCode, Description: "Test plugin: slow, held or polling executes."})
	plugin.MustAddVersion(pl, plugin.Version[limitedInputs, plugin.None, plugin.None]{
		Version: "1.0.0",
		Execute: func(ctx *plugin.Context[limitedInputs, plugin.None, plugin.None]) error {
			p.begin(ctx.TraceID)
			defer p.end(ctx.TraceID)
			time.Sleep(time.Duration(ctx.Inputs.SleepMillis) * time.Millisecond)
			switch {
			case ctx.Inputs.Hold && !p.released.Load():
				ctx.WaitPoll(time.Second)
			case ctx.InvokeCount <= ctx.Inputs.Polls:
				ctx.WaitPoll(0)
			}
			return nil
		},
	})
	p.Server = httptest.NewServer(server.Handler(pl))
	DeferCleanup(p.Close)
	return p
}

func (p *limitedPod) begin(traceID string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	now := time.Now()
	p.inFlight++
	p.maxInFlight = max(p.maxInFlight, p.inFlight)
	p.starts = append(p.starts, now)
	if _, ok := p.first[traceID]; !ok {
		p.first[traceID] = now
		p.order = append(p.order, traceID)
	}
}

func (p *limitedPod) end(traceID string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.inFlight--
	p.last[traceID] = time.Now()
}

// startedOrder is the trace ids in the order of their first execute.
func (p *limitedPod) startedOrder() []string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return slices.Clone(p.order)
}

// executeTimes are the start times of every execute served.
func (p *limitedPod) executeTimes() []time.Time {
	p.mu.Lock()
	defer p.mu.Unlock()
	return slices.Clone(p.starts)
}

func (p *limitedPod) peakInFlight() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.maxInFlight
}

// maxActive is the most invocations whose first-to-last execute spans
// overlapped: the active invocations the pod saw at once.
func (p *limitedPod) maxActive() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	type edge struct {
		at    time.Time
		delta int
	}
	var edges []edge
	for id, f := range p.first {
		edges = append(edges, edge{f, 1}, edge{p.last[id], -1})
	}
	sort.Slice(edges, func(i, j int) bool {
		if edges[i].at.Equal(edges[j].at) {
			return edges[i].delta < edges[j].delta
		}
		return edges[i].at.Before(edges[j].at)
	})
	peak, cur := 0, 0
	for _, e := range edges {
		cur += e.delta
		peak = max(peak, cur)
	}
	return peak
}

// registerLimited registers the limited plugin's version in ns with limits
// and waits until it is Ready.
func registerLimited(ns string, pod *limitedPod, limits *bkv1.ExecutionLimits) {
	GinkgoHelper()
	pl := plugin.MustNew(plugin.Meta{Code: limitedCode})
	plugin.MustAddVersion(pl, plugin.Version[limitedInputs, plugin.None, plugin.None]{Version: "1.0.0",
		Execute: func(*plugin.Context[limitedInputs, plugin.None, plugin.None]) error { return nil }})
	plvs, err := manifest.PluginVersions(pl, manifest.Options{Namespace: ns, URL: pod.URL})
	Expect(err).NotTo(HaveOccurred())
	for i := range plvs {
		plvs[i].Spec.Limits = limits
		Expect(k8sClient.Create(suiteCtx, &plvs[i])).To(Succeed())
	}
	suite.WaitReady(plvs)
}

// seq is the i-th trace id of a spec: names that sort in creation order,
// so that FIFO is the name order even within one second of
// creationTimestamp, and that the plugin sees as its trace id.
func seq(i int) string { return fmt.Sprintf("%032x", i) }

// seqs are the first n trace ids of a spec.
func seqs(idx ...int) []string {
	out := make([]string, len(idx))
	for i, n := range idx {
		out[i] = seq(n)
	}
	return out
}

// invokeNamed creates an invocation of the limited plugin named name.
func invokeNamed(ns, name, inputs string, priority int32) *bkv1.PluginInvocation {
	GinkgoHelper()
	return invoke(ns, limitedCode, "1.0.0", inputs, named(name), func(i *bkv1.PluginInvocation) { i.Spec.Priority = priority })
}

// queued reads whether inv is Queued now, and its position.
func queued(inv *bkv1.PluginInvocation) (bool, int32) {
	GinkgoHelper()
	got := get(inv)
	return apimeta.IsStatusConditionTrue(got.Status.Conditions, bkv1.ConditionQueued), got.Status.QueuePosition
}

// countStates counts invs that are queued and that have started.
func countStates(g Gomega, invs []*bkv1.PluginInvocation) (nQueued, nStarted int) {
	for _, inv := range invs {
		got := &bkv1.PluginInvocation{}
		g.Expect(k8sClient.Get(suiteCtx, client.ObjectKeyFromObject(inv), got)).To(Succeed())
		if apimeta.IsStatusConditionTrue(got.Status.Conditions, bkv1.ConditionQueued) {
			nQueued++
		}
		if got.Status.StartTime != nil && !got.Status.State.Terminal() {
			nStarted++
		}
	}
	return nQueued, nStarted
}

var _ = Describe("Execution limits", func() {
	It("caps active invocations, queues the rest in order and holds the cap across a manager restart", func() {
		ns := suite.NewNamespace()
		pod := newLimitedPod()
		registerLimited(ns, pod, &bkv1.ExecutionLimits{MaxActiveInvocations: ptr.To[int32](2)})

		var invs []*bkv1.PluginInvocation
		for i := range 5 {
			invs = append(invs, invokeNamed(ns, seq(i), `{"hold":true}`, 0))
		}
		Eventually(func(g Gomega) {
			q, s := countStates(g, invs)
			g.Expect(s).To(Equal(2), "started")
			g.Expect(q).To(Equal(3), "queued")
		}).Should(Succeed())
		// The recorded position is rewritten only when it is off by a
		// factor of two (docs/crds.md), so it stays within that of the true
		// place: 1 for the head.
		for i, inv := range invs[2:] {
			place := float64(i + 1)
			Eventually(func(g Gomega) {
				isQueued, pos := queued(inv)
				g.Expect(isQueued).To(BeTrue())
				g.Expect(float64(pos)).To(And(BeNumerically(">", place/2), BeNumerically("<", place*2)), "%s waits at place %.0f", inv.Name, place)
			}).Should(Succeed())
		}
		Eventually(eventReasons(ns, invs[4])).Should(ContainElement(bkv1.ConditionQueued))

		// A new manager knows nothing the old one kept in memory: the cap
		// is read from the cluster again.
		stopRunningManager()
		startManager(invocationOptions())
		Consistently(func(g Gomega) {
			q, s := countStates(g, invs)
			g.Expect(s).To(Equal(2), "started after the restart")
			g.Expect(q).To(Equal(3), "queued after the restart")
		}, 4*time.Second, 500*time.Millisecond).Should(Succeed())

		pod.released.Store(true)
		for _, inv := range invs {
			waitState(inv, bkv1.StateSuccess)
		}
		Expect(pod.maxActive()).To(BeNumerically("<=", 2), "the plugin pod saw more active invocations than the cap")
		// Released together, the first two end together and free both
		// slots at once, so the next two start side by side; the last
		// starts only after one of them.
		order := pod.startedOrder()
		Expect(order).To(HaveLen(5))
		Expect(order[:2]).To(ConsistOf(seqs(0, 1)))
		Expect(order[2:4]).To(ConsistOf(seqs(2, 3)))
		Expect(order[4]).To(Equal(seq(4)))
		c := apimeta.FindStatusCondition(get(invs[4]).Status.Conditions, bkv1.ConditionQueued)
		Expect(c).NotTo(BeNil())
		Expect(c.Status).To(Equal(metav1.ConditionFalse))
		Expect(c.Reason).To(Equal(bkv1.ReasonAdmitted))
	})

	It("starts a higher priority before older invocations waiting for the same version", func() {
		ns := suite.NewNamespace()
		pod := newLimitedPod()
		registerLimited(ns, pod, &bkv1.ExecutionLimits{MaxActiveInvocations: ptr.To[int32](1)})
		holder := invokeNamed(ns, seq(0), `{"hold":true}`, 0)
		waitState(holder, bkv1.StatePoll)
		low := invokeNamed(ns, seq(1), `{}`, 0)
		older := invokeNamed(ns, seq(2), `{}`, 5)
		high := invokeNamed(ns, seq(3), `{}`, 10)
		Eventually(func() int32 { _, pos := queued(high); return pos }).Should(BeNumerically("==", 1))
		Eventually(func() int32 { _, pos := queued(low); return pos }).Should(BeNumerically(">=", 2), "low moved back behind the higher priorities")
		pod.released.Store(true)
		for _, inv := range []*bkv1.PluginInvocation{holder, low, older, high} {
			waitState(inv, bkv1.StateSuccess)
		}
		Expect(pod.startedOrder()).To(Equal(seqs(0, 3, 2, 1)), "holder, then priority 10, 5, 0")
	})

	It("keeps executes in flight under the cap", func() {
		ns := suite.NewNamespace()
		pod := newLimitedPod()
		registerLimited(ns, pod, &bkv1.ExecutionLimits{MaxExecutesInFlight: ptr.To[int32](2)})
		var invs []*bkv1.PluginInvocation
		for i := range 8 {
			invs = append(invs, invokeNamed(ns, seq(i), `{"sleep_ms":300,"polls":1}`, 0))
		}
		for _, inv := range invs {
			waitState(inv, bkv1.StateSuccess)
		}
		Expect(pod.peakInFlight()).To(BeNumerically("<=", 2))
		Expect(pod.executeTimes()).To(HaveLen(16), "every execute ran: deferred, never dropped")
	})

	It("calls the plugin pod no faster than executesPerSecond, polls included", func() {
		ns := suite.NewNamespace()
		pod := newLimitedPod()
		const perSecond = 5
		registerLimited(ns, pod, &bkv1.ExecutionLimits{ExecutesPerSecond: ptr.To[int32](perSecond), Burst: ptr.To[int32](1)})
		var invs []*bkv1.PluginInvocation
		for i := range 10 {
			invs = append(invs, invokeNamed(ns, seq(i), `{"polls":1}`, 0))
		}
		for _, inv := range invs {
			waitState(inv, bkv1.StateSuccess)
		}
		times := pod.executeTimes()
		Expect(times).To(HaveLen(20), "every execute ran: deferred, never dropped")
		slices.SortFunc(times, func(a, b time.Time) int { return a.Compare(b) })
		// A bucket of one token refilled at 5/s lets n executes span at
		// least (n-1)/5 s. An execute goes when its token is due or later
		// (the reconcile that makes it may be late, never early), so the
		// rate the pod sees is at most the limit; 25% slack for the time
		// between the limiter's decision and the request reaching the pod.
		span := times[len(times)-1].Sub(times[0])
		observed := float64(len(times)-1) / span.Seconds()
		Expect(observed).To(BeNumerically("<=", perSecond*1.25), "%d executes in %s: %.2f/s, over the limit of %d/s", len(times), span, observed, perSecond)
	})

	It("serves another plugin while one plugin's flood holds the workers", func() {
		ns := suite.NewNamespace()
		flood := newLimitedPod()
		registerLimited(ns, flood, nil)
		hello := suite.RegisterVersions(ns, helloplugin.Plugin(), helloPod.URL, "1.0.0")
		suite.WaitReady(hello)

		// The suite's manager runs 4 workers; a plugin may hold 3 of them.
		// 30 executes of a second take 10 s on 3 workers; FIFO would serve
		// hello after all of them.
		const n = 30
		var invs []*bkv1.PluginInvocation
		for i := range n {
			invs = append(invs, invokeNamed(ns, seq(i), `{"sleep_ms":1000}`, 0))
		}
		Eventually(func() int { return len(flood.startedOrder()) }).Should(BeNumerically(">=", 1))
		h := invoke(ns, "hello", "1.0.0", `{"name":"x"}`)
		waitState(h, bkv1.StateSuccess)
		served := len(flood.startedOrder())
		Expect(served).To(BeNumerically("<", n/2), "hello finished only after %d of the flood's %d executes", served, n)
		for _, inv := range invs {
			waitState(inv, bkv1.StateSuccess)
		}
		Expect(flood.peakInFlight()).To(BeNumerically("<=", 3), "one plugin held more than its share of the workers")
	})
})
