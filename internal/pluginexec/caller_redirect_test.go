package pluginexec

import (
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/bkplugin/bk-plugin-operator/sdk/protocol"
)

// TestExecuteFollowsNoRedirect reproduces issue 15's finding 9: a plugin pod
// answering 307 must not get the execute, with its callback key, re-sent to
// the address it names. Two real HTTP servers: the second records whether
// anything reached it.
func TestExecuteFollowsNoRedirect(t *testing.T) {
	for _, code := range []int{http.StatusMovedPermanently, http.StatusFound, http.StatusTemporaryRedirect, http.StatusPermanentRedirect} {
		var reached atomic.Int32
		target := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			reached.Add(1)
			w.Header().Set("Content-Type", "application/json")
			_, _ = w.Write([]byte(`{"state":4}`))
		}))
		pod := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			http.Redirect(w, r, target.URL+r.URL.Path, code)
		}))
		// The client given may follow redirects (the default does): the
		// caller must refuse them anyway.
		c := &Caller{HTTP: WithoutRedirects(&http.Client{}), MaxAnswerBytes: 1 << 20}
		req := &protocol.ExecuteRequest{ProtocolVersion: protocol.Version, TraceID: "t", PluginVersion: "1.0.0", CallbackKey: []byte("secret-key")}
		_, err := c.Execute(t.Context(), pod.URL, req, 5*time.Second)
		pod.Close()
		target.Close()
		if reached.Load() != 0 {
			t.Fatalf("HTTP %d: the execute was re-sent to the redirect target", code)
		}
		var ce *CallError
		if !errors.As(err, &ce) || ce.Retryable {
			t.Fatalf("HTTP %d: want a non-retryable CallError, got %v", code, err)
		}
		if !strings.Contains(err.Error(), pod.URL) || !strings.Contains(err.Error(), "redirect") {
			t.Fatalf("HTTP %d: error should name the endpoint and the redirect: %v", code, err)
		}
	}
}
