//go:build envtest

package shim_test

import (
	"encoding/json"
	"net/http"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	bkv1 "github.com/bkplugin/bk-plugin-operator/api/v1alpha1"
	"github.com/bkplugin/bk-plugin-operator/internal/archive"
	"github.com/bkplugin/bk-plugin-operator/internal/testenv"
	bkclient "github.com/bkplugin/bk-plugin-operator/sdk/client"
	"github.com/bkplugin/bk-plugin-operator/sdk/stdapi"
)

// answers is everything a caller can read of one finished invocation.
type answers struct {
	Schedule string
	Logs     string
	LogPage  string
	Reinvoke string
	Listed   string
}

// readAnswers reads the data of every answer about trace, as raw JSON, so
// that equal means equal on the wire.
func readAnswers(code, version, trace string, inputs map[string]any) answers {
	GinkgoHelper()
	data := func(a rawAnswer) string {
		GinkgoHelper()
		Expect(a.Status).To(Equal(http.StatusOK), a.Body)
		b, err := json.Marshal(a.Env["data"])
		Expect(err).NotTo(HaveOccurred())
		return string(b)
	}
	body, err := json.Marshal(map[string]any{"inputs": inputs, "context": map[string]any{}})
	Expect(err).NotTo(HaveOccurred())
	var a answers
	a.Schedule = data(rawCall(http.MethodGet, stdapi.SchedulePath(code, trace), "", nil))
	a.Logs = data(rawCall(http.MethodGet, stdapi.LogsPath(code, trace), "", nil))
	a.LogPage = data(rawCall(http.MethodGet, stdapi.LogsPath(code, trace)+"?offset=1&limit=2", "", nil))
	a.Reinvoke = data(rawCall(http.MethodPost, stdapi.InvokePath(code, version), string(body), map[string]string{stdapi.HeaderTraceID: trace}))
	list, err := newClient(bkclient.Options{}).History(suiteCtx, code, stdapi.InvocationsQuery{Limit: 500})
	Expect(err).NotTo(HaveOccurred())
	for _, it := range list.Items {
		if it.TraceID == trace {
			b, err := json.Marshal(it)
			Expect(err).NotTo(HaveOccurred())
			a.Listed = string(b)
		}
	}
	Expect(a.Listed).NotTo(BeEmpty(), "the history list lacks %s", trace)
	return a
}

// waitArchivedAndDeleted waits for the manager to archive the finished
// invocation and delete it --keep-finished later.
func waitArchivedAndDeleted(trace string) {
	GinkgoHelper()
	Eventually(func() error {
		_, err := historyArchive.Get(suiteCtx, archive.Key{Namespace: namespace, TraceID: trace})
		return err
	}).Should(Succeed())
	Eventually(func() bool {
		return apierrors.IsNotFound(k8sClient.Get(suiteCtx, client.ObjectKey{Namespace: namespace, Name: trace}, &bkv1.PluginInvocation{}))
	}, keepFinished+testenv.EventuallyTimeout).Should(BeTrue())
}

var _ = Describe("finished invocations read through to the archive", func() {
	It("answers schedule, logs, a repeated invoke and the history list the same after the invocation leaves the cluster", func() {
		c := newClient(bkclient.Options{})
		trace := newTraceID()
		inputs := map[string]any{"polls": 2, "interval": 1}
		_, err := c.Invoke(suiteCtx, "poller", "1.0.0", invokeReq(inputs), bkclient.InvokeOptions{TraceID: trace})
		Expect(err).NotTo(HaveOccurred())
		done, err := c.WaitTerminal(suiteCtx, "poller", trace, testenv.PollEvery, nil)
		Expect(err).NotTo(HaveOccurred())
		Expect(done.State.Terminal()).To(BeTrue())

		// The manager archives it at once (after any finish notification):
		// its record is final from then on.
		Eventually(func() *metav1.Time { return getInvocation(trace).Status.ArchivedTime }).ShouldNot(BeNil())
		live := readAnswers("poller", "1.0.0", trace, inputs)
		Expect(live.Logs).To(ContainSubstring("polled"), "the plugin's lines are in the live log")
		executes := getInvocation(trace).Status.InvokeCount
		waitArchivedAndDeleted(trace)
		// Once the shim's cache has forgotten it (nothing of it stays in
		// memory), schedule reads it from the archive.
		found := archiveReads("get", "found")
		Eventually(func() float64 {
			Expect(rawCall(http.MethodGet, stdapi.SchedulePath("poller", trace), "", nil).Status).To(Equal(http.StatusOK))
			return archiveReads("get", "found")
		}).Should(BeNumerically(">", found))
		gets := shimInvocationGets.Load()
		archived := readAnswers("poller", "1.0.0", trace, inputs)
		Expect(archived).To(Equal(live))
		Expect(shimInvocationGets.Load()).To(Equal(gets),
			"reading an archived invocation asked the API server: a finished invocation is never in the cache, and history must not load the cluster")
		Expect(archiveReads("logs", "found")).To(BeNumerically(">", 0))

		By("the repeated invoke ran nothing and created no PluginInvocation")
		err = k8sClient.Get(suiteCtx, client.ObjectKey{Namespace: namespace, Name: trace}, &bkv1.PluginInvocation{})
		Expect(apierrors.IsNotFound(err)).To(BeTrue(), "a PluginInvocation %s exists again: %v", trace, err)
		rec, err := historyArchive.Get(suiteCtx, archive.Key{Namespace: namespace, TraceID: trace})
		Expect(err).NotTo(HaveOccurred())
		Expect(rec.InvokeCount).To(Equal(executes))

		By("the trace id is not reusable for another call")
		other := rawCall(http.MethodPost, stdapi.InvokePath("poller", "1.0.0"), `{"inputs":{"polls":3},"context":{}}`,
			map[string]string{stdapi.HeaderTraceID: trace})
		Expect(other.Status).To(Equal(http.StatusConflict), other.Body)
		Expect(other.Body).To(ContainSubstring("with other inputs"))
		hello := rawCall(http.MethodPost, stdapi.InvokePath("hello", "1.0.0"), `{"inputs":{"name":"x"},"context":{}}`,
			map[string]string{stdapi.HeaderTraceID: trace})
		Expect(hello.Status).To(Equal(http.StatusConflict), hello.Body)
		err = k8sClient.Get(suiteCtx, client.ObjectKey{Namespace: namespace, Name: trace}, &bkv1.PluginInvocation{})
		Expect(apierrors.IsNotFound(err)).To(BeTrue())

		By("an unknown trace id is still unknown, of the archive as of the cluster: 200, result false, as the Python framework answers")
		for _, a := range []rawAnswer{
			rawCall(http.MethodGet, stdapi.SchedulePath("poller", newTraceID()), "", nil),
			rawCall(http.MethodGet, stdapi.SchedulePath("hello", trace), "", nil),
		} {
			Expect(a.Status).To(Equal(http.StatusOK), a.Body)
			Expect(a.Env).To(HaveKeyWithValue("result", false))
			Expect(a.Env).To(HaveKeyWithValue("message", HavePrefix(stdapi.ScheduleNotFoundPrefix)))
		}
	})

	It("refuses bad history and log queries with 400", func() {
		for _, q := range []string{"?state=DONE", "?limit=0", "?cursor=x", "?created_after=yesterday"} {
			a := rawCall(http.MethodGet, stdapi.InvocationsPath("hello", stdapi.InvocationsQuery{})+q, "", nil)
			Expect(a.Status).To(Equal(http.StatusBadRequest), q+": "+a.Body)
		}
		a := rawCall(http.MethodGet, stdapi.LogsPath("hello", newTraceID())+"?limit=-1", "", nil)
		Expect(a.Status).To(Equal(http.StatusBadRequest), a.Body)
	})
})

// archiveReads is the shim's count of archive reads of what with outcome.
func archiveReads(what, outcome string) float64 {
	GinkgoHelper()
	mfs, err := registry.Gather()
	Expect(err).NotTo(HaveOccurred())
	for _, mf := range mfs {
		if mf.GetName() != "bkplugin_shim_archive_reads_total" {
			continue
		}
		for _, m := range mf.GetMetric() {
			labels := map[string]string{}
			for _, l := range m.GetLabel() {
				labels[l.GetName()] = l.GetValue()
			}
			if labels["what"] == what && labels["outcome"] == outcome {
				return m.GetCounter().GetValue()
			}
		}
	}
	return 0
}
