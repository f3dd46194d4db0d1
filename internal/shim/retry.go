package shim

import (
	"encoding/json"

	bkv1 "github.com/bkplugin/bk-plugin-operator/api/v1alpha1"
	"github.com/bkplugin/bk-plugin-operator/internal/archive"
	"github.com/bkplugin/bk-plugin-operator/sdk/stdapi"
)

// retryPolicyOf is the invoke body's retry extension as the invocation's
// spec.retry; nil when the body sets none. The body was validated
// (stdapi.InvokeRequest.Validate) against the CRD's bounds.
func retryPolicyOf(p *stdapi.RetryPolicy) *bkv1.RetryPolicy {
	if p == nil {
		return nil
	}
	out := &bkv1.RetryPolicy{Limit: p.Limit}
	for _, k := range p.RetryOn {
		out.RetryOn = append(out.RetryOn, bkv1.RetryOn(k))
	}
	if b := p.Backoff; b != nil {
		out.Backoff = &bkv1.RetryBackoff{InitialSeconds: b.InitialSeconds, Factor: b.Factor,
			MaxDelaySeconds: b.MaxDelaySeconds, JitterPercent: b.JitterPercent}
	}
	return out
}

// attemptOf is the attempt a live invocation shows in schedule: set only
// for one that runs under a retry policy (it has recorded an attempt or
// retried one).
func attemptOf(inv *bkv1.PluginInvocation) int32 {
	if inv.Status.Attempt == 0 && len(inv.Status.Attempts) == 0 {
		return 0
	}
	return max(inv.Status.Attempt, 1)
}

// recordAttempt is the last attempt an archived invocation ran, from its
// attempts JSON; 0 when it has none.
func recordAttempt(rec *archive.Record) int32 {
	if len(rec.Attempts) == 0 {
		return 0
	}
	var attempts []struct {
		Attempt int32 `json:"attempt"`
	}
	if json.Unmarshal(rec.Attempts, &attempts) != nil || len(attempts) == 0 {
		return 0
	}
	return attempts[len(attempts)-1].Attempt
}

// mayRetry reports whether an invoke of plv with the body's retry policy
// may run more than one attempt: the invoke's policy wins over the
// version's as a whole, and a policy with limit 0 retries nothing. Such an
// invoke is live work that the manager retries, so it must go through the
// cluster (a PluginInvocation) even where the shim would make the first
// execute itself.
func mayRetry(body *stdapi.RetryPolicy, plv *bkv1.PluginVersion) bool {
	if body != nil {
		return body.Limit > 0
	}
	return plv != nil && plv.Spec.Retry != nil && plv.Spec.Retry.Limit > 0
}
