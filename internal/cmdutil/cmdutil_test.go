package cmdutil

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestReadKey(t *testing.T) {
	dir := t.TempDir()
	short := filepath.Join(dir, "short")
	good := filepath.Join(dir, "good")
	if err := os.WriteFile(short, []byte("tooshort\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(good, []byte("0123456789abcdef0123\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := ReadCallbackKey(short); err == nil || !strings.Contains(err.Error(), "at least 16") {
		t.Errorf("short key: err = %v", err)
	}
	if _, err := ReadCallbackKey(filepath.Join(dir, "missing")); err == nil {
		t.Error("missing file: no error")
	}
	if key, err := ReadCallbackKey(""); key != nil || err != nil {
		t.Errorf("no file = %q, %v; want no key and no error", key, err)
	}
	key, err := ReadCallbackKey(good)
	if err != nil || string(key) != "0123456789abcdef0123" {
		t.Errorf("good key = %q, %v; want it without the newline", key, err)
	}
}
