package shim

import (
	"net/http"
	"net/http/httptest"
	"testing"
)

// The debug panel's page loads without a bearer token, since the page is
// where the user types it; the API it calls still wants one.
func TestPanelNeedsNoTokenButItsCallsDo(t *testing.T) {
	s := bare(t, Options{AuthTokens: []string{"alpha"}})
	ok := http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(http.StatusNoContent) })
	h := s.authenticate(ok)
	for _, tc := range []struct {
		method, path string
		want         int
	}{
		{http.MethodGet, "/", 204},
		{http.MethodGet, "/ui/app.js", 204},
		{http.MethodPost, "/", 401},
		{http.MethodGet, "/plugins/", 401},
		{http.MethodGet, "/plugins/hello/bk_plugin/detail/1.0.0", 401},
	} {
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, httptest.NewRequest(tc.method, tc.path, nil))
		if rec.Code != tc.want {
			t.Errorf("%s %s without a token: %d, want %d", tc.method, tc.path, rec.Code, tc.want)
		}
	}
}
