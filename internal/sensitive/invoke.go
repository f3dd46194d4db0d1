// This file holds what an invoke does with an invocation's Secret, in the
// shim.

package sensitive

import (
	"bytes"
	"context"
	"encoding/json"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	bkv1 "github.com/bkplugin/bk-plugin-operator/api/v1alpha1"
)

// CreateInputsSecret stores an invocation's sensitive inputs before the
// invocation (named traceID) exists, so that the manager never runs it
// without them; the manager then makes the invocation the Secret's owner
// (Adopt), after checking the label that binds it to the invocation
// (Verify). A retry of the same invoke finds the Secret there and keeps it.
// It returns the Secret it created, nil when one was there already, so
// that an invoke that turns out to conflict deletes only its own. The
// error is the API server's, unwrapped, for the caller to classify.
func CreateInputsSecret(ctx context.Context, c client.Writer, namespace, traceID, code string, inputs json.RawMessage) (*corev1.Secret, error) {
	secret := &corev1.Secret{
		ObjectMeta: metav1.ObjectMeta{
			Name: traceID + bkv1.SensitiveSecretSuffix, Namespace: namespace,
			Labels: secretLabels(traceID, code),
		},
		Type: corev1.SecretTypeOpaque,
		Data: map[string][]byte{bkv1.SensitiveInputsKey: inputs},
	}
	switch err := c.Create(ctx, secret); {
	case apierrors.IsAlreadyExists(err):
		return nil, nil
	case err != nil:
		return nil, err
	}
	return secret, nil
}

// RevealOutputs puts the sensitive outputs, which status shows masked, back
// into an answer for the caller, who owns the invocation: they are read
// from the invocation's Secret at the time of the answer. Any failure
// leaves the outputs masked.
func RevealOutputs(ctx context.Context, r client.Reader, inv *bkv1.PluginInvocation, outputs json.RawMessage) json.RawMessage {
	if !bytes.Contains(outputs, []byte(`"`+bkv1.SensitiveMask+`"`)) {
		return outputs
	}
	secret := &corev1.Secret{}
	if err := r.Get(ctx, client.ObjectKey{Namespace: inv.Namespace, Name: inv.SensitiveSecretName()}, secret); err != nil {
		return outputs
	}
	if Verify(secret, inv) != nil {
		return outputs
	}
	var hidden map[string]json.RawMessage
	if json.Unmarshal(secret.Data[bkv1.SensitiveOutputsKey], &hidden) != nil || len(hidden) == 0 {
		return outputs
	}
	var out map[string]json.RawMessage
	if json.Unmarshal(outputs, &out) != nil {
		return outputs
	}
	for k, v := range hidden {
		if _, ok := out[k]; ok {
			out[k] = v
		}
	}
	revealed, err := json.Marshal(out)
	if err != nil {
		return outputs
	}
	return revealed
}
