package server

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"slices"
	"strconv"

	appsv1 "k8s.io/api/apps/v1"
	autoscalingv2 "k8s.io/api/autoscaling/v2"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/utils/ptr"

	bkv1 "github.com/bkplugin/bk-plugin-operator/api/v1alpha1"
	"github.com/bkplugin/bk-plugin-operator/sdk/protocol"
)

// Names and defaults of the objects a PluginServer owns.
const (
	// containerName is the plugin container's name.
	containerName = "plugin"
	// portName names the container port and the Service's target port.
	portName = "http"
	// defaultPort is the CRD's default container port, applied here too so
	// that an object written before defaulting still works.
	defaultPort int32 = 8080
	// defaultCPUTarget is the autoscaler's CPU target when the spec sets none.
	defaultCPUTarget int32 = 80
	// tmpVolume is an emptyDir at /tmp: the root file system is read-only,
	// and Go's os.TempDir still has to work.
	tmpVolume = "tmp"
	// ExecuteTokenSecret holds the token the manager sends with every
	// execute (key "token"; docs/security.md). Each server's pods mount it
	// and point the SDK at it, so that only the manager can execute.
	ExecuteTokenSecret = "bk-plugin-execute-token"
	// executeTokenVolume mounts ExecuteTokenSecret at executeTokenDir.
	executeTokenVolume = "execute-token"
	executeTokenDir    = "/etc/bk-plugin/execute"
	// AnnotationSpecHash on an owned object holds the hash of the spec the
	// operator last wrote, so that drift is judged against what the
	// operator asked for and not the API server's defaults.
	AnnotationSpecHash = "bkplugin.io/spec-hash"
	// managedBy is the app.kubernetes.io/managed-by label's value.
	managedBy = "bk-plugin-operator"
)

// labels are the labels of every object a server owns, and of its pods.
func labels(srv *bkv1.PluginServer) map[string]string {
	return map[string]string{
		"app.kubernetes.io/name":       "bk-plugin-server",
		"app.kubernetes.io/instance":   srv.Name,
		"app.kubernetes.io/managed-by": managedBy,
		bkv1.LabelServer:               srv.Name,
	}
}

// selector selects a server's pods; it never changes, because a
// Deployment's selector is immutable.
func selector(srv *bkv1.PluginServer) map[string]string {
	return map[string]string{bkv1.LabelServer: srv.Name}
}

// port is the container port of srv.
func port(srv *bkv1.PluginServer) int32 {
	if srv.Spec.Port == 0 {
		return defaultPort
	}
	return srv.Spec.Port
}

// autoscaled reports whether srv wants a HorizontalPodAutoscaler (bounds
// that leave room to scale), and the fixed replicas when it does not.
func autoscaled(srv *bkv1.PluginServer) (hpa bool, replicas int32) {
	as := srv.Spec.Autoscaling
	if as != nil {
		lo := ptr.Deref(as.MinReplicas, 1)
		if as.MaxReplicas > lo {
			return true, lo
		}
		return false, as.MaxReplicas
	}
	return false, ptr.Deref(srv.Spec.Replicas, 1)
}

// desiredDeployment is the Deployment srv asks for, with its spec hash set.
// When the server is autoscaled replicas is the lower bound, which the
// autoscaler takes over from.
func desiredDeployment(srv *bkv1.PluginServer) *appsv1.Deployment {
	_, replicas := autoscaled(srv)
	pod := corev1.PodSpec{
		ServiceAccountName: srv.Spec.ServiceAccountName,
		// Plugins need no Kubernetes API: no token unless an account was
		// chosen on purpose.
		AutomountServiceAccountToken: ptr.To(srv.Spec.ServiceAccountName != ""),
		EnableServiceLinks:           ptr.To(false),
		SecurityContext: &corev1.PodSecurityContext{
			RunAsNonRoot:   ptr.To(true),
			RunAsUser:      srv.Spec.RunAsUser,
			SeccompProfile: &corev1.SeccompProfile{Type: corev1.SeccompProfileTypeRuntimeDefault},
		},
		Containers: []corev1.Container{{
			Name:            containerName,
			Image:           srv.Spec.Image,
			ImagePullPolicy: srv.Spec.ImagePullPolicy,
			Command:         srv.Spec.Command,
			Args:            args(srv),
			Ports:           []corev1.ContainerPort{{Name: portName, ContainerPort: port(srv), Protocol: corev1.ProtocolTCP}},
			Env:             executeTokenEnv(srv.Spec.Env),
			EnvFrom:         srv.Spec.EnvFrom,
			Resources:       ptr.Deref(srv.Spec.Resources, corev1.ResourceRequirements{}),
			SecurityContext: &corev1.SecurityContext{
				RunAsNonRoot:             ptr.To(true),
				ReadOnlyRootFilesystem:   ptr.To(true),
				AllowPrivilegeEscalation: ptr.To(false),
				Capabilities:             &corev1.Capabilities{Drop: []corev1.Capability{"ALL"}},
				SeccompProfile:           &corev1.SeccompProfile{Type: corev1.SeccompProfileTypeRuntimeDefault},
			},
			ReadinessProbe: &corev1.Probe{
				ProbeHandler:  corev1.ProbeHandler{HTTPGet: &corev1.HTTPGetAction{Path: "/readyz", Port: intstr.FromString(portName)}},
				PeriodSeconds: 5,
			},
			LivenessProbe: &corev1.Probe{
				ProbeHandler:     corev1.ProbeHandler{HTTPGet: &corev1.HTTPGetAction{Path: "/healthz", Port: intstr.FromString(portName)}},
				PeriodSeconds:    10,
				FailureThreshold: 6,
			},
			VolumeMounts: []corev1.VolumeMount{
				{Name: tmpVolume, MountPath: "/tmp"},
				{Name: executeTokenVolume, MountPath: executeTokenDir, ReadOnly: true},
			},
		}},
		Volumes: []corev1.Volume{
			{Name: tmpVolume, VolumeSource: corev1.VolumeSource{EmptyDir: &corev1.EmptyDirVolumeSource{}}},
			// Not optional: a pod without the token would take executes
			// from anyone, so it waits for the Secret instead.
			{Name: executeTokenVolume, VolumeSource: corev1.VolumeSource{Secret: &corev1.SecretVolumeSource{
				SecretName: ExecuteTokenSecret, DefaultMode: ptr.To[int32](0o444)}}},
		},
	}
	dep := &appsv1.Deployment{
		ObjectMeta: metav1.ObjectMeta{Name: srv.Name, Namespace: srv.Namespace, Labels: labels(srv)},
		Spec: appsv1.DeploymentSpec{
			Replicas: ptr.To(replicas),
			Selector: &metav1.LabelSelector{MatchLabels: selector(srv)},
			Template: corev1.PodTemplateSpec{
				ObjectMeta: metav1.ObjectMeta{Labels: labels(srv)},
				Spec:       pod,
			},
			// A new pod serves before an old one goes, so the versions the
			// server serves stay available through a rollout.
			Strategy: appsv1.DeploymentStrategy{
				Type: appsv1.RollingUpdateDeploymentStrategyType,
				RollingUpdate: &appsv1.RollingUpdateDeployment{
					MaxUnavailable: ptr.To(intstr.FromInt32(0)),
					MaxSurge:       ptr.To(intstr.FromString("25%")),
				},
			},
			RevisionHistoryLimit: ptr.To[int32](3),
		},
	}
	dep.Annotations = map[string]string{AnnotationSpecHash: hashOf(dep.Spec.Template, dep.Spec.Strategy, dep.Spec.RevisionHistoryLimit)}
	return dep
}

// desiredService is the Service srv asks for: port ServerServicePort to
// the container's named port.
func desiredService(srv *bkv1.PluginServer) *corev1.Service {
	svc := &corev1.Service{
		ObjectMeta: metav1.ObjectMeta{Name: srv.Name, Namespace: srv.Namespace, Labels: labels(srv)},
		Spec: corev1.ServiceSpec{
			Type:     corev1.ServiceTypeClusterIP,
			Selector: selector(srv),
			Ports: []corev1.ServicePort{{
				Name: portName, Port: bkv1.ServerServicePort, Protocol: corev1.ProtocolTCP,
				TargetPort: intstr.FromString(portName),
			}},
		},
	}
	svc.Annotations = map[string]string{AnnotationSpecHash: hashOf(svc.Spec.Type, svc.Spec.Selector, svc.Spec.Ports)}
	return svc
}

// desiredHPA is the HorizontalPodAutoscaler srv asks for, or nil when its
// replicas are fixed.
func desiredHPA(srv *bkv1.PluginServer) *autoscalingv2.HorizontalPodAutoscaler {
	on, lo := autoscaled(srv)
	if !on {
		return nil
	}
	as := srv.Spec.Autoscaling
	hpa := &autoscalingv2.HorizontalPodAutoscaler{
		ObjectMeta: metav1.ObjectMeta{Name: srv.Name, Namespace: srv.Namespace, Labels: labels(srv)},
		Spec: autoscalingv2.HorizontalPodAutoscalerSpec{
			ScaleTargetRef: autoscalingv2.CrossVersionObjectReference{APIVersion: "apps/v1", Kind: "Deployment", Name: srv.Name},
			MinReplicas:    ptr.To(lo),
			MaxReplicas:    as.MaxReplicas,
			Metrics: []autoscalingv2.MetricSpec{{
				Type: autoscalingv2.ResourceMetricSourceType,
				Resource: &autoscalingv2.ResourceMetricSource{
					Name: corev1.ResourceCPU,
					Target: autoscalingv2.MetricTarget{
						Type:               autoscalingv2.UtilizationMetricType,
						AverageUtilization: ptr.To(ptr.Deref(as.TargetCPUUtilizationPercentage, defaultCPUTarget)),
					},
				},
			}},
		},
	}
	hpa.Annotations = map[string]string{AnnotationSpecHash: hashOf(hpa.Spec)}
	return hpa
}

// args are the container's arguments: the spec's, or the SDK's serve
// command on the server's port when neither command nor args is set.
func args(srv *bkv1.PluginServer) []string {
	if len(srv.Spec.Command) > 0 || len(srv.Spec.Args) > 0 {
		return srv.Spec.Args
	}
	return []string{"serve", "--addr", ":" + strconv.Itoa(int(port(srv)))}
}

// hashOf is a short stable hash of the JSON of parts.
func hashOf(parts ...any) string {
	// Only API types reach here, and they always marshal.
	b, _ := json.Marshal(parts)
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:8])
}

// executeTokenEnv is the spec's environment with the SDK pointed at the
// mounted execute token; a spec that sets the variable itself keeps its own.
func executeTokenEnv(env []corev1.EnvVar) []corev1.EnvVar {
	for _, e := range env {
		if e.Name == protocol.ExecuteTokenEnv {
			return env
		}
	}
	return append(slices.Clone(env), corev1.EnvVar{Name: protocol.ExecuteTokenEnv, Value: executeTokenDir + "/token"})
}
