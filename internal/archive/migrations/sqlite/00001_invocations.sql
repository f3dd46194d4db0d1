-- The archive's first schema: one row per finished invocation, keyed by
-- (namespace, trace id), and its plugin log lines.
--
-- Times are INTEGER unix microseconds (UTC), the precision PostgreSQL keeps,
-- so that both backends give back the same values. JSON columns are TEXT,
-- checked by the archive before writing.

-- +goose Up
CREATE TABLE bkplugin_invocations (
    namespace         TEXT    NOT NULL,
    trace_id          TEXT    NOT NULL,
    plugin            TEXT    NOT NULL,
    requested_version TEXT    NOT NULL,
    resolved_version  TEXT    NOT NULL DEFAULT '',
    state             INTEGER NOT NULL,
    state_name        TEXT    NOT NULL,
    inputs            TEXT,
    context           TEXT,
    outputs           TEXT,
    error             TEXT    NOT NULL DEFAULT '',
    invoke_count      INTEGER NOT NULL DEFAULT 0,
    caller_app_code   TEXT    NOT NULL DEFAULT '',
    caller_username   TEXT    NOT NULL DEFAULT '',
    created_at        INTEGER NOT NULL,
    started_at        INTEGER,
    finished_at       INTEGER NOT NULL,
    timeline          TEXT,
    attempts          TEXT,
    archived_at       INTEGER NOT NULL,
    PRIMARY KEY (namespace, trace_id)
);

-- The history list of one plugin, newest first, paged by (created_at, trace_id).
CREATE INDEX bkplugin_invocations_plugin_created
    ON bkplugin_invocations (namespace, plugin, created_at DESC, trace_id DESC);
-- The history list of a whole namespace.
CREATE INDEX bkplugin_invocations_created
    ON bkplugin_invocations (namespace, created_at DESC, trace_id DESC);
-- Retention deletes the oldest finished first.
CREATE INDEX bkplugin_invocations_finished
    ON bkplugin_invocations (finished_at);

CREATE TABLE bkplugin_invocation_logs (
    namespace TEXT    NOT NULL,
    trace_id  TEXT    NOT NULL,
    line_no   INTEGER NOT NULL,
    line      TEXT    NOT NULL,
    PRIMARY KEY (namespace, trace_id, line_no),
    FOREIGN KEY (namespace, trace_id)
        REFERENCES bkplugin_invocations (namespace, trace_id) ON DELETE CASCADE
);

-- +goose Down
DROP TABLE bkplugin_invocation_logs;
DROP TABLE bkplugin_invocations;
