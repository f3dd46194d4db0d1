package shim

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/bkplugin/bk-plugin-operator/internal/identity"
	"github.com/bkplugin/bk-plugin-operator/internal/shim/apidoc"
	"github.com/bkplugin/bk-plugin-operator/internal/shim/ui"
	"github.com/bkplugin/bk-plugin-operator/sdk/protocol"
	"github.com/bkplugin/bk-plugin-operator/sdk/stdapi"
)

// Routes that Options.PublicRoutes may open to callers without a
// credential. bk-sops calls meta, detail and schedule on the plugin's own
// host with no credential at all (docs/reference/python-parity.md §2).
var publicRouteNames = []string{"plugins", "meta", "detail", "schedule", "logs"}

// identityKey keys the request's verified identity in its context.
type identityKey struct{}

// identityFrom returns who the request comes from, as authenticate
// verified it. It is the only way a handler learns the caller: never read
// X-Bkplugin-App-Code or Bk-Plugin-Username from the request yourself.
func identityFrom(ctx context.Context) identity.Identity {
	id, _ := ctx.Value(identityKey{}).(identity.Identity)
	return id
}

// authState is what authenticate needs, built once by New.
type authState struct {
	tokens   *identity.Tokens
	verifier *identity.Verifier // nil without gateway keys
	public   map[string]bool
	trust    bool
}

func newAuthState(o Options) (authState, error) {
	a := authState{tokens: o.Tokens, trust: o.TrustIdentityHeaders, public: map[string]bool{}}
	if len(o.AuthTokens) > 0 {
		m := map[string]string{}
		for _, t := range o.AuthTokens {
			m[t] = ""
		}
		a.tokens = identity.NewTokens(m)
		if o.Tokens != nil {
			return authState{}, fmt.Errorf("shim: set Options.Tokens or Options.AuthTokens, not both")
		}
	}
	if o.GatewayKeys.Len() > 0 {
		a.verifier = &identity.Verifier{Keys: o.GatewayKeys, Leeway: o.JWTLeeway, Now: o.Now}
	}
	for _, r := range o.PublicRoutes {
		if !contains(publicRouteNames, r) {
			return authState{}, fmt.Errorf("shim: public route %q is not one of %s", r, strings.Join(publicRouteNames, ", "))
		}
		a.public[r] = true
	}
	return a, nil
}

func contains(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}

// required reports whether callers must prove who they are: whenever a
// token or a gateway key is configured.
func (a authState) required() bool {
	return a.tokens.Len() > 0 || a.verifier != nil
}

// authenticate decides who each request comes from (identify) and refuses
// one that must but cannot say: every route but the probes, the metrics,
// the debug panel's page, callbacks (the signed token is the credential)
// and the routes opened by Options.PublicRoutes. The identity travels in
// the request's context (identityFrom).
func (s *Server) authenticate(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if exemptFromAuth(r) {
			next.ServeHTTP(w, r)
			return
		}
		id, err := s.identify(r)
		if err != nil {
			s.unauthorized(w, r, err.Error())
			return
		}
		if !id.Verified() && s.auth.required() && !s.auth.public[routeName(r.URL.Path)] {
			s.unauthorized(w, r, "no credential: send Authorization: Bearer <token>, or call through the BlueKing API gateway (X-Bkapi-JWT)")
			return
		}
		if s.auth.trust {
			id = withIdentityHeaders(id, r.Header)
		}
		infoOf(r).appCode = id.AppCode
		next.ServeHTTP(w, r.WithContext(context.WithValue(r.Context(), identityKey{}, id)))
	})
}

func (s *Server) unauthorized(w http.ResponseWriter, r *http.Request, msg string) {
	w.Header().Set("WWW-Authenticate", `Bearer realm="bk-plugin-shim"`)
	s.fail(w, r, errorf(http.StatusUnauthorized, "%s", msg))
}

// identify reads the request's credentials: a gateway JWT first (the
// gateway vouched for app and user), else a bearer token. A credential
// that is sent but does not verify is an error, never "anonymous": a
// caller must learn that its token is wrong. Without gateway keys the
// JWT is ignored (and not passed on), as the Python SDK does without a
// key; without tokens so is a bearer.
func (s *Server) identify(r *http.Request) (identity.Identity, error) {
	if jwts := r.Header.Values(identity.HeaderGatewayJWT); len(jwts) > 0 && s.auth.verifier != nil {
		if len(jwts) > 1 {
			return identity.Identity{}, fmt.Errorf("invalid %s: sent %d times", identity.HeaderGatewayJWT, len(jwts))
		}
		id, err := s.auth.verifier.Verify(jwts[0])
		if err != nil {
			return identity.Identity{}, fmt.Errorf("invalid %s: %v", identity.HeaderGatewayJWT, err)
		}
		return id, nil
	}
	authz := r.Header.Values("Authorization")
	if len(authz) == 0 || s.auth.tokens.Len() == 0 {
		return identity.Identity{}, nil
	}
	token, ok := strings.CutPrefix(authz[0], "Bearer ")
	if len(authz) > 1 || !ok {
		return identity.Identity{}, fmt.Errorf("Authorization must be one \"Bearer <token>\"")
	}
	id, ok := s.auth.tokens.Lookup(token)
	if !ok {
		return identity.Identity{}, fmt.Errorf("unknown bearer token")
	}
	return id, nil
}

// withIdentityHeaders is the dev-only --trust-identity-headers mode: the
// caller's own X-Bkplugin-App-Code and X-Bkplugin-Username fill what no
// credential said. A header sent more than once is not taken.
func withIdentityHeaders(id identity.Identity, h http.Header) identity.Identity {
	took := false
	if v := h.Values(stdapi.HeaderAppCode); id.AppCode == "" && len(v) == 1 {
		id.AppCode, took = v[0], true
	}
	if v := h.Values(stdapi.HeaderUsername); id.Username == "" && len(v) == 1 {
		id.Username, took = v[0], true
	}
	if took {
		id.Source = identity.SourceHeaders
	}
	return id
}

// routeName names the standard API route of path, for PublicRoutes:
// "plugins" for the list, else the segment after /plugins/{code}/bk_plugin/.
func routeName(path string) string {
	parts := strings.Split(strings.Trim(path, "/"), "/")
	switch {
	case len(parts) == 1 && parts[0] == "plugins":
		return "plugins"
	case len(parts) >= 4 && parts[0] == "plugins" && parts[2] == "bk_plugin":
		return parts[3]
	}
	return ""
}

func exemptFromAuth(r *http.Request) bool {
	switch r.URL.Path {
	case HealthzPath, ReadyzPath, MetricsPath:
		return true
	case apidoc.Path:
		return r.Method == http.MethodGet // a description of the API holds no secret
	}
	if ui.IsPanelRequest(r) {
		return true // the page asks the user for the token its calls send
	}
	return r.Method == http.MethodPost && isCallbackPath(r.URL.Path)
}

// identityHeaders are the headers that name a caller to a plugin pod; only
// the shim sets them (pluginAPIHeaders), whatever the caller sent.
var identityHeaders = []string{protocol.HeaderAppCode, protocol.HeaderUsername, protocol.HeaderTraceID, identity.HeaderGatewayJWT}

// pluginAPIHeaders are the headers a call to a plugin's own APIs carries
// (plugin_api_dispatch and the direct plugin_api routes go through it):
// the caller's Bk-Plugin-* headers, as the Python framework passes them
// on, except those naming a caller, which are the verified identity's:
// Bk-Plugin-App-Code and Bk-Plugin-Username, and the caller's X-Bkapi-JWT
// when it verified, so that the plugin can call other BlueKing APIs as
// the user (the Python framework's inject_user_token).
func pluginAPIHeaders(r *http.Request) http.Header {
	h := http.Header{}
	for k, vs := range r.Header {
		k = http.CanonicalHeaderKey(k)
		if strings.HasPrefix(k, "Bk-Plugin-") && !contains(identityHeaders, k) {
			h[k] = append([]string(nil), vs...)
		}
	}
	id := identityFrom(r.Context())
	if id.AppCode != "" {
		h.Set(protocol.HeaderAppCode, id.AppCode)
	}
	if id.Username != "" {
		h.Set(protocol.HeaderUsername, id.Username)
	}
	if id.Source == identity.SourceGateway {
		h.Set(identity.HeaderGatewayJWT, id.GatewayJWT)
	}
	h.Set(protocol.HeaderTraceID, infoOf(r).traceID)
	return h
}

// bodyDeadline bounds how long a request body may take to arrive, so that
// a client trickling bytes cannot hold a connection (and a goroutine)
// for ever. The deadline is lifted once the body is read, because the
// server's background read for a closed connection shares it and would
// otherwise cancel a long synchronous invoke.
func (s *Server) bodyDeadline(w http.ResponseWriter, r *http.Request) {
	if s.opts.BodyReadTimeout < 0 || r.Body == nil || r.Body == http.NoBody {
		return
	}
	rc := http.NewResponseController(w)
	if err := rc.SetReadDeadline(time.Now().Add(s.opts.BodyReadTimeout)); err != nil {
		return // not a connection that has deadlines (tests' recorders)
	}
	r.Body = &deadlineBody{ReadCloser: r.Body, lift: func() { _ = rc.SetReadDeadline(time.Time{}) }, timeout: s.opts.BodyReadTimeout}
}
