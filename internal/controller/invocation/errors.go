package invocation

import (
	"errors"

	"strings"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
)

// The invocation reconciler's failures are told apart by type, never by
// their text: the decisions in invocation_decisions.go switch on these.

// statusTooLargeError is a status write the API server refused because the
// object would be too large to store.
type statusTooLargeError struct {
	// err is the API server's answer.
	err error
}

func (e *statusTooLargeError) Error() string { return e.err.Error() }

func (e *statusTooLargeError) Unwrap() error { return e.err }

// statusInvalidError is a status write the API server refused as invalid
// (422): a value the CRD's schema or CEL rules forbid.
type statusInvalidError struct {
	// err is the API server's answer.
	err error
}

func (e *statusInvalidError) Error() string { return e.err.Error() }

func (e *statusInvalidError) Unwrap() error { return e.err }

// classifyStatusWriteError turns the API server's refusal of a status write
// into the reconciler's vocabulary: a statusTooLargeError when the object
// does not fit, a statusInvalidError when the API server found it invalid,
// else err unchanged.
//
// The API server has two ways to say "too large": 413 for a request body
// over its limit, which has a reason of its own, and etcd's request size
// limit ("etcdserver: request is too large"), which reaches the client as a
// status whose message is the only sign. That message is read here, at the
// boundary, so that no decision past it matches text.
func classifyStatusWriteError(err error) error {
	if err == nil {
		return nil
	}
	if apierrors.IsRequestEntityTooLargeError(err) {
		return &statusTooLargeError{err: err}
	}
	var status apierrors.APIStatus
	if errors.As(err, &status) && strings.Contains(status.Status().Message, "too large") {
		return &statusTooLargeError{err: err}
	}
	if apierrors.IsInvalid(err) {
		return &statusInvalidError{err: err}
	}
	return err
}
