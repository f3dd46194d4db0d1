// Package ui is the shim's debug panel: a page where a plugin author picks
// a plugin version, fills its form, invokes it and watches the invocation
// run, execute by execute, and answers a CALLBACK by hand.
//
// The page is plain HTML, CSS and JavaScript modules embedded in the binary:
// it loads nothing from elsewhere, so it works on a machine with no network,
// and it talks only to the shim's own standard API, on the same origin, as
// any platform would. It holds no secret: when the shim requires a bearer
// token the user types it into the page.
package ui

import (
	"bytes"
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"io/fs"
	"net/http"
	"path"
	"strings"
	"time"
)

// Paths the panel is served on: the page at IndexPath and its scripts and
// style sheet under AssetsPrefix.
const (
	IndexPath    = "/"
	AssetsPrefix = "/ui/"
)

//go:embed assets
var embedded embed.FS

// asset is one embedded file, ready to serve.
type asset struct {
	name        string
	body        []byte
	contentType string
	etag        string
}

// contentTypes are set explicitly rather than sniffed: browsers refuse to
// run a module script served with any type but a JavaScript one.
var contentTypes = map[string]string{
	".html": "text/html; charset=utf-8",
	".js":   "text/javascript; charset=utf-8",
	".css":  "text/css; charset=utf-8",
	".svg":  "image/svg+xml",
	".png":  "image/png",
}

// contentSecurityPolicy lets the page load and call only its own origin,
// so that nothing is fetched from elsewhere even by mistake, and keeps it
// out of frames.
const contentSecurityPolicy = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; " +
	"connect-src 'self'; form-action 'none'; base-uri 'none'; frame-ancestors 'none'"

// Handler serves the panel: index.html at IndexPath and every embedded
// asset under AssetsPrefix, with its content type, an ETag and
// Cache-Control: no-cache, so that browsers revalidate and see a new
// shim's page at once while an unchanged one costs a 304. Anything else
// is 404.
func Handler() http.Handler {
	assets := map[string]*asset{}
	err := fs.WalkDir(embedded, "assets", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		body, err := embedded.ReadFile(p)
		if err != nil {
			return err
		}
		sum := sha256.Sum256(body)
		name := strings.TrimPrefix(p, "assets/")
		assets[name] = &asset{
			name:        name,
			body:        body,
			contentType: contentTypes[path.Ext(name)],
			etag:        `"` + hex.EncodeToString(sum[:8]) + `"`,
		}
		return nil
	})
	if err != nil {
		// The files are compiled in: failing to read them is a broken build.
		panic("ui: read embedded assets: " + err.Error())
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodGet && r.Method != http.MethodHead {
			w.Header().Set("Allow", "GET, HEAD")
			http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
			return
		}
		name := ""
		switch {
		case r.URL.Path == IndexPath:
			name = "index.html"
		case strings.HasPrefix(r.URL.Path, AssetsPrefix):
			name = strings.TrimPrefix(r.URL.Path, AssetsPrefix)
		}
		a, ok := assets[name]
		if !ok || a.contentType == "" {
			http.NotFound(w, r)
			return
		}
		h := w.Header()
		h.Set("Content-Type", a.contentType)
		h.Set("Cache-Control", "no-cache")
		h.Set("ETag", a.etag)
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("Content-Security-Policy", contentSecurityPolicy)
		h.Set("Referrer-Policy", "no-referrer")
		// ServeContent answers If-None-Match with 304 and HEAD without a body.
		http.ServeContent(w, r, a.name, time.Time{}, bytes.NewReader(a.body))
	})
}

// IsPanelRequest reports whether r asks for the panel's page or assets.
// The shim serves them without a bearer token: they hold nothing secret,
// and the page itself asks the user for the token its API calls need.
func IsPanelRequest(r *http.Request) bool {
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		return false
	}
	return r.URL.Path == IndexPath || strings.HasPrefix(r.URL.Path, AssetsPrefix)
}
