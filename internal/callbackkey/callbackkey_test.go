//go:build envtest

package callbackkey_test

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/bkplugin/bk-plugin-operator/internal/callbackkey"
	"github.com/bkplugin/bk-plugin-operator/internal/testenv"
)

// An external test package: testenv imports callbackkey (its managers'
// keys are callbackkey.Static).

// TestLoad runs Load against a real kube-apiserver:
// the first start creates the Secret, the next ones (and other replicas)
// read the same key, a mounted file wins, and bad keys are refused.
func TestLoad(t *testing.T) {
	c := testenv.StartPlain(t)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if err := c.Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "op"}}); err != nil {
		t.Fatal(err)
	}
	missing := filepath.Join(t.TempDir(), "key")
	src := callbackkey.Source{File: missing, Namespace: "op", Secret: "bk-plugin-callback-key"}

	first, err := callbackkey.Load(ctx, c, src)
	if err != nil {
		t.Fatalf("first start: %v", err)
	}
	if len(first) != 64 {
		t.Fatalf("created key %q is %d bytes, want 64 hex characters", first, len(first))
	}
	var secret corev1.Secret
	if err := c.Get(ctx, client.ObjectKey{Namespace: "op", Name: "bk-plugin-callback-key"}, &secret); err != nil {
		t.Fatalf("the Secret was not created: %v", err)
	}
	if string(secret.Data["key"]) != string(first) {
		t.Fatalf("Secret holds %q, manager uses %q", secret.Data["key"], first)
	}
	again, err := callbackkey.Load(ctx, c, src)
	if err != nil || string(again) != string(first) {
		t.Fatalf("second start: key %q, %v; want the Secret's %q", again, err, first)
	}

	file := filepath.Join(t.TempDir(), "key")
	if err := os.WriteFile(file, []byte(strings.Repeat("f", 32)+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	fromFile, err := callbackkey.Load(ctx, c, callbackkey.Source{File: file, Namespace: "op", Secret: "bk-plugin-callback-key"})
	if err != nil || string(fromFile) != strings.Repeat("f", 32) {
		t.Fatalf("mounted file: key %q, %v; want the file's (trimmed)", fromFile, err)
	}

	none, err := callbackkey.Load(ctx, c, callbackkey.Source{})
	if err != nil || none != nil {
		t.Fatalf("no source: key %q, %v; want none and no error", none, err)
	}

	for _, bad := range []struct {
		name string
		src  callbackkey.Source
		want string
	}{
		{"file missing, no Secret", callbackkey.Source{File: missing}, "read callback key"},
		{"no namespace", callbackkey.Source{File: missing, Secret: "x"}, "no namespace"},
		{"short key in a Secret", callbackkey.Source{File: missing, Namespace: "op", Secret: "short"}, "is 5 bytes"},
		{"namespace does not exist", callbackkey.Source{File: missing, Namespace: "nowhere", Secret: "k"}, "create callback key Secret nowhere/k"},
	} {
		t.Run(bad.name, func(t *testing.T) {
			if bad.src.Secret == "short" {
				s := &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: "op", Name: "short"}, Data: map[string][]byte{"key": []byte("12345")}}
				if err := c.Create(ctx, s); err != nil {
					t.Fatal(err)
				}
			}
			k, err := callbackkey.Load(ctx, c, bad.src)
			if err == nil || !strings.Contains(err.Error(), bad.want) {
				t.Fatalf("key %q, error %v; want an error containing %q", k, err, bad.want)
			}
		})
	}
}
