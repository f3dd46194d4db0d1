package client

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
)

// recorded is one request the fake shim received.
type recorded struct {
	Method string
	Path   string // escaped path, as on the wire
	Header http.Header
	Body   []byte
}

// answer is what the fake shim replies.
type answer struct {
	Status      int
	ContentType string
	Body        string
}

// fakeShim is an httptest server that answers a script of canned answers,
// written by hand from DESIGN.md and the Python framework's views, and
// records what it was asked. The last answer repeats when the script runs
// out.
type fakeShim struct {
	t      *testing.T
	srv    *httptest.Server
	mu     sync.Mutex
	got    []recorded
	script []answer
}

func newFakeShim(t *testing.T, script ...answer) *fakeShim {
	t.Helper()
	f := &fakeShim{t: t, script: script}
	f.srv = httptest.NewServer(http.HandlerFunc(f.serve))
	t.Cleanup(f.srv.Close)
	return f
}

func (f *fakeShim) serve(w http.ResponseWriter, r *http.Request) {
	body, err := io.ReadAll(r.Body)
	if err != nil {
		f.t.Errorf("fake shim: read body: %v", err)
	}
	f.mu.Lock()
	f.got = append(f.got, recorded{Method: r.Method, Path: r.URL.EscapedPath(), Header: r.Header.Clone(), Body: body})
	i := len(f.got) - 1
	if i >= len(f.script) {
		i = len(f.script) - 1
	}
	a := f.script[i]
	f.mu.Unlock()
	ct := a.ContentType
	if ct == "" {
		ct = "application/json"
	}
	w.Header().Set("Content-Type", ct)
	status := a.Status
	if status == 0 {
		status = http.StatusOK
	}
	w.WriteHeader(status)
	_, _ = io.WriteString(w, a.Body)
}

func (f *fakeShim) requests() []recorded {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]recorded(nil), f.got...)
}

// newClient returns a client of f with opts.
func (f *fakeShim) newClient(opts Options) *Client {
	f.t.Helper()
	c, err := New(f.srv.URL, opts)
	if err != nil {
		f.t.Fatalf("New: %v", err)
	}
	return c
}

// jsonEqual compares two JSON documents by value.
func jsonEqual(t *testing.T, got []byte, want string) bool {
	t.Helper()
	var g, w any
	if err := json.Unmarshal(got, &g); err != nil {
		t.Errorf("body %q is not JSON: %v", got, err)
		return false
	}
	if err := json.Unmarshal([]byte(want), &w); err != nil {
		t.Fatalf("bad want JSON %q: %v", want, err)
	}
	gb, _ := json.Marshal(g)
	wb, _ := json.Marshal(w)
	return string(gb) == string(wb)
}
