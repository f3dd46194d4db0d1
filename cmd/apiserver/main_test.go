package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestReadTokens(t *testing.T) {
	tests := []struct {
		name    string
		content string
		want    []string
		wantErr string
	}{
		{"one per line, blanks and comments skipped", "# platform tokens\nfirst\n\n  second  \n", []string{"first", "second"}, ""},
		{"empty file refuses to run open", "\n# nothing\n", nil, "holds no token"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "tokens")
			if err := os.WriteFile(path, []byte(tt.content), 0o600); err != nil {
				t.Fatal(err)
			}
			got, err := readTokens(path)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("err = %v, want %q", err, tt.wantErr)
				}
				return
			}
			if err != nil || strings.Join(got, ",") != strings.Join(tt.want, ",") {
				t.Fatalf("readTokens = %q, %v; want %q", got, err, tt.want)
			}
		})
	}
	if got, err := readTokens(""); got != nil || err != nil {
		t.Errorf("no file: %q, %v; want no tokens and no error", got, err)
	}
}

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
	if _, err := readKey(short); err == nil || !strings.Contains(err.Error(), "at least 16") {
		t.Errorf("short key: err = %v", err)
	}
	if _, err := readKey(filepath.Join(dir, "missing")); err == nil {
		t.Error("missing file: no error")
	}
	key, err := readKey(good)
	if err != nil || string(key) != "0123456789abcdef0123" {
		t.Errorf("good key = %q, %v; want it without the newline", key, err)
	}
}
