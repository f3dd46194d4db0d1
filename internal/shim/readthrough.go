package shim

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"sigs.k8s.io/controller-runtime/pkg/client"

	bkv1 "github.com/bkplugin/bk-plugin-operator/api/v1alpha1"
	"github.com/bkplugin/bk-plugin-operator/internal/archive"
	"github.com/bkplugin/bk-plugin-operator/sdk/stdapi"
)

// readThrough is the shim's way to the archive of finished invocations
// (--archive). The archive is opened in the background, with retries
// (archive.OpenDeferred), so that the shim serves live work and reports
// ready while the database is away; what needs the archive meanwhile
// answers 503 saying so.
type readThrough struct {
	// arch is nil when no archive is configured: the shim then answers from
	// the cluster only, as before the archive existed.
	arch archive.Archive
	// owned is set when the shim opened the archive and must close it.
	owned bool
	// reads counts the archive's reads by what and outcome, so that an
	// operator sees how much of the traffic reads history.
	reads *prometheus.CounterVec
}

// Outcomes of an archive read, for readThrough.reads.
const (
	archiveFound    = "found"
	archiveNotFound = "not_found"
	archiveError    = "error"
)

// counted records the outcome of one archive read of what and returns err.
func (h *readThrough) counted(what string, err error) error {
	if h.reads != nil {
		outcome := archiveFound
		switch {
		case errors.Is(err, archive.ErrNotFound):
			outcome = archiveNotFound
		case err != nil:
			outcome = archiveError
		}
		h.reads.WithLabelValues(what, outcome).Inc()
	}
	return err
}

// newReadThrough returns the shim's way to the archive for opts: an archive
// given already open, a DSN to open in the background, or none. A DSN that
// can never work fails here, so that a typo stops the shim at start-up.
func newReadThrough(opts Options) (*readThrough, error) {
	reads := prometheus.NewCounterVec(prometheus.CounterOpts{
		Namespace: "bkplugin", Subsystem: "shim", Name: "archive_reads_total",
		Help: "Reads of the history archive (get, logs, list) by outcome: found, not_found or error.",
	}, []string{"what", "outcome"})
	if err := opts.Registry.Register(reads); err != nil {
		return nil, fmt.Errorf("register archive metrics: %w", err)
	}
	if opts.Archive != nil {
		return &readThrough{arch: opts.Archive, reads: reads}, nil
	}
	if opts.ArchiveDSN == "" {
		return &readThrough{}, nil
	}
	log := opts.Logger.WithName("archive")
	d, err := archive.OpenDeferred(context.Background(), opts.ArchiveDSN, archive.Options{}, archive.DeferredOptions{
		OnError: func(err error, retryIn time.Duration) {
			log.Error(err, "archive unreachable; finished invocations cannot be read until it answers", "retryIn", retryIn)
		},
		OnOpen: func() {
			log.Info("archive open: schedule, logs, invoke and the history list read finished invocations from it")
		},
	})
	if err != nil {
		return nil, fmt.Errorf("--archive: %w", err)
	}
	return &readThrough{arch: d, owned: true, reads: reads}, nil
}

// configured reports whether the shim has an archive at all.
func (h *readThrough) configured() bool { return h != nil && h.arch != nil }

// get returns the archive, nil when none is configured. Its methods fail
// with archive.ErrUnavailable while it is not open yet (archiveErr: 503).
func (h *readThrough) get() archive.Archive {
	if h == nil {
		return nil
	}
	return h.arch
}

// close releases an archive the shim opened.
func (h *readThrough) close() error {
	if !h.configured() || !h.owned {
		return nil
	}
	return h.arch.Close()
}

// archiveErr turns an archive error into the API's: an unknown key is
// 404, a refused argument 400, anything else means the database cannot be
// used now: 503, naming what was being done.
func archiveErr(err error, what string) error {
	switch {
	case err == nil:
		return nil
	case errors.Is(err, archive.ErrNotFound):
		return errorf(http.StatusNotFound, "%s: %v", what, err)
	case errors.Is(err, archive.ErrInvalid):
		return errorf(http.StatusBadRequest, "%s: %v", what, err)
	case errors.Is(err, context.Canceled):
		return err
	}
	return errorf(http.StatusServiceUnavailable, "%s: the history archive cannot be read now (%v); retry later", what, err)
}

// found is an invocation wherever it is: in the cluster (Live) while its
// PluginInvocation exists, else in the archive (Archived).
type found struct {
	Live     *bkv1.PluginInvocation
	Archived *archive.Record
}

// find returns the invocation named traceID of plugin code ("" for any
// plugin): from the cluster while it is there, from the archive after the
// manager deleted it. A miss in both is 404; a miss in the cluster while
// the archive cannot be read is 503, since the invocation may well exist.
//
// On a cache miss the archive is read before the API server: a finished
// invocation that left the cluster (and every call the direct path ended
// at once) is never in the cache, and reading the API server for each of
// them cost a round trip that made an archived schedule 3.7x a live one
// at c=50 and loaded the API server with reads of history. The API
// server is read only when the archive does not hold the trace id either:
// an invocation created a moment ago that the cache has not seen yet.
func (s *invocations) find(ctx context.Context, code, traceID string) (found, error) {
	fromArchive := func() (found, bool, error) {
		rec, ok, aerr := s.archived(ctx, traceID)
		switch {
		case aerr != nil || !ok:
			return found{}, false, aerr
		case code != "" && rec.Plugin != code:
			return found{}, true, errorf(http.StatusNotFound, "no invocation with trace id %s of plugin %s", traceID, code)
		}
		return found{Archived: rec}, true, nil
	}
	valid := stdapi.ValidTraceID(traceID)
	consulted := false
	var archiveErr error
	if valid && s.past.configured() && !s.inCache(ctx, traceID) {
		f, ok, err := fromArchive()
		if ok {
			return f, err
		}
		consulted, archiveErr = true, err
	}
	// A non-final cached state is read live (getFresh): platforms act on
	// what schedule answers.
	inv, err := s.getFresh(ctx, code, traceID)
	var ae *apiError
	switch {
	case err == nil:
		return found{Live: inv}, nil
	case !errors.As(err, &ae) || ae.status != http.StatusNotFound || !valid:
		return found{}, err
	case consulted && archiveErr != nil:
		return found{}, archiveErr
	case consulted:
		return found{}, err
	}
	// Cached a moment ago and gone since: archived and deleted meanwhile.
	f, ok, aerr := fromArchive()
	switch {
	case aerr != nil:
		return found{}, aerr
	case ok:
		return f, nil
	}
	return found{}, err
}

// inCache reports whether the shim's cache holds the invocation named
// traceID; a cache that cannot answer counts as holding it, so that the
// caller reads the API server as before.
func (s *invocations) inCache(ctx context.Context, traceID string) bool {
	// Existence only: the cached object is not copied (or written).
	var inv bkv1.PluginInvocation
	err := s.cache.Get(ctx, client.ObjectKey{Namespace: s.namespace, Name: traceID}, &inv, client.UnsafeDisableDeepCopy)
	return !apierrors.IsNotFound(err)
}

// archived reads the archived invocation named traceID: ok is false when
// the archive does not hold it or the shim has no archive.
func (s *invocations) archived(ctx context.Context, traceID string) (*archive.Record, bool, error) {
	a := s.past.get()
	if a == nil {
		return nil, false, nil
	}
	rec, err := a.Get(ctx, archive.Key{Namespace: s.namespace, TraceID: traceID})
	s.past.counted("get", err)
	switch {
	case errors.Is(err, archive.ErrNotFound):
		return nil, false, nil
	case err != nil:
		return nil, false, archiveErr(err, "invocation "+traceID+" is not in the cluster, and reading it from the archive failed")
	}
	return &rec, true, nil
}

// invokeArchived answers a retried invoke whose invocation has finished and
// left the cluster: the same call gets the archived result, another call
// with the same trace id 409, as sameCall does for a live invocation. It
// returns nil when the trace id names no archived invocation (or the
// invocation is still in the cluster, where Create finds it), so that the
// invoke goes on. When the archive cannot be read it answers 503: running
// the call again could execute it twice.
func (s *invocations) invokeArchived(ctx context.Context, call invokeCall, publicInputs json.RawMessage, sensitiveNames []string) (*archive.Record, error) {
	if !call.CallerTraceID || !s.past.configured() {
		// A trace id the shim made up names nothing yet.
		return nil, nil
	}
	inv := &bkv1.PluginInvocation{}
	err := s.cache.Get(ctx, client.ObjectKey{Namespace: s.namespace, Name: call.TraceID}, inv)
	if err == nil {
		return nil, nil
	}
	if !apierrors.IsNotFound(err) {
		return nil, kubeErr(err, "read invocation %s", call.TraceID)
	}
	rec, ok, err := s.archived(ctx, call.TraceID)
	if err != nil || !ok {
		return nil, err
	}
	if err := sameArchivedCall(rec, call, publicInputs, sensitiveNames); err != nil {
		return nil, err
	}
	return rec, nil
}

// sameArchivedCall is sameCall against an archived invocation. The archive
// holds the inputs masked, so the sensitive ones are left out of the
// comparison on both sides, as the live spec holds none of them either.
func sameArchivedCall(rec *archive.Record, call invokeCall, publicInputs json.RawMessage, sensitiveNames []string) error {
	switch {
	case rec.Plugin != call.Code || rec.RequestedVersion != call.Version:
		return errorf(http.StatusConflict, "trace id %s already names an invocation of plugin %s version %s, not of plugin %s version %s",
			rec.TraceID, rec.Plugin, rec.RequestedVersion, call.Code, call.Version)
	case !sameJSON(rawJSON(withoutFields(rec.Inputs, sensitiveNames)), rawJSON(withoutFields(publicInputs, sensitiveNames))):
		return errorf(http.StatusConflict, "trace id %s already names an invocation of plugin %s with other inputs", rec.TraceID, rec.Plugin)
	case !sameJSON(rawJSON(rec.Context), rawJSON(call.Request.Context)):
		return errorf(http.StatusConflict, "trace id %s already names an invocation of plugin %s with another context", rec.TraceID, rec.Plugin)
	}
	return nil
}

// rawJSON wraps raw for sameJSON.
func rawJSON(raw json.RawMessage) *apiextensionsv1.JSON {
	return &apiextensionsv1.JSON{Raw: raw}
}

// withoutFields returns the JSON object obj without the named fields; obj
// unchanged when it is not an object or names none of them.
func withoutFields(obj json.RawMessage, names []string) json.RawMessage {
	if len(names) == 0 || len(obj) == 0 {
		return obj
	}
	var m map[string]json.RawMessage
	if json.Unmarshal(obj, &m) != nil || m == nil {
		return obj
	}
	for _, n := range names {
		delete(m, n)
	}
	out, err := json.Marshal(m)
	if err != nil {
		return obj
	}
	return out
}
