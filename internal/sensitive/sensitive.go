package controllers

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strings"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	bkv1 "github.com/bkplugin/bk-plugin-operator/api/v1alpha1"
)

// Sensitive values (fields a version's task.json marks isSensitive) never
// enter an invocation's spec or status: inputs come from a Secret owned by
// the invocation, outputs go to it and status shows them masked, and error
// messages are scrubbed of them. The plugin pod still gets the real inputs.

// sensitiveValues is what one execute knows of an invocation's secrets.
type sensitiveValues struct {
	// inputs are the sensitive inputs, read from the Secret.
	inputs map[string]json.RawMessage
	// secret is the Secret as read, nil when it does not exist.
	secret *corev1.Secret
}

// loadSensitiveInputs reads the invocation's Secret, around the cache: the
// manager does not cache Secrets, which would put every Secret of the
// cluster in its memory.
func (r *PluginInvocationReconciler) loadSensitiveInputs(ctx context.Context, inv *bkv1.PluginInvocation) (sensitiveValues, error) {
	var sv sensitiveValues
	secret := &corev1.Secret{}
	err := r.APIReader.Get(ctx, client.ObjectKey{Namespace: inv.Namespace, Name: inv.SensitiveSecretName()}, secret)
	if apierrors.IsNotFound(err) {
		return sv, nil
	}
	if err != nil {
		return sv, fmt.Errorf("read Secret %s/%s of invocation %s: %w", inv.Namespace, inv.SensitiveSecretName(), inv.Name, err)
	}
	sv.secret = secret
	if raw := secret.Data[bkv1.SensitiveInputsKey]; len(raw) > 0 {
		if err := json.Unmarshal(raw, &sv.inputs); err != nil {
			return sv, fmt.Errorf("Secret %s/%s: key %q is not a JSON object", inv.Namespace, secret.Name, bkv1.SensitiveInputsKey)
		}
	}
	return sv, nil
}

// clearSensitiveInputs names the sensitive inputs given in clear in
// spec.inputs, where every reader of the invocation would see them.
func clearSensitiveInputs(specInputs json.RawMessage, sensitive []string) []string {
	if len(sensitive) == 0 || len(bytes.TrimSpace(specInputs)) == 0 {
		return nil
	}
	var in map[string]json.RawMessage
	if json.Unmarshal(specInputs, &in) != nil {
		return nil
	}
	var found []string
	for _, f := range sensitive {
		if v, ok := in[f]; ok && !bytes.Equal(bytes.TrimSpace(v), []byte("null")) {
			found = append(found, f)
		}
	}
	return found
}

// mergeInputs lays the sensitive inputs over spec.inputs.
func mergeInputs(specInputs json.RawMessage, secretInputs map[string]json.RawMessage) (json.RawMessage, error) {
	if len(secretInputs) == 0 {
		return specInputs, nil
	}
	in := map[string]json.RawMessage{}
	if len(bytes.TrimSpace(specInputs)) > 0 {
		if err := json.Unmarshal(specInputs, &in); err != nil {
			return nil, fmt.Errorf("spec.inputs is not a JSON object: %w", err)
		}
	}
	for k, v := range secretInputs {
		in[k] = v
	}
	return json.Marshal(in)
}

// splitOutputs moves the sensitive outputs out of an answer's outputs: it
// returns the outputs with those values masked, and the values.
func splitOutputs(outputs json.RawMessage, sensitive []string) (json.RawMessage, map[string]json.RawMessage, error) {
	if len(sensitive) == 0 || len(bytes.TrimSpace(outputs)) == 0 {
		return outputs, nil, nil
	}
	var out map[string]json.RawMessage
	if err := json.Unmarshal(outputs, &out); err != nil || out == nil {
		// Not an object: applyAnswer refuses it with a protocol error.
		return outputs, nil, nil
	}
	secret := map[string]json.RawMessage{}
	mask, _ := json.Marshal(bkv1.SensitiveMask)
	for _, f := range sensitive {
		if v, ok := out[f]; ok {
			secret[f] = v
			out[f] = mask
		}
	}
	if len(secret) == 0 {
		return outputs, nil, nil
	}
	masked, err := json.Marshal(out)
	return masked, secret, err
}

// storeSensitiveOutputs writes sensitive outputs into the invocation's
// Secret, before the masked status is written, so that a crash between the
// two loses nothing: the execute is repeated and the values written again.
func (r *PluginInvocationReconciler) storeSensitiveOutputs(ctx context.Context, inv *bkv1.PluginInvocation, sv sensitiveValues, values map[string]json.RawMessage) error {
	merged := map[string]json.RawMessage{}
	if sv.secret != nil {
		if raw := sv.secret.Data[bkv1.SensitiveOutputsKey]; len(raw) > 0 {
			_ = json.Unmarshal(raw, &merged)
		}
	}
	for k, v := range values {
		merged[k] = v
	}
	data, err := json.Marshal(merged)
	if err != nil {
		return fmt.Errorf("encode sensitive outputs: %w", err)
	}
	if sv.secret == nil {
		secret := &corev1.Secret{
			ObjectMeta: metav1.ObjectMeta{
				Name: inv.SensitiveSecretName(), Namespace: inv.Namespace,
				Labels:          map[string]string{bkv1.LabelPlugin: inv.Spec.Plugin},
				OwnerReferences: []metav1.OwnerReference{invocationOwnerRef(inv)},
			},
			Type: corev1.SecretTypeOpaque,
			Data: map[string][]byte{bkv1.SensitiveOutputsKey: data},
		}
		if err := r.Create(ctx, secret); err != nil {
			return fmt.Errorf("create Secret %s/%s for sensitive outputs: %w", inv.Namespace, secret.Name, err)
		}
		return nil
	}
	secret := sv.secret.DeepCopy()
	if secret.Data == nil {
		secret.Data = map[string][]byte{}
	}
	secret.Data[bkv1.SensitiveOutputsKey] = data
	adopt(secret, inv)
	if err := r.Update(ctx, secret); err != nil {
		return fmt.Errorf("store sensitive outputs in Secret %s/%s: %w", inv.Namespace, secret.Name, err)
	}
	return nil
}

// adoptSensitiveSecret makes the invocation the owner of a Secret the shim
// (or a user) created before the invocation existed, so that it is deleted
// with the invocation.
func (r *PluginInvocationReconciler) adoptSensitiveSecret(ctx context.Context, inv *bkv1.PluginInvocation, sv sensitiveValues) error {
	if sv.secret == nil || !adopt(sv.secret.DeepCopy(), inv) {
		return nil
	}
	patch, err := json.Marshal(map[string]any{"metadata": map[string]any{
		"resourceVersion": sv.secret.ResourceVersion,
		"ownerReferences": append(sv.secret.OwnerReferences, invocationOwnerRef(inv)),
	}})
	if err != nil {
		return err
	}
	if err := r.Patch(ctx, sv.secret, client.RawPatch("application/merge-patch+json", patch)); err != nil && !apierrors.IsConflict(err) {
		return fmt.Errorf("adopt Secret %s/%s: %w", inv.Namespace, sv.secret.Name, err)
	}
	return nil
}

// adopt adds inv as an owner of secret; it reports whether it had to.
func adopt(secret *corev1.Secret, inv *bkv1.PluginInvocation) bool {
	if slices.ContainsFunc(secret.OwnerReferences, func(o metav1.OwnerReference) bool { return o.UID == inv.UID }) {
		return false
	}
	secret.OwnerReferences = append(secret.OwnerReferences, invocationOwnerRef(inv))
	return true
}

func invocationOwnerRef(inv *bkv1.PluginInvocation) metav1.OwnerReference {
	return metav1.OwnerReference{
		APIVersion: bkv1.GroupVersion.String(), Kind: "PluginInvocation",
		Name: inv.Name, UID: inv.UID, BlockOwnerDeletion: new(bool),
	}
}

// scrub replaces every sensitive string value in msg with the mask, so that
// a plugin's error message cannot carry a secret into status or events.
func scrub(msg string, values ...map[string]json.RawMessage) string {
	for _, m := range values {
		for _, raw := range m {
			var s string
			if json.Unmarshal(raw, &s) != nil {
				s = strings.TrimSpace(string(raw))
			}
			if len(s) >= 3 {
				msg = strings.ReplaceAll(msg, s, bkv1.SensitiveMask)
			}
		}
	}
	return msg
}
