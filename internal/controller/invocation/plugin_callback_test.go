package invocation

import (
	"errors"
	"testing"

	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	bkv1 "github.com/bkplugin/bk-plugin-operator/api/v1alpha1"
)

// The Python framework's finish-callback mode: who is notified, with what
// body, and which answers count as delivered.

func pluginCallbackInvocation(data string, annotated bool) *bkv1.PluginInvocation {
	inv := &bkv1.PluginInvocation{
		ObjectMeta: metav1.ObjectMeta{Name: "0123456789abcdef0123456789abcdef"},
		Spec: bkv1.PluginInvocationSpec{Plugin: "p", FinishNotification: &bkv1.FinishNotification{
			URL: "http://sops/callback/", PluginCallback: true,
		}},
		Status: bkv1.PluginInvocationStatus{State: bkv1.StateSuccess, Outputs: &apiextensionsv1.JSON{Raw: []byte(`{"a":1}`)}},
	}
	if data != "" {
		inv.Spec.FinishNotification.Data = &apiextensionsv1.JSON{Raw: []byte(data)}
	}
	if annotated {
		inv.Annotations = map[string]string{bkv1.AnnotationInvokeAnsweredPending: "true"}
	}
	return inv
}

func TestPluginCallbackDueOnlyAfterAPendingAnswer(t *testing.T) {
	if notificationDue(pluginCallbackInvocation(`{}`, false)) {
		t.Error("due although the invoke answer was final: the platform has finished its node")
	}
	if !notificationDue(pluginCallbackInvocation(`{}`, true)) {
		t.Error("not due although the invoke answer told the platform to wait")
	}
	plain := pluginCallbackInvocation(`{}`, false)
	plain.Spec.FinishNotification.PluginCallback = false
	if !notificationDue(plain) {
		t.Error("a plain finish notification is always due")
	}
}

func TestPluginCallbackBodyIsExactlyData(t *testing.T) {
	tests := []struct{ data, want string }{
		{`{"node":"n1"}`, `{"node":"n1"}`},
		{`{}`, `{}`},
		{``, `{}`},
		{`null`, `{}`},
	}
	for _, tt := range tests {
		got, err := notificationBody(pluginCallbackInvocation(tt.data, true))
		if err != nil || string(got) != tt.want {
			t.Errorf("body of data %q = %s, %v; want %s", tt.data, got, err, tt.want)
		}
	}
	plain := pluginCallbackInvocation(`{"x":1}`, true)
	plain.Spec.FinishNotification.PluginCallback = false
	got, err := notificationBody(plain)
	if err != nil || string(got) == `{"x":1}` {
		t.Errorf("plain body = %s, %v; want the result with data inside", got, err)
	}
}

func TestNotificationAccepted(t *testing.T) {
	pc := &bkv1.FinishNotification{URL: "http://r/", PluginCallback: true}
	plain := &bkv1.FinishNotification{URL: "http://r/"}
	tests := []struct {
		name   string
		fn     *bkv1.FinishNotification
		status int
		answer string
		ok     bool
	}{
		{"json result true", pc, 200, `{"result": true}`, true},
		{"json without result", pc, 200, `{"message": "ok"}`, true},
		{"json list", pc, 200, `[1]`, true},
		{"result false", pc, 200, `{"result": false, "message": "node finished"}`, false},
		{"result null", pc, 200, `{"result": null}`, false},
		{"plain text", pc, 200, `ok`, false},
		{"empty", pc, 204, ``, false},
		{"500", pc, 500, `{"result": true}`, false},
		{"plain: text is fine", plain, 200, `ok`, true},
		{"plain: 404", plain, 404, ``, false},
	}
	for _, tt := range tests {
		err := notificationAccepted(tt.fn, tt.status, []byte(tt.answer))
		if (err == nil) != tt.ok {
			t.Errorf("%s: err = %v, want ok %v", tt.name, err, tt.ok)
		}
		if err != nil && errors.Unwrap(err) != nil {
			t.Errorf("%s: unexpected wrapped error %v", tt.name, err)
		}
	}
}

func TestCancelReasonOf(t *testing.T) {
	ran := &bkv1.PluginInvocation{Status: bkv1.PluginInvocationStatus{InvokeCount: 1, State: bkv1.StatePoll}}
	fresh := &bkv1.PluginInvocation{}
	tests := []struct {
		name   string
		s      step
		inv    *bkv1.PluginInvocation
		reason string
		tell   bool
	}{
		{"cancelled after an execute", step{kind: stepFail, reason: bkv1.ReasonCancelled}, ran, "cancelled", true},
		{"deadline after an execute", step{kind: stepFail, reason: bkv1.ReasonDeadline}, ran, "timeout", true},
		{"cancelled before any execute", step{kind: stepFail, reason: bkv1.ReasonCancelled}, fresh, "", false},
		{"callback timeout", step{kind: stepFail, reason: bkv1.ReasonCallbackTimeout}, ran, "", false},
	}
	for _, tt := range tests {
		reason, tell := cancelReasonOf(tt.s, tt.inv)
		if reason != tt.reason || tell != tt.tell {
			t.Errorf("%s: cancelReasonOf = %q, %v; want %q, %v", tt.name, reason, tell, tt.reason, tt.tell)
		}
	}
}
