//go:build envtest

package archive_test

import (
	"context"
	"os"
	"path/filepath"
	"testing"

	"github.com/bkplugin/bk-plugin-operator/internal/archive"
	"github.com/bkplugin/bk-plugin-operator/internal/archive/archivetest"
)

// pg is one PostgreSQL server for the whole test binary, started by the
// first test that needs it.
var pg archivetest.Shared

func TestMain(m *testing.M) {
	code := m.Run()
	if err := pg.Stop(); err != nil {
		code = 1
	}
	os.Exit(code)
}

// backend is one archive implementation under test.
type backend struct {
	name string
	// dsn returns the DSN of a fresh, empty database for t.
	dsn func(t testing.TB) string
}

// backends are both implementations: every behaviour is tested on each.
var backends = []backend{
	{"sqlite", func(t testing.TB) string { return "sqlite://" + filepath.Join(t.TempDir(), "history.db") }},
	{"postgres", pg.Database},
}

// forEachBackend runs test once per backend.
func forEachBackend(t *testing.T, test func(t *testing.T, be backend)) {
	for _, be := range backends {
		t.Run(be.name, func(t *testing.T) { test(t, be) })
	}
}

// open opens dsn with opts and closes it when t ends.
func open(t testing.TB, dsn string, opts archive.Options) archive.Archive {
	t.Helper()
	a, err := archive.Open(context.Background(), dsn, opts)
	if err != nil {
		t.Fatalf("Open(%s): %v", dsn, err)
	}
	t.Cleanup(func() {
		if err := a.Close(); err != nil {
			t.Errorf("Close: %v", err)
		}
	})
	return a
}
