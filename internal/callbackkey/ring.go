package callbackkey

import (
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"sync"
	"time"

	"github.com/go-logr/logr"

	"github.com/bkplugin/bk-plugin-operator/internal/cmdutil"
	"github.com/bkplugin/bk-plugin-operator/sdk/protocol"
)

// DefaultGrace is how long a replaced key is still accepted: as long as a
// token signed just before the rotation may live (the tokens' default TTL),
// so that no callback handed out before a rotation is refused for it.
const DefaultGrace = protocol.DefaultCallbackTokenTTL

// DefaultRecheck bounds how often the key file is read again.
const DefaultRecheck = time.Second

// Provider gives the key new callback tokens are signed with now: the
// manager derives each execute's key from it.
type Provider interface {
	// Current returns the key to sign with; nil means callbacks are off.
	Current() []byte
}

// Static is a Provider of one key that never changes (tests, and a key
// given by value).
type Static []byte

// Current returns the key itself.
func (s Static) Current() []byte { return s }

// Verifier gives the keys a callback token may be signed with now, the
// current one first: the shim verifies against them in turn.
type Verifier interface {
	// Accepted returns the keys to try, current first; none means callbacks
	// are off.
	Accepted() [][]byte
}

// StaticKeys is a Verifier of keys that never change.
type StaticKeys [][]byte

// Accepted returns the keys, skipping empty ones.
func (s StaticKeys) Accepted() [][]byte {
	out := make([][]byte, 0, len(s))
	for _, k := range s {
		if len(k) > 0 {
			out = append(out, k)
		}
	}
	return out
}

// RingOptions configure a Ring.
type RingOptions struct {
	// File is the key file followed (a mounted Secret); required.
	File string
	// Initial is the key to start with when File does not exist yet (the
	// manager's key from its Secret, whose optional volume is still empty
	// on the first start); nil makes a missing File an error.
	Initial []byte
	// Grace is how long a replaced key is still accepted by Accepted;
	// DefaultGrace when zero.
	Grace time.Duration
	// Static keys are accepted after the followed ones, always (the shim's
	// --callback-previous-key-file).
	Static [][]byte
	// Recheck bounds how often File is read again; DefaultRecheck when
	// zero, negative reads it at every call (tests).
	Recheck time.Duration
	// Now is the clock; time.Now when nil.
	Now func() time.Time
	// Log reports rotations and unreadable files.
	Log logr.Logger
}

// Ring is a callback signing key read from a file that may change under a
// running process (a Secret rotated by kubelet), so that keys rotate with
// no restart. The file is read again at most once per Recheck, when a key
// is asked for; no goroutine runs. When its content changes to a valid key,
// that key becomes current and the one it replaces is still accepted for
// Grace: tokens handed out before the rotation keep working until they
// would have expired anyway. A file that goes missing or holds too short a
// key keeps the last good key (a Secret being rewritten is not a rotation
// to "no key").
type Ring struct {
	opts RingOptions

	mu      sync.Mutex
	keys    ringKeys
	checked time.Time
	// lastErr is the last read error reported, so that a broken file is
	// logged once, not once per Recheck.
	lastErr string
}

// NewRing reads o.File and returns the Ring following it.
func NewRing(o RingOptions) (*Ring, error) {
	if o.File == "" {
		return nil, errors.New("callback key ring: no file to follow")
	}
	if o.Grace <= 0 {
		o.Grace = DefaultGrace
	}
	if o.Recheck == 0 {
		o.Recheck = DefaultRecheck
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	key, err := readKey(o.File)
	switch {
	case err == nil:
	case errors.Is(err, fs.ErrNotExist) && len(o.Initial) > 0:
		key = o.Initial
	default:
		return nil, err
	}
	return &Ring{opts: o, keys: ringKeys{current: key}, checked: o.Now()}, nil
}

// Current returns the key to sign new tokens with.
func (r *Ring) Current() []byte {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.refreshLocked()
	return r.keys.current
}

// Accepted returns the keys a token may be signed with now: the current
// one, the replaced ones still within their grace, then the static ones.
func (r *Ring) Accepted() [][]byte {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.refreshLocked()
	return append(r.keys.accepted(r.opts.Now()), StaticKeys(r.opts.Static).Accepted()...)
}

// refreshLocked reads the file again when Recheck has passed.
func (r *Ring) refreshLocked() {
	now := r.opts.Now()
	if r.opts.Recheck > 0 && now.Sub(r.checked) < r.opts.Recheck {
		return
	}
	r.checked = now
	key, err := readKey(r.opts.File)
	if err != nil {
		if msg := err.Error(); msg != r.lastErr {
			r.lastErr = msg
			r.opts.Log.Error(err, "callback key file unreadable; keeping the last good key", "file", r.opts.File)
		}
		return
	}
	r.lastErr = ""
	next, rotated := r.keys.rotate(key, now, r.opts.Grace)
	if rotated {
		r.opts.Log.Info("callback key rotated; the previous key is still accepted for the grace period",
			"file", r.opts.File, "grace", r.opts.Grace, "until", now.Add(r.opts.Grace))
	}
	r.keys = next
}

// readKey reads and checks a key file.
func readKey(path string) ([]byte, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read callback key: %w", err)
	}
	return cmdutil.CheckCallbackKey(b, path)
}

// ringKeys is a Ring's keys at one moment: pure values, so that rotation
// and expiry are decided by table-tested functions.
type ringKeys struct {
	current []byte
	// replaced are keys that were current before, newest first, each with
	// the end of its grace period.
	replaced []replacedKey
}

// replacedKey is a key rotated out, accepted until Until.
type replacedKey struct {
	key   []byte
	until time.Time
}

// rotate returns k after the file was read holding key at now: unchanged
// when key is the current one, else key current and the old current
// accepted until now+grace. A key that comes back (rotated back to) leaves
// the replaced list; keys past their grace are dropped.
func (k ringKeys) rotate(key []byte, now time.Time, grace time.Duration) (ringKeys, bool) {
	if bytes.Equal(key, k.current) {
		return k, false
	}
	out := ringKeys{current: key}
	if len(k.current) > 0 {
		out.replaced = append(out.replaced, replacedKey{key: k.current, until: now.Add(grace)})
	}
	for _, p := range k.replaced {
		if !bytes.Equal(p.key, key) && !now.After(p.until) {
			out.replaced = append(out.replaced, p)
		}
	}
	return out, true
}

// accepted returns the current key and the replaced ones still in grace
// at now, current first.
func (k ringKeys) accepted(now time.Time) [][]byte {
	var out [][]byte
	if len(k.current) > 0 {
		out = append(out, k.current)
	}
	for _, p := range k.replaced {
		if !now.After(p.until) {
			out = append(out, p.key)
		}
	}
	return out
}
