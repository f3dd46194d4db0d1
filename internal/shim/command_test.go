package shim

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/pem"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/go-logr/logr"
	"k8s.io/client-go/rest"
)

func TestReadTokens(t *testing.T) {
	tests := []struct {
		name    string
		content string
		want    map[string]string
		wantErr string
	}{
		{"one per line, blanks and comments skipped", "# platform tokens\nfirst\n\n  second bk_sops \n",
			map[string]string{"first": "", "second": "bk_sops"}, ""},
		{"empty file refuses to run open", "\n# nothing\n", nil, "holds no token"},
		{"three fields", "tok app extra\n", nil, "line 1"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "tokens")
			if err := os.WriteFile(path, []byte(tt.content), 0o600); err != nil {
				t.Fatal(err)
			}
			got, err := readTokens(path)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("err = %v, want %q", err, tt.wantErr)
				}
				return
			}
			if err != nil || got.Len() != len(tt.want) {
				t.Fatalf("readTokens = %v, %v; want %d tokens", got, err, len(tt.want))
			}
			for tok, app := range tt.want {
				if id, ok := got.Lookup(tok); !ok || id.AppCode != app {
					t.Errorf("token %q: %+v, %v; want app %q", tok, id, ok, app)
				}
			}
		})
	}
	if got, err := readTokens(""); got != nil || err != nil {
		t.Errorf("no file: %v, %v; want no tokens and no error", got, err)
	}
}

// The shim refuses to start open unless told so: the shipped defaults
// authenticate every caller (issue 15 #3).
func TestLoadAuthRefusesToRunOpen(t *testing.T) {
	dir := t.TempDir()
	tokens := filepath.Join(dir, "tokens")
	if err := os.WriteFile(tokens, []byte("tok bk_sops\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	k, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	der, _ := x509.MarshalPKIXPublicKey(&k.PublicKey)
	keyFile := filepath.Join(dir, "bk-plugin.pem")
	if err := os.WriteFile(keyFile, pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der}), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name    string
		o       CommandOptions
		wantErr string
	}{
		{"nothing configured", CommandOptions{}, "no authentication configured"},
		{"nothing but trusted headers", CommandOptions{TrustIdentityHeaders: true}, "no authentication configured"},
		{"explicitly open", CommandOptions{InsecureNoAuth: true}, ""},
		{"tokens", CommandOptions{AuthTokenFile: tokens}, ""},
		{"gateway keys", CommandOptions{GatewayPublicKeys: keyFile}, ""},
		{"gateway keys directory", CommandOptions{GatewayPublicKeys: dir}, "not an RSA public key"}, // the tokens file is there too
		{"bad keys path", CommandOptions{GatewayPublicKeys: filepath.Join(dir, "nope")}, "--gateway-public-keys"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, _, err := loadAuth(tc.o, logr.Discard())
			if tc.wantErr == "" && err != nil {
				t.Fatalf("err = %v", err)
			}
			if tc.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tc.wantErr)) {
				t.Fatalf("err = %v, want %q", err, tc.wantErr)
			}
		})
	}
}

// The callback-token and key-rotation bounds are checked before anything
// is read or dialled, naming the flag.
func TestRunCommandRefusesBadCallbackBounds(t *testing.T) {
	for _, tc := range []struct {
		name string
		o    CommandOptions
		want string
	}{
		{"max TTL beyond a day", CommandOptions{CallbackTokenMaxTTL: 48 * time.Hour}, "--callback-token-max-ttl must be between"},
		{"negative max TTL", CommandOptions{CallbackTokenMaxTTL: -time.Second}, "--callback-token-max-ttl must be between"},
		{"negative grace", CommandOptions{CallbackKeyGrace: -time.Second}, "--callback-key-grace must not be negative"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tc.o.Logger = logr.Discard()
			tc.o.LoadConfig = func() (*rest.Config, error) {
				t.Fatal("the config was loaded before the flags were checked")
				return nil, nil
			}
			err := RunCommand(context.Background(), tc.o)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("err = %v, want %q", err, tc.want)
			}
		})
	}
}
