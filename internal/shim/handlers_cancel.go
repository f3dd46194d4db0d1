package shim

import (
	"net/http"

	"github.com/gorilla/mux"

	"github.com/bkplugin/bk-plugin-operator/sdk/stdapi"
)

// cancelHandler answers POST /plugins/{code}/bk_plugin/cancel/{trace_id}
// (an extension) like schedule: the invocation as it is once the cancel is
// recorded, or 200 result false for a trace id that names none.
func (s *Server) cancelHandler(w http.ResponseWriter, r *http.Request) {
	vars := mux.Vars(r)
	traceID := vars[stdapi.VarTraceID]
	inv, err := s.invocations.cancel(r.Context(), vars[stdapi.VarCode], traceID)
	if err != nil {
		s.failTrace(w, r, traceID, err)
		return
	}
	data := scheduleData(inv)
	data.Outputs = s.invocations.revealOutputs(r.Context(), inv, data.Outputs)
	writeSchedule(w, data, traceID)
}
