package controllers

import (
	"context"
	"fmt"
	"net/http"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/tools/events"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/builder"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/controller"
	"sigs.k8s.io/controller-runtime/pkg/event"
	"sigs.k8s.io/controller-runtime/pkg/handler"
	logf "sigs.k8s.io/controller-runtime/pkg/log"
	"sigs.k8s.io/controller-runtime/pkg/predicate"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"

	bkv1 "github.com/bkplugin/bk-plugin-operator/api/v1alpha1"
	"github.com/bkplugin/bk-plugin-operator/internal/versions"
	"github.com/bkplugin/bk-plugin-operator/sdk/taskjson"
)

// Defaults of PluginVersionOptions.
const (
	// DefaultProbeInterval is how often a Ready version is probed again.
	DefaultProbeInterval = 5 * time.Minute
	// DefaultMaxProbeBackoff caps the wait between probes of a version that
	// is not Ready.
	DefaultMaxProbeBackoff = 5 * time.Minute
	// DefaultMaxConcurrentProbes is how many versions are probed at once.
	DefaultMaxConcurrentProbes = 4
	// probeBackoffBase is the first wait after a version stops being Ready.
	probeBackoffBase = time.Second
	// eventActionProbe is the action of the reconciler's events.
	eventActionProbe = "Probe"
)

// PluginVersionReconciler keeps each PluginVersion's Ready condition true to
// what its plugin pod serves: it resolves the endpoint, refuses duplicates of
// an older registration, and probes the pod's detail of the version.
type PluginVersionReconciler struct {
	client.Client
	// Recorder emits an event each time a version becomes Ready or not Ready.
	Recorder events.EventRecorder
	// Options tune the probes; zero values take the defaults.
	Options PluginVersionOptions

	// httpClient is Options.HTTPClient or, without one, a pooled client made
	// once by SetupWithManager, so that probes reuse connections.
	httpClient *http.Client
}

// The reconciler reads and watches PluginVersions, patches their status and
// emits events.k8s.io events.
//
// +kubebuilder:rbac:groups=bkplugin.io,resources=pluginversions,verbs=get;list;watch
// +kubebuilder:rbac:groups=bkplugin.io,resources=pluginversions/status,verbs=patch
// +kubebuilder:rbac:groups=bkplugin.io,resources=pluginservers,verbs=get;list;watch
// +kubebuilder:rbac:groups=events.k8s.io,resources=events,verbs=create;patch

// Reconcile probes one PluginVersion and records what it found in status.
func (r *PluginVersionReconciler) Reconcile(ctx context.Context, req ctrl.Request) (ctrl.Result, error) {
	log := logf.FromContext(ctx)

	// 1. Load the version; a deleted one needs nothing (no finalizers).
	plv := &bkv1.PluginVersion{}
	if err := r.Get(ctx, req.NamespacedName, plv); err != nil {
		return ctrl.Result{}, client.IgnoreNotFound(err)
	}
	if !plv.DeletionTimestamp.IsZero() {
		return ctrl.Result{}, nil
	}
	orig := plv.DeepCopy()

	// 2. Resolve the endpoint, 3. refuse a duplicate, 4. probe the pod.
	result, conflicting, err := r.observe(ctx, plv)
	if err != nil {
		return ctrl.Result{}, err
	}

	// 5. Record the outcome; SetStatusCondition moves LastTransitionTime
	// only when the status flips, which the backoff below relies on.
	status := metav1.ConditionFalse
	if result.ready() {
		status = metav1.ConditionTrue
	}
	meta.SetStatusCondition(&plv.Status.Conditions, metav1.Condition{
		Type:               bkv1.ConditionReady,
		Status:             status,
		ObservedGeneration: plv.Generation,
		Reason:             result.Reason,
		Message:            result.Message,
	})
	plv.Status.ObservedGeneration = plv.Generation
	if !equality.Semantic.DeepEqual(orig.Status, plv.Status) {
		if err := r.Status().Patch(ctx, plv, client.MergeFrom(orig)); err != nil {
			if apierrors.IsNotFound(err) {
				return ctrl.Result{}, nil
			}
			return ctrl.Result{}, fmt.Errorf("patch status of PluginVersion %s: %w", req.NamespacedName, err)
		}
	}

	// 6. Tell people when readiness, or the reason for its absence, changes.
	before := meta.FindStatusCondition(orig.Status.Conditions, bkv1.ConditionReady)
	if before == nil || before.Status != status || before.Reason != result.Reason {
		r.recordTransition(plv, conflicting, result)
		log.Info("PluginVersion readiness changed", "ready", status, "reason", result.Reason, "message", result.Message)
	}

	// 7. Probe again: a Ready version at the probe interval, a version that
	// is not Ready with backoff, a duplicate when the watch says so.
	return ctrl.Result{RequeueAfter: r.nextProbe(plv, time.Now())}, nil
}

// observe resolves plv's endpoint into status, looks for an older duplicate
// and, when there is none, probes the pod. It returns the older duplicate
// when there is one.
func (r *PluginVersionReconciler) observe(ctx context.Context, plv *bkv1.PluginVersion) (probeResult, *bkv1.PluginVersion, error) {
	base, err := versions.EndpointURL(plv, r.Options.ClusterDomain, r.Options.ResolveService)
	if err != nil {
		plv.Status.EndpointURL = ""
		return probeResult{bkv1.VersionReasonInvalidEndpoint, err.Error()}, nil, nil
	}
	plv.Status.EndpointURL = base
	// What the CRD's CEL rules cannot see (a rely with both value and
	// regex, a rely on an unknown field, a cycle) would fail every
	// invocation; say so here, naming the field.
	if err := taskjson.Check(plv.Spec.TaskJSON); err != nil {
		return probeResult{bkv1.VersionReasonInvalidDescription, "spec.taskJSON: " + err.Error()}, nil, nil
	}

	older, err := r.olderDuplicate(ctx, plv)
	if err != nil {
		return probeResult{}, nil, err
	}
	if older != nil {
		return probeResult{bkv1.VersionReasonConflict, fmt.Sprintf(
			"PluginVersion %s registers plugin %s version %s already (created %s); delete one of them",
			older.Name, plv.Spec.Plugin, plv.Spec.Version, older.CreationTimestamp.UTC().Format(time.RFC3339))}, older, nil
	}
	if plv.Spec.Endpoint.Server != nil {
		srv, err := r.server(ctx, plv)
		if err != nil {
			return probeResult{}, nil, err
		}
		if res, ok := serverGate(plv, srv); !ok {
			return res, nil, nil
		}
	}
	return probeDetail(ctx, r.probeClient(), base, plv, probeTimeout(plv)), nil, nil
}

// olderDuplicate returns the oldest other PluginVersion of the namespace
// registering plv's plugin and version before plv did, or nil. The oldest
// registration wins so that adding a duplicate never breaks what works.
func (r *PluginVersionReconciler) olderDuplicate(ctx context.Context, plv *bkv1.PluginVersion) (*bkv1.PluginVersion, error) {
	siblings, err := r.sameVersion(ctx, plv)
	if err != nil {
		return nil, err
	}
	var oldest *bkv1.PluginVersion
	for i := range siblings {
		s := &siblings[i]
		if !s.DeletionTimestamp.IsZero() || !versions.OlderObject(s, plv) {
			continue
		}
		if oldest == nil || versions.OlderObject(s, oldest) {
			oldest = s
		}
	}
	return oldest, nil
}

// sameVersion lists the other PluginVersions of plv's namespace with the
// same plugin and version, from the cache's index.
func (r *PluginVersionReconciler) sameVersion(ctx context.Context, plv *bkv1.PluginVersion) ([]bkv1.PluginVersion, error) {
	var list bkv1.PluginVersionList
	if err := r.List(ctx, &list, client.InNamespace(plv.Namespace),
		client.MatchingFields{versions.IndexPluginVersionPlugin: plv.Spec.Plugin}); err != nil {
		return nil, fmt.Errorf("list PluginVersions of plugin %s in namespace %s: %w", plv.Spec.Plugin, plv.Namespace, err)
	}
	out := list.Items[:0]
	for _, s := range list.Items {
		if s.Spec.Version == plv.Spec.Version && s.Name != plv.Name {
			out = append(out, s)
		}
	}
	return out, nil
}

// nextProbe is how long to wait before probing plv again; 0 for a version
// in Conflict, which only the coming or going of a duplicate can change and
// the duplicates watch reconciles it then.
//
// A version that is not Ready backs off exponentially without a counter:
// the wait is the time since the Ready condition last turned False, clamped
// to [probeBackoffBase, MaxProbeBackoff]. Probes then land about 1s, 2s, 4s,
// 8s... after the version went down, and because LastTransitionTime lives in
// status the backoff carries over a manager restart.
func (r *PluginVersionReconciler) nextProbe(plv *bkv1.PluginVersion, now time.Time) time.Duration {
	if versions.InConflict(plv) {
		return 0
	}
	c := meta.FindStatusCondition(plv.Status.Conditions, bkv1.ConditionReady)
	if c != nil && c.Status == metav1.ConditionTrue {
		return durationOr(r.Options.ProbeInterval, DefaultProbeInterval)
	}
	limit := durationOr(r.Options.MaxProbeBackoff, DefaultMaxProbeBackoff)
	wait := probeBackoffBase
	if c != nil {
		wait = max(now.Sub(c.LastTransitionTime.Time), probeBackoffBase)
	}
	return min(wait, limit)
}

// recordTransition emits the event of a readiness change; a conflict's
// event names the older registration as the related object.
func (r *PluginVersionReconciler) recordTransition(plv, older *bkv1.PluginVersion, result probeResult) {
	if r.Recorder == nil {
		return
	}
	if result.ready() {
		r.Recorder.Eventf(plv, nil, corev1.EventTypeNormal, EventReasonVersionReady, eventActionProbe, "%s", result.Message)
		return
	}
	// A nil *PluginVersion in an interface is not a nil related object.
	var related runtime.Object
	if older != nil {
		related = older
	}
	r.Recorder.Eventf(plv, related, corev1.EventTypeWarning, EventReasonVersionNotReady, eventActionProbe, "%s: %s", result.Reason, result.Message)
}

// probeClient returns the HTTP client probes use.
func (r *PluginVersionReconciler) probeClient() *http.Client {
	if r.httpClient != nil {
		return r.httpClient
	}
	if r.Options.HTTPClient != nil {
		return r.Options.HTTPClient
	}
	return http.DefaultClient
}

// SetupWithManager registers the reconciler with mgr. It watches
// PluginVersions, and re-reconciles the duplicates of a version when one of
// them appears or goes away, so that a Conflict clears when the older
// registration is deleted, and the versions naming a PluginServer when its
// availability changes. versions.SetupIndexes and retire.SetupIndexes must
// have run on mgr.
func (r *PluginVersionReconciler) SetupWithManager(mgr ctrl.Manager) error {
	r.httpClient = r.Options.HTTPClient
	if r.httpClient == nil {
		// No client-wide timeout: each probe carries the version's own.
		r.httpClient = &http.Client{Transport: http.DefaultTransport.(*http.Transport).Clone()}
	}
	concurrency := r.Options.MaxConcurrentProbes
	if concurrency <= 0 {
		concurrency = DefaultMaxConcurrentProbes
	}
	// Status writes bump no generation; skipping them keeps a probe from
	// triggering another probe of the same version.
	return ctrl.NewControllerManagedBy(mgr).
		For(&bkv1.PluginVersion{}, builder.WithPredicates(predicate.GenerationChangedPredicate{})).
		Watches(&bkv1.PluginVersion{},
			handler.EnqueueRequestsFromMapFunc(r.duplicatesOf),
			builder.WithPredicates(appearsOrGoes())).
		Watches(&bkv1.PluginServer{},
			handler.EnqueueRequestsFromMapFunc(r.versionsOfServer),
			builder.WithPredicates(availabilityChanged())).
		Named("pluginversion").
		WithOptions(controller.Options{MaxConcurrentReconciles: concurrency}).
		Complete(r)
}

// duplicatesOf maps a PluginVersion to the other PluginVersions of its
// plugin and version in its namespace.
func (r *PluginVersionReconciler) duplicatesOf(ctx context.Context, o client.Object) []reconcile.Request {
	plv, ok := o.(*bkv1.PluginVersion)
	if !ok {
		return nil
	}
	siblings, err := r.sameVersion(ctx, plv)
	if err != nil {
		logf.FromContext(ctx).Error(err, "cannot find the duplicates of a PluginVersion", "pluginVersion", client.ObjectKeyFromObject(plv))
		return nil
	}
	reqs := make([]reconcile.Request, 0, len(siblings))
	for _, s := range siblings {
		reqs = append(reqs, reconcile.Request{NamespacedName: types.NamespacedName{Namespace: s.Namespace, Name: s.Name}})
	}
	return reqs
}

// appearsOrGoes passes the events that can change which of a set of
// duplicates is oldest: creation, deletion and the start of a deletion
// held up by a finalizer.
func appearsOrGoes() predicate.Predicate {
	return predicate.Funcs{
		CreateFunc: func(event.CreateEvent) bool { return true },
		DeleteFunc: func(event.DeleteEvent) bool { return true },
		UpdateFunc: func(e event.UpdateEvent) bool {
			return e.ObjectOld.GetDeletionTimestamp().IsZero() != e.ObjectNew.GetDeletionTimestamp().IsZero()
		},
		GenericFunc: func(event.GenericEvent) bool { return false },
	}
}

// durationOr returns d, or def when d is not positive.
func durationOr(d, def time.Duration) time.Duration {
	if d > 0 {
		return d
	}
	return def
}
