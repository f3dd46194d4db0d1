//go:build envtest

// Package demo runs `make demo`'s program against freshly built binaries, so
// that the README's first command is held by the tests: every example
// plugin driven through the shim as a platform would, with the dev token.
package demo

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/bkplugin/bk-plugin-operator/test/stacktest"
)

func TestDemoPasses(t *testing.T) {
	if os.Getenv("KUBEBUILDER_ASSETS") == "" {
		t.Fatal("KUBEBUILDER_ASSETS is not set; run 'make test' so that the envtest binaries are provisioned")
	}
	bin := stacktest.Build(t, append(stacktest.StackPackages(), "hack/demo")...)
	cmd := exec.Command(filepath.Join(bin, "demo"), "--bin-dir", bin)
	cmd.Dir = stacktest.Root(t)
	done := make(chan struct{})
	var out []byte
	var err error
	go func() { out, err = cmd.CombinedOutput(); close(done) }()
	select {
	case <-done:
	case <-time.After(10 * time.Minute):
		_ = cmd.Process.Kill()
		<-done
		t.Fatalf("the demo did not end within 10 minutes:\n%s", out)
	}
	if err != nil || !strings.Contains(string(out), "DEMO PASSED") {
		t.Fatalf("the demo failed (%v):\n%s", err, out)
	}
}
