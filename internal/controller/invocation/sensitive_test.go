//go:build envtest

package invocation_test

import (
	"encoding/base64"
	"encoding/json"
	"errors"
	"log/slog"
	"net/http/httptest"
	"strings"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	corev1 "k8s.io/api/core/v1"
	eventsv1 "k8s.io/api/events/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	bkv1 "github.com/bkplugin/bk-plugin-operator/api/v1alpha1"
	"github.com/bkplugin/bk-plugin-operator/internal/syncbuf"
	"github.com/bkplugin/bk-plugin-operator/internal/testenv"
	"github.com/bkplugin/bk-plugin-operator/sdk/examples/deployer/deployerplugin"
	"github.com/bkplugin/bk-plugin-operator/sdk/plugin"
	"github.com/bkplugin/bk-plugin-operator/sdk/server"
	"github.com/bkplugin/bk-plugin-operator/sdk/taskjson"
)

// vault is a test plugin whose task.json marks an input and an output
// sensitive: it echoes the token into its sensitive output, or fails with
// an error that quotes it, so that the specs can prove neither reaches
// status, events or logs.
const vaultCode = "vault"

type vaultInputs struct {
	Token string `json:"token"`
	Fail  bool   `json:"fail,omitempty"`
	// Leak, with fail, prints the token in its error in another form:
	// "json" JSON-escaped, "upper" upper-cased, "base64" encoded.
	Leak string `json:"leak,omitempty"`
}

type vaultOutputs struct {
	Echo   string `json:"echo,omitempty"`
	Public string `json:"public,omitempty"`
}

func vaultPlugin() *plugin.Plugin {
	p := plugin.MustNew(plugin.Meta{Code: vaultCode, Description: "Test plugin with sensitive fields."})
	plugin.MustAddVersion(p, plugin.Version[vaultInputs, plugin.None, vaultOutputs]{
		Version: "1.0.0",
		TaskJSON: taskjson.MustParse([]byte(`{
			"input": {
				"token": {"label": "Token", "type": "vuex-input", "required": true, "isSensitive": true, "rule": {"min": 8}},
				"fail": {"label": "Fail", "type": "atom-checkbox"},
				"leak": {"label": "Leak", "type": "vuex-input"}
			},
			"output": {
				"echo": {"type": "string", "isSensitive": true},
				"public": {"type": "string"}
			}
		}`)),
		Execute: func(ctx *plugin.Context[vaultInputs, plugin.None, vaultOutputs]) error {
			ctx.Log.Info("executing", "fail", ctx.Inputs.Fail)
			if ctx.Inputs.Fail {
				switch ctx.Inputs.Leak {
				case "json":
					b, _ := json.Marshal(map[string]string{"token": ctx.Inputs.Token})
					return errors.New("login refused: " + string(b))
				case "upper":
					return errors.New("login refused for token " + strings.ToUpper(ctx.Inputs.Token))
				case "base64":
					return errors.New("login refused for Basic " + base64.StdEncoding.EncodeToString([]byte(ctx.Inputs.Token)))
				}
				return errors.New("login refused for token " + ctx.Inputs.Token)
			}
			ctx.Outputs.Echo = "echo-" + ctx.Inputs.Token
			ctx.Outputs.Public = "done"
			return nil
		},
	})
	return p
}

// sensitiveSecret creates the Secret holding an invocation's sensitive
// inputs, as the shim does before it creates the invocation.
func sensitiveSecret(ns, invocation, inputs string) {
	GinkgoHelper()
	Expect(k8sClient.Create(suiteCtx, &corev1.Secret{
		ObjectMeta: metav1.ObjectMeta{Name: invocation + bkv1.SensitiveSecretSuffix, Namespace: ns,
			Labels: map[string]string{bkv1.LabelInvocation: invocation}},
		Data: map[string][]byte{bkv1.SensitiveInputsKey: []byte(inputs)},
	})).To(Succeed())
}

// expectNowhere checks that marker appears in no part of the invocation
// object, no event of the namespace and no line the managers logged.
func expectNowhere(ns string, inv *bkv1.PluginInvocation, marker string) {
	GinkgoHelper()
	obj, err := json.Marshal(get(inv))
	Expect(err).NotTo(HaveOccurred())
	Expect(string(obj)).NotTo(ContainSubstring(marker), "the invocation object shows the sensitive value")
	var events eventsv1.EventList
	Expect(k8sClient.List(suiteCtx, &events, client.InNamespace(ns))).To(Succeed())
	for _, e := range events.Items {
		Expect(e.Note).NotTo(ContainSubstring(marker), "event %s shows the sensitive value", e.Name)
	}
	Expect(managerLogs.String()).NotTo(ContainSubstring(marker), "the manager logged the sensitive value")
}

var _ = Describe("PluginInvocation with a task.json description", func() {
	var ns string
	BeforeEach(func() { ns = suite.NewNamespace() })

	Context("with deployer", func() {
		BeforeEach(func() {
			pod := httptest.NewServer(server.Handler(deployerplugin.Plugin()))
			DeferCleanup(pod.Close)
			suite.WaitReady(suite.RegisterVersions(ns, deployerplugin.Plugin(), pod.URL))
		})

		It("ends FAIL before any execute, listing every violation with its field, label and rule", func() {
			inv := invoke(ns, "deployer", "1.0.0", `{"version":"1.0","env":"prod"}`)
			got := waitState(inv, bkv1.StateFail)
			Expect(got.Status.InvokeCount).To(BeZero())
			Expect(got.Status.Error).To(HavePrefix("inputs validation error: "))
			for _, want := range []string{"version (Version)", `^\d+\.\d+\.\d+$`, "approver (Approver): required", "token (Deploy token): required"} {
				Expect(got.Status.Error).To(ContainSubstring(want))
			}
		})

		It("does not require a field its rely hides", func() {
			traceID := newTraceID()
			sensitiveSecret(ns, traceID, `{"token":"dev-token-123"}`)
			inv := invoke(ns, "deployer", "1.0.0", `{"version":"1.2.3","env":"dev"}`, named(traceID))
			got := waitState(inv, bkv1.StateSuccess)
			Expect(outputs(got)["deploy_id"]).To(HavePrefix("deploy-"))
		})

		It("refuses a sensitive input given in clear in spec.inputs, without echoing it", func() {
			inv := invoke(ns, "deployer", "1.0.0", `{"version":"1.2.3","env":"dev","token":"CLEAR-TEXT-TOKEN"}`)
			got := waitState(inv, bkv1.StateFail)
			Expect(got.Status.Error).To(ContainSubstring("sensitive inputs must not be given in spec.inputs"))
			Expect(got.Status.Error).To(ContainSubstring("token"))
			Expect(got.Status.Error).NotTo(ContainSubstring("CLEAR-TEXT-TOKEN"))
		})
	})

	Context("with sensitive outputs", func() {
		var pluginLogs *syncbuf.Buffer
		BeforeEach(func() {
			pluginLogs = &syncbuf.Buffer{}
			srv, err := server.New(vaultPlugin(), server.Options{Logger: slog.New(slog.NewTextHandler(pluginLogs, nil)), ExecuteToken: testenv.ExecuteToken})
			Expect(err).NotTo(HaveOccurred())
			pod := httptest.NewServer(srv)
			DeferCleanup(pod.Close)
			suite.WaitReady(suite.RegisterVersions(ns, vaultPlugin(), pod.URL))
		})

		It("gives the plugin the real value, keeps the output in the Secret and shows it masked", func() {
			const marker = "MARKER-7f3a9c-SECRET"
			traceID := newTraceID()
			sensitiveSecret(ns, traceID, `{"token":"`+marker+`"}`)
			inv := invoke(ns, vaultCode, "1.0.0", `{}`, named(traceID))
			got := waitState(inv, bkv1.StateSuccess)
			Expect(outputs(got)).To(HaveKeyWithValue("echo", bkv1.SensitiveMask))
			Expect(outputs(got)).To(HaveKeyWithValue("public", "done"))

			secret := &corev1.Secret{}
			Expect(k8sClient.Get(suiteCtx, client.ObjectKey{Namespace: ns, Name: traceID + bkv1.SensitiveSecretSuffix}, secret)).To(Succeed())
			Expect(string(secret.Data[bkv1.SensitiveOutputsKey])).To(MatchJSON(`{"echo":"echo-` + marker + `"}`))
			Expect(secret.OwnerReferences).To(ContainElement(HaveField("UID", got.UID)), "the invocation owns its Secret")

			expectNowhere(ns, inv, marker)
			Expect(pluginLogs.String()).NotTo(ContainSubstring(marker), "the plugin logged the sensitive value")
		})

		It("scrubs the sensitive value from a plugin's error", func() {
			const marker = "MARKER-b81e02-SECRET"
			traceID := newTraceID()
			sensitiveSecret(ns, traceID, `{"token":"`+marker+`"}`)
			inv := invoke(ns, vaultCode, "1.0.0", `{"fail":true}`, named(traceID))
			got := waitState(inv, bkv1.StateFail)
			Expect(got.Status.Error).To(Equal("login refused for token " + bkv1.SensitiveMask))
			expectNowhere(ns, inv, marker)
		})

		// Issue 15, finding 8: scrubbing was exact-substring only.
		DescribeTable("scrubs the sensitive value from a plugin's error in the form the plugin printed it",
			func(leak, marker, leaked, fragment, want string) {
				traceID := newTraceID()
				b, _ := json.Marshal(map[string]string{"token": marker})
				sensitiveSecret(ns, traceID, string(b))
				inv := invoke(ns, vaultCode, "1.0.0", `{"fail":true,"leak":"`+leak+`"}`, named(traceID))
				got := waitState(inv, bkv1.StateFail)
				Expect(got.Status.Error).To(Equal(want))
				Expect(got.Status.Error).NotTo(ContainSubstring(leaked))
				expectNowhere(ns, inv, fragment)
			},
			Entry("JSON-escaped", "json", "MARKER<qzjx>SECRET", `MARKER\u003cqzjx\u003eSECRET`, "qzjx", `login refused: {"token":"`+bkv1.SensitiveMask+`"}`),
			Entry("upper-cased", "upper", "marker-wqvk-secret", "MARKER-WQVK-SECRET", "WQVK", "login refused for token "+bkv1.SensitiveMask),
			Entry("base64", "base64", "marker-77aa-secret", base64.StdEncoding.EncodeToString([]byte("marker-77aa-secret")), base64.StdEncoding.EncodeToString([]byte("marker-77aa-secret")), "login refused for Basic "+bkv1.SensitiveMask),
		)

		It("enforces the rules on the sensitive value without showing it", func() {
			traceID := newTraceID()
			sensitiveSecret(ns, traceID, `{"token":"short"}`)
			inv := invoke(ns, vaultCode, "1.0.0", `{}`, named(traceID))
			got := waitState(inv, bkv1.StateFail)
			Expect(got.Status.Error).To(ContainSubstring("token (Token)"))
			Expect(strings.Contains(got.Status.Error, "short")).To(BeFalse())
		})
	})
})
