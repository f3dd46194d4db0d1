package webhook

import (
	"context"
	"fmt"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/util/validation/field"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/webhook/admission"

	bkv1 "github.com/bkplugin/bk-plugin-operator/api/v1alpha1"
	"github.com/bkplugin/bk-plugin-operator/internal/versions"
)

// PluginVersionValidator refuses registrations that would break callers.
// It is an admission.Validator for PluginVersions.
type PluginVersionValidator struct {
	// Reader lists the plugin's other versions. It should read the API
	// server directly (the manager's APIReader): a version created a moment
	// ago must count as the previous one.
	Reader client.Reader
}

// The webhook's configuration, written by controller-gen to
// config/webhook/manifests.yaml. failurePolicy=Fail: a registration the
// webhook could not judge is refused rather than let through unchecked,
// as the webhook is only installed where it is meant to be enforced.
//
// +kubebuilder:webhook:path=/validate-bkplugin-io-v1alpha1-pluginversion,mutating=false,failurePolicy=fail,sideEffects=None,groups=bkplugin.io,resources=pluginversions,verbs=create;update,versions=v1alpha1,name=vpluginversion-v1alpha1.bkplugin.io,admissionReviewVersions=v1

// SetupWithManager serves the validator on mgr's webhook server, at the
// path of the marker above.
func (v *PluginVersionValidator) SetupWithManager(mgr ctrl.Manager) error {
	if v.Reader == nil {
		v.Reader = mgr.GetAPIReader()
	}
	return ctrl.NewWebhookManagedBy(mgr, &bkv1.PluginVersion{}).WithValidator(v).Complete()
}

// ValidateCreate refuses a version that breaks the callers of the previous
// version of its major.
func (v *PluginVersionValidator) ValidateCreate(ctx context.Context, plv *bkv1.PluginVersion) (admission.Warnings, error) {
	return v.checkPrevious(ctx, plv)
}

// ValidateUpdate refuses a change to the contract of a served version, and
// a contract change of a version not served yet that breaks the callers of
// the previous version of its major. Changes elsewhere (description,
// operational fields, metadata) always pass.
func (v *PluginVersionValidator) ValidateUpdate(ctx context.Context, old, plv *bkv1.PluginVersion) (admission.Warnings, error) {
	changes := contractChanges(&old.Spec, &plv.Spec)
	if len(changes) == 0 {
		return nil, nil
	}
	if old.Status.ServedSince != nil {
		return nil, invalid(plv, changes)
	}
	return v.checkPrevious(ctx, plv)
}

// ValidateDelete lets every deletion through: retiring a version is the
// retirement reconciler's business.
func (v *PluginVersionValidator) ValidateDelete(context.Context, *bkv1.PluginVersion) (admission.Warnings, error) {
	return nil, nil
}

// checkPrevious compares plv with the version it replaces
// (versions.Previous) and refuses it, listing the findings, when it breaks
// that version's callers.
func (v *PluginVersionValidator) checkPrevious(ctx context.Context, plv *bkv1.PluginVersion) (admission.Warnings, error) {
	var list bkv1.PluginVersionList
	if err := v.Reader.List(ctx, &list, client.InNamespace(plv.Namespace)); err != nil {
		return nil, apierrors.NewInternalError(fmt.Errorf("list the PluginVersions of namespace %s: %w", plv.Namespace, err))
	}
	prev := versions.Previous(list.Items, plv)
	report, err := versions.CheckPrevious(prev, plv)
	if err != nil {
		return nil, invalid(plv, field.ErrorList{field.Invalid(field.NewPath("spec"), plv.Spec.Version,
			fmt.Sprintf("cannot compare with %s %s: %v", prev.Spec.Plugin, prev.Spec.Version, err))})
	}
	if !report.Compatible() {
		return nil, invalid(plv, breakingErrors(prev, report))
	}
	return nil, nil
}

// invalid is the API server's 422 answer listing errs.
func invalid(plv *bkv1.PluginVersion, errs field.ErrorList) error {
	return apierrors.NewInvalid(bkv1.GroupVersion.WithKind("PluginVersion").GroupKind(), plv.Name, errs)
}
