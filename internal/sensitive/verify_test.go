package sensitive

import (
	"errors"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"

	bkv1 "github.com/bkplugin/bk-plugin-operator/api/v1alpha1"
)

// TestVerify is issue 15's finding 1 as a table: the manager reads and
// adopts only a Secret made for the invocation.
func TestVerify(t *testing.T) {
	inv := &bkv1.PluginInvocation{}
	inv.Name, inv.Namespace, inv.UID = "trace1", "ns", "uid-1"
	secret := func(labels map[string]string, owners ...metav1.OwnerReference) *corev1.Secret {
		s := &corev1.Secret{}
		s.Name, s.Namespace, s.Labels, s.OwnerReferences = "trace1-sensitive", "ns", labels, owners
		return s
	}
	mine := map[string]string{bkv1.LabelInvocation: "trace1"}
	owner := func(uid string) metav1.OwnerReference {
		return metav1.OwnerReference{APIVersion: bkv1.GroupVersion.String(), Kind: "PluginInvocation", Name: "trace1", UID: types.UID(uid)}
	}
	cases := []struct {
		name    string
		secret  *corev1.Secret
		foreign string
	}{
		{name: "made for it, not adopted yet", secret: secret(mine)},
		{name: "made for it and adopted", secret: secret(mine, owner("uid-1"))},
		{name: "owned by something else too", secret: secret(mine, metav1.OwnerReference{Kind: "Deployment", UID: "d"})},
		{name: "an unrelated Secret without the label", secret: secret(nil), foreign: "lacks the label bkplugin.io/invocation=trace1"},
		{name: "made for another invocation", secret: secret(map[string]string{bkv1.LabelInvocation: "other"}), foreign: "lacks the label"},
		{name: "left by a deleted invocation of the same name", secret: secret(mine, owner("uid-0")), foreign: "belongs to another PluginInvocation trace1 (uid uid-0)"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			err := Verify(tc.secret, inv)
			if tc.foreign == "" {
				if err != nil {
					t.Fatalf("Verify = %v, want nil", err)
				}
				return
			}
			var fe *ForeignSecretError
			if !errors.As(err, &fe) || !strings.Contains(err.Error(), tc.foreign) || !strings.Contains(err.Error(), "ns/trace1-sensitive") {
				t.Fatalf("Verify = %v, want a ForeignSecretError saying %q", err, tc.foreign)
			}
		})
	}
}
