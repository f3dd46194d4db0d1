// Package stdapi holds the Go types of the standard BlueKing plugin HTTP API:
// the shapes that the shim (cmd/apiserver) serves and that platforms such as
// pipeline engines consume.
//
// Field names and types are exactly those of the Python bk-plugin-framework,
// so a platform written against a Python plugin talks to a plugin run by
// bk-plugin-operator without change. Where this package adds something the
// Python framework does not have (the plugin list, the idempotency header,
// the async invoke header), the godoc says so.
//
// Every route lives under /plugins/{code}; see the Route constants for the
// gorilla/mux templates and the *Path functions for building request paths.
package stdapi
