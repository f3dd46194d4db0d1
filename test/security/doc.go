// Package security holds tests that read the repository's deployment
// artefacts and code: the generated RBAC grants exactly the verbs the code
// uses (least privilege), the Deployments and the image run as non-root, and
// no secret reaches a log. They need no control plane and run in go test ./...
package security
