//go:build envtest

package server_test

import (
	"fmt"
	"sync/atomic"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	appsv1 "k8s.io/api/apps/v1"
	autoscalingv2 "k8s.io/api/autoscaling/v2"
	corev1 "k8s.io/api/core/v1"
	eventsv1 "k8s.io/api/events/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"

	bkv1 "github.com/bkplugin/bk-plugin-operator/api/v1alpha1"
	"github.com/bkplugin/bk-plugin-operator/internal/controller/server"
	"github.com/bkplugin/bk-plugin-operator/sdk/examples/hello/helloplugin"
	"github.com/bkplugin/bk-plugin-operator/sdk/manifest"
)

var seq atomic.Int64

func newNamespace() string {
	GinkgoHelper()
	ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: fmt.Sprintf("srv-%d", seq.Add(1))}}
	Expect(k8sClient.Create(suiteCtx, ns)).To(Succeed())
	return ns.Name
}

// applyRegistration creates what `hello manifest --image IMAGE` prints:
// the PluginServer hello and every hello version naming it.
func applyRegistration(ns, image string) (*bkv1.PluginServer, []bkv1.PluginVersion) {
	GinkgoHelper()
	opts := manifest.Options{Namespace: ns, Image: image}
	srv, err := manifest.PluginServer(helloplugin.Plugin(), opts)
	Expect(err).NotTo(HaveOccurred())
	Expect(k8sClient.Create(suiteCtx, srv)).To(Succeed())
	plvs, err := manifest.PluginVersions(helloplugin.Plugin(), opts)
	Expect(err).NotTo(HaveOccurred())
	for i := range plvs {
		Expect(k8sClient.Create(suiteCtx, &plvs[i])).To(Succeed())
	}
	return srv, plvs
}

func get[T client.Object](obj T, ns, name string) func() (T, error) {
	return func() (T, error) {
		err := k8sClient.Get(suiteCtx, client.ObjectKey{Namespace: ns, Name: name}, obj)
		return obj, err
	}
}

// eventuallyGet waits until the object exists and returns it.
func eventuallyGet[T client.Object](obj T, ns, name string) T {
	GinkgoHelper()
	Eventually(func() error { _, err := get(obj, ns, name)(); return err }).Should(Succeed())
	return obj
}

func serverCondition(ns, name, typ string) func() *metav1.Condition {
	return func() *metav1.Condition {
		srv := &bkv1.PluginServer{}
		if err := k8sClient.Get(suiteCtx, client.ObjectKey{Namespace: ns, Name: name}, srv); err != nil {
			return nil
		}
		return meta.FindStatusCondition(srv.Status.Conditions, typ)
	}
}

func versionCondition(plv *bkv1.PluginVersion, typ string) func() *metav1.Condition {
	return func() *metav1.Condition {
		got := &bkv1.PluginVersion{}
		if err := k8sClient.Get(suiteCtx, client.ObjectKeyFromObject(plv), got); err != nil {
			return nil
		}
		return meta.FindStatusCondition(got.Status.Conditions, typ)
	}
}

func withStatus(status metav1.ConditionStatus, reason string) OmegaMatcher {
	return And(Not(BeNil()), HaveField("Status", status), HaveField("Reason", reason))
}

// rollOut sets the Deployment's status as the Deployment controller would
// once available of its pods are up on the current spec.
func rollOut(ns, name string, available int32) {
	GinkgoHelper()
	Eventually(func() error {
		dep := &appsv1.Deployment{}
		if err := k8sClient.Get(suiteCtx, client.ObjectKey{Namespace: ns, Name: name}, dep); err != nil {
			return err
		}
		want := ptr.Deref(dep.Spec.Replicas, 1)
		dep.Status = appsv1.DeploymentStatus{
			ObservedGeneration: dep.Generation,
			Replicas:           want, UpdatedReplicas: want,
			ReadyReplicas: available, AvailableReplicas: available, UnavailableReplicas: want - available,
		}
		return k8sClient.Status().Update(suiteCtx, dep)
	}).Should(Succeed())
}

// liveInvocation creates an invocation of hello 1.0.0 that has run once
// and polls, as the invocation reconciler leaves it between executes.
func liveInvocation(ns, name string) *bkv1.PluginInvocation {
	GinkgoHelper()
	inv := &bkv1.PluginInvocation{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name},
		Spec:       bkv1.PluginInvocationSpec{Plugin: "hello", Version: "1.0.0"},
	}
	Expect(k8sClient.Create(suiteCtx, inv)).To(Succeed())
	inv.Status.State, inv.Status.ResolvedVersion, inv.Status.InvokeCount = bkv1.StatePoll, "1.0.0", 1
	Expect(k8sClient.Status().Update(suiteCtx, inv)).To(Succeed())
	return inv
}

// finish ends inv SUCCESS, as the invocation reconciler would.
func finish(inv *bkv1.PluginInvocation) {
	GinkgoHelper()
	Eventually(func() error {
		got := &bkv1.PluginInvocation{}
		if err := k8sClient.Get(suiteCtx, client.ObjectKeyFromObject(inv), got); err != nil {
			return err
		}
		got.Status.State = bkv1.StateSuccess
		return k8sClient.Status().Update(suiteCtx, got)
	}).Should(Succeed())
}

func gone(obj client.Object) func() bool {
	return func() bool {
		return apierrors.IsNotFound(k8sClient.Get(suiteCtx, client.ObjectKeyFromObject(obj), obj))
	}
}

// eventReasons lists the reasons of the events about an object.
func eventReasons(ns, name string) func() []string {
	return func() []string {
		var list eventsv1.EventList
		if err := k8sClient.List(suiteCtx, &list, client.InNamespace(ns)); err != nil {
			return nil
		}
		var out []string
		for _, e := range list.Items {
			if e.Regarding.Name == name {
				out = append(out, e.Reason)
			}
		}
		return out
	}
}

var _ = Describe("PluginServer", func() {
	It("runs the image as a Deployment behind a Service, both owned by the server, with the security defaults", func() {
		ns := newNamespace()
		srv, _ := applyRegistration(ns, "reg.example.com/hello:1.0.0")

		dep := eventuallyGet(&appsv1.Deployment{}, ns, "hello")
		Expect(dep.Spec.Replicas).To(HaveValue(BeEquivalentTo(1)))
		Expect(k8sClient.Get(suiteCtx, client.ObjectKeyFromObject(srv), srv)).To(Succeed())

		By("owning them with a controller reference the garbage collector follows")
		svc := eventuallyGet(&corev1.Service{}, ns, "hello")
		for _, o := range []metav1.Object{dep, svc} {
			ref := metav1.GetControllerOf(o)
			Expect(ref).NotTo(BeNil(), "%s has no controller", o.GetName())
			Expect(ref.Kind).To(Equal("PluginServer"))
			Expect(ref.UID).To(Equal(srv.UID))
			Expect(ref.BlockOwnerDeletion).To(HaveValue(BeTrue()))
		}

		By("running the plugin non-root, read-only, unprivileged, without capabilities")
		pod := dep.Spec.Template.Spec
		Expect(pod.SecurityContext.RunAsNonRoot).To(HaveValue(BeTrue()))
		Expect(pod.SecurityContext.SeccompProfile.Type).To(Equal(corev1.SeccompProfileTypeRuntimeDefault))
		Expect(pod.AutomountServiceAccountToken).To(HaveValue(BeFalse()))
		c := pod.Containers[0]
		Expect(c.Image).To(Equal("reg.example.com/hello:1.0.0"))
		Expect(c.SecurityContext.ReadOnlyRootFilesystem).To(HaveValue(BeTrue()))
		Expect(c.SecurityContext.AllowPrivilegeEscalation).To(HaveValue(BeFalse()))
		Expect(c.SecurityContext.Capabilities.Drop).To(ConsistOf(corev1.Capability("ALL")))

		By("exposing port 80 to the container's port, selecting the server's pods")
		Expect(svc.Spec.Ports).To(HaveLen(1))
		Expect(svc.Spec.Ports[0].Port).To(BeEquivalentTo(80))
		Expect(svc.Spec.Ports[0].TargetPort.StrVal).To(Equal("http"))
		Expect(svc.Spec.Selector).To(Equal(dep.Spec.Selector.MatchLabels))
		Expect(dep.Spec.Template.Labels).To(HaveKeyWithValue(bkv1.LabelServer, "hello"))

		By("reporting the endpoint and that no pod is available yet")
		Eventually(get(&bkv1.PluginServer{}, ns, "hello")).Should(And(
			HaveField("Status.Endpoint", "http://hello."+ns+".svc.cluster.local:80"),
			HaveField("Status.ObservedGeneration", srv.Generation),
		))
		Eventually(serverCondition(ns, "hello", bkv1.ConditionAvailable)).Should(withStatus(metav1.ConditionFalse, bkv1.ServerReasonUnavailable))
		Expect(srv.Finalizers).To(ContainElement(bkv1.RetireFinalizer))
	})

	It("rolls the Deployment out when the spec changes, scales it, and autoscales within bounds", func() {
		ns := newNamespace()
		applyRegistration(ns, "reg.example.com/hello:1.0.0")
		dep := eventuallyGet(&appsv1.Deployment{}, ns, "hello")
		hash := dep.Annotations[server.AnnotationSpecHash]
		Expect(hash).NotTo(BeEmpty())
		rollOut(ns, "hello", 1)
		Eventually(serverCondition(ns, "hello", bkv1.ConditionProgressing)).Should(withStatus(metav1.ConditionTrue, bkv1.ServerReasonRolloutComplete))

		By("a new image and env rewrite the pod template")
		patchServer(ns, "hello", func(s *bkv1.PluginServer) {
			s.Spec.Image = "reg.example.com/hello:1.1.0"
			s.Spec.Env = []corev1.EnvVar{{Name: "GREETING", ValueFrom: &corev1.EnvVarSource{SecretKeyRef: &corev1.SecretKeySelector{
				LocalObjectReference: corev1.LocalObjectReference{Name: "hello-secrets"}, Key: "greeting"}}}}
		})
		Eventually(get(&appsv1.Deployment{}, ns, "hello")).Should(And(
			HaveField("Spec.Template.Spec.Containers", ContainElement(HaveField("Image", "reg.example.com/hello:1.1.0"))),
			HaveField("ObjectMeta.Annotations", HaveKeyWithValue(server.AnnotationSpecHash, Not(Equal(hash)))),
		))
		By("the rollout shows as Progressing until the Deployment reports it done")
		Eventually(serverCondition(ns, "hello", bkv1.ConditionProgressing)).Should(withStatus(metav1.ConditionTrue, bkv1.ServerReasonRollingOut))
		rollOut(ns, "hello", 1)
		Eventually(serverCondition(ns, "hello", bkv1.ConditionProgressing)).Should(withStatus(metav1.ConditionTrue, bkv1.ServerReasonRolloutComplete))

		By("an unchanged spec writes nothing: what the API server defaulted is no drift")
		settled := eventuallyGet(&appsv1.Deployment{}, ns, "hello").ResourceVersion
		Consistently(func() string {
			d, _ := get(&appsv1.Deployment{}, ns, "hello")()
			return d.ResourceVersion
		}, 2*time.Second).Should(Equal(settled))

		By("an image set by hand is put back")
		Eventually(func() error {
			d, err := get(&appsv1.Deployment{}, ns, "hello")()
			if err != nil {
				return err
			}
			d.Spec.Template.Spec.Containers[0].Image = "reg.example.com/other:6.6.6"
			return k8sClient.Update(suiteCtx, d)
		}).Should(Succeed())
		Eventually(get(&appsv1.Deployment{}, ns, "hello")).Should(
			HaveField("Spec.Template.Spec.Containers", ContainElement(HaveField("Image", "reg.example.com/hello:1.1.0"))))

		By("replicas scale the Deployment")
		patchServer(ns, "hello", func(s *bkv1.PluginServer) { s.Spec.Replicas = ptr.To[int32](3) })
		Eventually(get(&appsv1.Deployment{}, ns, "hello")).Should(HaveField("Spec.Replicas", HaveValue(BeEquivalentTo(3))))

		By("autoscaling bounds with room make a HorizontalPodAutoscaler")
		patchServer(ns, "hello", func(s *bkv1.PluginServer) {
			s.Spec.Replicas = nil
			s.Spec.Autoscaling = &bkv1.PluginServerAutoscaling{MinReplicas: ptr.To[int32](2), MaxReplicas: 5}
		})
		Eventually(get(&autoscalingv2.HorizontalPodAutoscaler{}, ns, "hello")).Should(And(
			HaveField("Spec.MaxReplicas", BeEquivalentTo(5)),
			HaveField("Spec.MinReplicas", HaveValue(BeEquivalentTo(2))),
			HaveField("Spec.ScaleTargetRef.Name", "hello"),
		))
		By("the autoscaler's replicas are left alone")
		Eventually(func() error {
			d, err := get(&appsv1.Deployment{}, ns, "hello")()
			if err != nil {
				return err
			}
			d.Spec.Replicas = ptr.To[int32](4)
			return k8sClient.Update(suiteCtx, d)
		}).Should(Succeed())
		Consistently(get(&appsv1.Deployment{}, ns, "hello"), time.Second).Should(HaveField("Spec.Replicas", HaveValue(BeEquivalentTo(4))))

		By("fixed replicas remove the autoscaler")
		patchServer(ns, "hello", func(s *bkv1.PluginServer) {
			s.Spec.Autoscaling = nil
			s.Spec.Replicas = ptr.To[int32](1)
		})
		Eventually(func() bool {
			_, err := get(&autoscalingv2.HorizontalPodAutoscaler{}, ns, "hello")()
			return apierrors.IsNotFound(err)
		}).Should(BeTrue())
		Eventually(get(&appsv1.Deployment{}, ns, "hello")).Should(HaveField("Spec.Replicas", HaveValue(BeEquivalentTo(1))))
		Eventually(eventReasons(ns, "hello")).Should(ContainElement(server.EventReasonRollout))
	})

	It("makes versions Ready as the Deployment's pods become available, and not Ready when they go", func() {
		ns := newNamespace()
		_, plvs := applyRegistration(ns, "reg.example.com/hello:1.0.0")
		Expect(plvs).NotTo(BeEmpty())

		By("no pod yet: the server is not Available and its versions say why")
		for i := range plvs {
			Eventually(versionCondition(&plvs[i], bkv1.ConditionReady)).Should(And(
				withStatus(metav1.ConditionFalse, bkv1.VersionReasonServerUnavailable),
				HaveField("Message", ContainSubstring("PluginServer hello is not Available")),
			))
		}
		By("a pod available: server Available, every version probed and Ready")
		rollOut(ns, "hello", 1)
		Eventually(serverCondition(ns, "hello", bkv1.ConditionAvailable)).Should(withStatus(metav1.ConditionTrue, bkv1.ServerReasonAvailable))
		Eventually(get(&bkv1.PluginServer{}, ns, "hello")).Should(And(HaveField("Status.ReadyReplicas", BeEquivalentTo(1)), HaveField("Status.AvailableReplicas", BeEquivalentTo(1))))
		for i := range plvs {
			Eventually(versionCondition(&plvs[i], bkv1.ConditionReady)).Should(withStatus(metav1.ConditionTrue, bkv1.VersionReasonServing))
			Eventually(get(&bkv1.PluginVersion{}, ns, plvs[i].Name)).Should(HaveField("Status.EndpointURL", helloPod.URL))
		}

		By("the pods gone: the server and its versions are not Available again")
		rollOut(ns, "hello", 0)
		Eventually(serverCondition(ns, "hello", bkv1.ConditionAvailable)).Should(withStatus(metav1.ConditionFalse, bkv1.ServerReasonUnavailable))
		for i := range plvs {
			Eventually(versionCondition(&plvs[i], bkv1.ConditionReady)).Should(withStatus(metav1.ConditionFalse, bkv1.VersionReasonServerUnavailable))
		}

		By("a version naming a server that does not exist says so")
		lone, err := manifest.PluginVersions(helloplugin.Plugin(), manifest.Options{Namespace: newNamespace(), Server: "nobody"})
		Expect(err).NotTo(HaveOccurred())
		Expect(k8sClient.Create(suiteCtx, &lone[0])).To(Succeed())
		Eventually(versionCondition(&lone[0], bkv1.ConditionReady)).Should(And(
			withStatus(metav1.ConditionFalse, bkv1.VersionReasonServerUnavailable),
			HaveField("Message", ContainSubstring("PluginServer nobody does not exist")),
		))
	})

	It("never adopts a Service of its name that it did not make", func() {
		ns := newNamespace()
		theirs := &corev1.Service{
			ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "hello"},
			Spec:       corev1.ServiceSpec{Selector: map[string]string{"app": "theirs"}, Ports: []corev1.ServicePort{{Port: 9999}}},
		}
		Expect(k8sClient.Create(suiteCtx, theirs)).To(Succeed())
		applyRegistration(ns, "reg.example.com/hello:1.0.0")
		Eventually(serverCondition(ns, "hello", bkv1.ConditionAvailable)).Should(And(
			withStatus(metav1.ConditionFalse, bkv1.ServerReasonObjectConflict),
			HaveField("Message", ContainSubstring("Service hello exists and is not owned")),
		))
		Consistently(get(&corev1.Service{}, ns, "hello"), time.Second).Should(And(
			HaveField("Spec.Selector", Equal(map[string]string{"app": "theirs"})),
			HaveField("ObjectMeta.OwnerReferences", BeEmpty()),
		))
		// Events are sent in the background and may wait on client-side
		// throttling (CI saw a 1 s wait): the condition above can come first.
		Eventually(eventReasons(ns, "hello")).Should(ContainElement(server.EventReasonConflict))
	})

	It("is deleted at once when no invocation uses it, leaving its objects to the garbage collector", func() {
		ns := newNamespace()
		srv, _ := applyRegistration(ns, "reg.example.com/hello:1.0.0")
		eventuallyGet(&corev1.Service{}, ns, "hello")
		Eventually(get(&bkv1.PluginServer{}, ns, "hello")).Should(HaveField("ObjectMeta.Finalizers", ContainElement(bkv1.RetireFinalizer)))
		Expect(k8sClient.Get(suiteCtx, client.ObjectKeyFromObject(srv), srv)).To(Succeed())
		uid := srv.UID

		Expect(k8sClient.Delete(suiteCtx, srv)).To(Succeed())
		Eventually(gone(srv)).Should(BeTrue())
		// envtest runs no garbage collector; what it would act on is an
		// owner reference to an owner that no longer exists.
		for _, o := range []client.Object{&appsv1.Deployment{}, &corev1.Service{}} {
			Expect(k8sClient.Get(suiteCtx, client.ObjectKey{Namespace: ns, Name: "hello"}, o)).To(Succeed())
			Expect(metav1.GetControllerOf(o)).To(HaveField("UID", uid))
		}
	})
})

var _ = Describe("Retiring", func() {
	It("holds a deleted version while an invocation of it runs, and releases it when the invocation finishes", func() {
		ns := newNamespace()
		_, plvs := applyRegistration(ns, "reg.example.com/hello:1.0.0")
		plv := &plvs[0]
		Expect(plv.Spec.Version).To(Equal("1.0.0"))
		Eventually(get(&bkv1.PluginVersion{}, ns, plv.Name)).Should(HaveField("ObjectMeta.Finalizers", ContainElement(bkv1.RetireFinalizer)))
		inv := liveInvocation(ns, "inv-live")

		Expect(k8sClient.Delete(suiteCtx, plv)).To(Succeed())
		Eventually(versionCondition(plv, bkv1.ConditionRetiring)).Should(And(
			withStatus(metav1.ConditionTrue, bkv1.RetireReasonInUse),
			HaveField("Message", ContainSubstring("deletion waits for 1 live invocation to finish")),
		))
		Eventually(eventReasons(ns, plv.Name)).Should(ContainElement(bkv1.RetireReasonInUse))
		Consistently(gone(plv), 2*time.Second).Should(BeFalse())

		finish(inv)
		Eventually(gone(plv)).Should(BeTrue())
	})

	It("releases a deleted version after its grace period, however long the invocation runs", func() {
		ns := newNamespace()
		_, plvs := applyRegistration(ns, "reg.example.com/hello:1.0.0")
		plv := &plvs[0]
		Eventually(func() error {
			got, err := get(&bkv1.PluginVersion{}, ns, plv.Name)()
			if err != nil {
				return err
			}
			if len(got.Finalizers) == 0 {
				return fmt.Errorf("no finalizer yet")
			}
			got.Spec.RetireGracePeriodSeconds = ptr.To[int64](3)
			return k8sClient.Update(suiteCtx, got)
		}).Should(Succeed())
		liveInvocation(ns, "inv-forever")

		Expect(k8sClient.Delete(suiteCtx, plv)).To(Succeed())
		Eventually(versionCondition(plv, bkv1.ConditionRetiring)).Should(withStatus(metav1.ConditionTrue, bkv1.RetireReasonInUse))
		Eventually(gone(plv)).Should(BeTrue())
		Eventually(eventReasons(ns, plv.Name)).Should(ContainElement(bkv1.RetireReasonGracePeriodOver))
	})

	It("holds a deleted server while invocations of the versions it serves run, and keeps serving them", func() {
		ns := newNamespace()
		srv, _ := applyRegistration(ns, "reg.example.com/hello:1.0.0")
		Eventually(get(&bkv1.PluginServer{}, ns, "hello")).Should(HaveField("ObjectMeta.Finalizers", ContainElement(bkv1.RetireFinalizer)))
		eventuallyGet(&appsv1.Deployment{}, ns, "hello")
		inv := liveInvocation(ns, "inv-srv")

		Expect(k8sClient.Delete(suiteCtx, srv)).To(Succeed())
		Eventually(serverCondition(ns, "hello", bkv1.ConditionRetiring)).Should(And(
			withStatus(metav1.ConditionTrue, bkv1.RetireReasonInUse),
			HaveField("Message", ContainSubstring("1 live invocation")),
		))
		Consistently(gone(srv), 2*time.Second).Should(BeFalse())
		_, err := get(&appsv1.Deployment{}, ns, "hello")()
		Expect(err).NotTo(HaveOccurred(), "the Deployment must keep serving the live invocation")

		finish(inv)
		Eventually(gone(srv)).Should(BeTrue())
	})
})

// patchServer changes a server's spec, retrying on conflicts.
func patchServer(ns, name string, mutate func(*bkv1.PluginServer)) {
	GinkgoHelper()
	Eventually(func() error {
		srv := &bkv1.PluginServer{}
		if err := k8sClient.Get(suiteCtx, client.ObjectKey{Namespace: ns, Name: name}, srv); err != nil {
			return err
		}
		mutate(srv)
		return k8sClient.Update(suiteCtx, srv)
	}).Should(Succeed())
}
