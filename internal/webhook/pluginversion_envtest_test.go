//go:build envtest

package webhook_test

import (
	"fmt"
	"strings"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"

	bkv1 "github.com/bkplugin/bk-plugin-operator/api/v1alpha1"
	"github.com/bkplugin/bk-plugin-operator/internal/testenv"
)

// version is a PluginVersion of plugin hello whose inputs schema is
// inputs; its endpoint answers nothing, since the webhook never calls it.
func version(ns, v, inputs string) *bkv1.PluginVersion {
	return &bkv1.PluginVersion{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "hello-" + strings.ReplaceAll(v, ".", "-")},
		Spec: bkv1.PluginVersionSpec{
			Plugin: "hello", Version: v, Description: "says hello",
			Endpoint: bkv1.PluginEndpoint{URL: ptr.To("http://127.0.0.1:1")},
			Inputs:   testenv.RawJSON(inputs),
		},
	}
}

const (
	optionalName = `{"type":"object","properties":{"name":{"type":"string"}}}`
	requiredName = `{"type":"object","properties":{"name":{"type":"string"}},"required":["name"]}`
	addedLevel   = `{"type":"object","properties":{"name":{"type":"string"},"level":{"type":"integer"}}}`
)

// statusCause returns the field causes of an API error, "field: message".
func statusCauses(err error) []string {
	var causes []string
	if s, ok := err.(apierrors.APIStatus); ok && s.Status().Details != nil {
		for _, c := range s.Status().Details.Causes {
			causes = append(causes, fmt.Sprintf("%s: %s", c.Field, c.Message))
		}
	}
	return causes
}

var _ = Describe("The PluginVersion admission webhook", func() {
	It("refuses a breaking 1.3.0 with every finding and accepts it as 2.0.0", func() {
		ns := suite.NewNamespace()
		c := suite.Client
		Expect(c.Create(suite.Ctx, version(ns, "1.2.0", optionalName))).To(Succeed())

		err := c.Create(suite.Ctx, version(ns, "1.3.0", requiredName))
		Expect(apierrors.IsInvalid(err)).To(BeTrue(), "want 422 Invalid, got %v", err)
		Expect(err.Error()).To(ContainSubstring("required-added"))
		Expect(err.Error()).To(ContainSubstring("hello 1.2.0"))
		Expect(statusCauses(err)).To(ConsistOf(HavePrefix("spec.inputs.name: Forbidden: required-added: ")))

		Expect(c.Create(suite.Ctx, version(ns, "2.0.0", requiredName))).To(Succeed(), "a new major may break")
		Expect(c.Create(suite.Ctx, version(ns, "1.3.0", addedLevel))).To(Succeed(), "an optional input added is compatible")
		// 1.4.0 replaces 1.3.0 now, and dropping its input breaks that.
		err = c.Create(suite.Ctx, version(ns, "1.4.0", optionalName))
		Expect(apierrors.IsInvalid(err)).To(BeTrue(), "want 422 Invalid, got %v", err)
		Expect(statusCauses(err)).To(ConsistOf(HavePrefix("spec.inputs.level: Forbidden: removed: ")))
	})

	It("keeps a served version's contract immutable and lets its description change", func() {
		ns := suite.NewNamespace()
		c := suite.Client
		plv := version(ns, "1.2.0", optionalName)
		Expect(c.Create(suite.Ctx, plv)).To(Succeed())

		// Merge patches, without resourceVersion: the version reconciler
		// writes this version's status meanwhile.
		patch := func(change func(*bkv1.PluginVersion)) error {
			orig := plv.DeepCopy()
			change(plv)
			return c.Patch(suite.Ctx, plv, client.MergeFrom(orig))
		}

		// Before it is served, its author may still fix the contract.
		Expect(patch(func(p *bkv1.PluginVersion) { p.Spec.Inputs = testenv.RawJSON(addedLevel) })).To(Succeed())

		// The manager records servedSince when the version is first Ready;
		// its plugin pod is not running here, so the spec writes it as the
		// manager would.
		orig := plv.DeepCopy()
		now := metav1.Now()
		plv.Status.ServedSince = &now
		Expect(c.Status().Patch(suite.Ctx, plv, client.MergeFrom(orig))).To(Succeed())

		err := patch(func(p *bkv1.PluginVersion) {
			p.Spec.Inputs = testenv.RawJSON(requiredName)
			p.Spec.EnablePluginCallback = true
		})
		Expect(apierrors.IsInvalid(err)).To(BeTrue(), "want 422 Invalid, got %v", err)
		Expect(statusCauses(err)).To(ConsistOf(
			HavePrefix("spec.inputs: Forbidden: the contract of a served PluginVersion is immutable"),
			HavePrefix("spec.enablePluginCallback: Forbidden:")))

		Expect(c.Get(suite.Ctx, client.ObjectKeyFromObject(plv), plv)).To(Succeed())
		Expect(plv.Spec.Inputs.Raw).To(MatchJSON(addedLevel), "the refused change must not be stored")
		Expect(patch(func(p *bkv1.PluginVersion) {
			p.Spec.Description = "greets politely"
			p.Spec.TimeoutSeconds = ptr.To[int32](60)
			p.Spec.Canary = &bkv1.CanarySpec{Weight: 10}
		})).To(Succeed(), "description and operational fields may change")
	})
})
