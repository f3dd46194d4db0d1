package server

import (
	"context"
	"fmt"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	autoscalingv2 "k8s.io/api/autoscaling/v2"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/tools/events"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/builder"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/controller/controllerutil"
	"sigs.k8s.io/controller-runtime/pkg/handler"
	logf "sigs.k8s.io/controller-runtime/pkg/log"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"

	bkv1 "github.com/bkplugin/bk-plugin-operator/api/v1alpha1"
	"github.com/bkplugin/bk-plugin-operator/internal/retire"
	"github.com/bkplugin/bk-plugin-operator/internal/versions"
)

// Event reasons and action of the reconciler.
const (
	// EventReasonRollout (Normal): the Deployment was created or changed.
	EventReasonRollout = "Rollout"
	// EventReasonConflict (Warning): an object of the server's name belongs
	// to something else.
	EventReasonConflict = "ObjectConflict"
	eventAction         = "Reconcile"
)

// Reconciler runs PluginServers as Deployments behind Services.
type Reconciler struct {
	client.Client
	// Recorder emits rollout, conflict, availability and retirement events.
	Recorder events.EventRecorder
	// Options tune the reconciler; zero values take the defaults.
	Options Options
	// now is the clock; nil means time.Now.
	now func() time.Time
}

// +kubebuilder:rbac:groups=bkplugin.io,resources=pluginservers,verbs=get;list;watch;patch
// +kubebuilder:rbac:groups=bkplugin.io,resources=pluginservers/status,verbs=patch
// +kubebuilder:rbac:groups=bkplugin.io,resources=pluginservers/finalizers,verbs=update
// +kubebuilder:rbac:groups=bkplugin.io,resources=pluginversions,verbs=get;list;watch
// +kubebuilder:rbac:groups=bkplugin.io,resources=plugininvocations,verbs=get;list;watch
// +kubebuilder:rbac:groups=apps,resources=deployments,verbs=get;list;watch;create;update
// +kubebuilder:rbac:groups=core,resources=services,verbs=get;list;watch;create;update
// +kubebuilder:rbac:groups=autoscaling,resources=horizontalpodautoscalers,verbs=get;list;watch;create;update;delete
// +kubebuilder:rbac:groups=events.k8s.io,resources=events,verbs=create;patch

// Reconcile brings one PluginServer's owned objects to its spec and records
// what they report in its status.
func (r *Reconciler) Reconcile(ctx context.Context, req ctrl.Request) (ctrl.Result, error) {
	// 1. Load the server.
	srv := &bkv1.PluginServer{}
	if err := r.Get(ctx, req.NamespacedName, srv); err != nil {
		return ctrl.Result{}, client.IgnoreNotFound(err)
	}
	orig := srv.DeepCopy()

	// 2. A deleted server waits for the live invocations of its versions.
	if !srv.DeletionTimestamp.IsZero() {
		return r.reconcileDelete(ctx, srv, orig)
	}

	// 3. Hold every server with the finalizer before it runs anything.
	if controllerutil.AddFinalizer(srv, bkv1.RetireFinalizer) {
		if err := r.Patch(ctx, srv, client.MergeFrom(orig)); err != nil {
			return ctrl.Result{}, fmt.Errorf("add finalizer to PluginServer %s: %w", req.NamespacedName, err)
		}
		orig = srv.DeepCopy()
	}

	// 4. Apply the Deployment, Service and autoscaler; 5. write status once.
	obs, err := r.reconcileNormal(ctx, srv)
	if err != nil {
		return ctrl.Result{}, err
	}
	return ctrl.Result{}, r.writeStatus(ctx, srv, orig, obs)
}

// reconcileNormal applies the objects srv asks for and returns what the
// status decision needs.
func (r *Reconciler) reconcileNormal(ctx context.Context, srv *bkv1.PluginServer) (observed, error) {
	obs := observed{endpoint: endpoint(srv, r.Options.ClusterDomain)}
	hpa, _ := autoscaled(srv)

	dep, conflict, err := r.applyDeployment(ctx, srv, hpa)
	if err != nil || conflict != "" {
		obs.conflict = conflict
		return obs, err
	}
	obs.deployment = dep
	if conflict, err := r.applyService(ctx, srv); err != nil || conflict != "" {
		obs.conflict = conflict
		return obs, err
	}
	if conflict, err := r.applyHPA(ctx, srv); err != nil || conflict != "" {
		obs.conflict = conflict
		return obs, err
	}
	return obs, nil
}

// endpoint is the URL the versions naming srv call, as the version
// reconciler resolves it, so that status.endpoint cannot drift from it.
func endpoint(srv *bkv1.PluginServer, clusterDomain string) string {
	plv := &bkv1.PluginVersion{ObjectMeta: metav1.ObjectMeta{Namespace: srv.Namespace, Name: srv.Name}}
	plv.Spec.Endpoint.Server = &bkv1.ServerReference{Name: srv.Name}
	// A server endpoint always resolves: it names a Service and a port.
	u, _ := versions.EndpointURL(plv, clusterDomain, nil)
	return u
}

// applyDeployment creates or updates the server's Deployment. It returns a
// conflict instead when a Deployment of the name belongs to something else.
func (r *Reconciler) applyDeployment(ctx context.Context, srv *bkv1.PluginServer, hpa bool) (*appsv1.Deployment, string, error) {
	desired := desiredDeployment(srv)
	actual := &appsv1.Deployment{}
	created, conflict, err := r.getOrCreate(ctx, srv, desired, actual, "Deployment")
	if err != nil || conflict != "" || created {
		return desired, conflict, err
	}
	if !mergeDeployment(desired, actual, hpa) {
		return actual, "", nil
	}
	if err := r.Update(ctx, actual); err != nil {
		return nil, "", fmt.Errorf("update Deployment %s/%s: %w", actual.Namespace, actual.Name, err)
	}
	r.event(srv, corev1.EventTypeNormal, EventReasonRollout, "updated Deployment %s to spec %s", actual.Name, actual.Annotations[AnnotationSpecHash])
	return actual, "", nil
}

// applyService creates or updates the server's Service.
func (r *Reconciler) applyService(ctx context.Context, srv *bkv1.PluginServer) (string, error) {
	desired := desiredService(srv)
	actual := &corev1.Service{}
	created, conflict, err := r.getOrCreate(ctx, srv, desired, actual, "Service")
	if err != nil || conflict != "" || created {
		return conflict, err
	}
	if !mergeService(desired, actual) {
		return "", nil
	}
	if err := r.Update(ctx, actual); err != nil {
		return "", fmt.Errorf("update Service %s/%s: %w", actual.Namespace, actual.Name, err)
	}
	return "", nil
}

// applyHPA creates, updates or deletes the server's autoscaler.
func (r *Reconciler) applyHPA(ctx context.Context, srv *bkv1.PluginServer) (string, error) {
	desired := desiredHPA(srv)
	actual := &autoscalingv2.HorizontalPodAutoscaler{}
	if desired == nil {
		// Fixed replicas: remove an autoscaler this server made earlier.
		err := r.Get(ctx, client.ObjectKeyFromObject(srv), actual)
		if apierrors.IsNotFound(err) {
			return "", nil
		}
		if err != nil {
			return "", fmt.Errorf("get HorizontalPodAutoscaler %s/%s: %w", srv.Namespace, srv.Name, err)
		}
		if !controlledBy(actual, srv) {
			return "", nil
		}
		if err := r.Delete(ctx, actual); client.IgnoreNotFound(err) != nil {
			return "", fmt.Errorf("delete HorizontalPodAutoscaler %s/%s: %w", srv.Namespace, srv.Name, err)
		}
		return "", nil
	}
	created, conflict, err := r.getOrCreate(ctx, srv, desired, actual, "HorizontalPodAutoscaler")
	if err != nil || conflict != "" || created {
		return conflict, err
	}
	if !mergeHPA(desired, actual) {
		return "", nil
	}
	if err := r.Update(ctx, actual); err != nil {
		return "", fmt.Errorf("update HorizontalPodAutoscaler %s/%s: %w", actual.Namespace, actual.Name, err)
	}
	return "", nil
}

// getOrCreate reads the object of desired's name into actual, or creates
// desired owned by srv. It reports whether it created the object, or a
// conflict when the object exists and srv does not control it.
func (r *Reconciler) getOrCreate(ctx context.Context, srv *bkv1.PluginServer, desired, actual client.Object, kind string) (bool, string, error) {
	key := client.ObjectKeyFromObject(desired)
	err := r.Get(ctx, key, actual)
	switch {
	case err == nil:
		if !controlledBy(actual, srv) {
			return false, r.conflict(srv, kind, key), nil
		}
		return false, "", nil
	case !apierrors.IsNotFound(err):
		return false, "", fmt.Errorf("get %s %s: %w", kind, key, err)
	}
	if err := controllerutil.SetControllerReference(srv, desired, r.Scheme()); err != nil {
		return false, "", fmt.Errorf("own %s %s: %w", kind, key, err)
	}
	if err := r.Create(ctx, desired); err != nil {
		if apierrors.IsAlreadyExists(err) {
			// The cache may hold only the operator's own objects; an
			// object it cannot see belongs to someone else.
			return false, r.conflict(srv, kind, key), nil
		}
		return false, "", fmt.Errorf("create %s %s: %w", kind, key, err)
	}
	if kind == "Deployment" {
		r.event(srv, corev1.EventTypeNormal, EventReasonRollout, "created Deployment %s", key.Name)
	}
	return true, "", nil
}

// conflict words a conflict with an object the server does not own, and
// tells people once per reconcile.
func (r *Reconciler) conflict(srv *bkv1.PluginServer, kind string, key types.NamespacedName) string {
	msg := fmt.Sprintf("%s %s", kind, key.Name)
	r.event(srv, corev1.EventTypeWarning, EventReasonConflict, "%s exists and is not owned by this PluginServer; the operator never adopts it", msg)
	return msg
}

// writeStatus decides the status from obs and patches it when it changed:
// the one place that writes a server's status outside deletion.
func (r *Reconciler) writeStatus(ctx context.Context, srv, orig *bkv1.PluginServer, obs observed) error {
	available, progressing := conditions(srv, obs)
	meta.SetStatusCondition(&srv.Status.Conditions, available)
	meta.SetStatusCondition(&srv.Status.Conditions, progressing)
	replicaCounts(&srv.Status, obs.deployment)
	srv.Status.Endpoint = obs.endpoint
	srv.Status.ObservedGeneration = srv.Generation
	if err := r.patchStatus(ctx, srv, orig); err != nil {
		return err
	}
	before := meta.FindStatusCondition(orig.Status.Conditions, bkv1.ConditionAvailable)
	if before == nil || before.Status != available.Status || before.Reason != available.Reason {
		kind := corev1.EventTypeNormal
		if available.Status != "True" {
			kind = corev1.EventTypeWarning
		}
		r.event(srv, kind, available.Reason, "%s", available.Message)
		logf.FromContext(ctx).Info("PluginServer availability changed", "available", available.Status, "reason", available.Reason)
	}
	return nil
}

// reconcileDelete holds a deleted server while live invocations of the
// versions it serves run, and releases it when they finish or the grace
// period passes. The owned objects keep serving meanwhile; the garbage
// collector removes them once the server is gone.
func (r *Reconciler) reconcileDelete(ctx context.Context, srv, orig *bkv1.PluginServer) (ctrl.Result, error) {
	if !controllerutil.ContainsFinalizer(srv, bkv1.RetireFinalizer) {
		return ctrl.Result{}, nil
	}
	live, err := retire.ServerInvocations(ctx, r, srv.Namespace, srv.Name)
	if err != nil {
		return ctrl.Result{}, err
	}
	grace := retire.GracePeriod(srv.Spec.RetireGracePeriodSeconds, r.Options.retireGracePeriod())
	d := retire.Decide("PluginServer", srv.Name, srv.DeletionTimestamp.Time, grace, live, r.clock())
	d.Condition.ObservedGeneration = srv.Generation
	changed := meta.SetStatusCondition(&srv.Status.Conditions, d.Condition)
	if changed {
		kind := corev1.EventTypeNormal
		if d.Condition.Reason != bkv1.RetireReasonUnused {
			kind = corev1.EventTypeWarning
		}
		r.event(srv, kind, d.Condition.Reason, "%s", d.Condition.Message)
	}
	if !d.Release {
		if err := r.patchStatus(ctx, srv, orig); err != nil {
			return ctrl.Result{}, err
		}
		return ctrl.Result{RequeueAfter: d.RequeueAfter}, nil
	}
	patchBase := srv.DeepCopy()
	controllerutil.RemoveFinalizer(srv, bkv1.RetireFinalizer)
	if err := r.Patch(ctx, srv, client.MergeFrom(patchBase)); client.IgnoreNotFound(err) != nil {
		return ctrl.Result{}, fmt.Errorf("remove finalizer of PluginServer %s/%s: %w", srv.Namespace, srv.Name, err)
	}
	return ctrl.Result{}, nil
}

// patchStatus patches srv's status when it differs from orig's.
func (r *Reconciler) patchStatus(ctx context.Context, srv, orig *bkv1.PluginServer) error {
	if equality.Semantic.DeepEqual(orig.Status, srv.Status) {
		return nil
	}
	if err := r.Status().Patch(ctx, srv, client.MergeFrom(orig)); client.IgnoreNotFound(err) != nil {
		return fmt.Errorf("patch status of PluginServer %s/%s: %w", srv.Namespace, srv.Name, err)
	}
	return nil
}

func (r *Reconciler) event(srv *bkv1.PluginServer, kind, reason, format string, args ...any) {
	if r.Recorder != nil {
		r.Recorder.Eventf(srv, nil, kind, reason, eventAction, format, args...)
	}
}

func (r *Reconciler) clock() time.Time {
	if r.now != nil {
		return r.now()
	}
	return time.Now()
}

// SetupWithManager registers the reconciler with mgr: it watches
// PluginServers, the objects they own, and the invocations whose end can
// release a server being deleted. retire.SetupIndexes must have run on mgr.
func (r *Reconciler) SetupWithManager(mgr ctrl.Manager) error {
	return ctrl.NewControllerManagedBy(mgr).
		For(&bkv1.PluginServer{}).
		Owns(&appsv1.Deployment{}).
		Owns(&corev1.Service{}).
		Owns(&autoscalingv2.HorizontalPodAutoscaler{}).
		Watches(&bkv1.PluginInvocation{}, handler.EnqueueRequestsFromMapFunc(r.retiringServersOf),
			builder.WithPredicates(retire.Finished())).
		Named("pluginserver").
		Complete(r)
}

// retiringServersOf maps a finished invocation to the servers being deleted
// that serve its version.
func (r *Reconciler) retiringServersOf(ctx context.Context, o client.Object) []reconcile.Request {
	inv, ok := o.(*bkv1.PluginInvocation)
	if !ok {
		return nil
	}
	versions, err := retire.VersionsUsedBy(ctx, r, inv)
	if err != nil {
		logf.FromContext(ctx).Error(err, "cannot map an invocation to its servers", "invocation", client.ObjectKeyFromObject(inv))
		return nil
	}
	var reqs []reconcile.Request
	for _, plv := range versions {
		if plv.Spec.Endpoint.Server == nil {
			continue
		}
		key := types.NamespacedName{Namespace: plv.Namespace, Name: plv.Spec.Endpoint.Server.Name}
		srv := &bkv1.PluginServer{}
		if err := r.Get(ctx, key, srv); err != nil || srv.DeletionTimestamp.IsZero() {
			continue
		}
		reqs = append(reqs, reconcile.Request{NamespacedName: key})
	}
	return reqs
}
