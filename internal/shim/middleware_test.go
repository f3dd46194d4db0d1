package shim

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
)

// bare returns a Server with only what the middleware needs.
func bare(t *testing.T, opts Options) *Server {
	t.Helper()
	opts.applyDefaults()
	m, err := newMetrics(prometheus.NewRegistry())
	if err != nil {
		t.Fatal(err)
	}
	a, err := newAuthState(opts)
	if err != nil {
		t.Fatal(err)
	}
	return &Server{opts: opts, metrics: m, auth: a}
}

func envelopeOf(t *testing.T, rec *httptest.ResponseRecorder) map[string]any {
	t.Helper()
	var env map[string]any
	if err := json.Unmarshal(rec.Body.Bytes(), &env); err != nil {
		t.Fatalf("answer %q is not JSON: %v", rec.Body.String(), err)
	}
	return env
}

func TestRecoverPanicsAnswersAnEnvelope(t *testing.T) {
	s := bare(t, Options{})
	h := s.observe(s.recoverPanics(http.HandlerFunc(func(http.ResponseWriter, *http.Request) { panic("boom") })))
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/plugins/", nil))
	if rec.Code != http.StatusInternalServerError {
		t.Fatalf("status = %d, want 500", rec.Code)
	}
	env := envelopeOf(t, rec)
	if env["result"] != false || !strings.Contains(env["message"].(string), "panic") || env["trace_id"] == "" {
		t.Errorf("envelope = %v", env)
	}
}

func TestAuthenticate(t *testing.T) {
	s := bare(t, Options{AuthTokens: []string{"alpha", "beta"}})
	ok := http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(http.StatusNoContent) })
	h := s.authenticate(ok)
	tests := []struct {
		name, method, path, auth string
		want                     int
	}{
		{"no token", http.MethodGet, "/plugins/", "", 401},
		{"unknown token", http.MethodGet, "/plugins/", "Bearer gamma", 401},
		{"prefix of a token", http.MethodGet, "/plugins/", "Bearer alph", 401},
		{"not a bearer", http.MethodGet, "/plugins/", "Basic alpha", 401},
		{"first token", http.MethodGet, "/plugins/", "Bearer alpha", 204},
		{"second token", http.MethodPost, "/plugins/x/bk_plugin/invoke/1.0.0", "Bearer beta", 204},
		{"callback needs none", http.MethodPost, "/plugins/x/bk_plugin/callback/tok/", "", 204},
		{"callback-like GET does", http.MethodGet, "/plugins/x/bk_plugin/callback/tok/", "", 401},
		{"healthz", http.MethodGet, HealthzPath, "", 204},
		{"readyz", http.MethodGet, ReadyzPath, "", 204},
		{"metrics", http.MethodGet, MetricsPath, "", 204},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := httptest.NewRequest(tt.method, tt.path, nil)
			if tt.auth != "" {
				r.Header.Set("Authorization", tt.auth)
			}
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, r)
			if rec.Code != tt.want {
				t.Fatalf("status = %d, want %d", rec.Code, tt.want)
			}
			if tt.want == 401 {
				if env := envelopeOf(t, rec); env["result"] != false || rec.Header().Get("WWW-Authenticate") == "" {
					t.Errorf("401 answer: %v, WWW-Authenticate %q", env, rec.Header().Get("WWW-Authenticate"))
				}
			}
		})
	}
}

func TestLimitBody(t *testing.T) {
	s := bare(t, Options{MaxBodyBytes: 10})
	h := s.limitBody(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if _, err := readBody(r); err != nil {
			s.fail(w, r, err)
			return
		}
		w.WriteHeader(http.StatusNoContent)
	}))
	for name, tc := range map[string]struct {
		body    string
		chunked bool
		want    int
	}{
		"small":              {"{}", false, 204},
		"declared too large": {strings.Repeat("x", 11), false, 413},
		"chunked too large":  {strings.Repeat("x", 11), true, 413},
	} {
		t.Run(name, func(t *testing.T) {
			r := httptest.NewRequest(http.MethodPost, "/", strings.NewReader(tc.body))
			if tc.chunked {
				r.ContentLength = -1
			}
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, r)
			if rec.Code != tc.want {
				t.Fatalf("status = %d, want %d: %s", rec.Code, tc.want, rec.Body)
			}
			if tc.want == 413 && !strings.Contains(envelopeOf(t, rec)["message"].(string), "10 bytes") {
				t.Errorf("message does not name the limit: %s", rec.Body)
			}
		})
	}
}

// TestLogPathRedactsCallbackTokens: a callback token in the access log would
// let anyone who reads the logs deliver that callback.
func TestLogPathRedactsCallbackTokens(t *testing.T) {
	for path, want := range map[string]string{
		"/plugins/cb/bk_plugin/callback/eyJ0Ijoi.c2ln/": "/plugins/cb/bk_plugin/callback/REDACTED/",
		"/plugins/cb/bk_plugin/callback/eyJ0Ijoi.c2ln":  "/plugins/cb/bk_plugin/callback/REDACTED/",
		"/plugins/cb/bk_plugin/schedule/0123":           "/plugins/cb/bk_plugin/schedule/0123",
		"/plugins/cb/bk_plugin/meta/":                   "/plugins/cb/bk_plugin/meta/",
	} {
		r := httptest.NewRequest(http.MethodPost, path, nil)
		if got := logPath(r); got != want {
			t.Errorf("logPath(%s) = %s, want %s", path, got, want)
		}
	}
}
