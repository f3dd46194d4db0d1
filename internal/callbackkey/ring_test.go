package callbackkey

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/bkplugin/bk-plugin-operator/sdk/protocol"
)

func TestRingKeysRotate(t *testing.T) {
	t0 := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	a, b, c := []byte("key-a"), []byte("key-b"), []byte("key-c")
	grace := time.Hour
	tests := []struct {
		name        string
		keys        ringKeys
		read        []byte
		at          time.Time
		wantRotated bool
		// wantAccepted is checked at the same moment as the read.
		wantAccepted [][]byte
	}{
		{"same key: nothing changes", ringKeys{current: a}, a, t0, false, [][]byte{a}},
		{"new key: the old one stays in grace", ringKeys{current: a}, b, t0, true, [][]byte{b, a}},
		{"a second rotation keeps both older keys in grace, newest first",
			ringKeys{current: b, replaced: []replacedKey{{key: a, until: t0.Add(grace)}}}, c, t0.Add(time.Minute), true, [][]byte{c, b, a}},
		{"a key past its grace is dropped",
			ringKeys{current: b, replaced: []replacedKey{{key: a, until: t0}}}, c, t0.Add(time.Second), true, [][]byte{c, b}},
		{"rotating back to a replaced key leaves one copy of it",
			ringKeys{current: b, replaced: []replacedKey{{key: a, until: t0.Add(grace)}}}, a, t0, true, [][]byte{a, b}},
		{"from no key: nothing to keep", ringKeys{}, a, t0, true, [][]byte{a}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, rotated := tc.keys.rotate(tc.read, tc.at, grace)
			if rotated != tc.wantRotated {
				t.Errorf("rotated = %v, want %v", rotated, tc.wantRotated)
			}
			if acc := got.accepted(tc.at); !equalKeys(acc, tc.wantAccepted) {
				t.Errorf("accepted = %q, want %q", acc, tc.wantAccepted)
			}
		})
	}
}

func TestRingKeysAcceptedAtGraceEnd(t *testing.T) {
	t0 := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	k := ringKeys{current: []byte("new"), replaced: []replacedKey{{key: []byte("old"), until: t0}}}
	for _, tc := range []struct {
		at   time.Time
		want int
	}{{t0.Add(-time.Second), 2}, {t0, 2}, {t0.Add(time.Nanosecond), 1}} {
		if got := len(k.accepted(tc.at)); got != tc.want {
			t.Errorf("at %s: %d keys accepted, want %d", tc.at, got, tc.want)
		}
	}
}

// The behaviour issue 15 asks for: rotate the file; new tokens use the new
// key; tokens signed with the old key still verify within the grace window
// and fail after it.
func TestRingRotationOfTokens(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "key")
	oldKey, newKey := "old-key-0123456789abcdef", "new-key-0123456789abcdef"
	write := func(s string) {
		t.Helper()
		// As kubelet does: a new file renamed over the old one.
		tmp := filepath.Join(dir, "key.tmp")
		if err := os.WriteFile(tmp, []byte(s+"\n"), 0o600); err != nil {
			t.Fatal(err)
		}
		if err := os.Rename(tmp, file); err != nil {
			t.Fatal(err)
		}
	}
	write(oldKey)
	clock := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	now := func() time.Time { return clock }
	ring, err := NewRing(RingOptions{File: file, Grace: 10 * time.Minute, Now: now})
	if err != nil {
		t.Fatal(err)
	}
	const traceID, uid = "0123456789abcdef0123456789abcdef", "uid-1"
	binding := protocol.Binding{TraceID: traceID, UID: uid, Prepared: []string{"cb"}}
	sign := func(master []byte) string {
		t.Helper()
		// As a plugin pod does, with the key the manager derived for it.
		tok, err := protocol.SignToken(protocol.DeriveBoundKey(master, traceID, uid),
			protocol.TokenClaims{TraceID: traceID, CallbackID: "cb", ExpiresAt: clock.Add(time.Hour).Unix()})
		if err != nil {
			t.Fatal(err)
		}
		return tok
	}
	verify := func(tok string) error {
		_, err := protocol.VerifyBoundToken(tok, clock, binding, ring.Accepted()...)
		return err
	}

	before := sign(ring.Current())
	if string(ring.Current()) != oldKey {
		t.Fatalf("current key %q, want the file's %q", ring.Current(), oldKey)
	}
	write(newKey)
	if string(ring.Current()) != oldKey {
		t.Errorf("the file was read again before Recheck passed")
	}
	clock = clock.Add(DefaultRecheck)
	after := sign(ring.Current())
	if string(ring.Current()) != newKey {
		t.Fatalf("after the rotation the current key is %q, want %q", ring.Current(), newKey)
	}
	if before == after {
		t.Fatal("the token signed after the rotation is the one signed before")
	}
	if _, err := protocol.VerifyBoundToken(after, clock, binding, []byte(oldKey)); err == nil {
		t.Error("a token signed after the rotation verifies with the old key: it was not signed with the new one")
	}
	for name, tok := range map[string]string{"old": before, "new": after} {
		if err := verify(tok); err != nil {
			t.Errorf("within the grace window, the %s key's token: %v", name, err)
		}
	}

	clock = clock.Add(10*time.Minute + time.Second)
	if err := verify(before); err == nil {
		t.Error("after the grace window, the old key's token still verifies")
	}
	if err := verify(after); err != nil {
		t.Errorf("after the grace window, the new key's token: %v", err)
	}
}

func TestRingKeepsTheLastGoodKey(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "key")
	good := "good-key-0123456789abcdef"
	if err := os.WriteFile(file, []byte(good), 0o600); err != nil {
		t.Fatal(err)
	}
	ring, err := NewRing(RingOptions{File: file, Recheck: -1})
	if err != nil {
		t.Fatal(err)
	}
	for name, change := range map[string]func() error{
		"too short": func() error { return os.WriteFile(file, []byte("short"), 0o600) },
		"emptied":   func() error { return os.WriteFile(file, nil, 0o600) },
		"removed":   func() error { return os.Remove(file) },
	} {
		if err := change(); err != nil {
			t.Fatal(err)
		}
		if got := string(ring.Current()); got != good {
			t.Errorf("%s: current key %q, want the last good %q", name, got, good)
		}
		if got := ring.Accepted(); len(got) != 1 {
			t.Errorf("%s: accepted %q, want only the last good key", name, got)
		}
	}
}

func TestNewRing(t *testing.T) {
	dir := t.TempDir()
	missing := filepath.Join(dir, "absent")
	if _, err := NewRing(RingOptions{File: missing}); err == nil {
		t.Error("a missing file with no initial key: want an error")
	}
	initial := []byte("initial-key-0123456789")
	r, err := NewRing(RingOptions{File: missing, Initial: initial, Recheck: -1, Static: [][]byte{[]byte("static-key-0123456789")}})
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(r.Current(), initial) {
		t.Errorf("current %q, want the initial key while the file is absent", r.Current())
	}
	if got := r.Accepted(); len(got) != 2 || string(got[1]) != "static-key-0123456789" {
		t.Errorf("accepted %q, want the initial key then the static one", got)
	}
	// The Secret's volume fills in later with the same key: no rotation.
	if err := os.WriteFile(missing, initial, 0o600); err != nil {
		t.Fatal(err)
	}
	if got := r.Accepted(); len(got) != 2 {
		t.Errorf("accepted %q after the file appeared with the same key: want no replaced key", got)
	}
	if _, err := NewRing(RingOptions{}); err == nil {
		t.Error("no file: want an error")
	}
}

func equalKeys(a, b [][]byte) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if !bytes.Equal(a[i], b[i]) {
			return false
		}
	}
	return true
}
