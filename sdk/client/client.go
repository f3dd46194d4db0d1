package client

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"mime"
	"net/http"
	"net/url"
	"strings"

	"github.com/bkplugin/bk-plugin-operator/sdk/stdapi"
)

// maxAnswerBytes bounds how much of an answer is read, so that a confused
// proxy streaming garbage cannot exhaust the platform's memory.
const maxAnswerBytes = 32 << 20

// Client calls the standard plugin API of one shim. It is safe for
// concurrent use.
type Client struct {
	base *url.URL
	http *http.Client
	opts Options
}

// New returns a client of the shim at baseURL, the shim's root such as
// "http://bk-plugin-apiserver:8080" (a path prefix is kept, for shims behind
// a gateway).
func New(baseURL string, opts Options) (*Client, error) {
	u, err := url.Parse(baseURL)
	if err != nil {
		return nil, fmt.Errorf("parse base URL %q: %w", baseURL, err)
	}
	if (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("base URL %q must be an absolute http or https URL such as http://shim:8080", baseURL)
	}
	if u.RawQuery != "" || u.Fragment != "" {
		return nil, fmt.Errorf("base URL %q must not have a query or fragment", baseURL)
	}
	u.Path = strings.TrimSuffix(u.Path, "/")
	u.RawPath = ""
	hc := opts.HTTPClient
	if hc == nil {
		hc = &http.Client{}
	}
	return &Client{base: u, http: hc, opts: opts}, nil
}

// request is one call to the shim.
type request struct {
	method string
	// path is a stdapi path, already escaped; ignored when url is set.
	path string
	// url is an absolute URL to call instead of base+path (callbacks).
	url string
	// body is marshalled to JSON when not nil.
	body any
	// header adds to the default headers.
	header http.Header
	// scope overrides Options.Scope when not nil.
	scope *Scope
}

func (c *Client) urlFor(r request) string {
	if r.url != "" {
		return r.url
	}
	return c.base.String() + r.path
}

// call sends r and decodes the envelope's data into out (when out is not
// nil). It returns the envelope's trace_id.
func (c *Client) call(ctx context.Context, r request, out any) (string, error) {
	if c.opts.Timeout >= 0 {
		timeout := c.opts.Timeout
		if timeout == 0 {
			timeout = DefaultTimeout
		}
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, timeout)
		defer cancel()
	}
	var body []byte
	if r.body != nil {
		b, err := json.Marshal(r.body)
		if err != nil {
			return "", fmt.Errorf("encode %s %s body: %w", r.method, c.urlFor(r), err)
		}
		body = b
	}
	if r.method == http.MethodGet && c.opts.RetryGET != nil {
		return c.retry(ctx, func() (string, error) { return c.once(ctx, r, body, out) })
	}
	return c.once(ctx, r, body, out)
}

// once makes one attempt of a call.
func (c *Client) once(ctx context.Context, r request, body []byte, out any) (string, error) {
	target := c.urlFor(r)
	var rd io.Reader
	if body != nil {
		rd = bytes.NewReader(body)
	}
	req, err := http.NewRequestWithContext(ctx, r.method, target, rd)
	if err != nil {
		return "", fmt.Errorf("build request %s %s: %w", r.method, target, err)
	}
	c.setHeaders(req, r)
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}

	resp, err := c.http.Do(req)
	if err != nil {
		// *url.Error already names the method and the URL.
		return "", err
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(io.LimitReader(resp.Body, maxAnswerBytes+1))
	if err != nil {
		return "", fmt.Errorf("read answer of %s %s (status %d): %w", r.method, target, resp.StatusCode, err)
	}
	if len(raw) > maxAnswerBytes {
		return "", fmt.Errorf("answer of %s %s is larger than %d bytes", r.method, target, maxAnswerBytes)
	}
	return decodeAnswer(resp, raw, r.method, target, out)
}

// setHeaders adds the client's identity. Credentials go only to the shim's
// own host, since a callback URL may point anywhere.
func (c *Client) setHeaders(req *http.Request, r request) {
	req.Header.Set("Accept", "application/json")
	ua := c.opts.UserAgent
	if ua == "" {
		ua = "bk-plugin-operator-client"
	}
	req.Header.Set("User-Agent", ua)
	if req.URL.Scheme == c.base.Scheme && req.URL.Host == c.base.Host {
		if c.opts.BearerToken != "" {
			req.Header.Set("Authorization", "Bearer "+c.opts.BearerToken)
		}
		if c.opts.AppCode != "" {
			req.Header.Set(stdapi.HeaderAppCode, c.opts.AppCode)
		}
		if c.opts.Username != "" {
			req.Header.Set(stdapi.HeaderUsername, c.opts.Username)
		}
	}
	scope := c.opts.Scope
	if r.scope != nil {
		scope = *r.scope
	}
	if !scope.isZero() {
		req.Header.Set(stdapi.HeaderScopeType, scope.Type)
		req.Header.Set(stdapi.HeaderScopeValue, scope.Value)
	}
	for k, vs := range r.header {
		for _, v := range vs {
			req.Header.Add(k, v)
		}
	}
}

// decodeAnswer turns an answer into data or an error. A non-2xx answer is an
// APIError whatever its body: the envelope's message when there is one, else
// a description of what came back (proxies answer HTML, the Python framework
// answers an empty 404 for an unknown version).
func decodeAnswer(resp *http.Response, raw []byte, method, target string, out any) (string, error) {
	var env stdapi.RawEnvelope
	envErr := decodeEnvelope(raw, &env)
	ok := resp.StatusCode >= 200 && resp.StatusCode < 300
	if !ok {
		apiErr := &APIError{StatusCode: resp.StatusCode, Method: method, URL: target}
		switch {
		case envErr != nil:
			apiErr.Message = describeNonEnvelope(resp, raw)
		case env.Message == "":
			apiErr.Message = "the envelope gives no message"
			apiErr.TraceID = env.TraceID
		default:
			apiErr.Message = env.Message
			apiErr.TraceID = env.TraceID
		}
		return env.TraceID, apiErr
	}
	if envErr != nil {
		return "", fmt.Errorf("%s %s: status %d but the answer is not a standard API envelope: %w; got %s",
			method, target, resp.StatusCode, envErr, describeNonEnvelope(resp, raw))
	}
	if !env.Result {
		msg := env.Message
		if msg == "" {
			msg = "result is false and the answer gives no message"
		}
		return env.TraceID, &APIError{StatusCode: resp.StatusCode, Message: msg, TraceID: env.TraceID, Method: method, URL: target}
	}
	if out != nil && len(env.Data) > 0 && string(env.Data) != "null" {
		if err := json.Unmarshal(env.Data, out); err != nil {
			return env.TraceID, fmt.Errorf("%s %s: decode data of the answer: %w", method, target, err)
		}
	}
	return env.TraceID, nil
}

// decodeEnvelope insists on a JSON object with a result field: a JSON answer
// of some other shape is as wrong as HTML.
func decodeEnvelope(raw []byte, env *stdapi.RawEnvelope) error {
	var probe map[string]json.RawMessage
	if err := json.Unmarshal(raw, &probe); err != nil {
		return fmt.Errorf("not a JSON object: %w", err)
	}
	if _, ok := probe["result"]; !ok {
		return fmt.Errorf("JSON object without a result field")
	}
	if err := json.Unmarshal(raw, env); err != nil {
		return fmt.Errorf("envelope fields have the wrong types: %w", err)
	}
	return nil
}

// describeNonEnvelope summarises an answer that is not an envelope, for an
// operator reading the error.
func describeNonEnvelope(resp *http.Response, raw []byte) string {
	body := strings.TrimSpace(string(raw))
	if body == "" {
		return "empty body"
	}
	ct := resp.Header.Get("Content-Type")
	if mt, _, err := mime.ParseMediaType(ct); err == nil {
		ct = mt
	}
	const max = 200
	if len(body) > max {
		body = body[:max] + "..."
	}
	if ct == "" {
		ct = "no content type"
	}
	return fmt.Sprintf("non-envelope answer (%s): %q", ct, body)
}
