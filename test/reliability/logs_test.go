//go:build envtest

package reliability

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// noSecretsInLogs reads every process log of the run and fails if one holds
// the callback key, the shim's bearer token or a callback token the harness
// delivered. It also checks that callbacks were logged (redacted), so that
// it cannot pass on empty logs.
func noSecretsInLogs(t *testing.T, s *stack) {
	secrets := map[string]string{
		"the callback key":      string(s.masterKey(t)),
		"the shim bearer token": s.authToken,
	}
	s.tokensMu.Lock()
	for _, tok := range s.tokens {
		secrets["callback token "+tok[:min(8, len(tok))]+"…"] = tok
	}
	s.tokensMu.Unlock()
	if len(s.tokens) == 0 {
		t.Fatal("no callback was delivered before the log check")
	}
	logs, err := filepath.Glob(filepath.Join(s.logs, "*.log"))
	if err != nil {
		t.Fatal(err)
	}
	redacted := false
	for _, path := range logs {
		b, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		text := string(b)
		if len(b) == 0 && filepath.Base(path) != "controlplane.log" {
			t.Errorf("%s is empty: the check would prove nothing", path)
		}
		for what, secret := range secrets {
			if secret != "" && strings.Contains(text, secret) {
				t.Errorf("%s holds %s", filepath.Base(path), what)
			}
		}
		redacted = redacted || strings.Contains(text, "/bk_plugin/callback/REDACTED/")
	}
	if !redacted {
		t.Errorf("no access log line of a callback (with its token REDACTED) in %s", s.logs)
	}
}
