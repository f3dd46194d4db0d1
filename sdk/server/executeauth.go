package server

import (
	"bytes"
	"crypto/subtle"
	"fmt"
	"net/http"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/bkplugin/bk-plugin-operator/sdk/protocol"
)

// executeAuth holds the shared token that proves an execute comes from the
// manager (protocol.ExecuteTokenEnv). Read from a file, it follows the
// file: a rotated Secret is used within a second, without a restart.
type executeAuth struct {
	static string
	path   string

	mu      sync.Mutex
	token   string
	checked time.Time
}

func newExecuteAuth(o Options) (*executeAuth, error) {
	a := &executeAuth{static: o.ExecuteToken, path: o.ExecuteTokenFile}
	if a.path != "" {
		tok, err := readExecuteToken(a.path)
		if err != nil {
			return nil, err
		}
		a.token, a.checked = tok, time.Now()
	}
	return a, nil
}

func readExecuteToken(path string) (string, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return "", fmt.Errorf("read execute token: %w", err)
	}
	tok := string(bytes.TrimSpace(b))
	if tok == "" {
		return "", fmt.Errorf("execute token file %s is empty", path)
	}
	return tok, nil
}

// enabled reports whether executes must carry a token.
func (a *executeAuth) enabled() bool { return a.static != "" || a.path != "" }

func (a *executeAuth) current() string {
	if a.path == "" {
		return a.static
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	if time.Since(a.checked) >= time.Second {
		a.checked = time.Now()
		if tok, err := readExecuteToken(a.path); err == nil {
			a.token = tok // a failed reread keeps the last good token
		}
	}
	return a.token
}

// allow reports whether r carries the token, compared in constant time.
func (a *executeAuth) allow(r *http.Request) bool {
	if !a.enabled() {
		return true
	}
	got, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
	want := a.current()
	return ok && want != "" && subtle.ConstantTimeCompare([]byte(got), []byte(want)) == 1
}

// requireExecuteToken refuses an execute without the manager's token: the
// shim's authentication, allow_scope and task.json checks happen before
// an invocation exists, so an execute from anyone else would skip them.
func (s *Server) requireExecuteToken(next http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if !s.execAuth.allow(r) {
			w.Header().Set("WWW-Authenticate", `Bearer realm="bk-plugin-execute"`)
			writeFail(w, http.StatusUnauthorized, "execute request: missing or wrong execute token; only the manager may execute (send Authorization: Bearer <the token in "+protocol.ExecuteTokenEnv+">)")
			return
		}
		next(w, r)
	}
}
