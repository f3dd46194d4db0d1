package stdapi

import (
	"fmt"
	"slices"
)

// RetryPolicy is the invoke body's retry extension (the Python framework
// has none; bk-sops #1810 asked for it): a failed attempt of the invocation
// runs again, from a clean state, after a backoff. It becomes the
// PluginInvocation's spec.retry and wins over the version's own policy.
type RetryPolicy struct {
	// Limit is how many times a failed attempt is retried (0..100); 0
	// turns the version's retries off for this call.
	Limit int32 `json:"limit"`
	// Backoff shapes the wait before each retry; unset fields take the
	// defaults (5 s, factor 2, at most 300 s, 10% jitter).
	Backoff *RetryBackoff `json:"backoff,omitempty"`
	// RetryOn lists the failures retried: "PluginFailed", "Transport",
	// "Timeout"; unset means all three.
	RetryOn []string `json:"retry_on,omitempty"`
}

// RetryBackoff is the wait before retry n: initial_seconds ×
// factor^(n-1), at most max_delay_seconds, less up to jitter_percent.
type RetryBackoff struct {
	InitialSeconds  *int32 `json:"initial_seconds,omitempty"`
	Factor          *int32 `json:"factor,omitempty"`
	MaxDelaySeconds *int32 `json:"max_delay_seconds,omitempty"`
	JitterPercent   *int32 `json:"jitter_percent,omitempty"`
}

// Bounds of RetryPolicy: those of the CRD's spec.retry (api/v1alpha1
// retry_types.go), checked here so that a caller gets a 400 naming the
// field rather than the API server's refusal.
const (
	MaxRetryLimit        = 100
	MaxRetryDelaySeconds = 86400
	MaxRetryFactor       = 10
)

// RetryOnKinds are the failure kinds RetryPolicy.RetryOn accepts.
var RetryOnKinds = []string{"PluginFailed", "Transport", "Timeout"}

// Validate says what is wrong with the policy, naming the field.
func (p *RetryPolicy) Validate() error {
	if p == nil {
		return nil
	}
	if p.Limit < 0 || p.Limit > MaxRetryLimit {
		return fmt.Errorf("retry.limit must be between 0 and %d, got %d", MaxRetryLimit, p.Limit)
	}
	if len(p.RetryOn) > len(RetryOnKinds) {
		return fmt.Errorf("retry.retry_on lists %d kinds; there are %d: %v", len(p.RetryOn), len(RetryOnKinds), RetryOnKinds)
	}
	for i, k := range p.RetryOn {
		if !slices.Contains(RetryOnKinds, k) {
			return fmt.Errorf("retry.retry_on[%d] %q is not one of %v", i, k, RetryOnKinds)
		}
		if slices.Contains(p.RetryOn[:i], k) {
			return fmt.Errorf("retry.retry_on lists %q twice", k)
		}
	}
	b := p.Backoff
	if b == nil {
		return nil
	}
	for _, f := range []struct {
		name     string
		v        *int32
		min, max int32
	}{
		{"initial_seconds", b.InitialSeconds, 0, MaxRetryDelaySeconds},
		{"factor", b.Factor, 1, MaxRetryFactor},
		{"max_delay_seconds", b.MaxDelaySeconds, 1, MaxRetryDelaySeconds},
		{"jitter_percent", b.JitterPercent, 0, 100},
	} {
		if f.v != nil && (*f.v < f.min || *f.v > f.max) {
			return fmt.Errorf("retry.backoff.%s must be between %d and %d, got %d", f.name, f.min, f.max, *f.v)
		}
	}
	if b.InitialSeconds != nil && b.MaxDelaySeconds != nil && *b.InitialSeconds > *b.MaxDelaySeconds {
		return fmt.Errorf("retry.backoff.initial_seconds (%d) must not exceed max_delay_seconds (%d)", *b.InitialSeconds, *b.MaxDelaySeconds)
	}
	return nil
}
