package client

import (
	"errors"
	"fmt"
	"net/http"
	"strings"

	"github.com/bkplugin/bk-plugin-operator/sdk/stdapi"
)

// APIError is a failure answered by the shim (or by a proxy in front of it):
// a non-2xx status, or a 2xx envelope with result false.
type APIError struct {
	// StatusCode is the HTTP status of the answer.
	StatusCode int
	// Message is the envelope's message, or a description of a non-envelope
	// answer (an HTML error page from a proxy, an empty 404).
	Message string
	// TraceID is the envelope's trace_id, when it had one: for a failed
	// invoke it names the invocation the shim may still have recorded.
	TraceID string
	// Method and URL are the request that got this answer.
	Method, URL string
}

// Error says what was called, the status, and the message.
func (e *APIError) Error() string {
	msg := fmt.Sprintf("%s %s: %d %s: %s", e.Method, e.URL, e.StatusCode, http.StatusText(e.StatusCode), e.Message)
	if e.TraceID != "" {
		msg += " (trace_id " + e.TraceID + ")"
	}
	return msg
}

// IsNotFound reports whether err is an APIError with status 404, as the shim
// answers for an unknown plugin or version, or the schedule answer for an
// unknown trace id (200, result false, "can not find schedule for
// trace_id ...", as the Python framework answers it).
func IsNotFound(err error) bool {
	var apiErr *APIError
	if !errors.As(err, &apiErr) {
		return false
	}
	return apiErr.StatusCode == http.StatusNotFound ||
		(apiErr.StatusCode == http.StatusOK && strings.HasPrefix(apiErr.Message, stdapi.ScheduleNotFoundPrefix))
}
