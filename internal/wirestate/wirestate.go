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
