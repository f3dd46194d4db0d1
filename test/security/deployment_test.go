package security

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	"sigs.k8s.io/yaml"
)

// TestDeploymentsRunAsNonRoot checks that the manager and the shim run as
// non-root, with no privilege escalation, no capabilities and a read-only
// root filesystem, and take the callback key from a read-only Secret volume.
func TestDeploymentsRunAsNonRoot(t *testing.T) {
	for _, file := range []string{"config/manager/manager.yaml", "config/shim/deployment.yaml"} {
		t.Run(file, func(t *testing.T) {
			d := readDeployment(t, file)
			pod := d.Spec.Template.Spec
			if psc := pod.SecurityContext; psc == nil || psc.RunAsNonRoot == nil || !*psc.RunAsNonRoot {
				t.Errorf("%s: pod securityContext.runAsNonRoot is not true", file)
			}
			if len(pod.Containers) == 0 {
				t.Fatalf("%s: no containers", file)
			}
			for _, c := range pod.Containers {
				sc := c.SecurityContext
				switch {
				case sc == nil:
					t.Errorf("%s: container %s has no securityContext", file, c.Name)
					continue
				case sc.AllowPrivilegeEscalation == nil || *sc.AllowPrivilegeEscalation:
					t.Errorf("%s: container %s may escalate privileges", file, c.Name)
				case sc.ReadOnlyRootFilesystem == nil || !*sc.ReadOnlyRootFilesystem:
					t.Errorf("%s: container %s has a writable root filesystem", file, c.Name)
				case sc.Privileged != nil && *sc.Privileged:
					t.Errorf("%s: container %s is privileged", file, c.Name)
				case sc.Capabilities == nil || len(sc.Capabilities.Add) > 0 || !dropsAll(sc.Capabilities.Drop):
					t.Errorf("%s: container %s does not drop ALL capabilities (or adds some)", file, c.Name)
				}
				if !hasArg(c.Args, "--callback-key-file=") {
					t.Errorf("%s: container %s is not given --callback-key-file", file, c.Name)
				}
			}
			var secretVolume string
			for _, v := range pod.Volumes {
				if v.Secret != nil {
					secretVolume = v.Name
				}
			}
			if secretVolume == "" {
				t.Errorf("%s: the callback key is not mounted from a Secret", file)
			}
			for _, c := range pod.Containers {
				for _, m := range c.VolumeMounts {
					if m.Name == secretVolume && !m.ReadOnly {
						t.Errorf("%s: Secret volume %s is mounted writable in %s", file, m.Name, c.Name)
					}
				}
			}
		})
	}
}

// TestImageIsNonRoot checks that the Dockerfile's final stage is a nonroot
// base and sets a numeric non-zero user, so that runAsNonRoot can verify it.
func TestImageIsNonRoot(t *testing.T) {
	b, err := os.ReadFile(filepath.Join(repoRoot, "Dockerfile"))
	if err != nil {
		t.Fatal(err)
	}
	var lastFrom, user string
	for _, line := range strings.Split(string(b), "\n") {
		f := strings.Fields(line)
		switch {
		case len(f) >= 2 && strings.EqualFold(f[0], "FROM"):
			lastFrom, user = f[1], ""
		case len(f) >= 2 && strings.EqualFold(f[0], "USER"):
			user = f[1]
		}
	}
	if !strings.Contains(lastFrom, "nonroot") {
		t.Errorf("final stage FROM %s is not a nonroot base", lastFrom)
	}
	if !regexp.MustCompile(`^[1-9][0-9]*(:[1-9][0-9]*)?$`).MatchString(user) {
		t.Errorf("final stage USER %q is not a numeric non-root user (runAsNonRoot cannot check a name)", user)
	}
}

func readDeployment(t *testing.T, file string) *appsv1.Deployment {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(repoRoot, file))
	if err != nil {
		t.Fatal(err)
	}
	// The file may hold several documents; the Deployment is the one we want.
	for _, doc := range strings.Split(string(b), "\n---") {
		var d appsv1.Deployment
		if err := yaml.Unmarshal([]byte(doc), &d); err != nil {
			t.Fatalf("decode %s: %v", file, err)
		}
		if d.Kind == "Deployment" {
			return &d
		}
	}
	t.Fatalf("%s holds no Deployment", file)
	return nil
}

func dropsAll(caps []corev1.Capability) bool {
	for _, c := range caps {
		if c == "ALL" {
			return true
		}
	}
	return false
}

func hasArg(args []string, prefix string) bool {
	for _, a := range args {
		if strings.HasPrefix(a, prefix) {
			return true
		}
	}
	return false
}
