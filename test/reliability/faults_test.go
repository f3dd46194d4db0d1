//go:build envtest

package reliability

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	bkv1 "github.com/bkplugin/bk-plugin-operator/api/v1alpha1"
)

// fault is a plugin pod that misbehaves on execute, and what the
// invocations it serves must end with.
type fault struct {
	name    string
	code    string
	execute http.HandlerFunc
	// timeout is the PluginVersion's timeoutSeconds (0: the default).
	timeout int32
	// want are substrings the FAIL message must hold: the cause, named.
	want []string
}

// faultInvocations is how many invocations each fault case runs.
const faultInvocations = 5

// pluginFaults runs each fault: a plugin pod (a server in this process, on
// loopback) answers its detail correctly, so its version is Ready, and
// misbehaves on every execute. Each invocation must end FAIL with a message
// naming the endpoint and the cause, after the manager's retries for the
// transport failures. Time: the slowest invocation from create to FAIL.
func pluginFaults(t *testing.T, s *stack) []row {
	faults := []fault{
		{name: "plugin pod answers HTTP 500", code: "fault-500", execute: func(w http.ResponseWriter, r *http.Request) {
			w.WriteHeader(http.StatusInternalServerError)
			_, _ = w.Write([]byte(`{"result":false,"message":"database is down","data":null,"trace_id":""}`))
		}, want: []string{"HTTP 500", "database is down", "gave up after"}},
		{name: "plugin pod hangs past the timeout", code: "fault-hang", timeout: 1, execute: func(w http.ResponseWriter, r *http.Request) {
			select {
			case <-r.Context().Done():
			case <-time.After(time.Minute):
			}
		}, want: []string{"no answer within the 1s timeout", "gave up after"}},
		{name: "plugin pod closes the connection", code: "fault-close", execute: func(w http.ResponseWriter, r *http.Request) {
			// Read the whole request first: closing with unread bytes
			// makes the kernel send a reset, and the client then reports
			// "connection reset by peer" instead of EOF (3 of 5 in a CI
			// run on a loaded machine).
			_, _ = io.Copy(io.Discard, r.Body)
			conn, _, err := w.(http.Hijacker).Hijack()
			if err == nil {
				_ = conn.Close()
			}
		}, want: []string{"EOF", "gave up after"}},
		{name: "plugin pod answers garbage", code: "fault-garbage", execute: func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "text/html")
			_, _ = w.Write([]byte("<html><body>502 Bad Gateway</body></html>"))
		}, want: []string{"breaks the plugin pod protocol"}},
	}
	var rows []row
	for _, f := range faults {
		rows = append(rows, runFault(t, s, f))
	}
	return rows
}

// detailSchema is the empty object schema of the fault plugins' versions.
const detailSchema = `{"type":"object","properties":{}}`

func runFault(t *testing.T, s *stack, f fault) row {
	t.Helper()
	var executes atomic.Int64
	mux := http.NewServeMux()
	mux.HandleFunc("GET /bk_plugin/detail/1.0.0", func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintf(w, `{"result":true,"message":"","trace_id":"","data":{"version":"1.0.0","desc":"%s","inputs":%s,"context_inputs":%s,"outputs":%s,"forms":{}}}`,
			f.name, detailSchema, detailSchema, detailSchema)
	})
	mux.HandleFunc("POST /bk_plugin/execute/1.0.0", func(w http.ResponseWriter, r *http.Request) {
		executes.Add(1)
		f.execute(w, r)
	})
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 5 * time.Second}
	go func() { _ = srv.Serve(l) }()
	defer func() { _ = srv.Close() }()
	endpoint := "http://" + l.Addr().String()

	plv := &bkv1.PluginVersion{
		ObjectMeta: metav1.ObjectMeta{Name: f.code + "-1.0.0", Namespace: namespace},
		Spec: bkv1.PluginVersionSpec{
			Plugin: f.code, Version: "1.0.0", Description: f.name,
			Endpoint:      bkv1.PluginEndpoint{URL: &endpoint},
			Inputs:        &apiextensionsv1.JSON{Raw: []byte(detailSchema)},
			ContextInputs: &apiextensionsv1.JSON{Raw: []byte(detailSchema)},
			Outputs:       &apiextensionsv1.JSON{Raw: []byte(detailSchema)},
		},
	}
	if f.timeout > 0 {
		plv.Spec.TimeoutSeconds = &f.timeout
	}
	if err := s.admin.Create(context.Background(), plv); err != nil {
		t.Fatal(err)
	}
	s.waitVersionReady(plv.Name)

	ids := traceIDs(t, faultInvocations)
	start := time.Now()
	parallel(t, len(ids), len(ids), func(i int) error {
		return invokeUntilRecorded(s, f.code, ids[i], map[string]any{}, true)
	})
	final := s.waitAll(ids, retryBudget+3*time.Minute, "terminal", func(inv *bkv1.PluginInvocation) bool { return inv.Status.State.Terminal() })
	settled := time.Since(start)
	lost := 0
	for _, id := range ids {
		inv := final[id]
		msg := inv.Status.Error
		ok := inv.Status.State == bkv1.StateFail && strings.Contains(msg, endpoint)
		for _, w := range f.want {
			ok = ok && strings.Contains(msg, w)
		}
		// The standard API shows the same message as err.
		a := s.do(http.MethodGet, "/plugins/"+f.code+"/bk_plugin/schedule/"+id, nil, nil)
		var sched struct {
			State int    `json:"state"`
			Err   string `json:"err"`
		}
		if a.err != nil || json.Unmarshal(a.env.Data, &sched) != nil || sched.State != 5 || sched.Err != msg {
			ok = false
			t.Errorf("%s: schedule of %s answered %d %s, want state 5 and err %q", f.name, id, a.status, a.raw, msg)
		}
		if !ok {
			lost++
			t.Errorf("%s: invocation %s ended %s with %q; want FAIL naming %s and %q", f.name, id, inv.Status.State, msg, endpoint, f.want)
		}
	}
	t.Logf("%s: %d executes attempted for %d invocations; e.g. %q", f.name, executes.Load(), len(ids), final[ids[0]].Status.Error)
	return row{fault: f.name, invocations: len(ids), lost: lost, repeated: -1, early: -1, recover: settled}
}
