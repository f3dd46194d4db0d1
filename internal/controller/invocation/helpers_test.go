//go:build envtest

package invocation_test

import (
	"fmt"
	"sync/atomic"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	corev1 "k8s.io/api/core/v1"
	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	bkv1 "github.com/bkplugin/bk-plugin-operator/api/v1alpha1"
	"github.com/bkplugin/bk-plugin-operator/internal/testenv"
	"github.com/bkplugin/bk-plugin-operator/sdk/plugin"
)

var seq atomic.Int64

// newNamespace creates a namespace of its own for one spec, so that specs
// registering the same plugin never see each other's versions.
func newNamespace() string {
	GinkgoHelper()
	ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: fmt.Sprintf("spec-%d", seq.Add(1))}}
	Expect(k8sClient.Create(suiteCtx, ns)).To(Succeed())
	return ns.Name
}

// registerVersions applies the PluginVersions the plugin's own manifest
// command prints, pointing at url, as a user would with kubectl apply.
func registerVersions(ns string, p *plugin.Plugin, url string, versions ...string) []bkv1.PluginVersion {
	GinkgoHelper()
	plvs, err := testenv.RegisterVersions(suiteCtx, k8sClient, ns, p, url, versions...)
	Expect(err).NotTo(HaveOccurred())
	return plvs
}

// waitReady waits until every version is Ready.
func waitReady(plvs []bkv1.PluginVersion) {
	GinkgoHelper()
	for i := range plvs {
		key := client.ObjectKeyFromObject(&plvs[i])
		Eventually(func() error { return testenv.Ready(suiteCtx, k8sClient, key) }).Should(Succeed())
	}
}

func rawJSON(s string) *apiextensionsv1.JSON { return &apiextensionsv1.JSON{Raw: []byte(s)} }
