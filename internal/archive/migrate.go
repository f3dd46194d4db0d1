package archive

import (
	"context"
	"database/sql"
	"embed"
	"fmt"
	"io/fs"

	"github.com/pressly/goose/v3"
)

// migrations holds the schema of each backend, one goose SQL file per step.
//
//go:embed migrations/postgres/*.sql migrations/sqlite/*.sql
var migrations embed.FS

// schemaTable is goose's version table: named after us, so that the archive
// can share a database with other applications.
const schemaTable = "bkplugin_archive_schema"

// migrate brings db to the newest schema of dialect. lockOpt serialises
// processes that migrate the same database at once.
func migrate(ctx context.Context, db *sql.DB, dialect goose.Dialect, dir string, lockOpt goose.ProviderOption) error {
	fsys, err := fs.Sub(migrations, "migrations/"+dir)
	if err != nil {
		return fmt.Errorf("archive migrations for %s: %w", dir, err)
	}
	opts := []goose.ProviderOption{goose.WithTableName(schemaTable), goose.WithDisableGlobalRegistry(true)}
	if lockOpt != nil {
		opts = append(opts, lockOpt)
	}
	p, err := goose.NewProvider(dialect, db, fsys, opts...)
	if err != nil {
		return fmt.Errorf("archive migrations for %s: %w", dir, err)
	}
	if _, err := p.Up(ctx); err != nil {
		return fmt.Errorf("migrate the archive's %s schema: %w", dir, err)
	}
	return nil
}
