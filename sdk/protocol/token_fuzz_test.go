package protocol_test

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/bkplugin/bk-plugin-operator/sdk/protocol"
)

// fuzzMaster is the master key the fuzzed tokens are checked against; a
// second one stands for the previous key of a rotation.
var (
	fuzzMaster   = []byte("0123456789abcdef0123456789abcdef")
	fuzzPrevious = []byte("fedcba9876543210fedcba9876543210")
)

// FuzzVerifyToken feeds any string to VerifyToken, and signs then mutates
// tokens made from fuzzed claims. It checks that verification never panics,
// that a token that verifies carries exactly the claims it was signed with,
// that no single-byte mutation of a signed token verifies as something else,
// and that a token never verifies under a key it was not signed with or for
// another invocation.
func FuzzVerifyToken(f *testing.F) {
	now := time.Unix(1_700_000_000, 0)
	good, err := protocol.SignToken(protocol.DeriveInvocationKey(fuzzMaster, "5c1f0b3e9d2a4c7f8e6b1a2d3c4e5f60"),
		protocol.TokenClaims{TraceID: "5c1f0b3e9d2a4c7f8e6b1a2d3c4e5f60", CallbackID: "cb1"})
	if err != nil {
		f.Fatal(err)
	}
	for _, s := range []string{"", ".", "a.b", good, good + "x", "." + good, strings.Repeat("A", 4096) + ".AA",
		"eyJ0IjoieCIsImMiOiJ5In0.", "eyJ0IjoieCIsImMiOiJ5In0.AAAA", "eyJ0Ijo.=="} {
		f.Add(s, "5c1f0b3e9d2a4c7f8e6b1a2d3c4e5f60", "cb1", int64(0), uint16(0))
	}
	f.Add("", "t", "c", now.Unix()-1, uint16(3))
	f.Add("", "t\x00\xff", "c/../d", int64(-1), uint16(40))
	f.Fuzz(func(t *testing.T, raw, traceID, callbackID string, expires int64, flip uint16) {
		// Any string: no panic, and what verifies was signed with a key we hold.
		if c, err := protocol.VerifyToken(raw, now, fuzzMaster, fuzzPrevious); err == nil {
			if c.TraceID == "" || c.CallbackID == "" {
				t.Fatalf("token %q verified with empty claims %+v", raw, c)
			}
		} else if !errors.Is(err, protocol.ErrInvalidToken) {
			t.Fatalf("VerifyToken(%q) = %v, not wrapping ErrInvalidToken", raw, err)
		}

		claims := protocol.TokenClaims{TraceID: traceID, CallbackID: callbackID, ExpiresAt: expires}
		token, err := protocol.SignToken(protocol.DeriveInvocationKey(fuzzMaster, traceID), claims)
		if err != nil {
			return // empty ids are refused at signing
		}
		got, err := protocol.VerifyToken(token, now, fuzzMaster)
		expired := expires != 0 && now.Unix() > expires
		switch {
		case expired && err == nil:
			t.Fatalf("expired token (e=%d) verified", expires)
		case !expired && err != nil:
			t.Fatalf("fresh token for %+v did not verify: %v", claims, err)
		case err == nil && got != claims:
			t.Fatalf("token verified with claims %+v, signed with %+v", got, claims)
		}
		// Another key (a forger's, or one dropped by rotation) never verifies.
		if _, err := protocol.VerifyToken(token, now, fuzzPrevious); err == nil {
			t.Fatalf("token signed with the master key verified under another key")
		}
		// Replayed against another invocation: re-sign the claims of another
		// trace id with this invocation's key (what a plugin pod could do).
		other := claims
		other.TraceID = traceID + "0"
		forged, err := protocol.SignToken(protocol.DeriveInvocationKey(fuzzMaster, traceID), other)
		if err == nil {
			if _, err := protocol.VerifyToken(forged, now, fuzzMaster); err == nil {
				t.Fatalf("a token signed with invocation %q's key verified for invocation %q", traceID, other.TraceID)
			}
		}
		// Tampered: change one byte; it may still verify only if it decodes
		// to the very same claims (base64 padding bits), never to others.
		b := []byte(token)
		i := int(flip) % len(b)
		b[i] ^= byte(1 + flip>>8%255)
		if c, err := protocol.VerifyToken(string(b), now, fuzzMaster); err == nil && c != claims {
			t.Fatalf("tampered token %q verified with claims %+v, signed %+v", b, c, claims)
		}
	})
}
