package pluginexec

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

// DefaultTimeout bounds an execute when the version sets no timeoutSeconds.
const DefaultTimeout = 30 * time.Second

// CallError is a failed call to a plugin pod.
type CallError struct {
	// Endpoint is the URL called.
	Endpoint string
	// Cause says what went wrong.
	Cause error
	// Retryable is true for transport failures (refused, reset, timeout,
	// 5xx, 429) that another attempt may get past; false for answers that
	// break the protocol, which a retry would only repeat.
	Retryable bool
	// Timeout is true when the call got no answer within its timeout.
	Timeout bool
	// Unanswered is true when the pod gave no answer at all (refused,
	// reset, unreachable, timed out): the endpoint may be dead, which the
	// version's Ready condition should say soon (the manager's needsReprobe).
	Unanswered bool
}

// TimedOut reports whether a failed call to a plugin pod got no answer in
// time (a CallError with Timeout set).
func TimedOut(err error) bool {
	var ce *CallError
	return errors.As(err, &ce) && ce.Timeout
}

// isTimeout reports whether a transport error is a timeout.
func isTimeout(err error) bool {
	var ne net.Error
	return errors.Is(err, context.DeadlineExceeded) || (errors.As(err, &ne) && ne.Timeout())
}

func (e *CallError) Error() string {
	return fmt.Sprintf("calling plugin pod %s: %v", e.Endpoint, e.Cause)
}

// Unwrap returns the cause.
func (e *CallError) Unwrap() error { return e.Cause }

// Retryable reports whether a failed call to a plugin pod may succeed if
// made again (a transport failure), as opposed to an answer that breaks the
// protocol, which another attempt would only repeat.
func Retryable(err error) bool {
	var ce *CallError
	return errors.As(err, &ce) && ce.Retryable
}

// AnswerTooLargeError is a plugin pod answer longer than the caller reads:
// outputs and storage that could never fit in status.
type AnswerTooLargeError struct {
	// Limit is the number of bytes read at most.
	Limit int64
}

func (e *AnswerTooLargeError) Error() string {
	return fmt.Sprintf("storage too large: the answer exceeds %d bytes", e.Limit)
}

// Caller calls plugin pods over the plugin pod protocol. Its zero value is
// not usable; fill HTTP (NewPooledHTTPClient wrapped by WithoutRedirects)
// and MaxAnswerBytes.
type Caller struct {
	// HTTP makes the calls; it must follow no redirects (WithoutRedirects).
	HTTP *http.Client
	// MaxAnswerBytes bounds the answer read from a pod.
	MaxAnswerBytes int64
	// Token, when set, proves to plugin pods that an execute comes from
	// the operator (protocol.ExecuteTokenEnv).
	Token func() string
}

// MaxAnswerBytesFor is how much of an answer is read when status may hold
// maxStatusBytes of outputs and storage: room for both plus the envelope.
func MaxAnswerBytesFor(maxStatusBytes int) int64 {
	return int64(maxStatusBytes)*2 + 64<<10
}

// NewPooledHTTPClient returns a client that keeps connections to plugin pods
// open: executes are frequent and small, and a new TCP connection per call
// would cost more than the call.
func NewPooledHTTPClient() *http.Client {
	t := http.DefaultTransport.(*http.Transport).Clone()
	t.MaxIdleConns = 1024
	t.MaxIdleConnsPerHost = 256
	t.IdleConnTimeout = 90 * time.Second
	return &http.Client{Transport: t}
}

// WithoutRedirects returns a copy of c that follows no redirect: an execute
// carries the invocation's callback key and its inputs, and a plugin pod
// answering 307 must not get them re-sent to an address of its choosing.
// The redirect comes back as the answer, which Execute refuses.
func WithoutRedirects(c *http.Client) *http.Client {
	cp := *c
	cp.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	return &cp
}

// Execute posts req to the pod at baseURL and decodes its answer. Every
// failure is a *CallError, retryable or not.
func (c *Caller) Execute(ctx context.Context, baseURL string, req *protocol.ExecuteRequest, timeout time.Duration) (*protocol.ExecuteResponse, error) {
	endpoint := baseURL + protocol.ExecutePathPrefix + url.PathEscape(req.PluginVersion)
	body, err := json.Marshal(req)
	if err != nil {
		return nil, &CallError{Endpoint: endpoint, Cause: fmt.Errorf("encode execute request: %w", err)}
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	hreq, err := http.NewRequestWithContext(ctx, http.MethodPost, endpoint, bytes.NewReader(body))
	if err != nil {
		return nil, &CallError{Endpoint: endpoint, Cause: err}
	}
	hreq.Header.Set("Content-Type", "application/json")
	hreq.Header.Set(protocol.HeaderTraceID, req.TraceID)
	if c.Token != nil {
		if tok := c.Token(); tok != "" {
			hreq.Header.Set("Authorization", "Bearer "+tok)
		}
	}

	resp, err := c.HTTP.Do(hreq)
	if err != nil {
		return nil, &CallError{Endpoint: endpoint, Cause: transportCause(err, timeout), Retryable: true, Timeout: isTimeout(err), Unanswered: true}
	}
	defer func() { _ = resp.Body.Close() }()
	raw, err := io.ReadAll(io.LimitReader(resp.Body, c.MaxAnswerBytes+1))
	if err != nil {
		return nil, &CallError{Endpoint: endpoint, Cause: fmt.Errorf("read answer: %w", transportCause(err, timeout)), Retryable: true, Timeout: isTimeout(err), Unanswered: true}
	}
	if int64(len(raw)) > c.MaxAnswerBytes {
		return nil, &CallError{Endpoint: endpoint, Cause: &AnswerTooLargeError{Limit: c.MaxAnswerBytes}}
	}
	switch {
	case resp.StatusCode >= 300 && resp.StatusCode < 400:
		return nil, &CallError{Endpoint: endpoint, Cause: fmt.Errorf(
			"HTTP %d redirect to %q refused: plugin pods are never followed to another address", resp.StatusCode, resp.Header.Get("Location"))}
	case resp.StatusCode >= 500 || resp.StatusCode == http.StatusTooManyRequests:
		return nil, &CallError{Endpoint: endpoint, Cause: fmt.Errorf("HTTP %d: %s", resp.StatusCode, versions.AnswerText(raw)), Retryable: true}
	case resp.StatusCode != http.StatusOK:
		return nil, &CallError{Endpoint: endpoint, Cause: fmt.Errorf("HTTP %d: %s", resp.StatusCode, versions.AnswerText(raw))}
	}
	var answer protocol.ExecuteResponse
	if err := json.Unmarshal(raw, &answer); err != nil {
		return nil, &CallError{Endpoint: endpoint, Cause: fmt.Errorf("answer breaks the plugin pod protocol: %w", err)}
	}
	return &answer, nil
}

// Timeout is how long one execute of plv may take: its timeoutSeconds, else
// DefaultTimeout.
func Timeout(seconds *int32) time.Duration {
	if seconds != nil {
		return time.Duration(*seconds) * time.Second
	}
	return DefaultTimeout
}

// transportCause names a transport failure in words an operator acts on.
func transportCause(err error, timeout time.Duration) error {
	if isTimeout(err) {
		return fmt.Errorf("no answer within the %s timeout: %w", timeout, err)
	}
	return err
}
