package server

import (
	"crypto/subtle"
	"net/http"
	"strings"

	"github.com/bkplugin/bk-plugin-operator/sdk/protocol"
)

// executeAuth holds the shared token that proves an execute comes from the
// manager (protocol.ExecuteTokenEnv): a value, or a file that is followed
// so that a rotated Secret needs no restart.
type executeAuth struct {
	static string
	file   *protocol.ExecuteTokenFile
}

func newExecuteAuth(o Options) (*executeAuth, error) {
	a := &executeAuth{static: o.ExecuteToken}
	if o.ExecuteTokenFile != "" {
		f, err := protocol.OpenExecuteTokenFile(o.ExecuteTokenFile)
		if err != nil {
			return nil, err
		}
		a.file = f
	}
	return a, nil
}

// allow reports whether r carries the token, compared in constant time.
func (a *executeAuth) allow(r *http.Request) bool {
	want := a.static
	if a.file != nil {
		want = a.file.Token()
	}
	if want == "" {
		return true // not configured: tests, laptops
	}
	got, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
	return ok && subtle.ConstantTimeCompare([]byte(got), []byte(want)) == 1
}

// requireExecuteToken refuses an execute without the manager's token: the
// shim's authentication, allow_scope and task.json checks happen before
// an invocation exists, so an execute from anyone else would skip them.
func (s *Server) requireExecuteToken(next http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if !s.execAuth.allow(r) {
			w.Header().Set("WWW-Authenticate", `Bearer realm="bk-plugin-execute"`)
			writeFail(w, http.StatusUnauthorized, "execute request: missing or wrong execute token; only the manager may execute (it sends Authorization: Bearer <the token in "+protocol.ExecuteTokenEnv+">)")
			return
		}
		next(w, r)
	}
}
