package shim

import (
	"encoding/json"
	"reflect"
	"strings"
	"testing"

	bkv1 "github.com/bkplugin/bk-plugin-operator/api/v1alpha1"
	"github.com/bkplugin/bk-plugin-operator/internal/archive"
	"github.com/bkplugin/bk-plugin-operator/sdk/stdapi"
)

// The invoke body's bounds are the CRD's: a body the shim accepts is never
// refused by the API server, and one the API server would refuse gets a
// 400 naming the field.
func TestRetryBoundsMatchTheCRD(t *testing.T) {
	if stdapi.MaxRetryLimit != bkv1.MaxRetryLimit || stdapi.MaxRetryDelaySeconds != bkv1.MaxRetryDelaySeconds || stdapi.MaxRetryFactor != bkv1.MaxRetryFactor {
		t.Errorf("stdapi retry bounds (%d, %d, %d) differ from api/v1alpha1's (%d, %d, %d)",
			stdapi.MaxRetryLimit, stdapi.MaxRetryDelaySeconds, stdapi.MaxRetryFactor, bkv1.MaxRetryLimit, bkv1.MaxRetryDelaySeconds, bkv1.MaxRetryFactor)
	}
	want := []string{string(bkv1.RetryOnPluginFailed), string(bkv1.RetryOnTransport), string(bkv1.RetryOnTimeout)}
	if !reflect.DeepEqual(stdapi.RetryOnKinds, want) {
		t.Errorf("stdapi.RetryOnKinds = %v, want %v", stdapi.RetryOnKinds, want)
	}
}

func TestRetryPolicyOf(t *testing.T) {
	i32 := func(v int32) *int32 { return &v }
	if got := retryPolicyOf(nil); got != nil {
		t.Errorf("retryPolicyOf(nil) = %+v, want nil", got)
	}
	got := retryPolicyOf(&stdapi.RetryPolicy{Limit: 2, RetryOn: []string{"Transport"},
		Backoff: &stdapi.RetryBackoff{InitialSeconds: i32(1), Factor: i32(3), MaxDelaySeconds: i32(9), JitterPercent: i32(0)}})
	want := &bkv1.RetryPolicy{Limit: 2, RetryOn: []bkv1.RetryOn{bkv1.RetryOnTransport},
		Backoff: &bkv1.RetryBackoff{InitialSeconds: i32(1), Factor: i32(3), MaxDelaySeconds: i32(9), JitterPercent: i32(0)}}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("retryPolicyOf = %+v, want %+v", got, want)
	}
	if got := retryPolicyOf(&stdapi.RetryPolicy{Limit: 0}); got == nil || got.Limit != 0 || got.Backoff != nil {
		t.Errorf("limit 0 must stay a policy (it turns the version's off): %+v", got)
	}
}

func TestDecodeInvokeRetry(t *testing.T) {
	req, err := decodeInvoke([]byte(`{"inputs":{},"context":{},"retry":{"limit":3,"backoff":{"initial_seconds":2},"retry_on":["Timeout"]}}`))
	if err != nil {
		t.Fatalf("decodeInvoke: %v", err)
	}
	if req.Retry == nil || req.Retry.Limit != 3 || *req.Retry.Backoff.InitialSeconds != 2 || req.Retry.RetryOn[0] != "Timeout" {
		t.Errorf("retry = %+v", req.Retry)
	}
	for body, says := range map[string]string{
		`{"inputs":{},"context":{},"retry":{"limit":"x"}}`:                      "field retry.limit must be a JSON number",
		`{"inputs":{},"context":{},"retry":{"limit":1,"retry_on":["Nope"]}}`:    `retry.retry_on[0] "Nope"`,
		`{"inputs":{},"context":{},"retry":{"limit":1,"backoff":{"factor":0}}}`: "retry.backoff.factor",
		`{"inputs":{},"context":{},"retry":[1]}`:                                "field retry must be a JSON object",
	} {
		_, err := decodeInvoke([]byte(body))
		if err == nil || !strings.Contains(err.Error(), says) {
			t.Errorf("decodeInvoke(%s) = %v, want a 400 saying %q", body, err, says)
			continue
		}
		if status, _ := statusOf(err); status != 400 {
			t.Errorf("decodeInvoke(%s) = %v, want a 400 saying %q", body, err, says)
		}
	}
}

func TestAttemptOf(t *testing.T) {
	cases := []struct {
		name string
		st   bkv1.PluginInvocationStatus
		want int32
	}{
		{"no policy: no attempt shown", bkv1.PluginInvocationStatus{}, 0},
		{"retrying", bkv1.PluginInvocationStatus{Attempt: 2}, 2},
		{"first attempt ended under a policy", bkv1.PluginInvocationStatus{Attempts: []bkv1.AttemptStatus{{Attempt: 1}}}, 1},
	}
	for _, c := range cases {
		if got := attemptOf(&bkv1.PluginInvocation{Status: c.st}); got != c.want {
			t.Errorf("%s: attemptOf = %d, want %d", c.name, got, c.want)
		}
	}
	attempts, _ := json.Marshal([]bkv1.AttemptStatus{{Attempt: 1}, {Attempt: 2}})
	if got := recordAttempt(&archive.Record{Attempts: attempts}); got != 2 {
		t.Errorf("recordAttempt = %d, want 2", got)
	}
	if got := recordAttempt(&archive.Record{}); got != 0 {
		t.Errorf("recordAttempt of no attempts = %d, want 0", got)
	}
}

func TestMayRetry(t *testing.T) {
	version := func(p *bkv1.RetryPolicy) *bkv1.PluginVersion {
		return &bkv1.PluginVersion{Spec: bkv1.PluginVersionSpec{Retry: p}}
	}
	cases := []struct {
		name string
		body *stdapi.RetryPolicy
		plv  *bkv1.PluginVersion
		want bool
	}{
		{"no policy anywhere", nil, version(nil), false},
		{"the version retries", nil, version(&bkv1.RetryPolicy{Limit: 2}), true},
		{"the version's limit 0", nil, version(&bkv1.RetryPolicy{Limit: 0}), false},
		{"the invoke retries", &stdapi.RetryPolicy{Limit: 1}, version(nil), true},
		{"the invoke turns the version's off", &stdapi.RetryPolicy{Limit: 0}, version(&bkv1.RetryPolicy{Limit: 5}), false},
	}
	for _, c := range cases {
		if got := mayRetry(c.body, c.plv); got != c.want {
			t.Errorf("%s: mayRetry = %v, want %v", c.name, got, c.want)
		}
	}
}
