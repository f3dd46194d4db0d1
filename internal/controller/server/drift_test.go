package server

import (
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"

	bkv1 "github.com/bkplugin/bk-plugin-operator/api/v1alpha1"
)

func TestMergeDeployment(t *testing.T) {
	cases := []struct {
		name   string
		actual func() *bkv1.PluginServer // the spec the stored object was made from
		tamper func(m *metav1.ObjectMeta, replicas **int32)
		// editImage, when set, is an image someone set on the Deployment.
		editImage string
		hpa       bool
		want      func(*bkv1.PluginServer)
		changed   bool
	}{
		{name: "same spec: nothing to do", actual: func() *bkv1.PluginServer { return newServer() }, want: func(*bkv1.PluginServer) {}, changed: false},
		{name: "new image: rollout", actual: func() *bkv1.PluginServer { return newServer() },
			want: func(s *bkv1.PluginServer) { s.Spec.Image = "reg.example.com/hello:2.0.0" }, changed: true},
		{name: "new replicas: scale", actual: func() *bkv1.PluginServer { return newServer() },
			want: func(s *bkv1.PluginServer) { s.Spec.Replicas = ptr.To[int32](3) }, changed: true},
		{name: "replicas the autoscaler changed are left alone", actual: func() *bkv1.PluginServer { return newServer() },
			tamper: func(_ *metav1.ObjectMeta, r **int32) { *r = ptr.To[int32](7) }, hpa: true, want: func(*bkv1.PluginServer) {}, changed: false},
		{name: "replicas someone changed by hand are restored", actual: func() *bkv1.PluginServer { return newServer() },
			tamper: func(_ *metav1.ObjectMeta, r **int32) { *r = ptr.To[int32](7) }, want: func(*bkv1.PluginServer) {}, changed: true},
		{name: "an image set by hand is restored", actual: func() *bkv1.PluginServer { return newServer() },
			tamper: func(*metav1.ObjectMeta, **int32) {}, editImage: "reg.example.com/evil:1", want: func(*bkv1.PluginServer) {}, changed: true},
		{name: "a removed label is restored", actual: func() *bkv1.PluginServer { return newServer() },
			tamper: func(m *metav1.ObjectMeta, _ **int32) { delete(m.Labels, bkv1.LabelServer) }, want: func(*bkv1.PluginServer) {}, changed: true},
		{name: "someone else's label and annotation stay", actual: func() *bkv1.PluginServer { return newServer() },
			tamper: func(m *metav1.ObjectMeta, _ **int32) { m.Labels["team"] = "a"; m.Annotations["note"] = "x" }, want: func(*bkv1.PluginServer) {}, changed: false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			actual := desiredDeployment(tc.actual())
			// What the API server stores carries defaults the operator never set.
			actual.Spec.Template.Spec.Containers[0].TerminationMessagePath = "/dev/termination-log"
			if tc.tamper != nil {
				tc.tamper(&actual.ObjectMeta, &actual.Spec.Replicas)
			}
			if tc.editImage != "" {
				actual.Spec.Template.Spec.Containers[0].Image = tc.editImage
			}
			want := newServer(tc.want)
			changed := mergeDeployment(desiredDeployment(want), actual, tc.hpa)
			if changed != tc.changed {
				t.Fatalf("changed = %v, want %v", changed, tc.changed)
			}
			if got := actual.Spec.Template.Spec.Containers[0].Image; got != want.Spec.Image {
				t.Errorf("image %s, want %s", got, want.Spec.Image)
			}
			if actual.Labels[bkv1.LabelServer] != "hello" {
				t.Errorf("labels %v lost %s", actual.Labels, bkv1.LabelServer)
			}
			if tc.name == "someone else's label and annotation stay" && (actual.Labels["team"] != "a" || actual.Annotations["note"] != "x") {
				t.Errorf("labels %v annotations %v: others' metadata dropped", actual.Labels, actual.Annotations)
			}
		})
	}
}

func TestMergeService(t *testing.T) {
	actual := desiredService(newServer())
	actual.Spec.ClusterIP = "10.0.0.7"
	if mergeService(desiredService(newServer()), actual) {
		t.Error("an unchanged Service was rewritten")
	}
	changed := mergeService(desiredService(newServer(func(s *bkv1.PluginServer) { s.Spec.Port = 9000 })), actual)
	// The Service's port stays 80 and targets the named port, so a new
	// container port changes nothing in it.
	if changed {
		t.Error("a new container port rewrote the Service, which targets the port by name")
	}
	// A selector edited by hand, with the hash as the operator left it.
	actual.Spec.Selector = map[string]string{"app": "other"}
	if !mergeService(desiredService(newServer()), actual) || actual.Spec.Selector[bkv1.LabelServer] != "hello" {
		t.Errorf("selector %v: a hand-edited selector was kept", actual.Spec.Selector)
	}
	actual.Spec.Ports[0].Port = 8081
	if !mergeService(desiredService(newServer()), actual) || actual.Spec.Ports[0].Port != bkv1.ServerServicePort {
		t.Errorf("port %d: a hand-edited port was kept", actual.Spec.Ports[0].Port)
	}
	actual.Spec.Selector = map[string]string{"app": "other"}
	actual.Annotations[AnnotationSpecHash] = "stale"
	if !mergeService(desiredService(newServer()), actual) || actual.Spec.Selector[bkv1.LabelServer] != "hello" || actual.Spec.ClusterIP != "10.0.0.7" {
		t.Errorf("selector %v cluster IP %s: want the server's selector and the cluster IP kept", actual.Spec.Selector, actual.Spec.ClusterIP)
	}
}

func TestMergeHPA(t *testing.T) {
	bounds := func(lo, hi int32) func(*bkv1.PluginServer) {
		return func(s *bkv1.PluginServer) {
			s.Spec.Autoscaling = &bkv1.PluginServerAutoscaling{MinReplicas: ptr.To(lo), MaxReplicas: hi}
		}
	}
	actual := desiredHPA(newServer(bounds(1, 3)))
	if mergeHPA(desiredHPA(newServer(bounds(1, 3))), actual) {
		t.Error("an unchanged autoscaler was rewritten")
	}
	if !mergeHPA(desiredHPA(newServer(bounds(2, 6))), actual) || actual.Spec.MaxReplicas != 6 || *actual.Spec.MinReplicas != 2 {
		t.Errorf("bounds %d..%d, want 2..6", *actual.Spec.MinReplicas, actual.Spec.MaxReplicas)
	}
}

func TestControlledBy(t *testing.T) {
	srv := newServer()
	svc := &corev1.Service{}
	if controlledBy(svc, srv) {
		t.Error("an object with no owner counts as the server's")
	}
	svc.OwnerReferences = []metav1.OwnerReference{{UID: "other", Controller: ptr.To(true)}}
	if controlledBy(svc, srv) {
		t.Error("another owner's object counts as the server's")
	}
	svc.OwnerReferences = []metav1.OwnerReference{{UID: srv.UID, Controller: ptr.To(true)}}
	if !controlledBy(svc, srv) {
		t.Error("the server's own object does not count as its")
	}
}
