package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"mime/multipart"
	"net"
	"net/http"
	"time"

	"github.com/bkplugin/bk-plugin-operator/sdk/client"
	"github.com/bkplugin/bk-plugin-operator/sdk/protocol"
	"github.com/bkplugin/bk-plugin-operator/sdk/stdapi"
)

// formAPI returns the formapi step: its form's data source called the way
// bk-sops calls it (a Django-style URL with a query), then a file uploaded
// through a multipart dispatch, as bk-sops sends a form with a file.
func formAPI(shim, token string) func(ctx context.Context, p *printer, c *client.Client) error {
	return func(ctx context.Context, p *printer, c *client.Client) error {
		url := "/bk_plugin/plugin_api/hosts/?biz_cc_id=2"
		p.line("POST /plugins/formapi/bk_plugin/plugin_api_dispatch/  url %s", url)
		data, err := c.PluginAPIDispatch(ctx, "formapi", stdapi.PluginAPIDispatchRequest{URL: url, Method: "GET", Username: "newcomer"})
		if err != nil {
			return err
		}
		var hosts struct {
			Hosts []struct{ ID, Text string } `json:"hosts"`
		}
		if err := json.Unmarshal(data, &hosts); err != nil || len(hosts.Hosts) == 0 || hosts.Hosts[0].ID != "2-1" {
			return fmt.Errorf("hosts of business 2: got %s", data)
		}
		p.field("hosts", string(data))

		var body bytes.Buffer
		mw := multipart.NewWriter(&body)
		for k, v := range map[string]string{"url": "/bk_plugin/plugin_api/upload/", "method": "POST", "username": "newcomer", "dumped_data": `{"biz":"2"}`} {
			if err := mw.WriteField(k, v); err != nil {
				return err
			}
		}
		fw, err := mw.CreateFormFile("file", "hosts.txt")
		if err != nil {
			return err
		}
		_, _ = fw.Write([]byte("10.0.0.1\n10.0.0.2\n"))
		if err := mw.Close(); err != nil {
			return err
		}
		p.line("POST /plugins/formapi/bk_plugin/plugin_api_dispatch/  multipart: url, method, username, dumped_data and file hosts.txt")
		req, err := http.NewRequestWithContext(ctx, http.MethodPost, shim+stdapi.PluginAPIDispatchPath("formapi"), &body)
		if err != nil {
			return err
		}
		req.Header.Set("Content-Type", mw.FormDataContentType())
		// The SDK client sends JSON only; this raw request authenticates as it does.
		req.Header.Set("Authorization", "Bearer "+token)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			return err
		}
		defer resp.Body.Close()
		raw, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
		var env struct {
			Result bool `json:"result"`
			Data   struct {
				FileName string            `json:"file_name"`
				Content  string            `json:"content"`
				Fields   map[string]string `json:"fields"`
			} `json:"data"`
		}
		if err := json.Unmarshal(raw, &env); err != nil || !env.Result || env.Data.FileName != "hosts.txt" || env.Data.Fields["biz"] != "2" {
			return fmt.Errorf("multipart upload: %d %s", resp.StatusCode, raw)
		}
		p.field("uploaded", fmt.Sprintf("%s (%d bytes) with fields %v", env.Data.FileName, len(env.Data.Content), env.Data.Fields))
		return nil
	}
}

// notifier runs the finish-callback mode as bk-sops does: detail says
// enable_plugin_callback, the invoke passes plugin_callback_info, and a
// local receiver gets the POST of data when the invocation ends.
func notifier(ctx context.Context, p *printer, c *client.Client) error {
	d, err := c.Detail(ctx, "notifier", "1.0.0")
	if err != nil {
		return err
	}
	if !d.EnablePluginCallback {
		return fmt.Errorf("detail of notifier 1.0.0 says enable_plugin_callback false")
	}
	p.field("detail", "enable_plugin_callback: true")
	got := make(chan string, 4)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return err
	}
	srv := &http.Server{ReadHeaderTimeout: 5 * time.Second, Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(io.LimitReader(r.Body, 1<<16))
		got <- string(b)
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write([]byte(`{"result": true, "message": "success"}`))
	})}
	go func() { _ = srv.Serve(ln) }()
	defer srv.Close()
	url := "http://" + ln.Addr().String() + "/taskflow/api/v4/nodes/callback/demo/"
	ctxInputs := map[string]any{"plugin_callback_info": map[string]any{"url": url, "data": map[string]any{"node_id": "n1"}}}
	req, err := stdapi.NewInvokeRequest(map[string]any{"polls": 2}, ctxInputs)
	if err != nil {
		return err
	}
	p.line("POST /plugins/notifier/bk_plugin/invoke/1.0.0  context.plugin_callback_info.url %s", url)
	res, err := c.Invoke(ctx, "notifier", "1.0.0", req, client.InvokeOptions{})
	if err != nil {
		return err
	}
	p.state(res.State, "the platform now waits for the finish callback instead of polling")
	select {
	case body := <-got:
		p.field("finish POST", body)
		if body != `{"node_id":"n1"}` {
			return fmt.Errorf("the finish callback's body is %s, want exactly data {\"node_id\":\"n1\"}", body)
		}
	case <-ctx.Done():
		return fmt.Errorf("no finish callback: %w", ctx.Err())
	}
	s, err := c.Schedule(ctx, "notifier", res.TraceID)
	if err != nil {
		return err
	}
	p.state(s.State, "schedule, read right after the callback")
	if s.State != protocol.StateSuccess {
		return fmt.Errorf("notifier is %s right after its finish callback, want SUCCESS", s.State)
	}
	return nil
}
