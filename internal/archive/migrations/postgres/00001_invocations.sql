-- The archive's first schema: one row per finished invocation, keyed by
-- (namespace, trace id), and its plugin log lines.
--
-- JSON columns are json, not jsonb: the archive gives back exactly the bytes
-- it was given (key order included), and nothing queries inside them.

-- +goose Up
CREATE TABLE bkplugin_invocations (
    namespace         text        NOT NULL,
    trace_id          text        NOT NULL,
    plugin            text        NOT NULL,
    requested_version text        NOT NULL,
    resolved_version  text        NOT NULL DEFAULT '',
    state             smallint    NOT NULL,
    state_name        text        NOT NULL,
    inputs            json,
    context           json,
    outputs           json,
    error             text        NOT NULL DEFAULT '',
    invoke_count      integer     NOT NULL DEFAULT 0,
    caller_app_code   text        NOT NULL DEFAULT '',
    caller_username   text        NOT NULL DEFAULT '',
    created_at        timestamptz NOT NULL,
    started_at        timestamptz,
    finished_at       timestamptz NOT NULL,
    timeline          json,
    attempts          json,
    archived_at       timestamptz NOT NULL DEFAULT now(),
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
    namespace text   NOT NULL,
    trace_id  text   NOT NULL,
    line_no   bigint NOT NULL,
    line      text   NOT NULL,
    PRIMARY KEY (namespace, trace_id, line_no),
    FOREIGN KEY (namespace, trace_id)
        REFERENCES bkplugin_invocations (namespace, trace_id) ON DELETE CASCADE
);

-- +goose Down
DROP TABLE bkplugin_invocation_logs;
DROP TABLE bkplugin_invocations;
