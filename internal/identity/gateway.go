package identity

import (
	"bytes"
	"crypto/rsa"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/golang-jwt/jwt/v5"
)

// HeaderGatewayJWT is the header the BlueKing API gateway puts its signed
// statement of the caller in.
const HeaderGatewayJWT = "X-Bkapi-JWT"

// DefaultLeeway is the clock skew allowed on exp and nbf: the gateway
// already backdates nbf by 300 s, so a small margin is enough.
const DefaultLeeway = 30 * time.Second

// keysRecheckEvery bounds how often GatewayKeys looks at its files again:
// a Secret's new keys are picked up within a second, without a restart,
// and a busy shim does not read files on every request.
const keysRecheckEvery = time.Second

// ErrNoKey is returned when no configured key matches a token's kid.
var ErrNoKey = errors.New("no public key for this gateway")

// GatewayKeys are the API gateways' public keys, by gateway name (the
// JWT header's kid). Loaded from a path, they follow the files: a key
// rotated in a mounted Secret is used for the next request, without a
// restart. The zero value holds no key.
type GatewayKeys struct {
	path string
	now  func() time.Time

	mu      sync.Mutex
	keys    map[string]*rsa.PublicKey
	raw     []byte // what keys were parsed from, to skip unchanged files
	checked time.Time
	loadErr error
}

// StaticGatewayKeys returns keys that never change (tests, embedding).
func StaticGatewayKeys(keys map[string]*rsa.PublicKey) *GatewayKeys {
	return &GatewayKeys{keys: keys}
}

// LoadGatewayKeys reads the keys at path: a PEM file (its name without
// extension is its gateway name; being the only key, it also verifies
// tokens whose kid names no key) or a directory of such files, one per
// gateway (a mounted Secret with one key per gateway name). Files whose
// names start with "." are skipped: Kubernetes keeps its bookkeeping there.
func LoadGatewayKeys(path string, now func() time.Time) (*GatewayKeys, error) {
	if now == nil {
		now = time.Now
	}
	k := &GatewayKeys{path: path, now: now}
	raw, keys, err := readGatewayKeys(path)
	if err != nil {
		return nil, err
	}
	if len(keys) == 0 {
		return nil, fmt.Errorf("gateway public keys %s: no key found", path)
	}
	k.keys, k.raw, k.checked = keys, raw, now()
	return k, nil
}

// Names returns the configured gateway names, sorted, for logs.
func (k *GatewayKeys) Names() []string {
	k.mu.Lock()
	defer k.mu.Unlock()
	names := make([]string, 0, len(k.keys))
	for n := range k.keys {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

// Len returns how many keys are configured.
func (k *GatewayKeys) Len() int {
	if k == nil {
		return 0
	}
	k.mu.Lock()
	defer k.mu.Unlock()
	return len(k.keys)
}

// lookup returns the key for kid: the gateway's own, or the only key when
// exactly one is configured (as the Python SDK falls back to
// APIGW_PUBLIC_KEY). It rereads the files at most once a second; a reread
// that fails keeps the keys it had, so that a half-written Secret update
// never locks every caller out.
func (k *GatewayKeys) lookup(kid string) (*rsa.PublicKey, error) {
	if k == nil {
		return nil, ErrNoKey
	}
	k.mu.Lock()
	defer k.mu.Unlock()
	if k.path != "" && k.now().Sub(k.checked) >= keysRecheckEvery {
		k.checked = k.now()
		raw, keys, err := readGatewayKeys(k.path)
		switch {
		case err != nil:
			k.loadErr = err
		case len(keys) > 0 && !bytes.Equal(raw, k.raw):
			k.keys, k.raw, k.loadErr = keys, raw, nil
		}
	}
	if key, ok := k.keys[kid]; ok {
		return key, nil
	}
	if len(k.keys) == 1 {
		for _, key := range k.keys {
			return key, nil
		}
	}
	if kid == "" {
		return nil, fmt.Errorf("%w: the token names no gateway (kid) and %d keys are configured", ErrNoKey, len(k.keys))
	}
	return nil, fmt.Errorf("%w: gateway %q is not configured", ErrNoKey, kid)
}

// LoadError is the last error rereading the key files met, nil when the
// files read cleanly; the keys in use are then the last good ones.
func (k *GatewayKeys) LoadError() error {
	k.mu.Lock()
	defer k.mu.Unlock()
	return k.loadErr
}

func readGatewayKeys(path string) ([]byte, map[string]*rsa.PublicKey, error) {
	info, err := os.Stat(path)
	if err != nil {
		return nil, nil, fmt.Errorf("gateway public keys: %w", err)
	}
	files := []string{path}
	if info.IsDir() {
		entries, err := os.ReadDir(path)
		if err != nil {
			return nil, nil, fmt.Errorf("gateway public keys: %w", err)
		}
		files = files[:0]
		for _, e := range entries {
			if strings.HasPrefix(e.Name(), ".") {
				continue
			}
			p := filepath.Join(path, e.Name())
			if fi, err := os.Stat(p); err != nil || fi.IsDir() {
				continue // Secret mounts hold ..data directories and their links
			}
			files = append(files, p)
		}
	}
	var all []byte
	keys := map[string]*rsa.PublicKey{}
	for _, f := range files {
		pem, err := os.ReadFile(f)
		if err != nil {
			return nil, nil, fmt.Errorf("gateway public keys: %w", err)
		}
		key, err := jwt.ParseRSAPublicKeyFromPEM(pem)
		if err != nil {
			return nil, nil, fmt.Errorf("gateway public key %s: not an RSA public key in PEM: %w", f, err)
		}
		name := strings.TrimSuffix(strings.TrimSuffix(filepath.Base(f), ".pem"), ".pub")
		keys[name] = key
		all = append(append(all, f...), pem...)
	}
	return all, keys, nil
}

// Verifier checks X-Bkapi-JWT tokens as the BlueKing API gateway issues
// them: RS512 (RS256 and RS384 also accepted, never HMAC or none), the key
// chosen by kid, exp required and nbf honoured within Leeway.
type Verifier struct {
	// Keys are the gateways' public keys.
	Keys *GatewayKeys
	// Leeway is the clock skew allowed; DefaultLeeway when zero.
	Leeway time.Duration
	// Now is the clock; time.Now when nil.
	Now func() time.Time
}

// gatewayClaims is the gateway's payload: app and user, each with the
// current key names and the older bk_ ones (the ESB's), plus exp and nbf.
type gatewayClaims struct {
	App  *gatewayParty `json:"app"`
	User *gatewayParty `json:"user"`
	jwt.RegisteredClaims
}

type gatewayParty struct {
	AppCode    string `json:"app_code"`
	BkAppCode  string `json:"bk_app_code"`
	Username   string `json:"username"`
	BkUsername string `json:"bk_username"`
	Verified   bool   `json:"verified"`
}

// Verify checks token and returns the identity it vouches for. An app or
// user the gateway marks verified:false counts as none: the shim cannot
// know that the gateway resource required it, so it never takes an
// unverified name. The error says what is wrong, for a 401.
func (v *Verifier) Verify(token string) (Identity, error) {
	now := v.Now
	if now == nil {
		now = time.Now
	}
	leeway := v.Leeway
	if leeway <= 0 {
		leeway = DefaultLeeway
	}
	p := jwt.NewParser(
		jwt.WithValidMethods([]string{jwt.SigningMethodRS512.Alg(), jwt.SigningMethodRS256.Alg(), jwt.SigningMethodRS384.Alg()}),
		jwt.WithExpirationRequired(),
		jwt.WithLeeway(leeway),
		jwt.WithTimeFunc(now),
	)
	claims := &gatewayClaims{}
	_, err := p.ParseWithClaims(token, claims, func(t *jwt.Token) (any, error) {
		kid := ""
		if raw, ok := t.Header["kid"]; ok {
			s, isString := raw.(string)
			if !isString {
				return nil, errors.New("kid is not a string")
			}
			kid = s
		}
		return v.Keys.lookup(kid)
	})
	if err != nil {
		return Identity{}, err
	}
	id := Identity{Source: SourceGateway, GatewayJWT: token}
	if a := claims.App; a != nil && a.Verified {
		id.AppCode = firstOf(a.BkAppCode, a.AppCode)
	}
	if u := claims.User; u != nil && u.Verified {
		id.Username = firstOf(u.BkUsername, u.Username)
	}
	return id, nil
}

// firstOf is the Python SDK's precedence (bk_app_code over app_code), with
// an empty value counted as absent.
func firstOf(legacy, current string) string {
	if legacy != "" {
		return legacy
	}
	return current
}
