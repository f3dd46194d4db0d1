package shim

import (
	"bufio"
	"crypto/rand"
	"crypto/rsa"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/bkplugin/bk-plugin-operator/internal/identity"
	"github.com/bkplugin/bk-plugin-operator/sdk/stdapi"
)

// These tests play the attacks of issue 15 against the shim's middleware
// over real HTTP, with RSA keys made here.

type gateway struct {
	key *rsa.PrivateKey
	kid string
}

func newGateway(t *testing.T, kid string) gateway {
	t.Helper()
	k, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	return gateway{key: k, kid: kid}
}

// token signs a payload in the gateway's shape, valid for 25 minutes.
func (g gateway) token(t *testing.T, app, user string, verified bool, mutate ...func(jwt.MapClaims)) string {
	t.Helper()
	now := time.Now()
	c := jwt.MapClaims{
		"iss": "APIGW", "nbf": now.Add(-300 * time.Second).Unix(), "exp": now.Add(1500 * time.Second).Unix(),
		"app":  map[string]any{"version": 1, "app_code": app, "verified": verified},
		"user": map[string]any{"version": 1, "username": user, "verified": verified},
	}
	for _, m := range mutate {
		m(c)
	}
	tok := jwt.NewWithClaims(jwt.SigningMethodRS512, c)
	tok.Header["kid"] = g.kid
	s, err := tok.SignedString(g.key)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// echoIdentity answers the identity and the plugin API headers the
// request would carry, as JSON.
func echoIdentity(w http.ResponseWriter, r *http.Request) {
	if _, err := readBody(r); err != nil {
		status, msg := statusOf(err)
		writeJSON(w, status, stdapi.Fail(msg, ""))
		return
	}
	id := identityFrom(r.Context())
	writeJSON(w, http.StatusOK, map[string]any{"app": id.AppCode, "user": id.Username, "source": string(id.Source), "plugin_headers": pluginAPIHeaders(r)})
}

// shimWith serves the middleware chain of routes() around echoIdentity.
func shimWith(t *testing.T, opts Options) *httptest.Server {
	t.Helper()
	s := bare(t, opts)
	srv := httptest.NewUnstartedServer(s.observe(s.recoverPanics(s.limitBody(s.authenticate(http.HandlerFunc(echoIdentity))))))
	srv.Config = s.httpServer(srv.Config.Handler)
	srv.Start()
	t.Cleanup(srv.Close)
	return srv
}

type echoed struct {
	status int
	App    string      `json:"app"`
	User   string      `json:"user"`
	Source string      `json:"source"`
	Header http.Header `json:"plugin_headers"`
	Msg    string      `json:"message"`
}

func call(t *testing.T, url string, header http.Header) echoed {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, url, strings.NewReader("{}"))
	if err != nil {
		t.Fatal(err)
	}
	for k, vs := range header {
		for _, v := range vs {
			req.Header.Add(k, v)
		}
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var e echoed
	b, _ := io.ReadAll(resp.Body)
	if err := json.Unmarshal(b, &e); err != nil {
		t.Fatalf("answer %q: %v", b, err)
	}
	e.status = resp.StatusCode
	return e
}

func TestGatewayJWTIsTheIdentity(t *testing.T) {
	gw, other := newGateway(t, "bk-plugin"), newGateway(t, "other")
	keys := identity.StaticGatewayKeys(map[string]*rsa.PublicKey{"bk-plugin": &gw.key.PublicKey, "other": &other.key.PublicKey})
	srv := shimWith(t, Options{GatewayKeys: keys, Tokens: identity.NewTokens(map[string]string{"platform-token": "bk_job"})})
	invoke := srv.URL + "/plugins/p/bk_plugin/invoke/1.0.0"
	h := func(kv ...string) http.Header {
		out := http.Header{}
		for i := 0; i < len(kv); i += 2 {
			out.Add(kv[i], kv[i+1])
		}
		return out
	}

	valid := gw.token(t, "bk_sops", "admin", true)
	got := call(t, invoke, h(identity.HeaderGatewayJWT, valid,
		stdapi.HeaderAppCode, "evil", stdapi.HeaderUsername, "root",
		"Bk-Plugin-App-Code", "evil", "Bk-Plugin-Username", "root", "Bk-Plugin-Foo", "bar"))
	if got.status != 200 || got.App != "bk_sops" || got.User != "admin" || got.Source != string(identity.SourceGateway) {
		t.Fatalf("valid JWT: %+v", got)
	}
	// What a plugin API receives: the verified identity and the JWT, the
	// caller's other Bk-Plugin-* headers, never its claims.
	ph := got.Header
	if ph.Get("Bk-Plugin-App-Code") != "bk_sops" || ph.Get("Bk-Plugin-Username") != "admin" ||
		ph.Get(identity.HeaderGatewayJWT) != valid || ph.Get("Bk-Plugin-Foo") != "bar" || len(ph.Values("Bk-Plugin-App-Code")) != 1 {
		t.Errorf("plugin API headers = %v", ph)
	}

	unverified := call(t, invoke, h(identity.HeaderGatewayJWT, gw.token(t, "bk_sops", "admin", false), stdapi.HeaderAppCode, "bk_sops"))
	if unverified.status != 200 || unverified.App != "" || unverified.User != "" {
		t.Errorf("verified:false JWT: %+v, want no app and no user", unverified)
	}
	if ph := unverified.Header; ph.Get("Bk-Plugin-App-Code") != "" || ph.Get("Bk-Plugin-Username") != "" {
		t.Errorf("verified:false JWT: plugin API headers %v name a caller", ph)
	}

	stranger := newGateway(t, "bk-plugin")
	for name, tok := range map[string]string{
		"forged (another key, same kid)": stranger.token(t, "bk_sops", "admin", true),
		"expired": gw.token(t, "bk_sops", "admin", true, func(c jwt.MapClaims) {
			c["exp"] = time.Now().Add(-10 * time.Minute).Unix()
		}),
		"not valid yet": gw.token(t, "bk_sops", "admin", true, func(c jwt.MapClaims) {
			c["nbf"] = time.Now().Add(10 * time.Minute).Unix()
		}),
		"wrong kid": newGateway(t, "nobody").token(t, "bk_sops", "admin", true),
		"this gateway's key under the other's kid": gateway{key: gw.key, kid: other.kid}.token(t, "bk_sops", "admin", true),
		"not a JWT": "hello",
		"unsigned": func() string {
			tok := jwt.NewWithClaims(jwt.SigningMethodNone, jwt.MapClaims{"app": map[string]any{"app_code": "bk_sops", "verified": true}, "exp": time.Now().Add(time.Hour).Unix()})
			tok.Header["kid"] = "bk-plugin"
			s, _ := tok.SignedString(jwt.UnsafeAllowNoneSignatureType)
			return s
		}(),
		"tampered payload": func() string {
			parts := strings.Split(valid, ".")
			parts[1] = strings.TrimRight(jwtSegment(t, `{"app":{"app_code":"root_app","verified":true},"exp":9999999999}`), "=")
			return strings.Join(parts, ".")
		}(),
	} {
		t.Run(name, func(t *testing.T) {
			got := call(t, invoke, h(identity.HeaderGatewayJWT, tok, "Authorization", "Bearer platform-token"))
			if got.status != http.StatusUnauthorized || !strings.Contains(got.Msg, "invalid X-Bkapi-JWT") {
				t.Errorf("got %+v, want 401 invalid X-Bkapi-JWT", got)
			}
		})
	}
	if twice := call(t, invoke, h(identity.HeaderGatewayJWT, valid, identity.HeaderGatewayJWT, valid)); twice.status != 401 {
		t.Errorf("JWT sent twice: %+v", twice)
	}
}

func jwtSegment(t *testing.T, s string) string {
	t.Helper()
	return base64.RawURLEncoding.EncodeToString([]byte(s))
}

func TestIdentityHeadersAreIgnoredWithoutTheDevFlag(t *testing.T) {
	tokens := identity.NewTokens(map[string]string{"sops-token": "bk_sops", "legacy-token": ""})
	claims := http.Header{stdapi.HeaderAppCode: {"bk_sops"}, stdapi.HeaderUsername: {"admin"}}

	strict := shimWith(t, Options{Tokens: tokens}).URL + "/plugins/p/bk_plugin/invoke/1.0.0"
	if got := call(t, strict, claims); got.status != http.StatusUnauthorized {
		t.Errorf("headers alone, shipped defaults: %+v, want 401", got)
	}
	h := claims.Clone()
	h.Set("Authorization", "Bearer legacy-token")
	if got := call(t, strict, h); got.status != 200 || got.App != "" || got.User != "" {
		t.Errorf("token without an app plus identity headers: %+v, want no app and no user", got)
	}
	h.Set("Authorization", "Bearer sops-token")
	h.Set(stdapi.HeaderAppCode, "bk_admin")
	if got := call(t, strict, h); got.status != 200 || got.App != "bk_sops" || got.Source != string(identity.SourceToken) {
		t.Errorf("token for bk_sops claiming bk_admin: %+v, want bk_sops", got)
	}

	open := shimWith(t, Options{}).URL + "/plugins/p/bk_plugin/invoke/1.0.0"
	if got := call(t, open, claims); got.status != 200 || got.App != "" {
		t.Errorf("open shim: headers became identity: %+v", got)
	}

	dev := shimWith(t, Options{TrustIdentityHeaders: true}).URL + "/plugins/p/bk_plugin/invoke/1.0.0"
	if got := call(t, dev, claims); got.App != "bk_sops" || got.User != "admin" || got.Source != string(identity.SourceHeaders) {
		t.Errorf("--trust-identity-headers: %+v", got)
	}
	twice := claims.Clone()
	twice.Add(stdapi.HeaderAppCode, "bk_job")
	if got := call(t, dev, twice); got.App != "" {
		t.Errorf("--trust-identity-headers with the app code sent twice: %+v, want none taken", got)
	}
}

func TestCredentialRequiredExceptOnPublicRoutes(t *testing.T) {
	tokens := identity.NewTokens(map[string]string{"tok": "bk_sops"})
	srv := shimWith(t, Options{Tokens: tokens, PublicRoutes: []string{"meta", "detail", "schedule"}})
	for path, want := range map[string]int{
		"/plugins/p/bk_plugin/meta/":                                     200,
		"/plugins/p/bk_plugin/detail/1.0.0":                              200,
		"/plugins/p/bk_plugin/schedule/0123456789abcdef0123456789abcdef": 200,
		"/plugins/p/bk_plugin/invoke/1.0.0":                              401,
		"/plugins/p/bk_plugin/plugin_api_dispatch/":                      401,
		"/plugins/p/bk_plugin/logs/0123456789abcdef0123456789abcdef":     401,
		"/plugins/": 401,
	} {
		if got := call(t, srv.URL+path, nil); got.status != want {
			t.Errorf("%s without a credential: %d, want %d", path, got.status, want)
		}
	}
	// A wrong credential on a public route is still an error: the caller
	// must learn that its token is wrong.
	if got := call(t, srv.URL+"/plugins/p/bk_plugin/meta/", http.Header{"Authorization": {"Bearer nope"}}); got.status != 401 {
		t.Errorf("wrong token on a public route: %d", got.status)
	}
	if _, err := newAuthState(Options{PublicRoutes: []string{"invoke"}}); err == nil {
		t.Error("invoke accepted as a public route")
	}
}

// A client that sends its headers and then trickles its body is cut off
// after BodyReadTimeout; a handler that read its body in time may then
// take longer than that (a synchronous invoke) without its context ending.
func TestSlowBodyTimesOut(t *testing.T) {
	const timeout = 300 * time.Millisecond
	s := bare(t, Options{BodyReadTimeout: timeout})
	var slowHandlerCtxErr atomic.Value
	h := s.observe(s.limitBody(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if _, err := readBody(r); err != nil {
			s.fail(w, r, err)
			return
		}
		time.Sleep(3 * timeout) // a synchronous invoke waiting for its first execute
		slowHandlerCtxErr.Store(fmt.Sprint(r.Context().Err()))
		w.WriteHeader(http.StatusNoContent)
	})))
	srv := httptest.NewUnstartedServer(h)
	srv.Config = s.httpServer(h)
	srv.Start()
	defer srv.Close()

	conn, err := net.Dial("tcp", srv.Listener.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	fmt.Fprintf(conn, "POST /plugins/p/bk_plugin/invoke/1.0.0 HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{")
	_ = conn.SetReadDeadline(time.Now().Add(10 * time.Second))
	resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
	if err != nil {
		t.Fatalf("no answer to a trickling body: %v", err)
	}
	body, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusRequestTimeout || !strings.Contains(string(body), "not received within") {
		t.Fatalf("trickling body: %d %s, want 408", resp.StatusCode, body)
	}

	req, _ := http.NewRequest(http.MethodPost, srv.URL+"/plugins/p/bk_plugin/invoke/1.0.0", strings.NewReader("{}"))
	resp2, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp2.Body.Close()
	if resp2.StatusCode != http.StatusNoContent || slowHandlerCtxErr.Load() != "<nil>" {
		t.Errorf("slow handler after a prompt body: %d, context %v; want 204 and a live context", resp2.StatusCode, slowHandlerCtxErr.Load())
	}
}

// A plugin pod answering 307 must not send the shim, with the caller's
// identity and JWT, elsewhere: the shim's client answers the 3xx as is.
func TestPodClientFollowsNoRedirect(t *testing.T) {
	var elsewhere atomic.Int32
	target := httptest.NewServer(http.HandlerFunc(func(http.ResponseWriter, *http.Request) { elsewhere.Add(1) }))
	defer target.Close()
	pod := httptest.NewServer(http.RedirectHandler(target.URL+"/steal", http.StatusTemporaryRedirect))
	defer pod.Close()
	for name, opts := range map[string]Options{
		"default client":           {},
		"caller's client, no rule": {HTTPClient: &http.Client{Timeout: time.Second}},
	} {
		s := bare(t, opts)
		resp, err := s.opts.HTTPClient.Post(pod.URL+"/bk_plugin/plugin_api/x", "application/json", strings.NewReader("{}"))
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusTemporaryRedirect || elsewhere.Load() != 0 {
			t.Errorf("%s: status %d, redirect target hit %d times", name, resp.StatusCode, elsewhere.Load())
		}
	}
}
