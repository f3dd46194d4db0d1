//go:build envtest

package invocation_test

import (
	"net"
	"net/http"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	apimeta "k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	bkv1 "github.com/bkplugin/bk-plugin-operator/api/v1alpha1"
	"github.com/bkplugin/bk-plugin-operator/internal/controller/version"
	"github.com/bkplugin/bk-plugin-operator/internal/testenv"
	"github.com/bkplugin/bk-plugin-operator/sdk/examples/hello/helloplugin"
	"github.com/bkplugin/bk-plugin-operator/sdk/server"
)

// A dead plugin pod used to leave its version Ready until the next
// scheduled probe, up to five minutes; an execute that finds it dead now
// has the version probed at once.
var _ = Describe("PluginVersion readiness after an execute finds the pod dead", func() {
	It("turns Ready False within seconds, and True again once the pod is back", func() {
		// Scheduled probes ten minutes apart: only the probe the failed
		// execute asks for can see the pod die within the spec.
		stopRunningManager()
		opts := invocationOptions()
		stopManager = suite.StartManager(testenv.ManagerOptions{
			Config:      managerCfg,
			Version:     version.Options{ProbeInterval: 10 * time.Minute, MaxProbeBackoff: time.Second},
			Invocation:  &opts,
			Restartable: true,
		})
		DeferCleanup(func() {
			stopRunningManager()
			startManager(invocationOptions())
		})

		ns := suite.NewNamespace()
		pod, addr := servePod("127.0.0.1:0")
		plvs := suite.RegisterVersions(ns, helloplugin.Plugin(), "http://"+addr, "1.0.0")
		suite.WaitReady(plvs)
		key := client.ObjectKeyFromObject(&plvs[0])

		Expect(pod.Close()).To(Succeed())
		// Without an execute nothing notices: the control that the
		// reprobe, not the schedule, is what turns Ready below.
		Consistently(readyStatus(key)).WithTimeout(2 * time.Second).Should(Equal(metav1.ConditionTrue))

		invoke(ns, "hello", "1.0.0", `{"name":"world"}`)
		Eventually(readyStatus(key)).WithTimeout(5 * time.Second).Should(Equal(metav1.ConditionFalse))
		Expect(readyReason(key)).To(Equal(bkv1.VersionReasonUnreachable))

		pod, _ = servePod(addr)
		DeferCleanup(pod.Close)
		// Not Ready versions are probed with backoff (MaxProbeBackoff here).
		Eventually(readyStatus(key)).WithTimeout(10 * time.Second).Should(Equal(metav1.ConditionTrue))
	})
})

// servePod serves the hello plugin on addr (port 0: any) and returns the
// server and the address it listens on.
func servePod(addr string) (*http.Server, string) {
	GinkgoHelper()
	var ln net.Listener
	// The port of a pod just closed may take a moment to be free again.
	Eventually(func() (err error) {
		ln, err = net.Listen("tcp", addr)
		return err
	}).WithTimeout(5 * time.Second).Should(Succeed())
	srv := &http.Server{Handler: server.Handler(helloplugin.Plugin()), ReadHeaderTimeout: 5 * time.Second}
	go func() { _ = srv.Serve(ln) }()
	return srv, ln.Addr().String()
}

// readyStatus reads the Ready condition's status of the PluginVersion key.
func readyStatus(key client.ObjectKey) func(g Gomega) metav1.ConditionStatus {
	return func(g Gomega) metav1.ConditionStatus {
		plv := &bkv1.PluginVersion{}
		g.Expect(k8sClient.Get(suiteCtx, key, plv)).To(Succeed())
		c := apimeta.FindStatusCondition(plv.Status.Conditions, bkv1.ConditionReady)
		g.Expect(c).NotTo(BeNil())
		return c.Status
	}
}

// readyReason reads the Ready condition's reason of the PluginVersion key.
func readyReason(key client.ObjectKey) string {
	GinkgoHelper()
	plv := &bkv1.PluginVersion{}
	Expect(k8sClient.Get(suiteCtx, key, plv)).To(Succeed())
	return apimeta.FindStatusCondition(plv.Status.Conditions, bkv1.ConditionReady).Reason
}
