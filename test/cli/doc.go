// Package cli drives the bkplugin command line as a user would: as a built
// binary, against the real local stack (hack/localstack: etcd and
// kube-apiserver from the envtest assets, the manager, the shim and the
// example plugins as processes), and through kubectl's plugin mechanism.
// It also scaffolds a plugin with `bkplugin init` and builds, tests and
// runs the result.
//
// The stack tests need KUBEBUILDER_ASSETS (make test sets it from
// hack/setup-envtest.sh); the scaffold test needs only the go command and
// the module proxy. Both are skipped with -short.
package cli
