package sensitive

import (
	"fmt"

	corev1 "k8s.io/api/core/v1"

	bkv1 "github.com/bkplugin/bk-plugin-operator/api/v1alpha1"
)

// ForeignSecretError is a Secret named like an invocation's sensitive
// Secret that was not made for that invocation: the manager neither reads
// nor adopts it, and the invocation ends FAIL with this error's text.
type ForeignSecretError struct {
	// Namespace and Name name the Secret.
	Namespace, Name string
	// Invocation is the invocation that would have read it.
	Invocation string
	// Why says which mark of its invocation the Secret lacks.
	Why string
}

func (e *ForeignSecretError) Error() string {
	return fmt.Sprintf("Secret %s/%s was not made for invocation %s (%s); the manager neither reads nor adopts it",
		e.Namespace, e.Name, e.Invocation, e.Why)
}

// Verify checks that secret was made for inv: it carries the label
// bkplugin.io/invocation=<inv's name>, which only someone allowed to create
// Secrets can set, and no other PluginInvocation (an earlier one of the
// same name, since deleted) owns it. An invocation's creator could
// otherwise name any Secret of the namespace, have the plugin echo it, and
// have it deleted with the invocation (issue 15, finding 1).
func Verify(secret *corev1.Secret, inv *bkv1.PluginInvocation) error {
	foreign := func(why string) error {
		return &ForeignSecretError{Namespace: secret.Namespace, Name: secret.Name, Invocation: inv.Name, Why: why}
	}
	if got, ok := secret.Labels[bkv1.LabelInvocation]; !ok || got != inv.Name {
		return foreign(fmt.Sprintf("it lacks the label %s=%s", bkv1.LabelInvocation, inv.Name))
	}
	for _, o := range secret.OwnerReferences {
		if o.Kind == "PluginInvocation" && o.UID != inv.UID {
			return foreign(fmt.Sprintf("it belongs to another PluginInvocation %s (uid %s)", o.Name, o.UID))
		}
	}
	return nil
}

// secretLabels are the labels of a sensitive Secret made for the invocation
// named invocation of plugin code.
func secretLabels(invocation, code string) map[string]string {
	return map[string]string{bkv1.LabelPlugin: code, bkv1.LabelInvocation: invocation}
}
