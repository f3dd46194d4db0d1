#!/usr/bin/env bash
# setup-envtest.sh provisions the control-plane binaries envtest needs
# (kube-apiserver, etcd, kubectl) without the internet: the only network these
# machines reach is the Go module proxy, so the binaries are built from Go
# modules when no copy is available.
#
# Order of preference:
#   1. KUBEBUILDER_ASSETS, when it already holds kube-apiserver and etcd;
#   2. a cache outside the clone, keyed by version, so that fresh clones reuse it;
#   3. setup-envtest's own store, if an earlier download left one;
#   4. a build from Go modules into the cache (about 7 minutes on 2 cores).
#
# It prints the asset directory on stdout (last line); progress goes to stderr.
set -euo pipefail

K8S_VERSION="${ENVTEST_K8S_VERSION:-1.37.1}"
ETCD_VERSION="${ENVTEST_ETCD_VERSION:-3.6.6}"
GOOS_ARCH="$(go env GOOS)-$(go env GOARCH)"
CACHE_ROOT="${BKPLUGIN_CACHE_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/bk-plugin-operator}"
ASSETS="${CACHE_ROOT}/envtest/k8s-${K8S_VERSION}-etcd-${ETCD_VERSION}-${GOOS_ARCH}"

log() { echo "setup-envtest: $*" >&2; }

has_assets() { [[ -x "$1/kube-apiserver" && -x "$1/etcd" ]]; }

if [[ -n "${KUBEBUILDER_ASSETS:-}" ]] && has_assets "${KUBEBUILDER_ASSETS}"; then
  log "using KUBEBUILDER_ASSETS=${KUBEBUILDER_ASSETS}"
  echo "${KUBEBUILDER_ASSETS}"
  exit 0
fi
if has_assets "${ASSETS}" && [[ -x "${ASSETS}/kubectl" ]]; then
  log "using cached assets in ${ASSETS}"
  echo "${ASSETS}"
  exit 0
fi
STORE="${HOME}/.local/share/kubebuilder-envtest/k8s/${K8S_VERSION}-${GOOS_ARCH}"
if has_assets "${STORE}" && [[ -x "${STORE}/kubectl" ]]; then
  log "using setup-envtest store ${STORE}"
  echo "${STORE}"
  exit 0
fi

mkdir -p "${CACHE_ROOT}/envtest"
# Two clones building at once would each spend 7 minutes; the lock makes the
# second one wait and then reuse the first one's result.
exec 9>"${CACHE_ROOT}/envtest/.lock"
flock 9
if has_assets "${ASSETS}" && [[ -x "${ASSETS}/kubectl" ]]; then
  echo "${ASSETS}"
  exit 0
fi

WORK="$(mktemp -d)"
trap 'rm -rf "${WORK}"' EXIT
STAGE="${WORK}/out"
mkdir -p "${STAGE}"
export GOFLAGS="-mod=mod"
export CGO_ENABLED=0
start=$(date +%s)

build_etcd() {
  log "building etcd v${ETCD_VERSION} from Go modules"
  mkdir -p "${WORK}/etcd" && cd "${WORK}/etcd"
  go mod init envtest-etcd >/dev/null 2>&1
  go get "go.etcd.io/etcd/server/v3@v${ETCD_VERSION}" >/dev/null 2>&1
  go build -trimpath -o "${STAGE}/etcd" \
    -ldflags "-s -w" go.etcd.io/etcd/server/v3
}

build_kube() {
  log "building kube-apiserver and kubectl v${K8S_VERSION} from Go modules"
  mkdir -p "${WORK}/kube" && cd "${WORK}/kube"
  local gomod staging minor
  gomod="$(go mod download -json "k8s.io/kubernetes@v${K8S_VERSION}" | sed -n 's/.*"GoMod": "\(.*\)".*/\1/p')"
  # k8s.io/kubernetes points every k8s.io/* module at ./staging; those are
  # published as v0.<minor>.<patch>, so replace each with its published twin.
  minor="0.${K8S_VERSION#*.}"
  {
    echo "module envtest-kube"
    echo
    echo "go $(go env GOVERSION | sed 's/^go//; s/\([0-9]*\.[0-9]*\).*/\1/')"
    echo
    echo "require k8s.io/kubernetes v${K8S_VERSION}"
    echo
    echo "replace ("
    grep -E '=> \./staging/src/' "${gomod}" | sed -E "s#=> \./staging/src/([^ ]+)#=> \1 v${minor}#"
    echo ")"
  } > go.mod
  cat > tools.go <<'GO'
//go:build tools

package tools

import (
	_ "k8s.io/kubernetes/cmd/kube-apiserver"
	_ "k8s.io/kubernetes/cmd/kubectl"
)
GO
  go mod tidy >/dev/null 2>&1
  local pkg="k8s.io/component-base/version"
  local ld="-s -w -X ${pkg}.gitVersion=v${K8S_VERSION} -X ${pkg}.gitMajor=1 -X ${pkg}.gitMinor=${K8S_VERSION#1.}"
  ld="${ld%.*}"
  ld="${ld} -X ${pkg}.gitTreeState=clean -X k8s.io/client-go/pkg/version.gitVersion=v${K8S_VERSION}"
  go build -trimpath -o "${STAGE}/kube-apiserver" -ldflags "${ld}" k8s.io/kubernetes/cmd/kube-apiserver
  go build -trimpath -o "${STAGE}/kubectl" -ldflags "${ld}" k8s.io/kubernetes/cmd/kubectl
}

if command -v etcd >/dev/null 2>&1 && [[ -n "${ENVTEST_USE_SYSTEM_ETCD:-}" ]]; then
  cp "$(command -v etcd)" "${STAGE}/etcd"
else
  (build_etcd)
fi
(build_kube)

mkdir -p "$(dirname "${ASSETS}")"
rm -rf "${ASSETS}.tmp" && mv "${STAGE}" "${ASSETS}.tmp" && rm -rf "${ASSETS}" && mv "${ASSETS}.tmp" "${ASSETS}"
log "built in $(( $(date +%s) - start ))s into ${ASSETS}"
"${ASSETS}/kube-apiserver" --version >&2 || true
echo "${ASSETS}"
