//go:build envtest

package invocation_test

import (
	"encoding/json"
	"net/http/httptest"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	apimeta "k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	bkv1 "github.com/bkplugin/bk-plugin-operator/api/v1alpha1"
	"github.com/bkplugin/bk-plugin-operator/internal/archive"
	"github.com/bkplugin/bk-plugin-operator/sdk/examples/hello/helloplugin"
	"github.com/bkplugin/bk-plugin-operator/sdk/protocol"
	"github.com/bkplugin/bk-plugin-operator/sdk/server"
)

// A terminal answer is archived before its status is written, so a manager
// killed between the two leaves an archived row and a status that still
// asks for the execute. These specs plant such a row for an invocation
// created while no manager ran, then start a manager whose process started
// after the invocation was created, as a restarted one did.
var _ = Describe("Adopting an archived end after a restart", Ordered, func() {
	var (
		ns            string
		pod           *recordingPod
		adopted, reus *bkv1.PluginInvocation
		planted       archive.Record
	)

	// row is what an earlier manager archived for inv, created at created.
	row := func(inv *bkv1.PluginInvocation, created time.Time, greeting string) archive.Record {
		return archive.Record{
			Key:    archive.Key{Namespace: inv.Namespace, TraceID: inv.Name},
			Plugin: "hello", RequestedVersion: "1.0.0", ResolvedVersion: "1.0.0",
			State:       protocol.StateSuccess,
			Inputs:      json.RawMessage(`{"name":"adopt"}`),
			Outputs:     json.RawMessage(`{"greeting":"` + greeting + `"}`),
			InvokeCount: 1,
			CreatedAt:   created, StartedAt: created.Add(time.Second), FinishedAt: created.Add(2 * time.Second),
			Timeline: []archive.TimelineEntry{{Time: created.Add(2 * time.Second), State: string(bkv1.StateSuccess),
				Reason: bkv1.ReasonSucceeded, Message: "invocation SUCCESS: the plugin finished successfully"}},
			Logs: []string{"archived line: " + greeting},
		}
	}

	BeforeAll(func() {
		ns = suite.NewNamespace()
		pod = &recordingPod{handler: server.Handler(helloplugin.Plugin())}
		srv := httptest.NewServer(pod)
		DeferCleanup(srv.Close)
		suite.WaitReady(suite.RegisterVersions(ns, helloplugin.Plugin(), srv.URL))

		// No manager runs while the invocations are created and their rows
		// planted, as after a manager was killed.
		stopRunningManager()
		DeferCleanup(func() {
			stopRunningManager()
			startManager(invocationOptions())
		})
		adopted = get(invoke(ns, "hello", "1.0.0", `{"name":"adopt"}`))
		reus = get(invoke(ns, "hello", "1.0.0", `{"name":"adopt"}`))

		// adopted's own end; and for reus, the end of an earlier invocation
		// with the same trace id, deleted an hour ago.
		Expect(suiteArchive.Put(suiteCtx, row(adopted, adopted.CreationTimestamp.Time, "Hello from the archive!"))).To(Succeed())
		Expect(suiteArchive.Put(suiteCtx, row(reus, reus.CreationTimestamp.Add(-time.Hour), "Hello, earlier call!"))).To(Succeed())
		var err error
		planted, err = suiteArchive.Get(suiteCtx, archive.Key{Namespace: ns, TraceID: adopted.Name})
		Expect(err).NotTo(HaveOccurred())

		o := invocationOptions()
		o.ProcessStart = time.Now()
		startManager(o)
	})

	It("adopts the archived end in status without executing the plugin", func() {
		got := waitState(adopted, bkv1.StateSuccess)
		Expect(outputs(got)).To(Equal(map[string]any{"greeting": "Hello from the archive!"}))
		Expect(got.Status.InvokeCount).To(BeEquivalentTo(1))
		Expect(got.Status.ResolvedVersion).To(Equal("1.0.0"))
		Expect(got.Status.Logs).To(Equal([]string{"archived line: Hello from the archive!"}))
		Expect(got.Status.CompletionTime.Time).To(BeTemporally("==", planted.FinishedAt.Truncate(time.Second)))
		Expect(got.Status.ArchivedTime).NotTo(BeNil())
		Expect(got.Status.ArchivedTime.Time).To(BeTemporally("==", planted.ArchivedAt.Truncate(time.Second)))
		c := apimeta.FindStatusCondition(got.Status.Conditions, bkv1.ConditionSucceeded)
		Expect(c).NotTo(BeNil())
		Expect(c.Status).To(Equal(metav1.ConditionTrue))
		Expect(c.Reason).To(Equal(bkv1.ReasonSucceeded))
		a := apimeta.FindStatusCondition(got.Status.Conditions, bkv1.ConditionArchived)
		Expect(a).NotTo(BeNil())
		Expect(a.Status).To(Equal(metav1.ConditionTrue))

		Expect(pod.executes(adopted.Name)).To(BeEmpty(), "the plugin ran again for an invocation the archive had ended")
		// Not archived again: the row is the one planted.
		rec, err := suiteArchive.Get(suiteCtx, archive.Key{Namespace: ns, TraceID: adopted.Name})
		Expect(err).NotTo(HaveOccurred())
		Expect(rec.ArchivedAt).To(Equal(planted.ArchivedAt))
	})

	It("executes an invocation whose trace id the archive holds for an earlier invocation", func() {
		got := waitState(reus, bkv1.StateSuccess)
		Expect(outputs(got)).To(Equal(map[string]any{"greeting": "Hello, adopt!"}))
		Expect(pod.executes(reus.Name)).To(HaveLen(1))
		// Its own end replaces the earlier one's row.
		Eventually(func(g Gomega) {
			rec, err := suiteArchive.Get(suiteCtx, archive.Key{Namespace: ns, TraceID: reus.Name})
			g.Expect(err).NotTo(HaveOccurred())
			g.Expect(rec.CreatedAt.Unix()).To(Equal(reus.CreationTimestamp.Unix()))
			g.Expect(string(rec.Outputs)).To(MatchJSON(`{"greeting":"Hello, adopt!"}`))
		}).Should(Succeed())
	})
})
