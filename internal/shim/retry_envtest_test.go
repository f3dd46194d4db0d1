//go:build envtest

package shim_test

import (
	"fmt"
	"net/http"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"

	bkv1 "github.com/bkplugin/bk-plugin-operator/api/v1alpha1"
	bkclient "github.com/bkplugin/bk-plugin-operator/sdk/client"
	"github.com/bkplugin/bk-plugin-operator/sdk/plugin"
	"github.com/bkplugin/bk-plugin-operator/sdk/stdapi"
)

// secondTryPlugin fails its first attempt and succeeds on the next,
// answering the attempt it saw in its context.
func secondTryPlugin() *plugin.Plugin {
	type out struct {
		Attempt int `json:"attempt"`
	}
	p := plugin.MustNew(plugin.Meta{Code: "secondtry", Description: "Test plugin: fails its first attempt."})
	plugin.MustAddVersion(p, plugin.Version[plugin.None, plugin.None, out]{
		Version: "1.0.0",
		Execute: func(ctx *plugin.Context[plugin.None, plugin.None, out]) error {
			ctx.Outputs.Attempt = ctx.Attempt
			if ctx.Attempt < 2 {
				return fmt.Errorf("attempt %d fails", ctx.Attempt)
			}
			return nil
		},
	})
	return p
}

var _ = Describe("extensions: retry", func() {
	It("sets spec.retry from the invoke body, answers POLL once a retry is scheduled, and shows the attempt in schedule", func() {
		a := rawCall(http.MethodPost, stdapi.InvokePath("secondtry", "1.0.0"),
			`{"inputs":{},"context":{},"retry":{"limit":2,"backoff":{"initial_seconds":1,"factor":3,"max_delay_seconds":9,"jitter_percent":0},"retry_on":["PluginFailed"]}}`,
			jsonHeader())
		Expect(a.Status).To(Equal(http.StatusOK), a.Body)
		Expect(a.Env).To(HaveKeyWithValue("result", true))
		Expect(dataOf(a)).To(HaveKeyWithValue("state", BeNumerically("==", 2)), "a scheduled retry is answered POLL, not FAIL")
		traceID := a.Env["trace_id"].(string)

		spec := getInvocation(traceID).Spec.Retry
		Expect(spec).NotTo(BeNil())
		Expect(spec.Limit).To(Equal(int32(2)))
		Expect(spec.RetryOn).To(Equal([]bkv1.RetryOn{bkv1.RetryOnPluginFailed}))
		Expect(*spec.Backoff.InitialSeconds).To(Equal(int32(1)))
		Expect(*spec.Backoff.Factor).To(Equal(int32(3)))
		Expect(*spec.Backoff.MaxDelaySeconds).To(Equal(int32(9)))
		Expect(*spec.Backoff.JitterPercent).To(BeZero())

		final, err := newClient(bkclient.Options{}).WaitTerminal(suiteCtx, "secondtry", traceID, 100*time.Millisecond, nil)
		Expect(err).NotTo(HaveOccurred())
		Expect(final.State.String()).To(Equal("SUCCESS"))

		s := rawCall(http.MethodGet, stdapi.SchedulePath("secondtry", traceID), "", nil)
		Expect(dataOf(s)).To(HaveKeyWithValue("attempt", BeNumerically("==", 2)))
		Expect(dataOf(s)).To(HaveKeyWithValue("outputs", HaveKeyWithValue("attempt", BeNumerically("==", 2))))
	})

	It("runs no retry without a policy, and shows no attempt", func() {
		a := rawCall(http.MethodPost, stdapi.InvokePath("secondtry", "1.0.0"), `{"inputs":{},"context":{}}`, jsonHeader())
		Expect(a.Status).To(Equal(http.StatusOK), a.Body)
		Expect(dataOf(a)).To(HaveKeyWithValue("state", BeNumerically("==", 5)))
		Expect(dataOf(a)).To(HaveKeyWithValue("err", "attempt 1 fails"))
		s := rawCall(http.MethodGet, stdapi.SchedulePath("secondtry", a.Env["trace_id"].(string)), "", nil)
		Expect(dataOf(s)).NotTo(HaveKey("attempt"))
	})

	DescribeTable("refuses a retry out of bounds with a 400 naming the field",
		func(retry, says string) {
			a := rawCall(http.MethodPost, stdapi.InvokePath("secondtry", "1.0.0"), `{"inputs":{},"context":{},"retry":`+retry+`}`, jsonHeader())
			Expect(a.Status).To(Equal(http.StatusBadRequest), a.Body)
			Expect(a.Env).To(HaveKeyWithValue("result", false))
			Expect(a.Env).To(HaveKeyWithValue("message", ContainSubstring(says)))
		},
		Entry("limit too high", `{"limit":101}`, "retry.limit must be between 0 and 100, got 101"),
		Entry("negative limit", `{"limit":-1}`, "retry.limit must be between 0 and 100"),
		Entry("limit not a number", `{"limit":"3"}`, "retry.limit must be a JSON number"),
		Entry("unknown kind", `{"limit":1,"retry_on":["Always"]}`, `retry.retry_on[0] "Always" is not one of`),
		Entry("factor 0", `{"limit":1,"backoff":{"factor":0}}`, "retry.backoff.factor must be between 1 and 10"),
		Entry("initial over max", `{"limit":1,"backoff":{"initial_seconds":60,"max_delay_seconds":10}}`, "must not exceed max_delay_seconds"),
	)
})
