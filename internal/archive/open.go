package archive

import (
	"context"
	"fmt"
	"strings"
)

// Options tune an archive; the zero value is good for production.
type Options struct {
	// MaxBatch is the most Puts written in one transaction (default 256);
	// 1 writes each Put on its own.
	MaxBatch int
	// Writers is how many transactions of Puts run at once (default 4 on
	// PostgreSQL; always 1 on SQLite, which has one writer).
	Writers int
	// DeleteBatch is the most invocations one retention transaction
	// deletes (default 500).
	DeleteBatch int
}

// withDefaults fills the zero fields of o.
func (o Options) withDefaults() Options {
	if o.MaxBatch <= 0 {
		o.MaxBatch = 256
	}
	if o.Writers <= 0 {
		o.Writers = 4
	}
	if o.DeleteBatch <= 0 {
		o.DeleteBatch = 500
	}
	return o
}

// DefaultDSN is the archive both binaries use when given none: a SQLite
// file in the working directory, so that a manager and a shim started side
// by side on one machine share it. Clusters pass a PostgreSQL DSN.
const DefaultDSN = "sqlite:bkplugin-history.db"

// DSN schemes Open understands.
const (
	sqliteScheme    = "sqlite:"
	postgresScheme  = "postgres://"
	postgresqlSheme = "postgresql://"
	memoryPath      = ":memory:"
)

// Open connects to the archive named by dsn, brings its schema up to date
// and returns it:
//
//   - sqlite:///var/lib/bkplugin/history.db (an absolute path),
//     sqlite:history.db (relative to the working directory),
//     sqlite://:memory: (a private database that lives as long as the archive);
//   - postgres://user:password@host:5432/db?sslmode=verify-full (any libpq
//     URL that pgx accepts; postgresql:// too).
//
// Two processes may Open the same database at once: migrations run one
// after the other.
func Open(ctx context.Context, dsn string, opts Options) (Archive, error) {
	opts = opts.withDefaults()
	switch {
	case dsn == "":
		return nil, fmt.Errorf("%w: the archive DSN is empty; want sqlite:///path/file.db or postgres://user@host/db", ErrInvalid)
	case strings.HasPrefix(dsn, postgresScheme), strings.HasPrefix(dsn, postgresqlSheme):
		return openPostgres(ctx, dsn, opts)
	case strings.HasPrefix(dsn, sqliteScheme):
		path, err := sqlitePath(dsn)
		if err != nil {
			return nil, err
		}
		return openSQLite(ctx, path, opts)
	default:
		scheme, _, _ := strings.Cut(dsn, ":")
		return nil, fmt.Errorf("%w: archive DSN scheme %q is not supported; want sqlite:///path/file.db or postgres://user@host/db", ErrInvalid, scheme)
	}
}

// sqlitePath returns the file path of a sqlite DSN.
func sqlitePath(dsn string) (string, error) {
	rest := strings.TrimPrefix(dsn, sqliteScheme)
	// sqlite:///abs/path and sqlite://:memory: carry an empty or :memory:
	// authority; sqlite:rel/path carries none.
	if r, ok := strings.CutPrefix(rest, "//"); ok {
		rest = r
		if rest != "" && rest != memoryPath && !strings.HasPrefix(rest, "/") {
			return "", fmt.Errorf("%w: archive DSN %q names a host; write sqlite:///absolute/path.db or sqlite:relative/path.db", ErrInvalid, dsn)
		}
	}
	if strings.ContainsAny(rest, "?#") {
		return "", fmt.Errorf("%w: archive DSN %q has parameters; a sqlite DSN is only a path", ErrInvalid, dsn)
	}
	if rest == "" || strings.HasSuffix(rest, "/") {
		return "", fmt.Errorf("%w: archive DSN %q names no file", ErrInvalid, dsn)
	}
	return rest, nil
}
