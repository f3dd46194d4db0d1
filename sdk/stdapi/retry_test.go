package stdapi

import (
	"strings"
	"testing"
)

func TestRetryPolicyValidate(t *testing.T) {
	i32 := func(v int32) *int32 { return &v }
	cases := []struct {
		name string
		p    *RetryPolicy
		want string // "" when valid
	}{
		{"unset", nil, ""},
		{"limit only", &RetryPolicy{Limit: 3}, ""},
		{"limit 0 turns retries off", &RetryPolicy{Limit: 0}, ""},
		{"everything at its bounds", &RetryPolicy{Limit: 100, RetryOn: []string{"Timeout", "Transport", "PluginFailed"},
			Backoff: &RetryBackoff{InitialSeconds: i32(0), Factor: i32(10), MaxDelaySeconds: i32(86400), JitterPercent: i32(100)}}, ""},
		{"limit over", &RetryPolicy{Limit: 101}, "retry.limit must be between 0 and 100, got 101"},
		{"limit negative", &RetryPolicy{Limit: -1}, "retry.limit must be between 0 and 100, got -1"},
		{"unknown kind", &RetryPolicy{Limit: 1, RetryOn: []string{"OnError"}}, `retry.retry_on[0] "OnError" is not one of`},
		{"kind twice", &RetryPolicy{Limit: 1, RetryOn: []string{"Transport", "Transport"}}, `retry.retry_on lists "Transport" twice`},
		{"too many kinds", &RetryPolicy{Limit: 1, RetryOn: []string{"Transport", "Timeout", "PluginFailed", "Transport"}}, "retry.retry_on lists 4 kinds"},
		{"negative initial", &RetryPolicy{Limit: 1, Backoff: &RetryBackoff{InitialSeconds: i32(-1)}}, "retry.backoff.initial_seconds must be between 0 and 86400"},
		{"factor 0", &RetryPolicy{Limit: 1, Backoff: &RetryBackoff{Factor: i32(0)}}, "retry.backoff.factor must be between 1 and 10, got 0"},
		{"factor 11", &RetryPolicy{Limit: 1, Backoff: &RetryBackoff{Factor: i32(11)}}, "retry.backoff.factor must be between 1 and 10, got 11"},
		{"max delay 0", &RetryPolicy{Limit: 1, Backoff: &RetryBackoff{MaxDelaySeconds: i32(0)}}, "retry.backoff.max_delay_seconds must be between 1 and 86400"},
		{"jitter 101", &RetryPolicy{Limit: 1, Backoff: &RetryBackoff{JitterPercent: i32(101)}}, "retry.backoff.jitter_percent must be between 0 and 100"},
		{"initial over max", &RetryPolicy{Limit: 1, Backoff: &RetryBackoff{InitialSeconds: i32(20), MaxDelaySeconds: i32(10)}}, "retry.backoff.initial_seconds (20) must not exceed max_delay_seconds (10)"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			err := c.p.Validate()
			switch {
			case c.want == "" && err != nil:
				t.Errorf("Validate() = %v, want nil", err)
			case c.want != "" && (err == nil || !strings.Contains(err.Error(), c.want)):
				t.Errorf("Validate() = %v, want an error containing %q", err, c.want)
			}
		})
	}
	// The invoke body's Validate checks it.
	req := InvokeRequest{Inputs: []byte(`{}`), Context: []byte(`{}`), Retry: &RetryPolicy{Limit: 500}}
	if err := req.Validate(); err == nil || !strings.Contains(err.Error(), "retry.limit") {
		t.Errorf("InvokeRequest.Validate() = %v, want the retry error", err)
	}
}
