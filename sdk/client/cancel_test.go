package client

import (
	"context"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/bkplugin/bk-plugin-operator/sdk/protocol"
	"github.com/bkplugin/bk-plugin-operator/sdk/stdapi"
)

// The cancel and history routes are extensions that the shim is gaining;
// these tests hold the client to the documented paths and shapes (literal
// strings here, not the stdapi helpers).

func TestCancel(t *testing.T) {
	f := newFakeShim(t, answer{Body: `{"result":true,"data":{"trace_id":"` + tid + `","plugin_version":"1.0.0","state":2,` +
		`"outputs":{},"err":"","created_at":"2024-05-06 07:08:09","finish_at":""},"message":"cancel requested","trace_id":"` + tid + `"}`})
	c := f.newClient(Options{BearerToken: "tok"})
	got, err := c.Cancel(context.Background(), "poller", tid)
	if err != nil {
		t.Fatal(err)
	}
	if got.TraceID != tid || got.State != protocol.StatePoll || got.PluginVersion != "1.0.0" {
		t.Errorf("Cancel = %+v", got)
	}
	reqs := f.requests()
	if len(reqs) != 1 || reqs[0].Method != "POST" || reqs[0].Path != "/plugins/poller/bk_plugin/cancel/"+tid {
		t.Fatalf("requests = %+v, want one POST /plugins/poller/bk_plugin/cancel/%s", reqs, tid)
	}
	if reqs[0].Header.Get("Authorization") != "Bearer tok" {
		t.Errorf("Authorization = %q", reqs[0].Header.Get("Authorization"))
	}
}

func TestCancelErrors(t *testing.T) {
	f := newFakeShim(t, answer{Status: 404, Body: `{"result":false,"data":null,"message":"no invocation ` + tid + `","trace_id":""}`})
	c := f.newClient(Options{})
	_, err := c.Cancel(context.Background(), "poller", tid)
	if !IsNotFound(err) || !strings.Contains(err.Error(), "no invocation") {
		t.Errorf("err = %v, want a 404 APIError with the shim's message", err)
	}
	if _, err := c.Cancel(context.Background(), "", tid); err == nil {
		t.Error("Cancel without a code succeeded")
	}
}

func TestHistory(t *testing.T) {
	var gotQuery url.Values
	var gotPath string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		gotPath, gotQuery = r.URL.EscapedPath(), r.URL.Query()
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write([]byte(`{"result":true,"message":"","trace_id":"","data":{"next_cursor":"c2","items":[` +
			`{"trace_id":"` + tid + `","plugin_version":"1.1.0","state":5,"err":"boom","created_at":"2024-05-06 07:08:09","finish_at":"2024-05-06 07:08:10"}]}}`))
	}))
	t.Cleanup(srv.Close)
	c, err := New(srv.URL, Options{})
	if err != nil {
		t.Fatal(err)
	}
	got, err := c.History(context.Background(), "hello", stdapi.InvocationsQuery{State: protocol.StateFail, Version: "^1.1", Cursor: "c1", Limit: 20})
	if err != nil {
		t.Fatal(err)
	}
	if gotPath != "/plugins/hello/bk_plugin/invocations" {
		t.Errorf("path = %q", gotPath)
	}
	want := url.Values{"state": {"FAIL"}, "version": {"^1.1"}, "cursor": {"c1"}, "limit": {"20"}}
	if gotQuery.Encode() != want.Encode() {
		t.Errorf("query = %v, want %v", gotQuery, want)
	}
	if got.NextCursor != "c2" || len(got.Items) != 1 {
		t.Fatalf("History = %+v", got)
	}
	it := got.Items[0]
	if it.TraceID != tid || it.State != protocol.StateFail || it.Err != "boom" ||
		!it.FinishAt.Equal(time.Date(2024, 5, 6, 7, 8, 10, 0, time.UTC)) {
		t.Errorf("item = %+v", it)
	}

	if _, err := c.History(context.Background(), "hello", stdapi.InvocationsQuery{}); err != nil {
		t.Fatal(err)
	}
	if len(gotQuery) != 0 {
		t.Errorf("an empty query sent %v", gotQuery)
	}
	if _, err := c.History(context.Background(), "hello", stdapi.InvocationsQuery{State: 9}); err == nil {
		t.Error("History with state 9 succeeded")
	}
}
