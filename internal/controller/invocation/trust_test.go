//go:build envtest

package invocation_test

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"

	bkv1 "github.com/bkplugin/bk-plugin-operator/api/v1alpha1"
	"github.com/bkplugin/bk-plugin-operator/internal/controller/invocation"
	"github.com/bkplugin/bk-plugin-operator/internal/testenv"
	"github.com/bkplugin/bk-plugin-operator/sdk/plugin"
	"github.com/bkplugin/bk-plugin-operator/sdk/protocol"
	"github.com/bkplugin/bk-plugin-operator/sdk/server"
)

// These specs reproduce issue 15's attacks on the manager (findings 1, 5
// and 6) against a real API server, and show that they now hold.

// scripted is a plugin whose pod answers each execute with the answer its
// inputs script for that invoke count (the last one repeated), whatever
// the SDK would make of it: answers no well-behaved plugin gives, such as
// 44,000 callbacks or a poll interval of 1e12 seconds.
const scriptedCode = "scripted"

type scriptedInputs struct {
	Answers []map[string]any `json:"answers"`
}

func scriptedPlugin() *plugin.Plugin {
	p := plugin.MustNew(plugin.Meta{Code: scriptedCode, Description: "Test plugin answering scripted executes."})
	plugin.MustAddVersion(p, plugin.Version[scriptedInputs, plugin.None, plugin.None]{
		Version: "1.0.0",
		Execute: func(*plugin.Context[scriptedInputs, plugin.None, plugin.None]) error { return nil },
	})
	return p
}

// scriptedExecute is one execute the scripted pod served.
type scriptedExecute struct {
	invokeCount int
	start, end  time.Time
}

// scriptedPod serves the scripted plugin: the SDK answers everything but
// executes, which it answers from the script and records.
type scriptedPod struct {
	sdk      http.Handler
	mu       sync.Mutex
	executes map[string][]scriptedExecute
}

func newScriptedPod() *scriptedPod {
	return &scriptedPod{sdk: server.Handler(scriptedPlugin()), executes: map[string][]scriptedExecute{}}
}

func (p *scriptedPod) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if !strings.HasPrefix(r.URL.Path, protocol.ExecutePathPrefix) {
		p.sdk.ServeHTTP(w, r)
		return
	}
	start := time.Now()
	body, _ := io.ReadAll(r.Body)
	var req protocol.ExecuteRequest
	var in scriptedInputs
	if json.Unmarshal(body, &req) != nil || json.Unmarshal(req.Inputs, &in) != nil || len(in.Answers) == 0 {
		http.Error(w, "bad execute", http.StatusBadRequest)
		return
	}
	answer := in.Answers[min(req.InvokeCount, len(in.Answers))-1]
	answer["protocol_version"] = protocol.Version
	if n, ok := answer["callback_count"].(float64); ok {
		cbs := make([]map[string]string, int(n))
		for i := range cbs {
			cbs[i] = map[string]string{"id": fmt.Sprint(i), "url": ""}
		}
		answer["callbacks"] = cbs
		delete(answer, "callback_count")
	}
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(answer)
	p.mu.Lock()
	defer p.mu.Unlock()
	p.executes[req.TraceID] = append(p.executes[req.TraceID], scriptedExecute{invokeCount: req.InvokeCount, start: start, end: time.Now()})
}

func (p *scriptedPod) served(traceID string) []scriptedExecute {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]scriptedExecute(nil), p.executes[traceID]...)
}

func script(answers ...string) string {
	return `{"answers":[` + strings.Join(answers, ",") + `]}`
}

var _ = Describe("PluginInvocation under attack (issue 15)", func() {
	var ns string
	BeforeEach(func() { ns = suite.NewNamespace() })

	Context("with a plugin whose answers are out of bounds", func() {
		var pod *scriptedPod
		BeforeEach(func() {
			pod = newScriptedPod()
			srv := httptest.NewServer(pod)
			DeferCleanup(srv.Close)
			suite.WaitReady(suite.RegisterVersions(ns, scriptedPlugin(), srv.URL))
		})

		// expectFailedOnce checks that inv ended FAIL with a message that
		// contains want and fits, after one execute, and stays so: no retry
		// loop, no execute again.
		expectFailedOnce := func(inv *bkv1.PluginInvocation, want string) {
			GinkgoHelper()
			got := waitState(inv, bkv1.StateFail)
			Expect(got.Status.Error).To(ContainSubstring(want))
			Expect(len(got.Status.Error)).To(BeNumerically("<=", invocation.MaxErrorBytes))
			Expect(got.Status.InvokeCount).To(Equal(int32(1)))
			Consistently(func() int { return len(pod.served(inv.Name)) }, "2s", "200ms").Should(Equal(1))
		}

		It("ends FAIL, truncated, when the plugin fails with a 40,000-character error", func() {
			inv := invoke(ns, scriptedCode, "1.0.0", script(`{"state":5,"error":"`+strings.Repeat("e", 40000)+`"}`))
			expectFailedOnce(inv, "(truncated: 40000 bytes in all)")
			Expect(succeededCondition(get(inv)).Message).To(HaveSuffix("(truncated: 40000 bytes in all)"))
		})

		It("ends FAIL when an answer prepares 44,000 callbacks", func() {
			inv := invoke(ns, scriptedCode, "1.0.0", script(`{"state":3,"callback_count":44000}`))
			expectFailedOnce(inv, "plugin prepared 44000 callbacks in one answer, over the limit of 100")
			Expect(get(inv).Status.PreparedCallbacks).To(BeEmpty())
		})

		It("waits the maximum interval when asked to poll after 1e12 seconds", func() {
			inv := invoke(ns, scriptedCode, "1.0.0", script(`{"state":2,"poll_interval_seconds":1e12}`))
			got := waitState(inv, bkv1.StatePoll)
			Expect(got.Status.NextPollTime.Time).To(BeTemporally("~", time.Now().Add(invocation.DefaultMaxPollInterval), time.Minute))
			Expect(succeededCondition(got).Message).To(ContainSubstring("the maximum is 24h0m0s"))
			Consistently(func() int { return len(pod.served(inv.Name)) }, "3s", "200ms").Should(Equal(1))
		})

		It("waits the minimum interval, from the end of the execute, when asked to poll after 0 seconds", func() {
			inv := invoke(ns, scriptedCode, "1.0.0", script(`{"state":2,"poll_interval_seconds":0}`, `{"state":2,"poll_interval_seconds":0}`, `{"state":4}`))
			waitState(inv, bkv1.StateSuccess)
			served := pod.served(inv.Name)
			Expect(served).To(HaveLen(3))
			for i := 1; i < len(served); i++ {
				Expect(served[i].start.Sub(served[i-1].end)).To(BeNumerically(">=", invocation.DefaultMinPollInterval),
					"execute %d came %s after the end of the one before", served[i].invokeCount, served[i].start.Sub(served[i-1].end))
			}
		})
	})

	Context("with a plugin that echoes its sensitive input", func() {
		BeforeEach(func() {
			pod := httptest.NewServer(server.Handler(vaultPlugin()))
			DeferCleanup(pod.Close)
			suite.WaitReady(suite.RegisterVersions(ns, vaultPlugin(), pod.URL))
		})

		It("refuses an invocation naming another invocation's Secret", func() {
			const marker = "MARKER-victim-5e1f-SECRET"
			victim := newTraceID()
			sensitiveSecret(ns, victim, `{"token":"`+marker+`"}`)
			waitState(invoke(ns, vaultCode, "1.0.0", `{}`, named(victim)), bkv1.StateSuccess)

			attacker := &bkv1.PluginInvocation{
				ObjectMeta: metav1.ObjectMeta{Name: newTraceID(), Namespace: ns},
				Spec: bkv1.PluginInvocationSpec{Plugin: vaultCode, Version: "1.0.0", Inputs: testenv.RawJSON(`{}`),
					SensitiveSecretName: victim + bkv1.SensitiveSecretSuffix},
			}
			err := k8sClient.Create(suiteCtx, attacker)
			Expect(apierrors.IsInvalid(err)).To(BeTrue(), "creating the attacker's invocation: %v", err)
			Expect(err.Error()).To(ContainSubstring("spec.sensitiveSecretName must be unset or <metadata.name>-sensitive"))
		})

		It("does not read or adopt an unrelated Secret named like the invocation's", func() {
			const marker = "MARKER-unrelated-93c0-SECRET"
			name := newTraceID()
			unrelated := &corev1.Secret{
				ObjectMeta: metav1.ObjectMeta{Name: name + bkv1.SensitiveSecretSuffix, Namespace: ns},
				Data:       map[string][]byte{bkv1.SensitiveInputsKey: []byte(`{"token":"` + marker + `"}`)},
			}
			Expect(k8sClient.Create(suiteCtx, unrelated)).To(Succeed())
			inv := invoke(ns, vaultCode, "1.0.0", `{}`, named(name))
			got := waitState(inv, bkv1.StateFail)
			Expect(got.Status.InvokeCount).To(BeZero(), "the plugin ran with the unrelated Secret's value")
			Expect(got.Status.Error).To(ContainSubstring("was not made for invocation " + name))
			Expect(succeededCondition(got).Reason).To(Equal(bkv1.ReasonForeignSecret))
			Consistently(func(g Gomega) {
				s := &corev1.Secret{}
				g.Expect(k8sClient.Get(suiteCtx, client.ObjectKeyFromObject(unrelated), s)).To(Succeed())
				g.Expect(s.OwnerReferences).To(BeEmpty(), "the invocation adopted an unrelated Secret: it would be deleted with it")
			}, "2s", "200ms").Should(Succeed())
			expectNowhere(ns, inv, marker)
		})

		It("does not read a Secret left by a deleted invocation of the same name", func() {
			const marker = "MARKER-reused-77b1-SECRET"
			name := newTraceID()
			left := &corev1.Secret{
				ObjectMeta: metav1.ObjectMeta{Name: name + bkv1.SensitiveSecretSuffix, Namespace: ns,
					Labels: map[string]string{bkv1.LabelInvocation: name},
					OwnerReferences: []metav1.OwnerReference{{APIVersion: bkv1.GroupVersion.String(), Kind: "PluginInvocation",
						Name: name, UID: types.UID("0d9c3a52-0000-4000-8000-000000000000")}}},
				Data: map[string][]byte{bkv1.SensitiveInputsKey: []byte(`{"token":"` + marker + `"}`)},
			}
			Expect(k8sClient.Create(suiteCtx, left)).To(Succeed())
			got := waitState(invoke(ns, vaultCode, "1.0.0", `{}`, named(name)), bkv1.StateFail)
			Expect(got.Status.InvokeCount).To(BeZero())
			Expect(got.Status.Error).To(ContainSubstring("belongs to another PluginInvocation"))
		})
	})
})
