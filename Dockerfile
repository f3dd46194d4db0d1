# Builds one of the project's binaries into a static, non-root image.
#   docker build --build-arg CMD=manager -t bkplugin/bk-plugin-manager .
#   docker build --build-arg CMD=apiserver -t bkplugin/bk-plugin-apiserver .
FROM golang:1.26 AS builder
ARG TARGETOS
ARG TARGETARCH
ARG CMD=manager
WORKDIR /workspace
COPY go.mod go.sum ./
RUN go mod download
COPY api/ api/
COPY controllers/ controllers/
COPY cmd/ cmd/
COPY sdk/ sdk/
RUN CGO_ENABLED=0 GOOS=${TARGETOS:-linux} GOARCH=${TARGETARCH} go build -trimpath -ldflags "-s -w" -o /out/app ./cmd/${CMD}

FROM gcr.io/distroless/static:nonroot
WORKDIR /
COPY --from=builder /out/app /app
USER 65532:65532
ENTRYPOINT ["/app"]
