package pluginexec

import (
	"fmt"
	"math"
	"time"
	"unicode/utf8"
)

// MaxErrorBytes bounds status.error and the message of each condition the
// state machine sets; the API server refuses a condition message over
// 32768 bytes, and a reader wants the start of a message, not all of it.
const MaxErrorBytes = 4 << 10

// BoundMessage cuts msg to MaxErrorBytes, at a rune boundary, saying how
// long it was. A message is scrubbed before it is bounded, so that a cut
// never leaves part of a secret behind.
func BoundMessage(msg string) string {
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

// PollInterval turns the interval a plugin asked for, in seconds, into the
// wait before its next execute, within [minPoll, maxPoll] (a zero bound is
// no bound). A negative or not-a-number interval is a protocol error; one
// out of bounds is clamped, and note says so for the Running condition.
// The conversion never overflows: 1e12 seconds is past what a Duration
// holds, and multiplying first would wrap it negative (issue 15, finding 6).
func PollInterval(seconds float64, minPoll, maxPoll time.Duration) (d time.Duration, note string, err error) {
	switch {
	case math.IsNaN(seconds):
		return 0, "", fmt.Errorf("plugin asked to poll after an interval that is not a number")
	case seconds < 0:
		return 0, "", fmt.Errorf("plugin asked to poll after a negative interval (%gs)", seconds)
	}
	ceiling := time.Duration(math.MaxInt64)
	if maxPoll > 0 {
		ceiling = maxPoll
	}
	if seconds >= ceiling.Seconds() {
		if seconds > ceiling.Seconds() {
			note = fmt.Sprintf(" (the plugin asked for %gs; the maximum is %s)", seconds, ceiling)
		}
		return ceiling, note, nil
	}
	d = time.Duration(seconds * float64(time.Second))
	if d < minPoll {
		return minPoll, fmt.Sprintf(" (the plugin asked for %gs; the minimum is %s)", seconds, minPoll), nil
	}
	return d, "", nil
}
