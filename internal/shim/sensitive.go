package shim

import (
	"context"

	"encoding/json"
	"errors"
	corev1 "k8s.io/api/core/v1"
	"net/http"
	"sigs.k8s.io/controller-runtime/pkg/client"

	bkv1 "github.com/bkplugin/bk-plugin-operator/api/v1alpha1"
	"github.com/bkplugin/bk-plugin-operator/internal/sensitive"
	"github.com/bkplugin/bk-plugin-operator/internal/versions"
	"github.com/bkplugin/bk-plugin-operator/sdk/taskjson"
)

// checkTask judges inputs by plv's task.json description. Violations are
// left to the manager (see below); inputs that cannot be judged at all (not
// an object) answer 400 before anything is created. A version whose
// description does not compile answers 409; one whose schemas do not
// compile is left to the manager, which fails the invocation InvalidVersion.
// It returns the names of the sensitive inputs.
func (s *invocations) checkTask(plv *bkv1.PluginVersion, inputs json.RawMessage) ([]string, error) {
	if plv.Spec.TaskJSON == nil {
		return nil, nil
	}
	c, _ := s.compiled.Get(plv)
	if err := c.Err(versions.PartTaskJSON); err != nil {
		return nil, errorf(http.StatusConflict, "plugin %s version %s has an invalid task.json description: %v", plv.Spec.Plugin, plv.Spec.Version, errors.Unwrap(err))
	}
	_, err := c.Task.Evaluate(inputs)
	var ve *taskjson.ViolationsError
	switch {
	case errors.As(err, &ve):
		// Inputs breaking a rule are answered as the Python framework
		// answers inputs failing its model: the invocation is created and
		// the manager, which checks the same rules before the first
		// execute, ends it FAIL "inputs validation error: ...". The caller
		// then gets 200, state 5 and the reason, where a 400 would be
		// thrown away by platforms that read only 200 bodies (bk-sops).
		return c.SensitiveInputs, nil
	case err != nil:
		return nil, errorf(http.StatusBadRequest, "%v", err)
	}
	return c.SensitiveInputs, nil
}

// splitSensitiveInputs takes the sensitive inputs out of inputs (see
// sensitive.SplitInputs), answering 400 for inputs that are not an object.
func splitSensitiveInputs(inputs json.RawMessage, names []string) (public, secret json.RawMessage, err error) {
	public, secret, err = sensitive.SplitInputs(inputs, names)
	if errors.Is(err, sensitive.ErrInputsNotObject) {
		return nil, nil, errorf(http.StatusBadRequest, "invalid request body: inputs must be a JSON object")
	}
	return public, secret, err
}

// createSensitiveSecret stores an invocation's sensitive inputs before the
// invocation exists (see sensitive.CreateInputsSecret). It returns the
// Secret it created, nil when one was there.
func (s *invocations) createSensitiveSecret(ctx context.Context, traceID, code string, inputs json.RawMessage) (*corev1.Secret, error) {
	created, err := sensitive.CreateInputsSecret(ctx, s.kube, s.namespace, traceID, code, inputs)
	if err != nil {
		return nil, kubeErr(err, "store the sensitive inputs of invocation %s", traceID)
	}
	return created, nil
}

// deleteOwnSecret removes the Secret an invoke created for a call that
// then conflicted (409): left behind, no invocation would own it, and
// the invocation that does hold the trace id could read it as its own.
// The UID precondition spares a Secret someone else created since.
func (s *invocations) deleteOwnSecret(ctx context.Context, created *corev1.Secret) {
	if created == nil {
		return
	}
	uid := created.UID
	_ = s.kube.Delete(ctx, created, client.Preconditions{UID: &uid}) // best effort: a 409 is the answer either way
}

// revealOutputs puts the sensitive outputs back into an answer for the
// caller, who owns the invocation (see sensitive.RevealOutputs).
func (s *invocations) revealOutputs(ctx context.Context, inv *bkv1.PluginInvocation, outputs json.RawMessage) json.RawMessage {
	return sensitive.RevealOutputs(ctx, s.kube, inv, outputs)
}
