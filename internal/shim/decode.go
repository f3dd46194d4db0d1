package shim

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"unicode/utf8"

	bkv1 "github.com/bkplugin/bk-plugin-operator/api/v1alpha1"
	"github.com/bkplugin/bk-plugin-operator/sdk/stdapi"
)

// readBody reads a request body, saying 413 when it is over the limit.
func readBody(r *http.Request) ([]byte, error) {
	b, err := io.ReadAll(r.Body)
	if err != nil {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			return nil, errorf(http.StatusRequestEntityTooLarge, "request body is larger than %d bytes", tooBig.Limit)
		}
		var ae *apiError
		if errors.As(err, &ae) {
			return nil, err // too slow (deadlineBody): 408
		}
		return nil, errorf(http.StatusBadRequest, "read request body: %v", err)
	}
	return b, nil
}

// decodeObject decodes a body that must be one JSON object into v, with a
// message that names what is wrong: a platform developer reads it.
func decodeObject(body []byte, what string, v any) error {
	trimmed := bytes.TrimSpace(body)
	if len(trimmed) == 0 {
		return errorf(http.StatusBadRequest, "%s: body is empty; want a JSON object", what)
	}
	if trimmed[0] != '{' {
		return errorf(http.StatusBadRequest, "%s: body must be a JSON object, got %s", what, preview(trimmed))
	}
	dec := json.NewDecoder(bytes.NewReader(trimmed))
	if err := dec.Decode(v); err != nil {
		var typeErr *json.UnmarshalTypeError
		if errors.As(err, &typeErr) && typeErr.Field != "" {
			return errorf(http.StatusBadRequest, "%s: field %s must be a JSON %s, got %s", what, typeErr.Field, jsonKind(typeErr.Type.Kind().String()), typeErr.Value)
		}
		return errorf(http.StatusBadRequest, "%s: body is not valid JSON: %v", what, err)
	}
	if dec.More() {
		return errorf(http.StatusBadRequest, "%s: body holds more than one JSON value", what)
	}
	return nil
}

func jsonKind(goKind string) string {
	switch goKind {
	case "string":
		return "string"
	case "bool":
		return "boolean"
	case "slice", "array":
		return "array"
	case "map", "struct":
		return "object"
	default:
		return "number"
	}
}

// decodeInvoke reads and checks an invoke body: both inputs and context must
// be JSON objects, as the Python framework's serializer requires.
func decodeInvoke(body []byte) (stdapi.InvokeRequest, error) {
	var req stdapi.InvokeRequest
	if err := decodeObject(body, "invalid invoke body", &req); err != nil {
		return req, err
	}
	if err := req.Validate(); err != nil {
		return req, errorf(http.StatusBadRequest, "invalid invoke body: %v", err)
	}
	// Checked on the whole body once it is known to be one valid object.
	if err := checkJSONValues(body, "invalid invoke body"); err != nil {
		return req, err
	}
	return req, nil
}

// decodeDispatch reads and checks a plugin_api_dispatch body.
func decodeDispatch(body []byte) (stdapi.PluginAPIDispatchRequest, error) {
	var req stdapi.PluginAPIDispatchRequest
	if err := decodeObject(body, "invalid plugin_api_dispatch body", &req); err != nil {
		return req, err
	}
	if err := req.Validate(); err != nil {
		return req, errorf(http.StatusBadRequest, "invalid plugin_api_dispatch body: %v", err)
	}
	return req, nil
}

// callerOf returns who is calling: the app code and username are the
// verified identity's (identityFrom), never the caller's own headers; the
// scope is the caller's Bkplugin-Scope-* headers, each at most once (a
// header sent twice would let a proxy and the shim read different
// values). The limits are those of the CRD's Caller fields, so that a long
// value is refused here, by name, instead of by the API server.
func callerOf(r *http.Request) (bkv1.Caller, error) {
	id := identityFrom(r.Context())
	c := bkv1.Caller{AppCode: id.AppCode, Username: id.Username}
	for _, h := range []string{stdapi.HeaderScopeType, stdapi.HeaderScopeValue} {
		if n := len(r.Header.Values(h)); n > 1 {
			return bkv1.Caller{}, errorf(http.StatusForbidden, "header %s sent %d times; send it once", h, n)
		}
	}
	c.ScopeType, c.ScopeValue = r.Header.Get(stdapi.HeaderScopeType), r.Header.Get(stdapi.HeaderScopeValue)
	for _, l := range []struct {
		name, value string
		max         int
	}{
		{"app code", c.AppCode, 64},
		{"username", c.Username, 256},
		{"header " + stdapi.HeaderScopeType, c.ScopeType, 64},
		{"header " + stdapi.HeaderScopeValue, c.ScopeValue, 256},
	} {
		if utf8.RuneCountInString(l.value) > l.max {
			return bkv1.Caller{}, errorf(http.StatusBadRequest, "%s is longer than %d characters", l.name, l.max)
		}
	}
	return c, nil
}

// invokeTraceID returns the trace id an invoke names its invocation with:
// the request's (newRequestInfo), which is the caller's when given, making
// the invoke idempotent, or a fresh one. A trace id header that is not
// valid is refused rather than replaced, because the caller counts on it to
// make a retry safe.
func invokeTraceID(r *http.Request) (string, error) {
	if id := r.Header.Get(stdapi.HeaderTraceID); id != "" && !stdapi.ValidTraceID(id) {
		return "", errorf(http.StatusBadRequest, "header %s %q is not %d lowercase hex characters", stdapi.HeaderTraceID, id, stdapi.TraceIDLength)
	}
	id := infoOf(r).traceID
	if id == "" {
		return "", errors.New("generate trace id: no randomness")
	}
	return id, nil
}

// asyncRequested reads the X-Bkplugin-Async header.
func asyncRequested(r *http.Request) (bool, error) {
	v := r.Header.Get(stdapi.HeaderAsync)
	switch v {
	case "", "false", "0":
		return false, nil
	case "true", "1":
		return true, nil
	}
	return false, errorf(http.StatusBadRequest, "header %s must be true or false, got %q", stdapi.HeaderAsync, v)
}
