//go:build envtest

package panel

import (
	"testing"

	"github.com/bkplugin/bk-plugin-operator/test/stacktest"
)

// startStack builds the stack's binaries from this checkout and runs
// hack/localstack with the shim on a free port, as `make run-local` does,
// with shimArgs added to the shim's; it returns the shim's URL once the
// stack prints READY, and stops the stack when the test ends.
func startStack(t *testing.T, shimArgs ...string) (shim, token string) {
	t.Helper()
	st := stacktest.Start(t, stacktest.Build(t, stacktest.StackPackages()...), shimArgs...)
	return st.Shim, st.Token
}
