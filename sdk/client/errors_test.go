package client

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/bkplugin/bk-plugin-operator/sdk/stdapi"
)

func TestFailedAnswers(t *testing.T) {
	invoke := func(ctx context.Context, c *Client) error {
		_, err := c.Invoke(ctx, "hello", "1.0.0", stdapi.InvokeRequest{}, InvokeOptions{})
		return err
	}
	detail := func(ctx context.Context, c *Client) error {
		_, err := c.Detail(ctx, "hello", "9.9.9")
		return err
	}
	tests := []struct {
		name        string
		answer      answer
		call        func(context.Context, *Client) error
		wantStatus  int    // 0: not an APIError
		wantTraceID string // on the APIError
		wantInErr   []string
		notFound    bool
	}{
		{
			name:   "result false with status 200 (Python's executor error)",
			answer: answer{Body: `{"result":false,"data":null,"message":"executor execute raise error: boom","trace_id":"` + tid + `"}`},
			call:   invoke, wantStatus: 200, wantTraceID: tid,
			wantInErr: []string{"invoke plugin hello version 1.0.0", "executor execute raise error: boom", tid},
		},
		{
			name:   "malformed body rejected with 400",
			answer: answer{Status: 400, Body: `{"result":false,"data":null,"message":"输入不合法: inputs is required","trace_id":"r1"}`},
			call:   invoke, wantStatus: 400, wantTraceID: "r1",
			wantInErr: []string{"400 Bad Request", "输入不合法: inputs is required"},
		},
		{
			name:   "unknown version: Python answers 404 with no body",
			answer: answer{Status: 404, ContentType: "text/plain", Body: ""},
			call:   detail, wantStatus: 404, notFound: true,
			wantInErr: []string{"detail of plugin hello version 9.9.9", "404 Not Found", "empty body"},
		},
		{
			name:   "unknown version: shim answers 404 with an envelope",
			answer: answer{Status: 404, Body: `{"result":false,"data":null,"message":"plugin hello has no version 9.9.9","trace_id":""}`},
			call:   detail, wantStatus: 404, notFound: true,
			wantInErr: []string{"plugin hello has no version 9.9.9"},
		},
		{
			name:   "HTML 502 from a proxy",
			answer: answer{Status: 502, ContentType: "text/html; charset=utf-8", Body: "<html><body><h1>502 Bad Gateway</h1></body></html>"},
			call:   invoke, wantStatus: 502,
			wantInErr: []string{"502 Bad Gateway", "non-envelope answer (text/html)", "<h1>502 Bad Gateway</h1>"},
		},
		{
			name:   "non-2xx envelope without message",
			answer: answer{Status: 500, Body: `{"result":false,"data":null,"message":"","trace_id":"x"}`},
			call:   invoke, wantStatus: 500, wantTraceID: "x",
			wantInErr: []string{"500 Internal Server Error", "no message"},
		},
		{
			name:      "200 that is not JSON",
			answer:    answer{ContentType: "text/plain", Body: "ok"},
			call:      invoke,
			wantInErr: []string{"status 200 but the answer is not a standard API envelope", `"ok"`},
		},
		{
			name:      "200 JSON that is not an envelope",
			answer:    answer{Body: `{"outputs":{},"state":4}`},
			call:      invoke,
			wantInErr: []string{"without a result field"},
		},
		{
			name:      "invoke answer without trace_id",
			answer:    answer{Body: `{"result":true,"data":{"outputs":{},"state":4,"err":""},"message":"success"}`},
			call:      invoke,
			wantInErr: []string{"the answer has no trace_id"},
		},
		{
			name:      "state outside the five codes",
			answer:    answer{Body: `{"result":true,"data":{"outputs":{},"state":9,"err":""},"message":"success","trace_id":"` + tid + `"}`},
			call:      invoke,
			wantInErr: []string{"decode data", "state 9"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			shim := newFakeShim(t, tt.answer)
			err := tt.call(context.Background(), shim.newClient(Options{}))
			if err == nil {
				t.Fatal("want an error")
			}
			for _, s := range tt.wantInErr {
				if !strings.Contains(err.Error(), s) {
					t.Errorf("error %q does not contain %q", err, s)
				}
			}
			var apiErr *APIError
			isAPI := errors.As(err, &apiErr)
			if tt.wantStatus == 0 {
				if isAPI {
					t.Errorf("got APIError %v, want another error", apiErr)
				}
				return
			}
			if !isAPI {
				t.Fatalf("error %v (%T) is not an *APIError", err, err)
			}
			if apiErr.StatusCode != tt.wantStatus || apiErr.TraceID != tt.wantTraceID {
				t.Errorf("APIError status %d trace %q, want %d %q", apiErr.StatusCode, apiErr.TraceID, tt.wantStatus, tt.wantTraceID)
			}
			if got := IsNotFound(err); got != tt.notFound {
				t.Errorf("IsNotFound = %v, want %v", got, tt.notFound)
			}
		})
	}
}

func TestNetworkErrorNamesTheURL(t *testing.T) {
	srv := httptest.NewServer(http.NotFoundHandler())
	base := srv.URL
	srv.Close() // nothing listens there any more
	c, err := New(base, Options{})
	if err != nil {
		t.Fatal(err)
	}
	_, err = c.Meta(context.Background(), "hello")
	if err == nil {
		t.Fatal("want an error")
	}
	want := base + "/plugins/hello/bk_plugin/meta/"
	if !strings.Contains(err.Error(), want) || !strings.Contains(err.Error(), "meta of plugin hello") {
		t.Errorf("error %q does not name %q and the operation", err, want)
	}
	var apiErr *APIError
	if errors.As(err, &apiErr) {
		t.Errorf("a transport error must not be an APIError: %v", err)
	}
}

func TestTimeoutBoundsEachCall(t *testing.T) {
	release := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-release:
		case <-r.Context().Done():
		}
	}))
	t.Cleanup(srv.Close)
	t.Cleanup(func() { close(release) })
	c, err := New(srv.URL, Options{Timeout: 50 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	_, err = c.Schedule(context.Background(), "hello", tid)
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("got %v, want a deadline error", err)
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Errorf("call took %v despite a 50ms timeout", d)
	}
}

func TestRefusedBeforeSending(t *testing.T) {
	shim := newFakeShim(t, answer{Body: `{"result":true,"data":{},"message":""}`})
	c := shim.newClient(Options{})
	ctx := context.Background()
	tests := []struct {
		name string
		call func() error
		want string
	}{
		{"bad trace id", func() error {
			_, err := c.Invoke(ctx, "hello", "1.0.0", stdapi.InvokeRequest{}, InvokeOptions{TraceID: "not-hex"})
			return err
		}, "is not 32 lowercase hex characters"},
		{"dispatch outside plugin_api", func() error {
			_, err := c.PluginAPIDispatch(ctx, "hello", stdapi.PluginAPIDispatchRequest{URL: "/admin/", Method: "GET", Username: "u"})
			return err
		}, "url must start with"},
		{"no code", func() error { _, err := c.Meta(ctx, ""); return err }, "plugin code is required"},
		{"callback URL not absolute", func() error { return c.CallbackURL(ctx, "/plugins/x/bk_plugin/callback/t/", nil) }, "not an absolute"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.call()
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("got %v, want an error containing %q", err, tt.want)
			}
		})
	}
	if n := len(shim.requests()); n != 0 {
		t.Errorf("shim got %d requests, want none", n)
	}
}

func TestNewRejectsBadBaseURLs(t *testing.T) {
	tests := []struct {
		in      string
		wantErr bool
	}{
		{"http://shim:8080", false},
		{"https://gw.example.com/prefix/", false},
		{"shim:8080", true},
		{"ftp://shim", true},
		{"http://", true},
		{"http://shim:8080/?x=1", true},
		{"://bad", true},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			_, err := New(tt.in, Options{})
			if (err != nil) != tt.wantErr {
				t.Errorf("New(%q) error = %v, wantErr %v", tt.in, err, tt.wantErr)
			}
		})
	}
}
