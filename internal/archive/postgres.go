package archive

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/jackc/pgx/v5/stdlib"
	"github.com/pressly/goose/v3"
	"github.com/pressly/goose/v3/lock"
)

// postgresLockID is the advisory lock that serialises migrations: "bkplugin"
// in ASCII, so that it does not collide with another goose user's default.
const postgresLockID int64 = 0x626b706c7567696e

// SQL of the PostgreSQL backend. pgx prepares each statement once per
// connection and caches it.
const (
	pgUpsert = "INSERT INTO " + invocationsTable + " (" + writeColumns + ") VALUES " +
		"($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19, now()) " +
		"ON CONFLICT (namespace, trace_id) DO UPDATE SET " + upsertSet
	pgDeleteLogs = "DELETE FROM " + logsTable + " WHERE namespace = $1 AND trace_id = $2"
	// pgInsertLogs numbers lines from $3.
	pgInsertLogs = "INSERT INTO " + logsTable + " (namespace, trace_id, line_no, line) " +
		"SELECT $1, $2, $3 + t.n - 1, t.line FROM unnest($4::text[]) WITH ORDINALITY AS t(line, n)"
	pgGet      = "SELECT " + recordColumns + " FROM " + invocationsTable + " WHERE namespace = $1 AND trace_id = $2"
	pgLockRow  = "SELECT 1 FROM " + invocationsTable + " WHERE namespace = $1 AND trace_id = $2 FOR UPDATE"
	pgLogCount = "SELECT (SELECT count(*) FROM " + logsTable + " WHERE namespace = $1 AND trace_id = $2), " +
		"EXISTS (SELECT 1 FROM " + invocationsTable + " WHERE namespace = $1 AND trace_id = $2)"
	pgLogLines = "SELECT line FROM " + logsTable + " WHERE namespace = $1 AND trace_id = $2 AND line_no >= $3 " +
		"ORDER BY line_no LIMIT $4"
	// pgDeleteOld skips rows a Put holds, so that retention never waits on
	// (nor blocks) archiving.
	pgDeleteOld = "DELETE FROM " + invocationsTable + " WHERE (namespace, trace_id) IN (" +
		"SELECT namespace, trace_id FROM " + invocationsTable + " WHERE finished_at < $1 " +
		"ORDER BY finished_at LIMIT $2 FOR UPDATE SKIP LOCKED)"
)

// pgArchive is the PostgreSQL backend.
type pgArchive struct {
	pool  *pgxpool.Pool
	batch *batcher
	opts  Options
}

// openPostgres connects, migrates and starts the Put writers.
func openPostgres(ctx context.Context, dsn string, opts Options) (*pgArchive, error) {
	cfg, err := pgxpool.ParseConfig(dsn)
	if err != nil {
		// pgx's message names the DSN with its password redacted.
		return nil, fmt.Errorf("%w: archive DSN: %v", ErrInvalid, err)
	}
	if err := migratePostgres(ctx, cfg); err != nil {
		return nil, err
	}
	if cfg.MaxConns < int32(opts.Writers)+2 {
		cfg.MaxConns = int32(opts.Writers) + 2
	}
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return nil, fmt.Errorf("connect to the archive at %s: %w", pgWhere(cfg), err)
	}
	a := &pgArchive{pool: pool, opts: opts}
	a.batch = newBatcher(opts.Writers, opts.MaxBatch, a.writeBatch, func(ctx context.Context, r Record) error {
		return a.writeBatch(ctx, []Record{r})
	})
	return a, nil
}

// pgWhere names the server for messages, never with the password.
func pgWhere(cfg *pgxpool.Config) string {
	return "postgres://" + cfg.ConnConfig.User + "@" + cfg.ConnConfig.Host + ":" +
		strconv.Itoa(int(cfg.ConnConfig.Port)) + "/" + cfg.ConnConfig.Database
}

// migratePostgres runs goose over a database/sql handle on the same
// configuration, holding the advisory lock.
func migratePostgres(ctx context.Context, cfg *pgxpool.Config) error {
	db := stdlib.OpenDB(*cfg.ConnConfig.Copy())
	defer db.Close()
	if err := db.PingContext(ctx); err != nil {
		return fmt.Errorf("connect to the archive at %s: %w", pgWhere(cfg), err)
	}
	// Poll the lock every second for up to ten minutes: a migration that
	// takes longer is stuck.
	locker, err := lock.NewPostgresSessionLocker(lock.WithLockID(postgresLockID), lock.WithLockTimeout(1, 600))
	if err != nil {
		return fmt.Errorf("archive migration lock: %w", err)
	}
	return migrate(ctx, db, goose.DialectPostgres, "postgres", goose.WithSessionLocker(locker))
}

// Put implements Archive.
func (a *pgArchive) Put(ctx context.Context, rec Record) error {
	if err := rec.Validate(); err != nil {
		return err
	}
	rec.normalize()
	return a.batch.put(ctx, rec)
}

// writeBatch upserts recs and replaces their logs in one transaction, sent
// as one pipelined batch.
func (a *pgArchive) writeBatch(ctx context.Context, recs []Record) error {
	b := &pgx.Batch{}
	for _, r := range recs {
		args, err := writeValues(r, pgTime)
		if err != nil {
			return err
		}
		b.Queue(pgUpsert, args...)
		b.Queue(pgDeleteLogs, r.Namespace, r.TraceID)
		if len(r.Logs) > 0 {
			b.Queue(pgInsertLogs, r.Namespace, r.TraceID, int64(0), r.Logs)
		}
	}
	err := pgx.BeginFunc(ctx, a.pool, func(tx pgx.Tx) error {
		return tx.SendBatch(ctx, b).Close()
	})
	if err != nil {
		return fmt.Errorf("archive %d invocations: %w", len(recs), err)
	}
	return nil
}

// pgTime is a time column's value: NULL for the zero time.
func pgTime(t time.Time) any {
	if t.IsZero() {
		return nil
	}
	return t
}

// Get implements Archive.
func (a *pgArchive) Get(ctx context.Context, key Key) (Record, error) {
	return getRecord(key, pgx.ErrNoRows, func() (Record, error) {
		return pgScan(a.pool.QueryRow(ctx, pgGet, key.Namespace, key.TraceID))
	})
}

// pgScan reads one row of recordColumns.
func pgScan(row scanner) (Record, error) {
	var s scanTarget
	var started *time.Time
	rec, err := s.scan(row, &s.rec.CreatedAt, &started, &s.rec.FinishedAt, &s.rec.ArchivedAt)
	if err != nil {
		return Record{}, err
	}
	rec.CreatedAt, rec.FinishedAt, rec.ArchivedAt = rec.CreatedAt.UTC(), rec.FinishedAt.UTC(), rec.ArchivedAt.UTC()
	if started != nil {
		rec.StartedAt = started.UTC()
	}
	return rec, nil
}

// List implements Archive.
func (a *pgArchive) List(ctx context.Context, opts ListOptions) (ListPage, error) {
	return listRecords(opts, sqlDialect{numbered: true}, func(query string, args []any) ([]Record, error) {
		rows, err := a.pool.Query(ctx, query, args...)
		if err != nil {
			return nil, err
		}
		defer rows.Close()
		return scanRecords(rows, pgScan)
	})
}

// AppendLogs implements Archive.
func (a *pgArchive) AppendLogs(ctx context.Context, key Key, from int64, lines []string) error {
	if err := checkAppend(key, from, lines); err != nil {
		return err
	}
	err := pgx.BeginFunc(ctx, a.pool, func(tx pgx.Tx) error {
		// Lock the invocation's row: appends to one invocation take turns.
		var one int
		if err := tx.QueryRow(ctx, pgLockRow, key.Namespace, key.TraceID).Scan(&one); err != nil {
			if errors.Is(err, pgx.ErrNoRows) {
				return fmt.Errorf("%w: %s", ErrNotFound, key)
			}
			return err
		}
		var stored int64
		var exists bool
		if err := tx.QueryRow(ctx, pgLogCount, key.Namespace, key.TraceID).Scan(&stored, &exists); err != nil {
			return err
		}
		skip, err := appendSkip(key, from, stored, len(lines))
		if err != nil || skip == len(lines) {
			return err
		}
		_, err = tx.Exec(ctx, pgInsertLogs, key.Namespace, key.TraceID, from+int64(skip), lines[skip:])
		return err
	})
	if err != nil && !errors.Is(err, ErrNotFound) && !errors.Is(err, ErrInvalid) {
		return fmt.Errorf("append log lines of %s to the archive: %w", key, err)
	}
	return err
}

// appendSkip returns how many of n lines numbered from `from` are already
// stored when `stored` lines are.
func appendSkip(key Key, from, stored int64, n int) (int, error) {
	if from > stored {
		return 0, fmt.Errorf("%w: %s: log lines from %d would leave a gap: %d lines are stored", ErrInvalid, key, from, stored)
	}
	return int(min(stored-from, int64(n))), nil
}

// Logs implements Archive.
func (a *pgArchive) Logs(ctx context.Context, key Key, offset, limit int) (LogPage, error) {
	limit, err := resolveLogPage(key, offset, limit)
	if err != nil {
		return LogPage{}, err
	}
	var total int64
	var exists bool
	if err := a.pool.QueryRow(ctx, pgLogCount, key.Namespace, key.TraceID).Scan(&total, &exists); err != nil {
		return LogPage{}, fmt.Errorf("read log lines of %s from the archive: %w", key, err)
	}
	page, more, err := logPageOf(key, offset, total, exists)
	if !more {
		return page, err
	}
	rows, err := a.pool.Query(ctx, pgLogLines, key.Namespace, key.TraceID, offset, limit)
	if err == nil {
		page.Lines, err = pgx.CollectRows(rows, pgx.RowTo[string])
	}
	if err != nil {
		return LogPage{}, fmt.Errorf("read log lines of %s from the archive: %w", key, err)
	}
	return page, nil
}

// DeleteFinishedBefore implements Archive.
func (a *pgArchive) DeleteFinishedBefore(ctx context.Context, cutoff time.Time) (int64, error) {
	return deleteInBatches(cutoff, a.opts.DeleteBatch, func() (int64, error) {
		tag, err := a.pool.Exec(ctx, pgDeleteOld, cutoff, a.opts.DeleteBatch)
		return tag.RowsAffected(), err
	})
}

// Ping implements Archive.
func (a *pgArchive) Ping(ctx context.Context) error {
	if err := a.pool.Ping(ctx); err != nil {
		return fmt.Errorf("ping the archive: %w", err)
	}
	return nil
}

// Close implements Archive.
func (a *pgArchive) Close() error {
	a.batch.close()
	a.pool.Close()
	return nil
}
