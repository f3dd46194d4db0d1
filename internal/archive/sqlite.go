package archive

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/pressly/goose/v3"
	_ "modernc.org/sqlite" // the pure-Go SQLite driver, "sqlite"
)

// SQLite connection parameters (modernc.org/sqlite). WAL lets readers run
// beside the writer; synchronous=FULL makes a committed Put survive a power
// cut, which batching keeps cheap; foreign keys make deleting an invocation
// delete its log lines; BEGIN IMMEDIATE takes the write lock at the start
// of a transaction, so that two processes never deadlock upgrading a read.
const (
	sqliteWriterParams = "?_busy_timeout=10000&_journal_mode=WAL&_synchronous=FULL&_foreign_keys=1&_txlock=immediate"
	sqliteReaderParams = "?_busy_timeout=10000&_foreign_keys=1&_query_only=1"
	sqliteReaders      = 4
)

// SQL of the SQLite backend, prepared once on the writer's connection.
const (
	sqliteUpsert = "INSERT INTO " + invocationsTable + " (" + writeColumns + ") VALUES " +
		"(?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) " +
		"ON CONFLICT (namespace, trace_id) DO UPDATE SET " + upsertSet
	sqliteDeleteLogs = "DELETE FROM " + logsTable + " WHERE namespace = ? AND trace_id = ?"
	sqliteInsertLog  = "INSERT INTO " + logsTable + " (namespace, trace_id, line_no, line) VALUES (?, ?, ?, ?)"
	sqliteGet        = "SELECT " + recordColumns + " FROM " + invocationsTable + " WHERE namespace = ? AND trace_id = ?"
	sqliteLogCount   = "SELECT (SELECT count(*) FROM " + logsTable + " WHERE namespace = ?1 AND trace_id = ?2), " +
		"EXISTS (SELECT 1 FROM " + invocationsTable + " WHERE namespace = ?1 AND trace_id = ?2)"
	sqliteLogLines = "SELECT line FROM " + logsTable + " WHERE namespace = ? AND trace_id = ? AND line_no >= ? " +
		"ORDER BY line_no LIMIT ?"
	sqliteDeleteOld = "DELETE FROM " + invocationsTable + " WHERE rowid IN (" +
		"SELECT rowid FROM " + invocationsTable + " WHERE finished_at < ? ORDER BY finished_at LIMIT ?)"
)

// sqliteArchive is the SQLite backend: one writer connection (SQLite has
// one writer at a time) and a pool of readers.
type sqliteArchive struct {
	writer, reader *sql.DB
	upsert         *sql.Stmt
	deleteLogs     *sql.Stmt
	insertLog      *sql.Stmt
	// get is prepared on the readers (each connection prepares it once):
	// a schedule of a finished invocation is a Get, and the pure-Go SQLite
	// parsed and planned its SQL again for every read.
	get   *sql.Stmt
	batch *batcher
	opts  Options
}

// openSQLite opens (creating if needed) the database file at path,
// migrates it and starts the Put writer.
func openSQLite(ctx context.Context, path string, opts Options) (_ *sqliteArchive, err error) {
	memory := path == memoryPath
	writer, err := sql.Open("sqlite", path+sqliteWriterParams)
	if err != nil {
		return nil, fmt.Errorf("open the archive %s: %w", path, err)
	}
	a := &sqliteArchive{writer: writer, reader: writer, opts: opts}
	defer func() {
		if err != nil {
			a.closeDBs()
		}
	}()
	// One connection: SQLite serialises writers anyway, and a :memory:
	// database lives in its connection.
	writer.SetMaxOpenConns(1)
	writer.SetMaxIdleConns(1)
	writer.SetConnMaxLifetime(0)
	writer.SetConnMaxIdleTime(0)
	if err := writer.PingContext(ctx); err != nil {
		return nil, fmt.Errorf("open the archive %s: %w", path, err)
	}
	var lockOpt goose.ProviderOption
	if !memory {
		lockOpt = goose.WithLocker(&fileLocker{path: path + ".migrate-lock"})
	}
	if err := migrate(ctx, writer, goose.DialectSQLite3, "sqlite", lockOpt); err != nil {
		return nil, fmt.Errorf("archive %s: %w", path, err)
	}
	if !memory {
		a.reader, err = sql.Open("sqlite", path+sqliteReaderParams)
		if err != nil {
			return nil, fmt.Errorf("open the archive %s: %w", path, err)
		}
		a.reader.SetMaxOpenConns(sqliteReaders)
		a.reader.SetMaxIdleConns(sqliteReaders)
	}
	for _, p := range []struct {
		stmt **sql.Stmt
		sql  string
	}{{&a.upsert, sqliteUpsert}, {&a.deleteLogs, sqliteDeleteLogs}, {&a.insertLog, sqliteInsertLog}} {
		if *p.stmt, err = writer.PrepareContext(ctx, p.sql); err != nil {
			return nil, fmt.Errorf("archive %s: prepare: %w", path, err)
		}
	}
	if a.get, err = a.reader.PrepareContext(ctx, sqliteGet); err != nil {
		return nil, fmt.Errorf("archive %s: prepare: %w", path, err)
	}
	a.batch = newBatcher(1, opts.MaxBatch, a.writeBatch, func(ctx context.Context, r Record) error {
		return a.writeBatch(ctx, []Record{r})
	})
	return a, nil
}

// closeDBs closes the database handles.
func (a *sqliteArchive) closeDBs() {
	if a.reader != a.writer && a.reader != nil {
		_ = a.reader.Close()
	}
	_ = a.writer.Close()
}

// sqliteTime is a time column's value: unix microseconds, NULL for the zero time.
func sqliteTime(t time.Time) any {
	if t.IsZero() {
		return nil
	}
	return t.UnixMicro()
}

// Put implements Archive.
func (a *sqliteArchive) Put(ctx context.Context, rec Record) error {
	if err := rec.Validate(); err != nil {
		return err
	}
	rec.normalize()
	return a.batch.put(ctx, rec)
}

// writeBatch upserts recs and replaces their logs in one transaction.
func (a *sqliteArchive) writeBatch(ctx context.Context, recs []Record) error {
	tx, err := a.writer.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("archive %d invocations: %w", len(recs), err)
	}
	defer func() { _ = tx.Rollback() }()
	upsert, deleteLogs, insertLog := tx.StmtContext(ctx, a.upsert), tx.StmtContext(ctx, a.deleteLogs), tx.StmtContext(ctx, a.insertLog)
	now := time.Now().UnixMicro()
	for _, r := range recs {
		args, err := writeValues(r, sqliteTime)
		if err != nil {
			return err
		}
		if _, err := upsert.ExecContext(ctx, append(args, now)...); err != nil {
			return fmt.Errorf("archive %s: %w", r.Key, err)
		}
		if _, err := deleteLogs.ExecContext(ctx, r.Namespace, r.TraceID); err != nil {
			return fmt.Errorf("archive %s: %w", r.Key, err)
		}
		for i, l := range r.Logs {
			if _, err := insertLog.ExecContext(ctx, r.Namespace, r.TraceID, i, l); err != nil {
				return fmt.Errorf("archive %s: log line %d: %w", r.Key, i, err)
			}
		}
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("archive %d invocations: %w", len(recs), err)
	}
	return nil
}

// Get implements Archive.
func (a *sqliteArchive) Get(ctx context.Context, key Key) (Record, error) {
	return getRecord(key, sql.ErrNoRows, func() (Record, error) {
		return sqliteScan(a.get.QueryRowContext(ctx, key.Namespace, key.TraceID))
	})
}

// sqliteScan reads one row of recordColumns.
func sqliteScan(row scanner) (Record, error) {
	var s scanTarget
	var created, finished, archived int64
	var started sql.NullInt64
	rec, err := s.scan(row, &created, &started, &finished, &archived)
	if err != nil {
		return Record{}, err
	}
	rec.CreatedAt, rec.FinishedAt, rec.ArchivedAt = fromMicro(created), fromMicro(finished), fromMicro(archived)
	if started.Valid {
		rec.StartedAt = fromMicro(started.Int64)
	}
	return rec, nil
}

// fromMicro is the UTC time of unix microseconds.
func fromMicro(us int64) time.Time { return time.UnixMicro(us).UTC() }

// List implements Archive.
func (a *sqliteArchive) List(ctx context.Context, opts ListOptions) (ListPage, error) {
	return listRecords(opts, sqlDialect{micros: true}, func(query string, args []any) ([]Record, error) {
		rows, err := a.reader.QueryContext(ctx, query, args...)
		if err != nil {
			return nil, err
		}
		defer rows.Close()
		return scanRecords(rows, sqliteScan)
	})
}

// AppendLogs implements Archive.
func (a *sqliteArchive) AppendLogs(ctx context.Context, key Key, from int64, lines []string) error {
	if err := checkAppend(key, from, lines); err != nil {
		return err
	}
	err := a.appendLogs(ctx, key, from, lines)
	if err != nil && !errors.Is(err, ErrNotFound) && !errors.Is(err, ErrInvalid) {
		return fmt.Errorf("append log lines of %s to the archive: %w", key, err)
	}
	return err
}

// appendLogs runs AppendLogs in one immediate transaction: appends take
// turns with each other and with Puts.
func (a *sqliteArchive) appendLogs(ctx context.Context, key Key, from int64, lines []string) error {
	tx, err := a.writer.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer func() { _ = tx.Rollback() }()
	var stored int64
	var exists bool
	if err := tx.QueryRowContext(ctx, sqliteLogCount, key.Namespace, key.TraceID).Scan(&stored, &exists); err != nil {
		return err
	}
	if !exists {
		return fmt.Errorf("%w: %s", ErrNotFound, key)
	}
	skip, err := appendSkip(key, from, stored, len(lines))
	if err != nil {
		return err
	}
	insert := tx.StmtContext(ctx, a.insertLog)
	for i := skip; i < len(lines); i++ {
		if _, err := insert.ExecContext(ctx, key.Namespace, key.TraceID, from+int64(i), lines[i]); err != nil {
			return err
		}
	}
	return tx.Commit()
}

// Logs implements Archive.
func (a *sqliteArchive) Logs(ctx context.Context, key Key, offset, limit int) (LogPage, error) {
	limit, err := resolveLogPage(key, offset, limit)
	if err != nil {
		return LogPage{}, err
	}
	page, err := a.logs(ctx, key, offset, limit)
	if err != nil && !errors.Is(err, ErrNotFound) {
		return LogPage{}, fmt.Errorf("read log lines of %s from the archive: %w", key, err)
	}
	return page, err
}

// logs reads the count and the lines in one read transaction, so that
// they agree.
func (a *sqliteArchive) logs(ctx context.Context, key Key, offset, limit int) (LogPage, error) {
	tx, err := a.reader.BeginTx(ctx, &sql.TxOptions{ReadOnly: true})
	if err != nil {
		return LogPage{}, err
	}
	defer func() { _ = tx.Rollback() }()
	var total int64
	var exists bool
	if err := tx.QueryRowContext(ctx, sqliteLogCount, key.Namespace, key.TraceID).Scan(&total, &exists); err != nil {
		return LogPage{}, err
	}
	page, more, err := logPageOf(key, offset, total, exists)
	if !more {
		return page, err
	}
	rows, err := tx.QueryContext(ctx, sqliteLogLines, key.Namespace, key.TraceID, offset, limit)
	if err != nil {
		return LogPage{}, err
	}
	defer rows.Close()
	for rows.Next() {
		var l string
		if err := rows.Scan(&l); err != nil {
			return LogPage{}, err
		}
		page.Lines = append(page.Lines, l)
	}
	return page, rows.Err()
}

// DeleteFinishedBefore implements Archive. Each batch is its own
// transaction on the writer's one connection, so a Put waits for at most
// one batch.
func (a *sqliteArchive) DeleteFinishedBefore(ctx context.Context, cutoff time.Time) (int64, error) {
	return deleteInBatches(cutoff, a.opts.DeleteBatch, func() (int64, error) {
		res, err := a.writer.ExecContext(ctx, sqliteDeleteOld, cutoff.UnixMicro(), a.opts.DeleteBatch)
		if err != nil {
			return 0, err
		}
		return res.RowsAffected()
	})
}

// Ping implements Archive.
func (a *sqliteArchive) Ping(ctx context.Context) error {
	if err := a.reader.PingContext(ctx); err != nil {
		return fmt.Errorf("ping the archive: %w", err)
	}
	return nil
}

// Close implements Archive.
func (a *sqliteArchive) Close() error {
	a.batch.close()
	for _, s := range []*sql.Stmt{a.upsert, a.deleteLogs, a.insertLog} {
		_ = s.Close()
	}
	if a.reader != a.writer {
		if err := a.reader.Close(); err != nil {
			_ = a.writer.Close()
			return fmt.Errorf("close the archive: %w", err)
		}
	}
	if err := a.writer.Close(); err != nil {
		return fmt.Errorf("close the archive: %w", err)
	}
	return nil
}
