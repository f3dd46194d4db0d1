package protocol

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
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

// ErrCallbackNotPrepared is wrapped (with ErrInvalidToken) by
// VerifyBoundToken's refusal of a well-signed token whose callback id is
// not among the prepared ones: a verifier reading a cached copy of the
// invocation may read it again live before it refuses.
var ErrCallbackNotPrepared = errors.New("callback was not prepared by the plugin")

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

// DefaultCallbackTokenTTL is how long a callback token stays valid when the
// execute request does not say (ExecuteRequest.CallbackTokenTTLSeconds): a
// day, like the BlueKing Go runtime's.
const DefaultCallbackTokenTTL = 24 * time.Hour

// DeriveBoundKey derives the signing key of one invocation from a master
// key, its trace id and its UID. The UID makes the key, and every token
// signed with it, worthless for a later invocation that reuses the trace id
// after this one is deleted; the manager hands plugin pods this key.
func DeriveBoundKey(master []byte, traceID, uid string) []byte {
	m := hmac.New(sha256.New, master)
	m.Write([]byte("bk-plugin-callback/v2/"))
	m.Write([]byte(traceID))
	m.Write([]byte{0})
	m.Write([]byte(uid))
	return m.Sum(nil)
}

// Binding is what a callback token must match to be accepted: the
// invocation it names, as it is now.
type Binding struct {
	// TraceID and UID identify the invocation.
	TraceID, UID string
	// Prepared are the callback ids the plugin prepared
	// (status.preparedCallbacks); a token for any other id is refused.
	Prepared []string
	// MaxTTL bounds how far in the future a token may expire; zero means
	// DefaultCallbackTokenTTL.
	MaxTTL time.Duration
}

// TokenTraceID reads the trace id a token claims, without verifying it, so
// that the verifier can look up the invocation to bind it to
// (VerifyBoundToken). Nothing else may be trusted before verification.
func TokenTraceID(token string) (string, error) {
	claims, _, _, err := parseToken(token)
	return claims.TraceID, err
}

// VerifyBoundToken checks token against each master key in turn (the
// current key first, then keys kept during rotation), with the key bound to
// b's trace id and UID (DeriveBoundKey), and returns its claims. It refuses
// a token that names another invocation, one with no expiry or one that
// expires beyond b.MaxTTL from now (a plugin cannot mint eternal tokens),
// an expired one, and one for a callback id the plugin never prepared.
func VerifyBoundToken(token string, now time.Time, b Binding, masterKeys ...[]byte) (TokenClaims, error) {
	claims, payload, mac, err := parseToken(token)
	if err != nil {
		return TokenClaims{}, err
	}
	if claims.TraceID != b.TraceID {
		return TokenClaims{}, fmt.Errorf("%w: token belongs to trace id %s, not %s", ErrInvalidToken, claims.TraceID, b.TraceID)
	}
	verified := false
	for _, k := range masterKeys {
		m := hmac.New(sha256.New, DeriveBoundKey(k, b.TraceID, b.UID))
		m.Write(payload)
		if hmac.Equal(mac, m.Sum(nil)) {
			verified = true
			break
		}
	}
	if !verified {
		return TokenClaims{}, fmt.Errorf("%w: signature does not match (a token of another invocation, or of an earlier one with the same trace id)", ErrInvalidToken)
	}
	maxTTL := b.MaxTTL
	if maxTTL <= 0 {
		maxTTL = DefaultCallbackTokenTTL
	}
	switch {
	case claims.ExpiresAt == 0:
		return TokenClaims{}, fmt.Errorf("%w: token has no expiry", ErrInvalidToken)
	case now.Unix() > claims.ExpiresAt:
		return TokenClaims{}, fmt.Errorf("%w: token expired at %s", ErrInvalidToken, time.Unix(claims.ExpiresAt, 0).UTC().Format(time.RFC3339))
	case claims.ExpiresAt > now.Add(maxTTL).Unix()+1:
		return TokenClaims{}, fmt.Errorf("%w: token expires at %s, further ahead than the %s allowed", ErrInvalidToken,
			time.Unix(claims.ExpiresAt, 0).UTC().Format(time.RFC3339), maxTTL)
	case !slices.Contains(b.Prepared, claims.CallbackID):
		return TokenClaims{}, fmt.Errorf("%w: callback %s: %w", ErrInvalidToken, claims.CallbackID, ErrCallbackNotPrepared)
	}
	return claims, nil
}

// parseToken splits and decodes a token without verifying it.
func parseToken(token string) (claims TokenClaims, payload, mac []byte, err error) {
	body, sig, ok := strings.Cut(token, ".")
	if !ok || body == "" || sig == "" {
		return claims, nil, nil, fmt.Errorf("%w: malformed token", ErrInvalidToken)
	}
	enc := base64.RawURLEncoding
	if payload, err = enc.DecodeString(body); err != nil {
		return claims, nil, nil, fmt.Errorf("%w: malformed token claims", ErrInvalidToken)
	}
	if mac, err = enc.DecodeString(sig); err != nil {
		return claims, nil, nil, fmt.Errorf("%w: malformed token signature", ErrInvalidToken)
	}
	if err := json.Unmarshal(payload, &claims); err != nil || claims.TraceID == "" || claims.CallbackID == "" {
		return TokenClaims{}, nil, nil, fmt.Errorf("%w: malformed token claims", ErrInvalidToken)
	}
	return claims, payload, mac, nil
}
