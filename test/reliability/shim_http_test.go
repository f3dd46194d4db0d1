//go:build envtest

package reliability

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	apimeta "k8s.io/apimachinery/pkg/api/meta"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	utilyaml "k8s.io/apimachinery/pkg/util/yaml"
	"sigs.k8s.io/controller-runtime/pkg/client"

	bkv1 "github.com/bkplugin/bk-plugin-operator/api/v1alpha1"
	"github.com/bkplugin/bk-plugin-operator/sdk/stdapi"
)

// envelope is the shim's answer.
type envelope struct {
	Result  bool            `json:"result"`
	Data    json.RawMessage `json:"data"`
	Message string          `json:"message"`
	TraceID string          `json:"trace_id"`
}

// invokeData is an invoke answer's data.
type invokeData struct {
	Outputs json.RawMessage `json:"outputs"`
	State   int             `json:"state"`
	Err     string          `json:"err"`
}

// answer is one HTTP exchange with the shim: err is a transport failure.
type answer struct {
	status int
	env    envelope
	raw    []byte
	err    error
}

// httpClient is the harness's client; its timeout is above the shim's
// invoke timeout, so that a slow first execute is not a transport failure.
var httpTimeout = 30 * time.Second

// do sends one request to the shim with the harness's bearer token.
func (s *stack) do(method, path string, body []byte, headers map[string]string) answer {
	ctx, cancel := context.WithTimeout(context.Background(), httpTimeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, method, "http://"+s.shimAddr+path, bytes.NewReader(body))
	if err != nil {
		return answer{err: err}
	}
	req.Header.Set("Authorization", "Bearer "+s.authToken)
	req.Header.Set("Content-Type", "application/json")
	for k, v := range headers {
		req.Header.Set(k, v)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return answer{err: err}
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	if err != nil {
		return answer{status: resp.StatusCode, err: err}
	}
	a := answer{status: resp.StatusCode, raw: raw}
	if jerr := json.Unmarshal(raw, &a.env); jerr != nil {
		a.err = fmt.Errorf("answer %d is not an envelope: %.200q", resp.StatusCode, raw)
	}
	return a
}

// invoke posts an invoke of the recorder with a client-chosen trace id.
func (s *stack) invoke(code, traceID string, inputs any, async bool) answer {
	body, err := json.Marshal(map[string]any{"inputs": inputs, "context": map[string]any{}})
	if err != nil {
		return answer{err: err}
	}
	h := map[string]string{stdapi.HeaderTraceID: traceID}
	if async {
		h[stdapi.HeaderAsync] = "true"
	}
	return s.do(http.MethodPost, "/plugins/"+code+"/bk_plugin/invoke/1.0.0", body, h)
}

// applyRecorderVersions registers the recorder's versions from its own
// manifest, as a plugin author would, and waits until they are Ready.
func (s *stack) applyRecorderVersions() {
	s.t.Helper()
	out, err := exec.Command(filepath.Join(s.binDir, "recorder"), "manifest", "--url", "http://"+s.pluginAddr, "--namespace", namespace).Output()
	if err != nil {
		s.t.Fatalf("recorder manifest: %v", err)
	}
	dec := utilyaml.NewYAMLOrJSONDecoder(bytes.NewReader(out), 4096)
	for {
		var obj unstructured.Unstructured
		if err := dec.Decode(&obj.Object); err != nil {
			if err == io.EOF {
				break
			}
			s.t.Fatal(err)
		}
		if len(obj.Object) == 0 {
			continue
		}
		if err := s.admin.Create(context.Background(), &obj); err != nil {
			s.t.Fatal(err)
		}
		s.waitVersionReady(obj.GetName())
	}
}

// waitVersionReady waits for the manager to mark a PluginVersion Ready.
func (s *stack) waitVersionReady(name string) {
	s.t.Helper()
	var last string
	err := poll(2*time.Minute, 200*time.Millisecond, func() (bool, error) {
		plv := &bkv1.PluginVersion{}
		if err := s.admin.Get(context.Background(), client.ObjectKey{Namespace: namespace, Name: name}, plv); err != nil {
			return false, err
		}
		c := apimeta.FindStatusCondition(plv.Status.Conditions, "Ready")
		if c != nil {
			last = c.Reason + ": " + c.Message
		}
		return c != nil && c.Status == "True", nil
	})
	if err != nil {
		s.t.Fatalf("PluginVersion %s not Ready (%s): %v", name, last, err)
	}
}

// invocations returns the invocations named by ids that exist.
func (s *stack) invocations(ids []string) (map[string]*bkv1.PluginInvocation, error) {
	var list bkv1.PluginInvocationList
	if err := s.admin.List(context.Background(), &list, client.InNamespace(namespace)); err != nil {
		return nil, err
	}
	want := map[string]bool{}
	for _, id := range ids {
		want[id] = true
	}
	out := map[string]*bkv1.PluginInvocation{}
	for i := range list.Items {
		if want[list.Items[i].Name] {
			out[list.Items[i].Name] = &list.Items[i]
		}
	}
	return out, nil
}

// waitAll waits until cond holds for every invocation of ids.
func (s *stack) waitAll(ids []string, timeout time.Duration, what string, cond func(*bkv1.PluginInvocation) bool) map[string]*bkv1.PluginInvocation {
	s.t.Helper()
	var invs map[string]*bkv1.PluginInvocation
	pending := 0
	err := poll(timeout, 500*time.Millisecond, func() (bool, error) {
		var err error
		if invs, err = s.invocations(ids); err != nil {
			return false, nil // the API server may be restarting
		}
		pending = 0
		for _, id := range ids {
			if inv, ok := invs[id]; !ok || !cond(inv) {
				pending++
			}
		}
		return pending == 0, nil
	})
	if err != nil {
		s.t.Fatalf("%d of %d invocations not %s: %v", pending, len(ids), what, err)
	}
	return invs
}

// record is one execute the recorder served (see recorder/main.go).
type record struct {
	TraceID     string `json:"t"`
	InvokeCount int    `json:"n"`
	State       string `json:"s"`
	At          int64  `json:"at"`
}

// records reads the executes served for ids, by trace id, in order.
func (s *stack) records(ids []string) map[string][]record {
	s.t.Helper()
	b, err := os.ReadFile(s.recordFile)
	if err != nil {
		s.t.Fatal(err)
	}
	want := map[string]bool{}
	for _, id := range ids {
		want[id] = true
	}
	out := map[string][]record{}
	for _, line := range strings.Split(string(b), "\n") {
		if line == "" {
			continue
		}
		var r record
		if err := json.Unmarshal([]byte(line), &r); err != nil {
			s.t.Fatalf("record %q: %v", line, err)
		}
		if want[r.TraceID] {
			out[r.TraceID] = append(out[r.TraceID], r)
		}
	}
	for _, rs := range out {
		sort.SliceStable(rs, func(i, j int) bool { return rs[i].At < rs[j].At })
	}
	return out
}

// repeated counts executes whose (trace id, invoke count) was served before.
func repeated(recs map[string][]record) int {
	n := 0
	for _, rs := range recs {
		seen := map[int]bool{}
		for _, r := range rs {
			if seen[r.InvokeCount] {
				n++
			}
			seen[r.InvokeCount] = true
		}
	}
	return n
}

// traceIDs makes n fresh trace ids.
func traceIDs(t *testing.T, n int) []string {
	ids := make([]string, n)
	for i := range ids {
		ids[i] = randomHex(t, 16)
	}
	return ids
}

// allInvocations lists every invocation of the namespace.
func (s *stack) allInvocations() ([]bkv1.PluginInvocation, error) {
	var list bkv1.PluginInvocationList
	if err := s.admin.List(context.Background(), &list, client.InNamespace(namespace)); err != nil {
		return nil, err
	}
	return list.Items, nil
}
