package server_test

import (
	"context"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/bkplugin/bk-plugin-operator/sdk/examples/hello/helloplugin"
	"github.com/bkplugin/bk-plugin-operator/sdk/protocol"
	"github.com/bkplugin/bk-plugin-operator/sdk/server"
)

// A plugin pod with an execute token refuses executes without it, so that
// no one in the cluster can skip the shim and call it directly (issue 15
// #3); the file is followed, so a rotated Secret needs no restart.
func TestExecuteNeedsTheManagersToken(t *testing.T) {
	file := filepath.Join(t.TempDir(), "token")
	if err := os.WriteFile(file, []byte("first-token\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	ts := serve(t, helloplugin.Plugin(), server.Options{ExecuteTokenFile: file})
	body := `{"trace_id":"t","state":1,"invoke_count":1,"inputs":{"name":"x"}}`
	post := func(auth string) (int, string) {
		t.Helper()
		req, err := http.NewRequest(http.MethodPost, ts.URL+"/bk_plugin/execute/1.0.0", strings.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		if auth != "" {
			req.Header.Set("Authorization", auth)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	for name, auth := range map[string]string{
		"unsigned":        "",
		"wrong token":     "Bearer second-token",
		"prefix of token": "Bearer first",
		"not a bearer":    "first-token",
	} {
		if code, b := post(auth); code != http.StatusUnauthorized || !strings.Contains(b, "execute token") {
			t.Errorf("%s: %d %s, want 401", name, code, b)
		}
	}
	if code, b := post("Bearer first-token"); code != http.StatusOK {
		t.Fatalf("the manager's token: %d %s", code, b)
	}
	// Other routes stay open: the manager's probe and the shim's calls.
	if code, _ := do(t, http.MethodGet, ts.URL+"/bk_plugin/meta/", ""); code != http.StatusOK {
		t.Errorf("meta: %d", code)
	}

	if err := os.WriteFile(file, []byte("second-token\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(5 * time.Second)
	for code, _ := post("Bearer second-token"); code != http.StatusOK; code, _ = post("Bearer second-token") {
		if time.Now().After(deadline) {
			t.Fatal("the rotated token was never accepted")
		}
		time.Sleep(100 * time.Millisecond)
	}
	if code, _ := post("Bearer first-token"); code != http.StatusUnauthorized {
		t.Errorf("the old token after rotation: %d, want 401", code)
	}
}

func TestExecuteTokenFileMustExist(t *testing.T) {
	for name, content := range map[string]*string{"missing": nil, "empty": new(string)} {
		file := filepath.Join(t.TempDir(), "token")
		if content != nil {
			if err := os.WriteFile(file, []byte(*content), 0o600); err != nil {
				t.Fatal(err)
			}
		}
		if _, err := server.New(helloplugin.Plugin(), server.Options{ExecuteTokenFile: file}); err == nil {
			t.Errorf("%s token file: no error", name)
		}
	}
}

// Issue 15: verification is the default. A pod given no execute token
// refuses every execute and cancel over real HTTP, saying why, instead of
// running open; only the explicit insecure option opens it, and a
// configured token wins over that option.
func TestExecuteRefusedWithoutAConfiguredToken(t *testing.T) {
	body := `{"trace_id":"t","state":1,"invoke_count":1,"inputs":{"name":"x"}}`
	post := func(base, path, auth string) (int, string) {
		t.Helper()
		req, err := http.NewRequest(http.MethodPost, base+path, strings.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		if auth != "" {
			req.Header.Set("Authorization", auth)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		if resp.StatusCode == http.StatusUnauthorized && resp.Header.Get("WWW-Authenticate") == "" {
			t.Errorf("%s: 401 without WWW-Authenticate", path)
		}
		return resp.StatusCode, string(b)
	}
	newServer := func(opts server.Options) string {
		t.Helper()
		s, err := server.New(helloplugin.Plugin(), opts)
		if err != nil {
			t.Fatal(err)
		}
		ts := httptest.NewServer(s)
		t.Cleanup(ts.Close)
		return ts.URL
	}
	quiet := slog.New(slog.DiscardHandler)

	closed := newServer(server.Options{Logger: quiet})
	for _, path := range []string{"/bk_plugin/execute/1.0.0", protocol.CancelPathPrefix + "1.0.0"} {
		for name, auth := range map[string]string{"no token": "", "any bearer token": "Bearer anything"} {
			code, b := post(closed, path, auth)
			if code != http.StatusUnauthorized || !strings.Contains(b, "no execute token configured") {
				t.Errorf("default options, %s, %s: %d %s; want 401 saying no token is configured", path, name, code, b)
			}
		}
	}
	if code, _ := do(t, http.MethodGet, closed+"/bk_plugin/meta/", ""); code != http.StatusOK {
		t.Errorf("meta of a pod without a token: %d, want 200 (the manager's probe)", code)
	}

	open := newServer(server.Options{Logger: quiet, InsecureNoExecuteToken: true})
	if code, b := post(open, "/bk_plugin/execute/1.0.0", ""); code != http.StatusOK {
		t.Errorf("InsecureNoExecuteToken: %d %s, want 200", code, b)
	}

	both := newServer(server.Options{Logger: quiet, InsecureNoExecuteToken: true, ExecuteToken: "manager-token"})
	if code, b := post(both, "/bk_plugin/execute/1.0.0", "Bearer wrong"); code != http.StatusUnauthorized || !strings.Contains(b, "missing or wrong execute token") {
		t.Errorf("a token and the insecure option, wrong token: %d %s, want 401", code, b)
	}
	if code, b := post(both, "/bk_plugin/execute/1.0.0", "Bearer manager-token"); code != http.StatusOK {
		t.Errorf("a token and the insecure option, the token: %d %s, want 200", code, b)
	}
}

// The serve command refuses executes unless told otherwise: the flag, or
// the environment variable the docs name.
func TestServeCommandInsecureFlag(t *testing.T) {
	for _, tc := range []struct {
		name string
		env  string
		args []string
		want int
	}{
		{"default", "", nil, http.StatusUnauthorized},
		{"flag", "", []string{"--insecure-no-execute-token"}, http.StatusOK},
		{"env", "true", nil, http.StatusOK},
		{"env false", "false", nil, http.StatusUnauthorized},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Setenv(protocol.InsecureNoExecuteTokenEnv, tc.env)
			t.Setenv(protocol.ExecuteTokenEnv, "")
			ln, err := net.Listen("tcp", "127.0.0.1:0")
			if err != nil {
				t.Fatal(err)
			}
			addr := ln.Addr().String()
			ln.Close()
			ctx, cancel := context.WithCancel(context.Background())
			done := make(chan error, 1)
			var stderr syncWriter
			args := append([]string{"serve", "--addr", addr, "--shutdown-delay", "0s"}, tc.args...)
			go func() { done <- server.Command(ctx, helloplugin.Plugin(), args, io.Discard, &stderr) }()
			defer func() {
				cancel()
				if err := <-done; err != nil {
					t.Errorf("serve: %v", err)
				}
			}()
			var code int
			for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(20 * time.Millisecond) {
				resp, err := http.Post("http://"+addr+"/bk_plugin/execute/1.0.0", "application/json",
					strings.NewReader(`{"trace_id":"t","state":1,"invoke_count":1,"inputs":{"name":"x"}}`))
				if err == nil {
					code = resp.StatusCode
					resp.Body.Close()
					break
				}
				if time.Now().After(deadline) {
					t.Fatalf("serve never answered: %v; stderr %s", err, stderr.String())
				}
			}
			if code != tc.want {
				t.Errorf("execute: %d, want %d; stderr %s", code, tc.want, stderr.String())
			}
		})
	}
}

// syncWriter is a buffer the serve command may write to while the test
// reads it.
type syncWriter struct {
	mu sync.Mutex
	b  strings.Builder
}

func (w *syncWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.b.Write(p)
}

func (w *syncWriter) String() string {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.b.String()
}
