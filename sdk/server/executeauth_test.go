package server_test

import (
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/bkplugin/bk-plugin-operator/sdk/examples/hello/helloplugin"
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
