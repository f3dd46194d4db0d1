package app

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"sync"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"

	bkv1 "github.com/bkplugin/bk-plugin-operator/api/v1alpha1"
	"github.com/bkplugin/bk-plugin-operator/sdk/taskjson"
)

// taskEvaluators compiles each version's task.json description once per
// change of the version, not once per invoke.
type taskEvaluators struct {
	mu      sync.Mutex
	entries map[types.UID]taskEvaluator
}

type taskEvaluator struct {
	resourceVersion string
	eval            *taskjson.Evaluator
}

func newTaskEvaluators() *taskEvaluators {
	return &taskEvaluators{entries: map[types.UID]taskEvaluator{}}
}

// check judges inputs by plv's task.json description: 400 naming every
// violation (never a value) before anything is created.
func (t *taskEvaluators) check(plv *bkv1.PluginVersion, inputs json.RawMessage) error {
	if plv.Spec.TaskJSON == nil {
		return nil
	}
	t.mu.Lock()
	e, ok := t.entries[plv.UID]
	if !ok || e.resourceVersion != plv.ResourceVersion {
		ev, err := taskjson.Compile(plv.Spec.TaskJSON)
		if err != nil {
			t.mu.Unlock()
			return errorf(http.StatusConflict, "plugin %s version %s has an invalid task.json description: %v", plv.Spec.Plugin, plv.Spec.Version, err)
		}
		e = taskEvaluator{resourceVersion: plv.ResourceVersion, eval: ev}
		t.entries[plv.UID] = e
	}
	t.mu.Unlock()
	if _, err := e.eval.Evaluate(inputs); err != nil {
		return errorf(http.StatusBadRequest, "%v", err)
	}
	return nil
}

// splitSensitiveInputs takes the sensitive inputs out of inputs: they go to
// the invocation's Secret and never into its spec, which every reader of
// the invocation sees. secret is nil when there are none.
func splitSensitiveInputs(inputs json.RawMessage, sensitive []string) (public, secret json.RawMessage, err error) {
	if len(sensitive) == 0 || len(bytes.TrimSpace(inputs)) == 0 {
		return inputs, nil, nil
	}
	var in map[string]json.RawMessage
	if err := json.Unmarshal(inputs, &in); err != nil {
		return nil, nil, errorf(http.StatusBadRequest, "invalid request body: inputs must be a JSON object")
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

// createSensitiveSecret stores an invocation's sensitive inputs before the
// invocation exists, so that the manager never runs it without them; the
// manager then makes the invocation the Secret's owner. A retry of the same
// invoke finds the Secret there and keeps it.
func (s *invocations) createSensitiveSecret(ctx context.Context, traceID, code string, inputs json.RawMessage) error {
	secret := &corev1.Secret{
		ObjectMeta: metav1.ObjectMeta{
			Name: traceID + bkv1.SensitiveSecretSuffix, Namespace: s.namespace,
			Labels: map[string]string{bkv1.LabelPlugin: code},
		},
		Type: corev1.SecretTypeOpaque,
		Data: map[string][]byte{bkv1.SensitiveInputsKey: inputs},
	}
	if err := s.kube.Create(ctx, secret); err != nil && !apierrors.IsAlreadyExists(err) {
		return kubeErr(err, "store the sensitive inputs of invocation %s", traceID)
	}
	return nil
}

// revealOutputs puts the sensitive outputs, which status shows masked, back
// into an answer for the caller, who owns the invocation: they are read
// from the invocation's Secret at the time of the answer.
func (s *invocations) revealOutputs(ctx context.Context, inv *bkv1.PluginInvocation, outputs json.RawMessage) json.RawMessage {
	if !bytes.Contains(outputs, []byte(`"`+bkv1.SensitiveMask+`"`)) {
		return outputs
	}
	secret := &corev1.Secret{}
	if err := s.kube.Get(ctx, client.ObjectKey{Namespace: inv.Namespace, Name: inv.SensitiveSecretName()}, secret); err != nil {
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

// sensitiveOf names the sensitive inputs of plv.
func sensitiveOf(plv *bkv1.PluginVersion) []string {
	if plv.Spec.TaskJSON == nil {
		return nil
	}
	return taskjson.SensitiveInputs(plv.Spec.TaskJSON)
}
