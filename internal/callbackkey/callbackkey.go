// Package callbackkey holds the key callback tokens are signed with. Load
// reads it for the manager: from the mounted file, or, when that is absent,
// from a Secret it creates with a random key on the first start, which is
// what lets the shipped manifests render and install with no key made
// beforehand. Ring (ring.go) follows the file afterwards, in both binaries,
// so that the key rotates with no restart: the manager signs with the new
// key, and the shim accepts the replaced one for a grace period.
package callbackkey

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"os"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/bkplugin/bk-plugin-operator/internal/cmdutil"
)

// Field is the key of the callback-key Secret's data that the Deployments
// mount as the file "key".
const Field = "key"

// MinLen is the shortest callback signing key accepted, in bytes.
const MinLen = cmdutil.MinCallbackKeyBytes

// Source says where the callback signing key comes from: a file
// (the mounted Secret) and, when that file is absent, a Secret the manager
// reads or creates itself. The second path is what lets the shipped
// manifests render and install with no key made beforehand: on the first
// start the Secret does not exist, so its (optional) volume is empty, and
// the manager creates it; the shim's pods, whose volume is not optional,
// start once it exists, and later manager restarts find the file.
type Source struct {
	// File is the path of the mounted key; "" skips it.
	File string
	// Namespace and Secret name the Secret to read or create when File is
	// absent; an empty Secret disables the fallback.
	Namespace, Secret string
}

// Load returns the callback signing key from src: the file when
// it exists, else the Secret, created with 32 random bytes (hex) when it
// does not exist. It returns nil when src names neither.
func Load(ctx context.Context, c client.Client, src Source) ([]byte, error) {
	if src.File != "" {
		b, err := os.ReadFile(src.File)
		switch {
		case err == nil:
			return check(b, src.File)
		case !errors.Is(err, fs.ErrNotExist) || src.Secret == "":
			return nil, fmt.Errorf("read callback key: %w", err)
		}
	}
	if src.Secret == "" {
		return nil, nil
	}
	if src.Namespace == "" {
		return nil, fmt.Errorf("callback key Secret %s: no namespace (set --callback-key-secret-namespace or POD_NAMESPACE)", src.Secret)
	}
	where := src.Namespace + "/" + src.Secret
	key := client.ObjectKey{Namespace: src.Namespace, Name: src.Secret}
	var secret corev1.Secret
	err := c.Get(ctx, key, &secret)
	if apierrors.IsNotFound(err) {
		raw := make([]byte, 32)
		if _, err := rand.Read(raw); err != nil {
			return nil, fmt.Errorf("generate callback key: %w", err)
		}
		secret = corev1.Secret{
			ObjectMeta: metav1.ObjectMeta{
				Namespace: src.Namespace,
				Name:      src.Secret,
				Labels:    map[string]string{"app.kubernetes.io/part-of": "bk-plugin-operator"},
			},
			Type: corev1.SecretTypeOpaque,
			Data: map[string][]byte{Field: []byte(hex.EncodeToString(raw))},
		}
		err = c.Create(ctx, &secret)
		if err == nil {
			return secret.Data[Field], nil
		}
		if !apierrors.IsAlreadyExists(err) {
			return nil, fmt.Errorf("create callback key Secret %s: %w", where, err)
		}
		// Another replica created it first: use that one's key.
		err = c.Get(ctx, key, &secret)
	}
	if err != nil {
		return nil, fmt.Errorf("read callback key Secret %s: %w", where, err)
	}
	return check(secret.Data[Field], "Secret "+where)
}

// check trims a key and refuses one too short to be a key.
func check(b []byte, where string) ([]byte, error) {
	return cmdutil.CheckCallbackKey(b, where)
}
