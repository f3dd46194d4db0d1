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

# Progress: whatever takes long (the lock, each build step) says what it
# waits for and for how long, every PROGRESS_INTERVAL seconds, so that a
# first `make demo` never sits silent for minutes.
PROGRESS_INTERVAL="${SETUP_ENVTEST_PROGRESS_INTERVAL:-15}"

# run_step WHAT CMD...: runs CMD (output discarded unless it fails) and
# reports WHAT with the elapsed time until it ends; returns CMD's status.
run_step() {
  local what="$1"; shift
  local out t0 pid rc=0
  out="$(mktemp)"
  t0=$(date +%s)
  log "${what} ..."
  "$@" >"${out}" 2>&1 &
  pid=$!
  while :; do
    local i=0
    while (( i < PROGRESS_INTERVAL )) && kill -0 "${pid}" 2>/dev/null; do sleep 1; i=$((i + 1)); done
    kill -0 "${pid}" 2>/dev/null || break
    log "${what}: still running, $(( $(date +%s) - t0 ))s so far"
  done
  wait "${pid}" || rc=$?
  if (( rc != 0 )); then
    log "${what}: failed after $(( $(date +%s) - t0 ))s (exit ${rc}):"
    tail -n 40 "${out}" >&2
  else
    log "${what}: done in $(( $(date +%s) - t0 ))s"
  fi
  rm -f "${out}"
  return "${rc}"
}

mkdir -p "${CACHE_ROOT}/envtest"
# Two clones building at once would each spend 7 minutes; the lock makes the
# second one wait and then reuse the first one's result. The holder writes
# who it is next to the lock, so that a waiter can say what it waits for.
LOCK="${CACHE_ROOT}/envtest/.lock"
OWNER="${LOCK}.owner"
exec 9>"${LOCK}"
if ! flock -n 9; then
  t0=$(date +%s)
  holder="$(cat "${OWNER}" 2>/dev/null || echo "another process")"
  log "waiting for ${holder} to finish building the envtest binaries (lock ${LOCK})"
  until flock -w "${PROGRESS_INTERVAL}" 9; do
    log "still waiting for the envtest lock, $(( $(date +%s) - t0 ))s so far (held by ${holder})"
  done
  log "got the envtest lock after $(( $(date +%s) - t0 ))s"
fi
if has_assets "${ASSETS}" && [[ -x "${ASSETS}/kubectl" ]]; then
  log "using assets built meanwhile in ${ASSETS}"
  echo "${ASSETS}"
  exit 0
fi
echo "pid $$ (since $(date -u +%H:%M:%SZ), building k8s ${K8S_VERSION} and etcd ${ETCD_VERSION})" > "${OWNER}"

WORK="$(mktemp -d)"
trap 'rm -rf "${WORK}" "${OWNER}"' EXIT
STAGE="${WORK}/out"
mkdir -p "${STAGE}"
export GOFLAGS="-mod=mod"
export CGO_ENABLED=0
start=$(date +%s)

build_etcd() {
  log "building etcd v${ETCD_VERSION} from Go modules (about 1.5 minutes on 2 cores)"
  mkdir -p "${WORK}/etcd" && cd "${WORK}/etcd"
  go mod init envtest-etcd >/dev/null 2>&1
  run_step "etcd: downloading modules" go get "go.etcd.io/etcd/server/v3@v${ETCD_VERSION}"
  run_step "etcd: compiling" go build -trimpath -o "${STAGE}/etcd" \
    -ldflags "-s -w" go.etcd.io/etcd/server/v3
}

build_kube() {
  log "building kube-apiserver and kubectl v${K8S_VERSION} from Go modules (about 7 minutes on 2 cores)"
  mkdir -p "${WORK}/kube" && cd "${WORK}/kube"
  local gomod staging minor
  run_step "kube: downloading k8s.io/kubernetes v${K8S_VERSION}" go mod download "k8s.io/kubernetes@v${K8S_VERSION}"
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
  run_step "kube: downloading modules (go mod tidy)" go mod tidy
  local pkg="k8s.io/component-base/version"
  local ld="-s -w -X ${pkg}.gitVersion=v${K8S_VERSION} -X ${pkg}.gitMajor=1 -X ${pkg}.gitMinor=${K8S_VERSION#1.}"
  ld="${ld%.*}"
  ld="${ld} -X ${pkg}.gitTreeState=clean -X k8s.io/client-go/pkg/version.gitVersion=v${K8S_VERSION}"
  run_step "kube: compiling kube-apiserver" go build -trimpath -o "${STAGE}/kube-apiserver" -ldflags "${ld}" k8s.io/kubernetes/cmd/kube-apiserver
  run_step "kube: compiling kubectl" go build -trimpath -o "${STAGE}/kubectl" -ldflags "${ld}" k8s.io/kubernetes/cmd/kubectl
}

if command -v etcd >/dev/null 2>&1 && [[ -n "${ENVTEST_USE_SYSTEM_ETCD:-}" ]]; then
  cp "$(command -v etcd)" "${STAGE}/etcd"
else
  (build_etcd)
fi
(build_kube)

mkdir -p "$(dirname "${ASSETS}")"
rm -rf "${ASSETS}.tmp" && mv "${STAGE}" "${ASSETS}.tmp" && rm -rf "${ASSETS}" && mv "${ASSETS}.tmp" "${ASSETS}"
rm -f "${OWNER}"
log "built in $(( $(date +%s) - start ))s into ${ASSETS}"
"${ASSETS}/kube-apiserver" --version >&2 || true
echo "${ASSETS}"
