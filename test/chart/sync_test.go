package chart

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"
)

// TestChartCopiesMatchConfig fails when a file the chart copies from
// config/ (the CRDs, the generated RBAC rules and webhook configuration,
// the alerts) differs from its
// source; `make chart-sync` (run by make manifests) copies them again.
func TestChartCopiesMatchConfig(t *testing.T) {
	pairs := map[string]string{
		"config/rbac/role.yaml":         "files/manager-role.yaml",
		"config/rbac/shim/role.yaml":    "files/shim-role.yaml",
		"config/prometheus/alerts.yaml": "files/alerts.yaml",
		"config/webhook/manifests.yaml": "files/webhook-manifests.yaml",
	}
	bases, err := filepath.Glob(repoPath("config/crd/bases/*.yaml"))
	if err != nil || len(bases) == 0 {
		t.Fatalf("no CRDs in config/crd/bases: %v", err)
	}
	for _, b := range bases {
		pairs[filepath.Join("config/crd/bases", filepath.Base(b))] = filepath.Join("crds", filepath.Base(b))
	}
	copies, _ := filepath.Glob(filepath.Join(chartDir, "crds", "*.yaml"))
	if len(copies) != len(bases) {
		t.Errorf("the chart has %d CRDs, config/crd/bases %d; run make chart-sync", len(copies), len(bases))
	}
	for src, dst := range pairs {
		want, err := os.ReadFile(repoPath(src))
		if err != nil {
			t.Fatal(err)
		}
		got, err := os.ReadFile(filepath.Join(chartDir, dst))
		if err != nil {
			t.Errorf("chart has no %s (copy of %s): run make chart-sync", dst, src)
			continue
		}
		if !bytes.Equal(got, want) {
			t.Errorf("chart's %s differs from %s: run make chart-sync", dst, src)
		}
	}
}
