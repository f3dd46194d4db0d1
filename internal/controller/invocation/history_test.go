//go:build envtest

package invocation_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	apimeta "k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	bkv1 "github.com/bkplugin/bk-plugin-operator/api/v1alpha1"
	"github.com/bkplugin/bk-plugin-operator/internal/archive"
	"github.com/bkplugin/bk-plugin-operator/internal/archive/archivetest"
	"github.com/bkplugin/bk-plugin-operator/internal/controller/invocation"
	"github.com/bkplugin/bk-plugin-operator/sdk/examples/poller/pollerplugin"
	"github.com/bkplugin/bk-plugin-operator/sdk/protocol"
)

// pg is the suite's PostgreSQL server, started by the first spec that
// needs it and stopped after the suite.
var pg *archivetest.Server

// postgresDSN starts the suite's PostgreSQL server if needed and returns
// the DSN of its database. Without the Debian package it skips the spec
// (outside CI), as internal/archive's tests do.
func postgresDSN() string {
	GinkgoHelper()
	if pg == nil {
		ctx, cancel := context.WithTimeout(suiteCtx, 2*time.Minute)
		defer cancel()
		srv, err := archivetest.Start(ctx)
		if errors.Is(err, archivetest.ErrNotInstalled) && os.Getenv("CI") != "true" {
			Skip("PostgreSQL is not installed: " + err.Error())
		}
		Expect(err).NotTo(HaveOccurred())
		pg = srv
	}
	return pg.DSN("postgres")
}

// restartManagerWith runs the suite's manager with opts for the rest of
// the spec, and with the suite's options again after it.
func restartManagerWith(opts func(o *invocation.Options)) {
	GinkgoHelper()
	o := invocationOptions()
	opts(&o)
	stopRunningManager()
	startManager(o)
	DeferCleanup(func() {
		stopRunningManager()
		startManager(invocationOptions())
	})
}

// archivedCondition returns inv's Archived condition as the API server has it.
func archivedCondition(inv *bkv1.PluginInvocation) func(g Gomega) *metav1.Condition {
	return func(g Gomega) *metav1.Condition {
		got := &bkv1.PluginInvocation{}
		g.Expect(k8sClient.Get(suiteCtx, client.ObjectKeyFromObject(inv), got)).To(Succeed())
		return apimeta.FindStatusCondition(got.Status.Conditions, bkv1.ConditionArchived)
	}
}

func gone(inv *bkv1.PluginInvocation) func() bool {
	return func() bool {
		return apierrors.IsNotFound(k8sClient.Get(suiteCtx, client.ObjectKeyFromObject(inv), &bkv1.PluginInvocation{}))
	}
}

// expectArchivedPoller checks the row of a poller invocation that polled
// twice: one row with the result, the caller, the timeline and every
// execute's log lines.
func expectArchivedPoller(a archive.Archive, inv *bkv1.PluginInvocation) {
	GinkgoHelper()
	key := archive.Key{Namespace: inv.Namespace, TraceID: inv.Name}
	rec, err := a.Get(suiteCtx, key)
	Expect(err).NotTo(HaveOccurred())
	Expect(rec.Plugin).To(Equal("poller"))
	Expect(rec.RequestedVersion).To(Equal("^1.0"))
	Expect(rec.ResolvedVersion).To(Equal("1.0.0"))
	Expect(rec.State).To(Equal(protocol.StateSuccess))
	Expect(rec.InvokeCount).To(BeEquivalentTo(3))
	Expect(string(rec.Outputs)).To(MatchJSON(`{"polls_done":2}`))
	Expect(string(rec.Inputs)).To(MatchJSON(`{"polls":2,"interval":0}`))
	Expect(rec.Caller).To(Equal(archive.Caller{AppCode: "sops", Username: "alice"}))
	Expect(rec.StartedAt).NotTo(BeZero())
	Expect(rec.FinishedAt).NotTo(BeZero())
	var reasons []string
	for _, e := range rec.Timeline {
		reasons = append(reasons, e.Reason)
	}
	Expect(reasons).To(ContainElements("Created", "Started", bkv1.ReasonSucceeded))
	logs, err := a.Logs(suiteCtx, key, 0, 0)
	Expect(err).NotTo(HaveOccurred())
	Expect(logs.Total).To(Equal(3), "one line per execute: %q", logs.Lines)
	for i, line := range logs.Lines {
		Expect(line).To(ContainSubstring("msg=polled"))
		Expect(line).To(ContainSubstring("counter=" + string(rune('0'+i))))
	}
}

var _ = Describe("History", func() {
	var ns string
	BeforeEach(func() {
		ns = suite.NewNamespace()
		suite.WaitReady(suite.RegisterVersions(ns, pollerplugin.Plugin(), pollerPod.URL))
	})

	invokePoller := func() *bkv1.PluginInvocation {
		return invoke(ns, "poller", "^1.0", `{"polls":2,"interval":0}`, func(i *bkv1.PluginInvocation) {
			i.Spec.Caller = &bkv1.Caller{AppCode: "sops", Username: "alice"}
		})
	}

	It("archives a finished invocation in the SQLite file with its logs, then deletes it after keep-finished", func() {
		restartManagerWith(func(o *invocation.Options) { o.KeepFinished = 2 * time.Second })
		inv := invokePoller()
		Eventually(archivedCondition(inv)).Should(And(
			HaveField("Status", metav1.ConditionTrue), HaveField("Reason", bkv1.ReasonArchived)))
		got := get(inv)
		Expect(got.Status.ArchivedTime).NotTo(BeNil())
		Expect(got.Status.Logs).To(HaveLen(3))

		// The row, read through a second handle on the same file.
		file, err := archive.Open(suiteCtx, "sqlite://"+filepath.Join(suiteArchiveDir, "history.db"), archive.Options{})
		Expect(err).NotTo(HaveOccurred())
		defer file.Close()
		expectArchivedPoller(file, inv)

		Eventually(gone(inv)).Should(BeTrue())
		expectArchivedPoller(file, inv) // the history outlives the CR
	})

	It("archives to PostgreSQL", func() {
		a, err := archive.Open(suiteCtx, postgresDSN(), archive.Options{})
		Expect(err).NotTo(HaveOccurred())
		DeferCleanup(a.Close)
		restartManagerWith(func(o *invocation.Options) { o.Archive, o.KeepFinished = a, time.Second })
		inv := invokePoller()
		Eventually(gone(inv)).Should(BeTrue())
		expectArchivedPoller(a, inv)
	})

	It("keeps finished invocations while the archive is down, then catches up", func() {
		a, err := archive.Open(suiteCtx, postgresDSN(), archive.Options{})
		Expect(err).NotTo(HaveOccurred())
		DeferCleanup(a.Close)
		Expect(pg.Halt()).To(Succeed())
		DeferCleanup(func() { _ = pg.Resume(suiteCtx) }) // in case the spec fails while it is down
		restartManagerWith(func(o *invocation.Options) { o.Archive, o.KeepFinished = a, time.Second })

		invs := []*bkv1.PluginInvocation{invokePoller(), invokePoller()}
		for _, inv := range invs {
			Eventually(archivedCondition(inv)).Should(And(
				HaveField("Status", metav1.ConditionFalse), HaveField("Reason", bkv1.ReasonArchiveUnavailable)))
		}
		// Well past keep-finished, nothing is deleted.
		Consistently(func() bool { return gone(invs[0])() || gone(invs[1])() }, 3*time.Second).Should(BeFalse())
		Expect(get(invs[0]).Status.ArchivedTime).To(BeNil())

		Expect(pg.Resume(suiteCtx)).To(Succeed())
		for _, inv := range invs {
			Eventually(gone(inv), 2*time.Minute).Should(BeTrue())
			expectArchivedPoller(a, inv)
		}
	})
})
