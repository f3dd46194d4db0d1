// Package archive keeps the history of finished plugin invocations in a
// database, so that the cluster holds only live work (issue 14).
//
// One row per invocation, keyed by (namespace, trace id), holds the call, its
// result, its life-cycle timeline and the plugin's log lines. Two backends
// implement the same [Archive] interface: PostgreSQL (pgx) for clusters and
// an embedded SQLite file (pure Go) for run-local and the demo. [Open] picks
// the backend from a DSN, runs the schema migrations (serialised between
// processes that start at once) and returns a ready archive.
//
// The archive stores what it is given. Callers mask sensitive values (the
// fields a version's task.json marks isSensitive) before they build a
// [Record], exactly as status shows them; the archive never sees the
// invocation's Secret nor the plugin's storage.
package archive
