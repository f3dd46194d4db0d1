//go:build envtest

package reliability

import (
	"context"
	"encoding/json"
	"net/http"
	"os"
	"strings"
	"testing"
	"time"

	"sigs.k8s.io/controller-runtime/pkg/client"

	bkv1 "github.com/bkplugin/bk-plugin-operator/api/v1alpha1"
	"github.com/bkplugin/bk-plugin-operator/sdk/protocol"
	"github.com/bkplugin/bk-plugin-operator/sdk/stdapi"
)

// hostile is one hostile request and the answer it must get.
type hostile struct {
	name string
	// send returns the answer to check.
	send func() answer
	// status is the status wanted; want a substring of the message.
	status int
	want   string
}

// hostileInput sends hostile bodies and callback tokens to the shim over
// HTTP. Each must get its documented 4xx with a message naming the problem,
// never a 500 or a hang; the one hostile-looking body that is valid (the
// largest int64) must be stored exactly as sent.
func hostileInput(t *testing.T, s *stack) []row {
	invokeRaw := func(body string) func() answer {
		return func() answer {
			return s.do(http.MethodPost, "/plugins/recorder/bk_plugin/invoke/1.0.0", []byte(body),
				map[string]string{stdapi.HeaderTraceID: randomHex(t, 16), stdapi.HeaderAsync: "true"})
		}
	}
	with := func(inputs string) func() answer {
		return invokeRaw(`{"inputs":{"mode":"sleep",` + inputs + `},"context":{}}`)
	}
	cases := []hostile{
		{"10k nested arrays", with(`"x":` + strings.Repeat("[", 10000) + strings.Repeat("]", 10000)), 400, "invalid invoke body"},
		{"200 nested objects", with(`"x":` + strings.Repeat(`{"a":`, 200) + "1" + strings.Repeat("}", 200)), 400, "nested deeper than"},
		{"invalid UTF-8", with("\"x\":\"\xff\xfe\xfd\""), 400, "not valid UTF-8"},
		{"1e400", with(`"x":1e400`), 400, "out of the range"},
		{"40-digit integer", with(`"x":1234567890123456789012345678901234567890`), 400, "does not fit in 64 bits"},
		{"body over the shim's limit", with(`"x":"` + strings.Repeat("a", maxBodyBytes) + `"`), 413, "at most"},
		{"object over the API server's limit", with(`"x":"` + strings.Repeat("a", 2<<20) + `"`), 413, "too large"},
	}
	cases = append(cases, tokenCases(t, s)...)

	wrong := 0
	for _, c := range cases {
		start := time.Now()
		a := c.send()
		switch {
		case a.err != nil:
			wrong++
			t.Errorf("%s: %v", c.name, a.err)
		case a.status != c.status || a.env.Result || !strings.Contains(a.env.Message, c.want):
			wrong++
			t.Errorf("%s: answered %d %q; want %d with a message containing %q", c.name, a.status, a.env.Message, c.status, c.want)
		default:
			t.Logf("%s: %d %q in %s", c.name, a.status, truncate(a.env.Message, 160), time.Since(start).Round(time.Millisecond))
		}
	}
	if !exactInt64(t, s) {
		wrong++
	}
	return []row{{fault: "hostile bodies and callback tokens (answered 4xx, never 500)", invocations: len(cases) + 1, lost: wrong, repeated: -1, early: -1}}
}

// exactInt64 invokes with the largest int64 and a long float and checks
// that the invocation's spec holds them digit for digit.
func exactInt64(t *testing.T, s *stack) bool {
	id := randomHex(t, 16)
	a := s.do(http.MethodPost, "/plugins/recorder/bk_plugin/invoke/1.0.0",
		[]byte(`{"inputs":{"mode":"sleep","big":9223372036854775807,"neg":-9223372036854775808,"f":1.7976931348623157e308},"context":{}}`),
		map[string]string{stdapi.HeaderTraceID: id, stdapi.HeaderAsync: "true"})
	if a.err != nil || a.status != http.StatusOK {
		t.Errorf("largest int64: answered %d %s %v; want 200", a.status, a.raw, a.err)
		return false
	}
	inv := &bkv1.PluginInvocation{}
	if err := s.admin.Get(context.Background(), client.ObjectKey{Namespace: namespace, Name: id}, inv); err != nil {
		t.Error(err)
		return false
	}
	raw := string(inv.Spec.Inputs.Raw)
	for _, want := range []string{"9223372036854775807", "-9223372036854775808", "1.7976931348623157e+308"} {
		if !strings.Contains(raw, want) {
			t.Errorf("largest int64: stored inputs %s lost %s", raw, want)
			return false
		}
	}
	return true
}

// tokenCases are callback tokens that must be refused: tampered, forged with
// another key, expired, signed for another invocation, and posted under
// another plugin. The invocation they aim at waits in CALLBACK.
func tokenCases(t *testing.T, s *stack) []hostile {
	id := randomHex(t, 16)
	if err := invokeUntilRecorded(s, "recorder", id, map[string]any{"mode": "callback"}, false); err != nil {
		t.Fatal(err)
	}
	invs := s.waitAll([]string{id}, time.Minute, "in CALLBACK", func(inv *bkv1.PluginInvocation) bool { return inv.Status.State == bkv1.StateCallback })
	var outs struct {
		CallbackURL string `json:"callback_url"`
	}
	if err := json.Unmarshal(invs[id].Status.Outputs.Raw, &outs); err != nil {
		t.Fatal(err)
	}
	token := strings.Trim(outs.CallbackURL[strings.LastIndex(strings.TrimSuffix(outs.CallbackURL, "/"), "/"):], "/")
	inv := invs[id]
	binding := protocol.Binding{TraceID: id, UID: string(inv.UID), Prepared: inv.Status.PreparedCallbacks}
	claims, err := protocol.VerifyBoundToken(token, time.Now(), binding, s.masterKey(t))
	if err != nil {
		t.Fatalf("the manager's token does not verify with the key: %v", err)
	}
	sign := func(key []byte, c protocol.TokenClaims) string {
		tok, err := protocol.SignToken(protocol.DeriveBoundKey(key, c.TraceID, inv.CallbackBindingID()), c)
		if err != nil {
			t.Fatal(err)
		}
		return tok
	}
	post := func(code, tok string) func() answer {
		return func() answer {
			return s.do(http.MethodPost, "/plugins/"+code+"/bk_plugin/callback/"+tok+"/", []byte(`{"ok":true}`), nil)
		}
	}
	tampered := []byte(token)
	tampered[len(tampered)-3] ^= 1
	expired := claims
	expired.ExpiresAt = time.Now().Add(-time.Minute).Unix()
	other := randomHex(t, 16)
	// A plugin pod holds only its invocation's derived key; with it, it
	// signs claims naming another invocation.
	foreignTok, err := protocol.SignToken(protocol.DeriveBoundKey(s.masterKey(t), id, inv.CallbackBindingID()), protocol.TokenClaims{TraceID: other, CallbackID: claims.CallbackID, ExpiresAt: claims.ExpiresAt})
	if err != nil {
		t.Fatal(err)
	}
	return []hostile{
		{"tampered token", post("recorder", string(tampered)), 400, "invalid callback token"},
		{"token forged with another key", post("recorder", sign([]byte("not-the-key-not-the-key-0123456"), claims)), 400, "signature does not match"},
		{"expired token", post("recorder", sign(s.masterKey(t), expired)), 400, "token expired"},
		// The token is verified against the invocation it names, which
		// does not exist: 400 (as the Python framework answers a trace id
		// with no schedule) before any signature is checked.
		{"token replayed against another invocation", post("recorder", foreignTok), 400, "no invocation with trace id " + other},
		{"token posted under another plugin", post("hello", token), 400, "belongs to an invocation of plugin recorder"},
		{"garbage token", post("recorder", "not.a-token"), 400, "invalid callback token"},
		{"callback data not UTF-8", func() answer {
			return s.do(http.MethodPost, "/plugins/recorder/bk_plugin/callback/"+token+"/", []byte("\"\xff\""), nil)
		}, 400, "not valid UTF-8"},
	}
}

// masterKey reads the callback key the manager and the shim were given.
func (s *stack) masterKey(t *testing.T) []byte {
	b, err := os.ReadFile(s.keyFile)
	if err != nil {
		t.Fatal(err)
	}
	return []byte(strings.TrimSpace(string(b)))
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "…"
}
