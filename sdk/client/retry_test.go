package client

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/bkplugin/bk-plugin-operator/sdk/stdapi"
)

func TestRetryGET(t *testing.T) {
	unavailable := answer{Status: 503, ContentType: "text/html", Body: "<h1>503</h1>"}
	ok := answer{Body: `{"result":true,"data":{"log":"x"},"message":""}`}
	fast := &RetryOptions{MaxTries: 3, InitialInterval: time.Millisecond, MaxInterval: time.Millisecond}
	logs := func(c *Client) error { _, err := c.Logs(context.Background(), "hello", tid); return err }
	invoke := func(c *Client) error {
		_, err := c.Invoke(context.Background(), "hello", "1.0.0", stdapi.InvokeRequest{}, InvokeOptions{})
		return err
	}
	tests := []struct {
		name       string
		retry      *RetryOptions
		script     []answer
		call       func(*Client) error
		wantErr    bool
		wantStatus int
		wantCalls  int
	}{
		{"GET retried past two 503s", fast, []answer{unavailable, unavailable, ok}, logs, false, 0, 3},
		{"GET gives up after MaxTries", fast, []answer{unavailable}, logs, true, 503, 3},
		{"no retries unless asked", nil, []answer{unavailable, ok}, logs, true, 503, 1},
		{"4xx is not retried", fast, []answer{{Status: 404, Body: ""}, ok}, logs, true, 404, 1},
		{"result false is not retried", fast, []answer{{Body: `{"result":false,"data":null,"message":"no"}`}, ok}, logs, true, 200, 1},
		{"POST (invoke) is never retried", fast, []answer{unavailable, ok}, invoke, true, 503, 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			shim := newFakeShim(t, tt.script...)
			err := tt.call(shim.newClient(Options{RetryGET: tt.retry}))
			if (err != nil) != tt.wantErr {
				t.Fatalf("err = %v, wantErr %v", err, tt.wantErr)
			}
			if tt.wantErr {
				var apiErr *APIError
				if !errors.As(err, &apiErr) || apiErr.StatusCode != tt.wantStatus {
					t.Errorf("got %v, want an APIError with status %d", err, tt.wantStatus)
				}
			}
			if n := len(shim.requests()); n != tt.wantCalls {
				t.Errorf("shim got %d requests, want %d", n, tt.wantCalls)
			}
		})
	}
}
