//go:build envtest

package shim_test

import (
	"net/http"
	"os"
	"path/filepath"
	"sync"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"

	bkv1 "github.com/bkplugin/bk-plugin-operator/api/v1alpha1"
	"github.com/bkplugin/bk-plugin-operator/internal/callbackkey"
	"github.com/bkplugin/bk-plugin-operator/internal/shim"
	bkclient "github.com/bkplugin/bk-plugin-operator/sdk/client"
	"github.com/bkplugin/bk-plugin-operator/sdk/protocol"
	"github.com/bkplugin/bk-plugin-operator/sdk/stdapi"
)

// Issue 15: the callback key rotates with no restart, and callback tokens
// live no longer than --callback-token-max-ttl. A second shim follows a key
// file (callbackkey.Ring, as RunCommand sets it up) on a clock of the
// spec's; the suite's manager and plugin pods put the callbacker
// invocations in CALLBACK, and the spec signs tokens as a plugin pod does,
// with the key the manager would derive from the old or the new master key.
var _ = Describe("callback key rotation and token TTL (issue 15)", Ordered, func() {
	const grace = 10 * time.Minute
	const maxTTL = time.Hour
	var (
		url, keyFile string
		stop         func() error

		mu    sync.Mutex
		clock = time.Now()
	)
	oldKey := callbackKey
	newKey := []byte("shim-suite-rotated-key-0123456789")
	advance := func(d time.Duration) {
		mu.Lock()
		defer mu.Unlock()
		clock = clock.Add(d)
	}
	writeKey := func(key []byte) {
		GinkgoHelper()
		// As kubelet updates a mounted Secret: a new file swapped in.
		tmp := keyFile + ".new"
		Expect(os.WriteFile(tmp, key, 0o600)).To(Succeed())
		Expect(os.Rename(tmp, keyFile)).To(Succeed())
	}
	// waiting returns a callbacker invocation in CALLBACK: its trace id,
	// UID and prepared callback id.
	waiting := func() (traceID, uid, callbackID string) {
		GinkgoHelper()
		res, err := newClient(bkclient.Options{}).Invoke(suiteCtx, "callbacker", "1.0.0", invokeReq(nil), bkclient.InvokeOptions{})
		Expect(err).NotTo(HaveOccurred())
		Expect(res.State).To(Equal(protocol.StateCallback))
		id, ok := outputsOf(res.Outputs)["callback_id"].(string)
		Expect(ok).To(BeTrue(), "callback_id in %s", res.Outputs)
		// Bound to the callback binding (the UID, or the binding the shim
		// chose when it made the first execute itself).
		return res.TraceID, getInvocation(res.TraceID).CallbackBindingID(), id
	}
	sign := func(master []byte, traceID, uid, id string, ttl time.Duration) string {
		GinkgoHelper()
		tok, err := protocol.SignToken(protocol.DeriveBoundKey(master, traceID, uid),
			protocol.TokenClaims{TraceID: traceID, CallbackID: id, ExpiresAt: time.Now().Add(ttl).Unix()})
		Expect(err).NotTo(HaveOccurred())
		return tok
	}
	post := func(token string) rawAnswer {
		GinkgoHelper()
		saved := shimURL
		shimURL = url
		defer func() { shimURL = saved }()
		return rawCall(http.MethodPost, stdapi.CallbackPath("callbacker", token), `{"job":"done"}`, jsonHeader())
	}
	accepted := func(a rawAnswer) {
		GinkgoHelper()
		Expect(a.Status).To(Equal(http.StatusOK), a.Body)
		Expect(a.Env).To(Equal(map[string]any{"result": true, "message": "callback success"}))
	}
	refused := func(a rawAnswer, msg string) {
		GinkgoHelper()
		Expect(a.Status).To(Equal(http.StatusBadRequest), a.Body)
		Expect(a.Env).To(HaveKeyWithValue("result", false))
		Expect(a.Env).To(HaveKeyWithValue("message", ContainSubstring(msg)))
	}

	BeforeAll(func() {
		keyFile = filepath.Join(GinkgoT().TempDir(), "callback.key")
		writeKey(oldKey)
		ring, err := callbackkey.NewRing(callbackkey.RingOptions{
			File: keyFile, Grace: grace, Recheck: -1,
			Now: func() time.Time { mu.Lock(); defer mu.Unlock(); return clock },
		})
		Expect(err).NotTo(HaveOccurred())
		url, stop = startShim(shim.Options{
			Config: cfg, Namespace: namespace, CallbackKeys: ring, CallbackTokenMaxTTL: maxTTL, InvokeTimeout: invokeTimeout,
		}, false)
	})
	AfterAll(func() { Expect(stop()).To(Succeed()) })

	It("accepts the new key at once and the old one for the grace period only, with no restart", func() {
		By("before the rotation: the file's key")
		t1, u1, id1 := waiting()
		accepted(post(sign(oldKey, t1, u1, id1, time.Hour)))

		By("the file rotated: tokens signed with the new key")
		writeKey(newKey)
		t2, u2, id2 := waiting()
		accepted(post(sign(newKey, t2, u2, id2, time.Hour)))

		By("within the grace period: a token handed out before the rotation")
		t3, u3, id3 := waiting()
		advance(grace - time.Minute)
		accepted(post(sign(oldKey, t3, u3, id3, time.Hour)))

		By("after the grace period: the old key's token is refused, the new key's is not")
		t4, u4, id4 := waiting()
		advance(2 * time.Minute)
		refused(post(sign(oldKey, t4, u4, id4, time.Hour)), "signature does not match")
		accepted(post(sign(newKey, t4, u4, id4, time.Hour)))
	})

	It("refuses a token expiring beyond --callback-token-max-ttl and accepts one within it", func() {
		traceID, uid, id := waiting()
		refused(post(sign(newKey, traceID, uid, id, maxTTL+time.Hour)), "further ahead than the 1h0m0s allowed")
		Expect(getInvocation(traceID).Annotations).NotTo(HaveKey(HavePrefix(bkv1.CallbackAnnotationPrefix)), "the refused token recorded nothing")
		accepted(post(sign(newKey, traceID, uid, id, maxTTL-time.Minute)))
	})
})
