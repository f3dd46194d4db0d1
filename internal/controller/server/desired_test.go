package server

import (
	"slices"
	"testing"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"

	bkv1 "github.com/bkplugin/bk-plugin-operator/api/v1alpha1"
	"github.com/bkplugin/bk-plugin-operator/sdk/protocol"
)

func newServer(mutate ...func(*bkv1.PluginServer)) *bkv1.PluginServer {
	srv := &bkv1.PluginServer{
		ObjectMeta: metav1.ObjectMeta{Name: "hello", Namespace: "plugins", UID: "uid-1", Generation: 1},
		Spec:       bkv1.PluginServerSpec{Image: "reg.example.com/hello:1.0.0", Port: 8080},
	}
	for _, m := range mutate {
		m(srv)
	}
	return srv
}

func TestAutoscaled(t *testing.T) {
	cases := []struct {
		name     string
		spec     func(*bkv1.PluginServer)
		hpa      bool
		replicas int32
	}{
		{"neither: one pod", func(*bkv1.PluginServer) {}, false, 1},
		{"fixed replicas", func(s *bkv1.PluginServer) { s.Spec.Replicas = ptr.To[int32](3) }, false, 3},
		{"scaled to zero", func(s *bkv1.PluginServer) { s.Spec.Replicas = ptr.To[int32](0) }, false, 0},
		{"bounds with room", func(s *bkv1.PluginServer) {
			s.Spec.Autoscaling = &bkv1.PluginServerAutoscaling{MinReplicas: ptr.To[int32](2), MaxReplicas: 5}
		}, true, 2},
		{"max only, min defaults to 1", func(s *bkv1.PluginServer) {
			s.Spec.Autoscaling = &bkv1.PluginServerAutoscaling{MaxReplicas: 4}
		}, true, 1},
		{"min equals max: fixed, no autoscaler", func(s *bkv1.PluginServer) {
			s.Spec.Autoscaling = &bkv1.PluginServerAutoscaling{MinReplicas: ptr.To[int32](3), MaxReplicas: 3}
		}, false, 3},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			srv := newServer(tc.spec)
			hpa, n := autoscaled(srv)
			if hpa != tc.hpa || n != tc.replicas {
				t.Fatalf("autoscaled = %v, %d; want %v, %d", hpa, n, tc.hpa, tc.replicas)
			}
			if got := desiredHPA(srv) != nil; got != tc.hpa {
				t.Errorf("desiredHPA present = %v, want %v", got, tc.hpa)
			}
			if got := *desiredDeployment(srv).Spec.Replicas; got != tc.replicas {
				t.Errorf("Deployment replicas = %d, want %d", got, tc.replicas)
			}
		})
	}
}

func TestDesiredDeploymentSecurityDefaults(t *testing.T) {
	dep := desiredDeployment(newServer())
	pod := dep.Spec.Template.Spec
	if !*pod.SecurityContext.RunAsNonRoot || pod.SecurityContext.SeccompProfile.Type != corev1.SeccompProfileTypeRuntimeDefault {
		t.Errorf("pod security context %+v: want runAsNonRoot and RuntimeDefault seccomp", pod.SecurityContext)
	}
	if *pod.AutomountServiceAccountToken {
		t.Error("no service account chosen, yet the API token is mounted")
	}
	c := pod.Containers[0]
	sc := c.SecurityContext
	if !*sc.ReadOnlyRootFilesystem || *sc.AllowPrivilegeEscalation || !slices.Equal(sc.Capabilities.Drop, []corev1.Capability{"ALL"}) || !*sc.RunAsNonRoot {
		t.Errorf("container security context %+v: want read-only root, no escalation, drop ALL, non-root", sc)
	}
	if !slices.Equal(c.Args, []string{"serve", "--addr", ":8080"}) {
		t.Errorf("args %q: want the SDK's serve on the port", c.Args)
	}
	if c.VolumeMounts[0].MountPath != "/tmp" {
		t.Errorf("mounts %+v: want a writable /tmp", c.VolumeMounts)
	}
	// Only the manager may execute: the pod mounts the execute token and
	// the SDK is pointed at it (docs/security.md).
	if c.VolumeMounts[1].MountPath != "/etc/bk-plugin/execute" || pod.Volumes[1].Secret == nil || pod.Volumes[1].Secret.SecretName != ExecuteTokenSecret {
		t.Errorf("mounts %+v volumes %+v: want the execute token Secret mounted", c.VolumeMounts, pod.Volumes)
	}
	if len(c.Env) != 1 || c.Env[0].Name != protocol.ExecuteTokenEnv || c.Env[0].Value != "/etc/bk-plugin/execute/token" {
		t.Errorf("env %+v: want %s pointing at the mounted token", c.Env, protocol.ExecuteTokenEnv)
	}
	if dep.Spec.Selector.MatchLabels[bkv1.LabelServer] != "hello" || dep.Spec.Template.Labels[bkv1.LabelServer] != "hello" {
		t.Errorf("selector %v / pod labels %v: want %s=hello", dep.Spec.Selector.MatchLabels, dep.Spec.Template.Labels, bkv1.LabelServer)
	}
}

func TestDesiredDeploymentFollowsSpec(t *testing.T) {
	srv := newServer(func(s *bkv1.PluginServer) {
		s.Spec.Port = 9000
		s.Spec.ServiceAccountName = "hello-sa"
		s.Spec.RunAsUser = ptr.To[int64](1000)
		s.Spec.Env = []corev1.EnvVar{{Name: "TOKEN", ValueFrom: &corev1.EnvVarSource{SecretKeyRef: &corev1.SecretKeySelector{
			LocalObjectReference: corev1.LocalObjectReference{Name: "hello-secrets"}, Key: "token"}}}}
		s.Spec.Resources = &corev1.ResourceRequirements{Requests: corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("100m")}}
	})
	dep := desiredDeployment(srv)
	pod := dep.Spec.Template.Spec
	c := pod.Containers[0]
	if c.Ports[0].ContainerPort != 9000 || !slices.Equal(c.Args, []string{"serve", "--addr", ":9000"}) {
		t.Errorf("port %d args %q: want 9000", c.Ports[0].ContainerPort, c.Args)
	}
	if pod.ServiceAccountName != "hello-sa" || !*pod.AutomountServiceAccountToken || *pod.SecurityContext.RunAsUser != 1000 {
		t.Errorf("pod %+v: want the chosen account with its token and uid 1000", pod)
	}
	if c.Env[0].ValueFrom.SecretKeyRef.Name != "hello-secrets" || c.Resources.Requests.Cpu().MilliValue() != 100 {
		t.Errorf("env %+v resources %+v: want the spec's", c.Env, c.Resources)
	}
	svc := desiredService(srv)
	if svc.Spec.Ports[0].Port != bkv1.ServerServicePort || svc.Spec.Ports[0].TargetPort.StrVal != portName {
		t.Errorf("service ports %+v: want %d to the named port", svc.Spec.Ports, bkv1.ServerServicePort)
	}

	custom := newServer(func(s *bkv1.PluginServer) { s.Spec.Command = []string{"python", "-m", "bk_plugin"} })
	if c := desiredDeployment(custom).Spec.Template.Spec.Containers[0]; len(c.Args) != 0 || c.Command[0] != "python" {
		t.Errorf("command %q args %q: a custom command gets no SDK arguments", c.Command, c.Args)
	}
}

func TestSpecHash(t *testing.T) {
	base := desiredDeployment(newServer()).Annotations[AnnotationSpecHash]
	if base == "" {
		t.Fatal("no spec hash")
	}
	if again := desiredDeployment(newServer()).Annotations[AnnotationSpecHash]; again != base {
		t.Errorf("the same spec hashed twice: %s and %s", base, again)
	}
	changes := map[string]func(*bkv1.PluginServer){
		"image": func(s *bkv1.PluginServer) { s.Spec.Image = "reg.example.com/hello:1.1.0" },
		"env":   func(s *bkv1.PluginServer) { s.Spec.Env = []corev1.EnvVar{{Name: "A", Value: "1"}} },
		"port":  func(s *bkv1.PluginServer) { s.Spec.Port = 9090 },
	}
	for name, m := range changes {
		if h := desiredDeployment(newServer(m)).Annotations[AnnotationSpecHash]; h == base {
			t.Errorf("changing the %s left the spec hash as it was", name)
		}
	}
	// Replicas are not part of the pod template: scaling is no rollout.
	if h := desiredDeployment(newServer(func(s *bkv1.PluginServer) { s.Spec.Replicas = ptr.To[int32](4) })).Annotations[AnnotationSpecHash]; h != base {
		t.Error("changing replicas changed the template's hash")
	}
}
