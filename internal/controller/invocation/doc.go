// Package invocation is the PluginInvocation reconciler: it resolves an
// invocation's version, calls the plugin pod and records the answer in
// status, which is where all of an invocation's state lives.
//
// The reconciler loads, gathers, calls and persists; every decision is a
// pure function returning one value: the state machine (statemachine.go:
// planStep, applyAnswer, applyCallError, applyFailure, applyNotification)
// and the decisions around it (decisions.go: chooseVersion, prepareInputs,
// applyExecuteError, finalStatus, tooLargeFallback, keepUnwritten,
// requeueAfterWrite, transitionEvent, planFinished). persistStatus
// (reconciler.go) is the one writer of status. Failures are told apart by
// type (errors.go, internal/pluginexec), never by their text.
package invocation
