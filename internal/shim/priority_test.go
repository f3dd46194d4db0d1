package shim

import (
	"testing"

	bkv1 "github.com/bkplugin/bk-plugin-operator/api/v1alpha1"
	"github.com/bkplugin/bk-plugin-operator/sdk/stdapi"
)

// The SDK cannot import the API types, so its priority bounds are a copy:
// the shim must never accept a priority the CRD refuses.
func TestPriorityBoundsMatchTheCRD(t *testing.T) {
	if stdapi.MinPriority != bkv1.MinPriority || stdapi.MaxPriority != bkv1.MaxPriority {
		t.Errorf("stdapi priority bounds [%d, %d] differ from the CRD's [%d, %d]",
			stdapi.MinPriority, stdapi.MaxPriority, bkv1.MinPriority, bkv1.MaxPriority)
	}
}
