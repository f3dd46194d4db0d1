// Package identity says who calls the standard API, from sources the shim
// can verify: the BlueKing API gateway's JWT (X-Bkapi-JWT, RS512, kid = the
// gateway's name, checked against that gateway's public key) and bearer
// tokens configured to stand for an app code. Headers a caller writes
// itself (X-Bkplugin-App-Code, Bk-Plugin-Username, ...) are never identity
// here; the shim may read them only in its dev-only trust mode.
//
// It is pure: parsing, verification and the token table, with no HTTP
// routing, so that the shim's middleware stays a thin user of it and the
// tests sign real tokens with keys they generate.
package identity
