//go:build envtest

package shim_test

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"sigs.k8s.io/controller-runtime/pkg/client"

	bkv1 "github.com/bkplugin/bk-plugin-operator/api/v1alpha1"
	"github.com/bkplugin/bk-plugin-operator/internal/archive"
	"github.com/bkplugin/bk-plugin-operator/internal/shim"
	"github.com/bkplugin/bk-plugin-operator/sdk/plugin"
	"github.com/bkplugin/bk-plugin-operator/sdk/protocol"
	"github.com/bkplugin/bk-plugin-operator/sdk/server"
	"github.com/bkplugin/bk-plugin-operator/sdk/stdapi"
)

// countedInputs: polls executes answer POLL before the last one succeeds.
type countedInputs struct {
	Polls int `json:"polls"`
}

type countedOutputs struct {
	Executes int `json:"executes"`
}

// countedPlugin succeeds after inputs.polls polls, one second apart; its
// pod counts executes by trace id (countingPod), so that a spec can tell
// how often a call really ran.
func countedPlugin() *plugin.Plugin {
	p := plugin.MustNew(plugin.Meta{Code: "counted", Description: "Test plugin whose pod counts executes."})
	plugin.MustAddVersion(p, plugin.Version[countedInputs, plugin.None, countedOutputs]{
		Version: "1.0.0",
		Execute: func(ctx *plugin.Context[countedInputs, plugin.None, countedOutputs]) error {
			n := 0
			if _, err := ctx.Storage.Get("n", &n); err != nil {
				return err
			}
			n++
			if err := ctx.Storage.Set("n", n); err != nil {
				return err
			}
			ctx.Outputs.Executes = n
			ctx.Log.Info("execute", "n", n)
			if n <= ctx.Inputs.Polls {
				ctx.WaitPoll(time.Second)
			}
			return nil
		},
	})
	return p
}

// countingPod serves h and counts the executes it is sent, by trace id.
type countingPod struct {
	mu     sync.Mutex
	counts map[string]int
}

func (c *countingPod) wrap(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if strings.HasPrefix(r.URL.Path, protocol.ExecutePathPrefix) {
			c.mu.Lock()
			c.counts[r.Header.Get(protocol.HeaderTraceID)]++
			c.mu.Unlock()
		}
		h.ServeHTTP(w, r)
	})
}

func (c *countingPod) executes(traceID string) int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.counts[traceID]
}

// putsRefused is an archive that cannot be written: the archive is down.
type putsRefused struct{ archive.Archive }

func (putsRefused) Put(context.Context, archive.Record) error {
	return archive.ErrUnavailable
}

// The direct path (--sync-invoke=direct): the shim makes a synchronous
// invoke's first execute itself, with the same protocol and results as the
// manager, and writes a PluginInvocation only for work that goes on.
var _ = Describe("the direct synchronous path (issue 21)", Ordered, func() {
	var pod *countingPod

	BeforeAll(func() {
		if !directMode() {
			Skip("the suite's shim runs --sync-invoke=" + syncInvoke)
		}
		pod = &countingPod{counts: map[string]int{}}
		ts := serve(pod.wrap(server.Handler(countedPlugin())))
		suite.WaitReady(suite.RegisterVersions(namespace, countedPlugin(), ts.URL))
	})

	invoke := func(url, traceID string, polls int) rawAnswer {
		GinkgoHelper()
		saved := shimURL
		shimURL = url
		defer func() { shimURL = saved }()
		return rawCall(http.MethodPost, "/plugins/counted/bk_plugin/invoke/1.0.0",
			`{"inputs":{"polls":`+strconv.Itoa(polls)+`},"context":{}}`,
			map[string]string{stdapi.HeaderTraceID: traceID, "Content-Type": "application/json"})
	}
	state := func(a rawAnswer) float64 {
		GinkgoHelper()
		data, ok := a.Env["data"].(map[string]any)
		Expect(ok).To(BeTrue(), "answer %s", a.Body)
		return data["state"].(float64)
	}

	It("answers a call that ends at once from the archive's record, with no PluginInvocation", func() {
		trace := newTraceID()
		a := invoke(shimURL, trace, 0)
		Expect(a.Status).To(Equal(http.StatusOK), a.Body)
		Expect(state(a)).To(BeEquivalentTo(protocol.StateSuccess))
		Expect(a.Env["data"].(map[string]any)["outputs"]).To(HaveKeyWithValue("executes", BeEquivalentTo(1)))

		err := k8sClient.Get(suiteCtx, client.ObjectKey{Namespace: namespace, Name: trace}, &bkv1.PluginInvocation{})
		Expect(apierrors.IsNotFound(err)).To(BeTrue(), "no PluginInvocation for a call that finished: %v", err)
		rec, err := historyArchive.Get(suiteCtx, archive.Key{Namespace: namespace, TraceID: trace})
		Expect(err).NotTo(HaveOccurred())
		Expect(rec.State).To(Equal(protocol.StateSuccess))
		Expect(rec.InvokeCount).To(BeEquivalentTo(1))
		Expect(rec.ResolvedVersion).To(Equal("1.0.0"))
		page, err := historyArchive.Logs(suiteCtx, archive.Key{Namespace: namespace, TraceID: trace}, 0, 100)
		Expect(err).NotTo(HaveOccurred())
		Expect(page.Lines).To(ContainElement(ContainSubstring("execute")), "the plugin's log lines are archived")
		Expect(rec.Timeline).NotTo(BeEmpty())

		By("schedule reads the archive; a retry answers it and never executes again")
		s := rawCall(http.MethodGet, "/plugins/counted/bk_plugin/schedule/"+trace, "", nil)
		Expect(s.Env["data"].(map[string]any)["state"]).To(BeEquivalentTo(protocol.StateSuccess))
		again := invoke(shimURL, trace, 0)
		Expect(state(again)).To(BeEquivalentTo(protocol.StateSuccess))
		Expect(pod.executes(trace)).To(Equal(1))
		other := invoke(shimURL, trace, 2)
		Expect(other.Status).To(Equal(http.StatusConflict), "a trace id names one call: %s", other.Body)
	})

	It("creates a POLL call's PluginInvocation with its first answer, and the manager goes on without executing it again", func() {
		trace := newTraceID()
		a := invoke(shimURL, trace, 2)
		Expect(state(a)).To(BeEquivalentTo(protocol.StatePoll), a.Body)
		inv := getInvocation(trace)
		Expect(inv.Status.InvokeCount).To(BeEquivalentTo(1))
		Expect(inv.Status.State).To(Equal(bkv1.StatePoll))
		Expect(inv.Annotations).To(HaveKey(bkv1.AnnotationFirstExecute))

		Eventually(func() bkv1.InvocationState { return getInvocation(trace).Status.State }, 30*time.Second).Should(Equal(bkv1.StateSuccess))
		final := getInvocation(trace)
		Expect(final.Status.InvokeCount).To(BeEquivalentTo(3))
		Expect(pod.executes(trace)).To(Equal(3), "every execute happened once: the shim's first, the manager's two polls")
		Expect(string(final.Status.Outputs.Raw)).To(MatchJSON(`{"executes":3}`))
	})

	It("executes concurrent duplicates of one call once", func() {
		trace := newTraceID()
		var wg sync.WaitGroup
		answers := make([]rawAnswer, 8)
		for i := range answers {
			wg.Add(1)
			go func() {
				defer GinkgoRecover()
				defer wg.Done()
				answers[i] = invoke(shimURL, trace, 0)
			}()
		}
		wg.Wait()
		for _, a := range answers {
			Expect(state(a)).To(BeEquivalentTo(protocol.StateSuccess), a.Body)
		}
		Expect(pod.executes(trace)).To(Equal(1))
	})

	Context("with a shim of its own", func() {
		start := func(o shim.Options) (string, func()) {
			o.Config, o.Namespace, o.CallbackKey = cfg, namespace, callbackKey
			o.InvokeTimeout, o.TrustIdentityHeaders = invokeTimeout, true
			url, stop := startShim(o, true)
			return url, func() { _ = stop() }
		}

		It("executes again once when the shim died between the plugin's answer and the archive write (at least once)", func() {
			var crashes atomic.Int32
			url, stop := start(shim.Options{Archive: historyArchive, AfterDirectExecute: func(string) error {
				if crashes.Add(1) == 1 {
					return errors.New("simulated crash between execute and archive write")
				}
				return nil
			}})
			defer stop()
			trace := newTraceID()
			first := invoke(url, trace, 0)
			Expect(first.Status).To(BeNumerically(">=", 500), "the crashed attempt answers nothing useful: %s", first.Body)
			Expect(pod.executes(trace)).To(Equal(1))
			_, err := historyArchive.Get(suiteCtx, archive.Key{Namespace: namespace, TraceID: trace})
			Expect(err).To(MatchError(archive.ErrNotFound), "nothing was recorded")

			retry := invoke(url, trace, 0)
			Expect(state(retry)).To(BeEquivalentTo(protocol.StateSuccess), retry.Body)
			Expect(pod.executes(trace)).To(Equal(2), "the retry executed again, once: the documented at-least-once case")
			rec, err := historyArchive.Get(suiteCtx, archive.Key{Namespace: namespace, TraceID: trace})
			Expect(err).NotTo(HaveOccurred())
			Expect(rec.State).To(Equal(protocol.StateSuccess))

			third := invoke(url, trace, 0)
			Expect(state(third)).To(BeEquivalentTo(protocol.StateSuccess))
			Expect(pod.executes(trace)).To(Equal(2), "once recorded, never again")
		})

		// Issue 21: a shim that dies between the create of a POLL call's
		// PluginInvocation and the status write of its first answer leaves
		// an invocation with no status. The manager must not leave it stuck:
		// once the shim's hold (bkplugin.io/first-execute) passes it
		// executes the call itself, which runs it again (the plugin's
		// storage of the unrecorded first execute is lost with it): the
		// documented at-least-once case.
		It("executes a POLL call itself once the shim's hold passes when the shim died between the create and the first answer's write (at least once)", func() {
			url, stop := start(shim.Options{Archive: historyArchive, AfterDirectCreate: func(string) error {
				return errors.New("simulated crash between the create and the status write")
			}})
			defer stop()
			trace := newTraceID()
			first := invoke(url, trace, 1)
			Expect(first.Status).To(BeNumerically(">=", 500), "the crashed attempt answers nothing useful: %s", first.Body)
			Expect(pod.executes(trace)).To(Equal(1))
			inv := getInvocation(trace)
			Expect(inv.Status.InvokeCount).To(BeZero(), "the first answer was never written")
			Expect(inv.Annotations).To(HaveKey(bkv1.AnnotationFirstExecute))
			hold, err := time.Parse(time.RFC3339, inv.Annotations[bkv1.AnnotationFirstExecute])
			Expect(err).NotTo(HaveOccurred())

			By("the manager waits for the shim until the hold, not longer")
			Consistently(func() int { return pod.executes(trace) }, time.Until(hold)-2*time.Second, 500*time.Millisecond).Should(Equal(1),
				"the manager does not execute while the shim holds the first execute")
			Eventually(func() bkv1.InvocationState { return getInvocation(trace).Status.State }, time.Until(hold)+30*time.Second, 200*time.Millisecond).
				Should(Equal(bkv1.StateSuccess), "the invocation is not stuck: the manager took it over")
			final := getInvocation(trace)
			// The manager starts from empty storage: its first execute
			// polls, its second succeeds; with the shim's, three in all.
			Expect(pod.executes(trace)).To(Equal(3), "the shim's unrecorded execute, then the manager's two")
			Expect(final.Status.InvokeCount).To(BeEquivalentTo(2))
			Expect(string(final.Status.Outputs.Raw)).To(MatchJSON(`{"executes":2}`))
		})

		It("puts a finished call in the cluster when the archive cannot be written, for the manager to archive", func() {
			url, stop := start(shim.Options{Archive: putsRefused{historyArchive}})
			defer stop()
			trace := newTraceID()
			a := invoke(url, trace, 0)
			Expect(state(a)).To(BeEquivalentTo(protocol.StateSuccess), a.Body)
			inv := getInvocation(trace)
			Expect(inv.Status.State).To(Equal(bkv1.StateSuccess))
			Expect(inv.Status.InvokeCount).To(BeEquivalentTo(1))
			Eventually(func() error {
				_, err := historyArchive.Get(suiteCtx, archive.Key{Namespace: namespace, TraceID: trace})
				return err
			}, 30*time.Second).Should(Succeed(), "the manager archived it")
			Expect(pod.executes(trace)).To(Equal(1), "the manager did not execute it again")
		})
	})
})

// callbackOutputs are countedCallbackPlugin's outputs.
type callbackOutputs struct {
	CallbackURL string          `json:"callback_url,omitempty"`
	Received    json.RawMessage `json:"received,omitempty"`
}

// countedCallbackPlugin prepares a callback on its first execute and waits
// for it; the callback's execute ends SUCCESS with its data.
func countedCallbackPlugin() *plugin.Plugin {
	p := plugin.MustNew(plugin.Meta{Code: "countedcb", Description: "Test plugin: waits for one callback; its pod counts executes."})
	plugin.MustAddVersion(p, plugin.Version[plugin.None, plugin.None, callbackOutputs]{
		Version: "1.0.0",
		Execute: func(ctx *plugin.Context[plugin.None, plugin.None, callbackOutputs]) error {
			if ctx.State != plugin.StateCallback {
				cb, err := ctx.PrepareCallback()
				if err != nil {
					return err
				}
				ctx.Outputs.CallbackURL = cb.URL
				ctx.WaitCallback()
				return nil
			}
			ctx.Outputs.Received = ctx.Callback.Data
			return nil
		},
	})
	return p
}

// Issue 21: a call whose first execute answers CALLBACK (made by the shim in
// direct mode, by the manager in cluster mode) ends when the third party
// posts the callback through the shim with the token the plugin was given,
// and the manager executes it exactly once more.
var _ = Describe("a CALLBACK first answer, then the real callback (issue 21)", Ordered, func() {
	var pod *countingPod

	BeforeAll(func() {
		pod = &countingPod{counts: map[string]int{}}
		ts := serve(pod.wrap(server.Handler(countedCallbackPlugin())))
		suite.WaitReady(suite.RegisterVersions(namespace, countedCallbackPlugin(), ts.URL))
	})

	It("ends SUCCESS with the callback's data, executed once more by the manager", func() {
		trace := newTraceID()
		a := rawCall(http.MethodPost, stdapi.InvokePath("countedcb", "1.0.0"), `{"inputs":{},"context":{}}`,
			map[string]string{stdapi.HeaderTraceID: trace, "Content-Type": "application/json"})
		Expect(a.Status).To(Equal(http.StatusOK), a.Body)
		data := a.Env["data"].(map[string]any)
		Expect(data["state"]).To(BeEquivalentTo(protocol.StateCallback), a.Body)
		cbURL, _ := data["outputs"].(map[string]any)["callback_url"].(string)
		Expect(cbURL).To(HavePrefix(shimURL + "/plugins/countedcb/bk_plugin/callback/"))
		Expect(pod.executes(trace)).To(Equal(1))

		inv := getInvocation(trace)
		Expect(inv.Status.State).To(Equal(bkv1.StateCallback))
		Expect(inv.Status.InvokeCount).To(BeEquivalentTo(1))
		if directMode() {
			Expect(inv.Annotations).To(HaveKey(bkv1.AnnotationFirstExecute), "the shim made the first execute")
		}

		By("the third party posts through the shim's callback route with the plugin's token")
		parts := strings.Split(strings.TrimSuffix(cbURL, "/"), "/")
		token := parts[len(parts)-1]
		cb := rawCall(http.MethodPost, stdapi.CallbackPath("countedcb", token), `{"job":"done","n":7}`,
			map[string]string{"Content-Type": "application/json"})
		Expect(cb.Status).To(Equal(http.StatusOK), cb.Body)
		Expect(cb.Env).To(HaveKeyWithValue("result", true))

		Eventually(func() bkv1.InvocationState { return getInvocation(trace).Status.State }, 30*time.Second, 100*time.Millisecond).
			Should(Equal(bkv1.StateSuccess))
		final := getInvocation(trace)
		Expect(final.Status.InvokeCount).To(BeEquivalentTo(2))
		Expect(string(final.Status.Outputs.Raw)).To(MatchJSON(`{"callback_url":"` + cbURL + `","received":{"job":"done","n":7}}`))
		Consistently(func() int { return pod.executes(trace) }, 2*time.Second, 200*time.Millisecond).Should(Equal(2),
			"the first execute, then the manager's one for the callback")

		s := rawCall(http.MethodGet, stdapi.SchedulePath("countedcb", trace), "", nil)
		Expect(s.Env["data"].(map[string]any)["state"]).To(BeEquivalentTo(protocol.StateSuccess), s.Body)
		Expect(s.Env["data"].(map[string]any)["outputs"]).To(HaveKeyWithValue("received", map[string]any{"job": "done", "n": float64(7)}))
	})
})
