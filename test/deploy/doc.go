// Package deploy holds the tests of the deployable manifests: that
// config/default and config/examples render with kustomize, that the
// rendered objects and config/samples are accepted by a real API server
// (server-side dry-run), and that the sample PluginVersions match the
// example plugins' code. It has no non-test code.
package deploy
