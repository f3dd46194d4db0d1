package shim

import (
	"net/http"

	"github.com/bkplugin/bk-plugin-operator/sdk/stdapi"
)

// identity is who a request to the shim comes from, as far as the shim
// trusts it: what it passes on to a plugin's own APIs in the
// Bk-Plugin-App-Code and Bk-Plugin-Username headers, in place of anything
// the caller sent in those headers.
type identity struct {
	// AppCode is the calling app; "" when not known.
	AppCode string
	// Username is the user the app calls for; "" when not known.
	Username string
}

// requestIdentity is the one place plugin-API forwarding learns who is
// calling. Today it is what the shim has: the X-Bkplugin-App-Code and
// X-Bkplugin-Username headers, trusted because the authenticate
// middleware let the request through. The verified identity (a gateway JWT,
// issue 15) replaces this function's body; its callers stay as they are.
func requestIdentity(r *http.Request) identity {
	return identity{AppCode: r.Header.Get(stdapi.HeaderAppCode), Username: r.Header.Get(stdapi.HeaderUsername)}
}
