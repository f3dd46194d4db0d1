package pluginexec

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/bkplugin/bk-plugin-operator/sdk/examples/hello/helloplugin"
	"github.com/bkplugin/bk-plugin-operator/sdk/protocol"
	"github.com/bkplugin/bk-plugin-operator/sdk/server"
)

// The manager's executes carry the token plugin pods check, so a pod that
// refuses everyone else still serves the manager (issue 15 #3).
func TestCallerSendsTheExecuteToken(t *testing.T) {
	pod, err := server.New(helloplugin.Plugin(), server.Options{ExecuteToken: "manager-token", Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	ts := httptest.NewServer(pod)
	defer ts.Close()
	req := &protocol.ExecuteRequest{ProtocolVersion: protocol.Version, TraceID: "0123456789abcdef0123456789abcdef", PluginCode: "hello",
		PluginVersion: "1.0.0", State: protocol.StateEmpty, InvokeCount: 1, Inputs: json.RawMessage(`{"name":"x"}`)}

	for name, token := range map[string]func() string{"no token": nil, "wrong token": func() string { return "guess" }} {
		c := &Caller{HTTP: NewPooledHTTPClient(), MaxAnswerBytes: 1 << 20, Token: token}
		_, err := c.Execute(context.Background(), ts.URL, req, 5*time.Second)
		var ce *CallError
		if !errors.As(err, &ce) || ce.Retryable || !strings.Contains(err.Error(), "401") {
			t.Errorf("%s: err = %v, want a non-retryable 401", name, err)
		}
	}
	c := &Caller{HTTP: NewPooledHTTPClient(), MaxAnswerBytes: 1 << 20, Token: func() string { return "manager-token" }}
	answer, err := c.Execute(context.Background(), ts.URL, req, 5*time.Second)
	if err != nil || answer.State != protocol.StateSuccess {
		t.Fatalf("with the token: %+v, %v", answer, err)
	}
}
