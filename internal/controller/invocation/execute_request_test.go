package invocation

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	bkv1 "github.com/bkplugin/bk-plugin-operator/api/v1alpha1"
	"github.com/bkplugin/bk-plugin-operator/internal/callbackkey"
	"github.com/bkplugin/bk-plugin-operator/sdk/protocol"
)

// Issue 15: the manager follows the callback key file, so that after a
// rotation the next execute hands the plugin pod a key derived from the new
// master key, with no restart.
func TestBuildExecuteRequestFollowsTheRotatedKey(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "key")
	oldKey, newKey := []byte("manager-old-key-0123456789"), []byte("manager-new-key-0123456789")
	if err := os.WriteFile(file, oldKey, 0o600); err != nil {
		t.Fatal(err)
	}
	ring, err := callbackkey.NewRing(callbackkey.RingOptions{File: file, Recheck: -1})
	if err != nil {
		t.Fatal(err)
	}
	inv := &bkv1.PluginInvocation{ObjectMeta: metav1.ObjectMeta{Name: "0123456789abcdef0123456789abcdef", UID: "uid-1"},
		Spec: bkv1.PluginInvocationSpec{Plugin: "callbacker"}}
	plv := &bkv1.PluginVersion{Spec: bkv1.PluginVersionSpec{Version: "1.0.0"}}
	opts := Options{CallbackBaseURL: "http://shim", CallbackKey: ring, CallbackTokenTTL: time.Hour}

	derived := func(master []byte) []byte { return protocol.DeriveBoundKey(master, inv.Name, string(inv.UID)) }
	if got := buildExecuteRequest(inv, plv, inv.Name, nil, opts).CallbackKey; !bytes.Equal(got, derived(oldKey)) {
		t.Fatalf("before the rotation the pod's key is not derived from the file's key")
	}
	if err := os.WriteFile(file, newKey, 0o600); err != nil {
		t.Fatal(err)
	}
	if got := buildExecuteRequest(inv, plv, inv.Name, nil, opts).CallbackKey; !bytes.Equal(got, derived(newKey)) {
		t.Fatalf("after the rotation the pod's key is not derived from the new key")
	}
	// No key: no callbacks offered, rather than a key derived from nothing.
	opts.CallbackKey = nil
	if req := buildExecuteRequest(inv, plv, inv.Name, nil, opts); req.CallbackKey != nil || req.CallbackBaseURL != "" {
		t.Errorf("without a key the request offers callbacks: %q %q", req.CallbackKey, req.CallbackBaseURL)
	}
}
