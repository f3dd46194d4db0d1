//go:build !unix

package archive

import (
	"context"
	"database/sql"
)

// fileLocker does not lock where flock is missing: there, two processes
// must not migrate the same SQLite file at the very same moment (SQLite is
// the single-process default; clusters use PostgreSQL, which locks).
type fileLocker struct{ path string }

// Lock does nothing.
func (*fileLocker) Lock(context.Context, *sql.DB) error { return nil }

// Unlock does nothing.
func (*fileLocker) Unlock(context.Context, *sql.DB) error { return nil }
