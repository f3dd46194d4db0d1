package shim

import (
	"errors"
	"fmt"
	"net/http"

	"github.com/gorilla/mux"

	bkv1 "github.com/bkplugin/bk-plugin-operator/api/v1alpha1"
	"github.com/bkplugin/bk-plugin-operator/sdk/stdapi"
)

// invoke answers POST /plugins/{code}/bk_plugin/invoke/{version}.
//
// Like the Python framework, a plugin that fails answers result true with
// state FAIL (5) and err: the call itself succeeded, and platforms read the
// state. result false is kept for calls that did not start an invocation.
func (s *Server) invoke(w http.ResponseWriter, r *http.Request) {
	vars := mux.Vars(r)
	traceID, err := invokeTraceID(r)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	call := invokeCall{Code: vars[stdapi.VarCode], Version: vars[stdapi.VarVersion], TraceID: traceID,
		CallerTraceID: r.Header.Get(stdapi.HeaderTraceID) != ""}
	if call.Caller, err = callerOf(r); err != nil {
		s.fail(w, r, err)
		return
	}
	if call.Async, err = asyncRequested(r); err != nil {
		s.fail(w, r, err)
		return
	}
	body, err := readBody(r)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	if call.Request, err = decodeInvoke(body); err != nil {
		s.fail(w, r, err)
		return
	}
	out, err := s.invocations.invoke(r.Context(), call)
	var rejected *rejectedInputs
	if errors.As(err, &rejected) {
		s.answerRejected(w, traceID, rejected)
		return
	}
	if err != nil {
		s.fail(w, r, err)
		return
	}
	if out.Archived != nil {
		// Its Secret went with the PluginInvocation: sensitive outputs
		// stay masked.
		writeJSON(w, http.StatusOK, stdapi.OK(invokeFromRecord(out.Archived), traceID))
		return
	}
	if !out.Invocation.Status.State.Terminal() {
		if err := s.invocations.markAnsweredPending(r.Context(), out.Invocation); err != nil {
			s.fail(w, r, err)
			return
		}
	}
	data := invokeData(out.Invocation)
	switch {
	case out.ClearOutputs != nil:
		data.Outputs = out.ClearOutputs
	case out.Invocation.Status.State != bkv1.StateFail:
		data.Outputs = s.invocations.revealOutputs(r.Context(), out.Invocation, data.Outputs)
	}
	env := stdapi.OK(data, traceID)
	if out.TimedOut {
		env.Message = fmt.Sprintf("the first execute of invocation %s has not finished after %s; poll schedule for its state",
			traceID, s.opts.InvokeTimeout)
	}
	writeJSON(w, http.StatusOK, env)
}

// schedule answers GET /plugins/{code}/bk_plugin/schedule/{trace_id}.
func (s *Server) schedule(w http.ResponseWriter, r *http.Request) {
	vars := mux.Vars(r)
	traceID := vars[stdapi.VarTraceID]
	f, err := s.invocations.find(r.Context(), vars[stdapi.VarCode], traceID)
	if err != nil {
		s.failTrace(w, r, traceID, err)
		return
	}
	var data stdapi.ScheduleData
	if f.Live != nil {
		data = scheduleData(f.Live)
		data.Outputs = s.invocations.revealOutputs(r.Context(), f.Live, data.Outputs)
	} else {
		// The Secret went with the PluginInvocation: sensitive outputs
		// stay masked once archived.
		data = scheduleFromRecord(f.Archived)
	}
	writeSchedule(w, data, traceID)
}

// failTrace answers err from looking up the invocation traceID names. The
// Python framework answers an unknown trace id 200 with result false;
// platforms read the message. Any other error is the server's.
func (s *Server) failTrace(w http.ResponseWriter, r *http.Request, traceID string, err error) {
	if isNotFound(err) {
		writeJSON(w, http.StatusOK, stdapi.Fail(stdapi.ScheduleNotFoundMessage(traceID), traceID))
		return
	}
	s.fail(w, r, err)
}

// writeSchedule answers data in schedule's envelope, which carries no
// message, as the Python framework's schedule answers none.
func writeSchedule(w http.ResponseWriter, data stdapi.ScheduleData, traceID string) {
	env := stdapi.OK(data, traceID)
	env.Message = ""
	writeJSON(w, http.StatusOK, env)
}

// callback answers POST /plugins/{code}/bk_plugin/callback/{token}/ in the
// Python framework's {result, message} shape.
func (s *Server) callback(w http.ResponseWriter, r *http.Request) {
	vars := mux.Vars(r)
	body, err := readBody(r)
	if err == nil {
		var msg string
		msg, err = s.invocations.callback(r.Context(), vars[stdapi.VarCode], vars[stdapi.VarToken], body)
		if err == nil {
			writeJSON(w, http.StatusOK, stdapi.CallbackResult{Result: true, Message: msg})
			return
		}
	}
	status, msg := statusOf(err)
	if status >= 500 {
		s.opts.Logger.Error(err, "callback failed", "path", logPath(r))
	}
	writeJSON(w, status, stdapi.CallbackResult{Result: false, Message: msg})
}

// logsHandler answers GET /plugins/{code}/bk_plugin/logs/{trace_id}.
func (s *Server) logsHandler(w http.ResponseWriter, r *http.Request) {
	vars := mux.Vars(r)
	traceID := vars[stdapi.VarTraceID]
	page, err := logPageOf(r)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	f, err := s.invocations.find(r.Context(), vars[stdapi.VarCode], traceID)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	data, err := s.logs.log(r.Context(), f, page)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	env := stdapi.OK(data, traceID)
	env.Message = ""
	writeJSON(w, http.StatusOK, env)
}

// pluginAPIDispatch answers POST /plugins/{code}/bk_plugin/plugin_api_dispatch/.
func (s *Server) pluginAPIDispatch(w http.ResponseWriter, r *http.Request) {
	req, files, err := readDispatch(r, s.opts.MaxBodyBytes)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	caller, err := callerOf(r)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	data, err := s.dispatcher.dispatch(r.Context(), dispatchCall{
		Code: mux.Vars(r)[stdapi.VarCode], Request: req, Files: files, TraceID: infoOf(r).traceID,
		Caller: caller, Header: pluginAPIHeaders(r),
	})
	if err != nil {
		s.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, stdapi.OK(data, infoOf(r).traceID))
}
