//go:build envtest

package cli

import (
	"encoding/json"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/bkplugin/bk-plugin-operator/test/stacktest"
)

// cliToken is the bearer token the stack's shim requires in these tests.
const cliToken = "cli-test-token"

// stack is a running local stack and a bkplugin binary aimed at it.
type stack struct {
	t      *testing.T
	shim   string
	binDir string
	bin    string
}

// startStack builds bkplugin and the stack's binaries from this checkout,
// starts hack/localstack with the shim requiring cliToken, and stops it
// when the test ends.
func startStack(t *testing.T) *stack {
	t.Helper()
	if os.Getenv("KUBEBUILDER_ASSETS") == "" {
		t.Skip("KUBEBUILDER_ASSETS is unset; make test sets it (hack/setup-envtest.sh)")
	}
	if testing.Short() {
		t.Skip("starts the local stack; skipped with -short")
	}
	binDir := stacktest.Build(t, append(stacktest.StackPackages(), "cmd/bkplugin")...)
	tokenFile := filepath.Join(t.TempDir(), "tokens")
	if err := os.WriteFile(tokenFile, []byte("# bkplugin CLI tests\n"+cliToken+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	st := stacktest.Start(t, binDir, "--auth-token-file="+tokenFile)
	return &stack{t: t, shim: st.Shim, binDir: binDir, bin: filepath.Join(binDir, "bkplugin")}
}

// run runs bkplugin against the stack's shim with the token from the
// environment, as a user who exported BKPLUGIN_SERVER and BKPLUGIN_TOKEN.
func (s *stack) run(args ...string) result {
	s.t.Helper()
	return runCmd(s.t, "", []string{"BKPLUGIN_SERVER=" + s.shim, "BKPLUGIN_TOKEN=" + cliToken}, 3*time.Minute, s.bin, args...)
}

// ok runs bkplugin and fails the test unless it exits 0.
func (s *stack) ok(args ...string) result {
	s.t.Helper()
	r := s.run(args...)
	if r.code != 0 {
		s.t.Fatalf("bkplugin %s exited %d\nstdout:\n%s\nstderr:\n%s", strings.Join(args, " "), r.code, r.stdout, r.stderr)
	}
	return r
}

// invocation is the JSON the CLI prints for one invocation.
type invocation struct {
	TraceID       string          `json:"trace_id"`
	Plugin        string          `json:"plugin"`
	PluginVersion string          `json:"plugin_version"`
	State         int             `json:"state"`
	StateName     string          `json:"state_name"`
	Outputs       json.RawMessage `json:"outputs"`
	Err           string          `json:"err"`
	FinishAt      string          `json:"finish_at"`
}

func decode[T any](t *testing.T, r result) T {
	t.Helper()
	var v T
	if err := json.Unmarshal([]byte(r.stdout), &v); err != nil {
		t.Fatalf("stdout is not the JSON expected: %v\n%s\nstderr:\n%s", err, r.stdout, r.stderr)
	}
	return v
}

func outputs(t *testing.T, inv invocation) map[string]any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal(inv.Outputs, &m); err != nil {
		t.Fatalf("outputs %s: %v", inv.Outputs, err)
	}
	return m
}

// callbackToken is the token in a callback URL .../callback/{token}/.
func callbackToken(t *testing.T, callbackURL string) string {
	t.Helper()
	u, err := url.Parse(callbackURL)
	if err != nil {
		t.Fatal(err)
	}
	parts := strings.Split(strings.Trim(u.Path, "/"), "/")
	if len(parts) < 2 || parts[len(parts)-2] != "callback" {
		t.Fatalf("callback URL %q is not .../callback/{token}/", callbackURL)
	}
	return parts[len(parts)-1]
}
