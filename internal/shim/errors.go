package shim

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
)

// apiError is a failure the caller is told about as it is: a status and a
// message that names the problem.
type apiError struct {
	status int
	msg    string
}

func (e *apiError) Error() string { return e.msg }

// errorf returns an apiError with status.
func errorf(status int, format string, args ...any) error {
	return &apiError{status: status, msg: fmt.Sprintf(format, args...)}
}

// kubeError marks an error from the Kubernetes API or the informer cache, so
// that it answers 503 (or what the API server said about the request) and
// never 500: the shim did nothing wrong when the API server is away.
type kubeError struct {
	op  string
	err error
}

func (e *kubeError) Error() string { return e.op + ": " + e.err.Error() }
func (e *kubeError) Unwrap() error { return e.err }

// kubeErr wraps err from the Kubernetes layer with what the shim was doing.
func kubeErr(err error, format string, args ...any) error {
	if err == nil {
		return nil
	}
	return &kubeError{op: fmt.Sprintf(format, args...), err: err}
}

// statusOf returns the HTTP status and message that err answers. Only errors
// that are neither the caller's nor the Kubernetes API's answer 500: those
// are bugs in the shim.
func statusOf(err error) (int, string) {
	var ae *apiError
	if errors.As(err, &ae) {
		return ae.status, ae.msg
	}
	var ke *kubeError
	if errors.As(err, &ke) {
		if storageTooLarge(ke.err) {
			return http.StatusRequestEntityTooLarge, "object too large to store (the API server's request limit, 1.5 MiB by default): " + ke.Error()
		}
		return kubeStatus(ke.err), "Kubernetes API: " + ke.Error()
	}
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return http.StatusServiceUnavailable, err.Error()
	}
	return http.StatusInternalServerError, "internal error: " + err.Error()
}

// kubeStatus maps an error from the API server or the cache to a status.
// What the API server refused because of the request itself (too large,
// invalid) is the caller's mistake; everything else means the shim cannot
// reach or use the API right now, which is worth a retry: 503.
func kubeStatus(err error) int {
	switch {
	case apierrors.IsNotFound(err):
		return http.StatusNotFound
	case apierrors.IsInvalid(err), apierrors.IsBadRequest(err):
		return http.StatusBadRequest
	case apierrors.IsRequestEntityTooLargeError(err), storageTooLarge(err):
		return http.StatusRequestEntityTooLarge
	case apierrors.IsConflict(err), apierrors.IsAlreadyExists(err):
		return http.StatusConflict
	}
	return http.StatusServiceUnavailable
}

// storageTooLarge recognises an object that etcd refused for its size: the
// API server passes that on as an internal error, not as 413, but a retry
// would only be refused again, so it must not answer 503.
func storageTooLarge(err error) bool {
	if !apierrors.IsInternalError(err) && !strings.Contains(err.Error(), "ResourceExhausted") {
		return false
	}
	msg := err.Error()
	return strings.Contains(msg, "request is too large") || strings.Contains(msg, "larger than max")
}
