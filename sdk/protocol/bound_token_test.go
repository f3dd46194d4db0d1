package protocol

import (
	"errors"
	"strings"
	"testing"
	"time"
)

// TestVerifyBoundToken is issue 15's finding 7 as a table: tokens expire,
// are bound to trace id, callback id and invocation UID, and are accepted
// only for prepared callbacks; key rotation keeps working.
func TestVerifyBoundToken(t *testing.T) {
	now := time.Date(2026, 11, 30, 8, 0, 0, 0, time.UTC)
	current, previous := []byte("current master key, 32 bytes!!!!"), []byte("previous master key, 32 bytes!!!")
	binding := Binding{TraceID: "trace1", UID: "uid-new", Prepared: []string{"cb1", "cb2"}}
	sign := func(master []byte, traceID, uid string, c TokenClaims) string {
		t.Helper()
		tok, err := SignToken(DeriveBoundKey(master, traceID, uid), c)
		if err != nil {
			t.Fatal(err)
		}
		return tok
	}
	valid := TokenClaims{TraceID: "trace1", CallbackID: "cb1", ExpiresAt: now.Add(time.Hour).Unix()}
	with := func(f func(*TokenClaims)) TokenClaims { c := valid; f(&c); return c }
	legacy, err := SignToken(DeriveInvocationKey(current, "trace1"), valid)
	if err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name  string
		token string
		want  string // "" accepts
	}{
		{"a prepared callback, current key", sign(current, "trace1", "uid-new", valid), ""},
		{"the previous key during rotation", sign(previous, "trace1", "uid-new", valid), ""},
		{"a token of a deleted invocation with the same trace id", sign(current, "trace1", "uid-old", valid), "signature does not match"},
		{"a token signed with the unbound (v1) key", legacy, "signature does not match"},
		{"another invocation's token", sign(current, "trace2", "uid-new", with(func(c *TokenClaims) { c.TraceID = "trace2" })), "belongs to trace id trace2"},
		{"a callback id the plugin never prepared", sign(current, "trace1", "uid-new", with(func(c *TokenClaims) { c.CallbackID = "stray" })), "callback stray: callback was not prepared by the plugin"},
		{"no expiry", sign(current, "trace1", "uid-new", with(func(c *TokenClaims) { c.ExpiresAt = 0 })), "no expiry"},
		{"expired", sign(current, "trace1", "uid-new", with(func(c *TokenClaims) { c.ExpiresAt = now.Add(-time.Second).Unix() })), "expired"},
		{"expiring beyond the maximum TTL", sign(current, "trace1", "uid-new", with(func(c *TokenClaims) { c.ExpiresAt = now.Add(48 * time.Hour).Unix() })), "further ahead"},
		{"an unknown key", sign([]byte("some other master key 32 bytes!!"), "trace1", "uid-new", valid), "signature does not match"},
		{"malformed", "no-dot", "malformed"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			claims, err := VerifyBoundToken(tc.token, now, binding, current, previous)
			if tc.want == "" {
				if err != nil || claims.CallbackID != "cb1" {
					t.Fatalf("VerifyBoundToken = %+v, %v; want cb1 accepted", claims, err)
				}
				return
			}
			if !errors.Is(err, ErrInvalidToken) || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("VerifyBoundToken = %v, want ErrInvalidToken saying %q", err, tc.want)
			}
			if strings.Contains(tc.want, "not prepared") != errors.Is(err, ErrCallbackNotPrepared) {
				t.Fatalf("VerifyBoundToken = %v, want ErrInvalidToken saying %q", err, tc.want)
			}
		})
	}
	if id, err := TokenTraceID(sign(current, "trace1", "uid-new", valid)); err != nil || id != "trace1" {
		t.Errorf("TokenTraceID = %q, %v", id, err)
	}
}
