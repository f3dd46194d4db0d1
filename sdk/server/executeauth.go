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
	// open lets executes in when no token is configured
	// (Options.InsecureNoExecuteToken).
	open bool
}

func newExecuteAuth(o Options) (*executeAuth, error) {
	a := &executeAuth{static: o.ExecuteToken, open: o.InsecureNoExecuteToken}
	if o.ExecuteTokenFile != "" {
		f, err := protocol.OpenExecuteTokenFile(o.ExecuteTokenFile)
		if err != nil {
			return nil, err
		}
		a.file = f
	}
	return a, nil
}

// Why an execute is refused.
const (
	refusedToken = "execute request: missing or wrong execute token; only the manager may execute (it sends Authorization: Bearer <the token in " + protocol.ExecuteTokenEnv + ">)"
	refusedNone  = "execute request refused: this plugin server has no execute token configured, so it cannot tell the manager's executes from anyone else's; give it the manager's token (" + protocol.ExecuteTokenEnv + ", serve --execute-token-file), or, on a laptop only, serve --insecure-no-execute-token (" + protocol.InsecureNoExecuteTokenEnv + "=true)"
)

// check returns why r may not execute, or "" when it may: it carries the
// token, compared in constant time, or no token is configured and the
// server was told to run open.
func (a *executeAuth) check(r *http.Request) string {
	want := a.static
	if a.file != nil {
		want = a.file.Token()
	}
	if want == "" {
		if a.open {
			return ""
		}
		return refusedNone
	}
	got, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
	if ok && subtle.ConstantTimeCompare([]byte(got), []byte(want)) == 1 {
		return ""
	}
	return refusedToken
}

// requireExecuteToken refuses an execute without the manager's token: the
// shim's authentication, allow_scope and task.json checks happen before
// an invocation exists, so an execute from anyone else would skip them.
func (s *Server) requireExecuteToken(next http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if why := s.execAuth.check(r); why != "" {
			w.Header().Set("WWW-Authenticate", `Bearer realm="bk-plugin-execute"`)
			writeFail(w, http.StatusUnauthorized, why)
			return
		}
		next(w, r)
	}
}
