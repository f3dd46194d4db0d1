// This file holds what an execute does with an invocation's Secret, in
// the manager.

package sensitive

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	bkv1 "github.com/bkplugin/bk-plugin-operator/api/v1alpha1"
)

// Load reads the invocation's Secret through r, which should read around
// the cache: the manager does not cache Secrets, which would put every
// Secret of the cluster in its memory. A Secret that was not made for inv
// (Verify) gives a *ForeignSecretError and is not read.
func Load(ctx context.Context, r client.Reader, inv *bkv1.PluginInvocation) (Values, error) {
	var sv Values
	secret := &corev1.Secret{}
	err := r.Get(ctx, client.ObjectKey{Namespace: inv.Namespace, Name: inv.SensitiveSecretName()}, secret)
	if apierrors.IsNotFound(err) {
		return sv, nil
	}
	if err != nil {
		return sv, fmt.Errorf("read Secret %s/%s of invocation %s: %w", inv.Namespace, inv.SensitiveSecretName(), inv.Name, err)
	}
	if err := Verify(secret, inv); err != nil {
		return sv, err
	}
	sv.Secret = secret
	if raw := secret.Data[bkv1.SensitiveInputsKey]; len(raw) > 0 {
		if err := json.Unmarshal(raw, &sv.Inputs); err != nil {
			return sv, fmt.Errorf("Secret %s/%s: key %q is not a JSON object", inv.Namespace, secret.Name, bkv1.SensitiveInputsKey)
		}
	}
	return sv, nil
}

// StoreOutputs writes sensitive outputs into the invocation's Secret,
// before the masked status is written, so that a crash between the two
// loses nothing: the execute is repeated and the values written again.
func StoreOutputs(ctx context.Context, c client.Writer, inv *bkv1.PluginInvocation, sv Values, values map[string]json.RawMessage) error {
	merged := map[string]json.RawMessage{}
	if sv.Secret != nil {
		if raw := sv.Secret.Data[bkv1.SensitiveOutputsKey]; len(raw) > 0 {
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
	if sv.Secret == nil {
		secret := &corev1.Secret{
			ObjectMeta: metav1.ObjectMeta{
				Name: inv.SensitiveSecretName(), Namespace: inv.Namespace,
				Labels:          secretLabels(inv.Name, inv.Spec.Plugin),
				OwnerReferences: []metav1.OwnerReference{invocationOwnerRef(inv)},
			},
			Type: corev1.SecretTypeOpaque,
			Data: map[string][]byte{bkv1.SensitiveOutputsKey: data},
		}
		if err := c.Create(ctx, secret); err != nil {
			return fmt.Errorf("create Secret %s/%s for sensitive outputs: %w", inv.Namespace, secret.Name, err)
		}
		return nil
	}
	secret := sv.Secret.DeepCopy()
	if secret.Data == nil {
		secret.Data = map[string][]byte{}
	}
	secret.Data[bkv1.SensitiveOutputsKey] = data
	adopt(secret, inv)
	if err := c.Update(ctx, secret); err != nil {
		return fmt.Errorf("store sensitive outputs in Secret %s/%s: %w", inv.Namespace, secret.Name, err)
	}
	return nil
}

// Adopt makes the invocation the owner of a Secret the shim (or a user)
// created before the invocation existed, so that it is deleted with the
// invocation. sv.Secret is one Load verified was made for inv.
func Adopt(ctx context.Context, c client.Writer, inv *bkv1.PluginInvocation, sv Values) error {
	if sv.Secret == nil || !adopt(sv.Secret.DeepCopy(), inv) {
		return nil
	}
	patch, err := json.Marshal(map[string]any{"metadata": map[string]any{
		"resourceVersion": sv.Secret.ResourceVersion,
		"ownerReferences": append(sv.Secret.OwnerReferences, invocationOwnerRef(inv)),
	}})
	if err != nil {
		return err
	}
	if err := c.Patch(ctx, sv.Secret, client.RawPatch("application/merge-patch+json", patch)); err != nil && !apierrors.IsConflict(err) {
		return fmt.Errorf("adopt Secret %s/%s: %w", inv.Namespace, sv.Secret.Name, err)
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
