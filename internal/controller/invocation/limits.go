package invocation

import "github.com/bkplugin/bk-plugin-operator/internal/pluginexec"

// Bounds the state machine keeps an invocation within, so that every status
// it decides is one the API server accepts: an invocation the API server
// refuses to store would stay where it is, executed again after every
// restart (issue 15, finding 5).
const (
	// MaxErrorBytes bounds status.error and the message of each condition
	// the state machine sets (pluginexec.MaxErrorBytes).
	MaxErrorBytes = pluginexec.MaxErrorBytes
	// DefaultMaxCallbacksPerAnswer bounds the callbacks one answer may
	// prepare.
	DefaultMaxCallbacksPerAnswer = pluginexec.DefaultMaxCallbacksPerAnswer
	// DefaultMaxPreparedCallbacks bounds the callbacks one invocation may
	// prepare in all (status.preparedCallbacks holds their ids).
	DefaultMaxPreparedCallbacks = pluginexec.DefaultMaxPreparedCallbacks
)

// boundMessage cuts msg to MaxErrorBytes (pluginexec.BoundMessage).
func boundMessage(msg string) string { return pluginexec.BoundMessage(msg) }
