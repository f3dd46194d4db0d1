package server_test

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/bkplugin/bk-plugin-operator/sdk/examples/hello/helloplugin"
	"github.com/bkplugin/bk-plugin-operator/sdk/server"
)

// lockedBuffer is a bytes.Buffer safe for the server's goroutines and the
// test.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

// addrLogged is the addr of the first log record whose msg is msg.
func (l *lockedBuffer) addrLogged(msg string) string {
	l.mu.Lock()
	defer l.mu.Unlock()
	for _, line := range strings.Split(l.b.String(), "\n") {
		var rec struct {
			Msg  string `json:"msg"`
			Addr string `json:"addr"`
		}
		if json.Unmarshal([]byte(line), &rec) == nil && rec.Msg == msg {
			return rec.Addr
		}
	}
	return ""
}

func get(t *testing.T, url string) int {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatalf("GET %s: %v", url, err)
	}
	resp.Body.Close()
	return resp.StatusCode
}

// serve --pprof-addr serves the profiles on a listener of its own; the
// plugin's port never does.
func TestServeCommandPprof(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	var errOut lockedBuffer
	done := make(chan error, 1)
	go func() {
		done <- server.Command(ctx, helloplugin.Plugin(), []string{"serve", "--addr", "127.0.0.1:0", "--pprof-addr", "127.0.0.1:0",
			"--shutdown-delay", "0s", "--insecure-no-execute-token"}, &bytes.Buffer{}, &errOut)
	}()
	defer func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("serve: %v", err)
		}
	}()
	var pprofAddr, pluginAddr string
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline) && (pprofAddr == "" || pluginAddr == ""); time.Sleep(10 * time.Millisecond) {
		pprofAddr, pluginAddr = errOut.addrLogged("serving pprof"), errOut.addrLogged("serving plugin")
	}
	if pprofAddr == "" || pluginAddr == "" {
		t.Fatalf("serve logged no addresses (pprof %q, plugin %q)", pprofAddr, pluginAddr)
	}
	if pprofAddr == pluginAddr {
		t.Fatalf("pprof shares the plugin's address %s", pluginAddr)
	}
	if got := get(t, "http://"+pprofAddr+"/debug/pprof/"); got != http.StatusOK {
		t.Errorf("GET /debug/pprof/ on --pprof-addr = %d, want 200", got)
	}
	if got := get(t, "http://"+pprofAddr+"/debug/pprof/profile?seconds=1"); got != http.StatusOK {
		t.Errorf("GET /debug/pprof/profile on --pprof-addr = %d, want 200", got)
	}
	if got := get(t, "http://"+pluginAddr+"/debug/pprof/"); got != http.StatusNotFound {
		t.Errorf("GET /debug/pprof/ on the plugin's port = %d, want 404", got)
	}
}
