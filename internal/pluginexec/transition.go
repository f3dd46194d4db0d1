package pluginexec

import (
	"bytes"
	"encoding/json"
	"fmt"
	"time"

	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	apimeta "k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	bkv1 "github.com/bkplugin/bk-plugin-operator/api/v1alpha1"
	"github.com/bkplugin/bk-plugin-operator/internal/history"
	"github.com/bkplugin/bk-plugin-operator/sdk/protocol"
)

// This file is the part of the invocation state machine both binaries
// apply: what one execute's answer does to an invocation's status. It is
// pure (no client, clock or network); the manager's table tests
// (internal/controller/invocation/statemachine_test.go) cover it through
// the reconciler's thin wrapper.

// Defaults of Limits, the manager's and the shim's.
const (
	// DefaultMaxStatusBytes bounds outputs plus storage so that an
	// invocation stays well below the API server's 1.5 MiB object limit.
	DefaultMaxStatusBytes = 1 << 20
	// DefaultMinPollInterval keeps a plugin answering POLL with interval 0
	// from executing in a tight loop.
	DefaultMinPollInterval = time.Second
	// DefaultMaxPollInterval keeps a huge interval from overflowing, or
	// from parking an invocation for years.
	DefaultMaxPollInterval = 24 * time.Hour
	// DefaultMaxCallbacksPerAnswer bounds the callbacks one answer may
	// prepare.
	DefaultMaxCallbacksPerAnswer = 100
	// DefaultMaxPreparedCallbacks bounds the callbacks one invocation may
	// prepare in all (status.preparedCallbacks holds their ids).
	DefaultMaxPreparedCallbacks = 1000
)

// Limits are the bounds Apply keeps every status within, so that it is one
// the API server accepts.
type Limits struct {
	// MaxStatusBytes bounds outputs plus storage; zero: no bound.
	MaxStatusBytes int
	// MaxCallbacksPerAnswer bounds the callbacks one answer prepares;
	// MaxPreparedCallbacks those of the whole invocation. Zero: no bound.
	MaxCallbacksPerAnswer, MaxPreparedCallbacks int
	// MinPoll and MaxPoll bound the poll interval a plugin asks for; zero:
	// no bound.
	MinPoll, MaxPoll time.Duration
	// Logs bound the plugin log lines kept in status.
	Logs history.LogLimits
}

// DefaultLimits are the limits of a manager and a shim started with
// default flags.
func DefaultLimits() Limits {
	return Limits{MaxStatusBytes: DefaultMaxStatusBytes, MaxCallbacksPerAnswer: DefaultMaxCallbacksPerAnswer,
		MaxPreparedCallbacks: DefaultMaxPreparedCallbacks, MinPoll: DefaultMinPollInterval, MaxPoll: DefaultMaxPollInterval,
		Logs: history.LogLimits{}.WithDefaults()}
}

// Applied is what an answer did to a status.
type Applied struct {
	// Status is the new status.
	Status bkv1.PluginInvocationStatus
	// RequeueAfter is when to look at the invocation again; zero: on
	// events only.
	RequeueAfter time.Duration
	// RequeueNow asks for another look at once, e.g. to deliver the next
	// queued callback.
	RequeueNow bool
}

// Apply applies the plugin's answer to one execute to prev, the status the
// execute was made from. delivered is the id of the callback the execute
// delivered ("" for none); pendingAfter counts the callbacks still queued
// behind it. The answer has been through MaskAnswer.
func Apply(prev *bkv1.PluginInvocationStatus, answer *protocol.ExecuteResponse, delivered string, pendingAfter int,
	now time.Time, limits Limits) Applied {
	st := *prev.DeepCopy()
	st.InvokeCount++
	ClearRetry(&st)
	// The lines of every answer are kept, whatever it says: they are how
	// a protocol error or a failure is understood later.
	history.KeepLines(&st, answer.Logs, limits.Logs)
	if delivered != "" {
		st.DeliveredCallbacks = appendUnique(st.DeliveredCallbacks, delivered)
	}
	var a Applied
	if n := len(answer.Callbacks); limits.MaxCallbacksPerAnswer > 0 && n > limits.MaxCallbacksPerAnswer {
		a.Status = Failed(st, bkv1.ReasonProtocolError, fmt.Sprintf(
			"plugin prepared %d callbacks in one answer, over the limit of %d", n, limits.MaxCallbacksPerAnswer), now)
		return a
	}
	for _, cb := range answer.Callbacks {
		st.PreparedCallbacks = appendUnique(st.PreparedCallbacks, cb.ID)
	}
	if n := len(st.PreparedCallbacks); limits.MaxPreparedCallbacks > 0 && n > limits.MaxPreparedCallbacks {
		st.PreparedCallbacks = prev.PreparedCallbacks
		a.Status = Failed(st, bkv1.ReasonProtocolError, fmt.Sprintf(
			"plugin prepared %d callbacks in all, over the limit of %d per invocation", n, limits.MaxPreparedCallbacks), now)
		return a
	}

	if answer.ProtocolVersion != "" && answer.ProtocolVersion != protocol.Version {
		a.Status = Failed(st, bkv1.ReasonProtocolError, fmt.Sprintf(
			"plugin answered with protocol version %q, the operator speaks %q", answer.ProtocolVersion, protocol.Version), now)
		return a
	}
	outputs, err := jsonObject("outputs", answer.Outputs, st.Outputs)
	if err != nil {
		a.Status = Failed(st, bkv1.ReasonProtocolError, err.Error(), now)
		return a
	}
	storage, err := jsonObject("storage", answer.Storage, st.Storage)
	if err != nil {
		a.Status = Failed(st, bkv1.ReasonProtocolError, err.Error(), now)
		return a
	}
	if size := jsonLen(outputs) + jsonLen(storage); limits.MaxStatusBytes > 0 && size > limits.MaxStatusBytes {
		// Keep the object writable: drop what does not fit rather than
		// leave an invocation the API server refuses to store.
		st.Outputs, st.Storage = nil, nil
		a.Status = Failed(st, bkv1.ReasonStorageTooLarge, fmt.Sprintf(
			"storage too large: outputs and storage take %d bytes, over the limit of %d bytes", size, limits.MaxStatusBytes), now)
		return a
	}
	st.Outputs, st.Storage = outputs, storage
	st.NextPollTime, st.CallbackDeadline = nil, nil
	st.Error = ""

	switch answer.State {
	case protocol.StateSuccess:
		a.Status = Succeeded(st, now)
	case protocol.StateFail:
		msg := answer.Error
		if msg == "" {
			msg = "plugin failed without a message"
		}
		a.Status = Failed(st, bkv1.ReasonPluginFailed, msg, now)
	case protocol.StatePoll:
		interval, note, err := PollInterval(answer.PollIntervalSeconds, limits.MinPoll, limits.MaxPoll)
		if err != nil {
			a.Status = Failed(st, bkv1.ReasonProtocolError, err.Error(), now)
			return a
		}
		next := metav1.NewTime(now.Add(interval))
		st.State = bkv1.StatePoll
		st.NextPollTime = &next
		a.Status = Running(st, "waiting to be polled"+note, now)
		a.RequeueAfter = max(interval, time.Millisecond)
	case protocol.StateCallback:
		st.State = bkv1.StateCallback
		if answer.CallbackTimeoutSeconds > 0 {
			d := metav1.NewTime(now.Add(time.Duration(answer.CallbackTimeoutSeconds * float64(time.Second))))
			st.CallbackDeadline = &d
		}
		a.Status = Running(st, "waiting for a callback", now)
		switch {
		case pendingAfter > 0:
			// A callback that arrived before the plugin was ready for it
			// is delivered now rather than waiting for another event.
			a.RequeueNow = true
		case st.CallbackDeadline != nil:
			a.RequeueAfter = max(st.CallbackDeadline.Sub(now), time.Millisecond)
		}
	default:
		a.Status = Failed(st, bkv1.ReasonProtocolError, fmt.Sprintf(
			"plugin answered state %s; an execute must end POLL, CALLBACK, SUCCESS or FAIL", answer.State), now)
	}
	return a
}

// Finalize is the status written for st: st with what every write records
// (trace id, resolved version, start time, the attempt's start, observed
// generation).
func Finalize(st bkv1.PluginInvocationStatus, traceID, version string, generation int64, now time.Time) bkv1.PluginInvocationStatus {
	st = *st.DeepCopy()
	st.TraceID = traceID
	if version != "" {
		st.ResolvedVersion = version
	}
	if st.State == "" {
		st.State = bkv1.StateEmpty
	}
	if st.StartTime == nil {
		start := metav1.NewTime(now)
		st.StartTime = &start
	}
	if st.NextAttemptTime != nil && !now.Before(st.NextAttemptTime.Time) {
		// The attempt that waited for it has begun.
		st.NextAttemptTime = nil
	}
	if st.Attempt > 1 && st.AttemptStartTime == nil && st.NextAttemptTime == nil {
		start := metav1.NewTime(now)
		st.AttemptStartTime = &start
	}
	st.ObservedGeneration = generation
	return st
}

// Succeeded ends st SUCCESS at now.
func Succeeded(st bkv1.PluginInvocationStatus, now time.Time) bkv1.PluginInvocationStatus {
	st.State = bkv1.StateSuccess
	done := metav1.NewTime(now)
	st.CompletionTime = &done
	apimeta.SetStatusCondition(&st.Conditions, metav1.Condition{
		Type: bkv1.ConditionSucceeded, Status: metav1.ConditionTrue, Reason: bkv1.ReasonSucceeded,
		Message: "the plugin finished successfully", LastTransitionTime: done,
	})
	return st
}

// Failed ends st FAIL at now for reason, with message (bounded) as its
// error.
func Failed(st bkv1.PluginInvocationStatus, reason, message string, now time.Time) bkv1.PluginInvocationStatus {
	message = BoundMessage(message)
	st.State = bkv1.StateFail
	st.Error = message
	done := metav1.NewTime(now)
	st.CompletionTime = &done
	apimeta.SetStatusCondition(&st.Conditions, metav1.Condition{
		Type: bkv1.ConditionSucceeded, Status: metav1.ConditionFalse, Reason: reason,
		Message: message, LastTransitionTime: done,
	})
	return st
}

// Running marks st as running, waiting as message says.
func Running(st bkv1.PluginInvocationStatus, message string, now time.Time) bkv1.PluginInvocationStatus {
	apimeta.SetStatusCondition(&st.Conditions, metav1.Condition{
		Type: bkv1.ConditionSucceeded, Status: metav1.ConditionUnknown, Reason: bkv1.ReasonRunning,
		Message: message, LastTransitionTime: metav1.NewTime(now),
	})
	return st
}

// ClearRetry forgets the failed attempts st counts.
func ClearRetry(st *bkv1.PluginInvocationStatus) {
	st.RetryCount = 0
	apimeta.RemoveStatusCondition(&st.Conditions, bkv1.ConditionRetrying)
}

// jsonObject checks that an answer's outputs or storage is a JSON object (or
// absent, which keeps the previous value).
func jsonObject(field string, answer json.RawMessage, previous *apiextensionsv1.JSON) (*apiextensionsv1.JSON, error) {
	b := bytes.TrimSpace(answer)
	if len(b) == 0 {
		return previous, nil
	}
	if bytes.Equal(b, []byte("null")) {
		return nil, nil
	}
	var obj map[string]json.RawMessage
	if err := json.Unmarshal(b, &obj); err != nil {
		return nil, fmt.Errorf("plugin answered %s that is not a JSON object: %.80s", field, b)
	}
	return &apiextensionsv1.JSON{Raw: append([]byte(nil), b...)}, nil
}

func jsonLen(j *apiextensionsv1.JSON) int {
	if j == nil {
		return 0
	}
	return len(j.Raw)
}

func appendUnique(list []string, id string) []string {
	for _, s := range list {
		if s == id {
			return list
		}
	}
	return append(list, id)
}
