package shim

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"

	bkv1 "github.com/bkplugin/bk-plugin-operator/api/v1alpha1"
	"github.com/bkplugin/bk-plugin-operator/sdk/protocol"
	"github.com/bkplugin/bk-plugin-operator/sdk/stdapi"
)

// maxPluginAPIAnswerBytes bounds what is read of a plugin API's answer.
const maxPluginAPIAnswerBytes = 8 << 20

// dispatcher forwards plugin_api_dispatch calls to a plugin pod's own APIs.
type dispatcher struct {
	versions *versionService
	pods     pods
	http     *http.Client
}

// dispatchCall is one plugin_api_dispatch call.
type dispatchCall struct {
	Code    string
	Request stdapi.PluginAPIDispatchRequest
	// Files are the files of a multipart dispatch, forwarded as they came.
	Files   []dispatchFile
	TraceID string
	// Caller is the verified caller (callerOf), checked against the
	// plugin's allow_scope like an invoke.
	Caller bkv1.Caller
	// Header is what the plugin API receives (pluginAPIHeaders): the
	// caller's Bk-Plugin-* headers and the verified identity.
	Header http.Header
}

// dispatch calls the plugin API on the pod of the plugin's newest Ready
// version and returns its JSON answer unchanged. As in the Python
// framework, the API's own status is not the dispatch's: an API that
// answers 400 with a JSON body is answered 200 with that body as data.
// Only a path with no API is 404.
func (d *dispatcher) dispatch(ctx context.Context, call dispatchCall) (json.RawMessage, error) {
	if err := call.Request.Validate(); err != nil {
		return nil, errorf(http.StatusBadRequest, "invalid plugin_api_dispatch body: %v", err)
	}
	// "*" resolves to the newest Ready version, or the newest when none is
	// Ready yet; plugin APIs are not versioned, so that is the one to ask.
	plv, err := d.versions.resolve(ctx, call.Code, "*")
	if err != nil {
		return nil, err
	}
	// The Python framework checks dispatch with the same permission as
	// invoke: a plugin API may act for the app as much as an execute.
	if err := checkScope(plv.Spec.AllowScopes, call.Caller.AppCode, call.Caller.ScopeType, call.Caller.ScopeValue); err != nil {
		return nil, err
	}
	base, err := d.pods.endpoint(plv)
	if err != nil {
		return nil, errorf(http.StatusBadGateway, "%v", err)
	}
	req, err := d.buildRequest(ctx, base, call)
	if err != nil {
		return nil, err
	}
	resp, err := d.http.Do(req)
	if err != nil {
		return nil, errorf(http.StatusBadGateway, "plugin pod %s of plugin %s did not answer: %v", base, call.Code, err)
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(io.LimitReader(resp.Body, maxPluginAPIAnswerBytes+1))
	if err != nil {
		return nil, errorf(http.StatusBadGateway, "read the answer of plugin pod %s: %v", base, err)
	}
	if len(raw) > maxPluginAPIAnswerBytes {
		return nil, errorf(http.StatusBadGateway, "plugin API %s answered more than %d bytes", call.Request.URL, maxPluginAPIAnswerBytes)
	}
	if resp.StatusCode == http.StatusNotFound && resp.Header.Get(protocol.HeaderNoRoute) == "true" {
		return nil, errorf(http.StatusNotFound, "404 error: %s (plugin %s has no such API)", call.Request.URL, call.Code)
	}
	raw = bytes.TrimSpace(raw)
	ok := resp.StatusCode >= 200 && resp.StatusCode < 300
	switch {
	case ok && len(raw) == 0:
		return json.RawMessage("null"), nil
	case json.Valid(raw) && len(raw) > 0 && resp.StatusCode < 500:
		// The API's own refusal (400 with a reason, 404 for a record it
		// does not have): its body is the answer, as the Python framework
		// answers resp.data whatever resp's status.
		return raw, nil
	case !ok:
		return nil, errorf(http.StatusBadGateway, "plugin API %s on pod %s answered %d: %s", call.Request.URL, base, resp.StatusCode, preview(raw))
	}
	return nil, errorf(http.StatusBadGateway, "plugin API %s on pod %s answered something that is not JSON: %s", call.Request.URL, base, preview(raw))
}

// buildRequest turns the dispatch body into the request to the pod: data
// becomes the query of a GET and the JSON body of a POST, as Django's
// RequestFactory does in the Python framework; with files, a multipart
// body of data's fields and the files.
func (d *dispatcher) buildRequest(ctx context.Context, base string, call dispatchCall) (*http.Request, error) {
	u, err := url.Parse(call.Request.URL)
	if err != nil || u.Scheme != "" || u.Host != "" {
		return nil, errorf(http.StatusBadRequest, "invalid plugin_api_dispatch body: url %q must be a path such as %stask_list/1", call.Request.URL, stdapi.PluginAPIPrefix)
	}
	if strings.Contains(u.Path, "/../") || strings.HasSuffix(u.Path, "/..") {
		return nil, errorf(http.StatusBadRequest, "invalid plugin_api_dispatch body: url %q must not climb out of %s", call.Request.URL, stdapi.PluginAPIPrefix)
	}
	data, err := call.Request.MergedData()
	if err != nil {
		return nil, errorf(http.StatusBadRequest, "invalid plugin_api_dispatch body: %v", err)
	}
	method := strings.ToUpper(call.Request.Method)
	var body io.Reader
	var contentType string
	switch {
	case len(call.Files) > 0:
		b, ct, err := multipartBody(data, call.Files)
		if err != nil {
			return nil, err
		}
		body, contentType = bytes.NewReader(b), ct
	case method == http.MethodGet:
		q := u.Query()
		for k, v := range data {
			q.Set(k, queryValue(v))
		}
		u.RawQuery = q.Encode()
	default:
		b, err := json.Marshal(data)
		if err != nil {
			return nil, fmt.Errorf("encode plugin API body: %w", err)
		}
		body, contentType = bytes.NewReader(b), "application/json"
	}
	target := base + u.EscapedPath()
	if u.RawQuery != "" {
		target += "?" + u.RawQuery
	}
	req, err := http.NewRequestWithContext(ctx, method, target, body)
	if err != nil {
		return nil, errorf(http.StatusBadRequest, "invalid plugin_api_dispatch body: url %q: %v", call.Request.URL, err)
	}
	for k, vs := range call.Header {
		req.Header[k] = append([]string(nil), vs...)
	}
	// The body names the user, on the verified app's word, as in the
	// Python framework (its DummyUser); set after the headers, so that
	// only the body speaks for the user.
	req.Header.Set(protocol.HeaderUsername, call.Request.Username)
	req.Header.Set(protocol.HeaderTraceID, call.TraceID)
	req.Header.Set("Accept", "application/json")
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	return req, nil
}

// queryValue writes a JSON string as itself and anything else as its JSON
// text, the way Python's str() would write a number.
func queryValue(v json.RawMessage) string {
	var s string
	if json.Unmarshal(v, &s) == nil {
		return s
	}
	return string(v)
}

// preview shortens an answer for a message.
func preview(b []byte) string {
	const max = 200
	s := strings.TrimSpace(string(b))
	if len(s) > max {
		return s[:max] + "..."
	}
	return s
}
