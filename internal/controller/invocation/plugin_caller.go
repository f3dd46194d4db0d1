package invocation

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"time"

	"github.com/bkplugin/bk-plugin-operator/internal/versions"
	"github.com/bkplugin/bk-plugin-operator/sdk/protocol"
)

// callError is a failed call to a plugin pod.
type callError struct {
	// Endpoint is the URL called.
	Endpoint string
	// Cause says what went wrong.
	Cause error
	// Retryable is true for transport failures (refused, reset, timeout,
	// 5xx, 429) that another attempt may get past; false for answers that
	// break the protocol, which a retry would only repeat.
	Retryable bool
	// Unanswered is true when the pod gave no answer at all (refused,
	// reset, unreachable, timed out): the endpoint may be dead, which the
	// version's Ready condition should say soon (needsReprobe).
	Unanswered bool
	// Timeout is true when the call got no answer within its timeout.
	Timeout bool
}

// timedOut reports whether a failed call to a plugin pod got no answer in
// time (a callError with Timeout set).
func timedOut(callErr error) bool {
	var ce *callError
	return errors.As(callErr, &ce) && ce.Timeout
}

// isTimeout reports whether a transport error is a timeout.
func isTimeout(err error) bool {
	var ne net.Error
	return errors.Is(err, context.DeadlineExceeded) || (errors.As(err, &ne) && ne.Timeout())
}

func (e *callError) Error() string {
	return fmt.Sprintf("calling plugin pod %s: %v", e.Endpoint, e.Cause)
}

func (e *callError) Unwrap() error { return e.Cause }

// pluginCaller calls plugin pods over the plugin pod protocol.
type pluginCaller struct {
	http *http.Client
	// maxAnswerBytes bounds the answer read from a pod.
	maxAnswerBytes int64
	// token, when set, proves to plugin pods that an execute comes from
	// the manager (protocol.ExecuteTokenEnv).
	token func() string
}

// newPooledHTTPClient returns a client that keeps connections to plugin pods
// open: executes are frequent and small, and a new TCP connection per call
// would cost more than the call.
func newPooledHTTPClient() *http.Client {
	t := http.DefaultTransport.(*http.Transport).Clone()
	t.MaxIdleConns = 1024
	t.MaxIdleConnsPerHost = 256
	t.IdleConnTimeout = 90 * time.Second
	return &http.Client{Transport: t}
}

// withoutRedirects returns a copy of c that follows no redirect: an execute
// carries the invocation's callback key and its inputs, and a plugin pod
// answering 307 must not get them re-sent to an address of its choosing.
// The redirect comes back as the answer, which execute refuses.
func withoutRedirects(c *http.Client) *http.Client {
	cp := *c
	cp.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	return &cp
}

// execute posts req to the pod at baseURL and decodes its answer.
func (c *pluginCaller) execute(ctx context.Context, baseURL string, req *protocol.ExecuteRequest, timeout time.Duration) (*protocol.ExecuteResponse, error) {
	endpoint := baseURL + protocol.ExecutePathPrefix + url.PathEscape(req.PluginVersion)
	body, err := json.Marshal(req)
	if err != nil {
		return nil, &callError{Endpoint: endpoint, Cause: fmt.Errorf("encode execute request: %w", err)}
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	hreq, err := http.NewRequestWithContext(ctx, http.MethodPost, endpoint, bytes.NewReader(body))
	if err != nil {
		return nil, &callError{Endpoint: endpoint, Cause: err}
	}
	hreq.Header.Set("Content-Type", "application/json")
	hreq.Header.Set(protocol.HeaderTraceID, req.TraceID)
	if c.token != nil {
		if tok := c.token(); tok != "" {
			hreq.Header.Set("Authorization", "Bearer "+tok)
		}
	}

	resp, err := c.http.Do(hreq)
	if err != nil {
		return nil, &callError{Endpoint: endpoint, Cause: transportCause(err, timeout), Retryable: true, Unanswered: true, Timeout: isTimeout(err)}
	}
	defer func() { _ = resp.Body.Close() }()
	raw, err := io.ReadAll(io.LimitReader(resp.Body, c.maxAnswerBytes+1))
	if err != nil {
		return nil, &callError{Endpoint: endpoint, Cause: fmt.Errorf("read answer: %w", transportCause(err, timeout)), Retryable: true, Unanswered: true, Timeout: isTimeout(err)}
	}
	if int64(len(raw)) > c.maxAnswerBytes {
		return nil, &callError{Endpoint: endpoint, Cause: &answerTooLargeError{limit: c.maxAnswerBytes}}
	}
	switch {
	case resp.StatusCode >= 300 && resp.StatusCode < 400:
		return nil, &callError{Endpoint: endpoint, Cause: fmt.Errorf(
			"HTTP %d redirect to %q refused: the manager follows no redirects from plugin pods", resp.StatusCode, resp.Header.Get("Location"))}
	case resp.StatusCode >= 500 || resp.StatusCode == http.StatusTooManyRequests:
		return nil, &callError{Endpoint: endpoint, Cause: fmt.Errorf("HTTP %d: %s", resp.StatusCode, versions.AnswerText(raw)), Retryable: true}
	case resp.StatusCode != http.StatusOK:
		return nil, &callError{Endpoint: endpoint, Cause: fmt.Errorf("HTTP %d: %s", resp.StatusCode, versions.AnswerText(raw))}
	}
	var answer protocol.ExecuteResponse
	if err := json.Unmarshal(raw, &answer); err != nil {
		return nil, &callError{Endpoint: endpoint, Cause: fmt.Errorf("answer breaks the plugin pod protocol: %w", err)}
	}
	return &answer, nil
}

// transportCause names a transport failure in words an operator acts on.
func transportCause(err error, timeout time.Duration) error {
	if isTimeout(err) {
		return fmt.Errorf("no answer within the %s timeout: %w", timeout, err)
	}
	return err
}
