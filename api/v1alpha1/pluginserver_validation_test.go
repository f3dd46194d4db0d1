//go:build envtest

package v1alpha1_test

import (
	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"

	bkv1 "github.com/bkplugin/bk-plugin-operator/api/v1alpha1"
)

func validServer() *bkv1.PluginServer {
	return &bkv1.PluginServer{
		ObjectMeta: metav1.ObjectMeta{Name: uniqueName("srv"), Namespace: "default"},
		Spec:       bkv1.PluginServerSpec{Image: "reg.example.com/sops-exec:1.2.0"},
	}
}

var _ = Describe("PluginServer validation", func() {
	It("accepts a valid server and applies defaults", func() {
		srv := validServer()
		Expect(k8sClient.Create(ctx, srv)).To(Succeed())
		Expect(srv.Spec.Port).To(Equal(int32(8080)), "port defaults to 8080")

		srv = validServer()
		srv.Spec.Autoscaling = &bkv1.PluginServerAutoscaling{MinReplicas: ptr.To[int32](2), MaxReplicas: 2}
		Expect(k8sClient.Create(ctx, srv)).To(Succeed(), "min equal to max is fixed replicas")
	})

	DescribeTable("refuses an invalid server, naming the field",
		func(mutate func(*bkv1.PluginServer), field, says string) {
			srv := validServer()
			mutate(srv)
			expectInvalid(k8sClient.Create(ctx, srv), field, says)
		},
		Entry("no image", func(s *bkv1.PluginServer) { s.Spec.Image = "" }, "spec.image", "at least 1 chars long"),
		Entry("an image with a space", func(s *bkv1.PluginServer) { s.Spec.Image = "reg/x :1" }, "spec.image", "image must not contain spaces"),
		Entry("replicas and autoscaling", func(s *bkv1.PluginServer) {
			s.Spec.Replicas = ptr.To[int32](2)
			s.Spec.Autoscaling = &bkv1.PluginServerAutoscaling{MaxReplicas: 3}
		}, "spec", "set replicas or autoscaling, not both"),
		Entry("min above max", func(s *bkv1.PluginServer) {
			s.Spec.Autoscaling = &bkv1.PluginServerAutoscaling{MinReplicas: ptr.To[int32](4), MaxReplicas: 3}
		}, "spec.autoscaling", "minReplicas must not exceed maxReplicas"),
		Entry("negative replicas", func(s *bkv1.PluginServer) { s.Spec.Replicas = ptr.To[int32](-1) }, "spec.replicas", "greater than or equal to 0"),
		Entry("a port out of range", func(s *bkv1.PluginServer) { s.Spec.Port = 70000 }, "spec.port", "less than or equal to 65535"),
		Entry("an unknown pull policy", func(s *bkv1.PluginServer) { s.Spec.ImagePullPolicy = "Sometimes" }, "spec.imagePullPolicy", "Unsupported value"),
		Entry("a name that cannot name a Service", func(s *bkv1.PluginServer) { s.Name = "1abc" }, "metadata.name", "must be a DNS label that starts with a letter"),
		Entry("root", func(s *bkv1.PluginServer) { s.Spec.RunAsUser = ptr.To[int64](0) }, "spec.runAsUser", "greater than or equal to 1"),
	)

	It("lets a version name a server, alone", func() {
		plv := validVersion()
		plv.Spec.Endpoint = bkv1.PluginEndpoint{Server: &bkv1.ServerReference{Name: "sops-exec"}}
		Expect(k8sClient.Create(ctx, plv)).To(Succeed())

		plv = validVersion()
		plv.Spec.Endpoint.Server = &bkv1.ServerReference{Name: "sops-exec"}
		expectInvalid(k8sClient.Create(ctx, plv), "spec.endpoint", "exactly one of service, url or server must be set")
	})
})
