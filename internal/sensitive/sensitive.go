// Package sensitive keeps the values a version's task.json marks
// isSensitive out of every place an invocation's readers see: the shim moves
// sensitive inputs into a Secret before the invocation exists and reveals
// sensitive outputs only to the caller; the manager merges the inputs back
// for the plugin pod, masks the outputs in status, stores them in the
// Secret and scrubs error messages.
package sensitive

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	bkv1 "github.com/bkplugin/bk-plugin-operator/api/v1alpha1"
)

// ErrInputsNotObject is returned by SplitInputs for inputs that are not a
// JSON object, so that sensitive fields cannot be found in them.
var ErrInputsNotObject = errors.New("inputs must be a JSON object")

// Values is what one execute knows of an invocation's secrets.
type Values struct {
	// Inputs are the sensitive inputs, read from the Secret.
	Inputs map[string]json.RawMessage
	// Secret is the Secret as read, nil when it does not exist.
	Secret *corev1.Secret
}

// Load reads the invocation's Secret through r, which should read around
// the cache: the manager does not cache Secrets, which would put every
// Secret of the cluster in its memory.
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
	sv.Secret = secret
	if raw := secret.Data[bkv1.SensitiveInputsKey]; len(raw) > 0 {
		if err := json.Unmarshal(raw, &sv.Inputs); err != nil {
			return sv, fmt.Errorf("Secret %s/%s: key %q is not a JSON object", inv.Namespace, secret.Name, bkv1.SensitiveInputsKey)
		}
	}
	return sv, nil
}

// ClearInputs names the sensitive inputs given in clear in spec.inputs,
// where every reader of the invocation would see them.
func ClearInputs(specInputs json.RawMessage, sensitive []string) []string {
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

// MergeInputs lays the sensitive inputs over spec.inputs, for the plugin pod.
func MergeInputs(specInputs json.RawMessage, secretInputs map[string]json.RawMessage) (json.RawMessage, error) {
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

// SplitOutputs moves the sensitive outputs out of an answer's outputs: it
// returns the outputs with those values masked, and the values.
func SplitOutputs(outputs json.RawMessage, sensitive []string) (json.RawMessage, map[string]json.RawMessage, error) {
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
				Labels:          map[string]string{bkv1.LabelPlugin: inv.Spec.Plugin},
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
// invocation.
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

// Scrub replaces every sensitive string value in msg with the mask, so that
// a plugin's error message cannot carry a secret into status or events.
func Scrub(msg string, values ...map[string]json.RawMessage) string {
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

// SplitInputs takes the sensitive inputs out of an invoke's inputs: they go
// to the invocation's Secret and never into its spec, which every reader of
// the invocation sees. secret is nil when there are none; inputs that are
// not a JSON object give ErrInputsNotObject.
func SplitInputs(inputs json.RawMessage, sensitive []string) (public, secret json.RawMessage, err error) {
	if len(sensitive) == 0 || len(bytes.TrimSpace(inputs)) == 0 {
		return inputs, nil, nil
	}
	var in map[string]json.RawMessage
	if err := json.Unmarshal(inputs, &in); err != nil {
		return nil, nil, ErrInputsNotObject
	}
	out := map[string]json.RawMessage{}
	for _, f := range sensitive {
		if v, ok := in[f]; ok {
			out[f] = v
			delete(in, f)
		}
	}
	if len(out) == 0 {
		return inputs, nil, nil
	}
	if public, err = json.Marshal(in); err != nil {
		return nil, nil, err
	}
	secret, err = json.Marshal(out)
	return public, secret, err
}

// CreateInputsSecret stores an invocation's sensitive inputs before the
// invocation (named traceID) exists, so that the manager never runs it
// without them; the manager then makes the invocation the Secret's owner
// (Adopt). A retry of the same invoke finds the Secret there and keeps it.
// The error is the API server's, unwrapped, for the caller to classify.
func CreateInputsSecret(ctx context.Context, c client.Writer, namespace, traceID, code string, inputs json.RawMessage) error {
	secret := &corev1.Secret{
		ObjectMeta: metav1.ObjectMeta{
			Name: traceID + bkv1.SensitiveSecretSuffix, Namespace: namespace,
			Labels: map[string]string{bkv1.LabelPlugin: code},
		},
		Type: corev1.SecretTypeOpaque,
		Data: map[string][]byte{bkv1.SensitiveInputsKey: inputs},
	}
	if err := c.Create(ctx, secret); err != nil && !apierrors.IsAlreadyExists(err) {
		return err
	}
	return nil
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
