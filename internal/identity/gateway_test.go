package identity

import (
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
)

func newKey(t *testing.T) *rsa.PrivateKey {
	t.Helper()
	k, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

func publicPEM(t *testing.T, k *rsa.PrivateKey) []byte {
	t.Helper()
	der, err := x509.MarshalPKIXPublicKey(&k.PublicKey)
	if err != nil {
		t.Fatal(err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der})
}

// gwPayload is the payload the gateway signs (bk-jwt.lua).
func gwPayload(now time.Time, app, user map[string]any) jwt.MapClaims {
	c := jwt.MapClaims{"iss": "APIGW", "nbf": now.Add(-300 * time.Second).Unix(), "exp": now.Add(1500 * time.Second).Unix()}
	if app != nil {
		c["app"] = app
	}
	if user != nil {
		c["user"] = user
	}
	return c
}

func sign(t *testing.T, k *rsa.PrivateKey, kid string, claims jwt.MapClaims) string {
	t.Helper()
	tok := jwt.NewWithClaims(jwt.SigningMethodRS512, claims)
	if kid != "" {
		tok.Header["kid"] = kid
	}
	s, err := tok.SignedString(k)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func TestVerifyGatewayJWT(t *testing.T) {
	now := time.Date(2026, 11, 30, 8, 0, 0, 0, time.UTC)
	gw, other, stranger := newKey(t), newKey(t), newKey(t)
	keys := StaticGatewayKeys(map[string]*rsa.PublicKey{"bk-plugin-gw": &gw.PublicKey, "other-gw": &other.PublicKey})
	v := &Verifier{Keys: keys, Now: func() time.Time { return now }}
	verifiedApp := map[string]any{"version": 1, "app_code": "bk_sops", "verified": true, "valid_error_message": ""}
	verifiedUser := map[string]any{"version": 1, "username": "admin", "verified": true}

	hs256 := func() string {
		tok := jwt.NewWithClaims(jwt.SigningMethodHS256, gwPayload(now, verifiedApp, nil))
		tok.Header["kid"] = "bk-plugin-gw"
		s, err := tok.SignedString(publicPEM(t, gw))
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	none := func() string {
		tok := jwt.NewWithClaims(jwt.SigningMethodNone, gwPayload(now, verifiedApp, nil))
		tok.Header["kid"] = "bk-plugin-gw"
		s, err := tok.SignedString(jwt.UnsafeAllowNoneSignatureType)
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	noExp := gwPayload(now, verifiedApp, nil)
	delete(noExp, "exp")
	tests := []struct {
		name      string
		token     string
		wantApp   string
		wantUser  string
		wantError string
	}{
		{"gateway shape", sign(t, gw, "bk-plugin-gw", gwPayload(now, verifiedApp, verifiedUser)), "bk_sops", "admin", ""},
		{"the other gateway's key by kid", sign(t, other, "other-gw", gwPayload(now, verifiedApp, nil)), "bk_sops", "", ""},
		{"legacy bk_ names", sign(t, gw, "bk-plugin-gw", gwPayload(now,
			map[string]any{"bk_app_code": "bk_job", "verified": true}, map[string]any{"bk_username": "ops", "verified": true})), "bk_job", "ops", ""},
		{"bk_app_code wins over app_code", sign(t, gw, "bk-plugin-gw", gwPayload(now,
			map[string]any{"bk_app_code": "bk_job", "app_code": "bk_sops", "verified": true}, nil)), "bk_job", "", ""},
		{"unverified app and user are none", sign(t, gw, "bk-plugin-gw", gwPayload(now,
			map[string]any{"app_code": "bk_sops", "verified": false}, map[string]any{"username": "admin", "verified": false})), "", "", ""},
		{"expired", sign(t, gw, "bk-plugin-gw", jwt.MapClaims{"app": verifiedApp, "exp": now.Add(-time.Minute).Unix()}), "", "", "expired"},
		{"expired within leeway", sign(t, gw, "bk-plugin-gw", jwt.MapClaims{"app": verifiedApp, "exp": now.Add(-10 * time.Second).Unix()}), "bk_sops", "", ""},
		{"not valid yet", sign(t, gw, "bk-plugin-gw", jwt.MapClaims{"app": verifiedApp, "nbf": now.Add(time.Hour).Unix(), "exp": now.Add(2 * time.Hour).Unix()}), "", "", "not valid yet"},
		{"no exp", sign(t, gw, "bk-plugin-gw", noExp), "", "", "exp claim is required"},
		{"signed by another key", sign(t, stranger, "bk-plugin-gw", gwPayload(now, verifiedApp, nil)), "", "", "verification error"},
		{"other gateway's kid, this gateway's key", sign(t, gw, "other-gw", gwPayload(now, verifiedApp, nil)), "", "", "verification error"},
		{"unknown kid with two keys", sign(t, gw, "nobody", gwPayload(now, verifiedApp, nil)), "", "", `gateway "nobody" is not configured`},
		{"no kid with two keys", sign(t, gw, "", gwPayload(now, verifiedApp, nil)), "", "", "names no gateway"},
		{"alg none", none(), "", "", "signing method none is invalid"},
		{"HS256 with the public key as secret", hs256(), "", "", "signing method HS256 is invalid"},
		{"not a JWT", "hello", "", "", "malformed"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			id, err := v.Verify(tt.token)
			if tt.wantError != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantError) {
					t.Fatalf("err = %v, want one containing %q", err, tt.wantError)
				}
				return
			}
			if err != nil {
				t.Fatalf("err = %v", err)
			}
			if id.AppCode != tt.wantApp || id.Username != tt.wantUser || id.Source != SourceGateway || id.GatewayJWT != tt.token {
				t.Errorf("identity = %+v, want app %q user %q from the gateway", id, tt.wantApp, tt.wantUser)
			}
		})
	}
}

func TestGatewayKeysFollowTheFiles(t *testing.T) {
	dir := t.TempDir()
	oldKey, newer := newKey(t), newKey(t)
	if err := os.WriteFile(filepath.Join(dir, "bk-plugin-gw.pem"), publicPEM(t, oldKey), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Mkdir(filepath.Join(dir, "..data"), 0o700); err != nil { // a Secret mount's bookkeeping
		t.Fatal(err)
	}
	now := time.Now()
	clock := func() time.Time { return now }
	keys, err := LoadGatewayKeys(dir, clock)
	if err != nil {
		t.Fatal(err)
	}
	if got := keys.Names(); len(got) != 1 || got[0] != "bk-plugin-gw" {
		t.Fatalf("names = %v", got)
	}
	v := &Verifier{Keys: keys, Now: clock}
	claims := gwPayload(now, map[string]any{"app_code": "bk_sops", "verified": true}, nil)
	if _, err := v.Verify(sign(t, oldKey, "bk-plugin-gw", claims)); err != nil {
		t.Fatalf("old key before rotation: %v", err)
	}
	if err := os.WriteFile(filepath.Join(dir, "bk-plugin-gw.pem"), publicPEM(t, newer), 0o600); err != nil {
		t.Fatal(err)
	}
	now = now.Add(2 * keysRecheckEvery)
	if _, err := v.Verify(sign(t, newer, "bk-plugin-gw", claims)); err != nil {
		t.Fatalf("new key after rotation: %v", err)
	}
	if _, err := v.Verify(sign(t, oldKey, "bk-plugin-gw", claims)); err == nil {
		t.Fatal("old key accepted after rotation")
	}
	// A broken file keeps the last good keys and says why.
	if err := os.WriteFile(filepath.Join(dir, "bk-plugin-gw.pem"), []byte("garbage"), 0o600); err != nil {
		t.Fatal(err)
	}
	now = now.Add(2 * keysRecheckEvery)
	if _, err := v.Verify(sign(t, newer, "bk-plugin-gw", claims)); err != nil {
		t.Fatalf("last good key after a bad rewrite: %v", err)
	}
	if keys.LoadError() == nil {
		t.Error("LoadError() = nil after a bad rewrite")
	}
}

func TestLoadGatewayKeysRefusesBadFiles(t *testing.T) {
	dir := t.TempDir()
	bad := filepath.Join(dir, "gw.pem")
	if err := os.WriteFile(bad, []byte("not a key"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := LoadGatewayKeys(bad, nil); err == nil || !strings.Contains(err.Error(), "not an RSA public key") {
		t.Errorf("bad file: err = %v", err)
	}
	if _, err := LoadGatewayKeys(filepath.Join(dir, "missing"), nil); err == nil {
		t.Error("missing path: no error")
	}
	empty := t.TempDir()
	if _, err := LoadGatewayKeys(empty, nil); err == nil || !strings.Contains(err.Error(), "no key") {
		t.Errorf("empty dir: err = %v", err)
	}
	var nilKeys *GatewayKeys
	if _, err := nilKeys.lookup("x"); !errors.Is(err, ErrNoKey) {
		t.Errorf("nil keys: err = %v", err)
	}
}

func TestParseTokens(t *testing.T) {
	tok, err := ParseTokens(strings.NewReader("# comment\n\nlegacy-token\nsops-token bk_sops\n  job-token   bk_job  \n"), "tokens")
	if err != nil {
		t.Fatal(err)
	}
	if tok.Len() != 3 {
		t.Fatalf("Len = %d", tok.Len())
	}
	for token, app := range map[string]string{"legacy-token": "", "sops-token": "bk_sops", "job-token": "bk_job"} {
		id, ok := tok.Lookup(token)
		if !ok || id.AppCode != app || id.Source != SourceToken {
			t.Errorf("Lookup(%q) = %+v, %v; want app %q", token, id, ok, app)
		}
	}
	for _, bad := range []string{"", "sops-token ", "sops", "sops-token bk_sops x"} {
		if _, ok := tok.Lookup(bad); ok {
			t.Errorf("Lookup(%q) accepted", bad)
		}
	}
	for in, want := range map[string]string{
		"a b c\n":              "line 1: want",
		"a x\n# c\nb y\na z\n": "line 4: the token of line 1 again",
	} {
		if _, err := ParseTokens(strings.NewReader(in), "tokens"); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("ParseTokens(%q) err = %v, want %q", in, err, want)
		}
	}
}
