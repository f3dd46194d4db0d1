package invocation

import (
	"fmt"
	"unicode/utf8"
)

// Bounds the state machine keeps an invocation within, so that every status
// it decides is one the API server accepts: an invocation the API server
// refuses to store would stay where it is, executed again after every
// restart (issue 15, finding 5).
const (
	// MaxErrorBytes bounds status.error and the message of each condition
	// the state machine sets; the API server refuses a condition message
	// over 32768 bytes, and a reader wants the start of a message, not all
	// of it.
	MaxErrorBytes = 4 << 10
	// DefaultMaxCallbacksPerAnswer bounds the callbacks one answer may
	// prepare.
	DefaultMaxCallbacksPerAnswer = 100
	// DefaultMaxPreparedCallbacks bounds the callbacks one invocation may
	// prepare in all (status.preparedCallbacks holds their ids).
	DefaultMaxPreparedCallbacks = 1000
)

// boundMessage cuts msg to MaxErrorBytes, at a rune boundary, saying how
// long it was. A message is scrubbed before it is bounded, so that a cut
// never leaves part of a secret behind.
func boundMessage(msg string) string {
	if len(msg) <= MaxErrorBytes {
		return msg
	}
	suffix := fmt.Sprintf("… (truncated: %d bytes in all)", len(msg))
	cut := MaxErrorBytes - len(suffix)
	for cut > 0 && !utf8.RuneStart(msg[cut]) {
		cut--
	}
	return msg[:cut] + suffix
}

// scrubbedError is an error whose text had its sensitive values masked; it
// unwraps to the original, so that decisions still see its type.
type scrubbedError struct {
	err error
	msg string
}

func (e *scrubbedError) Error() string { return e.msg }

func (e *scrubbedError) Unwrap() error { return e.err }
