// Package archivetest starts a real PostgreSQL server for tests, from
// Debian's postgresql package (/usr/lib/postgresql/<major>/bin): initdb and
// postgres in a temporary directory, on a free loopback port, as the
// postgres system user when the test runs as root (initdb refuses root).
//
// When the binaries are missing, tests skip with a message saying how to
// install them (make postgresql), except in CI (CI=true), where they fail:
// CI installs the package, so nothing may be skipped there.
package archivetest
