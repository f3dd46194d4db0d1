// Package wirestate maps an invocation's state in its CR to the number the
// standard BlueKing API sends on the wire, for the shim's answers, the
// manager's execute requests and its finish notifications alike.
package wirestate

import (
	bkv1 "github.com/bkplugin/bk-plugin-operator/api/v1alpha1"
	"github.com/bkplugin/bk-plugin-operator/sdk/protocol"
)

// Of maps a CR state to its state on the wire. An invocation the manager has
// not touched yet (state "" or EMPTY) is EMPTY.
func Of(s bkv1.InvocationState) protocol.State {
	switch s {
	case bkv1.StatePoll:
		return protocol.StatePoll
	case bkv1.StateCallback:
		return protocol.StateCallback
	case bkv1.StateSuccess:
		return protocol.StateSuccess
	case bkv1.StateFail:
		return protocol.StateFail
	default:
		return protocol.StateEmpty
	}
}

// Answer maps a CR state to the state the standard API answers platforms
// with. It differs from Of only for an invocation whose first execute has not
// finished (EMPTY): the Python framework never answers EMPTY, and bk-sops
// ends a node successfully, with no outputs, on any state but 2, 3 and 5, so
// such an invocation is answered POLL: "not finished, ask schedule again".
func Answer(s bkv1.InvocationState) protocol.State {
	if st := Of(s); st != protocol.StateEmpty {
		return st
	}
	return protocol.StatePoll
}
