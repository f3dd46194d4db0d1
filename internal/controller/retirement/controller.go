package retirement

import (
	"context"
	"fmt"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	"k8s.io/apimachinery/pkg/api/meta"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/tools/events"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/builder"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/controller/controllerutil"
	"sigs.k8s.io/controller-runtime/pkg/event"
	"sigs.k8s.io/controller-runtime/pkg/handler"
	logf "sigs.k8s.io/controller-runtime/pkg/log"
	"sigs.k8s.io/controller-runtime/pkg/predicate"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"

	bkv1 "github.com/bkplugin/bk-plugin-operator/api/v1alpha1"
	"github.com/bkplugin/bk-plugin-operator/internal/retire"
)

// DefaultGracePeriod bounds how long a deleted version waits for its live
// invocations when it sets no retireGracePeriodSeconds.
const DefaultGracePeriod = time.Hour

// Options configure the reconciler; zero values take the defaults.
type Options struct {
	// GracePeriod is the default of spec.retireGracePeriodSeconds.
	GracePeriod time.Duration
}

// Reconciler holds deleted PluginVersions while live invocations use them.
type Reconciler struct {
	client.Client
	// Recorder emits an event each time why a deletion waits changes.
	Recorder events.EventRecorder
	// Options tune the reconciler.
	Options Options
	// now is the clock; nil means time.Now.
	now func() time.Time
}

// +kubebuilder:rbac:groups=bkplugin.io,resources=pluginversions,verbs=get;list;watch;patch
// +kubebuilder:rbac:groups=bkplugin.io,resources=pluginversions/status,verbs=patch
// +kubebuilder:rbac:groups=bkplugin.io,resources=plugininvocations,verbs=get;list;watch
// +kubebuilder:rbac:groups=events.k8s.io,resources=events,verbs=create;patch

// Reconcile adds the finalizer to a live version, or decides whether a
// deleted one may go.
func (r *Reconciler) Reconcile(ctx context.Context, req ctrl.Request) (ctrl.Result, error) {
	// 1. Load the version.
	plv := &bkv1.PluginVersion{}
	if err := r.Get(ctx, req.NamespacedName, plv); err != nil {
		return ctrl.Result{}, client.IgnoreNotFound(err)
	}
	orig := plv.DeepCopy()

	// 2. A live version only needs the finalizer.
	if plv.DeletionTimestamp.IsZero() {
		if controllerutil.AddFinalizer(plv, bkv1.RetireFinalizer) {
			if err := r.Patch(ctx, plv, client.MergeFrom(orig)); client.IgnoreNotFound(err) != nil {
				return ctrl.Result{}, fmt.Errorf("add finalizer to PluginVersion %s: %w", req.NamespacedName, err)
			}
		}
		return ctrl.Result{}, nil
	}
	if !controllerutil.ContainsFinalizer(plv, bkv1.RetireFinalizer) {
		return ctrl.Result{}, nil
	}

	// 3. Gather the live invocations and decide.
	live, err := retire.LiveInvocations(ctx, r, plv)
	if err != nil {
		return ctrl.Result{}, err
	}
	grace := retire.GracePeriod(plv.Spec.RetireGracePeriodSeconds, r.gracePeriod())
	d := retire.Decide("PluginVersion", plv.Name, plv.DeletionTimestamp.Time, grace, live, r.clock())
	d.Condition.ObservedGeneration = plv.Generation

	// 4. Say why, once per change of reason or count.
	if meta.SetStatusCondition(&plv.Status.Conditions, d.Condition) {
		kind := corev1.EventTypeNormal
		if d.Condition.Reason != bkv1.RetireReasonUnused {
			kind = corev1.EventTypeWarning
		}
		if r.Recorder != nil {
			r.Recorder.Eventf(plv, nil, kind, d.Condition.Reason, "Retire", "%s", d.Condition.Message)
		}
		logf.FromContext(ctx).Info("PluginVersion retirement", "reason", d.Condition.Reason, "live", live)
	}
	if !d.Release {
		if !equality.Semantic.DeepEqual(orig.Status, plv.Status) {
			if err := r.Status().Patch(ctx, plv, client.MergeFrom(orig)); client.IgnoreNotFound(err) != nil {
				return ctrl.Result{}, fmt.Errorf("patch status of PluginVersion %s: %w", req.NamespacedName, err)
			}
		}
		return ctrl.Result{RequeueAfter: d.RequeueAfter}, nil
	}

	// 5. Release: the deletion completes.
	base := plv.DeepCopy()
	controllerutil.RemoveFinalizer(plv, bkv1.RetireFinalizer)
	if err := r.Patch(ctx, plv, client.MergeFrom(base)); client.IgnoreNotFound(err) != nil {
		return ctrl.Result{}, fmt.Errorf("remove finalizer of PluginVersion %s: %w", req.NamespacedName, err)
	}
	return ctrl.Result{}, nil
}

func (r *Reconciler) gracePeriod() time.Duration {
	if r.Options.GracePeriod > 0 {
		return r.Options.GracePeriod
	}
	return DefaultGracePeriod
}

func (r *Reconciler) clock() time.Time {
	if r.now != nil {
		return r.now()
	}
	return time.Now()
}

// SetupWithManager registers the reconciler with mgr. It watches versions
// appearing (to add the finalizer) and being deleted, and the invocations
// whose end can release one. retire.SetupIndexes must have run on mgr.
func (r *Reconciler) SetupWithManager(mgr ctrl.Manager) error {
	return ctrl.NewControllerManagedBy(mgr).
		For(&bkv1.PluginVersion{}, builder.WithPredicates(needsRetirementWork())).
		Watches(&bkv1.PluginInvocation{}, handler.EnqueueRequestsFromMapFunc(r.retiringVersionsOf),
			builder.WithPredicates(retire.Finished())).
		Named("pluginversion-retirement").
		Complete(r)
}

// needsRetirementWork passes version events this reconciler acts on: a
// version without the finalizer, and one being deleted.
func needsRetirementWork() predicate.Predicate {
	pass := func(o client.Object) bool {
		return !o.GetDeletionTimestamp().IsZero() || !controllerutil.ContainsFinalizer(o, bkv1.RetireFinalizer)
	}
	return predicate.Funcs{
		CreateFunc:  func(e event.CreateEvent) bool { return pass(e.Object) },
		UpdateFunc:  func(e event.UpdateEvent) bool { return pass(e.ObjectNew) },
		DeleteFunc:  func(event.DeleteEvent) bool { return false },
		GenericFunc: func(event.GenericEvent) bool { return false },
	}
}

// retiringVersionsOf maps a finished invocation to the versions being
// deleted that it ran.
func (r *Reconciler) retiringVersionsOf(ctx context.Context, o client.Object) []reconcile.Request {
	inv, ok := o.(*bkv1.PluginInvocation)
	if !ok {
		return nil
	}
	versions, err := retire.VersionsUsedBy(ctx, r, inv)
	if err != nil {
		logf.FromContext(ctx).Error(err, "cannot map an invocation to its versions", "invocation", client.ObjectKeyFromObject(inv))
		return nil
	}
	var reqs []reconcile.Request
	for _, plv := range versions {
		if !plv.DeletionTimestamp.IsZero() {
			reqs = append(reqs, reconcile.Request{NamespacedName: types.NamespacedName{Namespace: plv.Namespace, Name: plv.Name}})
		}
	}
	return reqs
}
