package version

import (
	"context"
	"fmt"
	"net/http"
	"time"

	"k8s.io/apimachinery/pkg/api/equality"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
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
	"sigs.k8s.io/controller-runtime/pkg/source"

	bkv1 "github.com/bkplugin/bk-plugin-operator/api/v1alpha1"
	"github.com/bkplugin/bk-plugin-operator/internal/canary"
	"github.com/bkplugin/bk-plugin-operator/internal/versions"
	"github.com/bkplugin/bk-plugin-operator/sdk/taskjson"
)

// Defaults of Options.
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

// Reconciler keeps each PluginVersion's Ready condition true to
// what its plugin pod serves: it resolves the endpoint, refuses duplicates of
// an older registration, and probes the pod's detail of the version.
type Reconciler struct {
	client.Client
	// Recorder emits an event each time a version becomes Ready or not Ready.
	Recorder events.EventRecorder
	// Options tune the probes; zero values take the defaults.
	Options Options

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
func (r *Reconciler) Reconcile(ctx context.Context, req ctrl.Request) (ctrl.Result, error) {
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
	obs, err := r.observe(ctx, plv)
	if err != nil {
		return ctrl.Result{}, err
	}

	// 5. Decide the new status and persist it, once, when it changed.
	plv.Status = versionStatus(plv, obs, time.Now())
	if !equality.Semantic.DeepEqual(orig.Status, plv.Status) {
		if err := r.Status().Patch(ctx, plv, client.MergeFrom(orig)); err != nil {
			if apierrors.IsNotFound(err) {
				return ctrl.Result{}, nil
			}
			return ctrl.Result{}, fmt.Errorf("patch status of PluginVersion %s: %w", req.NamespacedName, err)
		}
	}

	// 6. Tell people when readiness, or the reason for its absence, changes.
	if ev, ok := readinessEvent(orig.Status.Conditions, obs); ok {
		r.emit(plv, ev)
		log.Info("PluginVersion readiness changed", "ready", obs.result.ready(), "reason", obs.result.Reason, "message", obs.result.Message)
	}
	if ev, ok := compatibilityEvent(orig.Status.Conditions, compatibleCondition(plv, obs.compat)); ok {
		r.emit(plv, ev)
	}
	if ev, ok := canaryEvent(orig.Status.Canary, plv.Status.Canary); ok {
		r.emit(plv, ev)
		log.Info("canary rolled back", "why", ev.note)
	}

	// 7. Probe again: a Ready version at the probe interval, a version that
	// is not Ready with backoff, a duplicate when the watch says so; an
	// Active canary is judged more often than that.
	after := nextProbe(plv, r.Options, time.Now())
	if c := nextCanaryCheck(plv, r.Options); c > 0 && (after == 0 || c < after) {
		after = c
	}
	return ctrl.Result{RequeueAfter: after}, nil
}

// observe gathers what plv's status is decided from: the version it
// replaces and what breaks its callers, the canary's outcomes, its
// endpoint, the problems of its task.json description, an older duplicate
// and, when none of those rules the probe out, what its plugin pod serves.
func (r *Reconciler) observe(ctx context.Context, plv *bkv1.PluginVersion) (versionObservation, error) {
	all, err := r.pluginVersions(ctx, plv)
	if err != nil {
		return versionObservation{}, err
	}
	// Compatibility and the canary's counts are judged whatever the probe
	// finds: a range must skip a breaking version even while it is down.
	var obs versionObservation
	prev := versions.Previous(all, plv)
	report, cerr := versions.CheckPrevious(prev, plv)
	obs.compat = compatibility{previous: prev, report: report, err: cerr}
	now := time.Now()
	if w := canaryWindow(plv, now); w > 0 {
		obs.outcomes = r.Options.Outcomes.Count(canary.Key{Namespace: plv.Namespace, Plugin: plv.Spec.Plugin, Version: plv.Spec.Version}, w, now)
	}

	base, err := versions.EndpointURL(plv, r.Options.ClusterDomain, r.Options.ResolveService)
	if err != nil {
		obs.result = probeResult{bkv1.VersionReasonInvalidEndpoint, err.Error()}
		return obs, nil
	}
	obs.endpoint = base
	// What the CRD's CEL rules cannot see (a rely with both value and
	// regex, a rely on an unknown field, a cycle) would fail every
	// invocation; say so here, naming the field.
	if err := taskjson.Check(plv.Spec.TaskJSON); err != nil {
		obs.result = probeResult{bkv1.VersionReasonInvalidDescription, "spec.taskJSON: " + err.Error()}
		return obs, nil
	}
	if obs.older = oldestOlder(sameVersion(all, plv), plv); obs.older != nil {
		obs.result = conflictResult(plv, obs.older)
		return obs, nil
	}
	if plv.Spec.Endpoint.Server != nil {
		srv, err := r.server(ctx, plv)
		if err != nil {
			return versionObservation{}, err
		}
		if res, ok := serverGate(plv, srv); !ok {
			obs.result = res
			return obs, nil
		}
	}
	obs.result = probeDetail(ctx, r.probeClient(), base, plv, probeTimeout(plv))
	return obs, nil
}

// pluginVersions lists the PluginVersions of plv's plugin in its
// namespace, plv included, from the cache's index.
func (r *Reconciler) pluginVersions(ctx context.Context, plv *bkv1.PluginVersion) ([]bkv1.PluginVersion, error) {
	var list bkv1.PluginVersionList
	if err := r.List(ctx, &list, client.InNamespace(plv.Namespace),
		client.MatchingFields{versions.IndexPluginVersionPlugin: plv.Spec.Plugin}); err != nil {
		return nil, fmt.Errorf("list PluginVersions of plugin %s in namespace %s: %w", plv.Spec.Plugin, plv.Namespace, err)
	}
	return list.Items, nil
}

// sameVersion returns the PluginVersions of all other than plv with plv's
// plugin and version.
func sameVersion(all []bkv1.PluginVersion, plv *bkv1.PluginVersion) []bkv1.PluginVersion {
	var out []bkv1.PluginVersion
	for _, s := range all {
		if s.Spec.Plugin == plv.Spec.Plugin && s.Spec.Version == plv.Spec.Version && s.Name != plv.Name {
			out = append(out, s)
		}
	}
	return out
}

// emit records the event readinessEvent decided.
func (r *Reconciler) emit(plv *bkv1.PluginVersion, ev versionEvent) {
	if r.Recorder == nil {
		return
	}
	// A nil *PluginVersion in an interface is not a nil related object.
	var related runtime.Object
	if ev.related != nil {
		related = ev.related
	}
	r.Recorder.Eventf(plv, related, ev.eventType, ev.reason, eventActionProbe, "%s", ev.note)
}

// probeClient returns the HTTP client probes use.
func (r *Reconciler) probeClient() *http.Client {
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
func (r *Reconciler) SetupWithManager(mgr ctrl.Manager) error {
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
	b := ctrl.NewControllerManagedBy(mgr).
		For(&bkv1.PluginVersion{}, builder.WithPredicates(predicate.GenerationChangedPredicate{})).
		Watches(&bkv1.PluginVersion{},
			handler.EnqueueRequestsFromMapFunc(r.othersOf),
			builder.WithPredicates(appearsGoesOrFlips())).
		Watches(&bkv1.PluginServer{},
			handler.EnqueueRequestsFromMapFunc(r.versionsOfServer),
			builder.WithPredicates(availabilityChanged())).
		Named("pluginversion").
		WithOptions(controller.Options{MaxConcurrentReconciles: concurrency})
	if r.Options.Reprobe != nil {
		// A reprobe request reconciles the version now; the reconcile
		// probes it like any other, and the queue folds a burst of requests
		// into one probe.
		b = b.WatchesRawSource(source.Channel(r.Options.Reprobe.Events(), &handler.TypedEnqueueRequestForObject[*bkv1.PluginVersion]{}))
	}
	return b.Complete(r)
}

// othersOf maps a PluginVersion to the other PluginVersions of its plugin
// in its namespace: its duplicates (which of them is oldest may change)
// and the versions above it (which one each replaces may change).
func (r *Reconciler) othersOf(ctx context.Context, o client.Object) []reconcile.Request {
	plv, ok := o.(*bkv1.PluginVersion)
	if !ok {
		return nil
	}
	all, err := r.pluginVersions(ctx, plv)
	if err != nil {
		logf.FromContext(ctx).Error(err, "cannot find the other versions of a PluginVersion's plugin", "pluginVersion", client.ObjectKeyFromObject(plv))
		return nil
	}
	reqs := make([]reconcile.Request, 0, len(all))
	for _, s := range all {
		if s.Name != plv.Name {
			reqs = append(reqs, reconcile.Request{NamespacedName: types.NamespacedName{Namespace: s.Namespace, Name: s.Name}})
		}
	}
	return reqs
}

// appearsGoesOrFlips passes the events that can change which of a set of
// duplicates is oldest, or which version another replaces: creation,
// deletion, the start of a deletion held up by a finalizer, a spec change
// (the contract a later version is compared with) and a Compatible
// condition that flips (a breaking version is not replaced).
func appearsGoesOrFlips() predicate.Predicate {
	return predicate.Funcs{
		CreateFunc: func(event.CreateEvent) bool { return true },
		DeleteFunc: func(event.DeleteEvent) bool { return true },
		UpdateFunc: func(e event.UpdateEvent) bool {
			if e.ObjectOld.GetDeletionTimestamp().IsZero() != e.ObjectNew.GetDeletionTimestamp().IsZero() ||
				e.ObjectOld.GetGeneration() != e.ObjectNew.GetGeneration() {
				return true
			}
			o, ok1 := e.ObjectOld.(*bkv1.PluginVersion)
			n, ok2 := e.ObjectNew.(*bkv1.PluginVersion)
			return ok1 && ok2 && versions.Incompatible(o) != versions.Incompatible(n)
		},
		GenericFunc: func(event.GenericEvent) bool { return false },
	}
}
