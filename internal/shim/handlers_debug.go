package shim

import (
	"encoding/json"
	"net/http"

	"github.com/gorilla/mux"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"sigs.k8s.io/controller-runtime/pkg/client"

	bkv1 "github.com/bkplugin/bk-plugin-operator/api/v1alpha1"
	"github.com/bkplugin/bk-plugin-operator/internal/wirestate"
	"github.com/bkplugin/bk-plugin-operator/sdk/protocol"
	"github.com/bkplugin/bk-plugin-operator/sdk/stdapi"
)

// DebugInvocationRoute answers, when Options.DebugAPI is set, what the debug
// panel's timeline needs and the standard API does not tell: how many
// executes an invocation has had and the storage they kept.
const DebugInvocationRoute = "/debug/api/plugins/{" + stdapi.VarCode + "}/invocations/{" + stdapi.VarTraceID + "}"

// DebugInvocationData is the data of DebugInvocationRoute.
type DebugInvocationData struct {
	// TraceID names the invocation.
	TraceID string `json:"trace_id"`
	// State is the invocation's state, as schedule answers it.
	State protocol.State `json:"state"`
	// InvokeCount is how many executes have completed.
	InvokeCount int32 `json:"invoke_count"`
	// Storage is what the plugin keeps between executes ({} when nothing).
	Storage json.RawMessage `json:"storage"`
	// RetryCount is how many calls of the plugin pod failed in a row.
	RetryCount int32 `json:"retry_count"`
	// NextPollTime is when a POLL invocation is executed next, "" otherwise.
	NextPollTime stdapi.Timestamp `json:"next_poll_time"`
}

// debugInvocation answers DebugInvocationRoute. It reads the invocation
// from the API server, not the cache: the cache drops storage to save the
// shim's memory (slimForCache).
func (s *Server) debugInvocation(w http.ResponseWriter, r *http.Request) {
	vars := mux.Vars(r)
	code, traceID := vars[stdapi.VarCode], vars[stdapi.VarTraceID]
	if !stdapi.ValidTraceID(traceID) {
		s.fail(w, r, errorf(http.StatusNotFound, "no invocation with trace id %s: a trace id is %d lowercase hex characters", traceID, stdapi.TraceIDLength))
		return
	}
	inv := &bkv1.PluginInvocation{}
	err := s.invocations.kube.Get(r.Context(), client.ObjectKey{Namespace: s.opts.Namespace, Name: traceID}, inv)
	switch {
	case apierrors.IsNotFound(err) || (err == nil && inv.Spec.Plugin != code):
		s.fail(w, r, errorf(http.StatusNotFound, "no invocation with trace id %s of plugin %s", traceID, code))
		return
	case err != nil:
		s.fail(w, r, kubeErr(err, "read invocation %s", traceID))
		return
	}
	d := DebugInvocationData{
		TraceID:     inv.Name,
		State:       wirestate.Of(inv.Status.State),
		InvokeCount: inv.Status.InvokeCount,
		Storage:     json.RawMessage("{}"),
		RetryCount:  inv.Status.RetryCount,
	}
	if st := inv.Status.Storage; st != nil && len(st.Raw) > 0 && string(st.Raw) != "null" {
		d.Storage = st.Raw
	}
	if inv.Status.NextPollTime != nil && inv.Status.State == bkv1.StatePoll {
		d.NextPollTime = stdapi.NewTimestamp(inv.Status.NextPollTime.Time)
	}
	writeJSON(w, http.StatusOK, stdapi.OK(d, traceID))
}
