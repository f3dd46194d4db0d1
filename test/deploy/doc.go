// Package deploy holds the tests of the deployable manifests: that
// config/default, config/overlays/production and config/examples render
// with kustomize on a fresh clone (no key made first), that make deploy's
// overlay sets IMG_REGISTRY/IMG_TAG on every image, that the
// rendered objects and config/samples are accepted by a real API server
// (server-side dry-run), and that the sample PluginVersions match the
// example plugins' code. It has no non-test code.
package deploy
