package shim

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
