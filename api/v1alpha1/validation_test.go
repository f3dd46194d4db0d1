//go:build envtest

package v1alpha1_test

import (
	"encoding/json"
	"fmt"
	"sync/atomic"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"

	bkv1 "github.com/bkplugin/bk-plugin-operator/api/v1alpha1"
	"github.com/bkplugin/bk-plugin-operator/internal/testenv"
)

var nameSeq atomic.Int64

func uniqueName(prefix string) string {
	return fmt.Sprintf("%s-%d", prefix, nameSeq.Add(1))
}

func validVersion() *bkv1.PluginVersion {
	return &bkv1.PluginVersion{
		ObjectMeta: metav1.ObjectMeta{Name: uniqueName("plv"), Namespace: "default"},
		Spec: bkv1.PluginVersionSpec{
			Plugin:   "sops-exec",
			Version:  "1.2.0",
			Endpoint: bkv1.PluginEndpoint{Service: &bkv1.ServiceReference{Name: "sops-exec", Port: 8080}},
			Inputs:   testenv.RawJSON(`{"type":"object","properties":{"name":{"type":"string"}},"required":["name"]}`),
		},
	}
}

func validInvocation() *bkv1.PluginInvocation {
	return &bkv1.PluginInvocation{
		ObjectMeta: metav1.ObjectMeta{Name: uniqueName("pinv"), Namespace: "default"},
		Spec: bkv1.PluginInvocationSpec{
			Plugin:  "sops-exec",
			Version: "^1.2",
			Inputs:  testenv.RawJSON(`{"name":"world","nested":{"list":[1,2,3]}}`),
			Context: testenv.RawJSON(`{"executor":"admin"}`),
		},
	}
}

// expectInvalid asserts that err is the API server's Invalid error and that
// its message names the field and says what is wrong with it.
func expectInvalid(err error, field, says string) {
	GinkgoHelper()
	Expect(err).To(HaveOccurred(), "the API server accepted an object it should refuse")
	Expect(apierrors.IsInvalid(err)).To(BeTrue(), "want an Invalid error, got %v", err)
	Expect(err.Error()).To(ContainSubstring(field))
	Expect(err.Error()).To(ContainSubstring(says))
}

var _ = Describe("PluginVersion validation", func() {
	It("accepts a valid version and applies defaults", func() {
		plv := validVersion()
		Expect(k8sClient.Create(ctx, plv)).To(Succeed())
		Expect(plv.Spec.TimeoutSeconds).To(HaveValue(Equal(int32(30))), "timeoutSeconds defaults to 30")

		plv = validVersion()
		plv.Spec.Endpoint.Service.Port = 0
		Expect(k8sClient.Create(ctx, plv)).To(Succeed())
		Expect(plv.Spec.Endpoint.Service.Port).To(Equal(int32(80)), "a Service port defaults to 80")
	})

	It("keeps the JSON Schemas exactly as written", func() {
		plv := validVersion()
		plv.Spec.Inputs = testenv.RawJSON(`{"type":"object","definitions":{"x":{"type":"string","x-custom":true}},"properties":{"a":{"$ref":"#/definitions/x"}}}`)
		Expect(k8sClient.Create(ctx, plv)).To(Succeed())
		got := &bkv1.PluginVersion{}
		Expect(k8sClient.Get(ctx, keyOf(plv), got)).To(Succeed())
		Expect(string(got.Spec.Inputs.Raw)).To(MatchJSON(string(plv.Spec.Inputs.Raw)))
	})

	DescribeTable("refuses an invalid spec, naming the field",
		func(mutate func(*bkv1.PluginVersion), field, says string) {
			plv := validVersion()
			mutate(plv)
			expectInvalid(k8sClient.Create(ctx, plv), field, says)
		},
		Entry("plugin code with capitals", func(p *bkv1.PluginVersion) { p.Spec.Plugin = "Hello" }, "spec.plugin", "should match"),
		Entry("plugin code with a space", func(p *bkv1.PluginVersion) { p.Spec.Plugin = "he llo" }, "spec.plugin", "should match"),
		Entry("empty plugin code", func(p *bkv1.PluginVersion) { p.Spec.Plugin = "" }, "spec.plugin", "at least 1 chars long"),
		Entry("version that is not semver", func(p *bkv1.PluginVersion) { p.Spec.Version = "1.0.0.1" }, "spec.version", "should match"),
		Entry("version with a leading v", func(p *bkv1.PluginVersion) { p.Spec.Version = "v1.0.0" }, "spec.version", "should match"),
		Entry("version with build metadata", func(p *bkv1.PluginVersion) { p.Spec.Version = "1.0.0+abc" }, "spec.version", "should match"),
		Entry("no endpoint", func(p *bkv1.PluginVersion) { p.Spec.Endpoint = bkv1.PluginEndpoint{} },
			"spec.endpoint", "exactly one of service, url or server must be set"),
		Entry("both a service and a url", func(p *bkv1.PluginVersion) { p.Spec.Endpoint.URL = ptr.To("http://x:8080") },
			"spec.endpoint", "exactly one of service, url or server must be set"),
		Entry("a url that is not http", func(p *bkv1.PluginVersion) {
			p.Spec.Endpoint = bkv1.PluginEndpoint{URL: ptr.To("ftp://files.example.com")}
		}, "spec.endpoint.url", "url must be an absolute http or https URL"),
		Entry("a url that is not a url", func(p *bkv1.PluginVersion) {
			p.Spec.Endpoint = bkv1.PluginEndpoint{URL: ptr.To("plugin pod")}
		}, "spec.endpoint.url", "url must be an absolute http or https URL"),
		Entry("a service port out of range", func(p *bkv1.PluginVersion) { p.Spec.Endpoint.Service.Port = 70000 },
			"spec.endpoint.service.port", "less than or equal to 65535"),
		Entry("a timeout of zero", func(p *bkv1.PluginVersion) { p.Spec.TimeoutSeconds = ptr.To[int32](0) },
			"spec.timeoutSeconds", "greater than or equal to 1"),
		Entry("a timeout over ten minutes", func(p *bkv1.PluginVersion) { p.Spec.TimeoutSeconds = ptr.To[int32](601) },
			"spec.timeoutSeconds", "less than or equal to 600"),
		Entry("an inputs schema that is not an object", func(p *bkv1.PluginVersion) { p.Spec.Inputs = testenv.RawJSON(`"string"`) },
			"spec.inputs", "must be of type object"),
		Entry("an allow scope with no values", func(p *bkv1.PluginVersion) {
			p.Spec.AllowScopes = []bkv1.AllowScope{{ScopeType: "project"}}
		}, "spec.allowScopes[0].scopeValues", "Required value"),
	)

	DescribeTable("refuses to change what identifies the version",
		func(mutate func(*bkv1.PluginVersion), field, says string) {
			plv := validVersion()
			Expect(k8sClient.Create(ctx, plv)).To(Succeed())
			mutate(plv)
			expectInvalid(k8sClient.Update(ctx, plv), field, says)
		},
		Entry("plugin", func(p *bkv1.PluginVersion) { p.Spec.Plugin = "other" }, "spec.plugin", "plugin is immutable"),
		Entry("version", func(p *bkv1.PluginVersion) { p.Spec.Version = "1.2.1" }, "spec.version", "version is immutable"),
	)

	It("lets the rest of the spec change", func() {
		plv := validVersion()
		Expect(k8sClient.Create(ctx, plv)).To(Succeed())
		plv.Spec.Description = "now described"
		plv.Spec.Endpoint = bkv1.PluginEndpoint{URL: ptr.To("https://plugins.example.com/sops")}
		Expect(k8sClient.Update(ctx, plv)).To(Succeed())
	})
})

var _ = Describe("PluginInvocation validation", func() {
	It("accepts a valid invocation and its status", func() {
		inv := validInvocation()
		Expect(k8sClient.Create(ctx, inv)).To(Succeed())
		inv.Status = bkv1.PluginInvocationStatus{
			State: bkv1.StatePoll, TraceID: inv.Name, ResolvedVersion: "1.2.0", InvokeCount: 1,
			Storage: testenv.RawJSON(`{"counter":1,"deep":{"a":[{"b":null}]}}`),
			Outputs: testenv.RawJSON(`{"x":"y"}`),
		}
		Expect(k8sClient.Status().Update(ctx, inv)).To(Succeed())
		got := &bkv1.PluginInvocation{}
		Expect(k8sClient.Get(ctx, keyOf(inv), got)).To(Succeed())
		Expect(string(got.Status.Storage.Raw)).To(MatchJSON(`{"counter":1,"deep":{"a":[{"b":null}]}}`))
	})

	DescribeTable("refuses an invalid spec, naming the field",
		func(mutate func(*bkv1.PluginInvocation), field, says string) {
			inv := validInvocation()
			mutate(inv)
			expectInvalid(k8sClient.Create(ctx, inv), field, says)
		},
		Entry("plugin code with capitals", func(i *bkv1.PluginInvocation) { i.Spec.Plugin = "Sops" }, "spec.plugin", "should match"),
		Entry("empty version", func(i *bkv1.PluginInvocation) { i.Spec.Version = "" }, "spec.version", "at least 1 chars long"),
		Entry("version with shell characters", func(i *bkv1.PluginInvocation) { i.Spec.Version = "1.0; rm -rf /" },
			"spec.version", "should match"),
		Entry("inputs that are not an object", func(i *bkv1.PluginInvocation) { i.Spec.Inputs = testenv.RawJSON(`[1,2]`) },
			"spec.inputs", "must be of type object"),
		Entry("context that is not an object", func(i *bkv1.PluginInvocation) { i.Spec.Context = testenv.RawJSON(`"x"`) },
			"spec.context", "must be of type object"),
		Entry("a deadline of zero", func(i *bkv1.PluginInvocation) { i.Spec.ActiveDeadlineSeconds = ptr.To[int64](0) },
			"spec.activeDeadlineSeconds", "greater than or equal to 1"),
		Entry("a negative TTL", func(i *bkv1.PluginInvocation) { i.Spec.TTLSecondsAfterFinished = ptr.To[int32](-1) },
			"spec.ttlSecondsAfterFinished", "greater than or equal to 0"),
		Entry("a TTL over a year", func(i *bkv1.PluginInvocation) { i.Spec.TTLSecondsAfterFinished = ptr.To[int32](31536001) },
			"spec.ttlSecondsAfterFinished", "less than or equal to 31536000"),
		Entry("a finish notification to a non-http url", func(i *bkv1.PluginInvocation) {
			i.Spec.FinishNotification = &bkv1.FinishNotification{URL: "mailto:ops@example.com"}
		}, "spec.finishNotification.url", "url must be an absolute http or https URL"),
		Entry("a retry limit over 100", func(i *bkv1.PluginInvocation) { i.Spec.Retry = &bkv1.RetryPolicy{Limit: 101} },
			"spec.retry.limit", "less than or equal to 100"),
		Entry("an unknown retryOn kind", func(i *bkv1.PluginInvocation) {
			i.Spec.Retry = &bkv1.RetryPolicy{Limit: 1, RetryOn: []bkv1.RetryOn{"Always"}}
		}, "spec.retry.retryOn[0]", "Unsupported value"),
		Entry("a backoff factor of 0", func(i *bkv1.PluginInvocation) {
			i.Spec.Retry = &bkv1.RetryPolicy{Limit: 1, Backoff: &bkv1.RetryBackoff{Factor: ptr.To[int32](0)}}
		}, "spec.retry.backoff.factor", "greater than or equal to 1"),
		Entry("a jitter over 100%", func(i *bkv1.PluginInvocation) {
			i.Spec.Retry = &bkv1.RetryPolicy{Limit: 1, Backoff: &bkv1.RetryBackoff{JitterPercent: ptr.To[int32](101)}}
		}, "spec.retry.backoff.jitterPercent", "less than or equal to 100"),
		Entry("an initial backoff over the max delay", func(i *bkv1.PluginInvocation) {
			i.Spec.Retry = &bkv1.RetryPolicy{Limit: 1, Backoff: &bkv1.RetryBackoff{InitialSeconds: ptr.To[int32](60), MaxDelaySeconds: ptr.To[int32](10)}}
		}, "spec.retry.backoff", "backoff.initialSeconds must not exceed backoff.maxDelaySeconds"),
	)

	DescribeTable("refuses to change the call once made",
		func(mutate func(*bkv1.PluginInvocation), field, says string) {
			inv := validInvocation()
			Expect(k8sClient.Create(ctx, inv)).To(Succeed())
			mutate(inv)
			expectInvalid(k8sClient.Update(ctx, inv), field, says)
		},
		Entry("plugin", func(i *bkv1.PluginInvocation) { i.Spec.Plugin = "other" }, "spec.plugin", "plugin is immutable"),
		Entry("version", func(i *bkv1.PluginInvocation) { i.Spec.Version = "1.3.0" }, "spec.version", "version is immutable"),
		Entry("an input's value", func(i *bkv1.PluginInvocation) {
			i.Spec.Inputs = testenv.RawJSON(`{"name":"mallory","nested":{"list":[1,2,3]}}`)
		},
			"spec.inputs", "inputs are immutable"),
		Entry("a deeply nested input", func(i *bkv1.PluginInvocation) {
			i.Spec.Inputs = testenv.RawJSON(`{"name":"world","nested":{"list":[1,2,4]}}`)
		},
			"spec.inputs", "inputs are immutable"),
		Entry("an added input", func(i *bkv1.PluginInvocation) {
			i.Spec.Inputs = testenv.RawJSON(`{"name":"world","nested":{"list":[1,2,3]},"x":1}`)
		},
			"spec.inputs", "inputs are immutable"),
		Entry("removed inputs", func(i *bkv1.PluginInvocation) { i.Spec.Inputs = nil }, "spec.inputs", "inputs are immutable"),
		Entry("context", func(i *bkv1.PluginInvocation) { i.Spec.Context = testenv.RawJSON(`{"executor":"mallory"}`) },
			"spec.context", "context is immutable"),
		Entry("an added retry policy", func(i *bkv1.PluginInvocation) { i.Spec.Retry = &bkv1.RetryPolicy{Limit: 3} },
			"spec.retry", "retry is immutable"),
	)

	It("lets cancel be set but never unset", func() {
		inv := validInvocation()
		Expect(k8sClient.Create(ctx, inv)).To(Succeed())
		inv.Spec.Cancel = true
		Expect(k8sClient.Update(ctx, inv)).To(Succeed())
		inv.Spec.Cancel = false
		expectInvalid(k8sClient.Update(ctx, inv), "spec.cancel", "cancel cannot be undone")
	})

	It("refuses a status with an unknown state", func() {
		inv := validInvocation()
		Expect(k8sClient.Create(ctx, inv)).To(Succeed())
		inv.Status.State = "RUNNING"
		expectInvalid(k8sClient.Status().Update(ctx, inv), "status.state", "Unsupported value")
	})
})

var _ = Describe("PluginVersion task.json description", func() {
	deployer := func() *bkv1.PluginVersion {
		plv := validVersion()
		Expect(json.Unmarshal([]byte(`{
			"inputGroups": [{"name": "basic", "label": "Basic", "isExpanded": true}],
			"input": {
				"version": {"label": "Version", "type": "vuex-input", "required": true, "groupName": "basic",
					"rule": {"regex": "^\\d+\\.\\d+\\.\\d+$", "min": 5, "max": 20}},
				"env": {"label": "Env", "type": "selector", "required": true,
					"options": [{"id": "dev", "name": "Dev"}, {"id": "prod", "name": "Prod"}]},
				"approver": {"label": "Approver", "type": "user-input", "required": true,
					"rely": {"operation": "AND", "expression": [{"key": "env", "value": "prod"}]}},
				"token": {"label": "Token", "type": "vuex-input", "inputType": "password", "required": true, "isSensitive": true}
			},
			"output": {"deploy_id": {"type": "string"}, "report": {"type": "report", "description": "HTML"}}
		}`), &plv.Spec.TaskJSON)).To(Succeed())
		return plv
	}

	It("accepts a description and keeps component attributes as written", func() {
		plv := deployer()
		Expect(k8sClient.Create(ctx, plv)).To(Succeed())
		got := &bkv1.PluginVersion{}
		Expect(k8sClient.Get(ctx, keyOf(plv), got)).To(Succeed())
		env := got.Spec.TaskJSON.Input["env"]
		Expect(env.Required).To(BeTrue())
		Expect(string(env.Extra["options"].Raw)).To(MatchJSON(`[{"id":"dev","name":"Dev"},{"id":"prod","name":"Prod"}]`))
		Expect(string(got.Spec.TaskJSON.Input["token"].Extra["inputType"].Raw)).To(Equal(`"password"`))
		Expect(got.Spec.TaskJSON.Input["approver"].Rely.Operation).To(Equal("AND"))
	})

	DescribeTable("refuses a malformed description, naming the field",
		func(mutate func(*bkv1.TaskDescription), field, says string) {
			plv := deployer()
			mutate(plv.Spec.TaskJSON)
			expectInvalid(k8sClient.Create(ctx, plv), field, says)
		},
		Entry("an unknown output type", func(d *bkv1.TaskDescription) { d.Output["deploy_id"] = bkv1.TaskOutput{Type: "number"} },
			"spec.taskJSON.output.deploy_id.type", "Unsupported value"),
		Entry("a rely operation other than AND/OR/NOT", func(d *bkv1.TaskDescription) {
			in := d.Input["approver"]
			in.Rely.Operation = "XOR"
			d.Input["approver"] = in
		}, "spec.taskJSON.input.approver.rely.operation", "Unsupported value"),
		Entry("a rule regex that does not compile", func(d *bkv1.TaskDescription) {
			in := d.Input["version"]
			in.Rule.Regex = ptr.To("([a-z")
			d.Input["version"] = in
		}, "spec.taskJSON.input[version].rule.regex", "regex"),
		Entry("a rely regex that does not compile", func(d *bkv1.TaskDescription) {
			in := d.Input["approver"]
			in.Rely.Expression = []bkv1.TaskRelyExpression{{Key: "env", Regex: ptr.To("*prod")}}
			d.Input["approver"] = in
		}, "spec.taskJSON.input[approver].rely.expression[0].regex", "regex"),
		Entry("an input without a type", func(d *bkv1.TaskDescription) {
			in := d.Input["env"]
			in.Type = ""
			d.Input["env"] = in
		}, "spec.taskJSON.input.env.type", "at least 1 chars long"),
		Entry("a rule whose min exceeds its max", func(d *bkv1.TaskDescription) {
			in := d.Input["version"]
			in.Rule.Min = ptr.To[int32](30)
			d.Input["version"] = in
		}, "spec.taskJSON.input[version].rule", "min must not exceed max"),
	)
})
