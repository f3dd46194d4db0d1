//go:build envtest

package v1alpha1_test

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"strings"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	"sigs.k8s.io/controller-runtime/pkg/envtest"
)

// kubectl is how users register versions, so the CRDs and samples are
// applied with the real kubectl, and its table output is checked for the
// printer columns users read.
var _ = Describe("kubectl against the CRDs", Ordered, func() {
	var kubeconfig string

	kubectl := func(args ...string) string {
		GinkgoHelper()
		bin := filepath.Join(os.Getenv("KUBEBUILDER_ASSETS"), "kubectl")
		if _, err := os.Stat(bin); err != nil {
			path, lookErr := exec.LookPath("kubectl")
			Expect(lookErr).NotTo(HaveOccurred(), "no kubectl in KUBEBUILDER_ASSETS or PATH; hack/setup-envtest.sh provisions one")
			bin = path
		}
		cmd := exec.Command(bin, append([]string{"--kubeconfig", kubeconfig, "--namespace", "kubectl-test"}, args...)...)
		var out, errOut bytes.Buffer
		cmd.Stdout, cmd.Stderr = &out, &errOut
		Expect(cmd.Run()).To(Succeed(), "kubectl %s: %s", strings.Join(args, " "), errOut.String())
		return out.String()
	}

	BeforeAll(func() {
		user, err := testEnv.AddUser(envtest.User{Name: "kubectl-test", Groups: []string{"system:masters"}}, nil)
		Expect(err).NotTo(HaveOccurred())
		cfg, err := user.KubeConfig()
		Expect(err).NotTo(HaveOccurred())
		kubeconfig = filepath.Join(GinkgoT().TempDir(), "kubeconfig")
		Expect(os.WriteFile(kubeconfig, cfg, 0o600)).To(Succeed())
		kubectl("create", "namespace", "kubectl-test")
	})

	It("applies the CRDs and every sample", func() {
		kubectl("apply", "--server-side", "--force-conflicts", "-f", filepath.Join("..", "..", "config", "crd", "bases"))
		out := kubectl("apply", "-f", filepath.Join("..", "..", "config", "samples"))
		Expect(out).To(ContainSubstring("pluginversion.bkplugin.io/hello-1-0-0 created"))
		Expect(out).To(ContainSubstring("plugininvocation.bkplugin.io/0123456789abcdef0123456789abcdef created"))
	})

	It("shows the printer columns under the short names", func() {
		out := kubectl("get", "plv")
		Expect(strings.Fields(strings.SplitN(out, "\n", 2)[0])).To(Equal([]string{"NAME", "PLUGIN", "VERSION", "READY", "COMPATIBLE", "WEIGHT", "CANARY", "AGE"}))
		Expect(out).To(MatchRegexp(`hello-1-1-0\s+hello\s+1\.1\.0`))
		// -o wide adds why a canary was rolled back (docs/versioning.md).
		out = kubectl("get", "plv", "-o", "wide")
		Expect(strings.Fields(strings.SplitN(out, "\n", 2)[0])).To(Equal([]string{"NAME", "PLUGIN", "VERSION", "READY", "COMPATIBLE", "WEIGHT", "CANARY", "WHY", "AGE"}))

		out = kubectl("get", "pinv")
		Expect(strings.Fields(strings.SplitN(out, "\n", 2)[0])).To(Equal([]string{"NAME", "PLUGIN", "VERSION", "STATE", "INVOKES", "ATTEMPT", "QUEUED", "AGE"}))
		Expect(out).To(MatchRegexp(`0123456789abcdef0123456789abcdef\s+hello`))
	})

	It("lists both kinds under the bkplugin category", func() {
		out := kubectl("get", "bkplugin")
		Expect(out).To(ContainSubstring("pluginversion.bkplugin.io/poller-1-0-0"))
		Expect(out).To(ContainSubstring("plugininvocation.bkplugin.io/0123456789abcdef0123456789abcdef"))
	})
})
