//go:build envtest

package shim_test

import (
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	corev1 "k8s.io/api/core/v1"
	eventsv1 "k8s.io/api/events/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	bkv1 "github.com/bkplugin/bk-plugin-operator/api/v1alpha1"
	"github.com/bkplugin/bk-plugin-operator/internal/testenv"
	bkclient "github.com/bkplugin/bk-plugin-operator/sdk/client"
	"github.com/bkplugin/bk-plugin-operator/sdk/plugin"
	"github.com/bkplugin/bk-plugin-operator/sdk/server"
	"github.com/bkplugin/bk-plugin-operator/sdk/stdapi"
	"github.com/bkplugin/bk-plugin-operator/sdk/taskjson"
)

// pluginPod serves p as a plugin pod that logs to allLogs and traces to spans.
func pluginPod(p *plugin.Plugin) http.Handler {
	GinkgoHelper()
	srv, err := server.New(p, server.Options{Logger: slog.New(slog.NewTextHandler(allLogs, nil)), Tracing: traces, ExecuteToken: testenv.ExecuteToken})
	Expect(err).NotTo(HaveOccurred())
	return srv
}

// keeper is a test plugin with a sensitive input and a sensitive output.
type keeperInputs struct {
	Secret string `json:"secret"`
	Fail   bool   `json:"fail,omitempty"`
}

type keeperOutputs struct {
	Kept  string `json:"kept,omitempty"`
	Shown string `json:"shown,omitempty"`
}

func keeperPlugin() *plugin.Plugin {
	p := plugin.MustNew(plugin.Meta{Code: "keeper", Description: "Keeps a secret."})
	plugin.MustAddVersion(p, plugin.Version[keeperInputs, plugin.None, keeperOutputs]{
		Version: "1.0.0",
		TaskJSON: taskjson.MustParse([]byte(`{
			"input": {"secret": {"label": "Secret", "type": "vuex-input", "required": true, "isSensitive": true},
			          "fail": {"label": "Fail", "type": "atom-checkbox"}},
			"output": {"kept": {"type": "string", "isSensitive": true}, "shown": {"type": "string"}}
		}`)),
		Execute: func(ctx *plugin.Context[keeperInputs, plugin.None, keeperOutputs]) error {
			if ctx.Inputs.Fail {
				return errors.New("refused " + ctx.Inputs.Secret)
			}
			ctx.Outputs.Kept, ctx.Outputs.Shown = "kept-"+ctx.Inputs.Secret, "ok"
			return nil
		},
	})
	return p
}

// expectNoMarker checks that marker is in no log line, no event and no
// part of the invocation object.
func expectNoMarker(traceID, marker string) {
	GinkgoHelper()
	var obj []byte
	var err error
	if inv, rec := stored(traceID); inv != nil {
		obj, err = json.Marshal(inv)
	} else {
		obj, err = json.Marshal(rec)
	}
	Expect(err).NotTo(HaveOccurred())
	Expect(string(obj)).NotTo(ContainSubstring(marker), "the invocation object shows the sensitive value")
	var events eventsv1.EventList
	Expect(k8sClient.List(suiteCtx, &events, client.InNamespace(namespace))).To(Succeed())
	for _, e := range events.Items {
		Expect(e.Note).NotTo(ContainSubstring(marker))
	}
	Expect(allLogs.String()).NotTo(ContainSubstring(marker), "a log line shows the sensitive value")
}

var _ = Describe("task.json descriptions", func() {
	It("answers detail with the description beside the schema", func() {
		d, err := newClient(bkclient.Options{}).Detail(suiteCtx, "deployer", "1.0.0")
		Expect(err).NotTo(HaveOccurred())
		var task bkv1.TaskDescription
		Expect(json.Unmarshal(d.TaskJSON, &task)).To(Succeed())
		Expect(task.Input["token"].IsSensitive).To(BeTrue())
		Expect(string(task.Input["env"].Extra["options"].Raw)).To(ContainSubstring(`"prod"`))
		Expect(string(d.Inputs)).To(ContainSubstring(`"version"`))
	})

	It("answers inputs breaking a rule as the Python framework answers invalid inputs: 200, result true, FAIL listing every violation", func() {
		traceID := newTraceID()
		a := rawCall(http.MethodPost, "/plugins/deployer/bk_plugin/invoke/1.0.0",
			`{"inputs":{"version":"one","env":"prod","token":"t0k3n-SECRET-VALUE"},"context":{}}`, map[string]string{stdapi.HeaderTraceID: traceID})
		Expect(a.Status).To(Equal(http.StatusOK), a.Body)
		Expect(a.Env).To(HaveKeyWithValue("result", true))
		data, _ := a.Env["data"].(map[string]any)
		Expect(data).To(HaveKeyWithValue("state", BeNumerically("==", 5)))
		Expect(data).To(HaveKeyWithValue("outputs", BeNil()))
		msg, _ := data["err"].(string)
		Expect(msg).To(HavePrefix("inputs validation error: "))
		Expect(msg).To(ContainSubstring("version (Version)"))
		Expect(msg).To(ContainSubstring("approver (Approver): required"))
		Expect(a.Body).NotTo(ContainSubstring("t0k3n-SECRET-VALUE"))
		// Schedule agrees: the invocation ended FAIL with the same reason,
		// and it never reached the plugin.
		s := rawCall(http.MethodGet, stdapi.SchedulePath("deployer", traceID), "", nil)
		Expect(s.Env["data"]).To(HaveKeyWithValue("state", BeNumerically("==", 5)))
		Expect(s.Env["data"]).To(HaveKeyWithValue("err", msg))
		Expect(executesOf(traceID)).To(BeZero())
		expectNoMarker(traceID, "t0k3n-SECRET-VALUE")
	})

	It("keeps a sensitive input out of the invocation and every log, and the plugin still gets it", func() {
		const marker = "MARKER-deploy-5e1d77"
		traceID := newTraceID()
		res, err := newClient(bkclient.Options{}).Invoke(suiteCtx, "deployer", "1.0.0",
			stdapi.InvokeRequest{Inputs: json.RawMessage(`{"version":"1.2.3","env":"dev","token":"` + marker + `"}`)},
			bkclient.InvokeOptions{TraceID: traceID})
		Expect(err).NotTo(HaveOccurred())
		Expect(res.State.String()).To(Equal("SUCCESS"))
		inv, rec := stored(traceID)
		if rec != nil {
			// Answered on the direct path: no Secret was ever written, and
			// the record shows the input masked.
			Expect(string(rec.Inputs)).To(MatchJSON(`{"version":"1.2.3","env":"dev","token":"******"}`))
			expectNoMarker(traceID, marker)
			return
		}
		Expect(string(inv.Spec.Inputs.Raw)).NotTo(ContainSubstring("token"))
		secret := &corev1.Secret{}
		Expect(k8sClient.Get(suiteCtx, client.ObjectKey{Namespace: namespace, Name: traceID + bkv1.SensitiveSecretSuffix}, secret)).To(Succeed())
		Expect(string(secret.Data[bkv1.SensitiveInputsKey])).To(MatchJSON(`{"token":"` + marker + `"}`))
		Eventually(func() []string {
			s := &corev1.Secret{}
			_ = k8sClient.Get(suiteCtx, client.ObjectKeyFromObject(secret), s)
			var uids []string
			for _, o := range s.OwnerReferences {
				uids = append(uids, string(o.UID))
			}
			return uids
		}).Should(ContainElement(string(inv.UID)), "the invocation owns its Secret")
		expectNoMarker(traceID, marker)
	})

	It("shows a sensitive output masked in the object and whole to the caller", func() {
		const marker = "MARKER-keep-93c0aa"
		traceID := newTraceID()
		c := newClient(bkclient.Options{})
		res, err := c.Invoke(suiteCtx, "keeper", "1.0.0",
			stdapi.InvokeRequest{Inputs: json.RawMessage(`{"secret":"` + marker + `"}`)}, bkclient.InvokeOptions{TraceID: traceID})
		Expect(err).NotTo(HaveOccurred())
		Expect(string(res.Outputs)).To(MatchJSON(`{"kept":"kept-` + marker + `","shown":"ok"}`))
		sched, err := c.Schedule(suiteCtx, "keeper", traceID)
		Expect(err).NotTo(HaveOccurred())
		if inv, rec := stored(traceID); inv != nil {
			Expect(string(sched.Outputs)).To(MatchJSON(`{"kept":"kept-` + marker + `","shown":"ok"}`))
			Expect(string(inv.Status.Outputs.Raw)).To(MatchJSON(`{"kept":"******","shown":"ok"}`))
		} else {
			// Answered on the direct path: the caller got it whole, once;
			// the record, like every archived one, keeps it masked.
			Expect(string(sched.Outputs)).To(MatchJSON(`{"kept":"******","shown":"ok"}`))
			Expect(string(rec.Outputs)).To(MatchJSON(`{"kept":"******","shown":"ok"}`))
		}
		expectNoMarker(traceID, marker)
	})

	It("scrubs a sensitive input from the plugin's error", func() {
		const marker = "MARKER-fail-1b2c3d"
		traceID := newTraceID()
		res, err := newClient(bkclient.Options{}).Invoke(suiteCtx, "keeper", "1.0.0",
			stdapi.InvokeRequest{Inputs: json.RawMessage(`{"secret":"` + marker + `","fail":true}`)}, bkclient.InvokeOptions{TraceID: traceID})
		Expect(err).NotTo(HaveOccurred())
		Expect(res.Err).To(Equal("refused " + bkv1.SensitiveMask))
		expectNoMarker(traceID, marker)
	})
})
