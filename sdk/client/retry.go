package client

import (
	"context"
	"errors"
	"net/http"
	"net/url"
	"time"

	"github.com/cenkalti/backoff/v5"
)

// retry runs op under Options.RetryGET. Only answers that a healthy shim
// behind a restarting proxy gives are retried; a 4xx or an envelope with
// result false is the shim's considered answer and is returned at once.
func (c *Client) retry(ctx context.Context, op func() (string, error)) (string, error) {
	ro := c.opts.RetryGET
	b := backoff.NewExponentialBackOff()
	b.InitialInterval = 200 * time.Millisecond
	if ro.InitialInterval > 0 {
		b.InitialInterval = ro.InitialInterval
	}
	b.MaxInterval = 5 * time.Second
	if ro.MaxInterval > 0 {
		b.MaxInterval = ro.MaxInterval
	}
	tries := ro.MaxTries
	if tries == 0 {
		tries = 4
	}
	var last error
	traceID, err := backoff.Retry(ctx, func() (string, error) {
		id, err := op()
		if err != nil && !retryable(ctx, err) {
			return id, backoff.Permanent(err)
		}
		last = err
		return id, err
	}, backoff.WithBackOff(b), backoff.WithMaxTries(tries), backoff.WithMaxElapsedTime(0))
	// backoff returns only the context's error when the context ends between
	// attempts; keep the answer that made us wait, which says more.
	if err != nil && last != nil && ctx.Err() != nil && errors.Is(err, ctx.Err()) {
		return traceID, errors.Join(err, last)
	}
	return traceID, err
}

func retryable(ctx context.Context, err error) bool {
	if ctx.Err() != nil {
		return false
	}
	var apiErr *APIError
	if errors.As(err, &apiErr) {
		switch apiErr.StatusCode {
		case http.StatusTooManyRequests, http.StatusBadGateway, http.StatusServiceUnavailable, http.StatusGatewayTimeout:
			return true
		}
		return false
	}
	// No answer at all (connection refused or reset): the shim may be
	// restarting. Any other error (an undecodable 2xx) would repeat.
	var urlErr *url.Error
	return errors.As(err, &urlErr)
}
