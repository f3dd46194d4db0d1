//go:build envtest

package shim_test

import (
	"path/filepath"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"

	"github.com/bkplugin/bk-plugin-operator/internal/archive"
)

// managerArchive is the history archive of the suite's manager, which
// archives finished invocations before deleting them: a SQLite file in a
// temporary folder, closed after the suite.
func managerArchive() archive.Archive {
	GinkgoHelper()
	a, err := archive.Open(suiteCtx, "sqlite://"+filepath.Join(GinkgoT().TempDir(), "history.db"), archive.Options{})
	Expect(err).NotTo(HaveOccurred())
	DeferCleanup(a.Close)
	return a
}
