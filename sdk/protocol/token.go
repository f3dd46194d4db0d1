package protocol

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"
	"unicode/utf8"
)

// Callback tokens are bound to one invocation: they are signed with a key
// derived from the master key and the trace id, so a plugin pod, which only
// ever sees the derived key, can sign tokens for its own invocation and for
// no other, and a token replayed against another invocation fails to verify.
//
// Token format: base64url(JSON claims) "." base64url(HMAC-SHA256(derived key, claims)).

// ErrInvalidToken is wrapped by every token verification failure.
var ErrInvalidToken = errors.New("invalid callback token")

// TokenClaims is what a callback token carries.
type TokenClaims struct {
	// TraceID is the invocation the token belongs to.
	TraceID string `json:"t"`
	// CallbackID is the id handed out by PrepareCallback.
	CallbackID string `json:"c"`
	// ExpiresAt is a Unix time in seconds; zero means no expiry.
	ExpiresAt int64 `json:"e,omitempty"`
}

// DeriveInvocationKey derives the signing key of one invocation from a master key.
func DeriveInvocationKey(master []byte, traceID string) []byte {
	m := hmac.New(sha256.New, master)
	m.Write([]byte("bk-plugin-callback/v1/"))
	m.Write([]byte(traceID))
	return m.Sum(nil)
}

// SignToken returns a token for claims, signed with the invocation key.
func SignToken(invocationKey []byte, claims TokenClaims) (string, error) {
	if claims.TraceID == "" || claims.CallbackID == "" {
		return "", fmt.Errorf("%w: trace id and callback id are required", ErrInvalidToken)
	}
	// JSON would replace invalid UTF-8 with U+FFFD, and the token would then
	// name (and be verified for) another trace id: refuse rather than sign a
	// token that can never verify.
	if !utf8.ValidString(claims.TraceID) || !utf8.ValidString(claims.CallbackID) {
		return "", fmt.Errorf("%w: trace id and callback id must be valid UTF-8", ErrInvalidToken)
	}
	payload, err := json.Marshal(claims)
	if err != nil {
		return "", fmt.Errorf("encode token claims: %w", err)
	}
	enc := base64.RawURLEncoding
	m := hmac.New(sha256.New, invocationKey)
	m.Write(payload)
	return enc.EncodeToString(payload) + "." + enc.EncodeToString(m.Sum(nil)), nil
}

// VerifyToken checks token against each master key in turn (the current key
// first, then keys kept during rotation) and returns its claims.
func VerifyToken(token string, now time.Time, masterKeys ...[]byte) (TokenClaims, error) {
	var claims TokenClaims
	body, sig, ok := strings.Cut(token, ".")
	if !ok || body == "" || sig == "" {
		return claims, fmt.Errorf("%w: malformed token", ErrInvalidToken)
	}
	enc := base64.RawURLEncoding
	payload, err := enc.DecodeString(body)
	if err != nil {
		return claims, fmt.Errorf("%w: malformed token claims", ErrInvalidToken)
	}
	mac, err := enc.DecodeString(sig)
	if err != nil {
		return claims, fmt.Errorf("%w: malformed token signature", ErrInvalidToken)
	}
	if err := json.Unmarshal(payload, &claims); err != nil || claims.TraceID == "" || claims.CallbackID == "" {
		return TokenClaims{}, fmt.Errorf("%w: malformed token claims", ErrInvalidToken)
	}
	verified := false
	for _, k := range masterKeys {
		m := hmac.New(sha256.New, DeriveInvocationKey(k, claims.TraceID))
		m.Write(payload)
		if hmac.Equal(mac, m.Sum(nil)) {
			verified = true
			break
		}
	}
	if !verified {
		return TokenClaims{}, fmt.Errorf("%w: signature does not match", ErrInvalidToken)
	}
	if claims.ExpiresAt != 0 && now.Unix() > claims.ExpiresAt {
		return TokenClaims{}, fmt.Errorf("%w: token expired at %s", ErrInvalidToken, time.Unix(claims.ExpiresAt, 0).UTC().Format(time.RFC3339))
	}
	return claims, nil
}
