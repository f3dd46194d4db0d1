# bk-plugin-operator Makefile, laid out like kubebuilder's.

# Image URLs for the manager, the shim and the examples.
IMG_REGISTRY ?= bkplugin
IMG_TAG ?= latest
IMG ?= $(IMG_REGISTRY)/bk-plugin-manager:$(IMG_TAG)

# The Kubernetes version of the envtest control plane. hack/setup-envtest.sh
# builds kube-apiserver, kubectl and etcd from Go modules when no cached copy
# exists, because these machines reach no download site.
ENVTEST_K8S_VERSION ?= 1.37.1
ENVTEST_ETCD_VERSION ?= 3.6.6

# Get the currently used golang install path (in GOPATH/bin, unless GOBIN is set)
ifeq (,$(shell go env GOBIN))
GOBIN=$(shell go env GOPATH)/bin
else
GOBIN=$(shell go env GOBIN)
endif

# Setting SHELL to bash allows bash commands to be executed by recipes.
SHELL = /usr/bin/env bash -o pipefail
.SHELLFLAGS = -ec

.PHONY: all
all: build

##@ General

.PHONY: help
help: ## Display this help.
	@awk 'BEGIN {FS = ":.*##"; printf "\nUsage:\n  make \033[36m<target>\033[0m\n"} /^[a-zA-Z_0-9-]+:.*?##/ { printf "  \033[36m%-18s\033[0m %s\n", $$1, $$2 } /^##@/ { printf "\n\033[1m%s\033[0m\n", substr($$0, 5) } ' $(MAKEFILE_LIST)

##@ Development

.PHONY: manifests
manifests: controller-gen ## Generate CRDs and RBAC from the markers in the code.
	$(CONTROLLER_GEN) rbac:roleName=manager-role crd webhook paths="./api/..." paths="./internal/controller/..." paths="./internal/manager/..." paths="./internal/webhook/..." output:crd:artifacts:config=config/crd/bases
	$(CONTROLLER_GEN) rbac:roleName=shim-role paths="./internal/shim/..." output:rbac:artifacts:config=config/rbac/shim
	@$(MAKE) --no-print-directory chart-sync

.PHONY: generate
generate: controller-gen ## Generate DeepCopy methods from the markers in the code.
	$(CONTROLLER_GEN) object:headerFile="hack/boilerplate.go.txt" paths="./api/..."

# The Helm chart carries copies of what config/ generates or holds, since a
# chart cannot read files outside itself; test/chart fails when they differ.
CHART = charts/bk-plugin-operator

.PHONY: chart-sync
chart-sync: ## Copy the CRDs, the generated RBAC rules, the webhook configuration and the alerts from config/ into the Helm chart.
	@mkdir -p $(CHART)/crds $(CHART)/files
	@rm -f $(CHART)/crds/*.yaml && cp config/crd/bases/*.yaml $(CHART)/crds/
	@cp config/rbac/role.yaml $(CHART)/files/manager-role.yaml
	@cp config/rbac/shim/role.yaml $(CHART)/files/shim-role.yaml
	@cp config/prometheus/alerts.yaml $(CHART)/files/alerts.yaml
	@cp config/webhook/manifests.yaml $(CHART)/files/webhook-manifests.yaml

.PHONY: fmt
fmt: ## Run go fmt against code.
	go fmt ./...

# Test files of suites that need a control plane (envtest) or a browser
# carry the build tag envtest; vet looks at them too.
.PHONY: vet
vet: ## Run go vet against code, the envtest suites included.
	go vet -tags envtest ./...

.PHONY: verify-generated
verify-generated: manifests generate ## Fail when generated files differ from what is committed.
	@if [ -n "$$(git status --porcelain -- api config $(CHART))" ]; then \
		echo "generated files are stale; run 'make manifests generate' and commit:"; \
		git status --porcelain -- api config $(CHART); git --no-pager diff --stat -- api config $(CHART); exit 1; fi

.PHONY: test
test: manifests generate fmt vet envtest chromium postgresql ## Run all tests against a real kube-apiserver and etcd, the archive against a real PostgreSQL, and the debug panel in chromium.
	KUBEBUILDER_ASSETS="$$($(ENVTEST))" KUBEBUILDER_CONTROLPLANE_START_TIMEOUT=2m CHROMIUM_PATH="$$(command -v chromium)" go test -tags envtest ./... -count=1 -timeout 25m
	@# The suites that run a shim, once more with --sync-invoke=cluster: every
	@# behaviour holds on both paths (the run above is the default, direct).
	BKPLUGIN_TEST_SYNC_INVOKE=cluster KUBEBUILDER_ASSETS="$$($(ENVTEST))" KUBEBUILDER_CONTROLPLANE_START_TIMEOUT=2m CHROMIUM_PATH="$$(command -v chromium)" go test -tags envtest $(SHIM_SUITES) -count=1 -timeout 25m

# The pure tests: every test file without the envtest build tag, the state
# machine's tables included. They need no control plane, browser or network.
# SHIM_SUITES are the packages whose tests run a shim, which `make test`
# runs in both --sync-invoke modes (testenv.SyncInvokeEnv).
SHIM_SUITES ?= ./internal/shim/ ./test/cli/ ./test/panel/

.PHONY: test-unit
# Vet is off here because `make vet` runs it once over every file, tagged
# ones included; in go test it costs a third of this target's CPU.
test-unit: ## Run the tests that need no control plane (no envtest build tag).
	go test -count=1 -vet=off ./...

# The reliability harness (test/reliability): real processes on loopback,
# kill -9 of the manager, the shim and kube-apiserver, faulty plugin pods,
# hostile input. It prints the table of docs/reliability.md.
# RELIABILITY_SCALE is how many invocations the manager crash uses.
RELIABILITY_SCALE ?= 500

.PHONY: test-reliability
test-reliability: envtest ## Run the reliability harness and print its table (RELIABILITY_SCALE=500).
	KUBEBUILDER_ASSETS="$$($(ENVTEST))" KUBEBUILDER_CONTROLPLANE_START_TIMEOUT=2m RELIABILITY=1 RELIABILITY_SCALE=$(RELIABILITY_SCALE) \
		go test -tags envtest ./test/reliability/ -run TestReliability -count=1 -v -timeout 40m

# Fuzz targets, each run for FUZZTIME; go test runs their seed corpora.
FUZZTIME ?= 30s
FUZZ_TARGETS = ./internal/shim:FuzzDecodeRequest ./sdk/protocol:FuzzVerifyToken ./sdk/taskjson:FuzzEvaluate ./sdk/compat:FuzzCompareSchemas

.PHONY: fuzz
fuzz: ## Run every fuzz target for FUZZTIME (default 30s) each.
	@for t in $(FUZZ_TARGETS); do \
		echo "fuzz $${t#*:} in $${t%%:*} for $(FUZZTIME)"; \
		go test $${t%%:*} -run '^$$' -fuzz "^$${t#*:}$$" -fuzztime $(FUZZTIME) || exit 1; \
	done

##@ Build

# Every binary `make build` puts in bin/: the manager, the shim, the bkplugin
# CLI, the example plugins and the local stack.
BINARIES = ./cmd/manager ./cmd/apiserver ./cmd/bkplugin \
	./sdk/examples/hello ./sdk/examples/poller ./sdk/examples/callbacker ./sdk/examples/deployer \
	./sdk/examples/formapi ./sdk/examples/notifier ./sdk/examples/shipper \
	./hack/localstack ./hack/demo

.PHONY: build
build: manifests generate fmt vet binaries ## Regenerate, format, vet, then build every binary into bin/.

.PHONY: binaries
binaries: ## Build the manager, the shim, the example plugins, the local stack and the demo into bin/.
	go build -o bin/ $(BINARIES)

# The CLI as the kubectl plugin `kubectl bkplugin`: kubectl runs any
# kubectl-<name> on PATH (docs/cli.md).
.PHONY: kubectl-plugin
kubectl-plugin: ## Build bin/bkplugin and link it as bin/kubectl-bkplugin (put bin/ on PATH for `kubectl bkplugin`).
	go build -o bin/ ./cmd/bkplugin
	ln -sf bkplugin bin/kubectl-bkplugin

.PHONY: demo
demo: envtest ## Start the local stack, drive every example plugin through the shim, stop it.
	@$(MAKE) --no-print-directory binaries >&2
	@KUBEBUILDER_ASSETS="$$($(ENVTEST) 2>/dev/null)" bin/demo --bin-dir bin

.PHONY: run-local
# Only the READY line goes to stdout, so that scripts can read it; the
# build's output goes to stderr.
run-local: envtest ## Run the whole system on this machine until Ctrl-C (SHIM_ADDR=host:port moves the shim).
	@$(MAKE) --no-print-directory binaries >&2
	@KUBEBUILDER_ASSETS="$$($(ENVTEST) 2>/dev/null)" bin/localstack --bin-dir bin

.PHONY: bench
# Like run-local, only the results go to stdout: the table, then one JSON
# line. BENCH_SCALE=10000 skips the 50,000-invocation scale point;
# BENCH_ARGS passes flags (bin/bench --help).
bench: envtest ## Start the local stack and measure it against the API server's write rate (docs/benchmarks.md).
	@$(MAKE) --no-print-directory binaries >&2
	@go build -o bin/ ./hack/bench >&2
	@KUBEBUILDER_ASSETS="$$($(ENVTEST) 2>/dev/null)" bin/bench --bin-dir bin $(BENCH_ARGS)

.PHONY: run
run: manifests generate fmt vet ## Run the manager against the cluster of the current kubeconfig.
	go run ./cmd/manager

# The images `make docker-build` builds: the manager, the shim and the
# example plugins, each from the Dockerfile with its main package as CMD.
IMAGES = manager=cmd/manager apiserver=cmd/apiserver \
	hello=sdk/examples/hello poller=sdk/examples/poller callbacker=sdk/examples/callbacker \
	deployer=sdk/examples/deployer

.PHONY: docker-build
docker-build: ## Build every image as $(IMG_REGISTRY)/bk-plugin-<name>:$(IMG_TAG) (needs a Docker engine).
	@for pair in $(IMAGES); do \
		name=$${pair%%=*}; pkg=$${pair#*=}; \
		echo "docker build $(IMG_REGISTRY)/bk-plugin-$$name:$(IMG_TAG) from $$pkg"; \
		docker build --build-arg CMD=$$pkg --build-arg VERSION=$(IMG_TAG) -t $(IMG_REGISTRY)/bk-plugin-$$name:$(IMG_TAG) . ; \
	done

.PHONY: docker-push
docker-push: ## Push every image built by docker-build.
	@for pair in $(IMAGES); do docker push $(IMG_REGISTRY)/bk-plugin-$${pair%%=*}:$(IMG_TAG); done

##@ Deployment

ifndef ignore-not-found
  ignore-not-found = false
endif

.PHONY: install
install: manifests kubectl ## Install the CRDs into the cluster of the current kubeconfig.
	$(KUBECTL) apply --server-side -f config/crd/bases

# bin/deploy/<dir>/kustomization.yaml is config/<dir> with the images of
# IMG_REGISTRY and IMG_TAG: a generated overlay, so the committed
# kustomizations stay the one place image names are set and the tree stays
# clean (it is what `kustomize edit set image` would write).
DEPLOY_DIR ?= $(LOCALBIN)/deploy
# What make deploy applies: default, or overlays/production (PDB,
# anti-affinity, NetworkPolicies).
DEPLOY_CONFIG ?= default
EXAMPLE_IMAGES = hello poller callbacker deployer

# write-overlay: $(1) the config/ folder, $(2) the bk-plugin-* image names.
define write-overlay
@mkdir -p $(DEPLOY_DIR)/$(1)
@{ echo "# Generated by make deploy-kustomization; do not edit."; \
echo "apiVersion: kustomize.config.k8s.io/v1beta1"; echo "kind: Kustomization"; \
echo "resources:"; echo "- $$(realpath --relative-to=$(DEPLOY_DIR)/$(1) $(CURDIR)/config/$(1))"; \
echo "images:"; \
for n in $(2); do echo "- name: bkplugin/bk-plugin-$$n"; \
	echo "  newName: $(IMG_REGISTRY)/bk-plugin-$$n"; echo "  newTag: \"$(IMG_TAG)\""; done; \
} > $(DEPLOY_DIR)/$(1)/kustomization.yaml
@echo "wrote $(DEPLOY_DIR)/$(1)/kustomization.yaml (images $(IMG_REGISTRY)/bk-plugin-*:$(IMG_TAG))" >&2
endef

.PHONY: deploy-kustomization
deploy-kustomization: ## Write $(DEPLOY_DIR)/{$(DEPLOY_CONFIG),examples}: config/ with the images of IMG_REGISTRY/IMG_TAG.
	$(call write-overlay,$(DEPLOY_CONFIG),manager apiserver)
	$(call write-overlay,examples,$(EXAMPLE_IMAGES))

.PHONY: deploy
deploy: manifests kubectl deploy-kustomization ## Deploy CRDs, RBAC, the manager and the shim (config/$(DEPLOY_CONFIG), images from IMG_REGISTRY/IMG_TAG) to the current kubeconfig's cluster.
	$(KUBECTL) apply --server-side -k $(DEPLOY_DIR)/$(DEPLOY_CONFIG)

.PHONY: undeploy
undeploy: kubectl deploy-kustomization ## Remove what deploy created (the callback-key Secret the manager made goes with the namespace).
	$(KUBECTL) delete --ignore-not-found=$(ignore-not-found) -k $(DEPLOY_DIR)/$(DEPLOY_CONFIG)

.PHONY: deploy-examples
deploy-examples: kubectl deploy-kustomization ## Deploy the example plugins (config/examples, images from IMG_REGISTRY/IMG_TAG) and register their versions (config/samples).
	$(KUBECTL) apply -k $(DEPLOY_DIR)/examples
	$(KUBECTL) apply -f config/samples/bkplugin_v1alpha1_pluginversion.yaml

.PHONY: uninstall
uninstall: manifests kubectl ## Remove the CRDs from the cluster of the current kubeconfig.
	$(KUBECTL) delete --ignore-not-found=$(ignore-not-found) -f config/crd/bases

##@ Dependencies

LOCALBIN ?= $(shell pwd)/bin
$(LOCALBIN):
	mkdir -p $(LOCALBIN)

CONTROLLER_GEN ?= $(LOCALBIN)/controller-gen
ENVTEST ?= ENVTEST_K8S_VERSION=$(ENVTEST_K8S_VERSION) ENVTEST_ETCD_VERSION=$(ENVTEST_ETCD_VERSION) hack/setup-envtest.sh
KUBECTL ?= "$$($(ENVTEST))/kubectl"

CONTROLLER_TOOLS_VERSION ?= v0.23.0

.PHONY: controller-gen
controller-gen: $(CONTROLLER_GEN) ## Install controller-gen into bin/ if needed.
$(CONTROLLER_GEN): $(LOCALBIN)
	$(call go-install-tool,$(CONTROLLER_GEN),sigs.k8s.io/controller-tools/cmd/controller-gen,$(CONTROLLER_TOOLS_VERSION))

.PHONY: envtest
envtest: ## Provision kube-apiserver, etcd and kubectl for envtest (offline; cached by version).
	@$(ENVTEST) >/dev/null

.PHONY: kubectl
kubectl: envtest ## Provision kubectl alongside the envtest binaries.

# The debug panel's browser test (test/panel) drives Debian's chromium;
# browser downloads by test tools are not reachable from these machines.
.PHONY: chromium
chromium: ## Install Debian's chromium for the debug panel's browser test, when it is missing (needs root).
	@command -v chromium >/dev/null || { \
		echo "installing Debian's chromium for test/panel" >&2; \
		apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y chromium; }

# The archive's tests (internal/archive) start a real PostgreSQL server
# from Debian's package in a temporary directory (internal/archive/archivetest);
# outside CI they skip when it is missing, in CI (CI=true) they fail.
.PHONY: postgresql
postgresql: ## Install Debian's PostgreSQL server for the archive tests, when it is missing (needs root).
	@ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || { \
		echo "installing Debian's postgresql for internal/archive's tests" >&2; \
		apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends postgresql; }

# go-install-tool will 'go install' any package with a custom target and the
# name of the binary, keeping one binary per version so a version bump
# reinstalls it.
# $1 - target path with name of binary
# $2 - package url which can be installed
# $3 - specific version of package
define go-install-tool
@[ -f "$(1)-$(3)" ] || { \
set -e; \
package=$(2)@$(3) ;\
echo "Downloading $${package}" ;\
rm -f $(1) || true ;\
GOBIN=$(LOCALBIN) go install $${package} ;\
mv $(1) $(1)-$(3) ;\
} ;\
ln -sf $(1)-$(3) $(1)
endef
