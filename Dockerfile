# Builds one of the project's binaries into a static, non-root image.
#   docker build --build-arg CMD=cmd/manager             -t bkplugin/bk-plugin-manager .
#   docker build --build-arg CMD=cmd/apiserver           -t bkplugin/bk-plugin-apiserver .
#   docker build --build-arg CMD=sdk/examples/hello      -t bkplugin/bk-plugin-hello .
#   (also sdk/examples/poller and sdk/examples/callbacker; `make docker-build` builds all)
# CMD is the main package's folder; the short names manager and apiserver
# still mean cmd/manager and cmd/apiserver.
FROM golang:1.26 AS builder
ARG TARGETOS
ARG TARGETARCH
ARG CMD=cmd/manager
ARG VERSION=dev
WORKDIR /workspace
# Modules first, so that a source change does not download them again.
COPY go.mod go.sum ./
RUN go mod download
COPY api/ api/
COPY controllers/ controllers/
COPY cmd/ cmd/
COPY internal/ internal/
COPY sdk/ sdk/
RUN case "${CMD}" in manager|apiserver) CMD="cmd/${CMD}";; esac; \
    test -f "${CMD}/main.go" || { echo "CMD=${CMD} is not a main package folder" >&2; exit 1; }; \
    CGO_ENABLED=0 GOOS=${TARGETOS:-linux} GOARCH=${TARGETARCH} \
    go build -trimpath -ldflags "-s -w -X main.version=${VERSION}" -o /out/app "./${CMD}"

# distroless/static has no shell and no package manager; the binaries are
# static (CGO off) and need only CA certificates and /etc/passwd's nonroot.
FROM gcr.io/distroless/static:nonroot
WORKDIR /
COPY --from=builder /out/app /app
USER 65532:65532
ENTRYPOINT ["/app"]
