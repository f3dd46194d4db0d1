package server_test

import (
	"bytes"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/bkplugin/bk-plugin-operator/sdk/examples/hello/helloplugin"
	"github.com/bkplugin/bk-plugin-operator/sdk/server"
)

// BenchmarkExecute measures the whole execute path of a pod short of the
// network: routing, decoding, validation, the plugin, encoding, metrics.
func BenchmarkExecute(b *testing.B) {
	s, err := server.New(helloplugin.Plugin(), server.Options{Logger: slog.New(slog.DiscardHandler), InsecureNoExecuteToken: true})
	if err != nil {
		b.Fatal(err)
	}
	body := []byte(`{"protocol_version":"1","trace_id":"0123456789abcdef0123456789abcdef","state":1,"invoke_count":1,"inputs":{"name":"world","punctuation":"?"}}`)
	b.ReportAllocs()
	for b.Loop() {
		req := httptest.NewRequest("POST", "/bk_plugin/execute/1.1.0", bytes.NewReader(body))
		w := httptest.NewRecorder()
		s.ServeHTTP(w, req)
		if w.Code != http.StatusOK {
			b.Fatalf("execute answered %d: %s", w.Code, w.Body)
		}
	}
}
