package ui

import (
	"io/fs"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"testing"
)

func get(t *testing.T, h http.Handler, method, path string, header map[string]string) *httptest.ResponseRecorder {
	t.Helper()
	r := httptest.NewRequest(method, path, nil)
	for k, v := range header {
		r.Header.Set(k, v)
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, r)
	return rec
}

func TestHandlerServesEveryAssetWithItsType(t *testing.T) {
	h := Handler()
	for path, want := range map[string]string{
		"/":             "text/html; charset=utf-8",
		"/ui/app.js":    "text/javascript; charset=utf-8",
		"/ui/form.js":   "text/javascript; charset=utf-8",
		"/ui/style.css": "text/css; charset=utf-8",
	} {
		rec := get(t, h, http.MethodGet, path, nil)
		if rec.Code != http.StatusOK || rec.Body.Len() == 0 {
			t.Errorf("GET %s: %d with %d bytes", path, rec.Code, rec.Body.Len())
		}
		if got := rec.Header().Get("Content-Type"); got != want {
			t.Errorf("GET %s: Content-Type %q, want %q", path, got, want)
		}
		if got := rec.Header().Get("Cache-Control"); got != "no-cache" {
			t.Errorf("GET %s: Cache-Control %q, want no-cache", path, got)
		}
		if !strings.Contains(rec.Header().Get("Content-Security-Policy"), "connect-src 'self'") {
			t.Errorf("GET %s: CSP %q does not keep calls on the origin", path, rec.Header().Get("Content-Security-Policy"))
		}
		// Revalidation with the ETag costs no body.
		again := get(t, h, http.MethodGet, path, map[string]string{"If-None-Match": rec.Header().Get("ETag")})
		if again.Code != http.StatusNotModified || again.Body.Len() != 0 {
			t.Errorf("GET %s with its ETag: %d with %d bytes, want 304 and no body", path, again.Code, again.Body.Len())
		}
	}
}

func TestHandlerRefusesTheRest(t *testing.T) {
	h := Handler()
	for _, tc := range []struct {
		method, path string
		want         int
	}{
		{http.MethodGet, "/ui/nope.js", 404},
		{http.MethodGet, "/ui/", 404},
		{http.MethodGet, "/ui/index.html/../app.js", 404},
		{http.MethodGet, "/index.html", 404},
		{http.MethodPost, "/", 405},
		{http.MethodHead, "/ui/app.js", 200},
	} {
		if rec := get(t, h, tc.method, tc.path, nil); rec.Code != tc.want {
			t.Errorf("%s %s: %d, want %d", tc.method, tc.path, rec.Code, tc.want)
		}
	}
}

// The panel must work on a machine with no network: no asset may load
// anything from another origin.
func TestAssetsLoadNothingFromElsewhere(t *testing.T) {
	external := regexp.MustCompile(`(?i)(src|href)\s*=\s*["']?(https?:)?//|url\(\s*["']?(https?:)?//|(from|import)\s*\(?\s*["'](https?:)?//|@import`)
	err := fs.WalkDir(embedded, "assets", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := embedded.ReadFile(p)
		if err != nil {
			return err
		}
		if m := external.Find(b); m != nil {
			t.Errorf("%s loads from another origin: %q", p, m)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

func TestIsPanelRequest(t *testing.T) {
	for _, tc := range []struct {
		method, path string
		want         bool
	}{
		{http.MethodGet, "/", true},
		{http.MethodHead, "/ui/app.js", true},
		{http.MethodPost, "/", false},
		{http.MethodGet, "/plugins/", false},
		{http.MethodGet, "/uix", false},
	} {
		if got := IsPanelRequest(httptest.NewRequest(tc.method, tc.path, nil)); got != tc.want {
			t.Errorf("IsPanelRequest(%s %s) = %v, want %v", tc.method, tc.path, got, tc.want)
		}
	}
}
